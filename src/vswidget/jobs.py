"""Background work of a server process: webhook deliveries, event rollups, pruning.

Every gunicorn worker runs these on daemon threads of its own, so maintenance never
waits on a delivery. Webhook deliveries are claimed one at a time, so workers share
them; the rollup takes a lease, so one worker (of any host) does it per period.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from flask import Flask, current_app

from . import analytics, store, visitors
from .webhooks import Courier


def maintain() -> None:
    """Roll up recent events, prune old ones and past days' salts, if no other process is."""
    period = current_app.config["ROLLUP_SECONDS"]
    if store.take_lease("rollup", period):
        analytics.roll_up_recent()
        analytics.prune(current_app.config["EVENT_RETENTION_DAYS"])
        visitors.prune_salts()


class Jobs:
    """Deliveries started every ``interval`` seconds, maintenance every ROLLUP_SECONDS,
    each on a daemon thread of its own."""

    def __init__(self, app: Flask, interval: float = 1.0) -> None:
        self.app = app
        self.stopped = threading.Event()
        self.courier = Courier(app)
        self.threads = [
            self._thread("vswidget-deliveries", lambda: interval, self.courier.dispatch),
            self._thread("vswidget-maintenance", lambda: app.config["ROLLUP_SECONDS"], maintain),
        ]

    def start(self) -> None:
        """Start the threads."""
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        """Stop the threads, once the work under way is done."""
        self.stopped.set()
        for thread in self.threads:
            thread.join()
        self.courier.close()

    def _thread(
        self, name: str, period: Callable[[], float], work: Callable[[], object]
    ) -> threading.Thread:
        def run() -> None:
            while not self.stopped.wait(period()):
                with self.app.app_context():
                    try:
                        work()
                    except Exception:  # noqa: BLE001 - keep working after any failure
                        self.app.logger.exception("background job failed")

        return threading.Thread(target=run, name=name, daemon=True)
