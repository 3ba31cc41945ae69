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
request reaches, on SQLite and PostgreSQL alike. They change in the transaction that
stores the events, after the events are stored, so that a comparison's day row is locked
for the counts and the COMMIT only (``store_batches``); on PostgreSQL one transaction
stores the batches a worker's requests handed over meanwhile (``_flush``, gathering.py).

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

from flask import Flask, current_app
from sqlalchemy import (
    Connection,
    bindparam,
    delete,
    literal_column,
    select,
    update,
)

from . import upserts
from .extensions import db
from .gathering import Gathering
from .models import address_days, event_days, event_pages, events
from .prepared import Prepared
from .store.events import insert_events, new_event_ids

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
    events were stored, once they are durable."""
    if db.engine.dialect.name == "postgresql":
        gathering: Gathering[Batch, int] = current_app.extensions["vswidget.event-batches"]
        return gathering.submit(batch)
    return db.write(lambda sql: store_batches(sql, [batch], budgets)[0])


def init_app(app: Flask) -> None:
    """Give the app its group commit of event batches on PostgreSQL (gathering.py)."""
    app.extensions["vswidget.event-batches"] = Gathering(_flush, MAX_GATHERED)


MAX_GATHERED = 64  # event batches in one flush at most


def _flush(batches: list[Batch]) -> list[int]:
    """On PostgreSQL: count and store a worker's gathered batches in one transaction, one
    COMMIT and one fsync for them all; return how many events of each were stored.

    Every event write of a comparison waits for its day row, held until a COMMIT that
    waits for the disk: one transaction a batch let one popular post store some 230
    batches a second. A transaction a flush holds it as long, for every batch its worker
    gathered meanwhile (up to MAX_GATHERED), and the counts stay exactly what is stored;
    counted after the events' COPY, it is held for the counts and the COMMIT only.
    """
    with db.writing_sql() as sql:
        return store_batches(sql, batches, Budgets.of(current_app.config))


def store_batches(sql: Connection, batches: list[Batch], budgets: Budgets) -> list[int]:
    """Store batches' events, count them against the day's budgets and take back what
    the budgets do not admit, in the transaction of ``sql``; return how many events of
    each batch were stored.

    Stored first, counted last: a comparison's day row stays locked from its count until
    the transaction ends, so it is held for the counts and the COMMIT only, not for the
    events' COPY too. Nothing is seen outside the transaction before its COMMIT, so the
    outcome is the same as counting first: the events the budgets drop are deleted, and
    those of pages past the day's cap moved under OTHER_PAGES, before it.
    """
    offered = _store_offered(sql, batches)
    return _take_back(sql, offered, _admit(sql, batches, budgets))


class Admitted(NamedTuple):
    """What the budgets let in of one offer of a batch: its first ``taken`` events, stored
    under the batch's page if ``listed``, else under OTHER_PAGES."""

    offer: int  # the offer's index in its batch
    taken: int
    listed: bool


class _Claim(NamedTuple):
    """One comparison's events in one batch that its address's budget let through."""

    batch: int  # the batch's index in the flush
    offer: int  # the offer's index in its batch
    comparison_id: int
    kept: list[dict[str, Any]]
    dropped: dict[str, int]  # by reason


def _admit(sql: Connection, batches: list[Batch], budgets: Budgets) -> list[list[Admitted]]:
    """Count batches' events against the day's budgets, in their order, as if each came
    alone; return what they admit of each.

    One statement per address and one per comparison, whatever the number of batches.
    One lock order for every transaction: addresses' rows, then comparisons' by id.
    """
    rooms = _address_rooms(sql, batches, budgets.per_address)
    claims: dict[tuple[int, date], list[_Claim]] = {}
    for index, (batch, room) in enumerate(zip(batches, rooms, strict=True)):
        for place, offer in sorted(enumerate(batch.offers), key=lambda o: o[1].comparison_id):
            kept = [] if offer.refused else offer.events[:room]
            room -= len(kept)
            dropped = {offer.refused or OVER_BUDGET: len(offer.events) - len(kept)}
            claim = _Claim(index, place, offer.comparison_id, kept, dropped)
            claims.setdefault((offer.comparison_id, batch.day), []).append(claim)
    admitted: list[list[Admitted]] = [[] for _ in batches]
    for (comparison_id, day), of_day in sorted(claims.items()):
        for claim, fit, listed in _count_day(sql, batches, budgets, comparison_id, day, of_day):
            if fit:
                admitted[claim.batch].append(Admitted(claim.offer, fit, listed))
    return admitted


# Compiled once per database and run on the driver's cursor (prepared.py): built and
# compiled at every request, the budget's statements cost more CPU than the events' insert.
@functools.cache
def _add_to_address(dialect: str) -> Prepared:
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
def _add_to_day(dialect: str) -> Prepared:
    """Add to a comparison's day; return its counts. The row stays locked until the
    transaction ends, so the counts stay true while it uses them."""
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
        ).returning(event_days.c.stored, event_days.c.pages)
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


_GIVE_BACK = Prepared(
    update(event_days)
    .where(
        event_days.c.comparison_id == bindparam("comparison"), event_days.c.day == bindparam("day")
    )
    .values(
        stored=event_days.c.stored - bindparam("excess"),
        over_budget=event_days.c.over_budget + bindparam("excess"),
        pages=event_days.c.pages + bindparam("new_pages"),
    )
)


def _address_rooms(sql: Connection, batches: list[Batch], budget: int) -> list[int]:
    """Count each batch's offered events against its address's day; return how many of
    each fit the address's budget."""
    offered = [sum(len(o.events) for o in batch.offers if o.refused is None) for batch in batches]
    by_address: dict[tuple[date, str], list[int]] = {}
    for index, batch in enumerate(batches):
        if offered[index]:
            by_address.setdefault((batch.day, batch.address), []).append(index)
    rooms = [0] * len(batches)
    count = _add_to_address(sql.dialect.name)
    for (day, address), indexes in sorted(by_address.items()):
        total = sum(offered[index] for index in indexes)
        sent: int = count.run(sql, day=day, address=address, offered=total).rows[0][0]
        before = sent - total  # sent before these batches
        for index in indexes:
            rooms[index] = max(0, min(offered[index], budget - before))
            before += offered[index]
    return rooms


def _count_day(
    sql: Connection,
    batches: list[Batch],
    budgets: Budgets,
    comparison_id: int,
    day: date,
    claims: list[_Claim],
) -> list[tuple[_Claim, int, bool]]:
    """Count claims on one comparison's day, and what they dropped; return each claim with
    how many of its events fit, and whether they are stored under its batch's page."""
    dialect = sql.dialect.name
    key = {"comparison": comparison_id, "day": day}
    offered = sum(len(claim.kept) for claim in claims)
    counts = {reason: sum(c.dropped.get(reason, 0) for c in claims) for reason in _REASONS}
    ((stored, pages),) = _add_to_day(dialect).run(sql, **key, stored=offered, **counts).rows
    before = stored - offered  # stored before these claims
    fits = []
    for claim in claims:
        fits.append(max(0, min(len(claim.kept), budgets.per_comparison - before)))
        before += fits[-1]
    wanted = [page_key(batches[c.batch].origin, batches[c.batch].path) for c in claims]
    listed = _listed(sql, key, {p for p, fit in zip(wanted, fits, strict=True) if fit})
    new_pages = 0
    for page, fit in zip(wanted, fits, strict=True):
        if fit and page not in listed and pages + new_pages < budgets.pages:
            new_pages += len(_list_page(dialect).run(sql, **key, page=page).rows)
            listed.add(page)  # by this transaction, or by one before it
    excess = offered - sum(fits)
    if excess or new_pages:
        _GIVE_BACK.run(sql, **key, excess=excess, new_pages=new_pages)
    return [
        (claim, fit, page in listed) for claim, fit, page in zip(claims, fits, wanted, strict=True)
    ]


_REASONS = (OVER_BUDGET, OTHER_HOST)


_IS_LISTED = Prepared(
    select(event_pages.c.page).where(
        event_pages.c.comparison_id == bindparam("comparison"),
        event_pages.c.day == bindparam("day"),
        event_pages.c.page == bindparam("page"),
    )
)


def _listed(sql: Connection, key: dict[str, Any], pages: set[str]) -> set[str]:
    """Return which of ``pages`` are listed for a comparison's day (``key``).

    Run after the day's row is locked, by statements of their own: on PostgreSQL their
    snapshots then hold every page listed by the transactions it waited for.
    """
    return {page for page in pages if _IS_LISTED.run(sql, **key, page=page).rows}


def _store_offered(sql: Connection, batches: list[Batch]) -> list[dict[int, list[int]]]:
    """Store every event the batches offer (but those of refused offers) under its
    batch's page, in one INSERT; return the ids of each batch's events by offer."""
    rows: list[dict[str, Any]] = []
    placed: list[dict[int, tuple[int, int]]] = []  # by batch and offer: where its rows are
    for batch in batches:
        placed.append({})
        for place, offer in enumerate(batch.offers):
            if offer.refused is None:
                placed[-1][place] = (len(rows), len(rows) + len(offer.events))
                rows += [
                    {
                        **event,
                        "comparison_id": offer.comparison_id,
                        "origin": batch.origin,
                        "path": batch.path,
                        "referrer": batch.referrer,
                        "day": batch.day,
                    }
                    for event in offer.events
                ]
    ids = new_event_ids(sql, len(rows))
    insert_events(sql, [{"id": id_, **row} for id_, row in zip(ids, rows, strict=True)])
    return [{place: ids[start:end] for place, (start, end) in of.items()} for of in placed]


def _take_back(
    sql: Connection, offered: list[dict[int, list[int]]], admitted: list[list[Admitted]]
) -> list[int]:
    """Delete the stored events the budgets did not admit, and move those of unlisted
    pages under OTHER_PAGES; return how many events of each batch stay stored."""
    excess: list[int] = []
    unlisted: list[int] = []
    stored = []
    for ids_by_offer, of_batch in zip(offered, admitted, strict=True):
        taken = {each.offer: each for each in of_batch}
        for place, ids in ids_by_offer.items():
            each = taken.get(place)
            fit = each.taken if each else 0
            excess += ids[fit:]
            if each and not each.listed:
                unlisted += ids[:fit]
        stored.append(sum(each.taken for each in of_batch))
    if excess:
        sql.execute(delete(events).where(events.c.id.in_(excess)))
    if unlisted:
        sql.execute(
            update(events)
            .where(events.c.id.in_(unlisted))
            .values(origin=OTHER_PAGES[0], path=OTHER_PAGES[1])
        )
    return stored


def page_key(origin: str, path: str) -> str:
    """Return the short hash a host page is admitted by."""
    return hashlib.blake2b(f"{origin}\x1f{path}".encode(), digest_size=16).hexdigest()


def prune(before: date) -> None:
    """Forget the admitted pages and the addresses' counts of days before ``before``: only
    the current day's are ever read."""
    with db.writing() as sql:
        sql.execute(delete(event_pages).where(event_pages.c.day < before))
        sql.execute(delete(address_days).where(address_days.c.day < before))
