"""A publisher's API keys past the first: issuing more, listing and revoking them."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select, update

from ...errors import Conflict, NotFound
from ..extensions import db
from ..models import AnyRow, api_keys, publishers, utcnow
from .publishers import SHOWN_PREFIX_LENGTH, add_api_key, get_publisher, hash_api_key


class RevokedKey(NamedTuple):
    """A key just revoked: its shown prefix and its publisher (a row with its handle)."""

    prefix: str
    publisher: AnyRow


def issue_api_key(handle: str) -> str:
    """Add an API key to a publisher and return it; it is shown only now."""
    with db.writing() as sql:
        return add_api_key(sql, get_publisher(handle).id)


def list_api_keys(handle: str) -> list[AnyRow]:
    """Return a publisher's API keys, revoked ones included, oldest first."""
    publisher = get_publisher(handle)
    query = select(api_keys).where(api_keys.c.publisher_id == publisher.id).order_by(api_keys.c.id)
    return list(db.connection.execute(query))


def revoke_api_key(prefix: str) -> RevokedKey:
    """Revoke the one active API key that starts with ``prefix`` (8 characters or more)."""
    shown = prefix[:SHOWN_PREFIX_LENGTH]
    with db.writing() as sql:
        keys = sql.execute(
            select(api_keys.c.id, api_keys.c.prefix, api_keys.c.key_hash, publishers.c.handle)
            .join(publishers, publishers.c.id == api_keys.c.publisher_id)
            .where(
                api_keys.c.prefix.startswith(shown, autoescape=True),
                api_keys.c.revoked_at.is_(None),
            )
        ).all()
        if len(prefix) > SHOWN_PREFIX_LENGTH:  # a whole key: it must be that very key
            keys = [key for key in keys if key.key_hash == hash_api_key(prefix)]
        if not keys or len(prefix) < 8:
            raise NotFound(f"No active API key starts with '{prefix}'.")
        if len(keys) > 1:
            raise Conflict(f"Several API keys start with '{prefix}'; give a longer prefix.")
        (key,) = keys
        sql.execute(update(api_keys).where(api_keys.c.id == key.id).values(revoked_at=utcnow()))
    return RevokedKey(key.prefix, key)
