"""Event budgets: how many events one address and one comparison may add a day, and
under how many host pages.

Analytics would otherwise grow as fast as anyone can post: one address sending 600
batches of 50 events a minute added 30,000 rows a minute. So, per UTC day:

- an address may send ``EVENT_ADDRESS_BUDGET`` events; it is known by a hash salted with
  the day's visitor salt, so no address is stored and none can be recomputed later;
- a comparison may store ``EVENT_COMPARISON_BUDGET`` events, whoever sends them;
- a comparison's events are stored under at most ``EVENT_PAGES_PER_DAY`` host pages; the
  events of further pages are stored under ``OTHER_PAGES``, so every total stays right.

The counts live in the database, so each budget holds exactly whichever worker or host a
request reaches, on SQLite and PostgreSQL alike. On SQLite they change in the transaction
that stores the events; on PostgreSQL in a short one just before it (``_take_in_two``).
What a budget drops, and the events of a site a comparison does not take events from, are
counted per comparison and day by reason (``event_days``); the widget is answered 204 all
the same, for it can do nothing about either.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    bindparam,
    delete,
    exists,
    insert,
    literal_column,
    select,
    text,
    update,
)

from . import upserts
from .extensions import db
from .models import address_days, event_days, event_pages, events
from .prepared import Prepared

OTHER_PAGES = ("", "")  # the origin and path of the events of pages past the day's cap
OVER_BUDGET, OTHER_HOST = "over_budget", "other_host"  # why events were dropped


@dataclass(frozen=True)
class Budgets:
    """The day's budgets, from the settings."""

    per_address: int
    per_comparison: int
    pages: int

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> Budgets:
        return cls(
            config["EVENT_ADDRESS_BUDGET"],
            config["EVENT_COMPARISON_BUDGET"],
            config["EVENT_PAGES_PER_DAY"],
        )


class Offer(NamedTuple):
    """One comparison's events in a request: each a dict of type, item_key and visitor.

    ``refused`` (OVER_BUDGET, OTHER_HOST) drops them all before any budget: they are
    counted only.
    """

    comparison_id: int
    events: list[dict[str, Any]]
    refused: str | None = None


@dataclass(frozen=True)
class Batch:
    """The events one request offers, all from one host page on one day."""

    day: date
    address: str  # the day's salted hash of the sender's address
    origin: str
    path: str
    referrer: str | None
    offers: list[Offer]


def take(batch: Batch, budgets: Budgets) -> int:
    """Store what the budgets let in of a batch and count what they drop; return how many
    events were stored."""
    if db.engine.dialect.name == "postgresql":
        return _take_in_two(batch, budgets)
    return db.write(lambda sql: _insert(sql, batch, _admit(sql, batch, budgets)))


def _take_in_two(batch: Batch, budgets: Budgets) -> int:
    """On PostgreSQL: count first, in a transaction of its own, then store what was admitted.

    Every event write of a comparison waits for its day row; held until a COMMIT that
    waits for the disk, it let one popular post store some 230 batches a second. The
    counts commit without waiting for the disk instead (synchronous_commit off), so the
    row is held for a few statements. That stays conservative: the events' COMMIT flushes
    the log up to the counts' COMMIT, so after a crash the counts are never below what is
    stored; a crash or an error between the two counts events that are not stored
    (dropped, not admitted, and never acknowledged).
    """
    with db.engine.connect() as sql:
        with sql.begin():
            _NO_FSYNC.run(sql)
            admitted = _admit(sql, batch, budgets)
        if not admitted:
            return 0
        with sql.begin():
            return _insert(sql, batch, admitted)


class Admitted(NamedTuple):
    """What the budgets let in of one comparison's events, and whether they are stored
    under the batch's page (else under OTHER_PAGES)."""

    comparison_id: int
    events: list[dict[str, Any]]
    listed: bool


def _admit(sql: Connection, batch: Batch, budgets: Budgets) -> list[Admitted]:
    """Count a batch's events against the day's budgets; return what they admit."""
    offered = sum(len(offer.events) for offer in batch.offers if offer.refused is None)
    room = _address_room(sql, batch, offered, budgets.per_address) if offered else 0
    admitted = []
    # One lock order for every transaction (the address's row, then comparisons' by id).
    for offer in sorted(batch.offers, key=lambda offer: offer.comparison_id):
        kept = [] if offer.refused else offer.events[:room]
        room -= len(kept)
        dropped = {offer.refused or OVER_BUDGET: len(offer.events) - len(kept)}
        fit, listed = _count(sql, batch, budgets, offer.comparison_id, len(kept), dropped)
        if fit:
            admitted.append(Admitted(offer.comparison_id, kept[:fit], listed))
    return admitted


# Compiled once per database and run on the driver's cursor (prepared.py): built and
# compiled at every request, the budget's statements cost more CPU than the events' insert.
_NO_FSYNC = Prepared(text("SET LOCAL synchronous_commit = off"))
_LISTED = exists().where(
    event_pages.c.comparison_id == bindparam("comparison"),
    event_pages.c.day == bindparam("day"),
    event_pages.c.page == bindparam("page"),
)


@functools.cache
def _count_address(dialect: str) -> Prepared:
    statement = upserts.insert(dialect, address_days).values(
        day=bindparam("day"), address=bindparam("address"), sent=bindparam("offered")
    )
    return Prepared(
        statement.on_conflict_do_update(
            index_elements=[address_days.c.day, address_days.c.address],
            set_={"sent": address_days.c.sent + statement.excluded.sent},
        ).returning(address_days.c.sent)
    )


@functools.cache
def _count_day(dialect: str) -> Prepared:
    """Add to a comparison's day; return its counts, and whether the page is listed.

    The row stays locked until the transaction ends, so the counts stay true while it
    uses them. The page is looked up in the same statement; on PostgreSQL its snapshot
    may predate a page listed by the transaction it waited for, which the page's insert
    (ON CONFLICT DO NOTHING) or a second look then finds.
    """
    statement = upserts.insert(dialect, event_days).values(
        comparison_id=bindparam("comparison"),
        day=bindparam("day"),
        stored=bindparam("stored"),
        pages=literal_column("0"),
        over_budget=bindparam(OVER_BUDGET),
        other_host=bindparam(OTHER_HOST),
    )
    return Prepared(
        statement.on_conflict_do_update(
            index_elements=[event_days.c.comparison_id, event_days.c.day],
            set_={
                name: event_days.c[name] + statement.excluded[name]
                for name in ("stored", OVER_BUDGET, OTHER_HOST)
            },
        ).returning(event_days.c.stored, event_days.c.pages, _LISTED)
    )


@functools.cache
def _list_page(dialect: str) -> Prepared:
    """List a page for a comparison's day; no row when it was listed already."""
    return Prepared(
        upserts.insert(dialect, event_pages)
        .values(comparison_id=bindparam("comparison"), day=bindparam("day"), page=bindparam("page"))
        .on_conflict_do_nothing()
        .returning(event_pages.c.page)
    )


_IS_LISTED = Prepared(select(_LISTED))
_GIVE_BACK = Prepared(
    update(event_days)
    .where(
        event_days.c.comparison_id == bindparam("comparison"), event_days.c.day == bindparam("day")
    )
    .values(
        stored=event_days.c.stored - bindparam("excess"),
        over_budget=event_days.c.over_budget + bindparam("excess"),
        pages=event_days.c.pages + bindparam("new_page"),
    )
)


def _address_room(sql: Connection, batch: Batch, offered: int, budget: int) -> int:
    """Count ``offered`` events against the address's day; return how many fit its budget."""
    count = _count_address(sql.dialect.name)
    sent: int = count.run(sql, day=batch.day, address=batch.address, offered=offered).rows[0][0]
    return max(0, min(offered, budget - (sent - offered)))  # sent before this batch: sent - offered


def _count(
    sql: Connection,
    batch: Batch,
    budgets: Budgets,
    comparison_id: int,
    offered: int,
    dropped: dict[str, int],
) -> tuple[int, bool]:
    """Count one comparison's ``offered`` events against its day, and those ``dropped``;
    return how many fit, and whether they are stored under the batch's page."""
    dialect = sql.dialect.name
    day = {"comparison": comparison_id, "day": batch.day}
    page = page_key(batch.origin, batch.path)
    counts = {OVER_BUDGET: 0, OTHER_HOST: 0, **dropped}
    ((stored, pages, listed),) = (
        _count_day(dialect).run(sql, **day, stored=offered, page=page, **counts).rows
    )
    fit = max(0, min(offered, budgets.per_comparison - (stored - offered)))
    new_page = False
    if fit and not listed:
        if pages < budgets.pages:
            new_page = bool(_list_page(dialect).run(sql, **day, page=page).rows)
            listed = True  # by this transaction, or by the one it waited for
        else:
            listed = bool(_IS_LISTED.run(sql, **day, page=page).rows[0][0])
    if offered > fit or new_page:
        _GIVE_BACK.run(sql, **day, excess=offered - fit, new_page=int(new_page))
    return fit, bool(listed)


def _insert(sql: Connection, batch: Batch, admitted: list[Admitted]) -> int:
    """Store the admitted events; return how many."""
    rows = [
        {
            **event,
            "comparison_id": each.comparison_id,
            "origin": batch.origin if each.listed else OTHER_PAGES[0],
            "path": batch.path if each.listed else OTHER_PAGES[1],
            "referrer": batch.referrer,
            "day": batch.day,
        }
        for each in admitted
        for event in each.events
    ]
    if rows:
        sql.execute(insert(events), rows)
    return len(rows)


def page_key(origin: str, path: str) -> str:
    """Return the short hash a host page is admitted by."""
    return hashlib.blake2b(f"{origin}\x1f{path}".encode(), digest_size=16).hexdigest()


def prune(before: date) -> None:
    """Forget the admitted pages and the addresses' counts of days before ``before``: only
    the current day's are ever read."""
    with db.writing() as sql:
        sql.execute(delete(event_pages).where(event_pages.c.day < before))
        sql.execute(delete(address_days).where(address_days.c.day < before))
