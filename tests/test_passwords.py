"""Dashboard passwords are kept only as hashes, made with the method PASSWORD_HASH names.

Every other test runs with a cheap method (helpers.CHEAP_PASSWORD_HASH); the first test
here is the one that keeps the default, scrypt.
"""

from __future__ import annotations

import pytest
from flask import Flask
from helpers import CHEAP_PASSWORD_HASH, PASSWORD, SECRET, new_publisher
from sqlalchemy import select

from vswidget.server import create_app, models, store
from vswidget.server.extensions import db


def kept_hash(app: Flask, handle: str) -> str | None:
    with app.app_context():
        publishers = models.publishers
        kept = select(publishers.c.password_hash).where(publishers.c.handle == handle)
        return db.connection.scalar(kept)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_by_default_a_password_is_kept_as_a_scrypt_hash_and_logs_in(database_url: str) -> None:
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEYS": [SECRET]})
    new_publisher(app, "acme")
    with app.app_context():
        store.set_password("acme", PASSWORD)
        assert store.publisher_for_login("acme", PASSWORD) is not None
        assert store.publisher_for_login("acme", "not the password") is None
        assert store.publisher_for_login("nobody", PASSWORD) is None
    kept = kept_hash(app, "acme")
    assert kept is not None and kept.startswith("scrypt:")
    assert PASSWORD not in kept
    db.dispose(app)


def test_the_password_hash_setting_names_the_method(app: Flask) -> None:
    new_publisher(app, "acme")
    with app.app_context():
        store.set_password("acme", PASSWORD)
        assert store.publisher_for_login("acme", PASSWORD) is not None
        assert store.publisher_for_login("acme", "not the password") is None
    kept = kept_hash(app, "acme")
    assert kept is not None and kept.startswith(f"{CHEAP_PASSWORD_HASH}$")
