"""Raw events summed per day into the rollup tables, and raw events pruned.

Raw events (one row per impression, view, vote, click or sign-up) are summed per
day into three small tables: per comparison, per comparison and host page, per
comparison and item. The per-page rows are summed again over longer periods, weeks
and spans of four weeks (``period_pages``), for ``host_pages.py``. Raw events are
deleted after the retention period; rollups stay.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    case,
    delete,
    distinct,
    func,
    insert,
    literal,
    literal_column,
    select,
)

from .. import event_budgets
from ..extensions import cache, db
from ..models import daily_items, daily_pages, daily_segments, daily_totals, events, period_pages
from ..visitors import today
from .counts import COLUMNS, COUNTED

ROLLED_UP = "analytics:rolled-up"  # cache key: when the rollups last changed
WEEK = 7
PERIODS = (4 * WEEK, WEEK)  # lengths in days of period_pages' periods, longest first


def _counters() -> list[Any]:
    sums = [
        func.sum(case((events.c.type == kind, 1), else_=0)).label(column)
        for kind, column in COLUMNS.items()
    ]
    return [*sums, func.count(distinct(events.c.visitor)).label("visitors")]


def roll_up(days: Iterable[date]) -> None:
    """Recompute the rollups of ``days`` from the raw events, one transaction a day."""
    for day in days:
        with db.writing() as sql:
            for table in (daily_totals, daily_pages, daily_items):
                sql.execute(delete(table).where(table.c.day == day))
            on_day = events.c.day == day
            sql.execute(
                insert(daily_totals).from_select(
                    ["comparison_id", "day", *COUNTED],
                    select(events.c.comparison_id, events.c.day, *_counters())
                    .where(on_day)
                    .group_by(events.c.comparison_id, events.c.day),
                )
            )
            sql.execute(
                insert(daily_pages).from_select(
                    ["comparison_id", "day", "origin", "path", *COUNTED],
                    select(
                        events.c.comparison_id,
                        events.c.day,
                        events.c.origin,
                        events.c.path,
                        *_counters(),
                    )
                    .where(on_day)
                    .group_by(events.c.comparison_id, events.c.day, events.c.origin, events.c.path),
                )
            )
            sql.execute(
                insert(daily_items).from_select(
                    ["comparison_id", "day", "item_key", "votes", "clicks"],
                    select(
                        events.c.comparison_id,
                        events.c.day,
                        events.c.item_key,
                        func.sum(case((events.c.type == "vote", 1), else_=0)),
                        func.sum(case((events.c.type == "click", 1), else_=0)),
                    )
                    .where(on_day, events.c.item_key.is_not(None))
                    .group_by(events.c.comparison_id, events.c.day, events.c.item_key),
                )
            )
            _roll_up_periods(sql, day)
            _roll_up_segments(sql, day)
    cache.set(ROLLED_UP, time.time(), timeout=0)  # a new generation: cached reads go stale


def _roll_up_segments(sql: Connection, day: date) -> None:
    """Recompute a day's counts per host page and source, device and browser; events
    stored without a device or browser count only for their source."""
    sql.execute(delete(daily_segments).where(daily_segments.c.day == day))
    for kind, value in (
        ("source", func.coalesce(events.c.referrer, literal_column("''"))),
        ("device", events.c.device),
        ("browser", events.c.browser),
    ):
        page = (events.c.comparison_id, events.c.day, events.c.origin, events.c.path)
        sql.execute(
            insert(daily_segments).from_select(
                ["comparison_id", "day", "origin", "path", "kind", "value", *COLUMNS.values()],
                select(*page, literal(kind), value, *_counters()[:-1])
                .where(events.c.day == day, value.is_not(None))
                .group_by(*page, value),
            )
        )


def period_start(day: date, days: int) -> date:
    """Return the first day of the ``days``-long period that holds ``day``.

    Periods are counted from 0001-01-01, a Monday: 7-day ones are ISO weeks, and
    each 28-day one holds four of them.
    """
    ordinal = day.toordinal()
    return date.fromordinal(ordinal - (ordinal - 1) % days)


def _roll_up_periods(sql: Connection, day: date) -> None:
    """Recompute the week that holds ``day`` from its days, then its four weeks from theirs."""
    week = period_start(day, WEEK)
    _replace_period(
        sql,
        WEEK,
        week,
        select(
            daily_pages.c.comparison_id,
            daily_pages.c.origin,
            daily_pages.c.path,
            daily_pages.c.day.label("first_day"),
            daily_pages.c.day.label("last_day"),
            *(daily_pages.c[name] for name in COUNTED),
        ).where(daily_pages.c.day >= week, daily_pages.c.day < week + timedelta(days=WEEK)),
    )
    days = 4 * WEEK
    span = period_start(day, days)
    _replace_period(
        sql,
        days,
        span,
        select(
            period_pages.c.comparison_id,
            period_pages.c.origin,
            period_pages.c.path,
            period_pages.c.first_day,
            period_pages.c.last_day,
            *(period_pages.c[name] for name in COUNTED),
        ).where(
            period_pages.c.days == WEEK,
            period_pages.c.start >= span,
            period_pages.c.start < span + timedelta(days=days),
        ),
    )


def _replace_period(sql: Connection, days: int, start: date, parts: Select[Any]) -> None:
    """Replace the rows of one period, every comparison's, with the sums of ``parts``."""
    sql.execute(
        delete(period_pages).where(period_pages.c.days == days, period_pages.c.start == start)
    )
    part = parts.subquery()
    sql.execute(
        insert(period_pages).from_select(
            ["comparison_id", "days", "start", "origin", "path", "first_day", "last_day"] + COUNTED,
            select(
                part.c.comparison_id,
                literal(days),
                literal(start),
                part.c.origin,
                part.c.path,
                func.min(part.c.first_day),
                func.max(part.c.last_day),
                *(func.sum(part.c[name]) for name in COUNTED),
            ).group_by(part.c.comparison_id, part.c.origin, part.c.path),
        )
    )


def roll_up_recent() -> None:
    """Recompute today's and yesterday's rollups: the only days events still arrive for."""
    roll_up([today() - timedelta(days=1), today()])


def roll_up_all() -> None:
    """Recompute the rollups of every day that still has raw events."""
    roll_up(sorted(db.connection.scalars(select(events.c.day).distinct())))


def prune(retention_days: int) -> int:
    """Delete raw events older than ``retention_days``, and the event budgets' counts of
    past days; return how many events. Rollups stay."""
    cutoff = today() - timedelta(days=retention_days)
    with db.writing() as sql:
        deleted = sql.execute(delete(events).where(events.c.day < cutoff))
    event_budgets.prune(today())
    return int(deleted.rowcount)
