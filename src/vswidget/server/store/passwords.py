"""The passwords publishers log into the dashboard with: only their hashes are kept."""

from __future__ import annotations

import functools

from sqlalchemy import delete, update
from werkzeug.security import check_password_hash, generate_password_hash

from ...errors import ValidationError
from ..extensions import db
from ..models import dashboard_sessions, publishers
from .publishers import Publisher, find_publisher, get_publisher

MIN_PASSWORD_LENGTH = 10


def set_password(handle: str, password: str) -> None:
    """Set the password a publisher logs into the dashboard with (only a hash is kept);
    end every dashboard session of the publisher."""
    if len(password) < MIN_PASSWORD_LENGTH:
        message = f"Must be at least {MIN_PASSWORD_LENGTH} characters."
        raise ValidationError(f"The password is too short: {message}", {"password": [message]})
    with db.writing() as sql:
        publisher = get_publisher(handle)
        sql.execute(
            update(publishers)
            .where(publishers.c.id == publisher.id)
            .values(password_hash=generate_password_hash(password))
        )
        # Whoever logged in with the old password is logged out.
        sql.execute(
            delete(dashboard_sessions).where(dashboard_sessions.c.publisher_id == publisher.id)
        )


def publisher_for_login(handle: str, password: str) -> Publisher | None:
    """Return the publisher whose handle and password these are."""
    publisher = find_publisher(handle)
    if publisher is None or not publisher.password_hash:
        check_password_hash(_dummy_hash(), password)  # as slow as a real check: no oracle
        return None
    return publisher if check_password_hash(publisher.password_hash, password) else None


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash("not the password of anyone")
