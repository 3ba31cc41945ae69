"""Payload reads the cache holds are answered in front of Flask, exactly as Flask answers them."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, request, request_started
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from vswidget.server.extensions import cache

API = "/api/v1/comparisons"


@pytest.fixture
def tokens(client: FlaskClient, auth: dict[str, str], document: dict[str, Any]) -> list[str]:
    first = client.post(API, json=document, headers=auth).json["embed"]["token"]
    second = client.post(API, json=document | {"slug": "second"}, headers=auth)
    return [first, second.json["embed"]["token"]]


@pytest.fixture
def flask_answers(app: Flask) -> Iterator[list[str]]:
    """The paths Flask itself answered (it started a request) during the test."""
    seen: list[str] = []

    def started(sender: Flask, **extra: Any) -> None:
        seen.append(request.full_path.rstrip("?"))

    request_started.connect(started, app)
    yield seen
    request_started.disconnect(started, app)


# What Flask's answer alone carries: the read limit counts reads Flask answers, not hits.
NOT_COMPARED = {
    "Date",
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
}


def same_answer(built: TestResponse, hit: TestResponse) -> None:
    assert hit.status_code == built.status_code
    assert hit.get_data() == built.get_data()
    assert "Date" in hit.headers

    def compared(answer: TestResponse) -> list[tuple[str, str]]:
        return sorted(
            (name, value) for name, value in answer.headers.items() if name not in NOT_COMPARED
        )

    assert compared(hit) == compared(built)


def reads(tokens: list[str]) -> list[str]:
    first, second = tokens
    return [
        f"/v1/payload/{first}",
        f"/v1/payload/{first}?lang=de",
        f"/v1/payloads?t={first}&t={second}",
        f"/v1/payloads?t={second}&t={first}&t={second}&lang=fr",
    ]


def test_a_cache_hit_is_answered_without_flask_and_exactly_as_flask_answers_it(
    client: FlaskClient, tokens: list[str], flask_answers: list[str]
) -> None:
    for path in reads(tokens):
        built = client.get(path)  # a miss: Flask builds and caches
        hit = client.get(path)
        assert built.status_code == 200
        same_answer(built, hit)
    assert flask_answers == reads(tokens)


@pytest.mark.parametrize("accepted", ["gzip, deflate, br, zstd", "br;q=1.0, gzip;q=0.8"])
def test_a_reader_whose_browser_accepts_gzip_gets_the_payload_compressed(
    client: FlaskClient, tokens: list[str], accepted: str
) -> None:
    for path in reads(tokens):
        plain = client.get(path)
        for answer in (client.get(path, headers={"Accept-Encoding": accepted}) for _ in "12"):
            assert answer.headers["Content-Encoding"] == "gzip"
            assert answer.headers["Vary"] == "Accept-Encoding"
            assert gzip.decompress(answer.get_data()) == plain.get_data()
            assert len(answer.get_data()) < len(plain.get_data()) * 0.6
            assert answer.headers["ETag"] == plain.headers["ETag"]


def test_a_reader_refusing_gzip_gets_plain_json(client: FlaskClient, tokens: list[str]) -> None:
    path = reads(tokens)[0]
    for _ in "12":
        answer = client.get(path, headers={"Accept-Encoding": "gzip;q=0, identity"})
        assert "Content-Encoding" not in answer.headers
        assert answer.json["token"] == tokens[0]


def test_a_cache_hit_answers_304_as_flask_does(
    app: Flask, client: FlaskClient, tokens: list[str], flask_answers: list[str]
) -> None:
    for path in reads(tokens):
        etag = client.get(path).headers["ETag"]
        with app.app_context():
            cache.clear()
        flask_answers.clear()
        with_tag = {"If-None-Match": f'"other", {etag}'}
        built = client.get(path, headers=with_tag)  # Flask builds the same payload again
        hit = client.get(path, headers=with_tag)
        assert flask_answers == [path]
        assert hit.status_code == 304 and hit.get_data() == b""
        same_answer(built, hit)


def test_a_change_is_served_at_once(
    client: FlaskClient, auth: dict[str, str], document: dict[str, Any], tokens: list[str]
) -> None:
    path = f"/v1/payloads?t={tokens[0]}&t={tokens[1]}"
    client.get(path)
    changed = document | {"title": "Kettle or Moka, settled"}
    client.put(f"{API}/{document['slug']}", json=changed, headers=auth)
    assert client.get(path).json["payloads"][tokens[0]]["title"] == "Kettle or Moka, settled"


@pytest.mark.parametrize(
    "query",
    ["?lang=de&extra=1", "?callback=x", "?t=anything"],
)
def test_a_read_it_does_not_know_goes_to_flask(
    client: FlaskClient, tokens: list[str], flask_answers: list[str], query: str
) -> None:
    path = f"/v1/payload/{tokens[0]}"
    client.get(path)
    client.get(path + "?lang=de")
    flask_answers.clear()
    client.get(path + query)
    assert len(flask_answers) == 1


def test_a_huge_query_string_is_refused_even_when_its_payload_is_cached(
    client: FlaskClient, tokens: list[str]
) -> None:
    path = f"/v1/payloads?t={tokens[0]}"
    client.get(path)
    assert client.get(path).status_code == 200
    assert client.get(path + f"&t={tokens[0]}" * 300).status_code == 414


def test_a_batch_with_a_bad_token_goes_to_flask_and_names_it(
    client: FlaskClient, tokens: list[str], flask_answers: list[str]
) -> None:
    path = f"/v1/payloads?t={tokens[0]}&t=garbage"
    client.get(path)
    answer = client.get(path)
    assert len(flask_answers) == 2
    assert list(answer.json["payloads"]) == [tokens[0]]
    assert list(answer.json["errors"]) == ["garbage"]


def test_other_methods_go_to_flask(
    client: FlaskClient, tokens: list[str], flask_answers: list[str]
) -> None:
    path = f"/v1/payload/{tokens[0]}"
    client.get(path)
    flask_answers.clear()
    assert client.head(path).status_code == 200
    assert client.post(path).status_code == 405
    assert len(flask_answers) == 2
