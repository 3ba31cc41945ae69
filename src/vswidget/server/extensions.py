"""Extensions shared by the whole app, unbound until ``create_app`` calls ``init_app``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, TypeVar

from flask import Flask, current_app, g
from flask_caching import Cache
from flask_limiter import Limiter
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError

from ..errors import ConfigurationError
from .networks import reader_address
from .private_files import private_sqlite
from .redis_settings import REDIS_TIMEOUTS
from .sqlite_writers import WriterQueue

T = TypeVar("T")
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    # FULL: a transaction is on disk before COMMIT returns, so what the server
    # acknowledged survives a crash of the process or the machine.
    "PRAGMA synchronous=FULL",
    "PRAGMA busy_timeout=10000",
    "PRAGMA foreign_keys=ON",
)


def make_engine(url: str) -> Engine:
    """Return an engine for ``url``, with SQLite tuned for concurrent, durable writes."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 10})
        if engine.url.database not in {None, "", ":memory:"}:
            private_sqlite(engine.url.database)

        @event.listens_for(engine, "connect")
        def configure(dbapi_connection: Any, record: Any) -> None:
            # The driver never begins a transaction itself: reads run one statement at a
            # time, as on PostgreSQL (READ COMMITTED), and writes begin with begin_writing.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
            cursor.close()

        return engine
    engine = create_engine(url)
    _ping_when_idle(engine)
    return engine


# A pooled connection unused for longer than this is checked before use: one that sat idle
# may have been closed by a PostgreSQL restart. One used a moment ago is not, for under load
# the check (a round trip) was a third of the wait of each gathered event flush.
PING_AFTER_IDLE = 1.0  # seconds


def _ping_when_idle(engine: Engine) -> None:
    """Check a connection before use when it has been idle PING_AFTER_IDLE or longer: a
    pessimistic disconnect check (SQLAlchemy's ``pool_pre_ping``) for idle connections only."""

    @event.listens_for(engine.pool, "checkin")
    def idle_from(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.pop("idle_since", None)  # None: connected for this checkout
        if since is None or time.monotonic() - since < PING_AFTER_IDLE:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # noqa: BLE001 - any failure: the pool connects anew
            raise DisconnectionError(f"An idle connection failed its check: {error}") from error
        if not alive:
            raise DisconnectionError("An idle connection failed its check.")


def begin_writing(sql: Connection) -> None:
    """Start the transaction of a write on ``sql``: on SQLite, BEGIN IMMEDIATE (elsewhere
    the first statement begins it).

    It takes the write lock up front and waits for it (busy_timeout); a transaction that
    began reading would fail at once when it came to write. Sent as SQL, not from a
    "begin" event: an engine with event listeners runs every statement more slowly.
    """
    if sql.dialect.name == "sqlite":
        sql.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def writing_transaction(sql: Connection) -> Iterator[None]:
    """Begin a transaction that writes (BEGIN IMMEDIATE on SQLite); commit it, or roll back.

    The rollback matters after a failed COMMIT too: without it the connection would
    go back to the pool still inside the transaction.
    """
    begin_writing(sql)
    try:
        yield
        sql.commit()
    except BaseException:
        sql.rollback()
        raise


@contextmanager
def writing_sql(engine: Engine) -> Iterator[Connection]:
    """Begin a transaction that writes on a connection of its own; commit it, or roll back.

    Not the app context's connection: for the busiest writes, which may run in another
    request's thread (Database.write). A connection whose COMMIT failed is rolled back
    before it goes back to the pool.
    """
    with engine.connect() as sql, sql.begin():
        begin_writing(sql)
        yield sql


class Database:
    """An engine per app, and a Core connection per app context."""

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"])
        app.extensions["vswidget.db"] = engine
        sqlite = engine.dialect.name == "sqlite"
        path = engine.url.database if sqlite and engine.url.database != ":memory:" else None
        app.extensions["vswidget.writers"] = WriterQueue(path) if sqlite else None
        app.teardown_appcontext(self._close)

    @property
    def engine(self) -> Engine:
        engine: Engine = current_app.extensions["vswidget.db"]
        return engine

    @property
    def connection(self) -> Connection:
        """The app context's Core connection, opened at first use and closed with the
        context. Reads run on it one statement at a time on SQLite (the driver begins no
        transaction); ``writing`` commits whatever a read began before it writes."""
        if "db_connection" not in g:
            g.db_connection = self.engine.connect()
        sql: Connection = g.db_connection
        return sql

    @staticmethod
    def dispose(app: Flask) -> None:
        """Close every pooled connection of an app's engine."""
        app.extensions["vswidget.db"].dispose()

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """Run a transaction that writes on the app context's connection: committed at the
        end, rolled back on error."""
        writers: WriterQueue | None = current_app.extensions["vswidget.writers"]
        with writers.turn() if writers else nullcontext():
            sql = self.connection
            if sql.in_transaction():
                sql.commit()
            with writing_transaction(sql):
                yield sql

    @contextmanager
    def writing_sql(self) -> Iterator[Connection]:
        """Run a transaction that writes on a Core connection of its own, in the writers' turn."""
        writers: WriterQueue | None = current_app.extensions["vswidget.writers"]
        with writers.turn() if writers else nullcontext(), writing_sql(self.engine) as sql:
            yield sql

    @contextmanager
    def own_transactions(self) -> Iterator[Connection]:
        """A connection of its own in AUTOCOMMIT: each statement is a transaction of its
        own, unless prepared.pipelined_transaction sends a BEGIN and COMMIT around some."""
        with self.engine.connect() as sql:
            sql.execution_options(isolation_level="AUTOCOMMIT")
            with sql.begin():  # for SQLAlchemy only: the driver sends nothing
                yield sql

    def write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a writing transaction and return its result once it is committed.

        On SQLite, writes queued meanwhile by the process's other threads share the
        transaction and its COMMIT (see sqlite_writers); ``work`` must use only the
        connection it is given, for it may run in another request's thread.
        """
        writers: WriterQueue | None = current_app.extensions["vswidget.writers"]
        if writers is not None:
            return writers.together(work, self.writing_sql)
        with self.writing_sql() as sql:
            return work(sql)

    @staticmethod
    def _close(exc: BaseException | None) -> None:
        sql = g.pop("db_connection", None)
        if sql is not None:
            sql.close()


db = Database()


def cache_config(url: str, max_bytes: int) -> dict[str, Any]:
    """Return Flask-Caching settings for a ``CACHE_URL``; the in-process cache holds
    ``max_bytes`` at most."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return {
            "CACHE_TYPE": "vswidget.server.redis_cache.ForgivingRedisCache",
            "CACHE_REDIS_URL": url,
            "CACHE_KEY_PREFIX": "vsw:",
            "CACHE_OPTIONS": REDIS_TIMEOUTS,
        }
    if url.startswith("null:"):
        return {"CACHE_TYPE": "NullCache"}
    if url.startswith("simple:"):
        return {
            "CACHE_TYPE": "vswidget.server.memory_cache.BoundedMemoryCache",
            "CACHE_OPTIONS": {"max_bytes": max_bytes},
        }
    raise ConfigurationError(
        f"VSWIDGET_CACHE_URL must be simple://, redis://... or null://, not {url!r}."
    )


cache = Cache()
# Limits per reader address, an IPv6 one's per network (networks.py); in-process or Redis.
limiter = Limiter(reader_address, headers_enabled=True, swallow_errors=True)
