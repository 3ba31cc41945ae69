"""The periods of ``period_pages``: weeks and spans of four weeks."""

from __future__ import annotations

from datetime import date

WEEK = 7
PERIODS = (4 * WEEK, WEEK)  # lengths in days of period_pages' periods, longest first


def period_start(day: date, days: int) -> date:
    """Return the first day of the ``days``-long period that holds ``day``.

    Periods are counted from 0001-01-01, a Monday: 7-day ones are ISO weeks, and
    each 28-day one holds four of them.
    """
    ordinal = day.toordinal()
    return date.fromordinal(ordinal - (ordinal - 1) % days)
