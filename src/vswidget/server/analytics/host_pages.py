"""The host pages that embed a comparison, with their figures over a range.

The sums per page over a range read a few rows a page instead of one a day: the
whole weeks and four weeks of the range from ``period_pages``, and days only at
its edges from ``daily_pages``. The events of pages past a day's cap count
together as "other pages", an origin no host page has.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select, union_all

from ..event_budgets import OTHER_PAGES
from ..extensions import cache, db
from ..models import daily_pages, daily_totals, period_pages
from .counts import COUNTED, Totals, totals_of
from .increments import ROLLED_UP
from .periods import PERIODS

OTHER = OTHER_PAGES[0]  # the origin of "other pages": no host page has it


@dataclass
class Page:
    """A host page that embeds a comparison, with its figures over a range."""

    origin: str
    path: str
    first_seen: date
    last_seen: date
    totals: Totals


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
        Page(origin, path, first_seen, last_seen, totals_of(counts))
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
    return totals_of(counts)


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
