"""The narrow storage interface the views and the CLI call.

Every write runs in one transaction: it is all stored or, on any error, nothing
is. Preconditions (If-Match) are checked inside that transaction.
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
from collections.abc import Callable, Collection, Iterable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from flask import current_app
from marshmallow import ValidationError as SchemaError
from sqlalchemy import ColumnElement, Connection, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased
from werkzeug.datastructures import ETags

from ..errors import Conflict, NotFound, PreconditionFailed, ValidationError, validation_error
from ..schemas import PublisherSchema, canonical_json
from . import upserts
from .extensions import db
from .models import (
    ApiKey,
    Comparison,
    DashboardSession,
    Event,
    Lease,
    Outbox,
    Publisher,
    Signup,
    Vote,
    VoteTally,
    new_public_id,
    utcnow,
)
from .passwords import check_password, hash_password
from .prepared import Prepared

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


MIN_PASSWORD_LENGTH = 10


def set_password(handle: str, password: str) -> None:
    """Set the password a publisher logs into the dashboard with (only a hash is kept);
    end every dashboard session of the publisher."""
    if len(password) < MIN_PASSWORD_LENGTH:
        message = f"Must be at least {MIN_PASSWORD_LENGTH} characters."
        raise ValidationError(f"The password is too short: {message}", {"password": [message]})
    with db.writing() as session:
        publisher = get_publisher(handle)
        publisher.password_hash = hash_password(password)
        # Whoever logged in with the old password is logged out.
        session.execute(
            delete(DashboardSession).where(DashboardSession.publisher_id == publisher.id)
        )


def publisher_for_login(handle: str, password: str) -> Publisher | None:
    """Return the publisher whose handle and password these are."""
    publisher = db.session.scalar(select(Publisher).where(Publisher.handle == handle))
    password_hash = publisher.password_hash if publisher is not None else None
    return publisher if check_password(password_hash, password) else None  # as slow either way


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
    """Return the entity tag of a comparison's current revision (of its public id: a hash
    of the sequential one could be reversed by trying them all)."""
    return hashlib.sha256(f"{comparison.public_id}:{comparison.version}".encode()).hexdigest()[:20]


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


class ComparisonKeys(NamedTuple):
    """What names a comparison: its database id, and its public id for tokens."""

    id: int
    public_id: str


def _named(reference: object) -> Any:
    """Return the condition on comparisons that a signed token's reference names: its
    public id, or the database id that tokens signed before 0009 carry; None for
    anything else."""
    if isinstance(reference, str):
        return Comparison.public_id == reference
    if type(reference) is int:
        return Comparison.id == reference
    return None


def comparison_named(reference: object) -> Comparison | None:
    """Return the comparison a signed token names, by public id (or, in an old token, id)."""
    where = _named(reference)
    return None if where is None else db.session.scalar(select(Comparison).where(where))


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
            else db.session.execute(
                select(Comparison.id, Comparison.public_id).where(where)
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
            _open_tallies(session, comparison.id, normalized)
            return comparison, True
        if create_only:
            raise _exists(slug)
        _check_preconditions(comparison, if_match, if_none_match)
        if comparison.document != text:
            comparison.document = text
            comparison.version += 1
            comparison.updated_at = utcnow()
            keys = [item["key"] for item in normalized["items"]]
            for table in (Vote, VoteTally):
                session.execute(
                    delete(table).where(
                        table.comparison_id == comparison.id, table.item_key.not_in(keys)
                    )
                )
            _open_tallies(session, comparison.id, normalized)
        return comparison, False


def _open_tallies(session: Session, comparison_id: int, normalized: dict[str, Any]) -> None:
    """Give every item a tally row, 0 until its first vote: the vote path reads them."""
    have = set(
        session.scalars(select(VoteTally.item_key).where(VoteTally.comparison_id == comparison_id))
    )
    new = [item["key"] for item in normalized["items"] if item["key"] not in have]
    if new:
        rows = [{"comparison_id": comparison_id, "item_key": key, "count": 0} for key in new]
        session.execute(insert(VoteTally), rows)


def delete_comparison(publisher: Publisher, slug: str, if_match: ETags | None = None) -> Comparison:
    """Delete a comparison with its votes and return it; its embed token stops working."""
    with db.writing() as session:
        comparison = get_comparison(publisher, slug)
        _check_preconditions(comparison, if_match, None)
        session.delete(comparison)  # its votes, tallies and events go with it (ON DELETE CASCADE)
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
        select(VoteTally.comparison_id, VoteTally.item_key, VoteTally.count).where(
            VoteTally.comparison_id.in_(list(comparison_ids))
        )
    )
    for comparison_id, item_key, count in rows:
        counts.setdefault(comparison_id, {})[item_key] = count
    return counts


class Cast(NamedTuple):
    """A reader's vote as it stands after casting it, and the comparison's new tallies."""

    voter: str  # the vote's key within its comparison: the hash it was first cast with
    item_key: str
    counts: dict[str, int]  # every item's votes


def cast_vote(comparison_id: int, item_key: str, voter: str, kept: str | int | None = None) -> Cast:
    """Count a reader's vote for an item, or move it there; return it and the new tallies.

    A reader has one vote per comparison, found by ``kept``, from the receipt the reader
    kept (the vote's voter key, or its database id in a receipt signed before 0009), or
    else by today's ``voter`` hash. Vote and tallies change in one transaction, so the
    counts are exact under any concurrency. NotFound when the comparison is gone,
    ValidationError for a key no item has.
    """
    cast = functools.partial(_cast, comparison_id, item_key, voter, kept)
    try:
        return db.write(cast)
    except IntegrityError:  # the comparison was deleted meanwhile: now it is NotFound
        return db.write(cast)


# The vote path: Core SQL compiled once per database and run on the driver's cursor
# (prepared.py), for it is the busiest write. Every item of a comparison has a tally
# row (save_comparison makes them), so reading the tallies also tells which keys exist:
# a new reader's vote is three statements, and the document is never read.
_TALLIES = Prepared(
    select(VoteTally.item_key, VoteTally.count).where(
        VoteTally.comparison_id == bindparam("comparison")
    )
)
_VOTE_BY_ID = Prepared(
    select(Vote.id, Vote.item_key, Vote.voter)
    .where(Vote.comparison_id == bindparam("comparison"), Vote.id == bindparam("vote"))
    .with_for_update()
)
_VOTE_BY_VOTER = Prepared(
    select(Vote.id, Vote.item_key, Vote.voter)
    .where(Vote.comparison_id == bindparam("comparison"), Vote.voter == bindparam("voter"))
    .with_for_update()
)


@functools.cache
def _first_vote(dialect: str) -> Prepared:
    """A reader's first vote; no row when they have one already. When the same reader
    votes twice at once, one inserts and the other waits for it, then finds its vote."""
    return Prepared(
        upserts.insert(dialect, Vote)
        .values(
            comparison_id=bindparam("comparison"),
            item_key=bindparam("item"),
            voter=bindparam("voter"),
            created_at=bindparam("now"),
            updated_at=bindparam("now"),
        )
        .on_conflict_do_nothing(index_elements=[Vote.comparison_id, Vote.voter])
        .returning(Vote.id)
    )


_MOVE_VOTE = Prepared(
    update(Vote)
    .where(Vote.id == bindparam("vote"))
    .values(item_key=bindparam("item"), updated_at=bindparam("now"))
)
_BUMP = Prepared(
    update(VoteTally)
    .where(
        VoteTally.comparison_id == bindparam("comparison"),
        VoteTally.item_key == bindparam("item"),
    )
    .values(count=VoteTally.count + bindparam("delta"))
    .returning(VoteTally.count)
)


def _cast(
    comparison_id: int, item_key: str, voter: str, kept: str | int | None, sql: Connection
) -> Cast:
    counts: dict[str, int] = dict(_TALLIES.run(sql, comparison=comparison_id).rows)
    if item_key not in counts:
        if not counts:
            raise NotFound("This comparison no longer exists.")
        raise _unknown_item(item_key)
    now = utcnow()
    found = []
    if isinstance(kept, str):
        found = _VOTE_BY_VOTER.run(sql, comparison=comparison_id, voter=kept).rows
    elif kept is not None:
        found = _VOTE_BY_ID.run(sql, comparison=comparison_id, vote=kept).rows
    if not found:
        new = _first_vote(sql.dialect.name).run(
            sql, comparison=comparison_id, item=item_key, voter=voter, now=now
        )
        if new.rows:
            _bump(sql, comparison_id, counts, {item_key: 1})
            return Cast(voter, item_key, counts)
        found = _VOTE_BY_VOTER.run(sql, comparison=comparison_id, voter=voter).rows
    (found_id, found_key, found_voter), *_ = found
    if found_key != item_key:
        _MOVE_VOTE.run(sql, vote=found_id, item=item_key, now=now)
        _bump(sql, comparison_id, counts, {found_key: -1, item_key: 1})
    return Cast(found_voter, item_key, counts)


def _bump(
    sql: Connection, comparison_id: int, counts: dict[str, int], deltas: dict[str, int]
) -> None:
    """Add ``deltas`` to the stored tallies; put the counts they now hold in ``counts``."""
    for key in sorted(deltas):  # one lock order for every transaction: no deadlock
        bumped = _BUMP.run(sql, comparison=comparison_id, item=key, delta=deltas[key]).rows
        if not bumped:  # the publisher removed the item after the tallies were read
            raise _unknown_item(key)  # and nothing of this vote is kept
        counts[key] = bumped[0][0]


def _unknown_item(item_key: str) -> ValidationError:
    message = f"No item has the key '{item_key}'."
    return ValidationError(message, {"item": [message]})


@functools.cache
def _first_signup(dialect: str) -> Any:
    """An address's first sign-up with a publisher; no row when it has one in any letter
    case. When it signs up twice at once, one inserts and the other waits for it."""
    return (
        upserts.insert(dialect, Signup)
        .on_conflict_do_nothing(index_elements=[Signup.publisher_id, func.lower(Signup.email)])
        .returning(Signup.id, Signup.created_at)
    )


def add_signup(comparison: Comparison, email: str) -> bool:
    """Store a newsletter sign-up for the comparison's publisher.

    Returns False when the address had signed up already (any letter case). A new
    sign-up is queued for the publisher's webhook in the same transaction.
    """
    with db.writing() as session:
        publisher = session.get(Publisher, comparison.publisher_id)
        assert publisher is not None
        new = session.execute(
            _first_signup(session.get_bind().dialect.name),
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
            session.add(
                Outbox(
                    public_id=delivery,
                    publisher_id=publisher.id,
                    event="signup",
                    body=json.dumps(body),
                )
            )
    return True


def _signups_of(publisher: Publisher, email: str) -> Any:
    return db.session.scalars(
        select(Signup).where(
            Signup.publisher_id == publisher.id, func.lower(Signup.email) == email.lower()
        )
    )


def list_signups(
    publisher: Publisher, slug: str | None, offset: int, limit: int
) -> tuple[list[Signup], int]:
    """Return one page of a publisher's sign-ups, newest first, and how many there are.

    With ``slug``, only the sign-ups made through that comparison.
    """
    where = [Signup.publisher_id == publisher.id]
    if slug is not None:
        where.append(Signup.comparison_id == get_comparison(publisher, slug).id)
    total = db.session.scalar(select(func.count()).select_from(Signup).where(*where)) or 0
    page = db.session.scalars(
        select(Signup).where(*where).order_by(Signup.id.desc()).offset(offset).limit(limit)
    )
    return list(page), total


def delete_signups(publisher: Publisher, email: str) -> int:
    """Forget an address: delete its sign-ups and pending webhook copies; return how many."""
    with db.writing() as session:
        signups = list(_signups_of(publisher, email))
        for signup in signups:
            session.delete(signup)
        pending = session.scalars(select(Outbox).where(Outbox.publisher_id == publisher.id))
        for entry in pending:
            if json.loads(entry.body).get("email", "").lower() == email.lower():
                session.delete(entry)
    return len(signups)


def set_webhook(publisher: Publisher, url: str | None) -> Publisher:
    """Deliver sign-ups to ``url`` from now on, or stop (None).

    A secret is made when a webhook is set where there was none; stopping drops
    it, so stopping and setting again rotates the secret.
    """
    with db.writing() as session:
        stored = session.get(Publisher, publisher.id)
        assert stored is not None
        stored.webhook_url = url
        stored.webhook_failures = 0  # a new receiver starts afresh
        stored.webhook_paused_until = None
        if url is None:
            stored.webhook_secret = None
        elif not stored.webhook_secret:
            stored.webhook_secret = secrets.token_hex(32)
    return stored


def _claimable(now: datetime) -> list[ColumnElement[bool]]:
    """Where an outbox row may be claimed: due, not claimed, its publisher neither
    waiting after failures nor with a delivery in flight (one at a time each)."""
    in_flight = aliased(Outbox)
    return [
        Outbox.next_attempt_at <= now,
        (Outbox.claimed_until.is_(None)) | (Outbox.claimed_until < now),
        (Publisher.webhook_paused_until.is_(None)) | (Publisher.webhook_paused_until <= now),
        ~select(in_flight.id)
        .where(in_flight.publisher_id == Outbox.publisher_id, in_flight.claimed_until >= now)
        .exists(),
    ]


def due_publishers(limit: int, busy: Collection[int]) -> list[int]:
    """Return up to ``limit`` publishers not ``busy`` with deliveries to claim, oldest first."""
    oldest = func.min(Outbox.id)
    rows = db.session.execute(
        select(Outbox.publisher_id)
        .join(Publisher, Publisher.id == Outbox.publisher_id)
        .where(*_claimable(utcnow()), Outbox.publisher_id.not_in(busy))
        .group_by(Outbox.publisher_id)
        .order_by(oldest)
        .limit(limit)
    )
    return list(rows.scalars())


def claim_delivery(publisher_id: int, lease_seconds: float) -> tuple[Outbox, Publisher] | None:
    """Claim a due webhook delivery of the publisher for ``lease_seconds``, or return None.

    The deliveries tried least are claimed first, oldest first among them: one a
    receiver keeps refusing does not hold up the others. While claimed, no other
    worker takes it; a worker that dies mid-attempt lets the claim lapse, and the
    delivery is attempted again.
    """
    now = utcnow()
    with db.writing() as session:
        entry = session.scalar(
            select(Outbox)
            .join(Publisher, Publisher.id == Outbox.publisher_id)
            .where(Outbox.publisher_id == publisher_id, *_claimable(now))
            .order_by(Outbox.attempts, Outbox.id)
            .limit(1)
            .with_for_update(skip_locked=True, of=Outbox)
        )
        if entry is None:
            return None
        entry.claimed_until = now + timedelta(seconds=lease_seconds)
        publisher = session.get(Publisher, entry.publisher_id)
    assert publisher is not None  # the outbox row cascades with its publisher
    return entry, publisher


def finish_delivery(entry_id: int, error: str | None, wait: Callable[[int], float]) -> None:
    """Record an attempt: a delivered entry is deleted (it held a reader's address),
    a failed one is due again in ``wait(its failed attempts)`` seconds, and all of its
    publisher's wait ``wait(the publisher's failures in a row)``; a success ends that."""
    with db.writing() as session:
        entry = session.get(Outbox, entry_id)
        if entry is None:  # forgotten meanwhile
            return
        publisher = session.get(Publisher, entry.publisher_id)
        assert publisher is not None
        if error is None:
            session.delete(entry)
            publisher.webhook_failures = 0
            publisher.webhook_paused_until = None
            return
        entry.attempts += 1
        entry.claimed_until = None
        entry.last_error = error[:500]
        entry.next_attempt_at = utcnow() + timedelta(seconds=wait(entry.attempts))
        publisher.webhook_failures += 1
        publisher.webhook_paused_until = utcnow() + timedelta(
            seconds=wait(publisher.webhook_failures)
        )


def take_lease(name: str, seconds: float) -> bool:
    """Take the job ``name`` for ``seconds`` unless another process holds it; say if taken."""
    now = utcnow()
    try:
        with db.writing() as session:
            lease = session.get(Lease, name, with_for_update=True)
            if lease is None:
                session.add(Lease(name=name, until=now + timedelta(seconds=seconds)))
                return True
            if lease.until > now:
                return False
            lease.until = now + timedelta(seconds=seconds)
            return True
    except IntegrityError:  # another process took it a moment ago
        return False


def add_events(events: list[dict[str, Any]]) -> None:
    """Store raw analytics events."""
    db.write(lambda sql: sql.execute(insert(Event), events))
