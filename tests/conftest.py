"""Fixtures: an app per test on each storage backend, clients, a live server.

The PostgreSQL backend runs when VSWIDGET_TEST_DATABASE_URL is set. Under
CI=true a missing PostgreSQL or Redis fails the tests that need it instead of
skipping them.
"""

from __future__ import annotations

import copy
import http.server
import os
import threading
import time
import types
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from helpers import (
    CHEAP_PASSWORD_HASH,
    DOCUMENT,
    PASSWORD,
    PUBLIC_URL,
    SECRET,
    Receiver,
    empty_database,
    empty_postgresql,
    log_in,
    make_app,
    new_publisher,
    postgresql_schema,
)
from werkzeug.serving import make_server

from vswidget import Client
from vswidget.server import login_limits, store, visitors
from vswidget.server.extensions import db
from vswidget.server.migrations import upgrade


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


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database on each backend."""
    return empty_database(request, tmp_path)


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = make_app(database_url, tmp_path)
    yield app
    db.dispose(app)


@pytest.fixture
def postgresql_app(postgresql_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on an empty PostgreSQL database alone, for what only PostgreSQL does."""
    empty_postgresql(postgresql_url)
    app = make_app(postgresql_url, tmp_path)
    yield app
    db.dispose(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


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
    monkeypatch.setenv("VSWIDGET_PASSWORD_HASH", CHEAP_PASSWORD_HASH)
    monkeypatch.delenv("VSWIDGET_URL", raising=False)
    monkeypatch.delenv("VSWIDGET_API_KEY", raising=False)
    return CliRunner()


@pytest.fixture
def document() -> dict[str, Any]:
    """A valid comparison document, fresh for each test."""
    return copy.deepcopy(DOCUMENT)


@pytest.fixture
def comparison_id(app: Flask, sdk: Client, document: dict[str, Any]) -> int:
    """acme's comparison (``document``), published, and acme's dashboard password."""
    sdk.publish(document)
    with app.app_context():
        store.set_password("acme", PASSWORD)
        return store.get_comparison(store.get_publisher("acme"), document["slug"]).id


@pytest.fixture
def owner(client: FlaskClient, comparison_id: int) -> FlaskClient:
    """A client logged in to the dashboard as acme."""
    assert log_in(client).status_code == 303
    return client


@pytest.fixture
def one_login_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Failed logins count in windows of the clock (a minute, a day): the tests that use
    this run within one, whenever they start."""
    moment = float(int(time.time()) // 60 * 60 + 30)
    monkeypatch.setattr(login_limits, "time", types.SimpleNamespace(time=lambda: moment))


@pytest.fixture
def today() -> date:
    """Today's UTC day as the app reads it, when the test runs: never at collection, which
    may be on the day before."""
    return visitors.today()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(failures=2)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the base's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.attempts += 1
            state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(503 if state.attempts <= state.failures else 204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
