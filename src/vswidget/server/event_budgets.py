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
request reaches, on SQLite and PostgreSQL alike. The events are counted first and only
what the budgets admit is stored (``store_batches``); on PostgreSQL the counts commit on
their own, so that a comparison's day row, which every write of its events waits for, is
held for the time its statement runs, and one flush stores the batches a worker's requests
handed over meanwhile (``_flush``, gathering.py).

What a budget drops, and the events of a site a comparison does not take events from, are
counted per comparison and day by reason (``event_days``); the widget is answered 204 all
the same, for it can do nothing about either.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from contextlib import nullcontext
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
    text,
    update,
)

from . import upserts
from .extensions import db
from .gathering import Gathering
from .models import address_days, event_days, event_pages
from .prepared import Prepared, pipelined_transaction
from .store.events import insert_events

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

    @functools.cached_property
    def page(self) -> str:
        """The key its host page is admitted by: hashed once, read at every step of a flush."""
        return page_key(self.origin, self.path)


def take(batch: Batch, budgets: Budgets) -> int:
    """Store what the budgets let in of a batch and count what they drop; return how many
    events were stored, once they are durable."""
    if db.engine.dialect.name == "postgresql":
        gathering: Gathering[Batch, int] = current_app.extensions["vswidget.event-batches"]
        return gathering.submit(batch)
    return store([batch], budgets)[0]


def init_app(app: Flask) -> None:
    """Give the app its group commit of event batches on PostgreSQL (gathering.py)."""
    app.extensions["vswidget.event-batches"] = Gathering(_flush, MAX_GATHERED)


MAX_GATHERED = 64  # event batches in one flush at most


def _flush(batches: list[Batch]) -> list[int]:
    """On PostgreSQL: store a worker's gathered batches (up to MAX_GATHERED) together, with
    one durable COMMIT for them all."""
    return store(batches, Budgets.of(current_app.config))


def store(batches: list[Batch], budgets: Budgets) -> list[int]:
    """Store batches with ``store_batches`` on a connection of their own: on SQLite in the
    writers' turn; return how many events of each were stored, once they are durable."""
    if db.engine.dialect.name == "postgresql":
        with db.own_transactions() as sql:
            return store_batches(sql, batches, budgets)
    return db.write(lambda sql: store_batches(sql, batches, budgets))


def store_batches(sql: Connection, batches: list[Batch], budgets: Budgets) -> list[int]:
    """Count batches' events against the day's budgets, in their order, as if each came
    alone, and store what the budgets admit; return how many events of each batch were
    stored.

    1. Count the events on each address's day, then on each comparison's day those their
       addresses let through, and read which of their pages the day lists.
    2. Store the events the comparison's budget admits, under their page or OTHER_PAGES,
       and give back to each day what it does not admit, counted as over budget.

    On PostgreSQL each step is a transaction of its own: the counts are one call of
    ``vsw_count_events`` (migration 0017), which commits without waiting for the disk, so
    a comparison's day row, which every write of its events waits for, is held while
    that call runs: not while the worker reads the counts, nor for an fsync. The events'
    COMMIT waits for the disk, and puts the counts' COMMIT, written before it, on the disk
    first. Should the second step fail, or the server stop between the two, the days
    count events that were never stored, nor acknowledged: their budgets are that many
    events short. On SQLite, which has one writer at a time, both steps run in the
    transaction of ``sql``, the counts in Python.
    """
    if sql.dialect.name == "postgresql":
        fits, days = _counted_by_postgresql(sql, batches, budgets)
    else:
        fits, days = _counted(sql, batches, budgets)
    settling = any(_unsettled(batches, day, fits) for day in days.values())
    with pipelined_transaction(sql) if settling else nullcontext():
        listed = {key: _settle(sql, batches, budgets.pages, day, fits) for key, day in days.items()}
        groups = []
        for index, batch in enumerate(batches):
            for place, offer in enumerate(batch.offers):
                if fits[index][place]:
                    page = batch.page in listed[(offer.comparison_id, batch.day)]
                    groups.append(_group(batch, offer, fits[index][place], page))
        insert_events(sql, groups)  # on PostgreSQL, alone: its own durable transaction
    return [sum(of_batch) for of_batch in fits]


class _DayCount(NamedTuple):
    """A comparison's day, counted: the offers of the flush on it, in order, how many
    events were added to its ``stored``, and which of their pages it listed."""

    key: dict[str, Any]  # comparison and day
    offers: list[tuple[int, int]]  # (batch, offer) indexes
    added: int
    listed: set[str]  # page keys


_Counted = tuple[list[list[int]], dict[tuple[int, date], _DayCount]]  # fits, days


def _counted_by_postgresql(sql: Connection, batches: list[Batch], budgets: Budgets) -> _Counted:
    """Count the batches in one call of ``vsw_count_events``, in a transaction of its own;
    return what each comparison's day budget admits of each offer, and the days counted."""
    flush = [
        {
            "day": batch.day.isoformat(),
            "address": batch.address,
            "page": batch.page,
            "offers": [[o.comparison_id, len(o.events), o.refused] for o in batch.offers],
        }
        for batch in batches
    ]
    budgets_ = {"per_address": budgets.per_address, "per_comparison": budgets.per_comparison}
    ((counted,),) = _COUNT_EVENTS.run(sql, flush=json.dumps(flush), **budgets_).rows
    listed: dict[tuple[int, date], set[str]] = {}
    for comparison_id, day, page in counted["listed"]:
        listed.setdefault((comparison_id, date.fromisoformat(day)), set()).add(page)
    added = {(c, date.fromisoformat(d)): n for c, d, n in counted["days"]}
    days = {
        key: _DayCount(
            {"comparison": key[0], "day": key[1]}, offers, added[key], listed.get(key, set())
        )
        for key, offers in _offers_by_day(batches).items()
    }
    return counted["fits"], days


def _counted(sql: Connection, batches: list[Batch], budgets: Budgets) -> _Counted:
    """Count the batches statement by statement, in the transaction of ``sql``; return
    what each comparison's day budget admits of each offer, and the days counted."""
    offered = [_offered(batch) for batch in batches]
    by_address = _count_addresses(sql, batches, offered)
    kept = _kept(batches, offered, by_address, budgets.per_address)
    days, stored = _count_days(sql, batches, kept)
    return _fits(days, kept, stored, budgets.per_comparison), days


def _offers_by_day(batches: list[Batch]) -> dict[tuple[int, date], list[tuple[int, int]]]:
    """Return the (batch, offer) indexes on each comparison's day, in order, the days
    sorted: the order their rows are locked in."""
    by_day: dict[tuple[int, date], list[tuple[int, int]]] = {}
    for index, batch in enumerate(batches):
        for place, offer in enumerate(batch.offers):
            by_day.setdefault((offer.comparison_id, batch.day), []).append((index, place))
    return dict(sorted(by_day.items()))


def _count_addresses(
    sql: Connection, batches: list[Batch], offered: list[int]
) -> list[tuple[list[int], int]]:
    """Count the batches' ``offered`` events on each address's day; return the batches of
    each address, in order, with its new count. One statement per address, in one order
    for every transaction."""
    by_address: dict[tuple[date, str], list[int]] = {}
    for index, batch in enumerate(batches):
        if offered[index]:
            by_address.setdefault((batch.day, batch.address), []).append(index)
    count = _add_to_address(sql.dialect.name)
    return [
        (
            indexes,
            count.run(sql, day=day, address=address, offered=sum(offered[i] for i in indexes)).rows[
                0
            ][0],
        )
        for (day, address), indexes in sorted(by_address.items())
    ]


def _kept(
    batches: list[Batch],
    offered: list[int],
    by_address: list[tuple[list[int], int]],
    budget: int,
) -> list[list[int]]:
    """Return how many events of each offer of each batch its address's budget lets
    through: its room goes to the batch's offers by comparison id; none of a refused one."""
    rooms = [0] * len(batches)
    for indexes, sent in by_address:
        before = sent - sum(offered[i] for i in indexes)
        for index in indexes:  # sent before these batches
            rooms[index] = max(0, min(offered[index], budget - before))
            before += offered[index]
    kept = [[0] * len(batch.offers) for batch in batches]
    for index, batch in enumerate(batches):
        for place, offer in sorted(enumerate(batch.offers), key=lambda o: o[1].comparison_id):
            if offer.refused is None:
                kept[index][place] = min(len(offer.events), rooms[index])
                rooms[index] -= kept[index][place]
    return kept


def _count_days(
    sql: Connection, batches: list[Batch], kept: list[list[int]]
) -> tuple[dict[tuple[int, date], _DayCount], dict[tuple[int, date], int]]:
    """Count what the addresses let through, and what was dropped, on each comparison's
    day, then read which of their pages the day lists; return the days, and each day's
    stored count with these events. One statement per comparison, in one order for every
    transaction."""
    days, stored = {}, {}
    for (comparison_id, day), offers in _offers_by_day(batches).items():
        key = {"comparison": comparison_id, "day": day}
        added = sum(kept[b][o] for b, o in offers)
        dropped = dict.fromkeys(_REASONS, 0)
        for b, o in offers:
            offer = batches[b].offers[o]
            dropped[offer.refused or OVER_BUDGET] += len(offer.events) - kept[b][o]
        ((stored[(comparison_id, day)], _),) = (
            _add_to_day(sql.dialect.name).run(sql, **key, stored=added, **dropped).rows
        )
        pages = sorted({batches[b].page for b, o in offers if kept[b][o]})
        listed = {page for page in pages if _IS_LISTED.run(sql, **key, page=page).rows}
        days[(comparison_id, day)] = _DayCount(key, offers, added, listed)
    return days, stored


def _fits(
    days: dict[tuple[int, date], _DayCount],
    kept: list[list[int]],
    stored: dict[tuple[int, date], int],
    budget: int,
) -> list[list[int]]:
    """Return how many events of each offer of each batch its comparison's day budget
    admits, in the order the batches came."""
    fits = [[0] * len(of_batch) for of_batch in kept]
    for key, day in days.items():
        before = stored[key] - day.added  # stored before these batches
        for index, place in day.offers:
            fits[index][place] = max(0, min(kept[index][place], budget - before))
            before += fits[index][place]
    return fits


def _unsettled(batches: list[Batch], day: _DayCount, fits: list[list[int]]) -> bool:
    """Say whether a day has events to give back, or pages of admitted events to list."""
    admitted = [(b, o) for b, o in day.offers if fits[b][o]]
    return day.added > sum(fits[b][o] for b, o in admitted) or any(
        batches[b].page not in day.listed for b, o in admitted
    )


def _settle(
    sql: Connection, batches: list[Batch], cap: int, day: _DayCount, fits: list[list[int]]
) -> set[str]:
    """Give back to a comparison's day what its budget does not admit, counted as over
    budget, and list the pages of its admitted events that it does not list yet, while
    it has room for them; return the pages it lists.

    Listing a page is rare (its first events of the day): the day's row is locked again
    to do it, and which pages it lists read once more.
    """
    wanted = [batches[b].page for b, o in day.offers if fits[b][o]]
    listed = set(day.listed)
    excess = day.added - sum(fits[b][o] for b, o in day.offers)
    new_pages = 0
    if not listed.issuperset(wanted):
        ((pages,),) = _LOCK_DAY.run(sql, **day.key).rows
        listed = {page for page in set(wanted) if _IS_LISTED.run(sql, **day.key, page=page).rows}
        for page in wanted:
            if page not in listed and pages + new_pages < cap:
                new_pages += len(_list_page(sql.dialect.name).run(sql, **day.key, page=page).rows)
                listed.add(page)  # by this transaction, or by one before it
    if excess or new_pages:
        _GIVE_BACK.send(sql, **day.key, excess=excess, new_pages=new_pages)
    return listed


def _offered(batch: Batch) -> int:
    """Return how many events a batch offers to the budgets: those of offers not refused."""
    return sum(len(offer.events) for offer in batch.offers if offer.refused is None)


def _group(
    batch: Batch, offer: Offer, taken: int, listed: bool
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Return the columns an offer's events share, under its batch's page if ``listed``,
    else under OTHER_PAGES, and its first ``taken`` events."""
    origin, path = (batch.origin, batch.path) if listed else OTHER_PAGES
    where = {"comparison_id": offer.comparison_id, "origin": origin, "path": path}
    return where | {"referrer": batch.referrer, "day": batch.day}, offer.events[:taken]


_REASONS = (OVER_BUDGET, OTHER_HOST)


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


_COUNT_EVENTS = Prepared(
    text("SELECT vsw_count_events(CAST(:flush AS JSON), :per_address, :per_comparison)")
)
_LOCK_DAY = Prepared(
    select(event_days.c.pages)
    .where(
        event_days.c.comparison_id == bindparam("comparison"), event_days.c.day == bindparam("day")
    )
    .with_for_update()
)
_IS_LISTED = Prepared(
    select(event_pages.c.page).where(
        event_pages.c.comparison_id == bindparam("comparison"),
        event_pages.c.day == bindparam("day"),
        event_pages.c.page == bindparam("page"),
    )
)


def page_key(origin: str, path: str) -> str:
    """Return the short hash a host page is admitted by."""
    return hashlib.blake2b(f"{origin}\x1f{path}".encode(), digest_size=16).hexdigest()


def prune(before: date) -> None:
    """Forget the admitted pages and the addresses' counts of days before ``before``: only
    the current day's are ever read."""
    with db.writing() as sql:
        sql.execute(delete(event_pages).where(event_pages.c.day < before))
        sql.execute(delete(address_days).where(address_days.c.day < before))
