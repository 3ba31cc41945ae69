"""Generated input for every dashboard page and form: no 5xx, and a refusal changes nothing.

As test_fuzz_api.py does for the API with schemathesis, hypothesis generates the
query and form parameters of every dashboard address (and a parameter of its own
now and then), sent by a logged-in browser with the session's CSRF token. Half the
cases name what exists (the comparison's slug, a valid share link, the right CSRF
token, acme's handle and password), so the answers checked are not only refusals.
Every answer must be one the dashboard documents (200, 303, 400, 403, 404, 410),
and an answer of 400 or more must leave every table as it was.

Bounded: a fixed number of cases per address, derandomized so that every run sends
the same requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import DOCUMENT, PUBLIC_URL, empty_database, make_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from vswidget import Client
from vswidget.server import analytics, models, sessions, store
from vswidget.server.extensions import db
from vswidget.server.views.dashboard.share_links import share_token
from vswidget.server.visitors import today

PASSWORD = "correct horse battery staple"
SLUG = DOCUMENT["slug"]
ORIGIN = "https://blog.example"
CASES = {"sqlite": 60, "postgresql": 30}  # per address
ANSWERS = {200, 303, 400, 403, 404, 410}
RANGE = ("days", "since", "until")

# Where each generated case goes: method, path (SLUG and TOKEN stand for a path
# parameter) and the parameters the page or form reads.
ADDRESSES = [
    ("GET", "/dashboard/", ("page",)),
    ("GET", "/dashboard/c/SLUG", RANGE),
    ("GET", "/dashboard/c/SLUG.csv", RANGE),
    ("POST", "/dashboard/c/SLUG/share", ("csrf", "days", "origin")),
    ("GET", "/dashboard/share/TOKEN", RANGE),
    ("GET", "/dashboard/share/TOKEN.csv", RANGE),
    ("GET", "/dashboard/login", ("next",)),
    ("POST", "/dashboard/login", ("csrf", "handle", "password", "next")),
    ("GET", "/dashboard/logout", ()),
    ("POST", "/dashboard/logout", ("csrf",)),
    ("GET", "/dashboard/SLUG", ()),
]


@dataclass
class Target:
    """The app under test and what exists in it."""

    backend: str
    app: Flask
    token: str
    day: str  # of the stored event, YYYY-MM-DD

    def browser(self) -> tuple[FlaskClient, str]:
        """Return a client logged in as acme, in a session of its own, and its CSRF token."""
        with self.app.app_context():
            session_id = sessions.open_session(store.get_publisher("acme"), timedelta(days=1))
        csrf = f"csrf-{session_id}"
        signer = self.app.session_interface.get_signing_serializer(self.app)  # type: ignore[attr-defined]
        client = self.app.test_client()
        cookie = signer.dumps({"session": session_id, "csrf": csrf})
        client.set_cookie("vsw_dashboard", cookie, path="/dashboard")
        return client, csrf

    def stored(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table."""
        with self.app.app_context():
            return {
                table.name: sorted(map(tuple, db.connection.execute(select(table))), key=repr)
                for table in models.metadata.sorted_tables
            }


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
)
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    """acme with a password, its comparison seen on a blog, and a share link to it."""
    folder = tmp_path_factory.mktemp("fuzz")
    url = empty_database(request, folder)
    app = make_app(url, folder, LOGIN_FAILURE_RATE_LIMIT="1000000/minute")
    with app.app_context():
        _, key = store.create_publisher("acme")
        store.set_password("acme", PASSWORD)
    with Client(PUBLIC_URL, key, transport=httpx.WSGITransport(app=app)) as sdk:
        sdk.publish(DOCUMENT)
    with app.app_context():
        comparison = store.get_comparison(store.get_publisher("acme"), SLUG)
        event = {"comparison_id": comparison.id, "item_key": None, "origin": ORIGIN}
        event.update(path="/post", referrer=None, day=today(), visitor="reader")
        store.add_events([{**event, "type": "view"}])
        analytics.roll_up_all()
        token, _ = share_token(comparison, None, 7)
    yield Target(request.param, app, token, event["day"].isoformat())
    db.dispose(app)


names = st.text(min_size=1, max_size=10)


def values(day: str) -> st.SearchStrategy[str]:
    """A parameter's value: a typical one (``day`` the one with an event), or any text."""
    typical = [
        *("", "1", "0", "-1", "7", "30", "90", "8", "1.5", "1e3", " 7", "99999999999999999999"),
        *(day, "2025-01-01", "2025-02-30", "0001-01-01", "1970-01-01", "9999-12-01"),
        *("9999-12-31", "2025-W01-1", "yesterday"),
        *("acme", PASSWORD, ORIGIN, "https://other.example", "/dashboard/c/x", "//evil.example"),
    ]
    return st.one_of(
        st.sampled_from(typical),
        st.text(max_size=40),
        st.integers().map(str),
        st.dates().map(lambda each: each.isoformat()),
    )


def aimed_value(name: str, csrf: str, day: str) -> str:
    """A value that names what exists, for the parameter ``name``."""
    return {
        "csrf": csrf,
        "handle": "acme",
        "password": PASSWORD,
        "origin": ORIGIN,
        "days": "7",
        "since": day,
        "until": day,
        "page": "1",
        "next": "/dashboard/",
    }[name]


@pytest.mark.parametrize(
    ("method", "path", "reads"), ADDRESSES, ids=[f"{m} {p}" for m, p, _ in ADDRESSES]
)
def test_generated_input_gets_no_5xx_and_a_refusal_changes_nothing(
    target: Target, method: str, path: str, reads: tuple[str, ...]
) -> None:
    sent = 0
    value = values(target.day)

    @settings(
        max_examples=CASES[target.backend],
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        generated=st.fixed_dictionaries({}, optional={name: value for name in reads}),
        extra=st.dictionaries(names, value, max_size=1),
        slug=st.text(max_size=30),
        aimed=st.booleans(),
    )
    def run(generated: dict[str, str], extra: dict[str, str], slug: str, aimed: bool) -> None:
        nonlocal sent
        sent += 1
        client, csrf = target.browser()
        params = {**extra, **generated}
        where = path.replace("SLUG", SLUG if aimed else quote(slug, safe=""))
        where = where.replace("TOKEN", target.token if aimed else quote(slug, safe=""))
        if aimed:
            params.update(
                {
                    name: aimed_value(name, csrf, target.day)
                    for name in reads
                    if name not in generated
                }
            )
            if "csrf" in reads:
                params["csrf"] = csrf
        before = target.stored()
        if method == "GET":
            response = client.get(where, query_string=params)
        else:
            response = client.post(where, data=params)
        assert response.status_code in ANSWERS, (
            f"{response.status_code} for {method} {where} {params}\n{response.text[:500]}"
        )
        if response.status_code >= 400:
            assert response.mimetype == "text/html"
            assert target.stored() == before, f"{method} {where} {params} changed what is stored"

    run()
    assert sent == CASES[target.backend]
