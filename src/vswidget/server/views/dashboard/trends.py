"""What the dashboard shows of trends: each figure's change against the previous period
of the same length, and the last minutes, read from the newest raw events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from ....changes import Change
from ... import analytics
from ...analytics import COUNTED, Totals, Window
from ...models import utcnow
from .inputs import Range


def changes(now: Totals, before: Totals) -> dict[str, Change]:
    """Return the change of each count against the previous period."""
    return {name: Change(getattr(now, name), getattr(before, name)) for name in COUNTED}


def rate_changes(now: Totals, before: Totals) -> dict[str, Change]:
    """Return the change of each rate, in percentage points."""
    earlier = before.rates()
    return {key: Change(rate, earlier[key], points=True) for key, rate in now.rates().items()}


def previous_totals(comparison_ids: Sequence[int], chosen: Range) -> dict[int, Totals]:
    """Return each comparison's totals over the days before the range, as many as it has."""
    since, until = analytics.previous_range(chosen.since, chosen.until)
    return {
        comparison_id: analytics.summed(days)
        for comparison_id, days in analytics.series_of(comparison_ids, since, until).items()
    }


def previous_of(comparison_id: int, chosen: Range, origin: str | None) -> Totals:
    """Return a comparison's totals over the previous period, of one host site or all."""
    since, until = analytics.previous_range(chosen.since, chosen.until)
    return analytics.summed(analytics.series(comparison_id, since, until, origin))


def previous_item_votes(comparison_id: int, chosen: Range) -> dict[str, int]:
    """Return the votes cast per item key over the previous period."""
    since, until = analytics.previous_range(chosen.since, chosen.until)
    return {
        key: sum(row[1] for row in rows)
        for key, rows in analytics.item_series(comparison_id, since, until).items()
    }


def page_changes(
    comparison_id: int, chosen: Range, origin: str | None, rows: Sequence[analytics.Page]
) -> dict[tuple[str, str], Change]:
    """Return the change of each host page's impressions against the previous period."""
    since, until = analytics.previous_range(chosen.since, chosen.until)
    before = {
        (page.origin, page.path): page.totals.impressions
        for page in analytics.pages(comparison_id, since, until, origin)
    }
    return {
        (page.origin, page.path): Change(
            page.totals.impressions, before.get((page.origin, page.path), 0)
        )
        for page in rows
    }


def windows(comparison_ids: Sequence[int], chosen: Range, origin: str | None) -> dict[int, Window]:
    """Return each comparison's last ``chosen.minutes`` minutes up to now."""
    assert chosen.minutes is not None
    return analytics.windows_of(comparison_ids, utcnow(), chosen.minutes, origin)


def minute(moment: date) -> str:
    """Write a minute as the dashboard does: HH:MM (UTC)."""
    return moment.strftime("%H:%M")


def previous_words(chosen: Range) -> str:
    """Return what the changes compare with: "the previous 30 days"."""
    if chosen.minutes is not None:
        return f"the previous {chosen.minutes} minutes"
    return "the previous day" if chosen.days == 1 else f"the previous {chosen.days} days"


def period(chosen: Range, window: Window | None = None) -> Mapping[str, str]:
    """Return the words of the range and of its previous period, for a page's heading."""
    if window is not None:
        return {
            "now": f"{minute(window.since)} to {minute(window.until)} UTC",
            "before": f"{minute(window.previous_since)} to {minute(window.since)}",
        }
    since, until = analytics.previous_range(chosen.since, chosen.until)
    return {
        "now": f"{chosen.since.isoformat()} to {chosen.until.isoformat()}",
        "before": f"{since.isoformat()} to {until.isoformat()}",
    }
