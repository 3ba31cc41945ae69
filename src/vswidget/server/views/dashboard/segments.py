"""The sources, devices and browsers a comparison's page shows: of every host page the
page covers, or of the one ``?host_page=<url>`` names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ....changes import Change
from ....errors import NotFound
from ... import analytics
from ...api_schemas import HostPageQuerySchema
from ...page_urls import HostPage
from ...store import Comparison
from .inputs import Range, load

TOP_SHOWN = 6  # values of each kind a page lists before "Others"
HEADINGS = {"sources": "Sources", "devices": "Devices", "browsers": "Browsers"}
# What each key the server stores (user_agents.py) reads as; a source is its domain.
NAMES = {
    "phone": "Phone",
    "tablet": "Tablet",
    "desktop": "Desktop",
    "chrome": "Chrome",
    "safari": "Safari",
    "firefox": "Firefox",
    "edge": "Edge",
    "samsung": "Samsung Internet",
    "opera": "Opera",
    "other": "Other",
}
DIRECT = "Direct or unknown"  # no referrer, or one the reader's browser did not send
OTHERS = "Others"


def segment_section(
    comparison: Comparison, chosen: Range, origin: str | None, args: Mapping[str, str]
) -> dict[str, Any]:
    """Return each kind's top values over the range, named for people, with the change of
    their views against the previous period, and the host page they are limited to (None:
    every page, or every page of ``origin``)."""
    page: HostPage | None = load(HostPageQuerySchema(), args)
    if page is not None and origin is not None and page.origin != origin:
        raise NotFound(f"This view shows only {origin}, and that page is not on it.")
    scope = analytics.Scope.of(comparison.id, chosen, page, origin)
    found = analytics.segments(scope, TOP_SHOWN)
    before = _views_before(scope, chosen)
    return {
        "page": page,
        "kinds": [
            (
                plural,
                HEADINGS[plural],
                [
                    (_name(plural, row.value), row, _change(row, before.get(plural)))
                    for row in found[plural]
                ],
            )
            for plural in HEADINGS
        ],
    }


def _views_before(scope: analytics.Scope, chosen: Range) -> dict[str, dict[str, int]]:
    """Return each kind's views per value over the previous period (none for the last
    minutes, whose segments are the day's)."""
    if chosen.minutes is not None:
        return {}
    since, until = analytics.previous_range(chosen.since, chosen.until)
    return analytics.views_by_value(replace(scope, since=since, until=until))


def _change(row: analytics.Segment, before: dict[str, int] | None) -> Change | None:
    """Return the change of a value's views against the previous period; None for the
    others, whose values differ from one period to the next."""
    if before is None or row.value is None:
        return None
    return Change(row.views, before.get(row.value, 0))


def _name(kind: str, value: str | None) -> str:
    if value is None:
        return OTHERS
    if kind == "sources":
        return value or DIRECT
    return NAMES.get(value, value)
