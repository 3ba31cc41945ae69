"""A comparison's figures over a range, read from the daily rollups: per day, per
comparison, per item, and the events dropped.

``visitors`` counts distinct visitor hashes within a day. Hashes change every day
by design, so over a range it is the sum of daily visitors ("visitor-days"): the
same reader on two days counts twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from .. import event_budgets
from ..extensions import db
from ..models import daily_items, daily_pages, daily_totals, event_days
from .counts import COUNTED, Totals, totals_of


def series_of(
    comparison_ids: Sequence[int], since: date, until: date
) -> dict[int, list[tuple[date, Totals]]]:
    """Return each comparison's ``series`` over the range, all read in one query."""
    columns = daily_totals.c
    rows = db.connection.execute(
        select(columns.comparison_id, columns.day, *(columns[name] for name in COUNTED)).where(
            columns.comparison_id.in_(comparison_ids), columns.day >= since, columns.day <= until
        )
    )
    found: dict[int, dict[date, Totals]] = {comparison_id: {} for comparison_id in comparison_ids}
    for comparison_id, day, *counts in rows:
        found[comparison_id][day] = totals_of(counts)
    return {comparison_id: _every_day(days, since, until) for comparison_id, days in found.items()}


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
        day: totals_of(counts)
        for day, *counts in db.connection.execute(query.group_by(table.c.day))
    }
    return _every_day(found, since, until)


def _every_day(found: Mapping[date, Totals], since: date, until: date) -> list[tuple[date, Totals]]:
    """Return the figures found of each day of the range, zeros for the days not found."""
    days = [since + timedelta(days=n) for n in range((until - since).days + 1)]
    return [(day, found.get(day, Totals())) for day in days]


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
