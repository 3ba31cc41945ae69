"""A rollup step that PostgreSQL sums where the events are (increments.py's, on PostgreSQL).

On PostgreSQL a step's write transaction holds no lock a vote or an insert waits for:
only the cursor's row and the rollup rows it adds to, which nothing else writes. So the
whole step runs in it, in the database, and no event crosses to Python:

1. one statement finds the step's (visitor, page) pairs not counted yet (the scope of a
   page being VISITOR_SCOPE), records them in ``counted_visitors``, and returns how many
   new visitors each page and each comparison has on each day: a few rows per page;
2. one statement a grouping of each target (targets.py) adds its GROUP BY sums, joined
   with those counts, to the rows there (INSERT ... SELECT ... ON CONFLICT DO UPDATE);
   ``period_pages`` sums the same per page and day rows per period of PERIODS.

Its sums are the recompute's (the targets' ``sums``), so both count alike; the property
test in tests/test_rollups.py holds them to it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    Integer,
    Select,
    and_,
    bindparam,
    column,
    distinct,
    exists,
    func,
    literal,
    null,
    select,
    true,
    union_all,
    values,
)
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.selectable import CompoundSelect

from .. import upserts
from ..models import counted_visitors, daily_totals, events
from .periods import FIRST_DAY, PERIODS
from .targets import PAGE_VISITORS, TARGETS, VISITOR_KEY, VISITOR_SCOPE, Grouping, Target

IN_STEP = and_(events.c.id > bindparam("start"), events.c.id <= bindparam("end"))


@dataclass
class Step:
    """What the events with ids in (start, end] add to the rollups, summed in place."""

    start: int
    end: int
    events: int = 0  # how many, once written

    def write(self, sql: Connection) -> None:
        """Count the step's events into the rollups, in ``sql``'s write transaction (which
        holds the cursor at ``start``)."""
        bounds = {"start": self.start, "end": self.end}
        self.events = int(sql.scalar(select(func.count()).where(IN_STEP), bounds) or 0)
        new = sql.execute(NEW_VISITORS, bounds).all()
        pages = [row for row in new if row.origin is not None]
        days = [row for row in new if row.origin is None]
        arrays = {
            **_columns("page", pages, PAGE_VISITORS),
            **_columns("day", days, PAGE_VISITORS[:2]),
        }
        for target in TARGETS:
            for grouping in target.groupings:
                sql.execute(_adding(target, grouping), {**bounds, **arrays})


def _columns(prefix: str, rows: list[Any], names: tuple[str, ...]) -> dict[str, list[Any]]:
    """Return the arrays bound as ``prefix``_``name``: the rows' new visitors and keys."""
    arrays = {f"{prefix}_visitors": [row.visitors for row in rows]}
    arrays.update({f"{prefix}_{name}": [getattr(row, name) for row in rows] for name in names})
    return arrays


def _new_visitors() -> CompoundSelect[Any]:
    """The statement that counts the step's new visitors and records them: rows of
    (comparison_id, day, origin, path, visitors), origin and path NULL for a whole day."""
    counted = counted_visitors.c
    seen = (
        select(*(events.c[n] for n in ("visitor", *PAGE_VISITORS)), VISITOR_SCOPE.label("scope"))
        .where(IN_STEP)
        .distinct()
        .cte("seen")
    )
    fresh = (
        select(seen)
        .where(~exists().where(*(counted[name] == seen.c[name] for name in VISITOR_KEY)))
        .cte("fresh")
    )
    record = counted_visitors.insert().from_select(
        VISITOR_KEY, select(*(fresh.c[name] for name in VISITOR_KEY))
    )
    keys = [fresh.c[name] for name in PAGE_VISITORS]
    per_page = select(*keys, func.count().label("visitors")).group_by(*keys)
    # Seen on no page of the comparison that day before this step: the snapshot of one
    # statement does not show the rows its own INSERT adds.
    unseen_that_day = ~exists().where(
        *(counted[name] == fresh.c[name] for name in ("visitor", "comparison_id", "day"))
    )
    per_day = (
        select(
            *keys[:2],
            null().label("origin"),
            null().label("path"),
            func.count(distinct(fresh.c.visitor)).label("visitors"),
        )
        .where(unseen_that_day)
        .group_by(*keys[:2])
    )
    statement: CompoundSelect[Any] = union_all(per_page, per_day).add_cte(record.cte("record"))
    return statement


NEW_VISITORS = _new_visitors()


@functools.cache
def _adding(target: Target, grouping: Grouping) -> Insert:
    """INSERT the step's sums of ``grouping`` into ``target``'s table, or add them."""
    sums = target.sums(grouping, IN_STEP, distinct_visitors=False).subquery()
    names = list(sums.c.keys())
    rows: Select[Any] = select(sums)
    if target.visitors:
        prefix = "day" if len(target.visitors) == 2 else "page"
        new = _bound(prefix, target.visitors)
        joined = sums.outerjoin(new, and_(*(sums.c[n] == new.c[n] for n in target.visitors)))
        rows = select(sums, func.coalesce(new.c.visitors, 0).label("visitors")).select_from(joined)
        names.append("visitors")
    if target.periods:
        rows, names = _per_period(rows.subquery(), target)
    return target.adding(upserts.insert("postgresql", target.table).from_select(names, rows))


def _bound(prefix: str, names: tuple[str, ...]) -> Any:
    """The rows of the arrays ``_columns`` binds for ``prefix``, an element of each a row."""
    columns = [*(events.c[name] for name in names), daily_totals.c.visitors]
    return select(
        *(
            func.unnest(bindparam(f"{prefix}_{c.name}", type_=ARRAY(c.type))).label(c.name)
            for c in columns
        )
    ).subquery(f"new_{prefix}")


def _per_period(daily: Any, target: Target) -> tuple[Select[Any], list[str]]:
    """Return the rows per period of PERIODS of ``daily`` rows (per page and day), and their
    column names."""
    periods = values(column("days", Integer), name="periods").data([(days,) for days in PERIODS])
    start: ColumnElement[date] = daily.c.day - ((daily.c.day - literal(FIRST_DAY)) % periods.c.days)
    keys = [daily.c.comparison_id, periods.c.days, start, daily.c.origin, daily.c.path]
    added = target.added
    rows = select(
        *keys[:2],
        start.label("start"),
        *keys[3:],
        func.min(daily.c.day).label("first_day"),
        func.max(daily.c.day).label("last_day"),
        *(func.sum(daily.c[name]).label(name) for name in added),
    ).select_from(daily.join(periods, true()))  # every row in every period length
    rows = rows.group_by(*keys)
    return rows, [*target.key_columns, "first_day", "last_day", *added]
