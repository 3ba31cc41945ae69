"""Core statements compiled once per database driver and run on the driver's own cursor.

For the vote, the busiest write: SQLAlchemy's work around each statement (its execution
context, result objects) cost more CPU than SQLite spent running it. The SQL is still
written once, in Core, and compiled by SQLAlchemy for each dialect; values go through
the columns' own bind processors, and a driver's error is raised as SQLAlchemy's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, NamedTuple

from sqlalchemy import Connection, text
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
        return self.send(sql, **params).done()

    def send(self, sql: Connection, **params: Any) -> Sent:
        """Send the statement on ``sql``'s driver connection, inside its transaction; its
        result is read by ``done()``. Inside ``pipelined_transaction(sql)`` nothing waits for
        the database before a result is read, so statements sent in a row take one round trip."""
        if not sql.in_transaction():  # the driver would begin one SQLAlchemy never commits
            raise RuntimeError("Prepared statements run inside a transaction: begin one first.")
        compiled = self._for(sql.dialect)
        values = {
            name: process(params[name]) if process else params[name]
            for name, process in compiled.processors.items()
        }
        bound = tuple(values[name] for name in compiled.order) if compiled.order else values
        sent = Sent(sql, compiled.text, bound)
        with sent.raised_as_sqlalchemy():
            sent.cursor.execute(compiled.text, bound)
        return sent

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


class Sent:
    """A statement sent on a driver cursor, whose result is read once."""

    def __init__(self, sql: Connection, text: str, bound: Any) -> None:
        self.dialect = sql.dialect
        self.text, self.bound = text, bound
        self.cursor = sql.connection.cursor()

    def done(self) -> Done:
        """Return the statement's rows and row count, waiting for them if need be."""
        with self.raised_as_sqlalchemy():
            try:
                try:  # in a pipeline, fetching is what waits for the result
                    rows = list(self.cursor.fetchall())
                except self.dialect.loaded_dbapi.ProgrammingError:
                    if self.cursor.description is not None:
                        raise
                    rows = []  # psycopg's answer to fetching from a statement without rows
                return Done(rows, self.cursor.rowcount)
            finally:
                self.cursor.close()

    @contextmanager
    def raised_as_sqlalchemy(self) -> Iterator[None]:
        """Close the cursor on any error; raise a driver's error as SQLAlchemy's."""
        error_class = self.dialect.loaded_dbapi.Error
        try:
            yield
        except BaseException as error:
            self.cursor.close()
            if isinstance(error, error_class):
                raise DBAPIError.instance(
                    self.text, self.bound, error, error_class, dialect=self.dialect
                ) from error
            raise


@contextmanager
def pipelined_transaction(sql: Connection) -> Iterator[None]:
    """On PostgreSQL, run the block's statements in a transaction of their own, sent with
    its BEGIN and COMMIT in psycopg's pipeline mode: nothing waits for the database until
    a result is read (``done()``), so the block takes one round trip, and one more each
    time it reads a result before the end. ``sql`` must be an AUTOCOMMIT connection, for
    psycopg would wait for a BEGIN of its own. Elsewhere each statement runs when sent, in
    the transaction ``sql`` has open.
    """
    if sql.dialect.name != "postgresql":
        yield
        return
    error_class = sql.dialect.loaded_dbapi.Error
    driver: Any = sql.connection.driver_connection
    try:
        with driver.pipeline():
            _BEGIN.send(sql)
            yield
            _COMMIT.send(sql)
    except BaseException as error:
        from psycopg.pq import TransactionStatus

        if driver.pgconn.transaction_status != TransactionStatus.IDLE:
            # A statement failed and the COMMIT was not run. If the connection is gone
            # the ROLLBACK fails too: the error that matters is the first one.
            with suppress(Exception):
                driver.execute("ROLLBACK")
        if isinstance(error, error_class):  # a statement whose result was not read failed
            raise DBAPIError.instance(
                "(pipelined statements)", None, error, error_class, dialect=sql.dialect
            ) from error
        raise


_BEGIN = Prepared(text("BEGIN"))
_COMMIT = Prepared(text("COMMIT"))
