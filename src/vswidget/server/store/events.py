"""Raw analytics events, as widgets send them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Integer, bindparam, func, insert, literal_column, select, text
from sqlalchemy.exc import DBAPIError

from ..extensions import db
from ..models import events, utcnow
from ..prepared import Prepared


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


def new_event_ids(sql: Connection, count: int) -> list[int]:
    """Return ``count`` ids for new events: none has them, nor will anyone else give them.

    On PostgreSQL from the events' sequence; on SQLite, which has one writer at a time
    (BEGIN IMMEDIATE), the ones after the highest, as SQLite would give them.
    """
    if not count:
        return []
    if sql.dialect.name == "postgresql":
        return [row[0] for row in _NEXT_IDS.run(sql, count=count).rows]
    ((highest,),) = _HIGHEST_ID.run(sql).rows
    return list(range(highest + 1, highest + 1 + count))


_NEXT_IDS = Prepared(
    text(
        f"SELECT nextval(pg_get_serial_sequence('{events.name}', 'id'))"
        " FROM generate_series(1, :count)"
    ).bindparams(bindparam("count", type_=Integer))
)
_HIGHEST_ID = Prepared(select(func.coalesce(func.max(events.c.id), literal_column("0"))))
