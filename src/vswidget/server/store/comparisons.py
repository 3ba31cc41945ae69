"""Comparisons: finding them by slug or token, saving (with preconditions) and deleting them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import ColumnElement, Connection, Row, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import ETags

from ...errors import Conflict, NotFound, PreconditionFailed
from ...schemas import canonical_json
from ..extensions import db
from ..models import comparisons, new_public_id, publishers, utcnow, vote_tallies, votes
from .publishers import Publisher


@dataclass(frozen=True)
class Comparison:
    """A comparison's row, and the handle of its publisher (which its URLs name)."""

    id: int
    public_id: str
    publisher_id: int
    slug: str
    document: str
    version: int
    created_at: datetime
    updated_at: datetime
    publisher_handle: str


def _comparison(row: Row[Any], publisher_handle: str) -> Comparison:
    return Comparison(**row._asdict(), publisher_handle=publisher_handle)


def etag(comparison: Comparison) -> str:
    """Return the entity tag of a comparison's current revision (of its public id: a hash
    of the sequential one could be reversed by trying them all)."""
    return hashlib.sha256(f"{comparison.public_id}:{comparison.version}".encode()).hexdigest()[:20]


def document(comparison: Comparison) -> dict[str, Any]:
    """Return a stored comparison's normalized document."""
    result: dict[str, Any] = json.loads(comparison.document)
    return result


def _slugged(publisher: Publisher, slug: str) -> list[ColumnElement[bool]]:
    return [comparisons.c.publisher_id == publisher.id, comparisons.c.slug == slug]


def find_comparison(publisher: Publisher, slug: str) -> Comparison | None:
    """Return a publisher's comparison with ``slug``, if there is one."""
    row = db.connection.execute(select(comparisons).where(*_slugged(publisher, slug))).first()
    return None if row is None else _comparison(row, publisher.handle)


def get_comparison(publisher: Publisher, slug: str) -> Comparison:
    """Return a publisher's comparison with ``slug``; another's is not found."""
    comparison = find_comparison(publisher, slug)
    if comparison is None:
        raise NotFound(f"You have no comparison with the slug '{slug}'.")
    return comparison


class ComparisonKeys(NamedTuple):
    """What names a comparison: its database id, and its public id for tokens."""

    id: int
    public_id: str


def _named(reference: object) -> ColumnElement[bool] | None:
    """Return the condition on comparisons that a signed token's reference names: its
    public id, or the database id that tokens signed before 0009 carry; None for
    anything else."""
    if isinstance(reference, str):
        return comparisons.c.public_id == reference
    if type(reference) is int:
        return comparisons.c.id == reference
    return None


def comparison_named(reference: object) -> Comparison | None:
    """Return the comparison a signed token names, by public id (or, in an old token, id)."""
    where = _named(reference)
    if where is None:
        return None
    row = db.connection.execute(
        select(comparisons, publishers.c.handle.label("publisher_handle"))
        .join(publishers, publishers.c.id == comparisons.c.publisher_id)
        .where(where)
    ).first()
    return None if row is None else Comparison(**row._asdict())


MAX_KNOWN_KEYS = 10_000


def comparison_keys(reference: object) -> ComparisonKeys | None:
    """Return the ids of the comparison a signed token names, without reading its row when
    this process has seen it: the vote path's look-up. Neither id of a comparison ever
    changes, so they are remembered (a deleted comparison's are found gone later on)."""
    known: dict[object, ComparisonKeys] = current_app.extensions.setdefault(
        "vswidget.comparison-keys", {}
    )
    if reference not in known:
        where = _named(reference)
        row = (
            None
            if where is None
            else db.connection.execute(
                select(comparisons.c.id, comparisons.c.public_id).where(where)
            ).first()
        )
        if row is None:
            return None
        if len(known) >= MAX_KNOWN_KEYS:
            known.clear()
        known[reference] = ComparisonKeys(*row)
    return known[reference]


def list_comparisons(publisher: Publisher, offset: int, limit: int) -> tuple[list[Comparison], int]:
    """Return one page of a publisher's comparisons by slug, and how many there are."""
    where = comparisons.c.publisher_id == publisher.id
    total = db.connection.scalar(select(func.count()).select_from(comparisons).where(where)) or 0
    page = db.connection.execute(
        select(comparisons).where(where).order_by(comparisons.c.slug).offset(offset).limit(limit)
    )
    return [_comparison(row, publisher.handle) for row in page], total


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
    with db.writing() as sql:
        row = sql.execute(
            select(comparisons).where(*_slugged(publisher, slug)).with_for_update()
        ).first()
        if row is None:
            if if_match:
                raise PreconditionFailed(f"You have no comparison with the slug '{slug}' to match.")
            now = utcnow()
            values = {
                "public_id": new_public_id(),
                "publisher_id": publisher.id,
                "slug": slug,
                "document": text,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
            new_id = sql.execute(
                insert(comparisons).values(values).returning(comparisons.c.id)
            ).scalar_one()
            _open_tallies(sql, new_id, normalized)
            return Comparison(new_id, **values, publisher_handle=publisher.handle), True
        comparison = _comparison(row, publisher.handle)
        if create_only:
            raise _exists(slug)
        _check_preconditions(comparison, if_match, if_none_match)
        if comparison.document != text:
            comparison = replace(
                comparison, document=text, version=comparison.version + 1, updated_at=utcnow()
            )
            sql.execute(
                update(comparisons)
                .where(comparisons.c.id == comparison.id)
                .values(document=text, version=comparison.version, updated_at=comparison.updated_at)
            )
            keys = [item["key"] for item in normalized["items"]]
            for table in (votes, vote_tallies):
                sql.execute(
                    delete(table).where(
                        table.c.comparison_id == comparison.id, table.c.item_key.not_in(keys)
                    )
                )
            _open_tallies(sql, comparison.id, normalized)
        return comparison, False


def _open_tallies(sql: Connection, comparison_id: int, normalized: dict[str, Any]) -> None:
    """Give every item a tally row, 0 until its first vote: the vote path reads them."""
    have = set(
        sql.scalars(
            select(vote_tallies.c.item_key).where(vote_tallies.c.comparison_id == comparison_id)
        )
    )
    new = [item["key"] for item in normalized["items"] if item["key"] not in have]
    if new:
        rows = [{"comparison_id": comparison_id, "item_key": key, "count": 0} for key in new]
        sql.execute(insert(vote_tallies), rows)


def delete_comparison(publisher: Publisher, slug: str, if_match: ETags | None = None) -> Comparison:
    """Delete a comparison with its votes and return it; its embed token stops working."""
    with db.writing() as sql:
        comparison = get_comparison(publisher, slug)
        _check_preconditions(comparison, if_match, None)
        # its votes, tallies and events go with it (ON DELETE CASCADE)
        sql.execute(delete(comparisons).where(comparisons.c.id == comparison.id))
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
