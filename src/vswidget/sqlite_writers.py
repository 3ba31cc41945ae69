"""SQLite writers take turns on locks that wake them, not in SQLite's busy handler.

SQLite lets one transaction write at a time. A writer that finds the lock taken
sleeps in the busy handler (1, 2, 5, 10... 100 ms) and tries again, so under load
the lock often sits free while writers sleep. Here a writer first takes its
process's lock (its threads) and then an ``flock`` on a file beside the database
(the other gunicorn workers); both wake the next writer as soon as a transaction
ends, and BEGIN IMMEDIATE then rarely waits.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class WriterQueue:
    """One turn at a time for the writers of a SQLite database, across threads and processes."""

    def __init__(self, database_path: str | None) -> None:
        self.path = f"{database_path}-writers.lock" if database_path else None
        self.lock = threading.RLock()
        self.depth = 0  # turns the holding thread has taken: only the outer one locks the file
        self.files: dict[int, int] = {}  # by process id: a worker must not share its parent's

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

    def _file(self) -> int:
        pid = os.getpid()
        if pid not in self.files:
            assert self.path is not None
            self.files[pid] = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return self.files[pid]
