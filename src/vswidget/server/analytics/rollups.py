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

from sqlalchemy import Select, case, delete, distinct, func, insert, literal, select
from sqlalchemy.orm import Session

from .. import event_budgets
from ..extensions import cache, db
from ..models import DailyItem, DailyPage, DailyTotal, Event, PeriodPage
from ..visitors import today
from .counts import COLUMNS, COUNTED

ROLLED_UP = "analytics:rolled-up"  # cache key: when the rollups last changed
WEEK = 7
PERIODS = (4 * WEEK, WEEK)  # lengths in days of period_pages' periods, longest first


def _counters() -> list[Any]:
    sums = [
        func.sum(case((Event.type == kind, 1), else_=0)).label(column)
        for kind, column in COLUMNS.items()
    ]
    return [*sums, func.count(distinct(Event.visitor)).label("visitors")]


def roll_up(days: Iterable[date]) -> None:
    """Recompute the rollups of ``days`` from the raw events, one transaction a day."""
    for day in days:
        with db.writing() as session:
            for table in (DailyTotal, DailyPage, DailyItem):
                session.execute(delete(table).where(table.day == day))
            on_day = Event.day == day
            session.execute(
                insert(DailyTotal).from_select(
                    ["comparison_id", "day", *COUNTED],
                    select(Event.comparison_id, Event.day, *_counters())
                    .where(on_day)
                    .group_by(Event.comparison_id, Event.day),
                )
            )
            session.execute(
                insert(DailyPage).from_select(
                    ["comparison_id", "day", "origin", "path", *COUNTED],
                    select(Event.comparison_id, Event.day, Event.origin, Event.path, *_counters())
                    .where(on_day)
                    .group_by(Event.comparison_id, Event.day, Event.origin, Event.path),
                )
            )
            session.execute(
                insert(DailyItem).from_select(
                    ["comparison_id", "day", "item_key", "votes", "clicks"],
                    select(
                        Event.comparison_id,
                        Event.day,
                        Event.item_key,
                        func.sum(case((Event.type == "vote", 1), else_=0)),
                        func.sum(case((Event.type == "click", 1), else_=0)),
                    )
                    .where(on_day, Event.item_key.is_not(None))
                    .group_by(Event.comparison_id, Event.day, Event.item_key),
                )
            )
            _roll_up_periods(session, day)
    cache.set(ROLLED_UP, time.time(), timeout=0)  # a new generation: cached reads go stale


def period_start(day: date, days: int) -> date:
    """Return the first day of the ``days``-long period that holds ``day``.

    Periods are counted from 0001-01-01, a Monday: 7-day ones are ISO weeks, and
    each 28-day one holds four of them.
    """
    ordinal = day.toordinal()
    return date.fromordinal(ordinal - (ordinal - 1) % days)


def _roll_up_periods(session: Session, day: date) -> None:
    """Recompute the week that holds ``day`` from its days, then its four weeks from theirs."""
    week = period_start(day, WEEK)
    _replace_period(
        session,
        WEEK,
        week,
        select(
            DailyPage.comparison_id,
            DailyPage.origin,
            DailyPage.path,
            DailyPage.day.label("first_day"),
            DailyPage.day.label("last_day"),
            *(getattr(DailyPage, name) for name in COUNTED),
        ).where(DailyPage.day >= week, DailyPage.day < week + timedelta(days=WEEK)),
    )
    days = 4 * WEEK
    span = period_start(day, days)
    _replace_period(
        session,
        days,
        span,
        select(
            PeriodPage.comparison_id,
            PeriodPage.origin,
            PeriodPage.path,
            PeriodPage.first_day,
            PeriodPage.last_day,
            *(getattr(PeriodPage, name) for name in COUNTED),
        ).where(
            PeriodPage.days == WEEK,
            PeriodPage.start >= span,
            PeriodPage.start < span + timedelta(days=days),
        ),
    )


def _replace_period(session: Session, days: int, start: date, parts: Select[Any]) -> None:
    """Replace the rows of one period, every comparison's, with the sums of ``parts``."""
    session.execute(delete(PeriodPage).where(PeriodPage.days == days, PeriodPage.start == start))
    part = parts.subquery()
    session.execute(
        insert(PeriodPage).from_select(
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
    roll_up(sorted(db.session.scalars(select(Event.day).distinct())))


def prune(retention_days: int) -> int:
    """Delete raw events older than ``retention_days``, and the event budgets' counts of
    past days; return how many events. Rollups stay."""
    cutoff = today() - timedelta(days=retention_days)
    with db.writing() as session:
        deleted = session.execute(delete(Event).where(Event.day < cutoff))
    event_budgets.prune(today())
    return int(deleted.rowcount)  # type: ignore[attr-defined]
