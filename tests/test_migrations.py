"""Every revision upgrades and downgrades on both databases; 0004 fills the period rollups,
0005 gives every item a tally, 0008 merges an address signed up twice, 0009 gives public ids,
0015 leaves room in the rollup tables' pages, 0016 recounts visitors in another scope."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from flask import Flask
from helpers import DOCUMENT, make_app, postgresql_schema
from sqlalchemy import create_engine, insert, inspect, select, text

from vswidget.schemas import load_comparison
from vswidget.server import analytics, models, signing, store
from vswidget.server.analytics.targets import visitor_scope
from vswidget.server.event_budgets import page_key
from vswidget.server.extensions import db
from vswidget.server.migrations import alembic_config, heads, revisions, upgrade
from vswidget.server.visitors import today

COUNTED_TABLES = ("daily_totals", "daily_pages", "period_pages", "daily_items", "daily_segments")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database, not migrated, on each backend (PostgreSQL: a schema of its own)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'vswidget.sqlite3'}"
        return
    with postgresql_schema(f"vsw_migrations_{os.getpid()}") as url:
        yield url


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_every_revision_upgrades_and_downgrades_again(empty_url: str) -> None:
    upgrade(empty_url)
    assert tables(empty_url) == set(models.metadata.tables)
    command.downgrade(alembic_config(empty_url), "base")
    assert tables(empty_url) == set()
    upgrade(empty_url)
    assert tables(empty_url) == set(models.metadata.tables)


@pytest.mark.postgresql
def test_the_rollup_tables_leave_room_in_their_pages_for_updated_counters(
    postgresql_url: str,
) -> None:
    """So that a rollup step's updates stay on their rows' pages (HOT) on PostgreSQL."""
    engine = create_engine(postgresql_url)
    try:
        with engine.connect() as sql:
            options = dict(
                sql.execute(
                    text(
                        "SELECT relname, reloptions FROM pg_class WHERE relname = ANY(:names)"
                        " AND relnamespace = current_schema()::regnamespace"
                    ),
                    {"names": list(COUNTED_TABLES)},
                ).all()
            )
    finally:
        engine.dispose()
    assert options == {table: ["fillfactor=70"] for table in COUNTED_TABLES}


def period_rows(app: Flask) -> list[tuple[Any, ...]]:
    with app.app_context():
        rows = db.connection.execute(select(models.period_pages)).all()
        return sorted(
            (row.comparison_id, row.days, row.start, row.origin, row.path, row.first_day)
            + (row.last_day, *(getattr(row, name) for name in analytics.COUNTED))
            for row in rows
        )


def published(url: str, tmp_path: Path) -> tuple[Flask, store.Comparison]:
    """Migrate the database at ``url``, then publish the test document on an app of it."""
    upgrade(url)
    app = make_app(url, tmp_path)
    with app.app_context():
        publisher, _ = store.create_publisher("acme")
        comparison, _ = store.save_comparison(publisher, load_comparison(DOCUMENT))
    return app, comparison


def test_upgrading_to_0004_fills_the_period_rollups_from_the_daily_ones(
    empty_url: str, tmp_path: Path
) -> None:
    app, comparison = published(empty_url, tmp_path)
    with app.app_context():
        store.add_events(
            [
                {
                    "comparison_id": comparison.id,
                    "type": ("impression", "view", "vote")[n % 3],
                    "item_key": "moka" if n % 3 == 2 else None,
                    "origin": f"https://blog-{n % 2}.example",
                    "path": f"/post-{n % 3}",
                    "referrer": None,
                    "day": today() - timedelta(days=n % 61),
                    "visitor": f"reader-{n % 5}",
                }
                for n in range(300)
            ]
        )
        analytics.roll_up_all()
    rolled_up = period_rows(app)
    assert len({row[1:3] for row in rolled_up}) > 10  # weeks and four weeks of two months
    db.dispose(app)

    command.downgrade(alembic_config(empty_url), "0003")
    assert "period_pages" not in tables(empty_url)
    upgrade(empty_url)
    assert period_rows(app) == rolled_up
    db.dispose(app)


def tally_rows(app: Flask) -> list[tuple[str, int]]:
    with app.app_context():
        rows = db.connection.execute(
            select(models.vote_tallies.c.item_key, models.vote_tallies.c.count)
        )
        return sorted((key, count) for key, count in rows)


def test_upgrading_to_0005_gives_every_item_a_tally_and_keeps_the_votes(
    empty_url: str, tmp_path: Path
) -> None:
    app, comparison = published(empty_url, tmp_path)
    with app.app_context():
        store.cast_vote(comparison.id, "moka", "reader-1")
    db.dispose(app)
    command.downgrade(alembic_config(empty_url), "0004")
    assert tally_rows(app) == [("moka", 1)]  # as before 0005: no row for an item without votes
    db.dispose(app)

    upgrade(empty_url)
    assert tally_rows(app) == [("kettle", 0), ("moka", 1)]
    with app.app_context():
        assert store.cast_vote(comparison.id, "kettle", "reader-2").counts == {
            "kettle": 1,
            "moka": 1,
        }
    db.dispose(app)


def signup_rows(app: Flask) -> list[tuple[int, str, int | None]]:
    with app.app_context():
        rows = db.connection.execute(
            select(
                models.signups.c.publisher_id,
                models.signups.c.email,
                models.signups.c.comparison_id,
            )
        )
        return sorted(tuple(row) for row in rows)  # publisher and email are never both equal


def test_upgrading_to_0008_merges_an_address_signed_up_twice_into_its_earliest_signup(
    empty_url: str, tmp_path: Path
) -> None:
    app, comparison = published(empty_url, tmp_path)
    with app.app_context():
        rival, _ = store.create_publisher("rival")
        rival_id = rival.id
    db.dispose(app)
    command.downgrade(alembic_config(empty_url), "0006")
    at = datetime(2026, 11, 1, 12, tzinfo=UTC)
    signed_up = [  # publisher, email, comparison, when
        (comparison.publisher_id, "Reader@example.com", None, at + timedelta(hours=2)),
        (comparison.publisher_id, "reader@example.com", comparison.id, at),
        (comparison.publisher_id, "READER@example.com", None, at),
        (comparison.publisher_id, "other@example.com", None, at),
        (rival_id, "READER@example.com", None, at + timedelta(hours=1)),
    ]
    with app.app_context(), db.writing() as sql:
        for publisher, email, comparison_id, when in signed_up:
            sql.execute(
                insert(models.signups).values(
                    publisher_id=publisher,
                    email=email,
                    comparison_id=comparison_id,
                    created_at=when,
                )
            )
    db.dispose(app)

    upgrade(empty_url)
    assert signup_rows(app) == sorted(
        [
            (comparison.publisher_id, "other@example.com", None),
            (comparison.publisher_id, "reader@example.com", comparison.id),  # earliest, lowest id
            (rival_id, "READER@example.com", None),  # another publisher's list
        ]
    )
    db.dispose(app)


def test_upgrading_to_0009_gives_comparisons_and_pending_deliveries_a_public_id(
    empty_url: str, tmp_path: Path
) -> None:
    app, comparison = published(empty_url, tmp_path)
    with app.app_context():
        publisher = store.get_publisher("acme")
        store.save_comparison(publisher, load_comparison({**DOCUMENT, "slug": "other"}))
        store.set_webhook(publisher, "https://hooks.example/signups")
        store.add_signup(comparison, "reader@example.org")
        old_token = signing.sign(signing.EMBED_TOKEN, comparison.id)
    db.dispose(app)
    command.downgrade(alembic_config(empty_url), "0006")
    upgrade(empty_url)
    with app.app_context():
        public_ids = list(db.connection.scalars(select(models.comparisons.c.public_id)))
        (delivery,) = db.connection.execute(select(models.outbox)).all()
    assert len(set(public_ids)) == 2 and all(len(public_id) == 22 for public_id in public_ids)
    assert json.loads(delivery.body)["id"] == delivery.public_id  # not the sign-up's id
    assert app.test_client().get(f"/v1/payload/{old_token}").status_code == 200
    db.dispose(app)


def test_the_revisions_readiness_knows_are_those_alembic_finds() -> None:
    script = ScriptDirectory.from_config(alembic_config(""))
    assert revisions() == {
        revision.revision: frozenset(revision._all_down_revisions)
        for revision in script.walk_revisions()
    }
    assert heads() == frozenset(script.get_heads())


def scopes(app: Flask) -> set[tuple[str, str]]:
    with app.app_context():
        return set(
            db.connection.execute(
                select(models.counted_visitors.c.visitor, models.counted_visitors.c.scope)
            )
        )


def test_0016_recounts_the_counted_visitors_in_the_scope_the_database_computes_and_back(
    empty_url: str, tmp_path: Path
) -> None:
    app, comparison = published(empty_url, tmp_path)
    pages = [("https://blog.example", "/coffee"), ("https://b\u00e9b\u00e9.example", "/th\u00e9")]
    with app.app_context():
        store.add_events(
            [
                {
                    "comparison_id": comparison.id,
                    "type": "view",
                    "origin": origin,
                    "path": path,
                    "day": today(),
                    "visitor": f"reader-{n}",
                }
                for n, (origin, path) in enumerate(pages)
            ]
        )
        analytics.roll_up_recent()
    counted = {(f"reader-{n}", visitor_scope(*page)) for n, page in enumerate(pages)}
    assert scopes(app) == counted
    db.dispose(app)

    command.downgrade(alembic_config(empty_url), "0015")
    assert scopes(app) == {(f"reader-{n}", page_key(*page)) for n, page in enumerate(pages)}
    db.dispose(app)
    upgrade(empty_url)
    assert scopes(app) == counted
    db.dispose(app)
