"""Webhook deliveries: a publisher's webhook, and claiming and finishing what the outbox holds."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select, update

from ..extensions import db
from ..models import AnyRow, outbox, publishers, utcnow
from .publishers import Publisher, publisher_from


def set_webhook(publisher: Publisher, url: str | None) -> Publisher:
    """Deliver sign-ups to ``url`` from now on, or stop (None).

    A secret is made when a webhook is set where there was none; stopping drops
    it, so stopping and setting again rotates the secret.
    """
    with db.writing() as sql:
        row = sql.execute(select(publishers).where(publishers.c.id == publisher.id)).one()
        secret = row.webhook_secret
        if url is None:
            secret = None
        elif not secret:
            secret = secrets.token_hex(32)
        changes = {
            "webhook_url": url,
            "webhook_failures": 0,  # a new receiver starts afresh
            "webhook_paused_until": None,
            "webhook_secret": secret,
        }
        sql.execute(update(publishers).where(publishers.c.id == publisher.id).values(changes))
    return replace(publisher_from(row), **changes)


def _claimable(now: datetime) -> list[ColumnElement[bool]]:
    """Where an outbox row may be claimed: due, not claimed, its publisher neither
    waiting after failures nor with a delivery in flight (one at a time each)."""
    in_flight = outbox.alias()
    return [
        outbox.c.next_attempt_at <= now,
        (outbox.c.claimed_until.is_(None)) | (outbox.c.claimed_until < now),
        (publishers.c.webhook_paused_until.is_(None)) | (publishers.c.webhook_paused_until <= now),
        ~select(in_flight.c.id)
        .where(in_flight.c.publisher_id == outbox.c.publisher_id, in_flight.c.claimed_until >= now)
        .exists(),
    ]


def due_publishers(limit: int, busy: Collection[int]) -> list[int]:
    """Return up to ``limit`` publishers not ``busy`` with deliveries to claim, oldest first."""
    oldest = func.min(outbox.c.id)
    rows = db.connection.execute(
        select(outbox.c.publisher_id)
        .join(publishers, publishers.c.id == outbox.c.publisher_id)
        .where(*_claimable(utcnow()), outbox.c.publisher_id.not_in(busy))
        .group_by(outbox.c.publisher_id)
        .order_by(oldest)
        .limit(limit)
    )
    return list(rows.scalars())


def claim_delivery(publisher_id: int, lease_seconds: float) -> tuple[AnyRow, Publisher] | None:
    """Claim a due webhook delivery of the publisher for ``lease_seconds``, or return None:
    its outbox row and its publisher.

    The deliveries tried least are claimed first, oldest first among them: one a
    receiver keeps refusing does not hold up the others. While claimed, no other
    worker takes it; a worker that dies mid-attempt lets the claim lapse, and the
    delivery is attempted again.
    """
    now = utcnow()
    with db.writing() as sql:
        entry = sql.execute(
            select(outbox)
            .join(publishers, publishers.c.id == outbox.c.publisher_id)
            .where(outbox.c.publisher_id == publisher_id, *_claimable(now))
            .order_by(outbox.c.attempts, outbox.c.id)
            .limit(1)
            .with_for_update(skip_locked=True, of=outbox)
        ).first()
        if entry is None:
            return None
        claimed_until = now + timedelta(seconds=lease_seconds)
        sql.execute(
            update(outbox).where(outbox.c.id == entry.id).values(claimed_until=claimed_until)
        )
        # the outbox row cascades with its publisher
        publisher = sql.execute(
            select(publishers).where(publishers.c.id == entry.publisher_id)
        ).one()
    return entry, publisher_from(publisher)


def finish_delivery(entry_id: int, error: str | None, wait: Callable[[int], float]) -> None:
    """Record an attempt: a delivered entry is deleted (it held a reader's address),
    a failed one is due again in ``wait(its failed attempts)`` seconds, and all of its
    publisher's wait ``wait(the publisher's failures in a row)``; a success ends that."""
    with db.writing() as sql:
        entry = sql.execute(
            select(outbox.c.attempts, outbox.c.publisher_id, publishers.c.webhook_failures)
            .join(publishers, publishers.c.id == outbox.c.publisher_id)
            .where(outbox.c.id == entry_id)
        ).first()
        if entry is None:  # forgotten meanwhile
            return
        publisher = update(publishers).where(publishers.c.id == entry.publisher_id)
        if error is None:
            sql.execute(publisher.values(webhook_failures=0, webhook_paused_until=None))
            sql.execute(delete(outbox).where(outbox.c.id == entry_id))
            return
        failures, attempts = entry.webhook_failures + 1, entry.attempts + 1
        sql.execute(
            publisher.values(
                webhook_failures=failures,
                webhook_paused_until=utcnow() + timedelta(seconds=wait(failures)),
            )
        )
        sql.execute(
            update(outbox)
            .where(outbox.c.id == entry_id)
            .values(
                attempts=attempts,
                claimed_until=None,
                last_error=error[:500],
                next_attempt_at=utcnow() + timedelta(seconds=wait(attempts)),
            )
        )
