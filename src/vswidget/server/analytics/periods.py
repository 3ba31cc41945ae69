"""The periods of ``period_pages``: weeks and spans of four weeks."""

from __future__ import annotations

from datetime import date, timedelta

WEEK = 7
PERIODS = (4 * WEEK, WEEK)  # lengths in days of period_pages' periods, longest first
FIRST_DAY = date(1, 1, 1)  # a Monday: periods are counted from it


def period_start(day: date, days: int) -> date:
    """Return the first day of the ``days``-long period that holds ``day``.

    Periods are counted from FIRST_DAY, a Monday: 7-day ones are ISO weeks, and each
    28-day one holds four of them (summed_in_place.py computes the same in SQL).
    """
    return day - timedelta(days=(day - FIRST_DAY).days % days)
