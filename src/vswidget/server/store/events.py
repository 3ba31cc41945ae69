"""Raw analytics events, as widgets send them."""

from __future__ import annotations

import json
from datetime import date
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

# What a widget's event fills: every column but the id and the time it is stored.
FILLED = tuple(name for name in events.c.keys() if name not in {"id", "created_at"})


def add_events(batch: list[dict[str, Any]]) -> None:
    """Store raw analytics events."""
    db.write(lambda sql: sql.execute(insert(events), batch))


def insert_events(sql: Connection, rows: list[dict[str, Any]]) -> None:
    """Store event rows in the transaction of ``sql``, each filling FILLED (a column it
    leaves out is NULL), all stored at the same ``created_at``.

    On PostgreSQL one statement takes every row in one JSON parameter, and is sent without
    waiting for it: inside ``pipelined_transaction`` it goes with the transaction's COMMIT.
    (psycopg ran an INSERT of many rows as one statement per row; a COPY, which a
    pipeline cannot send, and arrays, which psycopg writes out in Python, cost a worker
    more CPU than the rest of a flush; the json module writes in C.)
    """
    if not rows:
        return
    stored_at = utcnow()
    if sql.dialect.name == "postgresql":
        _INSERT_JSON.send(sql, rows=json.dumps(rows, default=date.isoformat), created_at=stored_at)
    else:
        sql.execute(insert(events), [{**row, "created_at": stored_at} for row in rows])


def _insert_json_sql() -> str:
    """The INSERT of event rows given as one JSON array of objects."""
    # VARCHAR without a length: a value too long is refused by the INSERT, not cut short.
    types = {
        n: "VARCHAR" if isinstance(events.c[n].type, String) else events.c[n].type for n in FILLED
    }
    fields = ", ".join(f"{name} {types[name]}" for name in FILLED)
    names = ", ".join(FILLED)
    return (
        f"INSERT INTO {events.name} ({names}, created_at)"
        f" SELECT {names}, :created_at FROM json_to_recordset(CAST(:rows AS JSON)) AS ({fields})"
    )


_INSERT_JSON = Prepared(
    text(_insert_json_sql()).bindparams(
        bindparam("rows", type_=Text), bindparam("created_at", type_=events.c.created_at.type)
    )
)
