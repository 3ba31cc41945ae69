"""The passwords publishers log into the dashboard with: only their hashes are kept, made
with the method the PASSWORD_HASH setting names."""

from __future__ import annotations

import functools

from flask import current_app
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
            .values(password_hash=hash_password(password))
        )
        # Whoever logged in with the old password is logged out.
        sql.execute(
            delete(dashboard_sessions).where(dashboard_sessions.c.publisher_id == publisher.id)
        )


def publisher_for_login(handle: str, password: str) -> Publisher | None:
    """Return the publisher whose handle and password these are."""
    publisher = find_publisher(handle)
    found = publisher is not None and check_password(publisher.password_hash, password)
    return publisher if found else None


def hash_password(password: str) -> str:
    """Return the hash of ``password`` to keep in place of it."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH"])


def check_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` is the one ``password_hash`` was made from.

    Without a hash, the answer is no after as long a check: how long it takes tells
    nothing of whether a publisher or a password exists.
    """
    if not password_hash:
        check_password_hash(_dummy_hash(current_app.config["PASSWORD_HASH"]), password)
        return False
    return check_password_hash(password_hash, password)


@functools.cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash("not the password of anyone", method=method)
