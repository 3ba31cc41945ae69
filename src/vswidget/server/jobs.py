"""Background work of a server process: webhook deliveries, event rollups, pruning.

Every gunicorn worker runs these on daemon threads of its own, so maintenance never
waits on a delivery. Webhook deliveries are claimed one at a time, so workers share
them; the rollup takes a lease, so one worker (of any host) does it per period. The
courier, and the HTTP client with it, is loaded with the first due delivery: a worker of
a server without webhooks never imports it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import Flask, current_app

from . import analytics, store, visitors

if TYPE_CHECKING:
    from .webhooks import Courier


def maintain() -> None:
    """Count the events stored since the last rollup, prune old ones and past days' salts,
    if no other process is; the rollup steps stop within the lease.

    The lease ends a little before the period does, so the process that held it takes it
    again at its next start (``every``) rather than finding it still held and skipping a
    period. A step that outlasts it is harmless: one of two steps from the same cursor
    writes nothing."""
    period = current_app.config["ROLLUP_SECONDS"]
    lease = period - min(1.0, period / 10)
    if store.take_lease("rollup", lease):
        analytics.roll_up_recent(lease)
        analytics.prune(current_app.config["EVENT_RETENTION_DAYS"])
        visitors.prune_salts()


class Jobs:
    """Deliveries started every ``interval`` seconds, maintenance every ROLLUP_SECONDS,
    each on a daemon thread of its own."""

    def __init__(self, app: Flask, interval: float = 1.0) -> None:
        self.app = app
        self.stopped = threading.Event()
        self.courier: Courier | None = None
        self.threads = [
            self._thread("vswidget-deliveries", lambda: interval, self.deliver),
            self._thread("vswidget-maintenance", lambda: app.config["ROLLUP_SECONDS"], maintain),
        ]

    def start(self) -> None:
        """Start the threads."""
        for thread in self.threads:
            thread.start()

    def deliver(self) -> None:
        """Start the due webhook deliveries, if any; needs an app context."""
        if self.courier is None:
            if not store.due_publishers(1, ()):
                return
            from .webhooks import Courier

            self.courier = Courier(self.app)
        self.courier.dispatch()

    def stop(self) -> None:
        """Stop the threads, once the work under way is done."""
        self.stopped.set()
        for thread in self.threads:
            thread.join()
        if self.courier is not None:
            self.courier.close()

    def _thread(
        self, name: str, period: Callable[[], float], work: Callable[[], object]
    ) -> threading.Thread:
        def attempt() -> None:
            with self.app.app_context():
                try:
                    work()
                except Exception:  # noqa: BLE001 - keep working after any failure
                    self.app.logger.exception("background job failed")

        return threading.Thread(
            target=every, args=(period, attempt, self.stopped.wait), name=name, daemon=True
        )


def every(
    period: Callable[[], float],
    work: Callable[[], object],
    wait: Callable[[float], bool],
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Start ``work`` every ``period()`` seconds, from one start to the next (sooner after
    a run longer than that), until ``wait(seconds)`` says to stop.

    From start to start, not from the end of one run to the start of the next: a rollup
    round that takes L seconds of the period leaves the figures at most P + L behind,
    where waiting a whole period after it made that P × T / (T − R) as ingestion (R
    events a second) neared the rollup's pace (T).
    """
    started = clock()
    while not wait(max(0.0, started + period() - clock())):
        started = clock()
        work()
