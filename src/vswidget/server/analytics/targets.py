"""The rollup tables, each declared once: its rows' keys taken from events, what it counts.

A target's ``groupings`` are GROUP BYs of events, each key column an expression over an
event; its ``counters`` count events of a type (COLUMNS). A recompute groups a day's
events (rollups.py), a rollup step the events since the last one (increments.py), with
the same declarations. ``visitors`` names the key columns of the scope its distinct
visitors are counted in (the comparison's, or a host page's, a day); a target with
``periods`` has a row per week and per four weeks of its rows' days (period_pages).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    Table,
    case,
    distinct,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.sql.dml import Insert

from ..models import daily_items, daily_pages, daily_segments, daily_totals, events, period_pages
from .counts import COLUMNS
from .periods import PERIODS, period_start

TYPES = {column: kind for kind, column in COLUMNS.items()}  # a counter -> its event type
EVERY_TYPE = tuple(COLUMNS.values())


@dataclass(frozen=True, eq=False)
class Grouping:
    """Events grouped by ``keys`` (column name, expression over events), those ``where``."""

    keys: tuple[tuple[str, ColumnElement[Any]], ...]
    where: ColumnElement[bool] | None  # None: all of them


def by(*names: str, where: ColumnElement[bool] | None = None, **expressions: Any) -> Grouping:
    """Group by the events' columns ``names``, then by ``expressions`` (a string: that value)."""
    keys: list[tuple[str, ColumnElement[Any]]] = [(name, events.c[name]) for name in names]
    for name, value in expressions.items():
        keys.append((name, literal(value) if isinstance(value, str) else value))
    return Grouping(tuple(keys), where)


@dataclass(frozen=True, eq=False)
class Target:
    """A rollup table: how its rows group events, and what they count."""

    table: Table
    groupings: tuple[Grouping, ...]
    counters: tuple[str, ...] = EVERY_TYPE
    visitors: tuple[str, ...] = ()  # the key columns of its visitors' scope; () if none
    periods: bool = False  # rows per period of PERIODS: days, start, first_day, last_day

    @property
    def key_columns(self) -> list[str]:
        """The columns of its unique key."""
        names = [name for name, _ in self.groupings[0].keys]
        return [names[0], "days", "start", *names[2:]] if self.periods else names

    def adding(self, statement: Any) -> Insert:
        """Return ``statement``, an INSERT into the table (upserts.insert), made to add its
        rows' counts to those of the rows already there."""
        table = self.table
        new = statement.excluded
        changes: dict[str, Any] = {name: table.c[name] + new[name] for name in self.added}
        if self.periods:
            first, last = table.c.first_day, table.c.last_day
            changes["first_day"] = case((new.first_day < first, new.first_day), else_=first)
            changes["last_day"] = case((new.last_day > last, new.last_day), else_=last)
        upsert: Insert = statement.on_conflict_do_update(
            index_elements=self.key_columns, set_=changes
        )
        return upsert

    @property
    def added(self) -> list[str]:
        """The columns that add up: its counters, and its visitors if it counts them."""
        return [*self.counters, *(["visitors"] if self.visitors else [])]

    def sums(
        self, grouping: Grouping, where: ColumnElement[bool], *, distinct_visitors: bool
    ) -> Select[Any]:
        """Return the keys and counts of the events ``where`` grouped by ``grouping``;
        with ``distinct_visitors``, and their distinct visitors."""
        counts = [
            func.sum(case((events.c.type == TYPES[name], 1), else_=0)).label(name)
            for name in self.counters
        ]
        if distinct_visitors and self.visitors:
            counts.append(func.count(distinct(events.c.visitor)).label("visitors"))
        keys = [key for _, key in grouping.keys if not isinstance(key, BindParameter)]
        return (
            select(*(expression.label(name) for name, expression in grouping.keys), *counts)
            .where(where, *([] if grouping.where is None else [grouping.where]))
            .group_by(*keys)
        )

    def period_rows(self, rows: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Return the rows of daily ``rows`` summed per period, with their first and last day."""
        found: dict[tuple[Any, ...], dict[str, Any]] = {}
        added = self.added
        for row in rows:
            for days in PERIODS:
                start = period_start(row["day"], days)
                key = (row["comparison_id"], days, start, row["origin"], row["path"])
                into = found.get(key)
                if into is None:
                    found[key] = {
                        **{k: row[k] for k in ("comparison_id", "origin", "path", *added)},
                        **{"days": days, "start": start},
                        **{"first_day": row["day"], "last_day": row["day"]},
                    }
                else:
                    for name in added:
                        into[name] += row[name]
                    into["first_day"] = min(into["first_day"], row["day"])
                    into["last_day"] = max(into["last_day"], row["day"])
        return iter(found.values())


DAY = ("comparison_id", "day")
PAGE = by(*DAY, "origin", "path")
COMPARISON_VISITORS = DAY
PAGE_VISITORS = (*DAY, "origin", "path")
VISITOR_KEY = ("visitor", "comparison_id", "day", "scope")  # a counted_visitors row
NO_REFERRER: ColumnElement[str] = literal_column(
    "''"
)  # not a parameter: GROUP BY must repeat it exactly
SEPARATOR = "\x1f"  # between a page's origin and path in its scope


def visitor_scope(origin: str, path: str) -> str:
    """Return a host page's scope among those its visitors are counted in
    (``counted_visitors.scope``): the MD5 of its origin and path, which PostgreSQL
    computes as well (VISITOR_SCOPE). Not a secret; it only keeps the key short."""
    return hashlib.md5(f"{origin}{SEPARATOR}{path}".encode(), usedforsecurity=False).hexdigest()


VISITOR_SCOPE = func.md5(events.c.origin.concat(SEPARATOR).concat(events.c.path))
HAS_DEVICE, HAS_BROWSER = events.c.device.is_not(None), events.c.browser.is_not(None)

TARGETS = (
    Target(daily_totals, (by(*DAY),), visitors=COMPARISON_VISITORS),
    Target(daily_pages, (PAGE,), visitors=PAGE_VISITORS),
    # A period's visitors are the sum of its days' (a reader of two days counts twice).
    Target(period_pages, (PAGE,), visitors=PAGE_VISITORS, periods=True),
    Target(
        daily_items,
        (by(*DAY, "item_key", where=events.c.item_key.is_not(None)),),
        ("votes", "clicks"),
    ),
    Target(
        daily_segments,
        (
            by(
                *PAGE_VISITORS,
                kind="source",
                value=func.coalesce(events.c.referrer, literal_column("''")),
            ),
            by(*PAGE_VISITORS, kind="device", value=events.c.device, where=HAS_DEVICE),
            by(*PAGE_VISITORS, kind="browser", value=events.c.browser, where=HAS_BROWSER),
        ),
    ),
)
