"""Fixtures: an app per test on each storage backend, clients, a live server.

The PostgreSQL backend runs when VSWIDGET_TEST_DATABASE_URL is set. Under
CI=true a missing PostgreSQL or Redis fails the tests that need it instead of
skipping them.
"""

from __future__ import annotations

import copy
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from vswidget import Client
from vswidget.server import create_app, models, store
from vswidget.server.extensions import db
from vswidget.server.migrations import upgrade

SECRET = "test-secret-key-of-at-least-32-bytes"
PUBLIC_URL = "http://vs.test"
IN_CI = os.environ.get("CI", "").lower() == "true"
PG_URL = os.environ.get("VSWIDGET_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("VSWIDGET_TEST_REDIS_URL")


def need(what: str, value: str | None) -> str:
    """Return a backend URL, or skip the test (fail it under CI) when it is missing."""
    if value:
        return value
    message = f"{what} is not set"
    if IN_CI:
        pytest.fail(f"{message}; CI must run every backend")
    pytest.skip(message)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """A schema of its own in the test PostgreSQL database, migrated once per session.

    Its own schema lets several test runs share one database without meeting.
    """
    with postgresql_schema(f"vsw_test_{os.getpid()}") as url:
        upgrade(url)
        yield url


@contextmanager
def postgresql_schema(schema: str) -> Iterator[str]:
    """Create ``schema`` in the test PostgreSQL database; yield a URL that uses it; drop it."""
    base = need("VSWIDGET_TEST_DATABASE_URL", PG_URL)
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield base + ("&" if "?" in base else "?") + f"options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def empty_postgresql(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(table.name for table in models.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


def empty_database(request: pytest.FixtureRequest, folder: Path) -> str:
    """Return the URL of a migrated, empty database on the backend ``request.param``
    names (SQLite: a file in ``folder``)."""
    if request.param == "sqlite":
        path = folder / "vswidget.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgresql_url")
    empty_postgresql(url)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database on each backend."""
    return empty_database(request, tmp_path)


def make_app(database_url: str, tmp_path: Path, **settings: Any) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEYS": [SECRET],
            "PUBLIC_URL": PUBLIC_URL,
            **settings,
        }
    )


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = make_app(database_url, tmp_path)
    yield app
    db.dispose(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def new_publisher(app: Flask, handle: str) -> str:
    """Create a publisher and return its API key."""
    with app.app_context():
        _, key = store.create_publisher(handle)
    return key


@pytest.fixture
def api_key(app: Flask) -> str:
    return new_publisher(app, "acme")


@pytest.fixture
def auth(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


@pytest.fixture
def sdk(app: Flask, api_key: str) -> Iterator[Client]:
    """The SDK talking to the app in-process, through WSGI."""
    with Client(PUBLIC_URL, api_key, transport=httpx.WSGITransport(app=app)) as client:
        yield client


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app served over real HTTP on 127.0.0.1, in a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture
def runner(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CLI runner whose server-side commands use the test database."""
    monkeypatch.setenv("VSWIDGET_DATABASE_URL", database_url)
    monkeypatch.setenv("VSWIDGET_SECRET_KEYS", SECRET)
    monkeypatch.delenv("VSWIDGET_URL", raising=False)
    monkeypatch.delenv("VSWIDGET_API_KEY", raising=False)
    return CliRunner()


DOCUMENT: dict[str, Any] = {
    "slug": "kettle-vs-moka-pot",
    "kicker": "Kitchen gear",
    "title": "Electric Kettle vs Moka Pot",
    "question": "Which one should make your morning coffee?",
    "items": [
        {
            "key": "kettle",
            "name": "Electric Kettle",
            "category": "Appliances",
            "tagline": "Boiling water in three minutes, pour-over ready",
            "description": "A gooseneck kettle with temperature control.",
            "price": "$45",
            "url": "https://example.com/kettle",
        },
        {
            "key": "moka",
            "name": "Moka Pot",
            "category": "Stovetop",
            "tagline": "Strong coffee from a stovetop classic",
            "price": "$30",
            "url": "https://example.com/moka",
        },
    ],
    "panel": [
        {
            "name": "The Barista",
            "lens": "Taste in the cup",
            "verdicts": {
                "kettle": {"verdict": "ship", "quote": "Control over every variable."},
                "moka": {"verdict": "skip", "quote": "Bitter unless you watch it."},
            },
        },
        {
            "name": "The Commuter",
            "lens": "Minutes before the train",
            "verdicts": {
                "kettle": {"verdict": "ship", "quote": "Fast and hands-off."},
                "moka": {"verdict": "ship", "quote": "One pot, no filters."},
            },
        },
    ],
    "cta": {"kind": "newsletter", "headline": "Gear, compared", "text": "One verdict a week."},
}


@pytest.fixture
def document() -> dict[str, Any]:
    """A valid comparison document, fresh for each test."""
    return copy.deepcopy(DOCUMENT)
