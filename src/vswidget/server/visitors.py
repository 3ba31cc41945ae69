"""Who a reader is today, without knowing who they are: a daily-salted hash.

The hash mixes a secret salt of the current UTC day with a scope (one comparison),
the reader's address (an IPv6 reader's network, see networks.py) and user agent. The
salt of a day is deleted once the day is over, so no hash can be recomputed later,
nothing links a reader across days or across comparisons, and no address is ever stored.

Salts live in the database, the one store every worker of every host shares: all
of them hash a reader alike on the same day, whichever one the reader reaches.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, date, datetime

from flask import current_app, request
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from .extensions import db
from .models import salts
from .networks import reader_address


def today() -> date:
    return datetime.now(UTC).date()


def daily_salt() -> str:
    """Return today's salt, making it (and deleting older ones) at the first call of the day."""
    day = today()
    known: dict[date, str] = current_app.extensions.setdefault("vswidget.salts", {})
    if day not in known:
        known.clear()
        known[day] = _stored_salt(day)
    return known[day]


def _stored_salt(day: date) -> str:
    stored_on_day = select(salts.c.value).where(salts.c.day == day)
    salt: str | None = db.connection.scalar(stored_on_day)
    if salt is not None:
        return salt
    try:
        with db.writing() as sql:
            sql.execute(delete(salts).where(salts.c.day < day))
            sql.execute(insert(salts).values(day=day, value=secrets.token_hex(32)))
    except IntegrityError:  # another worker made it first
        pass
    stored: str | None = db.connection.scalar(stored_on_day)
    assert stored is not None
    return stored


def prune_salts() -> int:
    """Delete the salts of past days; return how many.

    The first salt of a day deletes older ones too, but only when a reader comes:
    the background jobs call this so that a quiet day's salt does not outlive it.
    """
    with db.writing() as sql:
        deleted = sql.execute(delete(salts).where(salts.c.day < today()))
    return int(deleted.rowcount)


def visitor_hash(scope: str) -> str:
    """Return the current reader's hash within ``scope`` for today."""
    return _salted(scope, reader_address(), request.headers.get("User-Agent", ""))


def address_hash() -> str:
    """Return today's hash of the current reader's address (an IPv6 one's network) alone,
    whatever its browser: what one address may send is counted by it (event_budgets.py)."""
    return _salted("address", reader_address())


def _salted(*parts: str) -> str:
    material = "\x1f".join((daily_salt(), *parts))
    return hashlib.sha256(material.encode()).hexdigest()[:32]
