"""Newsletter sign-ups: storing one (queued for the publisher's webhook), listing, forgetting."""

from __future__ import annotations

import functools
import json
from typing import Any

from sqlalchemy import delete, func, insert, select

from .. import upserts
from ..extensions import db
from ..models import AnyRow, comparisons, new_public_id, outbox, publishers, signups
from .comparisons import Comparison, get_comparison
from .publishers import Publisher


@functools.cache
def _first_signup(dialect: str) -> Any:
    """An address's first sign-up with a publisher; no row when it has one in any letter
    case. When it signs up twice at once, one inserts and the other waits for it."""
    return (
        upserts.insert(dialect, signups)
        .on_conflict_do_nothing(
            index_elements=[signups.c.publisher_id, func.lower(signups.c.email)]
        )
        .returning(signups.c.id, signups.c.created_at)
    )


def add_signup(comparison: Comparison, email: str) -> bool:
    """Store a newsletter sign-up for the comparison's publisher.

    Returns False when the address had signed up already (any letter case). A new
    sign-up is queued for the publisher's webhook in the same transaction.
    """
    with db.writing() as sql:
        publisher = sql.execute(
            select(publishers.c.id, publishers.c.handle, publishers.c.webhook_url).where(
                publishers.c.id == comparison.publisher_id
            )
        ).one()
        new = sql.execute(
            _first_signup(sql.dialect.name),
            {"publisher_id": publisher.id, "comparison_id": comparison.id, "email": email},
        ).first()
        if new is None:
            return False
        if publisher.webhook_url:
            delivery = new_public_id()
            body = {
                "event": "signup",
                "id": delivery,
                "email": email,
                "publisher": publisher.handle,
                "comparison": comparison.slug,
                "created_at": new.created_at.isoformat(),
            }
            sql.execute(
                insert(outbox).values(
                    public_id=delivery,
                    publisher_id=publisher.id,
                    event="signup",
                    body=json.dumps(body),
                )
            )
    return True


def list_signups(
    publisher: Publisher, slug: str | None, offset: int, limit: int
) -> tuple[list[AnyRow], int]:
    """Return one page of a publisher's sign-ups, newest first, and how many there are:
    rows of their email, created_at and comparison (its slug, None once it is deleted).

    With ``slug``, only the sign-ups made through that comparison.
    """
    where = [signups.c.publisher_id == publisher.id]
    if slug is not None:
        where.append(signups.c.comparison_id == get_comparison(publisher, slug).id)
    total = db.connection.scalar(select(func.count()).select_from(signups).where(*where)) or 0
    page = db.connection.execute(
        select(signups.c.email, comparisons.c.slug.label("comparison"), signups.c.created_at)
        .outerjoin(comparisons, comparisons.c.id == signups.c.comparison_id)
        .where(*where)
        .order_by(signups.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(page), total


def delete_signups(publisher: Publisher, email: str) -> int:
    """Forget an address: delete its sign-ups and pending webhook copies; return how many."""
    with db.writing() as sql:
        deleted = sql.execute(
            delete(signups).where(
                signups.c.publisher_id == publisher.id,
                func.lower(signups.c.email) == email.lower(),
            )
        )
        pending = sql.execute(
            select(outbox.c.id, outbox.c.body).where(outbox.c.publisher_id == publisher.id)
        )
        copies = [
            entry.id
            for entry in pending
            if json.loads(entry.body).get("email", "").lower() == email.lower()
        ]
        if copies:
            sql.execute(delete(outbox).where(outbox.c.id.in_(copies)))
    return int(deleted.rowcount)
