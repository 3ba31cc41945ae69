"""Event budgets: one address, one comparison and one day's host pages add a bounded number
of rows, on every backend and across workers; what goes over is dropped and counted, and
the widget is answered 204 all the same."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import PUBLIC_URL, make_app, new_publisher
from sqlalchemy import distinct, func, select

from vswidget import Client
from vswidget.errors import NotFound
from vswidget.server import analytics, event_budgets, models, store
from vswidget.server.event_budgets import Batch, Budgets, Offer
from vswidget.server.extensions import db
from vswidget.server.visitors import today

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
BUDGETS = {"EVENT_ADDRESS_BUDGET": 120, "EVENT_COMPARISON_BUDGET": 300, "EVENT_PAGES_PER_DAY": 5}


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = make_app(database_url, tmp_path, **BUDGETS)
    yield app
    db.dispose(app)


@pytest.fixture
def token(app: Flask, document: dict[str, Any]) -> str:
    key = new_publisher(app, "acme")
    app.config["TEST_API_KEY"] = key
    with Client(PUBLIC_URL, key, transport=httpx.WSGITransport(app=app)) as sdk:
        return sdk.publish(document).token


def key_of(app: Flask) -> str:
    """The API key of the comparison's publisher."""
    return str(app.config["TEST_API_KEY"])


def comparison_id(app: Flask) -> int:
    with app.app_context():
        return store.get_comparison(store.get_publisher("acme"), "kettle-vs-moka-pot").id


def batch(token: str, count: int = 40, page: str = "https://blog.example/post") -> str:
    """A batch of events as the widget sends it: at most 40 of them fit its 3,000 characters."""
    return json.dumps({"page": page, "events": [{"type": "impression", "token": token}] * count})


def send(client: FlaskClient, body: str, address: str = "10.0.0.7") -> int:
    response = client.post(
        "/v1/events",
        data=body,
        headers={"Content-Type": "text/plain", "User-Agent": BROWSER},
        environ_base={"REMOTE_ADDR": address},
    )
    return response.status_code


def rows(app: Flask) -> int:
    with app.app_context():
        return db.connection.scalar(select(func.count()).select_from(models.events)) or 0


def dropped(app: Flask) -> dict[str, int]:
    with app.app_context():
        found = db.connection.execute(
            select(
                func.sum(models.event_days.c.over_budget), func.sum(models.event_days.c.other_host)
            )
        ).one()
    return {"over_budget": int(found[0] or 0), "other_host": int(found[1] or 0)}


def counted_stored(app: Flask) -> int:
    """The events the comparisons' day rows say were stored."""
    with app.app_context():
        return db.connection.scalar(select(func.sum(models.event_days.c.stored))) or 0


def test_one_address_stores_at_most_its_daily_budget_and_the_rest_is_dropped_and_counted(
    app: Flask, token: str
) -> None:
    client = app.test_client()
    answers = [send(client, batch(token)) for _ in range(25)]  # 1,000 events, one address
    assert set(answers) == {204}
    assert rows(app) == 120
    assert dropped(app) == {"over_budget": 880, "other_host": 0}
    assert send(client, batch(token, 10), address="10.0.0.8") == 204  # another address
    assert rows(app) == 130


def test_a_comparison_stores_at_most_its_daily_budget_from_every_address(
    app: Flask, token: str
) -> None:
    client = app.test_client()
    for n in range(10):  # 10 addresses, each within its own budget: 400 events
        assert send(client, batch(token), address=f"10.0.1.{n}") == 204
    assert rows(app) == 300
    assert dropped(app)["over_budget"] == 100


def test_the_budgets_hold_exactly_across_workers_sending_at_once(
    app: Flask, database_url: str, tmp_path: Path, token: str
) -> None:
    # Two apps on one database: two workers, each with limits of its own in memory.
    other = make_app(database_url, tmp_path, **BUDGETS)
    clients = [app.test_client(), other.test_client()]
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda n: send(clients[n % 2], batch(token, 7)), range(40)))
    finally:
        db.dispose(other)
    assert set(answers) == {204}
    assert rows(app) == 120
    assert dropped(app)["over_budget"] == 40 * 7 - 120
    assert counted_stored(app) == 120


def test_a_comparisons_budget_and_page_cap_hold_exactly_across_workers_from_many_addresses(
    app: Flask, database_url: str, tmp_path: Path, token: str
) -> None:
    # Each request another address and another page: only the comparison's budget (300)
    # and the day's page cap (5) bind, the counts PostgreSQL commits with the events.
    other = make_app(database_url, tmp_path, **BUDGETS)
    clients = [app.test_client(), other.test_client()]

    def post(n: int) -> int:
        body = batch(token, 9, f"https://blog.example/post-{n}")
        return send(clients[n % 2], body, address=f"10.0.2.{n}")

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(post, range(40)))
    finally:
        db.dispose(other)
    assert set(answers) == {204}
    assert rows(app) == 300 == counted_stored(app)
    assert dropped(app)["over_budget"] == 40 * 9 - 300
    with app.app_context():
        paths = db.connection.scalars(select(models.events.c.path).distinct()).all()
        pages = db.connection.scalar(select(func.sum(models.event_days.c.pages)))
    assert len(paths) == 5 + 1 and "" in paths  # the cap, and other pages
    assert pages == 5


def test_past_the_days_page_cap_events_are_counted_under_other_pages(
    app: Flask, token: str
) -> None:
    client = app.test_client()
    for n in range(12):
        assert send(client, batch(token, 2, f"https://blog.example/post-{n}")) == 204
    assert send(client, batch(token, 2, "https://blog.example/post-0")) == 204  # admitted
    day, comparison = today(), comparison_id(app)
    with app.app_context():
        pages = db.connection.scalar(select(func.count(distinct(models.events.c.path))))
        analytics.roll_up_recent()
        listed = analytics.pages(comparison, day, day)
        other = analytics.other_pages(comparison, day, day)
        totals = analytics.summed(analytics.series(comparison, day, day))
    assert pages == 5 + 1  # the cap, and other pages
    assert [page.path for page in listed][:1] == ["/post-0"] and len(listed) == 5
    assert other.impressions == 7 * 2
    assert sum(page.totals.impressions for page in listed) + other.impressions == 26
    assert totals.impressions == 26  # nothing lost from the totals


def test_events_over_the_rate_limit_are_dropped_and_counted_with_204(
    app: Flask, token: str
) -> None:
    app.config["EVENT_RATE_LIMIT"] = "3/minute"
    client = app.test_client()
    assert [send(client, batch(token, 2)) for _ in range(5)] == [204] * 5
    assert rows(app) == 6
    assert dropped(app)["over_budget"] == 4


def test_a_thousand_host_pages_store_the_cap_and_the_stats_answer_them_a_page_at_a_time(
    app: Flask, token: str
) -> None:
    app.config.update(EVENT_COMPARISON_BUDGET=100_000, EVENT_PAGES_PER_DAY=200)
    client = app.test_client()
    for n in range(1000):  # a reader each: within every per-address limit
        page = f"https://blog.example/posts/{n:04d}-" + "x" * 60
        assert send(client, batch(token, 1, page), address=f"10.1.{n // 250}.{n % 250}") == 204
    with app.app_context():
        stored_pages = db.connection.scalar(select(func.count(distinct(models.events.c.path))))
        analytics.roll_up_recent()
    assert stored_pages == 200 + 1  # and other pages

    key = new_publisher(app, "bob")  # not the owner: 404, as for any other slug
    with Client(PUBLIC_URL, key, transport=httpx.WSGITransport(app=app)) as stranger:
        with pytest.raises(NotFound):
            stranger.stats("kettle-vs-moka-pot")
    owner = {"Authorization": "Bearer " + key_of(app)}
    stats = client.get("/api/v1/comparisons/kettle-vs-moka-pot/stats", headers=owner)
    assert stats.status_code == 200
    assert json.loads(stats.headers["X-Pagination"])["total"] == 200
    assert len(stats.json["pages"]) == 20 and len(stats.data) < 12_000  # was 1.1 MB
    assert stats.json["other_pages"]["impressions"] == 800
    assert stats.json["totals"]["impressions"] == 1000
    with Client(PUBLIC_URL, key_of(app), transport=httpx.WSGITransport(app=app)) as sdk:
        last = sdk.stats("kettle-vs-moka-pot", page=2, page_size=100)
        every = list(sdk.host_pages("kettle-vs-moka-pot"))
    assert last.pages_total == 200 and len(last.pages) == 100
    assert len({page["path"] for page in every}) == 200
    assert sum(page["impressions"] for page in every) == 200


def test_a_flush_keeps_exactly_the_first_events_each_budget_admits_of_each_batch(
    app: Flask, token: str
) -> None:
    # Counted first, in the batches' order as if each came alone: only what the budgets
    # admit is stored, what goes past the page cap under other pages.
    comparison, day = comparison_id(app), today()

    def offered(n: int, address: str, count: int = 40) -> Batch:
        events = [
            {"type": "impression", "item_key": None, "visitor": f"v{n}-{i}"} for i in range(count)
        ]
        return Batch(
            day, address, "https://blog.example", f"/post-{n}", None, [Offer(comparison, events)]
        )

    batches = [offered(n, f"a{n % 2}") for n in range(8)] + [offered(8, "a2", 100)]
    with app.app_context():
        stored = event_budgets.store(batches, Budgets.of(app.config))
    # Addresses a0 and a1 fill their 120 with three batches each; a2's 100 fill the
    # comparison's 300; the pages of the first five batches are listed, the rest are not.
    assert stored == [40] * 6 + [0, 0, 60]
    with app.app_context():
        kept = db.connection.execute(select(models.events.c.visitor, models.events.c.path)).all()
    expected = {(f"v{n}-{i}", f"/post-{n}" if n < 5 else "") for n in range(6) for i in range(40)}
    assert set(kept) == expected | {(f"v8-{i}", "") for i in range(60)}
    assert len(kept) == 300 == counted_stored(app)
    assert dropped(app)["over_budget"] == 2 * 40 + 40
