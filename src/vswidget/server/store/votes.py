"""Reader votes: casting one (the busiest write) and the tallies payloads read."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from ...errors import NotFound, ValidationError
from .. import upserts
from ..extensions import db
from ..models import utcnow, vote_tallies, votes
from ..prepared import Prepared


def vote_counts(comparison_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Return, per comparison, the reader votes per item key."""
    counts: dict[int, dict[str, int]] = {}
    rows = db.connection.execute(
        select(vote_tallies.c.comparison_id, vote_tallies.c.item_key, vote_tallies.c.count).where(
            vote_tallies.c.comparison_id.in_(list(comparison_ids))
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
    select(vote_tallies.c.item_key, vote_tallies.c.count).where(
        vote_tallies.c.comparison_id == bindparam("comparison")
    )
)
_VOTE_BY_ID = Prepared(
    select(votes.c.id, votes.c.item_key, votes.c.voter)
    .where(votes.c.comparison_id == bindparam("comparison"), votes.c.id == bindparam("vote"))
    .with_for_update()
)
_VOTE_BY_VOTER = Prepared(
    select(votes.c.id, votes.c.item_key, votes.c.voter)
    .where(votes.c.comparison_id == bindparam("comparison"), votes.c.voter == bindparam("voter"))
    .with_for_update()
)


@functools.cache
def _first_vote(dialect: str) -> Prepared:
    """A reader's first vote; no row when they have one already. When the same reader
    votes twice at once, one inserts and the other waits for it, then finds its vote."""
    return Prepared(
        upserts.insert(dialect, votes)
        .values(
            comparison_id=bindparam("comparison"),
            item_key=bindparam("item"),
            voter=bindparam("voter"),
            created_at=bindparam("now"),
            updated_at=bindparam("now"),
        )
        .on_conflict_do_nothing(index_elements=[votes.c.comparison_id, votes.c.voter])
        .returning(votes.c.id)
    )


_MOVE_VOTE = Prepared(
    update(votes)
    .where(votes.c.id == bindparam("vote"))
    .values(item_key=bindparam("item"), updated_at=bindparam("now"))
)
_BUMP = Prepared(
    update(vote_tallies)
    .where(
        vote_tallies.c.comparison_id == bindparam("comparison"),
        vote_tallies.c.item_key == bindparam("item"),
    )
    .values(count=vote_tallies.c.count + bindparam("delta"))
    .returning(vote_tallies.c.count)
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
