"""Hostile input gets a 4xx in the one error shape, and changes nothing stored.

API key guessing is rate-limited per address; bodies over the limit, deeply nested
JSON, bytes that are not UTF-8, strings that are not Unicode, NUL characters and
huge query strings are refused on the publisher API, the readers' posts, the
payload API and the dashboard: through the Flask app, and for the cases a real
server treats on its own (request line, body size, nesting) through gunicorn.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import DOCUMENT, csrf_of, make_app, new_publisher
from live import LiveServer
from sqlalchemy import select

from vswidget.errors import ConfigurationError
from vswidget.server import inbound, models
from vswidget.server.extensions import db

HUMAN = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
DEEP = b"[" * 100_000
NOT_UTF8 = b'{"slug": "\xff\xfe", "title": "\xc3\x28"}'
LONE_SURROGATE = json.dumps({**DOCUMENT, "title": "\ud800 Kettle"}).encode()
NUL = json.dumps({**DOCUMENT, "title": "Kettle\x00"}).encode()
HUGE_QUERY = "&".join(f"t={n}" for n in range(10_000))  # 10,000 parameters, 78 KB
LONG_QUERY = "t=" + "a" * 100_000  # one 100 KB parameter


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = make_app(database_url, tmp_path, AUTH_FAILURE_RATE_LIMIT="5/minute")
    yield app
    db.dispose(app)


@pytest.fixture
def published(client: FlaskClient, auth: dict[str, str]) -> dict[str, str]:
    """The test document, published: its embed token and vote ticket."""
    response = client.put(f"/api/v1/comparisons/{DOCUMENT['slug']}", json=DOCUMENT, headers=auth)
    assert response.status_code == 201
    token = response.json["embed"]["token"]  # type: ignore[index]
    ticket = client.get(f"/v1/payload/{token}").json["ticket"]  # type: ignore[index]
    return {"token": token, "ticket": ticket}


def stored(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: what a refused request must leave as it was."""
    with app.app_context():
        sql = db.connection
        return {
            table.name: sorted(map(tuple, sql.execute(select(table)).all()), key=repr)
            for table in models.metadata.sorted_tables
        }


def assert_refused(response: Any, *statuses: int) -> dict[str, Any]:
    """A 4xx among ``statuses``; JSON answers in the one error shape."""
    assert response.status_code in statuses, response.get_data(as_text=True)[:300]
    if response.mimetype != "application/json":
        return {}
    error: dict[str, Any] = response.json["error"]
    assert set(error) == {"status", "message", "fields"}
    assert error["status"] == response.status_code
    return error


# -- API key guessing ------------------------------------------------------------


def test_guessing_api_keys_is_answered_429_after_the_limit(
    app: Flask, client: FlaskClient, auth: dict[str, str], published: dict[str, str]
) -> None:
    before = stored(app)
    guesses = [{"Authorization": f"Bearer vsw_guess{n}"} for n in range(5)]
    for headers in guesses:
        assert_refused(client.get("/api/v1/comparisons", headers=headers), 401)

    refused = client.delete(f"/api/v1/comparisons/{DOCUMENT['slug']}", headers=guesses[0])
    error = assert_refused(refused, 429)
    assert int(refused.headers["Retry-After"]) > 0
    assert "Too many requests" in error["message"]
    # Over the limit, no key is even looked up: the right one is refused too...
    assert_refused(client.get("/api/v1/comparisons", headers=auth), 429)
    # ...from this address only.
    other = client.get(
        "/api/v1/comparisons", headers=auth, environ_base={"REMOTE_ADDR": "10.9.8.7"}
    )
    assert other.status_code == 200
    assert stored(app) == before


def test_a_missing_or_malformed_key_counts_as_a_failure(client: FlaskClient) -> None:
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer "}):
        assert_refused(client.get("/api/v1/comparisons", headers=headers), 401)
    for _ in range(2):
        assert_refused(client.get("/api/v1/signups"), 401)
    assert_refused(client.get("/api/v1/signups"), 429)


def test_requests_with_a_valid_key_are_never_counted(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    for _ in range(30):
        assert client.get("/api/v1/comparisons", headers=auth).status_code == 200
    bad = {"Authorization": "Bearer vsw_wrong"}
    for _ in range(5):
        assert_refused(client.get("/api/v1/comparisons", headers=bad), 401)
    assert_refused(client.get("/api/v1/comparisons", headers=bad), 429)


def test_the_public_api_and_the_openapi_document_are_not_limited(
    client: FlaskClient, published: dict[str, str]
) -> None:
    for _ in range(6):
        assert_refused(client.get("/api/v1/comparisons"), 401, 429)
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get(f"/v1/payload/{published['token']}").status_code == 200


def test_an_unreadable_auth_failure_limit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="VSWIDGET_AUTH_FAILURE_RATE_LIMIT"):
        make_app("sqlite://", tmp_path, AUTH_FAILURE_RATE_LIMIT="twenty a minute")


def test_guessing_dashboard_passwords_is_answered_429_after_ten(
    app: Flask, client: FlaskClient
) -> None:
    new_publisher(app, "guessed")
    csrf = csrf_of(client)
    for n in range(10):
        form = {"csrf": csrf, "handle": "guessed", "password": f"guess-{n:04d}-password"}
        assert client.post("/dashboard/login", data=form).status_code == 200
    form = {"csrf": csrf, "handle": "guessed", "password": "one-guess-too-many"}
    assert_refused(client.post("/dashboard/login", data=form), 429)


# -- bad bytes through the app ---------------------------------------------------


def test_bodies_over_the_limit_get_413(
    app: Flask, client: FlaskClient, auth: dict[str, str], published: dict[str, str]
) -> None:
    before = stored(app)
    big = b'{"title": "' + b"x" * (app.config["MAX_BODY_BYTES"] + 1) + b'"}'
    json_type = {"Content-Type": "application/json"}
    assert_refused(client.post("/api/v1/comparisons", data=big, headers=auth | json_type), 413)
    for path in ("/v1/votes", "/v1/signups", "/v1/events"):
        # The readers' limit is 4 KiB, well under MAX_BODY_BYTES.
        assert_refused(client.post(path, data=b" " * 5000 + b"{}", content_type="text/plain"), 413)
    form = "application/x-www-form-urlencoded"
    assert_refused(client.post("/dashboard/login", data=b"a=" + big, content_type=form), 413)
    assert stored(app) == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (DEEP, "nests JSON too deeply"),
        (NOT_UTF8, "not valid JSON"),
        (LONE_SURROGATE, "lone surrogate"),
        (NUL, "NUL character"),
    ],
    ids=["100,000 levels of [", "not UTF-8", "lone surrogate", "NUL"],
)
def test_unreadable_json_gets_400_everywhere_and_changes_nothing(
    app: Flask,
    client: FlaskClient,
    auth: dict[str, str],
    published: dict[str, str],
    body: bytes,
    message: str,
) -> None:
    before = stored(app)
    json_type = {"Content-Type": "application/json"}
    slug = DOCUMENT["slug"]
    for method, path in (("POST", "/api/v1/comparisons"), ("PUT", f"/api/v1/comparisons/{slug}")):
        response = client.open(path, method=method, data=body, headers=auth | json_type)
        assert message in assert_refused(response, 400)["message"]
    if body is not DEEP:  # the readers' bodies are limited to 4 KiB before they are read
        body = body[:4000]
    for path in ("/v1/votes", "/v1/signups", "/v1/events"):
        response = client.post(path, data=body, content_type="text/plain")
        assert_refused(response, 400, 413)
    assert stored(app) == before


@pytest.mark.parametrize(
    "text",
    ["\x00", "\ud800", "http://[::1", "http://host:99999/"],
    ids=["NUL", "lone surrogate", "broken IPv6 host", "port out of range"],
)
def test_unstorable_host_pages_are_refused(
    app: Flask, client: FlaskClient, published: dict[str, str], text: str
) -> None:
    before = stored(app)
    events = [{"type": "view", "token": published["token"]}]
    for batch in (
        {"page": f"https://blog.example/{text}", "events": events},
        {"page": text, "events": events},
    ):
        body = json.dumps(batch).encode()
        response = client.post(
            "/v1/events", data=body, content_type="text/plain", headers={"User-Agent": HUMAN}
        )
        if batch["page"].startswith("https://blog.example/") and text.startswith("http"):
            assert response.status_code == 204  # a path that merely looks odd is a path
            continue
        assert_refused(response, 400, 422)
    if not text.startswith("http"):
        assert stored(app) == before


def test_a_broken_referrer_is_dropped_not_a_500(
    client: FlaskClient, published: dict[str, str]
) -> None:
    body = {
        "page": "https://blog.example/post",
        "referrer": "http://[broken",
        "events": [{"type": "impression", "token": published["token"]}],
    }
    response = client.post(
        "/v1/events",
        data=json.dumps(body),
        content_type="text/plain",
        headers={"User-Agent": HUMAN},
    )
    assert response.status_code == 204


@pytest.mark.parametrize(
    "path",
    [
        "/v1/payload/%ff%fe",
        "/v1/payloads?t=%ff%fe",
        "/c/%ff%fe/%c3%28",
        "/embed/%ff",
        "/oembed?url=%ff%fe&format=json",
        "/oembed?url=http://[::1&format=json",
        "/api/v1/comparisons/%ff%fe",
        "/api/v1/signups/%ff%40example.com",
        "/dashboard/login?next=%ff%fe",
    ],
)
def test_urls_that_are_not_utf8_get_a_4xx_or_a_page(
    app: Flask, client: FlaskClient, auth: dict[str, str], published: dict[str, str], path: str
) -> None:
    before = stored(app)
    method = "DELETE" if path.startswith("/api/v1/signups") else "GET"
    response = client.open(path, method=method, headers=auth)
    assert response.status_code < 500
    assert response.status_code in {200, 404} or 400 <= response.status_code < 500
    assert stored(app) == before


@pytest.mark.parametrize(
    "path",
    [
        "/v1/payload/x%00y",
        "/v1/payloads?t=x%00y",
        "/c/acme%00/kettle",
        "/api/v1/comparisons/kettle%00",
        "/api/v1/signups/a%00@example.com",
        "/dashboard/login?next=/dashboard/%00",
    ],
)
def test_nul_in_a_url_gets_400(
    app: Flask, client: FlaskClient, auth: dict[str, str], published: dict[str, str], path: str
) -> None:
    before = stored(app)
    method = "DELETE" if path.startswith("/api/v1/signups") else "GET"
    error = assert_refused(client.open(path, method=method, headers=auth), 400)
    if error:
        assert "NUL" in error["message"]
    assert stored(app) == before


def test_nul_in_a_dashboard_form_gets_400(app: Flask, client: FlaskClient) -> None:
    new_publisher(app, "formed")
    csrf = csrf_of(client)
    form = {"csrf": csrf, "handle": "formed\x00", "password": "whatever-password"}
    assert_refused(client.post("/dashboard/login", data=form), 400)


@pytest.mark.parametrize("query", [HUGE_QUERY, LONG_QUERY], ids=["10,000 params", "100 KB"])
@pytest.mark.parametrize("path", ["/v1/payloads", "/api/v1/comparisons", "/dashboard/login"])
def test_huge_query_strings_get_414(
    client: FlaskClient, auth: dict[str, str], published: dict[str, str], path: str, query: str
) -> None:
    assert_refused(client.get(f"{path}?{query}", headers=auth), 414)


# -- the same through gunicorn ---------------------------------------------------


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    """``vswidget serve`` on 127.0.0.1, one publisher and the test document."""
    server = LiveServer(tmp_path_factory.mktemp("hostile"), workers=1).start()
    try:
        key = server.new_publisher("acme")
        auth = {"Authorization": f"Bearer {key}"}
        put = httpx.put(
            f"{server.base}/api/v1/comparisons/{DOCUMENT['slug']}", json=DOCUMENT, headers=auth
        )
        assert put.status_code == 201
        yield server, key
    finally:
        server.stop()


@pytest.mark.parametrize("query", [HUGE_QUERY, LONG_QUERY], ids=["10,000 params", "100 KB"])
@pytest.mark.parametrize("path", ["/v1/payloads", "/api/v1/comparisons", "/dashboard/login"])
def test_gunicorn_refuses_huge_query_strings_with_a_4xx(
    gunicorn: tuple[LiveServer, str], path: str, query: str
) -> None:
    server, key = gunicorn
    # http.client: httpx refuses to send a URL this long.
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", f"{path}?{query}", headers={"Authorization": f"Bearer {key}"})
    response = connection.getresponse()
    connection.close()
    assert response.status in {400, 414}


@pytest.mark.parametrize("path", ["/api/v1/comparisons", "/v1/votes", "/v1/events"])
def test_gunicorn_answers_deep_json_400_and_keeps_serving(
    gunicorn: tuple[LiveServer, str], path: str
) -> None:
    server, key = gunicorn
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    headers["User-Agent"] = HUMAN  # the events of a bot's user agent are dropped unread
    response = httpx.post(f"{server.base}{path}", content=DEEP, headers=headers, timeout=10)
    assert response.status_code in {400, 413}
    assert response.json()["error"]["status"] == response.status_code
    listed = httpx.get(f"{server.base}/api/v1/comparisons", headers=headers, timeout=10)
    assert [c["slug"] for c in listed.json()] == [DOCUMENT["slug"]]


def test_gunicorn_answers_bodies_over_the_limit_413(gunicorn: tuple[LiveServer, str]) -> None:
    server, key = gunicorn
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    body = b'{"title": "' + b"x" * (600 * 1024) + b'"}'
    response = httpx.post(f"{server.base}/api/v1/comparisons", content=body, headers=headers)
    assert response.status_code == 413


@pytest.mark.parametrize(
    "body",
    [
        '{"page": "\\u0000"}'.encode("utf-16"),  # an escape, in a text that is not ASCII
        b'{"page": "\xed\xa0\x80"}',  # a surrogate encoded in UTF-8, which JSON decodes
        '{"page": "\ud800"}',  # in a str, as the SDK may pass it
        b'{"page": "\\u0000"}',
    ],
    ids=["UTF-16 escape", "UTF-8 surrogate", "str surrogate", "escape"],
)
def test_unstorable_text_is_found_however_the_json_is_written(body: str | bytes) -> None:
    with pytest.raises(inbound.Unreadable):
        inbound.loads(body)
