"""Widget events: stored with the host page and day, never with an address; bots dropped."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from vswidget.extensions import db
from vswidget.models import Event

API = "/api/v1/comparisons"
BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36"
)


@pytest.fixture
def token(client: FlaskClient, auth: dict[str, str], document: dict[str, Any]) -> str:
    return str(client.post(API, json=document, headers=auth).json["embed"]["token"])


def send(client: FlaskClient, body: dict[str, Any], agent: str = BROWSER) -> Any:
    return client.post(
        "/v1/events",
        data=json.dumps(body),
        headers={"Content-Type": "text/plain;charset=UTF-8", "User-Agent": agent},
        environ_base={"REMOTE_ADDR": "10.0.0.7"},
    )


def stored(app: Flask) -> list[Event]:
    with app.app_context():
        return list(db.session.scalars(select(Event).order_by(Event.id)))


def test_events_are_stored_with_the_host_page_without_query_or_fragment(
    app: Flask, client: FlaskClient, token: str
) -> None:
    body = {
        "page": "https://blog.example/posts/coffee?utm_source=x&email=a@b.c#comments",
        "referrer": "https://news.example/item?id=42",
        "events": [
            {"type": "impression", "token": token},
            {"type": "click", "token": token, "item": "moka"},
        ],
    }
    response = send(client, body)
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    events = stored(app)
    assert [(e.type, e.item_key) for e in events] == [("impression", None), ("click", "moka")]
    assert {(e.origin, e.path, e.referrer) for e in events} == {
        ("https://blog.example", "/posts/coffee", "news.example")
    }
    assert len(events[0].visitor) == 32 and "10.0.0.7" not in events[0].visitor


def test_bots_are_dropped_by_user_agent(app: Flask, client: FlaskClient, token: str) -> None:
    body = {"page": "https://blog.example/", "events": [{"type": "impression", "token": token}]}
    for agent in (
        "Googlebot/2.1 (+http://www.google.com/bot.html)",
        "python-requests/2.31",
        "curl/8.0",
    ):
        assert send(client, body, agent).status_code == 204
    assert stored(app) == []


def test_an_event_for_an_unknown_comparison_is_refused_and_nothing_stored(
    app: Flask, client: FlaskClient, token: str
) -> None:
    body = {
        "page": "https://blog.example/",
        "events": [{"type": "impression", "token": token}, {"type": "view", "token": "forged"}],
    }
    response = send(client, body)
    assert response.status_code == 404
    assert list(response.json["error"]["fields"]) == ["events.1.token"]
    assert stored(app) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"page": "javascript:alert(1)", "events": [{"type": "view", "token": "t"}]}, "page"),
        ({"page": "https://blog.example/", "events": []}, "events"),
        (
            {"page": "https://blog.example/", "events": [{"type": "hover", "token": "t"}]},
            "events.0.type",
        ),
    ],
)
def test_malformed_events_are_refused(
    app: Flask, client: FlaskClient, token: str, body: dict[str, Any], field: str
) -> None:
    response = send(client, body)
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]
    assert stored(app) == []


def test_login_details_in_a_page_url_are_never_stored(
    app: Flask, client: FlaskClient, token: str
) -> None:
    body = {
        "page": "https://user:secret@blog.example:8443/p",
        "events": [{"type": "view", "token": token}],
    }
    assert send(client, body).status_code == 204
    (event,) = stored(app)
    assert event.origin == "https://blog.example:8443"


@pytest.fixture
def guarded_token(client: FlaskClient, auth: dict[str, str], document: dict[str, Any]) -> str:
    guarded = {**document, "slug": "guarded", "hosts": ["blog.example", "*.friends.example"]}
    return str(client.post(API, json=guarded, headers=auth).json["embed"]["token"])


@pytest.mark.parametrize(
    ("page", "status"),
    [
        ("https://blog.example/post", 204),
        ("https://www.friends.example/post", 204),
        ("http://vs.test/embed/x", 204),  # our own iframe form
        ("https://evil.example/post", 403),
        ("https://blog.example.evil.example/post", 403),
        ("https://friends.example/post", 403),
    ],
)
def test_a_comparison_with_hosts_takes_events_only_from_those_sites(
    app: Flask, client: FlaskClient, guarded_token: str, page: str, status: int
) -> None:
    response = send(client, {"page": page, "events": [{"type": "view", "token": guarded_token}]})
    assert response.status_code == status
    assert len(stored(app)) == (1 if status == 204 else 0)


def test_a_batch_for_two_comparisons_counts_each_with_its_own_reader_hash(
    app: Flask, client: FlaskClient, token: str, guarded_token: str
) -> None:
    events = [
        {"type": "impression", "token": token},
        {"type": "impression", "token": guarded_token},
        {"type": "click", "token": token, "item": "moka"},
    ]
    assert send(client, {"page": "https://blog.example/post", "events": events}).status_code == 204
    first, second, third = stored(app)
    assert first.comparison_id == third.comparison_id != second.comparison_id
    assert first.visitor == third.visitor != second.visitor  # hashed per comparison


def test_a_batch_is_refused_whole_when_one_comparison_does_not_take_the_site(
    app: Flask, client: FlaskClient, token: str, guarded_token: str
) -> None:
    events = [{"type": "view", "token": token}, {"type": "view", "token": guarded_token}]
    assert send(client, {"page": "https://evil.example/post", "events": events}).status_code == 403
    assert stored(app) == []
