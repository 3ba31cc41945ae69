"""The report of the stats API: a comparison's figures over a range, in one answer."""

from __future__ import annotations

from datetime import date
from typing import Any

from .counts import summed
from .figures import dropped, item_series, series
from .host_pages import other_pages, pages
from .trends import previous_range


def report(
    comparison_id: int, since: date, until: date, offset: int = 0, limit: int = 20
) -> tuple[dict[str, Any], int]:
    """Return a comparison's figures over a range (totals, rates, days, items), the host
    pages from ``offset`` to ``offset + limit`` with "other pages" and the events
    dropped; and how many host pages there are.
    """
    days = series(comparison_id, since, until)
    total = summed(days)
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
    return {**answer, "previous": previous(comparison_id, since, until)}, len(listed)


def previous(comparison_id: int, since: date, until: date) -> dict[str, Any]:
    """Return the totals and rates of the previous period of the range's length."""
    before, last = previous_range(since, until)
    total = summed(series(comparison_id, before, last))
    return {"since": before, "until": last, "totals": total.as_dict(), "rates": total.rates()}
