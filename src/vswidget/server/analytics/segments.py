"""Where a comparison's readers come from and what they read it on, over a range.

Three kinds of segment, each read from ``daily_segments``: "source" (the referring
page's domain, "" for none), "device" (phone, tablet, desktop, other) and "browser"
(its family). Each kind's values are summed over the range's days and host pages,
or one host page's, the busiest first; those past the top ``limit`` are summed
together as the others. A share is a value's part of the views of its kind: for
devices and browsers, of the views whose device or browser is known (events stored
before they were kept have neither).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select

from ..date_range import DateRange
from ..extensions import db
from ..models import daily_segments
from ..page_urls import HostPage
from ..tallies import percent
from .counts import COLUMNS

KINDS = {"source": "sources", "device": "devices", "browser": "browsers"}  # kind -> plural
COUNTERS = list(COLUMNS.values())


@dataclass
class Segment:
    """One value of a kind with its figures over a range; ``value`` None for the others."""

    value: str | None
    impressions: int = 0
    views: int = 0
    votes: int = 0
    clicks: int = 0
    signups: int = 0
    share: int | None = None  # whole percent of the kind's views; None without views

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ("value", *COUNTERS, "share")}


@dataclass(frozen=True)
class Scope:
    """What a segment read covers: a comparison over a range, all its host pages or one,
    or one host site's (a share link limited to a site)."""

    comparison_id: int
    since: date
    until: date
    origin: str | None = None
    path: str | None = None  # with ``origin``: that one host page

    @classmethod
    def of(
        cls, comparison_id: int, days: DateRange, page: HostPage | None, origin: str | None = None
    ) -> Scope:
        """Return the scope of ``page`` over ``days`` or, without one, of every host page
        (of ``origin``'s site, when given)."""
        if page is not None:
            return cls(comparison_id, days.since, days.until, page.origin, page.path)
        return cls(comparison_id, days.since, days.until, origin)


def segments(scope: Scope, limit: int) -> dict[str, list[Segment]]:
    """Return each kind's top ``limit`` values, busiest first (views, then votes), and
    a last Segment summing the others when there are more."""
    found = _summed(scope)
    return {plural: _top(found[kind], limit) for kind, plural in KINDS.items()}


def views_by_value(scope: Scope) -> dict[str, dict[str, int]]:
    """Return each kind's views per value (every value), as ``segments`` names the kinds."""
    found = _summed(scope)
    return {
        plural: {segment.value or "": segment.views for segment in found[kind]}
        for kind, plural in KINDS.items()
    }


def _summed(scope: Scope) -> dict[str, list[Segment]]:
    """Return every value of each kind with its figures summed over ``scope``."""
    table = daily_segments.c
    query = (
        select(table.kind, table.value, *(func.sum(table[name]) for name in COUNTERS))
        .where(
            table.comparison_id == scope.comparison_id,
            table.day >= scope.since,
            table.day <= scope.until,
        )
        .group_by(table.kind, table.value)
    )
    if scope.origin is not None:
        query = query.where(table.origin == scope.origin)
    if scope.path is not None:
        query = query.where(table.path == scope.path)
    found: dict[str, list[Segment]] = {kind: [] for kind in KINDS}
    for kind, value, *counts in db.connection.execute(query):
        found[kind].append(Segment(value, *(int(count or 0) for count in counts)))
    return found


def segment_lists(scope: Scope, limit: int) -> dict[str, list[dict[str, Any]]]:
    """Return ``segments`` as plain lists, as the stats API answers them."""
    found = segments(scope, limit)
    return {kind: [segment.as_dict() for segment in values] for kind, values in found.items()}


def _top(values: list[Segment], limit: int) -> list[Segment]:
    """Return the top ``limit`` of one kind's values and their others, with shares."""
    values.sort(key=lambda segment: (-segment.views, -segment.votes, segment.value or ""))
    top, rest = values[:limit], values[limit:]
    if rest:
        others = Segment(None)
        for segment in rest:
            for name in COUNTERS:
                setattr(others, name, getattr(others, name) + getattr(segment, name))
        top.append(others)
    views = sum(segment.views for segment in top)
    for segment in top:
        segment.share = percent(segment.views, views)
    return top
