"""Readers vote: one reader, one vote, no cookies, no stored address; attackers move nothing."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import SECRET
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import insert, select

from vswidget.server import models, signing, store
from vswidget.server.extensions import db

API = "/api/v1/comparisons"
READER = {"User-Agent": "Mozilla/5.0 reader-one", "Content-Type": "text/plain;charset=UTF-8"}
OTHER = {"User-Agent": "Mozilla/5.0 reader-two", "Content-Type": "text/plain;charset=UTF-8"}


@pytest.fixture
def payload(client: FlaskClient, auth: dict[str, str], document: dict[str, Any]) -> dict[str, Any]:
    token = client.post(API, json=document, headers=auth).json["embed"]["token"]
    return client.get(f"/v1/payload/{token}").json  # type: ignore[no-any-return]


def vote(
    client: FlaskClient, body: dict[str, Any], headers: dict[str, str] = READER, **env: str
) -> Any:
    return client.post(
        "/v1/votes",
        data=json.dumps(body),
        headers=headers,
        environ_base={"REMOTE_ADDR": "10.0.0.1", **env},
    )


def counts(client: FlaskClient, payload: dict[str, Any]) -> dict[str, int]:
    fresh = client.get(f"/v1/payload/{payload['token']}").json
    return {item["key"]: item["votes"] for item in fresh["items"]}


def test_a_vote_counts_and_answers_the_servers_shares(
    client: FlaskClient, payload: dict[str, Any]
) -> None:
    response = vote(client, {"ticket": payload["ticket"], "item": "moka"})
    assert response.status_code == 200
    body = response.json
    assert body["choice"] == "moka" and body["votes"] == 1
    assert body["items"] == {
        "kettle": {"votes": 0, "community": 0},
        "moka": {"votes": 1, "community": 100},
    }
    assert body["receipt"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cache-Control"] == "no-store"


def test_the_payload_shows_the_vote_at_once(client: FlaskClient, payload: dict[str, Any]) -> None:
    before = client.get(f"/v1/payload/{payload['token']}")
    vote(client, {"ticket": payload["ticket"], "item": "kettle"})
    after = client.get(
        f"/v1/payload/{payload['token']}", headers={"If-None-Match": before.headers["ETag"]}
    )
    assert after.status_code == 200
    assert [item["community"] for item in after.json["items"]] == [100, 0]


def test_voting_again_moves_the_vote_and_never_adds(
    client: FlaskClient, payload: dict[str, Any]
) -> None:
    vote(client, {"ticket": payload["ticket"], "item": "kettle"})
    moved = vote(client, {"ticket": payload["ticket"], "item": "moka"}).json
    assert moved["votes"] == 1 and moved["choice"] == "moka"
    assert counts(client, payload) == {"kettle": 0, "moka": 1}


def test_two_readers_have_a_vote_each(client: FlaskClient, payload: dict[str, Any]) -> None:
    vote(client, {"ticket": payload["ticket"], "item": "kettle"})
    answer = vote(client, {"ticket": payload["ticket"], "item": "moka"}, headers=OTHER).json
    assert answer["votes"] == 2
    assert answer["items"]["kettle"]["community"] == 50


def test_a_receipt_moves_the_readers_vote_on_another_day(
    app: Flask, client: FlaskClient, payload: dict[str, Any]
) -> None:
    receipt = vote(client, {"ticket": payload["ticket"], "item": "kettle"}).json["receipt"]
    with app.app_context():  # midnight: a new salt, so a new visitor hash
        app.extensions["vswidget.salts"].clear()
        with db.writing() as sql:
            sql.execute(models.salts.delete())
    again = vote(client, {"ticket": payload["ticket"], "item": "moka", "receipt": receipt}).json
    assert again["votes"] == 1 and again["choice"] == "moka"


def test_a_receipt_of_another_comparison_is_ignored(
    client: FlaskClient, auth: dict[str, str], document: dict[str, Any], payload: dict[str, Any]
) -> None:
    token = client.post(API, json={**document, "slug": "other-one"}, headers=auth).json["embed"][
        "token"
    ]
    other = client.get(f"/v1/payload/{token}").json
    receipt = vote(client, {"ticket": other["ticket"], "item": "kettle"}).json["receipt"]
    answer = vote(
        client, {"ticket": payload["ticket"], "item": "moka", "receipt": receipt}, headers=OTHER
    )
    assert answer.json["votes"] == 1
    assert counts(client, other) == {"kettle": 1, "moka": 0}


def test_no_address_is_stored_and_old_salts_are_deleted(
    app: Flask, client: FlaskClient, payload: dict[str, Any]
) -> None:
    with app.app_context():
        with db.writing() as sql:
            sql.execute(
                insert(models.salts).values(
                    day=__import__("datetime").date(2020, 1, 1), value="old"
                )
            )
        app.extensions.pop("vswidget.salts", None)
    vote(client, {"ticket": payload["ticket"], "item": "moka"})
    with app.app_context():
        (stored,) = db.connection.execute(select(models.votes)).all()
        days = db.connection.scalars(select(models.salts.c.day)).all()
    assert "10.0.0.1" not in stored.voter and len(stored.voter) == 32
    assert len(days) == 1 and days[0].year > 2020


def expired_ticket(comparison_id: int) -> str:
    class SevenHoursAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 7 * 3600

    serializer = URLSafeTimedSerializer(
        [SECRET], salt=signing.VOTE_TICKET.salt, signer=SevenHoursAgo
    )
    return serializer.dumps(comparison_id)


def test_a_scripted_attacker_moves_the_counts_by_at_most_one(
    app: Flask,
    client: FlaskClient,
    auth: dict[str, str],
    document: dict[str, Any],
    payload: dict[str, Any],
) -> None:
    other_token = client.post(API, json={**document, "slug": "decoy"}, headers=auth).json["embed"][
        "token"
    ]
    other_ticket = client.get(f"/v1/payload/{other_token}").json["ticket"]
    with app.app_context():
        comparison_id = signing.unsign(signing.VOTE_TICKET, payload["ticket"])
        forged = signing.sign(signing.VOTE_TICKET, comparison_id, ["attacker-key"])
    statuses: dict[int, int] = {}
    for _ in range(1000):  # one ticket replayed
        status = vote(client, {"ticket": payload["ticket"], "item": "moka"}).status_code
        statuses[status] = statuses.get(status, 0) + 1
    assert set(statuses) == {200, 429}
    attacks = [
        ({"ticket": forged, "item": "moka"}, 400),
        ({"ticket": payload["ticket"][:-3] + "abc", "item": "moka"}, 400),
        ({"ticket": expired_ticket(comparison_id), "item": "moka"}, 401),
        ({"ticket": payload["ticket"], "item": "teapot"}, 422),
        ({"ticket": payload["ticket"], "item": "moka", "votes": 1000}, 422),
        ({"ticket": other_ticket, "item": "moka"}, 200),  # counts for the decoy, not here
    ]
    for body, expected in attacks:
        response = vote(client, body, REMOTE_ADDR="10.0.0.2")
        assert response.status_code == expected, body
        if expected != 200:
            assert response.json["error"]["message"]
    assert counts(client, payload) == {"kettle": 0, "moka": 1}


def test_the_rate_limit_answers_429_with_retry_after(
    app: Flask, client: FlaskClient, payload: dict[str, Any]
) -> None:
    app.config["VOTE_RATE_LIMIT"] = "2/minute"
    for _ in range(2):
        assert vote(client, {"ticket": payload["ticket"], "item": "moka"}).status_code == 200
    refused = vote(client, {"ticket": payload["ticket"], "item": "kettle"})
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.json["error"]["status"] == 429
    assert counts(client, payload) == {"kettle": 0, "moka": 1}
    assert (
        vote(
            client, {"ticket": payload["ticket"], "item": "kettle"}, REMOTE_ADDR="10.0.0.9"
        ).status_code
        == 200
    )


def test_every_answer_tells_the_tightest_limit_and_what_is_left_of_it(
    app: Flask, client: FlaskClient, payload: dict[str, Any]
) -> None:
    app.config["VOTE_RATE_LIMIT"] = "100/day;3/minute"
    answers = [vote(client, {"ticket": payload["ticket"], "item": "moka"}) for _ in range(4)]
    assert [a.headers.getlist("X-RateLimit-Limit") for a in answers] == [["3"]] * 4
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    for answer in answers:
        seconds_left = int(answer.headers["X-RateLimit-Reset"]) - time.time()
        assert 0 < seconds_left <= 60
        assert 0 <= int(answer.headers["Retry-After"]) <= 60
    refused = vote(client, {"ticket": "not even a ticket", "item": "moka"})
    assert refused.status_code == 429  # counted before the body is read


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("{not json", "text/plain", 400),
        ('["a list"]', "text/plain", 422),
        ("x" * 5000, "text/plain", 413),
        ("ticket=x&item=moka", "application/x-www-form-urlencoded", 415),
        ("\udcff".encode("utf-8", "surrogatepass"), "text/plain", 400),
    ],
)
def test_bad_input_changes_nothing(
    client: FlaskClient, payload: dict[str, Any], data: Any, content_type: str, status: int
) -> None:
    response = client.post("/v1/votes", data=data, headers={"Content-Type": content_type})
    assert response.status_code == status
    assert set(response.json["error"]) == {"status", "message", "fields"}
    assert counts(client, payload) == {"kettle": 0, "moka": 0}


def test_a_vote_for_a_deleted_comparison_is_404(
    client: FlaskClient, auth: dict[str, str], payload: dict[str, Any]
) -> None:
    client.delete(f"{API}/kettle-vs-moka-pot", headers=auth)
    assert vote(client, {"ticket": payload["ticket"], "item": "moka"}).status_code == 404


def test_json_clients_get_a_cors_preflight(client: FlaskClient) -> None:
    response = client.options(
        "/v1/votes",
        headers={"Origin": "https://blog.example", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]


def test_the_payload_carries_a_ticket_for_its_comparison(
    app: Flask, payload: dict[str, Any]
) -> None:
    with app.app_context():
        comparison = store.comparison_named(signing.unsign(signing.VOTE_TICKET, payload["ticket"]))
    assert comparison is not None and comparison.slug == "kettle-vs-moka-pot"
