"""Incremental rollups: the events stored since the last step, added to the rollup tables.

A cursor (``rollup_cursor``) holds the last event id counted. A step sums the events
after it per row of each target (targets.py) and finds which of their visitors are new
(``counted_visitors``), all outside any write transaction; then, in one short write
transaction, it moves the cursor, records the new visitors and adds the sums with
INSERT ... ON CONFLICT DO UPDATE. The cursor moves with the counts, so a crash counts
an event once or not yet, never twice; a step that finds the cursor moved by another
process writes nothing.

A step's write transaction is bounded by time, not by a fixed count: on SQLite it holds
the database's one write lock, which a vote waits for, so a step should write for about
WRITE_SECONDS["sqlite"] at most; on PostgreSQL a vote locks only its own rows, so steps
may be longer. The next step takes as many events as the last one's write time says fit
in that time (at most twice as many): a loaded machine takes smaller steps.

A step reads its events once, only the columns its targets group by, sums them in
Python for every target at once, and makes the driver's parameters of its rows before
the write transaction (prepared.py); PostgreSQL takes a table's rows in one statement
over arrays, and the new visitors by COPY.

Only committed ids are read. On SQLite writes take turns, so every id up to the largest
committed one is committed. On PostgreSQL a sequence id may commit after a larger one,
so the newest id is read under a SHARE lock on ``events``, granted once no inserting
transaction is under way (waited for at most LOCK_TIMEOUT; else not this round).
"""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Dialect,
    Engine,
    Table,
    and_,
    case,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.dml import Insert

from .. import upserts
from ..event_budgets import page_key
from ..extensions import cache, db
from ..models import counted_visitors, events, rollup_cursor
from .counts import COLUMNS
from .prepared import Prepared, unnested
from .targets import PAGE_VISITORS, TARGETS, TYPES, Grouping, Target

ROLLED_UP = "analytics:rolled-up"  # cache key: when the rollups last changed
WRITE_SECONDS = {"sqlite": 0.03, "postgresql": 0.3}  # about how long a step writes
FIRST_EVENTS = 500  # events of a round's first step, before any write was timed
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
    budget = WRITE_SECONDS[db.engine.dialect.name]
    counted, start, span = 0, cursor(db.connection), FIRST_EVENTS
    while start < newest and time.monotonic() < deadline:
        step = plan(start, min(newest, start + min(span, MOST_EVENTS)))
        took = step.apply()
        if took is None:
            break  # another process moved the cursor: it is catching up
        counted, start = counted + step.events, step.end
        span = next_span(step.end - step.start, took, budget)
    return counted


def next_span(span: int, took: float, budget: float) -> int:
    """Return how many event ids the next step takes, after one of ``span`` whose write
    took ``took`` seconds: as many as fit in ``budget`` at that pace, at most twice as many."""
    return max(1, min(2 * span, int(span * budget / max(took, 1e-6))))


@dataclass
class Step:
    """What the events with ids in (start, end] add to the rollups."""

    start: int
    end: int
    events: int
    copied: list[tuple[Any, ...]]  # counted_visitors rows to COPY, in VISITOR_KEY order
    writes: list[tuple[Prepared, Any]]  # statements, each with its rows' parameters

    def apply(self) -> float | None:
        """Add the changes and move the cursor, in one write transaction; return how many
        seconds it wrote, or None, writing nothing, if the cursor is no longer at ``start``."""
        with db.writing() as sql:
            began = time.perf_counter()
            if hold_cursor(sql) != self.start:
                return None
            move_cursor(sql, self.end)
            _copy_visitors(sql, self.copied)
            for statement, parameters in self.writes:
                statement.run(sql, parameters)
        took = time.perf_counter() - began  # with the COMMIT: the write lock is held till then
        if sql.dialect.name == "sqlite":
            # Copy the pages it added to the WAL into the database now, without the write
            # lock, lest the COMMIT of a vote that finds the WAL full has to (SQLite's
            # automatic checkpoint).
            sql.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        if self.events:
            cache.set(ROLLED_UP, time.time(), timeout=0)  # a new generation: cached reads go stale
        return took


VISITOR_KEY = ("visitor", "comparison_id", "day", "scope")
INSERT_VISITORS = insert(counted_visitors)


def _copy_visitors(sql: Connection, rows: list[tuple[Any, ...]]) -> None:
    """COPY counted_visitors ``rows`` (PostgreSQL; known new: the cursor is held)."""
    if not rows:
        return
    copy = f"COPY counted_visitors ({', '.join(VISITOR_KEY)}) FROM STDIN"
    driver_connection: Any = sql.connection.driver_connection
    with driver_connection.cursor() as driver, driver.copy(copy) as into:
        for row in rows:
            into.write_row(row)


def plan(start: int, end: int) -> Step:
    """Return the step that counts the events with ids in (start, end]. Reads only."""
    read = db.connection
    dialect = read.dialect
    found = read.execute(
        select(*READ.columns).where(and_(events.c.id > start, events.c.id <= end))
    ).all()
    visitors, new = _new_visitors(read, {PAGE_VISITOR(row) for row in found})
    copied, writes = [], []
    if dialect.name == "postgresql":
        copied = visitors
    elif visitors:
        writes.append(_prepare(dialect, counted_visitors, INSERT_VISITORS, visitors))
    for target in TARGETS:
        rows = _rows(target, found, new)
        if rows:
            statement = _upsert(dialect.name, target, tuple(rows[0]))
            writes.append(_prepare(dialect, target.table, statement, rows))
    return Step(start, end, len(found), copied, writes)


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


@dataclass(frozen=True)
class Keyed:
    """How a grouping's rows are found in a read event: its key, whether it counts."""

    grouping: Grouping
    key: Callable[[Sequence[Any]], tuple[Any, ...]]  # the key columns that are not constants
    where: int | None  # the read column that says whether the event counts; None: all do


@dataclass(frozen=True)
class Reading:
    """The columns a step reads of each event, and where each grouping finds its keys."""

    columns: list[ColumnElement[Any]]  # type, visitor, then key expressions and conditions
    place: dict[int, int]  # id() of an expression -> its position in columns
    keyed: dict[Grouping, Keyed]


def _reading() -> Reading:
    columns: list[ColumnElement[Any]] = [events.c.type, events.c.visitor]
    place: dict[int, int] = {}  # id() of an expression -> its position in columns

    def at(expression: ColumnElement[Any]) -> int:
        if id(expression) not in place:
            place[id(expression)] = len(columns)
            columns.append(expression.label(f"c{len(columns)}"))
        return place[id(expression)]

    keyed = {}
    for target in TARGETS:
        for grouping in target.groupings:
            positions = [at(key) for _, key in grouping.keys if not isinstance(key, BindParameter)]
            where = None if grouping.where is None else at(grouping.where)
            keyed[grouping] = Keyed(grouping, _getter(positions), where)
    return Reading(columns, place, keyed)


def _getter(positions: list[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """Return what takes the values at ``positions`` of a row, as a tuple."""
    if len(positions) == 1:
        (position,) = positions
        return lambda row: (row[position],)
    return itemgetter(*positions)


READ = _reading()
# An event's visitor and page: (visitor, comparison_id, day, origin, path).
PAGE_VISITOR = _getter([1, *(READ.place[id(events.c[name])] for name in PAGE_VISITORS)])


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
        scope = page_key(origin, path)
        if (visitor, comparison_id, day, scope) not in counted_pages:
            rows.append((visitor, comparison_id, day, scope))
            new[(comparison_id, day, origin, path)] += 1
        if (visitor, comparison_id, day) not in counted:
            counted.add((visitor, comparison_id, day))
            new[(comparison_id, day)] += 1
    return rows, new


TYPE_AT = {kind: at for at, kind in enumerate(COLUMNS)}  # an event type -> its counter's place


def _rows(
    target: Target, found: Sequence[Any], new: Counter[tuple[Any, ...]]
) -> list[dict[str, Any]]:
    """Return what the events ``found`` (rows of READ.columns) add to ``target``'s rows,
    a dict per row."""
    rows = []
    for grouping in target.groupings:
        keyed = READ.keyed[grouping]
        sums: dict[tuple[Any, ...], list[int]] = {}
        for event in found:
            if keyed.where is not None and not event[keyed.where]:
                continue
            key = keyed.key(event)
            counts = sums.get(key)
            if counts is None:
                counts = sums[key] = [0] * len(COLUMNS)
            at = TYPE_AT.get(event[0])
            if at is not None:
                counts[at] += 1
        names = [name for name, _ in grouping.keys]
        constants = {
            name: key.value for name, key in grouping.keys if isinstance(key, BindParameter)
        }
        variables = [name for name in names if name not in constants]
        counters = [(name, TYPE_AT[TYPES[name]]) for name in target.counters]
        for key, counts in sums.items():
            values = dict(zip(variables, key, strict=True), **constants)
            values.update((name, counts[at]) for name, at in counters)
            if target.visitors:
                values["visitors"] = new[tuple(values[name] for name in target.visitors)]
            rows.append(values)
    return list(target.period_rows(rows)) if target.periods else rows


@functools.cache
def _upsert(dialect: str, target: Target, names: tuple[str, ...]) -> Insert:
    """INSERT rows of ``target``'s columns ``names`` (on PostgreSQL, of arrays), or add
    their counts to the rows already there."""
    table = target.table
    added = [*target.counters, *(["visitors"] if target.visitors else [])]
    statement = upserts.insert(dialect, table)
    if dialect == "postgresql":
        statement = statement.from_select(names, unnested(table, names))
    new = statement.excluded
    changes: dict[str, Any] = {name: table.c[name] + new[name] for name in added}
    if target.periods:
        first, last = table.c.first_day, table.c.last_day
        changes["first_day"] = case((new.first_day < first, new.first_day), else_=first)
        changes["last_day"] = case((new.last_day > last, new.last_day), else_=last)
    upsert: Insert = statement.on_conflict_do_update(
        index_elements=target.key_columns, set_=changes
    )
    return upsert
