"""Incremental rollups: the events stored since the last step, added to the rollup tables.

A cursor (``rollup_cursor``) holds the last event id counted. A step sums the events
after it per row of each target (targets.py) and finds which of their visitors are new
(``counted_visitors``), all outside any write transaction; then, in one short write
transaction, it moves the cursor, records the new visitors and adds the sums with
INSERT ... ON CONFLICT DO UPDATE. The cursor moves with the counts, so a crash counts
an event once or not yet, never twice; a step that finds the cursor moved by another
process writes nothing.

A step's write transaction is bounded by the rows it writes, not by its events: on SQLite
it holds the database's one write lock, which a vote waits for, so a step writes at most
STEP_ROWS["sqlite"] rows (fewer events if they fall into many rows). On PostgreSQL a
vote locks only its own rows, so steps may be longer, and fewer rows an event: events
of one page and day fall into the same rows.

Only committed ids are read. On SQLite writes take turns, so every id up to the largest
committed one is committed. On PostgreSQL a sequence id may commit after a larger one,
so the newest id is read under a SHARE lock on ``events``, granted once no inserting
transaction is under way (waited for at most LOCK_TIMEOUT; else not this round).
"""

from __future__ import annotations

import functools
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    case,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import OperationalError

from .. import upserts
from ..event_budgets import page_key
from ..extensions import cache, db
from ..models import counted_visitors, events, rollup_cursor
from .targets import TARGETS, Target

ROLLED_UP = "analytics:rolled-up"  # cache key: when the rollups last changed
STEP_EVENTS = 30_000  # event ids a step reads at most (fewer bound values than SQLite takes)
STEP_ROWS = {"sqlite": 800, "postgresql": 100_000}  # rows a step writes at most
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
    most = STEP_ROWS[db.engine.dialect.name]
    counted, start, span = 0, cursor(db.connection), min(STEP_EVENTS, most)
    while start < newest and time.monotonic() < deadline:
        planned = plan(start, min(newest, start + span), most)
        if not planned.apply():
            break  # another process moved the cursor: it is catching up
        counted, start = counted + planned.events, planned.end
        # As many events as would have made ``most`` rows (fewer rows an event as they grow).
        span = max(1, min(STEP_EVENTS, (planned.end - planned.start) * most // planned.rows))
    return counted


@dataclass
class Step:
    """What the events with ids in (start, end] add to the rollups."""

    start: int
    end: int
    events: int
    visitors: list[dict[str, Any]]  # counted_visitors rows to insert
    changes: list[tuple[Target, list[dict[str, Any]]]]  # what to add to each target's rows

    @property
    def rows(self) -> int:
        """The rows it writes (at least 1)."""
        return max(1, len(self.visitors) + sum(len(rows) for _, rows in self.changes))

    def apply(self) -> bool:
        """Add the changes and move the cursor, in one write transaction; False, writing
        nothing, if the cursor is no longer at ``start``."""
        with db.writing() as sql:
            if hold_cursor(sql) != self.start:
                return False
            move_cursor(sql, self.end)
            if self.visitors:
                sql.execute(insert(counted_visitors), self.visitors)
            for target, rows in self.changes:
                if rows:
                    sql.execute(_upsert(sql.dialect.name, target), rows)
        if self.events:
            cache.set(ROLLED_UP, time.time(), timeout=0)  # a new generation: cached reads go stale
        return True


def plan(start: int, end: int, most: int) -> Step:
    """Return the step that counts the events with ids in (start, end], or fewer of them if
    those would write more than ``most`` rows. Reads only."""
    while True:
        step = _step(start, end)
        if step.rows <= most or end - start == 1:
            return step
        end = start + max(1, (end - start) * most // step.rows)


def _step(start: int, end: int) -> Step:
    read = db.connection
    batch = and_(events.c.id > start, events.c.id <= end)
    counted = read.execute(select(func.count()).where(batch)).scalar_one()
    visitors, new = _new_visitors(read, batch)
    changes = [(target, _rows(read, target, batch, new)) for target in TARGETS]
    return Step(start, end, counted, visitors, changes)


VISITOR_KEY = ("visitor", "comparison_id", "day", "scope")


def _new_visitors(
    read: Connection, batch: ColumnElement[bool]
) -> tuple[list[dict[str, Any]], Counter[tuple[Any, ...]]]:
    """Return the counted_visitors rows of the ``batch`` of events not counted yet, and
    how many new visitors each scope has: (comparison_id, day) and (comparison_id, day,
    origin, path) for a page.

    Read outside the write transaction: only a step that holds the cursor where this one
    found it adds rows of events after it.
    """
    page = (events.c.comparison_id, events.c.day, events.c.origin, events.c.path)
    seen = read.execute(select(events.c.visitor, *page).where(batch).distinct()).all()
    table = counted_visitors
    known = read.execute(
        select(table.c.visitor, table.c.comparison_id, table.c.day, table.c.scope).where(
            table.c.visitor.in_({visitor for visitor, *_ in seen})
        )
    ).all()
    counted_pages = set(map(tuple, known))
    counted = {row[:3] for row in counted_pages}
    rows, new = [], Counter[tuple[Any, ...]]()
    for visitor, comparison_id, day, origin, path in seen:
        scope = page_key(origin, path)
        if (visitor, comparison_id, day, scope) not in counted_pages:
            rows.append(
                {"visitor": visitor, "comparison_id": comparison_id, "day": day, "scope": scope}
            )
            new[(comparison_id, day, origin, path)] += 1
        if (visitor, comparison_id, day) not in counted:
            counted.add((visitor, comparison_id, day))
            new[(comparison_id, day)] += 1
    return rows, new


def _rows(
    read: Connection, target: Target, batch: ColumnElement[bool], new: Counter[tuple[Any, ...]]
) -> list[dict[str, Any]]:
    """Return what the ``batch`` of events adds to ``target``'s rows, a dict per row."""
    found = []
    for grouping in target.groupings:
        for row in read.execute(target.sums(grouping, batch, distinct_visitors=False)).mappings():
            values = dict(row)
            if target.visitors:
                values["visitors"] = new[tuple(values[name] for name in target.visitors)]
            found.append(values)
    return list(target.period_rows(found)) if target.periods else found


@functools.cache
def _upsert(dialect: str, target: Target) -> Any:
    """INSERT a row of ``target``, or add its counts to the row already there."""
    table = target.table
    added = [*target.counters, *(["visitors"] if target.visitors else [])]
    statement = upserts.insert(dialect, table)
    new = statement.excluded
    changes: dict[str, Any] = {name: table.c[name] + new[name] for name in added}
    if target.periods:
        first, last = table.c.first_day, table.c.last_day
        changes["first_day"] = case((new.first_day < first, new.first_day), else_=first)
        changes["last_day"] = case((new.last_day > last, new.last_day), else_=last)
    return statement.on_conflict_do_update(index_elements=target.key_columns, set_=changes)
