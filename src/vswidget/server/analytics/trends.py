"""Figures against the previous period of the same length, and the last minutes read
from the newest raw events.

The rollups lag the events by up to ROLLUP_SECONDS and count whole days, so the last
minutes are counted from ``events`` by ``created_at``: only the rows of the window, found
through the (comparison_id, created_at) index (migration 0014; through the
(comparison_id, day) index, every event of the day is visited: 2 to 3.5 times slower
with 100,000 to 1,000,000 events that day, benchmarks/live.py). ``visitors`` in a window
is the distinct visitor hashes in it (a window across midnight UTC counts a reader on
both days twice, as hashes change daily).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, literal, select

from ..extensions import db
from ..models import events
from .counts import COLUMNS, Totals


def previous_range(since: date, until: date) -> tuple[date, date]:
    """Return the days just before ``since``, as many as from ``since`` to ``until``."""
    length = until - since + timedelta(days=1)
    return since - length, since - timedelta(days=1)


@dataclass
class Window:
    """The figures of the minutes up to ``until``, one Totals a minute, and the same
    number of minutes before them (``previous``)."""

    since: datetime
    until: datetime
    minutes: list[tuple[datetime, Totals]]
    totals: Totals = field(default_factory=Totals)
    previous: Totals = field(default_factory=Totals)

    @property
    def previous_since(self) -> datetime:
        return self.since - (self.until - self.since)


def windows_of(
    comparison_ids: Sequence[int], until: datetime, minutes: int, origin: str | None = None
) -> dict[int, Window]:
    """Return each comparison's Window of ``minutes`` minutes that end at ``until``.

    A minute runs from its start, excluded, to its end, included: an event at ``until``
    counts, one at the window's start counts in the previous window. With ``origin``,
    only that host site's events count. Two statements whatever the number of comparisons.
    """
    step = timedelta(minutes=1)
    since = until - minutes * step
    start = since - minutes * step  # of the previous window
    found = {
        comparison_id: Window(since, until, [(since + n * step, Totals()) for n in range(minutes)])
        for comparison_id in comparison_ids
    }
    if not found:
        return found
    at = events.c.created_at
    # Minute n counts from 0 (the oldest of the previous window) to 2 * minutes - 1.
    minute = _minute_of(at, start, step, 0, 2 * minutes)
    where = [
        events.c.comparison_id.in_(found),
        at > start,
        at <= until,
        *([events.c.origin == origin] if origin is not None else []),
    ]
    counted = [func.sum(case((events.c.type == kind, 1), else_=0)) for kind in COLUMNS]
    rows = db.connection.execute(
        select(
            events.c.comparison_id,
            minute,
            *counted,
            func.count(events.c.visitor.distinct()),
        )
        .where(*where)
        .group_by(events.c.comparison_id, minute)
    )
    for comparison_id, index, *counts in rows:
        window = found[comparison_id]
        totals = Totals(*(int(count) for count in counts))
        if index < minutes:
            window.previous.add(totals)
        else:
            window.minutes[index - minutes] = (window.minutes[index - minutes][0], totals)
            window.totals.add(totals)
    # Visitors of a window are distinct over the window, not the sum of its minutes.
    later = at > since
    visitors = db.connection.execute(
        select(
            events.c.comparison_id,
            func.count(case((later, events.c.visitor)).distinct()),
            func.count(case((~later, events.c.visitor)).distinct()),
        )
        .where(*where)
        .group_by(events.c.comparison_id)
    )
    for comparison_id, now, before in visitors:
        found[comparison_id].totals.visitors = int(now)
        found[comparison_id].previous.visitors = int(before)
    return found


def _minute_of(at: Any, start: datetime, step: timedelta, first: int, stop: int) -> Any:
    """Return the SQL number, from ``first`` to ``stop - 1``, of the minute that holds
    ``at``: nested halves, so a row meets about log2(stop - first) comparisons, not one
    a minute (a flat CASE of 60 cost SQLite 10 µs a row)."""
    if stop - first == 1:
        return literal(first)
    middle = (first + stop) // 2
    return case(
        (at <= start + middle * step, _minute_of(at, start, step, first, middle)),
        else_=_minute_of(at, start, step, middle, stop),
    )


def window_report(window: Window) -> dict[str, Any]:
    """Return a Window as the stats API answers it."""
    return {
        "since": window.since,
        "until": window.until,
        "totals": window.totals.as_dict(),
        "rates": window.totals.rates(),
        "minutes": [{"start": start, **counts.as_dict()} for start, counts in window.minutes],
        "previous": {
            "since": window.previous_since,
            "until": window.since,
            "totals": window.previous.as_dict(),
            "rates": window.previous.rates(),
        },
    }
