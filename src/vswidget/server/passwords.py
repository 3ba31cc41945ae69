"""Dashboard passwords, hashed with the method the PASSWORD_HASH setting names."""

from __future__ import annotations

import functools

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash


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
