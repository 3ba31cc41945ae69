"""Failed dashboard logins, counted per address in the database every worker shares.

A login takes a place under each of the address's rates *before* its password is
checked, with one atomic upsert per window (INSERT ... ON CONFLICT DO UPDATE ...
WHERE count < limit RETURNING count, on SQLite and PostgreSQL alike). So however
many logins arrive at once, on however many workers and hosts, at most the limit
of them reach the password check; the others are refused with 429 and count
nothing. A login that succeeds gives its places back: successful logins are not
counted. Windows are fixed (a minute from :00, a day from midnight UTC), as
Flask-Limiter's default strategy, and rows of windows that ended are deleted by
the next login.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from limits import RateLimitItem, parse_many
from sqlalchemy import Connection, delete, update

from ..errors import RateLimited
from . import upserts
from .extensions import db
from .models import login_failures


class TooManyFailures(RateLimited):
    default_message = "Too many failed logins from your address. Try again later."


@dataclass(frozen=True)
class Window:
    """One window of one rate: its length and when it ends, in seconds since the epoch."""

    seconds: int
    ends: int
    limit: int


@dataclass(frozen=True)
class Attempt:
    """The places a login attempt holds, to give back if its password was right."""

    address: str
    windows: tuple[Window, ...]


@functools.lru_cache(maxsize=8)
def _rates(text: str) -> list[RateLimitItem]:
    return parse_many(text)


def windows(rates: str, now: float) -> tuple[Window, ...]:
    """Return the window of each of ``rates`` ("10/minute;100/day") that holds ``now``."""
    found = []
    for rate in _rates(rates):
        seconds = rate.get_expiry()
        found.append(Window(seconds, (int(now) // seconds + 1) * seconds, rate.amount))
    return tuple(found)


def begin(address: str, rates: str) -> Attempt:
    """Take a place under every rate for a login from ``address``, before its password is
    checked; TooManyFailures, with nothing counted, when a rate has none left."""
    now = time.time()
    attempt = Attempt(address[:64], windows(rates, now))

    def take(sql: Connection) -> None:
        sql.execute(delete(login_failures).where(login_failures.c.ends <= int(now)))
        for window in attempt.windows:
            if not _take_place(sql, attempt.address, window):
                # Raised inside the transaction: the places taken before are rolled back.
                raise TooManyFailures(
                    "Too many failed logins from your address. Try again after "
                    f"{datetime.fromtimestamp(window.ends, UTC):%H:%M} UTC.",
                    headers={"Retry-After": str(max(window.ends - int(now), 1))},
                )

    db.write(take)
    return attempt


def _take_place(sql: Connection, address: str, window: Window) -> bool:
    """Count one more failure in ``window`` unless it is full; say whether it counted."""
    insert: Any = upserts.insert(sql.dialect.name, login_failures)
    counted = sql.execute(
        insert.values(address=address, seconds=window.seconds, ends=window.ends, count=1)
        .on_conflict_do_update(
            index_elements=[
                login_failures.c.address,
                login_failures.c.seconds,
                login_failures.c.ends,
            ],
            set_={"count": login_failures.c.count + 1},
            where=login_failures.c.count < window.limit,
        )
        .returning(login_failures.c.count)
    ).first()
    return counted is not None


def succeeded(attempt: Attempt) -> None:
    """Give back the places of a login whose password was right."""

    def give_back(sql: Connection) -> None:
        for window in attempt.windows:
            sql.execute(
                update(login_failures)
                .where(
                    login_failures.c.address == attempt.address,
                    login_failures.c.seconds == window.seconds,
                    login_failures.c.ends == window.ends,
                )
                .values(count=login_failures.c.count - 1)
            )

    db.write(give_back)
