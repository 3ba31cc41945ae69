"""Event budgets: how many events one address and one comparison may add a day, and
under how many host pages.

Analytics would otherwise grow as fast as anyone can post: one address sending 600
batches of 50 events a minute added 30,000 rows a minute. So, per UTC day:

- an address may send ``EVENT_ADDRESS_BUDGET`` events; it is known by a hash salted with
  the day's visitor salt, so no address is stored and none can be recomputed later;
- a comparison may store ``EVENT_COMPARISON_BUDGET`` events, whoever sends them;
- a comparison's events are stored under at most ``EVENT_PAGES_PER_DAY`` host pages; the
  events of further pages are stored under ``OTHER_PAGES``, so every total stays right.

The counts live in the database and change in the transaction that stores the events,
so each budget holds exactly whichever worker or host a request reaches, on SQLite and
PostgreSQL alike. What a budget drops, and the events of a site a comparison does not
take events from, are counted per comparison and day by reason (``event_days``); the
widget is answered 204 all the same, for it can do nothing about either.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import Connection, delete, exists, insert, select, update

from . import upserts
from .extensions import db
from .models import AddressDay, Event, EventDay, EventPage

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
    return db.write(functools.partial(_take, batch, budgets))


def _take(batch: Batch, budgets: Budgets, sql: Connection) -> int:
    offered = sum(len(offer.events) for offer in batch.offers if offer.refused is None)
    room = _address_room(sql, batch, offered, budgets.per_address) if offered else 0
    stored = 0
    # One lock order for every transaction (the address's row, then comparisons' by id).
    for offer in sorted(batch.offers, key=lambda offer: offer.comparison_id):
        kept = [] if offer.refused else offer.events[:room]
        room -= len(kept)
        dropped = len(offer.events) - len(kept)
        reason = offer.refused or OVER_BUDGET
        stored += _store(sql, batch, budgets, offer.comparison_id, kept, {reason: dropped})
    return stored


def _upsert(sql: Connection, table: Any) -> Any:
    return upserts.insert(sql.dialect.name, table)


def _address_room(sql: Connection, batch: Batch, offered: int, budget: int) -> int:
    """Count ``offered`` events against the address's day; return how many fit its budget."""
    statement = _upsert(sql, AddressDay).values(day=batch.day, address=batch.address, sent=offered)
    sent: int = sql.execute(
        statement.on_conflict_do_update(
            index_elements=[AddressDay.day, AddressDay.address],
            set_={"sent": AddressDay.sent + statement.excluded.sent},
        ).returning(AddressDay.sent)
    ).scalar_one()
    return max(0, min(offered, budget - (sent - offered)))  # sent before this batch: sent - offered


def _store(
    sql: Connection,
    batch: Batch,
    budgets: Budgets,
    comparison_id: int,
    events: list[dict[str, Any]],
    dropped: dict[str, int],
) -> int:
    """Store what fits of one comparison's events in its day; count the rest as dropped.

    The upsert of the comparison's day row locks it until the transaction ends, so the
    counts it returns stay true while this transaction uses them.
    """
    counts = {OVER_BUDGET: 0, OTHER_HOST: 0, **dropped}
    statement = _upsert(sql, EventDay).values(
        comparison_id=comparison_id, day=batch.day, stored=len(events), pages=0, **counts
    )
    stored: int
    pages: int
    stored, pages = sql.execute(
        statement.on_conflict_do_update(
            index_elements=[EventDay.comparison_id, EventDay.day],
            set_={
                name: getattr(EventDay, name) + statement.excluded[name]
                for name in ("stored", OVER_BUDGET, OTHER_HOST)
            },
        ).returning(EventDay.stored, EventDay.pages)
    ).one()
    fit = max(0, min(len(events), budgets.per_comparison - (stored - len(events))))
    excess = len(events) - fit
    listed = fit > 0 and _listed(sql, batch, comparison_id)
    new_page = fit > 0 and not listed and pages < budgets.pages
    if new_page:
        key = page_key(batch.origin, batch.path)
        sql.execute(insert(EventPage).values(comparison_id=comparison_id, day=batch.day, page=key))
    if excess or new_page:
        sql.execute(
            update(EventDay)
            .where(EventDay.comparison_id == comparison_id, EventDay.day == batch.day)
            .values(
                stored=EventDay.stored - excess,
                over_budget=EventDay.over_budget + excess,
                pages=EventDay.pages + int(new_page),
            )
        )
    if not fit:
        return 0
    origin, path = (batch.origin, batch.path) if listed or new_page else OTHER_PAGES
    sql.execute(
        insert(Event),
        [
            {
                **event,
                "comparison_id": comparison_id,
                "origin": origin,
                "path": path,
                "referrer": batch.referrer,
                "day": batch.day,
            }
            for event in events[:fit]
        ],
    )
    return fit


def page_key(origin: str, path: str) -> str:
    """Return the short hash a host page is admitted by."""
    return hashlib.blake2b(f"{origin}\x1f{path}".encode(), digest_size=16).hexdigest()


def _listed(sql: Connection, batch: Batch, comparison_id: int) -> bool:
    """Say whether the batch's page is among the comparison's admitted pages of the day."""
    return bool(
        sql.execute(
            select(
                exists().where(
                    EventPage.comparison_id == comparison_id,
                    EventPage.day == batch.day,
                    EventPage.page == page_key(batch.origin, batch.path),
                )
            )
        ).scalar()
    )


def prune(before: date) -> None:
    """Forget the admitted pages and the addresses' counts of days before ``before``: only
    the current day's are ever read."""
    with db.writing() as session:
        session.execute(delete(EventPage).where(EventPage.day < before))
        session.execute(delete(AddressDay).where(AddressDay.day < before))
