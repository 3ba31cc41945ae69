"""Group commit inside a worker: the requests that arrive while one flush runs share the next.

Storing each event batch in transactions of its own made PostgreSQL run the budgets'
statements, a COMMIT and its fsync for every request. Here a request hands its item to
the worker's ``Gathering`` and waits: one thread at a time flushes every item queued by
then, its own first and other threads' (at most ``limit``), in one call. Each request is
answered with its own result as soon as that call has returned: not, as when the
waiters took turns on a lock, after the flushes of those that took it before them. No
thread of its own: the requests' threads do the flushing, so a graceful stop, which lets
every request in flight finish, flushes everything that was handed over.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def _held() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass
class _Waiting(Generic[T]):
    item: T
    result: Any = None
    error: BaseException | None = None
    done: bool = False
    lead: bool = False  # woken to flush what is queued
    wake: threading.Lock = field(default_factory=_held)  # released to wake its thread


class Gathering(Generic[T, R]):
    """Flush the items of concurrent callers together: ``flush(items)`` returns one result
    per item, in order; when it raises, every item of that flush fails with its error."""

    def __init__(self, flush: Callable[[list[T]], list[R]], limit: int) -> None:
        self.flush = flush
        self.limit = limit
        self.pending: list[_Waiting[T]] = []
        self.flushing = False
        self.lock = threading.Lock()  # guards the two above

    def submit(self, item: T) -> R:
        """Return ``item``'s result once the flush that took it has returned.

        A thread flushes when no flush is under way, or when the flush before hands it
        the turn as the first of the queue; either way its own item is the first of the
        group it takes. Each waiting thread sleeps on a lock of its own, released when
        its item is flushed or its turn comes: a flush wakes only those it concerns.
        """
        waiting = _Waiting(item)
        with self.lock:
            self.pending.append(waiting)
            waiting.lead, self.flushing = not self.flushing, True
        if not waiting.lead:
            waiting.wake.acquire()
        if not waiting.done:
            self._lead()
        if waiting.error is not None:
            raise waiting.error
        result: R = waiting.result
        return result

    def _lead(self) -> None:
        """Flush the queue's first items (this thread's first), then wake them, and hand
        the turn to the first of those still queued."""
        with self.lock:
            group = self.pending[: self.limit]
            del self.pending[: self.limit]
        try:
            self._flush(group)
        finally:
            with self.lock:
                after = self.pending[0] if self.pending else None
                self.flushing = after is not None
            if after is not None:
                after.lead = True
                after.wake.release()
            for each in group[1:]:
                each.wake.release()

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
