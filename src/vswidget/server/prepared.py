"""Core statements compiled once per database driver and run on the driver's own cursor.

For the vote, the busiest write: SQLAlchemy's work around each statement (its execution
context, result objects) cost more CPU than SQLite spent running it. The SQL is still
written once, in Core, and compiled by SQLAlchemy for each dialect; values go through
the columns' own bind processors, and a driver's error is raised as SQLAlchemy's.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import ClauseElement


class Done(NamedTuple):
    """What a statement gave: its rows (a SELECT's, or RETURNING's) and its row count."""

    rows: list[tuple[Any, ...]]
    rowcount: int


class _Compiled(NamedTuple):
    text: str
    order: tuple[str, ...] | None  # parameter names in order, for a positional paramstyle
    processors: dict[str, Any]  # parameter name -> the bind processor of its type


class Prepared:
    """A Core statement with named bind parameters, run on a transaction's connection."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    def run(self, sql: Connection, **params: Any) -> Done:
        """Run the statement on ``sql``'s driver connection, inside its transaction."""
        if not sql.in_transaction():  # the driver would begin one SQLAlchemy never commits
            raise RuntimeError("Prepared statements run inside a transaction: begin one first.")
        compiled = self._for(sql.dialect)
        values = {
            name: process(params[name]) if process else params[name]
            for name, process in compiled.processors.items()
        }
        bound = tuple(values[name] for name in compiled.order) if compiled.order else values
        cursor = sql.connection.cursor()
        try:
            cursor.execute(compiled.text, bound)
            rows = list(cursor.fetchall()) if cursor.description else []
            return Done(rows, cursor.rowcount)
        except sql.dialect.loaded_dbapi.Error as error:
            raise DBAPIError.instance(
                compiled.text, bound, error, sql.dialect.loaded_dbapi.Error, dialect=sql.dialect
            ) from error
        finally:
            cursor.close()

    def _for(self, dialect: Dialect) -> _Compiled:
        key = (dialect.name, dialect.driver)
        if key not in self._compiled:
            compiled: Any = self.statement.compile(dialect=dialect)  # an SQLCompiler
            processors = {
                name: bind.type.bind_processor(dialect) for name, bind in compiled.binds.items()
            }
            order = tuple(compiled.positiontup) if compiled.positiontup else None
            self._compiled[key] = _Compiled(compiled.string, order, processors)
        return self._compiled[key]
