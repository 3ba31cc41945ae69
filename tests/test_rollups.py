"""Incremental rollups give the rows a recompute from raw events gives, step by step.

Events arrive in chunks, a rollup step (or several) runs between them, and every rollup
table then holds exactly what recomputing every day from the raw events holds.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from flask import Flask
from helpers import DOCUMENT, PUBLIC_URL, empty_database, make_app
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from vswidget import Client
from vswidget.server import analytics, models, store
from vswidget.server.analytics import increments
from vswidget.server.extensions import db
from vswidget.server.visitors import today

ROLLUPS = (
    models.daily_totals,
    models.daily_pages,
    models.period_pages,
    models.daily_items,
    models.daily_segments,
    models.counted_visitors,
)
SLUGS = ("first-comparison", "second-comparison", "third-comparison")


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Flask, list[int]]]:
    """An app with three comparisons; returns it and their ids."""
    folder = tmp_path_factory.mktemp("rollups")
    app = make_app(empty_database(request, folder), folder)
    with app.app_context():
        publisher, key = store.create_publisher("acme")
    with Client(PUBLIC_URL, key, transport=httpx.WSGITransport(app=app)) as sdk:
        for slug in SLUGS:
            sdk.publish({**copy.deepcopy(DOCUMENT), "slug": slug})
    with app.app_context():
        ids = [store.get_comparison(publisher, slug).id for slug in SLUGS]
    yield app, ids
    db.dispose(app)


def events_of(comparisons: int) -> st.SearchStrategy[dict[str, Any]]:
    """One event of one of ``comparisons`` comparisons (by index), today or yesterday."""
    return st.fixed_dictionaries(
        {
            "comparison_id": st.integers(0, comparisons - 1),
            "type": st.sampled_from(["impression", "view", "vote", "click", "signup"]),
            "item_key": st.sampled_from([None, "kettle", "moka"]),
            "origin": st.sampled_from(["https://blog.example", "https://other.example", ""]),
            "path": st.sampled_from(["/post", "/other", ""]),
            "referrer": st.sampled_from([None, "news.example", "t.co"]),
            "device": st.sampled_from([None, "phone", "desktop"]),
            "browser": st.sampled_from([None, "chrome", "safari", "other"]),
            "day": st.sampled_from([0, 1]),
            "visitor": st.sampled_from(["a", "b", "c", "d", "e"]),
        }
    )


chunks = st.lists(st.lists(events_of(len(SLUGS)), max_size=12), min_size=1, max_size=5)


def stored(events: list[dict[str, Any]], ids: list[int]) -> list[dict[str, Any]]:
    """The events as ingestion stores them: real comparison ids and days."""
    return [
        {**e, "comparison_id": ids[e["comparison_id"]], "day": today() - timedelta(days=e["day"])}
        for e in events
    ]


def arrive(events: list[dict[str, Any]], ids: list[int]) -> None:
    """Store ``events`` as ingestion does, if there are any."""
    if events:
        store.add_events(stored(events, ids))


def rows() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every rollup table, without surrogate ids, in a stable order."""
    found = {}
    for table in ROLLUPS:
        columns = [column for column in table.c if column.name != "id"]
        found[table.name] = sorted(map(tuple, db.connection.execute(select(*columns))), key=repr)
    return found


def start_empty() -> None:
    """Delete every event and rollup row, and the cursor."""
    with db.writing() as sql:
        for table in (*ROLLUPS, models.events, models.rollup_cursor):
            sql.execute(delete(table))


@settings(max_examples=20, deadline=None)
@given(arrivals=chunks, first_events=st.integers(1, 8), most_events=st.integers(1, 8))
def test_steps_between_arrivals_give_the_rows_a_recompute_gives(
    world: tuple[Flask, list[int]],
    arrivals: list[list[dict[str, Any]]],
    first_events: int,
    most_events: int,
) -> None:
    """However few events a step may take."""
    app, ids = world
    with app.app_context(), pytest.MonkeyPatch.context() as patch:
        patch.setitem(increments.FIRST_EVENTS, db.engine.dialect.name, first_events)
        patch.setattr(increments, "MOST_EVENTS", most_events)
        start_empty()
        for chunk in arrivals:
            arrive(chunk, ids)
            analytics.roll_up_recent()
        stepped = rows()
        analytics.roll_up_all()
        assert stepped == rows()


@settings(max_examples=10, deadline=None)
@given(before=chunks, after=chunks)
def test_steps_after_a_recompute_count_each_later_event_once(
    world: tuple[Flask, list[int]],
    before: list[list[dict[str, Any]]],
    after: list[list[dict[str, Any]]],
) -> None:
    app, ids = world
    with app.app_context():
        start_empty()
        arrive([e for chunk in before for e in chunk], ids)
        analytics.roll_up_all()
        for chunk in after:
            arrive(chunk, ids)
            analytics.roll_up_recent()
        stepped = rows()
        analytics.roll_up_all()
        assert stepped == rows()


# One view by reader "a" of the first comparison, today, as ``stored`` takes it.
A_VIEW = {"comparison_id": 0, "type": "view", "item_key": None, "origin": "", "path": ""} | {
    "referrer": None,
    "device": None,
    "browser": None,
    "day": 0,
    "visitor": "a",
}


def test_a_step_counts_nothing_once_another_process_moved_the_cursor(
    world: tuple[Flask, list[int]],
) -> None:
    app, ids = world
    event = A_VIEW
    with app.app_context():
        start_empty()
        store.add_events(stored([event, event], ids))
        first = db.connection.scalar(select(func.min(models.events.c.id)))
        assert increments.apply(increments.plan(0, first)) is not None
        # The cursor is at ``first`` now: a step from 0 writes nothing.
        assert increments.apply(increments.plan(0, first + 1)) is None
        assert [row[2:4] for row in rows()["daily_totals"]] == [(0, 1)]  # impressions, views
        assert analytics.roll_up_recent() == 1
        assert [row[2:4] for row in rows()["daily_totals"]] == [(0, 2)]


def test_events_after_the_newest_ones_were_deleted_are_counted(
    world: tuple[Flask, list[int]],
) -> None:
    """On SQLite the ids of deleted newest events are given again; none is missed."""
    app, ids = world
    event = A_VIEW
    with app.app_context():
        start_empty()
        store.add_events(stored([event, {**event, "comparison_id": 1}], ids))
        analytics.roll_up_recent()
        with db.writing() as sql:
            sql.execute(delete(models.events).where(models.events.c.comparison_id == ids[1]))
        analytics.roll_up_all()
        store.add_events(stored([{**event, "visitor": "b"}], ids))
        assert analytics.roll_up_recent() == 1
        stepped = rows()
        analytics.roll_up_all()
        assert stepped == rows()


def test_a_step_takes_as_many_events_as_fit_in_the_write_time_at_most_twice_as_many() -> None:
    assert increments.next_span(1000, took=0.06, budget=0.03) == 500  # a slow write: halved
    assert increments.next_span(1000, took=0.02, budget=0.03) == 1500
    assert increments.next_span(1000, took=0.001, budget=0.03) == 2000  # fast: at most doubled
    assert increments.next_span(1, took=10.0, budget=0.03) == 1  # never none
