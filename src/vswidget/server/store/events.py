"""Raw analytics events, as widgets send them."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    Text,
    bindparam,
    insert,
    text,
)

from ..extensions import db
from ..models import events, utcnow
from ..prepared import Prepared

# What a widget's event fills: every column but the id and the time it is stored; those
# the events of one offer of a batch share (its comparison, page, referrer and day), and
# each event's own.
FILLED = tuple(name for name in events.c.keys() if name not in {"id", "created_at"})
SHARED = ("comparison_id", "origin", "path", "referrer", "day")
OWN = tuple(name for name in FILLED if name not in SHARED)


def add_events(batch: list[dict[str, Any]]) -> None:
    """Store raw analytics events."""
    db.write(lambda sql: sql.execute(insert(events), batch))


def insert_events(
    sql: Connection, groups: list[tuple[dict[str, Any], list[dict[str, Any]]]]
) -> None:
    """Store events in the transaction of ``sql``, given in groups of the columns they
    share (SHARED) and each event's own (OWN; a column left out is NULL), all stored at
    the same ``created_at``.

    On PostgreSQL one statement takes every group in one JSON parameter, each shared
    value written once. (psycopg ran an INSERT of many rows as one statement per row; a
    COPY, which a pipeline cannot send, and arrays, which psycopg writes out in Python,
    cost a worker more CPU than the rest of a flush; the json module writes in C.)
    """
    if not groups:
        return
    stored_at = utcnow()
    if sql.dialect.name == "postgresql":
        shared = [
            {**where, "day": where["day"].isoformat(), "events": own} for where, own in groups
        ]
        _INSERT_JSON.send(sql, groups=json.dumps(shared), created_at=stored_at)
    else:
        rows = [
            {**event, **where, "created_at": stored_at} for where, own in groups for event in own
        ]
        sql.execute(insert(events), rows)


def _insert_json_sql() -> str:
    """The INSERT of event groups given as one JSON array of objects, each with its
    SHARED values and its events (``events``: an array of objects of OWN values)."""

    def fields(names: tuple[str, ...]) -> str:
        # VARCHAR without a length: a value too long is refused by the INSERT, not cut short.
        return ", ".join(
            f"{n} {'VARCHAR' if isinstance(events.c[n].type, String) else events.c[n].type}"
            for n in names
        )

    columns = ", ".join(f"g.{n}" if n in SHARED else f"e.{n}" for n in FILLED)
    return (
        f"INSERT INTO {events.name} ({', '.join(FILLED)}, created_at)"
        f" SELECT {columns}, :created_at"
        f" FROM json_to_recordset(CAST(:groups AS JSON)) AS g({fields(SHARED)}, events JSON)"
        f" CROSS JOIN LATERAL json_to_recordset(g.events) AS e({fields(OWN)})"
    )


_INSERT_JSON = Prepared(
    text(_insert_json_sql()).bindparams(
        bindparam("groups", type_=Text), bindparam("created_at", type_=events.c.created_at.type)
    )
)
