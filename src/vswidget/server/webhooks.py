"""Webhook deliveries from the outbox: signed, retried with backoff until they succeed.

Each delivery is a JSON POST in the Standard Webhooks format
(https://www.standardwebhooks.com), with these headers:

- ``webhook-id``: the delivery's id, the same on every retry, so a receiver can
  ignore a repeat;
- ``webhook-timestamp``: Unix seconds when this attempt was signed;
- ``webhook-signature``: ``v1,`` and the base64 HMAC-SHA256 of ``ID.TIMESTAMP.BODY``.

The key is the bytes of the publisher's stored webhook secret (64 hex characters),
shown to publishers as ``whsec_`` and their base64 (``webhook_signatures.py``): the same key
that has always signed, so a receiver keeps its secret across the change of format.

Until the next release the previous headers are sent too: ``X-VSWidget-Event``
(``signup``), ``X-VSWidget-Delivery`` (the id), ``X-VSWidget-Timestamp`` and
``X-VSWidget-Signature`` (``sha256=`` and the hex HMAC-SHA256 of ``TIMESTAMP.BODY``).

Delivery is at least once: a receiver that answered 2xx may, after a crash of ours
at the wrong moment, get the same delivery id again.

An attempt connects within CONNECT_SECONDS and ends within DEADLINE_SECONDS, at a
public address checked once (``outbound.py``). After a failure, the publisher's
deliveries all wait, twice as long after each failure in a row; its next success
ends the wait.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

import httpx
from flask import Flask, current_app

from . import store
from .models import AnyRow
from .outbound import Refused, post
from .store import Publisher
from .webhook_signatures import legacy_signature, signature

MAX_BACKOFF_SECONDS = 6 * 3600
CONNECT_SECONDS = 3.0
DEADLINE_SECONDS = 5.0  # a whole attempt, from connecting to the status line
# A claim outlives one attempt; a worker that dies mid-attempt frees it when it ends.
LEASE_SECONDS = 3 * DEADLINE_SECONDS
WORKERS = 4  # threads per server process; each serves one publisher at a time
BATCH = 20  # deliveries of one publisher a thread attempts in a row, claimed one at a time


def backoff(failures: int, base: float) -> float:
    """Return the seconds to wait after ``failures`` failed attempts: doubling, capped."""
    return float(min(base * 2 ** max(failures - 1, 0), MAX_BACKOFF_SECONDS))


def client() -> httpx.Client:
    """Return the HTTP client deliveries share.

    No connection is kept alive: a pooled connection is found by address, and one
    opened for another publisher's host name would carry this request over a TLS
    session checked for that other name. No proxy from the environment either: the
    connection must go to the address that was checked.
    """
    return httpx.Client(
        timeout=httpx.Timeout(DEADLINE_SECONDS, connect=CONNECT_SECONDS),
        limits=httpx.Limits(max_keepalive_connections=0),
        trust_env=False,
    )


def attempt(
    client: httpx.Client, entry: AnyRow, publisher: Publisher, deadline: float
) -> str | None:
    """Send one delivery; return why it failed, or None. Needs an app context."""
    if not publisher.webhook_url or not publisher.webhook_secret:
        return "the publisher has no webhook URL"
    secret, delivery = publisher.webhook_secret, entry.public_id
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "vswidget-webhook",
        "webhook-id": delivery,
        "webhook-timestamp": timestamp,
        "webhook-signature": signature(secret, delivery, timestamp, entry.body),
        # The previous format, sent beside the standard one until the next release
        "X-VSWidget-Event": entry.event,
        "X-VSWidget-Delivery": delivery,
        "X-VSWidget-Timestamp": timestamp,
        "X-VSWidget-Signature": legacy_signature(secret, timestamp, entry.body),
    }
    allow_private = current_app.config["WEBHOOK_ALLOW_PRIVATE"]
    try:
        status = post(client, publisher.webhook_url, entry.body, headers, allow_private, deadline)
    except Refused as refused:
        return str(refused)
    except httpx.HTTPError as failure:
        return f"{type(failure).__name__}: {failure}"
    return None if 200 <= status < 300 else f"HTTP {status}"


def deliver_due(client: httpx.Client, publisher_id: int, deadline: float) -> int:
    """Attempt a publisher's due deliveries one after another; return how many succeeded."""
    wait = partial(backoff, base=current_app.config["WEBHOOK_RETRY_SECONDS"])
    delivered = 0
    for _ in range(BATCH):
        claimed = store.claim_delivery(publisher_id, LEASE_SECONDS)
        if claimed is None:
            break
        entry, publisher = claimed
        error = attempt(client, entry, publisher, deadline)
        store.finish_delivery(entry.id, error, wait)
        delivered += error is None
    return delivered


class Courier:
    """Delivers on a few threads, each serving one publisher at a time.

    A receiver that hangs holds one thread for at most ``deadline`` seconds, and
    only its own publisher's deliveries wait behind it.
    """

    def __init__(
        self,
        app: Flask,
        http: httpx.Client | None = None,
        workers: int = WORKERS,
        deadline: float = DEADLINE_SECONDS,
    ) -> None:
        self.app = app
        self.http = http or client()
        self.workers = workers
        self.deadline = deadline
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="vswidget-webhook")
        self._lock = threading.Lock()
        self._serving: set[int] = set()

    def dispatch(self) -> list[Future[int]]:
        """Start on publishers with due deliveries while threads are free; needs an app context."""
        with self._lock:
            busy = set(self._serving)
        started = []
        for publisher_id in store.due_publishers(self.workers - len(busy), busy):
            with self._lock:
                self._serving.add(publisher_id)
            started.append(self._pool.submit(self._serve, publisher_id))
        return started

    def _serve(self, publisher_id: int) -> int:
        try:
            with self.app.app_context():
                return deliver_due(self.http, publisher_id, self.deadline)
        except Exception:  # noqa: BLE001 - the next round tries again
            self.app.logger.exception("webhook delivery failed")
            return 0
        finally:
            with self._lock:
                self._serving.discard(publisher_id)

    def close(self) -> None:
        """Let the deliveries under way finish, then release the threads and the client."""
        self._pool.shutdown()
        self.http.close()
