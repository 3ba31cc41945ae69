"""The public payload API the widget reads: one request for a page, cached, CORS open."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from helpers import PUBLIC_URL, REDIS_URL, make_app, need
from sqlalchemy import event

from vswidget.server import signing
from vswidget.server.extensions import cache, db

API = "/api/v1/comparisons"


@pytest.fixture
def token(client: FlaskClient, auth: dict[str, str], document: dict[str, Any]) -> str:
    response = client.post(API, json=document, headers=auth)
    return str(response.json["embed"]["token"])


def test_a_payload_is_the_whole_comparison_with_computed_fields(
    client: FlaskClient, token: str
) -> None:
    response = client.get(f"/v1/payload/{token}")
    assert response.status_code == 200
    payload = response.json
    assert payload["title"] == "Electric Kettle vs Moka Pot"
    assert payload["token"] == token
    assert payload["url"] == f"{PUBLIC_URL}/c/acme/kettle-vs-moka-pot"
    assert [item["panel_ship"] for item in payload["items"]] == [100, 50]
    assert [item["community"] for item in payload["items"]] == [None, None]
    assert payload["contested"] == ["moka"]
    assert payload["labels"]["panel_ship"] == "Panel ship"


def test_a_payload_carries_its_signature(app: Flask, client: FlaskClient, token: str) -> None:
    sig = client.get(f"/v1/payload/{token}").json["sig"]
    with app.app_context():
        public_id, version = signing.unsign(signing.PAYLOAD, sig)
    assert version == 1 and isinstance(public_id, str) and len(public_id) == 22


def test_public_reads_are_cors_open_and_cacheable(client: FlaskClient, token: str) -> None:
    for path in (f"/v1/payload/{token}", f"/v1/payloads?t={token}"):
        response = client.get(path, headers={"Origin": "https://blog.example"})
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        cache_control = response.headers["Cache-Control"]
        assert "public" in cache_control and "max-age=60" in cache_control
        assert "stale-while-revalidate" in cache_control
        assert response.headers["ETag"]


def test_if_none_match_answers_304(client: FlaskClient, token: str) -> None:
    for path in (f"/v1/payload/{token}", f"/v1/payloads?t={token}"):
        etag = client.get(path).headers["ETag"]
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.data == b""


def test_one_request_serves_every_widget_of_a_page(
    client: FlaskClient, auth: dict[str, str], document: dict[str, Any], token: str
) -> None:
    other = client.post(API, json={**document, "slug": "tea-vs-coffee"}, headers=auth).json
    second = other["embed"]["token"]
    response = client.get(f"/v1/payloads?t={token}&t={second}&t=forged.token")
    body = response.json
    assert response.status_code == 200
    assert list(body["payloads"]) == [token, second]
    assert body["payloads"][second]["slug"] == "tea-vs-coffee"
    assert body["errors"] == {"forged.token": "No comparison has this embed token."}


@pytest.mark.parametrize("bad", ["", "garbage", "MQ.forged-signature", "x" * 500])
def test_a_bad_or_forged_token_is_a_404_json_error(
    client: FlaskClient, token: str, bad: str
) -> None:
    response = client.get(f"/v1/payload/{bad or token[:-2]}")
    assert response.status_code == 404
    assert response.json["error"]["message"] == "No comparison has this embed token."
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_a_token_signed_with_another_key_is_refused(
    app: Flask, client: FlaskClient, token: str
) -> None:
    comparison_id = 1
    with app.app_context():
        forged = signing.sign(signing.EMBED_TOKEN, comparison_id, ["attacker-key"])
    assert client.get(f"/v1/payload/{forged}").status_code == 404


def test_a_token_of_another_purpose_is_refused(app: Flask, client: FlaskClient, token: str) -> None:
    with app.app_context():
        comparison_id, _ = signing.unsign(
            signing.PAYLOAD, client.get(f"/v1/payload/{token}").json["sig"]
        )
        other = signing.sign(signing.PAYLOAD, comparison_id)
    assert client.get(f"/v1/payload/{other}").status_code == 404


def test_the_batch_needs_one_to_twenty_tokens(client: FlaskClient, token: str) -> None:
    assert client.get("/v1/payloads").status_code == 400
    many = "&".join(f"t={token}{n}" for n in range(21))
    response = client.get(f"/v1/payloads?{many}")
    assert response.status_code == 400
    assert response.json["error"]["fields"] == {"t": ["At most 20."]}


def test_a_deleted_comparisons_token_stops_working(
    client: FlaskClient, auth: dict[str, str], token: str
) -> None:
    assert client.get(f"/v1/payload/{token}").status_code == 200
    client.delete(f"{API}/kettle-vs-moka-pot", headers=auth)
    assert client.get(f"/v1/payload/{token}").status_code == 404


def test_a_publishers_change_is_served_at_once(
    client: FlaskClient, auth: dict[str, str], document: dict[str, Any], token: str
) -> None:
    before = client.get(f"/v1/payload/{token}")
    document["title"] = "Kettle vs Moka, revised"
    client.put(f"{API}/kettle-vs-moka-pot", json=document, headers=auth)
    after = client.get(f"/v1/payload/{token}", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.json["title"] == "Kettle vs Moka, revised"


def test_a_warm_payload_read_runs_no_query(app: Flask, client: FlaskClient, token: str) -> None:
    first = client.get(f"/v1/payload/{token}").data
    statements: list[str] = []
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    assert client.get(f"/v1/payload/{token}").data == first
    assert client.get(f"/v1/payloads?t={token}").status_code == 200
    assert statements == []


@pytest.mark.parametrize(
    ("lang", "locale"), [("de", "de"), ("fr-CA", "fr"), ("xx", "en"), ("", "en")]
)
def test_labels_follow_the_requested_language(
    client: FlaskClient, token: str, lang: str, locale: str
) -> None:
    payload = client.get(f"/v1/payload/{token}?lang={lang}").json
    assert payload["locale"] == locale
    assert (
        client.get(f"/v1/payloads?t={token}&lang={lang}").json["payloads"][token]["locale"]
        == locale
    )


def test_labels_default_to_the_documents_language(
    client: FlaskClient, auth: dict[str, str], document: dict[str, Any]
) -> None:
    token = client.post(API, json={**document, "locale": "es"}, headers=auth).json["embed"]["token"]
    assert client.get(f"/v1/payload/{token}").json["labels"]["community"] == "Comunidad"


def test_widget_js_is_served_cacheable(client: FlaskClient) -> None:
    response = client.get("/widget.js", buffered=True)
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert "max-age=300" in response.headers["Cache-Control"]
    etag = response.headers["ETag"]
    again = client.get("/widget.js", headers={"If-None-Match": etag}, buffered=True)
    assert again.status_code == 304


@pytest.mark.redis
def test_with_redis_an_update_through_one_app_is_served_fresh_by_another(
    database_url: str, tmp_path: Path, document: dict[str, Any]
) -> None:
    url = need("VSWIDGET_TEST_REDIS_URL", REDIS_URL)
    redis.Redis.from_url(url).flushdb()
    first = make_app(database_url, tmp_path, CACHE_URL=url)
    second = make_app(database_url, tmp_path, CACHE_URL=url)
    try:
        with first.app_context():
            from vswidget.server import store

            _, key = store.create_publisher("acme")
        auth = {"Authorization": f"Bearer {key}"}
        token = first.test_client().post(API, json=document, headers=auth).json["embed"]["token"]
        assert second.test_client().get(f"/v1/payload/{token}").json["title"] == document["title"]
        document["title"] = "Changed through the first app"
        first.test_client().put(f"{API}/kettle-vs-moka-pot", json=document, headers=auth)
        assert second.test_client().get(f"/v1/payload/{token}").json["title"] == document["title"]
    finally:
        db.dispose(first)
        db.dispose(second)


def test_a_payload_built_again_has_the_same_etag(
    app: Flask, client: FlaskClient, token: str
) -> None:
    first = client.get(f"/v1/payload/{token}")
    with app.app_context():
        cache.clear()  # as another worker, or after the cache entry expired
    again = client.get(f"/v1/payload/{token}", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_a_forged_host_header_never_reaches_another_readers_payload(
    database_url: str, tmp_path: Path, document: dict[str, Any]
) -> None:
    app = make_app(database_url, tmp_path, PUBLIC_URL=None)
    try:
        with app.app_context():
            from vswidget.server import store

            _, key = store.create_publisher("acme")
        client = app.test_client()
        auth = {"Authorization": f"Bearer {key}"}
        token = client.post(API, json=document, headers=auth).json["embed"]["token"]
        forged = client.get(f"/v1/payload/{token}", headers={"Host": "evil.example"})
        assert forged.json["url"].startswith("http://evil.example/")  # only for the forger
        honest = client.get(f"/v1/payload/{token}", headers={"Host": "vs.example"})
        assert honest.json["url"] == "http://vs.example/c/acme/kettle-vs-moka-pot"
    finally:
        db.dispose(app)
