"""Group commit inside a worker: the requests that arrive while one flush runs share the next.

Storing each event batch in transactions of its own made PostgreSQL run the budgets'
statements, a COMMIT and its fsync for every request. Here a request hands its item to
the worker's ``Gathering`` and waits: the first waiting thread to take the flush lock
flushes every item queued by then, its own and other threads' (at most ``limit``), in one
call, and each request is answered with its own result only once that call has returned.
No thread of its own: the requests' threads do the flushing, so a graceful stop, which
lets every request in flight finish, flushes everything that was handed over.
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
    done: bool = False


class Gathering(Generic[T, R]):
    """Flush the items of concurrent callers together: ``flush(items)`` returns one result
    per item, in order; when it raises, every item of that flush fails with its error."""

    def __init__(self, flush: Callable[[list[T]], list[R]], limit: int) -> None:
        self.flush = flush
        self.limit = limit
        self.pending: list[_Waiting[T]] = []
        self.pending_lock = threading.Lock()
        self.flush_lock = threading.Lock()

    def submit(self, item: T) -> R:
        """Return ``item``'s result once the flush that took it has returned."""
        waiting = _Waiting(item)
        with self.pending_lock:
            self.pending.append(waiting)
        with self.flush_lock:  # whoever holds it flushes what is queued, this item too
            while not waiting.done:
                with self.pending_lock:
                    group = self.pending[: self.limit]
                    del self.pending[: self.limit]
                self._flush(group)
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
