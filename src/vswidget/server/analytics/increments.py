"""Incremental rollups: the events stored since the last step, added to the rollup tables.

A cursor (``rollup_cursor``) holds the last event id counted. A step adds what the events
after it bring to each target (targets.py) and records which of their visitors are new
(``counted_visitors``), in one write transaction that moves the cursor too, with
INSERT ... ON CONFLICT DO UPDATE. The cursor moves with the counts, so a crash counts an
event once or not yet, never twice; a step that finds the cursor moved by another
process writes nothing.

On SQLite a step's write transaction holds the database's one write lock, which a vote
waits for. So a step sums its events with the database's GROUP BYs and finds its new
visitors before it begins, makes the driver's parameters of its rows (prepared.py), and
only writes them in it. On PostgreSQL a vote locks only its own rows, so the database
does all of a step in its transaction, where the events are (summed_in_place.py).

A step's write transaction is bounded by time, not by a fixed count: on SQLite a step
should write for about WRITE_SECONDS["sqlite"] at most; on PostgreSQL steps may be
longer. The next step takes as many events as the last one's write time says fit in
that time (at most twice as many): a loaded machine takes smaller steps.

Only committed ids are read. On SQLite writes take turns, so every id up to the largest
committed one is committed. On PostgreSQL a sequence id may commit after a larger one,
so the newest id is read under a SHARE lock on ``events``, granted once no inserting
transaction is under way (waited for at most LOCK_TIMEOUT; else not this round).
"""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Connection,
    Dialect,
    Engine,
    Table,
    and_,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.dml import Insert

from .. import upserts
from ..extensions import cache, db
from ..models import counted_visitors, events, rollup_cursor
from . import summed_in_place
from .prepared import Prepared
from .targets import PAGE_VISITORS, TARGETS, VISITOR_KEY, Target, visitor_scope

ROLLED_UP = "analytics:rolled-up"  # cache key: when the rollups last changed
WRITE_SECONDS = {"sqlite": 0.03, "postgresql": 2.0}  # about how long a step writes
FIRST_EVENTS = {"sqlite": 500, "postgresql": 50_000}  # a round's first step, before any timing
MOST_EVENTS = 200_000  # events a step reads at most
LOOKUP = 10_000  # visitors looked up a statement at a time (SQLite takes 32,766 values)
LOCK_TIMEOUT = "50ms"  # what PostgreSQL's inserts may wait behind the SHARE lock


def newest_committed(engine: Engine) -> int | None:
    """Return the largest event id below which every event is committed (or rolled back),
    or None if inserts kept PostgreSQL's SHARE lock from being granted in time."""
    with engine.connect() as sql:
        if sql.dialect.name != "postgresql":
            return int(sql.scalar(select(func.max(events.c.id))) or 0)
        try:
            with sql.begin():
                sql.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                sql.exec_driver_sql("LOCK TABLE events IN SHARE MODE")
                return int(sql.scalar(select(func.max(events.c.id))) or 0)
        except OperationalError:
            return None


def cursor(sql: Connection) -> int:
    """Return the last event id counted in the rollups (0 before any)."""
    return int(sql.scalar(select(rollup_cursor.c.event_id)) or 0)


def hold_cursor(sql: Connection) -> int:
    """Return the cursor, locked until the end of ``sql``'s write transaction."""
    sql.execute(
        upserts.insert(sql.dialect.name, rollup_cursor)
        .values(id=1, event_id=0)
        .on_conflict_do_nothing()
    )
    return int(sql.execute(select(rollup_cursor.c.event_id).with_for_update()).scalar_one())


def move_cursor(sql: Connection, event_id: int) -> None:
    """Set the cursor to ``event_id`` (in a write transaction that holds it)."""
    sql.execute(update(rollup_cursor).values(event_id=event_id))


def roll_up_recent(seconds: float = float("inf")) -> int:
    """Count the events stored since the last step, a step at a time, for at most about
    ``seconds``; return how many were counted."""
    newest = newest_committed(db.engine)
    if newest is None:
        return 0
    deadline = time.monotonic() + seconds
    engine = db.engine.dialect.name
    budget = WRITE_SECONDS[engine]
    counted, start, span = 0, cursor(db.connection), FIRST_EVENTS[engine]
    while start < newest and time.monotonic() < deadline:
        step = plan(start, min(newest, start + min(span, MOST_EVENTS)))
        took = apply(step)
        if took is None:
            break  # another process moved the cursor: it is catching up
        counted, start = counted + step.events, step.end
        span = next_span(step.end - step.start, took, budget)
    return counted


def next_span(span: int, took: float, budget: float) -> int:
    """Return how many event ids the next step takes, after one of ``span`` whose write
    took ``took`` seconds: as many as fit in ``budget`` at that pace, at most twice as many."""
    return max(1, min(2 * span, int(span * budget / max(took, 1e-6))))


class Step(Protocol):
    """What the events with ids in (start, end] add to the rollups."""

    start: int
    end: int
    events: int  # how many (for an in-place step, once written)

    def write(self, sql: Connection) -> None:
        """Write it in ``sql``'s write transaction, which holds the cursor at ``start``."""


def apply(step: Step) -> float | None:
    """Write ``step`` and move the cursor, in one write transaction; return how many seconds
    it wrote, or None, writing nothing, if the cursor is no longer at its start."""
    with db.writing() as sql:
        began = time.perf_counter()
        if hold_cursor(sql) != step.start:
            return None
        move_cursor(sql, step.end)
        step.write(sql)
    took = time.perf_counter() - began  # with the COMMIT: the write lock is held till then
    if sql.dialect.name == "sqlite":
        # Copy the pages it added to the WAL into the database now, without the write
        # lock, lest the COMMIT of a vote that finds the WAL full has to (SQLite's
        # automatic checkpoint).
        sql.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
    if step.events:
        cache.set(ROLLED_UP, time.time(), timeout=0)  # a new generation: cached reads go stale
    return took


@dataclass
class Planned:
    """A step whose rows were made before its write transaction (SQLite)."""

    start: int
    end: int
    events: int
    writes: list[tuple[Prepared, Any]]  # statements, each with its rows' parameters

    def write(self, sql: Connection) -> None:
        for statement, parameters in self.writes:
            statement.run(sql, parameters)


INSERT_VISITORS = insert(counted_visitors)


def plan(start: int, end: int) -> Step:
    """Return the step that counts the events with ids in (start, end]. Reads only."""
    read = db.connection
    dialect = read.dialect
    if dialect.name == "postgresql":
        return summed_in_place.Step(start, end)
    in_step = and_(events.c.id > start, events.c.id <= end)
    counted = int(read.scalar(select(func.count()).where(in_step)) or 0)
    seen = read.execute(select(*PAGE_VISITOR).where(in_step).distinct())
    visitors, new = _new_visitors(read, {tuple(row) for row in seen})
    writes = []
    if visitors:
        writes.append(_prepare(dialect, counted_visitors, INSERT_VISITORS, visitors))
    for target in TARGETS:
        rows = _rows(read, target, in_step, new)
        if rows:
            statement = _upsert(dialect.name, target)
            writes.append(_prepare(dialect, target.table, statement, rows))
    return Planned(start, end, counted, writes)


def _prepare(
    dialect: Dialect, table: Table, statement: Insert, rows: Sequence[Any]
) -> tuple[Prepared, Any]:
    """Return ``statement`` compiled for ``rows`` (dicts, or tuples in VISITOR_KEY order),
    with their parameters."""
    dicts = [
        row if isinstance(row, dict) else dict(zip(VISITOR_KEY, row, strict=True)) for row in rows
    ]
    prepared = _prepared(dialect, table, statement, tuple(dicts[0]))
    return prepared, prepared.parameters(dicts)


@functools.cache
def _prepared(
    dialect: Dialect, table: Table, statement: Insert, names: tuple[str, ...]
) -> Prepared:
    return Prepared.of(statement, table, names, dialect)


@functools.cache
def _upsert(dialect: str, target: Target) -> Insert:
    """INSERT rows into ``target``'s table, or add their counts to the rows there."""
    return target.adding(upserts.insert(dialect, target.table))


# An event's visitor and page: (visitor, comparison_id, day, origin, path).
PAGE_VISITOR = (events.c.visitor, *(events.c[name] for name in PAGE_VISITORS))


def _new_visitors(
    read: Connection, seen: set[tuple[Any, ...]]
) -> tuple[list[tuple[Any, ...]], Counter[tuple[Any, ...]]]:
    """Return the counted_visitors rows of the (visitor, comparison_id, day, origin, path)
    ``seen`` not counted yet, and how many new visitors each scope has: (comparison_id,
    day) and (comparison_id, day, origin, path) for a page.

    Read outside the write transaction: only a step that holds the cursor where this one
    found it adds rows of events after it.
    """
    table = counted_visitors
    asked = sorted({visitor for visitor, *_ in seen})
    counted_pages: set[tuple[Any, ...]] = set()
    for first in range(0, len(asked), LOOKUP):
        counted_pages.update(
            map(
                tuple,
                read.execute(
                    select(*(table.c[name] for name in VISITOR_KEY)).where(
                        table.c.visitor.in_(asked[first : first + LOOKUP])
                    )
                ),
            )
        )
    counted = {row[:3] for row in counted_pages}
    rows, new = [], Counter[tuple[Any, ...]]()
    for visitor, comparison_id, day, origin, path in seen:
        scope = visitor_scope(origin, path)
        if (visitor, comparison_id, day, scope) not in counted_pages:
            rows.append((visitor, comparison_id, day, scope))
            new[(comparison_id, day, origin, path)] += 1
        if (visitor, comparison_id, day) not in counted:
            counted.add((visitor, comparison_id, day))
            new[(comparison_id, day)] += 1
    return rows, new


def _rows(
    read: Connection,
    target: Target,
    in_step: ColumnElement[bool],
    new: Counter[tuple[Any, ...]],
) -> list[dict[str, Any]]:
    """Return what the events ``in_step`` add to ``target``'s rows, a dict per row, summed
    by the database (its GROUP BYs, as a recompute's)."""
    rows = []
    for grouping in target.groupings:
        for row in read.execute(target.sums(grouping, in_step, distinct_visitors=False)):
            values = dict(row._mapping)
            if target.visitors:
                values["visitors"] = new[tuple(values[name] for name in target.visitors)]
            rows.append(values)
    return list(target.period_rows(rows)) if target.periods else rows
