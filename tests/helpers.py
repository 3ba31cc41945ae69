"""What the tests share besides fixtures: settings, an app maker, a document, small steps.

Fixtures live in conftest.py (pytest finds them there); everything a test imports by
name lives here, so that no test module imports another or a conftest.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select, text, update
from sqlalchemy import event as sql_event
from werkzeug.test import TestResponse

from vswidget.server import create_app, models, store
from vswidget.server.extensions import db
from vswidget.server.i18n import LABELS
from vswidget.server.tallies import FEW_VOTES
from vswidget.server.visitors import today
from vswidget.server.webhooks import Courier

SECRET = "test-secret-key-of-at-least-32-bytes"
PUBLIC_URL = "http://vs.test"
IN_CI = os.environ.get("CI", "").lower() == "true"
PG_URL = os.environ.get("VSWIDGET_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("VSWIDGET_TEST_REDIS_URL")
# One round of PBKDF2: a dashboard password hashed in microseconds, not scrypt's ~100 ms.
# test_passwords.py holds the default (scrypt) to what it keeps.
CHEAP_PASSWORD_HASH = "pbkdf2:sha256:1"
PASSWORD = "correct horse battery staple"


def need(what: str, value: str | None) -> str:
    """Return a backend URL, or skip the test (fail it under CI) when it is missing."""
    if value:
        return value
    message = f"{what} is not set"
    if IN_CI:
        pytest.fail(f"{message}; CI must run every backend")
    pytest.skip(message)


# -- databases ------------------------------------------------------------------------


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


# -- the app ----------------------------------------------------------------------------


def make_app(database_url: str, tmp_path: Path, **settings: Any) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEYS": [SECRET],
            "PUBLIC_URL": PUBLIC_URL,
            "PASSWORD_HASH": CHEAP_PASSWORD_HASH,
            **settings,
        }
    )


def event_row(comparison_id: int, kind: str, days_ago: int = 0, **values: Any) -> dict[str, Any]:
    """Return a row of ``events`` as the store adds it: on https://blog.example/post, today,
    by reader-1, without referrer, device or browser, unless ``values`` say otherwise."""
    return {
        "comparison_id": comparison_id,
        "type": kind,
        "item_key": values.get("item"),
        "origin": values.get("origin", "https://blog.example"),
        "path": values.get("path", "/post"),
        "referrer": values.get("referrer"),
        "device": values.get("device"),
        "browser": values.get("browser"),
        "day": today() - timedelta(days=days_ago),
        "visitor": values.get("visitor", "reader-1"),
    }


def new_publisher(app: Flask, handle: str) -> str:
    """Create a publisher and return its API key."""
    with app.app_context():
        _, key = store.create_publisher(handle)
    return key


# -- the dashboard ------------------------------------------------------------------------


def csrf_of(client: FlaskClient, path: str = "/dashboard/login") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found, f"no CSRF token on {path}"
    return found[1]


def log_in(client: FlaskClient, handle: str = "acme", password: str = PASSWORD) -> TestResponse:
    token = csrf_of(client)
    return client.post(
        "/dashboard/login", data={"csrf": token, "handle": handle, "password": password}
    )


# -- webhooks ------------------------------------------------------------------------------


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 that fails its first ``failures`` requests."""

    failures: int
    url: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    attempts: int = 0

    def accepted(self) -> list[tuple[dict[str, str], bytes]]:
        return self.received[self.failures :]


def deliver(app: Flask, http: httpx.Client | None = None) -> int:
    """Run one round of deliveries to its end; return how many succeeded."""
    with app.app_context(), contextlib.closing(Courier(app, http)) as courier:
        return sum(future.result() for future in courier.dispatch())


# -- pages ---------------------------------------------------------------------------------


class Tags(HTMLParser):
    """Collects start tags with their attributes, and the text of script blocks."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [
            a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())
        ]


# -- counts in the reader's language ---------------------------------------------------------

NNBSP = "\u202f"  # French groups digits with a narrow no-break space
# (language, votes): the words under the item's share, on every page and in the widget.
COUNTS = {
    ("en", 0): "0 votes",  # an item's: the poll's own count says "No votes yet"
    ("en", 1): "1 vote",
    ("en", 2): "2 votes",
    ("en", 1234): "1,234 votes",
    ("en", 1_000_000): "1,000,000 votes",
    ("de", 0): "0 Stimmen",
    ("de", 1): "1 Stimme",
    ("de", 2): "2 Stimmen",
    ("de", 1234): "1.234 Stimmen",
    ("de", 1_000_000): "1.000.000 Stimmen",
    ("fr", 0): "0 vote",  # CLDR: French 0 is "one"
    ("fr", 1): "1 vote",
    ("fr", 2): "2 votes",
    ("fr", 1234): f"1{NNBSP}234 votes",
    ("fr", 1_000_000): f"1{NNBSP}000{NNBSP}000 de votes",  # CLDR's "many"
    ("es", 0): "0 votos",
    ("es", 1): "1 voto",
    ("es", 2): "2 votos",
    ("es", 1234): "1234 votos",  # CLDR: Spanish groups from five digits
    ("es", 1_000_000): "1.000.000 de votos",  # CLDR's "many"
}
LANGUAGES = ("en", "de", "fr", "es")
VOTES = (1, 2, 1234, 1_000_000)


def publish_with_votes(
    app: Flask, client: FlaskClient, auth: dict[str, str], document: dict[str, Any], votes: int
) -> str:
    """Publish the document under a slug of its own, its first item with ``votes`` votes and
    the second with none, and return its embed token."""
    document = {**document, "slug": f"counted-{votes}"}
    published = client.post("/api/v1/comparisons", json=document, headers=auth).json
    assert published, "the document was refused"
    comparison = select(models.comparisons.c.id).where(
        models.comparisons.c.slug == document["slug"]
    )
    with app.app_context(), db.writing() as sql:
        sql.execute(
            update(models.vote_tallies)
            .where(models.vote_tallies.c.comparison_id == comparison.scalar_subquery())
            .where(models.vote_tallies.c.item_key == document["items"][0]["key"])
            .values(count=votes)
        )
    return str(published["embed"]["token"])


def expected_texts(lang: str, votes: int) -> dict[str, Any]:
    """Return the line under the question and each item's count, for ``votes`` on the first."""
    count = COUNTS[lang, votes]
    labels = LABELS[lang]
    poll = labels["early" if votes < FEW_VOTES else "total"].replace("{count}", count)
    return {"poll": poll, "counts": [count, COUNTS[lang, 0]]}


# -- what is published -------------------------------------------------------------------------

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


def statements_of(app: Flask) -> list[str]:
    """Return a list that gathers every SQL statement ``app``'s engine runs from now on."""
    statements: list[str] = []
    with app.app_context():
        engine = db.engine
    sql_event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    return statements
