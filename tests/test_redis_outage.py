"""When Redis is away (the cache and the rate limits' counters), readers and publishers are
still served from the database, and readers are not refused for it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import make_app

from vswidget.server.extensions import db

API = "/api/v1/comparisons"
NOBODY_LISTENS = "redis://127.0.0.1:9/0"  # the discard port: connections are refused


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = make_app(
        database_url, tmp_path, CACHE_URL=NOBODY_LISTENS, RATELIMIT_STORAGE_URL=NOBODY_LISTENS
    )
    yield app
    db.dispose(app)


@pytest.fixture
def token(client: FlaskClient, auth: dict[str, str], document: dict[str, Any]) -> str:
    response = client.post(API, json=document, headers=auth)
    assert response.status_code == 201
    return str(response.json["embed"]["token"])


def test_payloads_and_pages_are_built_from_the_database(client: FlaskClient, token: str) -> None:
    for path in (f"/v1/payload/{token}", f"/v1/payloads?t={token}", f"/embed/{token}"):
        for _ in "12":
            assert client.get(path).status_code == 200
    assert client.get("/c/acme/kettle-vs-moka-pot").status_code == 200


def test_a_vote_is_stored_and_answered(client: FlaskClient, token: str) -> None:
    ticket = client.get(f"/v1/payload/{token}").json["ticket"]
    answer = client.post("/v1/votes", json={"ticket": ticket, "item": "moka"})
    assert answer.status_code == 200
    assert answer.json["items"]["moka"] == {"votes": 1, "community": 100}
    after = client.get(f"/v1/payload/{token}").json
    assert [item["community"] for item in after["items"]] == [0, 100]


def test_a_publishers_change_is_saved_and_served(
    client: FlaskClient, auth: dict[str, str], document: dict[str, Any], token: str
) -> None:
    changed = document | {"title": "Kettle or Moka, settled"}
    assert client.put(f"{API}/{document['slug']}", json=changed, headers=auth).status_code == 200
    assert client.get(f"/v1/payload/{token}").json["title"] == "Kettle or Moka, settled"


def test_readiness_names_the_cache_and_the_log_says_it_once(
    client: FlaskClient, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="vswidget.server.redis_cache"):
        for _ in range(5):
            client.get(f"/v1/payload/{token}")
    assert len(caplog.records) <= 1
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json["checks"]["cache"] == "unreachable"


def test_readers_are_let_through_and_the_log_says_it_once(
    client: FlaskClient, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    ticket = client.get(f"/v1/payload/{token}").json["ticket"]
    with caplog.at_level(logging.WARNING, logger="vswidget.server.address_limits"):
        for item in ("moka", "kettle", "moka"):
            vote = client.post("/v1/votes", json={"ticket": ticket, "item": item})
            assert vote.status_code == 200
            assert "X-RateLimit-Limit" not in vote.headers
    assert len(caplog.records) <= 1
