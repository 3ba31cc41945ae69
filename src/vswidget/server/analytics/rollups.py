"""The rollups recomputed from raw events (a rebuild, a repair, the tests' reference),
and raw events pruned.

Raw events (one row per impression, view, vote, click or sign-up) are summed per
day into small tables: per comparison, per comparison and host page, per comparison
and item, per host page and segment of readers. The per-page rows are summed again
over longer periods, weeks and spans of four weeks (``period_pages``), for
``host_pages.py``. The server keeps them current a step at a time (increments.py);
``roll_up`` recomputes whole days from the raw events, consistently with the
incremental cursor. Raw events are deleted after the retention period; rollups stay.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    delete,
    func,
    insert,
    literal,
    select,
)

from .. import event_budgets
from ..extensions import cache, db
from ..models import (
    counted_visitors,
    daily_pages,
    events,
    period_pages,
)
from ..visitors import today
from .counts import COUNTED
from .increments import ROLLED_UP, hold_cursor, move_cursor, newest_committed
from .periods import WEEK, period_start
from .targets import TARGETS, visitor_scope

PAGE_ROWS = 5000  # distinct page visitors inserted a statement at a time


def roll_up(days: Iterable[date]) -> None:
    """Recompute the rollups of ``days`` from the raw events up to the cursor, one
    transaction a day; the steps count the later ones, so none is counted twice or missed."""
    for day in days:
        with db.writing() as sql:
            recompute_day(sql, day, hold_cursor(sql), visitors=day >= today() - timedelta(days=1))
    cache.set(ROLLED_UP, time.time(), timeout=0)  # a new generation: cached reads go stale


def recompute_day(sql: Connection, day: date, last_id: int, *, visitors: bool) -> None:
    """Replace the rollup rows of ``day`` with the sums of its events up to ``last_id``,
    and the periods that hold it; with ``visitors``, its counted visitors too."""
    on_day = and_(events.c.day == day, events.c.id <= last_id)
    for target in TARGETS:
        if not target.periods:
            table = target.table
            sql.execute(delete(table).where(table.c.day == day))
            for grouping in target.groupings:
                sums = target.sums(grouping, on_day, distinct_visitors=True)
                sql.execute(insert(table).from_select(list(sums.selected_columns.keys()), sums))
    _roll_up_periods(sql, day)
    if visitors:
        _recount_visitors(sql, day, on_day)


def _recount_visitors(sql: Connection, day: date, on_day: ColumnElement[bool]) -> None:
    """Replace the counted visitors of ``day`` with those of its events ``on_day``."""
    sql.execute(delete(counted_visitors).where(counted_visitors.c.day == day))
    found = sql.execute(
        select(events.c.comparison_id, events.c.origin, events.c.path, events.c.visitor)
        .where(on_day)
        .distinct()
    )
    while rows := found.fetchmany(PAGE_ROWS):
        sql.execute(
            insert(counted_visitors),
            [
                {
                    "comparison_id": comparison_id,
                    "day": day,
                    "scope": visitor_scope(origin, path),
                    "visitor": visitor,
                }
                for comparison_id, origin, path, visitor in rows
            ],
        )


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


def roll_up_all() -> None:
    """Recompute the rollups of every day that still has raw events, from all of them.

    The cursor moves to the newest committed event first: every event up to it is in a
    day recomputed afterwards.
    """
    newest = newest_committed(db.engine)
    if newest is not None:
        with db.writing() as sql:
            if hold_cursor(sql) < newest:
                move_cursor(sql, newest)
    roll_up(sorted(db.connection.scalars(select(events.c.day).distinct())))


def prune(retention_days: int) -> int:
    """Delete raw events older than ``retention_days``, the visitors counted before
    yesterday (no event comes for those days any more) and the event budgets' counts of
    past days; return how many events. Rollups stay."""
    cutoff = today() - timedelta(days=retention_days)
    with db.writing() as sql:
        deleted = sql.execute(delete(events).where(events.c.day < cutoff))
    with db.writing() as sql:
        sql.execute(
            delete(counted_visitors).where(counted_visitors.c.day < today() - timedelta(days=1))
        )
    event_budgets.prune(today())
    return int(deleted.rowcount)
