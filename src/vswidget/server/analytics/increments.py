"""Incremental rollups: the events stored since the last step, added to the rollup tables.

A cursor (``rollup_cursor``) holds the last event id counted. A step reads the events
after it, at most STEP_EVENTS ids, outside any write transaction; sums them in Python
per row of each target (targets.py); then, in one short write transaction, moves the
cursor, records which visitors are new (``counted_visitors``) and adds the deltas with
INSERT ... ON CONFLICT DO UPDATE. The cursor moves with the counts, so a crash counts an
event once or not yet, never twice; a step that finds the cursor moved by another
process writes nothing.

Only committed ids are read. On SQLite writes take turns, so every id up to the largest
committed one is committed. On PostgreSQL a sequence id may commit after a larger one,
so the newest id is read under a SHARE lock on ``events``, granted once no inserting
transaction is under way (waited for at most LOCK_TIMEOUT; else not this round).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, Engine, case, func, select, update
from sqlalchemy.exc import OperationalError

from .. import upserts
from ..extensions import cache, db
from ..models import counted_visitors, events, rollup_cursor
from .targets import Deltas, Target, VisitorKey, deltas_of, visitor_keys

ROLLED_UP = "analytics:rolled-up"  # cache key: when the rollups last changed
STEP_EVENTS = 2000  # event ids a step reads: its write transaction stays short
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
    counted, start = 0, cursor(db.connection)
    while start < newest and time.monotonic() < deadline:
        end = min(newest, start + STEP_EVENTS)
        found = step(start, end)
        if found is None:
            break  # another process moved the cursor: it is catching up
        counted, start = counted + found, end
    return counted


def step(start: int, end: int) -> int | None:
    """Count the events with ids in (start, end] and move the cursor from ``start`` to
    ``end``; return how many, or None if the cursor was not at ``start``."""
    batch = db.connection.execute(
        select(events).where(events.c.id > start, events.c.id <= end)
    ).all()
    deltas = deltas_of(batch)
    with db.writing() as sql:
        if hold_cursor(sql) != start:
            return None
        move_cursor(sql, end)
        new = _new_visitors(sql, visitor_keys(deltas))
        _add(sql, deltas, new)
    if batch:
        cache.set(ROLLED_UP, time.time(), timeout=0)  # a new generation: cached reads go stale
    return len(batch)


def _new_visitors(sql: Connection, keys: set[VisitorKey]) -> set[VisitorKey]:
    """Record ``keys`` as counted; return those that were not yet."""
    if not keys:
        return set()
    table = counted_visitors
    statement = (
        upserts.insert(sql.dialect.name, table)
        .on_conflict_do_nothing()
        .returning(table.c.comparison_id, table.c.day, table.c.scope, table.c.visitor)
    )
    rows = [
        {"comparison_id": c, "day": day, "scope": scope, "visitor": visitor}
        for c, day, scope, visitor in keys
    ]
    return {(c, day, scope, visitor) for c, day, scope, visitor in sql.execute(statement, rows)}


def _add(sql: Connection, deltas: Deltas, new: set[VisitorKey]) -> None:
    """Add each target's deltas to its rows, creating the rows it lacks."""
    for target, rows in deltas.items():
        if rows:
            values = [
                {
                    **dict(zip(target.key_columns, key, strict=True)),
                    **{name: delta.counts.get(name, 0) for name in target.counters},
                    **({"visitors": len(delta.visitors & new)} if target.visitors else {}),
                    **(
                        {"first_day": delta.first_day, "last_day": delta.last_day}
                        if target.spans
                        else {}
                    ),
                }
                for key, delta in rows.items()
            ]
            sql.execute(_upsert(sql.dialect.name, target), values)


def _upsert(dialect: str, target: Target) -> Any:
    """INSERT a row of ``target``, or add its counts to the row already there."""
    table = target.table
    statement = upserts.insert(dialect, table)
    new = statement.excluded
    added = [*target.counters, *(["visitors"] if target.visitors else [])]
    changes: dict[str, Any] = {name: table.c[name] + new[name] for name in added}
    if target.spans:
        first, last = table.c.first_day, table.c.last_day
        changes["first_day"] = case((new.first_day < first, new.first_day), else_=first)
        changes["last_day"] = case((new.last_day > last, new.last_day), else_=last)
    return statement.on_conflict_do_update(index_elements=list(target.key_columns), set_=changes)
