"""Background work of a server process: webhook deliveries, event rollups, pruning.

Every gunicorn worker runs one ``Jobs`` thread. Webhook deliveries are claimed one
at a time, so workers share them; the rollup takes a lease, so one worker (of any
host) does it per period.
"""

from __future__ import annotations

import threading
import time

import httpx
from flask import Flask, current_app

from . import analytics, store, visitors
from .webhooks import TIMEOUT_SECONDS, deliver_due


def maintain() -> None:
    """Roll up recent events, prune old ones and past days' salts, if no other process is."""
    period = current_app.config["ROLLUP_SECONDS"]
    if store.take_lease("rollup", period):
        analytics.roll_up_recent()
        analytics.prune(current_app.config["EVENT_RETENTION_DAYS"])
        visitors.prune_salts()


class Jobs(threading.Thread):
    """A daemon thread: deliveries every ``interval`` seconds, rollups every ROLLUP_SECONDS."""

    def __init__(self, app: Flask, interval: float = 1.0) -> None:
        super().__init__(name="vswidget-jobs", daemon=True)
        self.app = app
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        next_rollup = 0.0
        with httpx.Client(timeout=TIMEOUT_SECONDS) as client:
            while not self.stopped.wait(self.interval):
                with self.app.app_context():
                    try:
                        deliver_due(client)
                        if time.monotonic() >= next_rollup:
                            next_rollup = time.monotonic() + self.app.config["ROLLUP_SECONDS"]
                            maintain()
                    except Exception:  # noqa: BLE001 - keep working after any failure
                        self.app.logger.exception("background job failed")
