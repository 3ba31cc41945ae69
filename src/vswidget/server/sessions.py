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

from sqlalchemy import ColumnElement, delete, select

from .extensions import db
from .models import DashboardSession, Publisher, utcnow


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _named(session_id: str) -> ColumnElement[bool]:
    return DashboardSession.id_hash == _hash(session_id)


def open_session(publisher: Publisher, lifetime: timedelta) -> str:
    """Open a session of ``publisher`` for ``lifetime``; return its id, for the cookie only."""
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    with db.writing() as session:
        session.execute(delete(DashboardSession).where(DashboardSession.expires_at <= now))
        session.add(
            DashboardSession(
                id_hash=_hash(session_id), publisher_id=publisher.id, expires_at=now + lifetime
            )
        )
    return session_id


def publisher_of(session_id: str) -> Publisher | None:
    """Return the publisher of an open session."""
    return db.session.scalar(
        select(Publisher)
        .join(DashboardSession, DashboardSession.publisher_id == Publisher.id)
        .where(
            DashboardSession.id_hash == _hash(session_id), DashboardSession.expires_at > utcnow()
        )
    )


def close_session(session_id: str) -> None:
    """End a session: its cookie, wherever a copy of it is, opens nothing any more."""
    with db.writing() as session:
        session.execute(
            delete(DashboardSession).where(DashboardSession.id_hash == _hash(session_id))
        )
