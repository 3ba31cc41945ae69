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
    Connection,
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

from . import event_budgets
from .event_budgets import OTHER_PAGES
from .extensions import cache, db
from .models import daily_items, daily_pages, daily_totals, event_days, events, period_pages
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
    cache.set(ROLLED_UP, time.time(), timeout=0)  # a new generation: cached reads go stale


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


def _totals_of(counts: Iterable[Any]) -> Totals:
    """Return the Totals of sums in the order of COUNTED (a sum of no rows is NULL)."""
    return Totals(*(int(count or 0) for count in counts))


def totals(comparison_ids: Sequence[int], since: date, until: date) -> dict[int, Totals]:
    """Return each comparison's figures over ``since``..``until`` (both included)."""
    rows = db.connection.execute(
        select(
            daily_totals.c.comparison_id, *(func.sum(daily_totals.c[n]).label(n) for n in COUNTED)
        )
        .where(
            daily_totals.c.comparison_id.in_(comparison_ids),
            daily_totals.c.day >= since,
            daily_totals.c.day <= until,
        )
        .group_by(daily_totals.c.comparison_id)
    )
    found = {comparison_id: _totals_of(counts) for comparison_id, *counts in rows}
    return {comparison_id: found.get(comparison_id, Totals()) for comparison_id in comparison_ids}


def series(
    comparison_id: int, since: date, until: date, origin: str | None = None
) -> list[tuple[date, Totals]]:
    """Return the figures of each day of the range, days without events as zeros.

    With ``origin``, only that host site's pages count (a share link limited to one site).
    """
    table: Any = daily_totals if origin is None else daily_pages
    query = select(table.c.day, *(func.sum(table.c[n]).label(n) for n in COUNTED)).where(
        table.c.comparison_id == comparison_id, table.c.day >= since, table.c.day <= until
    )
    if origin is not None:
        query = query.where(daily_pages.c.origin == origin)
    found = {
        day: _totals_of(counts)
        for day, *counts in db.connection.execute(query.group_by(table.c.day))
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
    on = daily_totals.c.comparison_id == comparison_id
    day = daily_totals.c.day
    before, first, last, after = db.connection.execute(
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
                daily_pages.c.origin,
                daily_pages.c.path,
                daily_pages.c.day.label("first_day"),
                daily_pages.c.day.label("last_day"),
                *(daily_pages.c[name] for name in COUNTED),
            ).where(
                daily_pages.c.comparison_id == comparison_id,
                daily_pages.c.day.in_(days),
                daily_pages.c.origin == origin
                if origin is not None
                else daily_pages.c.origin != OTHER,
            )
        )
    if longer:
        parts.append(
            select(
                period_pages.c.origin,
                period_pages.c.path,
                period_pages.c.first_day,
                period_pages.c.last_day,
                *(period_pages.c[name] for name in COUNTED),
            ).where(
                or_(
                    *(
                        and_(period_pages.c.days == length, period_pages.c.start.in_(starts))
                        for length, starts in longer.items()
                    )
                ),
                period_pages.c.comparison_id == comparison_id,
                period_pages.c.origin == origin
                if origin is not None
                else period_pages.c.origin != OTHER,
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
        for origin, path, first_seen, last_seen, *counts in db.connection.execute(query)
    ]
    return sorted(found, key=lambda page: (-page.totals.impressions, page.origin, page.path))


def other_pages(comparison_id: int, since: date, until: date) -> Totals:
    """Return the figures of "other pages" over the range: the events of the host pages
    past a day's EVENT_PAGES_PER_DAY, counted together."""
    counts = db.connection.execute(
        select(*(func.sum(daily_pages.c[name]) for name in COUNTED)).where(
            daily_pages.c.comparison_id == comparison_id,
            daily_pages.c.day >= since,
            daily_pages.c.day <= until,
            daily_pages.c.origin == OTHER,
        )
    ).one()
    return _totals_of(counts)


def origins(comparison_id: int, since: date, until: date) -> list[str]:
    """Return the host sites that showed the comparison in the range, in order."""
    return list(
        db.connection.scalars(
            select(daily_pages.c.origin)
            .distinct()
            .where(
                daily_pages.c.comparison_id == comparison_id,
                daily_pages.c.day >= since,
                daily_pages.c.day <= until,
                daily_pages.c.origin != OTHER,
            )
            .order_by(daily_pages.c.origin)
        )
    )


def dropped(comparison_id: int, since: date, until: date) -> dict[str, int]:
    """Return the events dropped over the range, by reason: over a budget, from another
    site than the comparison's ``hosts`` (event_budgets.py)."""
    reasons = (event_budgets.OVER_BUDGET, event_budgets.OTHER_HOST)
    counts = db.connection.execute(
        select(*(func.sum(event_days.c[reason]) for reason in reasons)).where(
            event_days.c.comparison_id == comparison_id,
            event_days.c.day >= since,
            event_days.c.day <= until,
        )
    ).one()
    return {reason: int(count or 0) for reason, count in zip(reasons, counts, strict=True)}


def item_series(
    comparison_id: int, since: date, until: date
) -> dict[str, list[tuple[date, int, int]]]:
    """Return, per item key, each day's (day, votes cast, clicks) where there were any."""
    rows = db.connection.execute(
        select(daily_items.c.item_key, daily_items.c.day, daily_items.c.votes, daily_items.c.clicks)
        .where(
            daily_items.c.comparison_id == comparison_id,
            daily_items.c.day >= since,
            daily_items.c.day <= until,
        )
        .order_by(daily_items.c.day)
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
