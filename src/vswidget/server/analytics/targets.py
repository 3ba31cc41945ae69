"""The rollup tables, each declared once: its key taken from an event, what it counts.

A rollup step (increments.py) sums a batch of events into one ``Delta`` per row of
each target, then adds the deltas to the stored rows. A target's ``keys`` say which
rows one event counts in (none, one or several); ``visitors`` which scope of distinct
visitors the row's ``visitors`` column counts, if it has one; ``spans`` that the row
also keeps the first and last day it counts events of (period_pages).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Table

from ..event_budgets import page_key
from ..models import daily_items, daily_pages, daily_segments, daily_totals, period_pages
from .counts import COLUMNS
from .periods import PERIODS, period_start

Event = Any  # a row of events: comparison_id, type, item_key, origin, path, referrer, ...
Key = tuple[Any, ...]
VisitorKey = tuple[int, date, str, str]  # comparison_id, day, scope, visitor
ALL_PAGES = ""  # the scope of a comparison's visitors, all host pages together


def comparison_visitor(event: Event) -> VisitorKey:
    """The key that counts ``event``'s visitor once a day for the whole comparison."""
    return (event.comparison_id, event.day, ALL_PAGES, event.visitor)


def page_visitor(event: Event) -> VisitorKey:
    """The key that counts ``event``'s visitor once a day for its host page."""
    return (event.comparison_id, event.day, page_key(event.origin, event.path), event.visitor)


@dataclass(frozen=True)
class Target:
    """A rollup table: which of its rows an event counts in, and what it counts."""

    table: Table
    key_columns: tuple[str, ...]
    keys: Callable[[Event], Iterable[Key]]
    counters: Sequence[str]  # the columns of COLUMNS' values this table has
    visitors: Callable[[Event], VisitorKey] | None = None
    spans: bool = False  # first_day and last_day: the days it has events of


def _segments(event: Event) -> Iterable[Key]:
    page = (event.comparison_id, event.day, event.origin, event.path)
    yield (*page, "source", event.referrer or "")
    if event.device is not None:
        yield (*page, "device", event.device)
    if event.browser is not None:
        yield (*page, "browser", event.browser)


def _periods(event: Event) -> Iterable[Key]:
    for days in PERIODS:
        start = period_start(event.day, days)
        yield (event.comparison_id, days, start, event.origin, event.path)


EVERY_TYPE = tuple(COLUMNS.values())
PAGE = ("origin", "path")

TARGETS = (
    Target(
        daily_totals,
        ("comparison_id", "day"),
        lambda event: [(event.comparison_id, event.day)],
        EVERY_TYPE,
        comparison_visitor,
    ),
    Target(
        daily_pages,
        ("comparison_id", "day", *PAGE),
        lambda event: [(event.comparison_id, event.day, event.origin, event.path)],
        EVERY_TYPE,
        page_visitor,
    ),
    # A period's visitors are the sum of its days' (a reader of two days counts twice).
    Target(
        period_pages,
        ("comparison_id", "days", "start", *PAGE),
        _periods,
        EVERY_TYPE,
        page_visitor,
        spans=True,
    ),
    Target(
        daily_items,
        ("comparison_id", "day", "item_key"),
        lambda event: (
            [(event.comparison_id, event.day, event.item_key)] if event.item_key is not None else []
        ),
        ("votes", "clicks"),
    ),
    Target(
        daily_segments,
        ("comparison_id", "day", *PAGE, "kind", "value"),
        _segments,
        EVERY_TYPE,
    ),
)


@dataclass
class Delta:
    """What a batch of events adds to one row of a target."""

    counts: dict[str, int] = field(default_factory=dict)
    visitors: set[VisitorKey] = field(default_factory=set)  # candidates, new or not
    first_day: date = date.max
    last_day: date = date.min

    def count(self, target: Target, event: Event) -> None:
        column = COLUMNS.get(event.type)
        if column is not None and column in target.counters:
            self.counts[column] = self.counts.get(column, 0) + 1
        if target.visitors is not None:
            self.visitors.add(target.visitors(event))
        self.first_day = min(self.first_day, event.day)
        self.last_day = max(self.last_day, event.day)


Deltas = dict[Target, dict[Key, Delta]]


def deltas_of(batch: Iterable[Event]) -> Deltas:
    """Sum ``batch`` into a delta per row of each target."""
    found: Deltas = {target: {} for target in TARGETS}
    for event in batch:
        for target, rows in found.items():
            for key in target.keys(event):
                delta = rows.get(key)
                if delta is None:
                    delta = rows[key] = Delta()
                delta.count(target, event)
    return found


def visitor_keys(deltas: Deltas) -> set[VisitorKey]:
    """Return every visitor key a batch may count for the first time."""
    return {key for rows in deltas.values() for delta in rows.values() for key in delta.visitors}
