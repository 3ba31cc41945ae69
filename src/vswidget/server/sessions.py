"""Dashboard sessions kept on the server: the cookie names one, the database says
whether it is still open.

The signed cookie holds a random session id; the database keeps only its SHA-256
(a copy of the table opens nothing), its publisher and when it expires. Logging
out deletes the row and a new password deletes every row of its publisher, so a
cookie saved before either opens nothing afterwards. Expired rows are deleted by
the next login.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import ColumnElement, delete, insert, select

from .extensions import db
from .models import dashboard_sessions, publishers, utcnow
from .store import Publisher
from .store.publishers import publisher_from


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _named(session_id: str) -> ColumnElement[bool]:
    return dashboard_sessions.c.id_hash == _hash(session_id)


def open_session(publisher: Publisher, lifetime: timedelta) -> str:
    """Open a session of ``publisher`` for ``lifetime``; return its id, for the cookie only."""
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    with db.writing() as sql:
        sql.execute(delete(dashboard_sessions).where(dashboard_sessions.c.expires_at <= now))
        sql.execute(
            insert(dashboard_sessions).values(
                id_hash=_hash(session_id), publisher_id=publisher.id, expires_at=now + lifetime
            )
        )
    return session_id


def publisher_of(session_id: str) -> Publisher | None:
    """Return the publisher of an open session."""
    row = db.connection.execute(
        select(publishers)
        .join(dashboard_sessions, dashboard_sessions.c.publisher_id == publishers.c.id)
        .where(_named(session_id), dashboard_sessions.c.expires_at > utcnow())
    ).first()
    return None if row is None else publisher_from(row)


def close_session(session_id: str) -> None:
    """End a session: its cookie, wherever a copy of it is, opens nothing any more."""
    with db.writing() as sql:
        sql.execute(delete(dashboard_sessions).where(_named(session_id)))
