"""Raw analytics events, as widgets send them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert
from sqlalchemy.exc import DBAPIError

from ..extensions import db
from ..models import events, utcnow


def add_events(batch: list[dict[str, Any]]) -> None:
    """Store raw analytics events."""
    db.write(lambda sql: sql.execute(insert(events), batch))


def insert_events(sql: Connection, rows: list[dict[str, Any]]) -> None:
    """Store event rows in the transaction of ``sql``; each row names the columns it fills.

    On PostgreSQL with one COPY: psycopg runs an INSERT's many rows as one statement
    each, which cost a worker more CPU than counting a whole flush against the budgets.
    The rows of one COPY share their ``created_at``, the time they are stored.
    """
    if not rows:
        return
    if sql.dialect.name != "postgresql":
        sql.execute(insert(events), rows)
        return
    named = set().union(*rows)
    defaults = {"created_at": utcnow()}
    names = [name for name in events.c.keys() if name in named or name in defaults]
    processors = [events.c[name].type.bind_processor(sql.dialect) for name in names]
    quote = sql.dialect.identifier_preparer.quote
    statement = f"COPY {quote(events.name)} ({', '.join(map(quote, names))}) FROM STDIN"
    cursor = sql.connection.cursor()
    try:
        with cursor.copy(statement) as copy:
            for row in rows:
                values = [row.get(name, defaults.get(name)) for name in names]
                copy.write_row(
                    [
                        process(v) if process else v
                        for process, v in zip(processors, values, strict=True)
                    ]
                )
    except sql.dialect.loaded_dbapi.Error as error:
        raise DBAPIError.instance(
            statement, None, error, sql.dialect.loaded_dbapi.Error, dialect=sql.dialect
        ) from error
    finally:
        cursor.close()
