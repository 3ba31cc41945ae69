"""Group commit inside a worker: the requests that arrive while one flush runs share the next.

Storing each event batch in transactions of its own made PostgreSQL run the budgets'
statements, a COMMIT and its fsync for every request. Here a request hands its item to
the worker's ``Gathering`` and waits: when no flush is under way, a waiting thread whose
item is queued flushes every item queued by then, its own and other threads' (at most
``limit``), in one call. Each request is answered with its own result as soon as that
call has returned: not, as when the waiters took turns on a lock, after the flushes of
those that took it before them. No thread of its own: the requests' threads do the
flushing, so a graceful stop, which lets every request in flight finish, flushes
everything that was handed over.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Waiting(Generic[T]):
    item: T
    result: Any = None
    error: BaseException | None = None
    taken: bool = False  # by a flush under way
    done: bool = False


class Gathering(Generic[T, R]):
    """Flush the items of concurrent callers together: ``flush(items)`` returns one result
    per item, in order; when it raises, every item of that flush fails with its error."""

    def __init__(self, flush: Callable[[list[T]], list[R]], limit: int) -> None:
        self.flush = flush
        self.limit = limit
        self.pending: list[_Waiting[T]] = []
        self.flushing = False
        self.changed = threading.Condition()  # a flush ended; guards the two above

    def submit(self, item: T) -> R:
        """Return ``item``'s result once the flush that took it has returned."""
        waiting = _Waiting(item)
        with self.changed:
            self.pending.append(waiting)
            while not waiting.done:
                if self.flushing or waiting.taken:
                    self.changed.wait()
                    continue
                group = self.pending[: self.limit]
                del self.pending[: self.limit]
                for each in group:
                    each.taken = True
                self.flushing = True
                self.changed.release()
                try:
                    self._flush(group)
                finally:
                    self.changed.acquire()
                    self.flushing = False
                    self.changed.notify_all()  # the flushed return; one of the rest flushes
        if waiting.error is not None:
            raise waiting.error
        result: R = waiting.result
        return result

    def _flush(self, group: list[_Waiting[T]]) -> None:
        try:
            results = self.flush([waiting.item for waiting in group])
        except BaseException as error:  # the flush failed: every item of it fails
            for waiting in group:
                waiting.error = error
            if not isinstance(error, Exception):
                raise  # a worker told to stop: the waiting requests raise it too
        else:
            for waiting, result in zip(group, results, strict=True):
                waiting.result = result
        finally:
            for waiting in group:
                waiting.done = True
