"""Webhook deliveries from the outbox: signed, retried with backoff until they succeed.

Each delivery is a JSON POST with these headers:

- ``X-VSWidget-Event``: what happened (``signup``);
- ``X-VSWidget-Delivery``: the delivery's id, the same on every retry, so a receiver
  can ignore a repeat;
- ``X-VSWidget-Timestamp``: Unix seconds when this attempt was signed;
- ``X-VSWidget-Signature``: ``sha256=`` and the hex HMAC-SHA256, with the publisher's
  webhook secret, of ``TIMESTAMP + "." + BODY``.

Delivery is at least once: a receiver that answered 2xx may, after a crash of ours
at the wrong moment, get the same delivery id again.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
from urllib.parse import urlsplit

import httpx
from flask import current_app

from . import store

MAX_BACKOFF_SECONDS = 6 * 3600
TIMEOUT_SECONDS = 10.0
# A claim outlives one attempt; a worker that dies mid-attempt frees it when it ends.
LEASE_SECONDS = 3 * TIMEOUT_SECONDS
BATCH = 20  # deliveries a worker attempts per round, claimed one at a time


def signature(secret: str, timestamp: str, body: str) -> str:
    """Return the X-VSWidget-Signature of a delivery."""
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def backoff(failures: int, base: float) -> float:
    """Return the seconds to wait after ``failures`` failed attempts: doubling, capped."""
    return float(min(base * 2 ** max(failures - 1, 0), MAX_BACKOFF_SECONDS))


def private_address(url: str) -> str | None:
    """Return why ``url`` must not be called (it reaches a non-public address), or None."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError):
        return f"cannot resolve {host}"
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global:
            return f"{host} resolves to {ip}, a non-public address"
    return None


def deliver_due(client: httpx.Client) -> int:
    """Attempt every delivery that is due; return how many succeeded. Needs an app context."""
    base = current_app.config["WEBHOOK_RETRY_SECONDS"]
    delivered = 0
    for _ in range(BATCH):
        claimed = store.claim_delivery(LEASE_SECONDS)
        if claimed is None:
            break
        entry, publisher = claimed
        error: str | None = None if publisher.webhook_url else "the publisher has no webhook URL"
        if publisher.webhook_url and not current_app.config["WEBHOOK_ALLOW_PRIVATE"]:
            error = private_address(publisher.webhook_url)
        if error is None and publisher.webhook_url and publisher.webhook_secret:
            timestamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "vswidget-webhook",
                "X-VSWidget-Event": entry.event,
                "X-VSWidget-Delivery": entry.public_id,
                "X-VSWidget-Timestamp": timestamp,
                "X-VSWidget-Signature": signature(publisher.webhook_secret, timestamp, entry.body),
            }
            try:
                response = client.post(publisher.webhook_url, content=entry.body, headers=headers)
                error = None if response.is_success else f"HTTP {response.status_code}"
            except httpx.HTTPError as failure:
                error = f"{type(failure).__name__}: {failure}"
        store.finish_delivery(entry.id, error, backoff(entry.attempts + 1, base))
        delivered += error is None
    return delivered
