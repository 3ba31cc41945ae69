"""Events rolled up by day, and the figures the dashboard and the stats API read.

Raw events (one row per impression, view, vote, click or sign-up) are summed per
day into three small tables: per comparison, per comparison and host page, per
comparison and item. Readers of figures only touch those, so they stay fast as
events grow. Raw events are deleted after the retention period; rollups stay.

The per-page rows are summed again over longer periods, weeks and spans of four
weeks (``period_pages``), so the sums per page over a range read a few rows a page
instead of one a day: the whole periods of the range, and days only at its edges.

``visitors`` counts distinct visitor hashes within a day. Hashes change every day
by design, so over a range it is the sum of daily visitors ("visitor-days"): the
same reader on two days counts twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import (
    Select,
    and_,
    case,
    delete,
    distinct,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from . import event_budgets
from .event_budgets import OTHER_PAGES
from .extensions import cache, db
from .models import DailyItem, DailyPage, DailyTotal, Event, EventDay, PeriodPage
from .tallies import percent
from .visitors import today

# Event type -> the rollup column that counts it.
COLUMNS = {
    "impression": "impressions",
    "view": "views",
    "vote": "votes",
    "click": "clicks",
    "signup": "signups",
}


@dataclass
class Totals:
    impressions: int = 0
    views: int = 0
    votes: int = 0
    clicks: int = 0
    signups: int = 0
    visitors: int = 0

    def add(self, other: Totals) -> None:
        for spec in fields(self):
            setattr(self, spec.name, getattr(self, spec.name) + getattr(other, spec.name))

    def rates(self) -> dict[str, int | None]:
        """Return whole-percent conversions from views; None without views."""
        return {
            "view_to_vote": percent(self.votes, self.views),
            "view_to_click": percent(self.clicks, self.views),
            "view_to_signup": percent(self.signups, self.views),
        }

    def as_dict(self) -> dict[str, int]:
        return {spec.name: getattr(self, spec.name) for spec in fields(self)}


@dataclass
class Page:
    """A host page that embeds a comparison, with its figures over a range."""

    origin: str
    path: str
    first_seen: date
    last_seen: date
    totals: Totals


COUNTED = [spec.name for spec in fields(Totals)]
ROLLED_UP = "analytics:rolled-up"  # cache key: when the rollups last changed
WEEK = 7
PERIODS = (4 * WEEK, WEEK)  # lengths in days of period_pages' periods, longest first
OTHER = OTHER_PAGES[0]  # the origin of "other pages": no host page has it


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


def _totals_of(counts: Iterable[Any]) -> Totals:
    """Return the Totals of sums in the order of COUNTED (a sum of no rows is NULL)."""
    return Totals(*(int(count or 0) for count in counts))


def totals(comparison_ids: Sequence[int], since: date, until: date) -> dict[int, Totals]:
    """Return each comparison's figures over ``since``..``until`` (both included)."""
    rows = db.session.execute(
        select(
            DailyTotal.comparison_id, *(func.sum(getattr(DailyTotal, n)).label(n) for n in COUNTED)
        )
        .where(
            DailyTotal.comparison_id.in_(comparison_ids),
            DailyTotal.day >= since,
            DailyTotal.day <= until,
        )
        .group_by(DailyTotal.comparison_id)
    )
    found = {comparison_id: _totals_of(counts) for comparison_id, *counts in rows}
    return {comparison_id: found.get(comparison_id, Totals()) for comparison_id in comparison_ids}


def series(
    comparison_id: int, since: date, until: date, origin: str | None = None
) -> list[tuple[date, Totals]]:
    """Return the figures of each day of the range, days without events as zeros.

    With ``origin``, only that host site's pages count (a share link limited to one site).
    """
    table: Any = DailyTotal if origin is None else DailyPage
    query = select(table.day, *(func.sum(getattr(table, n)).label(n) for n in COUNTED)).where(
        table.comparison_id == comparison_id, table.day >= since, table.day <= until
    )
    if origin is not None:
        query = query.where(DailyPage.origin == origin)
    found = {
        day: _totals_of(counts) for day, *counts in db.session.execute(query.group_by(table.day))
    }
    days = [since + timedelta(days=n) for n in range((until - since).days + 1)]
    return [(day, found.get(day, Totals())) for day in days]


def pages(comparison_id: int, since: date, until: date, origin: str | None = None) -> list[Page]:
    """Return the host pages that showed the comparison in the range, busiest first; not
    "other pages", the events of pages past a day's cap (``other_pages``).

    At most EVENT_PAGES_PER_DAY pages a day, so the list is bounded by the range's length.

    The costliest read of a report (a sum per page over the range's weeks, four weeks
    and edge days), so it is cached until the next rollup, and at most ROLLUP_SECONDS.
    """
    key = f"pages:{comparison_id}:{since}:{until}:{origin}:{cache.get(ROLLED_UP) or 0}"
    found: list[Page] | None = cache.get(key)
    if found is None:
        found = _pages(comparison_id, since, until, origin)
        cache.set(key, found, timeout=max(1, int(current_app.config["ROLLUP_SECONDS"])))
    return found


def _pages(comparison_id: int, since: date, until: date, origin: str | None) -> list[Page]:
    found = _page_sums(comparison_id, _periods(comparison_id, since, until), origin)
    if any(page.first_seen < since or page.last_seen > until for page in found):
        # A rollup added a day outside the range to a period since _periods looked.
        found = _page_sums(comparison_id, _days(since, until), origin)
    return found


def _periods(comparison_id: int, since: date, until: date) -> list[tuple[int, date]]:
    """Return the fewest periods (days, start) that hold every day with events of the range.

    Days without events of the comparison cost nothing to include, so a period may
    reach past the range as long as it holds no day with events outside it: the
    range's days with events go from ``first`` to ``last``, and the closest days with
    events outside it, ``before`` and ``after``, bound what a period may cover.
    """
    on = DailyTotal.comparison_id == comparison_id
    day = DailyTotal.day
    before, first, last, after = db.session.execute(
        select(
            select(func.max(day)).where(on, day < since).scalar_subquery(),
            select(func.min(day)).where(on, day >= since, day <= until).scalar_subquery(),
            select(func.max(day)).where(on, day >= since, day <= until).scalar_subquery(),
            select(func.min(day)).where(on, day > until).scalar_subquery(),
        )
    ).one()
    if first is None:
        return []
    low = before.toordinal() if before else 0  # periods start after this
    high = after.toordinal() if after else date.max.toordinal() + 1  # and end before this
    found = []
    ordinal, end = first.toordinal(), last.toordinal()
    while ordinal <= end:
        for days in (*PERIODS, 1):
            start = ordinal - (ordinal - 1) % days  # period_start, on ordinals: no overflow
            if start > low and start + days <= high:
                break
        found.append((days, date.fromordinal(start)))
        ordinal = start + days
    return found


def _days(since: date, until: date) -> list[tuple[int, date]]:
    """Return the range as periods of one day each."""
    return [(1, since + timedelta(days=n)) for n in range((until - since).days + 1)]


def _page_sums(
    comparison_id: int, periods: Sequence[tuple[int, date]], origin: str | None
) -> list[Page]:
    """Return the sums per host page over ``periods``, busiest first.

    Days are read from daily_pages, weeks and four weeks from period_pages.
    """
    if not periods:
        return []
    days = [start for length, start in periods if length == 1]
    longer = {length: [s for n, s in periods if n == length] for length, _ in periods if length > 1}
    parts = []
    if days:
        parts.append(
            select(
                DailyPage.origin,
                DailyPage.path,
                DailyPage.day.label("first_day"),
                DailyPage.day.label("last_day"),
                *(getattr(DailyPage, name) for name in COUNTED),
            ).where(
                DailyPage.comparison_id == comparison_id,
                DailyPage.day.in_(days),
                DailyPage.origin == origin if origin is not None else DailyPage.origin != OTHER,
            )
        )
    if longer:
        parts.append(
            select(
                PeriodPage.origin,
                PeriodPage.path,
                PeriodPage.first_day,
                PeriodPage.last_day,
                *(getattr(PeriodPage, name) for name in COUNTED),
            ).where(
                or_(
                    *(
                        and_(PeriodPage.days == length, PeriodPage.start.in_(starts))
                        for length, starts in longer.items()
                    )
                ),
                PeriodPage.comparison_id == comparison_id,
                PeriodPage.origin == origin if origin is not None else PeriodPage.origin != OTHER,
            )
        )
    part = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
    query = select(
        part.c.origin,
        part.c.path,
        func.min(part.c.first_day).label("first_seen"),
        func.max(part.c.last_day).label("last_seen"),
        *(func.sum(part.c[name]).label(name) for name in COUNTED),
    ).group_by(part.c.origin, part.c.path)
    found = [
        Page(origin, path, first_seen, last_seen, _totals_of(counts))
        for origin, path, first_seen, last_seen, *counts in db.session.execute(query)
    ]
    return sorted(found, key=lambda page: (-page.totals.impressions, page.origin, page.path))


def other_pages(comparison_id: int, since: date, until: date) -> Totals:
    """Return the figures of "other pages" over the range: the events of the host pages
    past a day's EVENT_PAGES_PER_DAY, counted together."""
    counts = db.session.execute(
        select(*(func.sum(getattr(DailyPage, name)) for name in COUNTED)).where(
            DailyPage.comparison_id == comparison_id,
            DailyPage.day >= since,
            DailyPage.day <= until,
            DailyPage.origin == OTHER,
        )
    ).one()
    return _totals_of(counts)


def origins(comparison_id: int, since: date, until: date) -> list[str]:
    """Return the host sites that showed the comparison in the range, in order."""
    return list(
        db.session.scalars(
            select(DailyPage.origin)
            .distinct()
            .where(
                DailyPage.comparison_id == comparison_id,
                DailyPage.day >= since,
                DailyPage.day <= until,
                DailyPage.origin != OTHER,
            )
            .order_by(DailyPage.origin)
        )
    )


def dropped(comparison_id: int, since: date, until: date) -> dict[str, int]:
    """Return the events dropped over the range, by reason: over a budget, from another
    site than the comparison's ``hosts`` (event_budgets.py)."""
    reasons = (event_budgets.OVER_BUDGET, event_budgets.OTHER_HOST)
    counts = db.session.execute(
        select(*(func.sum(getattr(EventDay, reason)) for reason in reasons)).where(
            EventDay.comparison_id == comparison_id, EventDay.day >= since, EventDay.day <= until
        )
    ).one()
    return {reason: int(count or 0) for reason, count in zip(reasons, counts, strict=True)}


def item_series(
    comparison_id: int, since: date, until: date
) -> dict[str, list[tuple[date, int, int]]]:
    """Return, per item key, each day's (day, votes cast, clicks) where there were any."""
    rows = db.session.execute(
        select(DailyItem.item_key, DailyItem.day, DailyItem.votes, DailyItem.clicks)
        .where(
            DailyItem.comparison_id == comparison_id,
            DailyItem.day >= since,
            DailyItem.day <= until,
        )
        .order_by(DailyItem.day)
    )
    result: dict[str, list[tuple[date, int, int]]] = {}
    for row in rows:
        result.setdefault(row.item_key, []).append((row.day, row.votes, row.clicks))
    return result


def default_range(since: date | None, until: date | None, days: int = 30) -> tuple[date, date]:
    """Return the range asked for; by default the ``days`` days that end today."""
    until = until or today()
    return since or until - timedelta(days=days - 1), until


def report(
    comparison_id: int, since: date, until: date, offset: int = 0, limit: int = 20
) -> tuple[dict[str, Any], int]:
    """Return a comparison's figures over a range (totals, rates, days, items), the host
    pages from ``offset`` to ``offset + limit`` with "other pages" and the events
    dropped; and how many host pages there are.
    """
    days = series(comparison_id, since, until)
    total = Totals()
    for _, counts in days:
        total.add(counts)
    items = {
        key: {"votes": sum(row[1] for row in rows), "clicks": sum(row[2] for row in rows)}
        for key, rows in item_series(comparison_id, since, until).items()
    }
    listed = pages(comparison_id, since, until)
    answer = {
        "since": since,
        "until": until,
        "totals": total.as_dict(),
        "rates": total.rates(),
        "days": [{"day": day, **counts.as_dict()} for day, counts in days],
        "pages": [
            {
                "origin": page.origin,
                "path": page.path,
                "first_seen": page.first_seen,
                "last_seen": page.last_seen,
                **page.totals.as_dict(),
            }
            for page in listed[offset : offset + limit]
        ],
        "other_pages": other_pages(comparison_id, since, until).as_dict(),
        "dropped": dropped(comparison_id, since, until),
        "items": items,
    }
    return answer, len(listed)
