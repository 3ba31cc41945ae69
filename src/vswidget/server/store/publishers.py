"""Publishers: creating them with their first API key, and finding them by handle or key."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from marshmallow import ValidationError as SchemaError
from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from ...errors import Conflict, NotFound, validation_error
from ..api_schemas import PublisherSchema
from ..extensions import db
from ..models import AnyRow, api_keys, publishers

API_KEY_PREFIX = "vsw_"
SHOWN_PREFIX_LENGTH = 12


@dataclass(frozen=True)
class Publisher:
    """A publisher's row."""

    id: int
    handle: str
    created_at: datetime
    webhook_url: str | None
    webhook_secret: str | None
    webhook_failures: int
    webhook_paused_until: datetime | None
    password_hash: str | None


def publisher_from(row: AnyRow) -> Publisher:
    """Return the Publisher of a row of ``select(publishers)``."""
    return Publisher(**row._asdict())


class ListedPublisher(NamedTuple):
    """A publisher's handle and its API keys (rows of api_keys), oldest first."""

    handle: str
    api_keys: list[AnyRow]


def hash_api_key(key: str) -> str:
    """Return the stored form of an API key.

    A single SHA-256 is enough: keys are 240 random bits, not passwords.
    """
    return hashlib.sha256(key.encode()).hexdigest()


def add_api_key(sql: Connection, publisher_id: int) -> str:
    """Add an API key to a publisher in the transaction of ``sql``; return the key."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(30)
    sql.execute(
        insert(api_keys).values(
            publisher_id=publisher_id,
            prefix=key[:SHOWN_PREFIX_LENGTH],
            key_hash=hash_api_key(key),
        )
    )
    return key


def create_publisher(handle: str) -> tuple[Publisher, str]:
    """Create a publisher; return it and its first API key, which is shown only now."""
    try:
        PublisherSchema().load({"handle": handle})
    except SchemaError as error:
        raise validation_error(error.messages, "handle") from error
    try:
        with db.writing() as sql:
            created = sql.execute(
                insert(publishers).values(handle=handle).returning(publishers)
            ).one()
            key = add_api_key(sql, created.id)
    except IntegrityError as error:
        raise Conflict(f"A publisher with the handle '{handle}' exists already.") from error
    return publisher_from(created), key


def find_publisher(handle: str) -> Publisher | None:
    """Return the publisher with ``handle``, if there is one."""
    row = db.connection.execute(select(publishers).where(publishers.c.handle == handle)).first()
    return None if row is None else publisher_from(row)


def get_publisher(handle: str) -> Publisher:
    """Return the publisher with ``handle``."""
    publisher = find_publisher(handle)
    if publisher is None:
        raise NotFound(f"No publisher has the handle '{handle}'.")
    return publisher


def list_publishers() -> list[ListedPublisher]:
    """Return every publisher, by handle, with its API keys."""
    handles = db.connection.execute(
        select(publishers.c.id, publishers.c.handle).order_by(publishers.c.handle)
    ).all()
    keys: dict[int, list[AnyRow]] = {publisher_id: [] for publisher_id, _ in handles}
    for key in db.connection.execute(select(api_keys).order_by(api_keys.c.id)):
        keys[key.publisher_id].append(key)
    return [ListedPublisher(handle, keys[publisher_id]) for publisher_id, handle in handles]


def publisher_for_api_key(key: str) -> Publisher | None:
    """Return the publisher an active API key belongs to."""
    row = db.connection.execute(
        select(publishers)
        .join(api_keys, api_keys.c.publisher_id == publishers.c.id)
        .where(api_keys.c.key_hash == hash_api_key(key), api_keys.c.revoked_at.is_(None))
    ).first()
    return None if row is None else publisher_from(row)
