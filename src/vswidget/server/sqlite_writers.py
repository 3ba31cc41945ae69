"""SQLite writers take turns on locks that wake them, not in SQLite's busy handler.

SQLite lets one transaction write at a time. A writer that finds the lock taken
sleeps in the busy handler (1, 2, 5, 10... 100 ms) and tries again, so under load
the lock often sits free while writers sleep. Here a writer first takes its
process's lock (its threads) and then an ``flock`` on a file beside the database
(the other gunicorn workers); both wake the next writer as soon as a transaction
ends, and BEGIN IMMEDIATE then rarely waits.

With synchronous=FULL every COMMIT waits for the disk, and one transaction at a
time can. So the busiest writes (votes, events) commit together: the writes a
process's threads queued while another transaction held the lock run in one
transaction, each in a savepoint of its own, and one COMMIT (one fsync) makes them
all durable before any of them is answered.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection

T = TypeVar("T")
MAX_TOGETHER = 64  # writes in one transaction at most


@dataclass
class Write(Generic[T]):
    """A write waiting for its transaction, then its outcome."""

    work: Callable[[Connection], T]
    result: Any = None
    error: Exception | None = None
    done: bool = False


class WriterQueue:
    """One turn at a time for the writers of a SQLite database, across threads and processes."""

    def __init__(self, database_path: str | None) -> None:
        self.path = f"{database_path}-writers.lock" if database_path else None
        self.lock = threading.RLock()
        self.depth = 0  # turns the holding thread has taken: only the outer one locks the file
        self.files: dict[int, int] = {}  # by process id: a worker must not share its parent's
        self.pending: list[Write[Any]] = []
        self.pending_lock = threading.Lock()

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self.lock:
            outer = self.depth == 0
            if outer and self.path:
                fcntl.flock(self._file(), fcntl.LOCK_EX)
            self.depth += 1
            try:
                yield
            finally:
                self.depth -= 1
                if outer and self.path:
                    fcntl.flock(self._file(), fcntl.LOCK_UN)

    def together(
        self,
        work: Callable[[Connection], T],
        writing: Callable[[], AbstractContextManager[Connection]],
    ) -> T:
        """Run ``work`` in a transaction shared with the writes queued meanwhile; return its result.

        It returns, or raises the error of ``work`` (its savepoint rolled back, the
        others kept), only once the transaction is committed.
        """
        write = Write(work)
        with self.pending_lock:
            self.pending.append(write)
        with self.lock:  # the thread that gets the turn commits what is queued, its own too
            while not write.done:
                with self.pending_lock:
                    batch = self.pending[:MAX_TOGETHER]
                    del self.pending[:MAX_TOGETHER]
                self._commit(batch, writing)
        if write.error is not None:
            raise write.error
        result: T = write.result
        return result

    @staticmethod
    def _commit(
        batch: list[Write[Any]], writing: Callable[[], AbstractContextManager[Connection]]
    ) -> None:
        try:
            with writing() as sql:
                if len(batch) == 1:  # alone, its transaction is its savepoint
                    batch[0].result = batch[0].work(sql)
                else:
                    for write in batch:
                        _in_savepoint(write, sql)
        except Exception as error:  # noqa: BLE001 - the transaction failed: nothing of it is saved
            for write in batch:
                write.error, write.result = write.error or error, None
        finally:
            for write in batch:
                write.done = True

    def _file(self) -> int:
        pid = os.getpid()
        if pid not in self.files:
            assert self.path is not None
            self.files[pid] = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return self.files[pid]


def _in_savepoint(write: Write[Any], sql: Connection) -> None:
    """Run a write in a savepoint: its failure rolls back its own changes only.

    Plain SQL, the same on SQLite and PostgreSQL: SQLAlchemy's savepoint constructs
    are compiled anew at every use.
    """
    sql.exec_driver_sql("SAVEPOINT grouped_write")
    try:
        write.result = write.work(sql)
    except Exception as error:  # noqa: BLE001 - that write's own failure
        sql.exec_driver_sql("ROLLBACK TO SAVEPOINT grouped_write")
        write.error = error
    sql.exec_driver_sql("RELEASE SAVEPOINT grouped_write")
