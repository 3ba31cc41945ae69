"""The narrow storage interface the views and the CLI call.

Every write runs in one transaction: it is all stored or, on any error, nothing
is. Preconditions (If-Match) are checked inside that transaction.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable
from typing import Any

from marshmallow import ValidationError as SchemaError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import ETags

from .errors import Conflict, NotFound, PreconditionFailed, validation_error
from .extensions import db
from .models import ApiKey, Comparison, Publisher, Vote, utcnow
from .schemas import PublisherSchema, canonical_json

API_KEY_PREFIX = "vsw_"
SHOWN_PREFIX_LENGTH = 12


def hash_api_key(key: str) -> str:
    """Return the stored form of an API key.

    A single SHA-256 is enough: keys are 240 random bits, not passwords.
    """
    return hashlib.sha256(key.encode()).hexdigest()


def create_publisher(handle: str) -> tuple[Publisher, str]:
    """Create a publisher; return it and its first API key, which is shown only now."""
    try:
        PublisherSchema().load({"handle": handle})
    except SchemaError as error:
        raise validation_error(error.messages, "handle") from error
    try:
        with db.writing() as session:
            publisher = Publisher(handle=handle)
            session.add(publisher)
            session.flush()
            key = _add_api_key(publisher)
    except IntegrityError as error:
        raise Conflict(f"A publisher with the handle '{handle}' exists already.") from error
    return publisher, key


def get_publisher(handle: str) -> Publisher:
    """Return the publisher with ``handle``."""
    publisher = db.session.scalar(select(Publisher).where(Publisher.handle == handle))
    if publisher is None:
        raise NotFound(f"No publisher has the handle '{handle}'.")
    return publisher


def list_publishers() -> list[Publisher]:
    """Return every publisher, by handle."""
    return list(db.session.scalars(select(Publisher).order_by(Publisher.handle)))


def issue_api_key(handle: str) -> str:
    """Add an API key to a publisher and return it; it is shown only now."""
    with db.writing():
        return _add_api_key(get_publisher(handle))


def _add_api_key(publisher: Publisher) -> str:
    key = API_KEY_PREFIX + secrets.token_urlsafe(30)
    publisher.api_keys.append(ApiKey(prefix=key[:SHOWN_PREFIX_LENGTH], key_hash=hash_api_key(key)))
    db.session.flush()
    return key


def list_api_keys(handle: str) -> list[ApiKey]:
    """Return a publisher's API keys, revoked ones included, oldest first."""
    return list(get_publisher(handle).api_keys)


def revoke_api_key(prefix: str) -> ApiKey:
    """Revoke the one active API key that starts with ``prefix`` (8 characters or more)."""
    shown = prefix[:SHOWN_PREFIX_LENGTH]
    with db.writing() as session:
        keys = list(
            session.scalars(
                select(ApiKey).where(
                    ApiKey.prefix.startswith(shown, autoescape=True), ApiKey.revoked_at.is_(None)
                )
            )
        )
        if len(prefix) > SHOWN_PREFIX_LENGTH:  # a whole key: it must be that very key
            keys = [key for key in keys if key.key_hash == hash_api_key(prefix)]
        if not keys or len(prefix) < 8:
            raise NotFound(f"No active API key starts with '{prefix}'.")
        if len(keys) > 1:
            raise Conflict(f"Several API keys start with '{prefix}'; give a longer prefix.")
        keys[0].revoked_at = utcnow()
        return keys[0]


def publisher_for_api_key(key: str) -> Publisher | None:
    """Return the publisher an active API key belongs to."""
    return db.session.scalar(
        select(Publisher)
        .join(ApiKey)
        .where(ApiKey.key_hash == hash_api_key(key), ApiKey.revoked_at.is_(None))
    )


def etag(comparison: Comparison) -> str:
    """Return the entity tag of a comparison's current revision."""
    return hashlib.sha256(f"{comparison.id}:{comparison.version}".encode()).hexdigest()[:20]


def document(comparison: Comparison) -> dict[str, Any]:
    """Return a stored comparison's normalized document."""
    result: dict[str, Any] = json.loads(comparison.document)
    return result


def find_comparison(publisher: Publisher, slug: str) -> Comparison | None:
    """Return a publisher's comparison with ``slug``, if there is one."""
    return db.session.scalar(
        select(Comparison).where(Comparison.publisher_id == publisher.id, Comparison.slug == slug)
    )


def get_comparison(publisher: Publisher, slug: str) -> Comparison:
    """Return a publisher's comparison with ``slug``; another's is not found."""
    comparison = find_comparison(publisher, slug)
    if comparison is None:
        raise NotFound(f"You have no comparison with the slug '{slug}'.")
    return comparison


def comparison_by_id(comparison_id: int) -> Comparison | None:
    """Return the comparison with a database id (from a signed token)."""
    return db.session.get(Comparison, comparison_id)


def list_comparisons(publisher: Publisher, offset: int, limit: int) -> tuple[list[Comparison], int]:
    """Return one page of a publisher's comparisons by slug, and how many there are."""
    where = Comparison.publisher_id == publisher.id
    total = db.session.scalar(select(func.count()).select_from(Comparison).where(where)) or 0
    page = db.session.scalars(
        select(Comparison).where(where).order_by(Comparison.slug).offset(offset).limit(limit)
    )
    return list(page), total


def save_comparison(
    publisher: Publisher,
    normalized: dict[str, Any],
    *,
    create_only: bool = False,
    if_match: ETags | None = None,
    if_none_match: ETags | None = None,
) -> tuple[Comparison, bool]:
    """Create or replace a comparison; return it and whether it was created.

    Replacing keeps the votes of items whose keys remain and drops the others.
    A document equal to the stored one changes nothing, not even the version.
    """
    try:
        return _save(publisher, normalized, create_only, if_match, if_none_match)
    except IntegrityError:
        # Another request created the same slug a moment ago: now it replaces it.
        if create_only:
            raise _exists(normalized["slug"]) from None
        return _save(publisher, normalized, create_only, if_match, if_none_match)


def _save(
    publisher: Publisher,
    normalized: dict[str, Any],
    create_only: bool,
    if_match: ETags | None,
    if_none_match: ETags | None,
) -> tuple[Comparison, bool]:
    slug = normalized["slug"]
    text = canonical_json(normalized)
    with db.writing() as session:
        comparison = session.scalar(
            select(Comparison)
            .where(Comparison.publisher_id == publisher.id, Comparison.slug == slug)
            .with_for_update()
        )
        if comparison is None:
            if if_match:
                raise PreconditionFailed(f"You have no comparison with the slug '{slug}' to match.")
            comparison = Comparison(publisher_id=publisher.id, slug=slug, document=text)
            session.add(comparison)
            session.flush()
            return comparison, True
        if create_only:
            raise _exists(slug)
        _check_preconditions(comparison, if_match, if_none_match)
        if comparison.document != text:
            comparison.document = text
            comparison.version += 1
            comparison.updated_at = utcnow()
            keys = [item["key"] for item in normalized["items"]]
            session.execute(
                delete(Vote).where(Vote.comparison_id == comparison.id, Vote.item_key.not_in(keys))
            )
        return comparison, False


def delete_comparison(publisher: Publisher, slug: str, if_match: ETags | None = None) -> Comparison:
    """Delete a comparison with its votes and return it; its embed token stops working."""
    with db.writing() as session:
        comparison = get_comparison(publisher, slug)
        _check_preconditions(comparison, if_match, None)
        session.execute(delete(Vote).where(Vote.comparison_id == comparison.id))
        session.delete(comparison)
    return comparison


def _check_preconditions(
    comparison: Comparison, if_match: ETags | None, if_none_match: ETags | None
) -> None:
    current = etag(comparison)
    if if_match and not if_match.contains(current):
        raise PreconditionFailed()
    if if_none_match and if_none_match.contains(current):
        raise PreconditionFailed(f"The comparison '{comparison.slug}' exists already.")


def _exists(slug: str) -> Conflict:
    return Conflict(f"A comparison with the slug '{slug}' exists already; PUT replaces it.")


def vote_counts(comparison_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Return, per comparison, the reader votes per item key."""
    counts: dict[int, dict[str, int]] = {}
    rows = db.session.execute(
        select(Vote.comparison_id, Vote.item_key, func.count())
        .where(Vote.comparison_id.in_(list(comparison_ids)))
        .group_by(Vote.comparison_id, Vote.item_key)
    )
    for comparison_id, item_key, count in rows:
        counts.setdefault(comparison_id, {})[item_key] = count
    return counts
