"""On PostgreSQL a flush's events are counted by one call of ``vsw_count_events``
(migration 0017); SQLite counts them statement by statement in Python. Both must admit
exactly the same events and leave exactly the same counts: here random flushes, with
budgets that bind, are counted both ways from the same state, on PostgreSQL."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest
from flask import Flask
from helpers import PUBLIC_URL, new_publisher
from sqlalchemy import Connection, func, select
from sqlalchemy.dialects.postgresql import insert

from vswidget import Client
from vswidget.server import event_budgets, models
from vswidget.server.event_budgets import OTHER_HOST, OVER_BUDGET, Batch, Budgets, Offer
from vswidget.server.extensions import db
from vswidget.server.visitors import today

pytestmark = pytest.mark.postgresql

BUDGETS = Budgets(per_address=70, per_comparison=160, pages=3)
TRIALS = 60


@pytest.fixture
def comparisons(postgresql_app: Flask, document: dict[str, Any]) -> list[int]:
    """Two published comparisons' ids."""
    key = new_publisher(postgresql_app, "acme")
    with Client(PUBLIC_URL, key, transport=httpx.WSGITransport(app=postgresql_app)) as sdk:
        sdk.publish(document)
        document["slug"] = "second-" + document["slug"]
        sdk.publish(document)
    with postgresql_app.app_context():
        return list(db.connection.scalars(select(models.comparisons.c.id).order_by("id")))


def random_flush(rng: random.Random, comparisons: list[int]) -> list[Batch]:
    """Up to 8 batches from 4 addresses on 4 pages, each with one or two comparisons'
    events, some refused."""
    batches = []
    for _ in range(rng.randint(1, 8)):
        offers = [
            Offer(
                comparison,
                [{"type": "view", "item_key": None, "visitor": "v"}] * rng.randint(1, 50),
                rng.choice([None, None, None, OVER_BUDGET, OTHER_HOST]),
            )
            for comparison in rng.sample(comparisons, rng.randint(1, 2))
        ]
        page = f"/post-{rng.randint(1, 4)}"
        address = f"address-{rng.randint(1, 4)}"
        batches.append(Batch(today(), address, "https://blog.example", page, None, offers))
    return batches


def counts(sql: Connection) -> dict[str, set[tuple[Any, ...]]]:
    """Every row the counting writes."""
    tables = (models.address_days, models.event_days, models.event_pages)
    return {table.name: set(sql.execute(select(table)).all()) for table in tables}


def test_one_call_counts_every_flush_as_python_does(
    postgresql_app: Flask, comparisons: list[int]
) -> None:
    rng = random.Random(17)
    admitted = 0
    with postgresql_app.app_context():
        for _ in range(TRIALS):
            batches = random_flush(rng, comparisons)
            with db.engine.connect() as sql:  # Python's count, rolled back
                with sql.begin() as transaction:
                    fits, days = event_budgets._counted(sql, batches, BUDGETS)
                    expected = counts(sql)
                    transaction.rollback()
            with db.own_transactions() as sql:  # the same flush in one call, committed
                assert event_budgets._counted_by_postgresql(sql, batches, BUDGETS) == (fits, days)
            with db.engine.connect() as sql:
                assert counts(sql) == expected
                # Some pages become listed, as the events' step would list them.
                for comparison, day in days:
                    for batch in batches:
                        if rng.random() < 0.3:
                            page = batch.page
                            row = {"comparison_id": comparison, "day": day, "page": page}
                            sql.execute(
                                insert(models.event_pages).values(row).on_conflict_do_nothing()
                            )
                sql.commit()
            admitted += sum(map(sum, fits))
        # The budgets bound: some events were admitted, and both budgets turned some away.
        with db.engine.connect() as sql:
            over_budget, other_host = sql.execute(
                select(
                    func.sum(models.event_days.c.over_budget),
                    func.sum(models.event_days.c.other_host),
                )
            ).one()
        assert admitted > 0 and over_budget > 0 and other_host > 0
