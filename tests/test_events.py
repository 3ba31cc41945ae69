"""Widget events: stored with the host page and day, never with an address; bots dropped."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from vswidget.server import models, payloads, signing
from vswidget.server.extensions import db

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


def stored(app: Flask) -> list[models.AnyRow]:
    with app.app_context():
        return list(db.connection.execute(select(models.events).order_by(models.events.c.id)))


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


def other_host_drops(app: Flask) -> int:
    """The events dropped for coming from a site their comparison does not take, all days."""
    with app.app_context():
        return (
            db.connection.scalar(select(func.coalesce(func.sum(models.event_days.c.other_host), 0)))
            or 0
        )


@pytest.mark.parametrize(
    ("page", "taken"),
    [
        ("https://blog.example/post", True),
        ("https://www.friends.example/post", True),
        ("http://vs.test/embed/x", True),  # our own iframe form
        ("https://evil.example/post", False),
        ("https://blog.example.evil.example/post", False),
        ("https://friends.example/post", False),
    ],
)
def test_a_comparison_with_hosts_stores_events_only_from_those_sites_and_counts_the_rest(
    app: Flask, client: FlaskClient, guarded_token: str, page: str, taken: bool
) -> None:
    events = [
        {"type": "view", "token": guarded_token},
        {"type": "impression", "token": guarded_token},
    ]
    response = send(client, {"page": page, "events": events})
    assert response.status_code == 204  # never an error the widget would show
    assert len(stored(app)) == (2 if taken else 0)
    assert other_host_drops(app) == (0 if taken else 2)


def test_a_batch_for_two_comparisons_counts_each_with_its_own_reader_hash(
    app: Flask, client: FlaskClient, token: str, guarded_token: str
) -> None:
    events = [
        {"type": "impression", "token": token},
        {"type": "impression", "token": guarded_token},
        {"type": "click", "token": token, "item": "moka"},
    ]
    assert send(client, {"page": "https://blog.example/post", "events": events}).status_code == 204
    first, second, third = sorted(stored(app), key=lambda e: (e.comparison_id, e.id))
    assert first.comparison_id == second.comparison_id != third.comparison_id
    assert first.visitor == second.visitor != third.visitor  # hashed per comparison


def test_a_batch_keeps_the_events_of_the_comparison_that_takes_the_site(
    app: Flask, client: FlaskClient, token: str, guarded_token: str
) -> None:
    events = [{"type": "view", "token": token}, {"type": "view", "token": guarded_token}]
    assert send(client, {"page": "https://evil.example/post", "events": events}).status_code == 204
    (kept,) = stored(app)
    assert kept.origin == "https://evil.example"
    assert other_host_drops(app) == 1


def test_a_click_through_from_a_site_the_comparison_does_not_take_is_dropped_and_counted(
    app: Flask, client: FlaskClient, guarded_token: str
) -> None:
    with app.test_request_context():
        guarded = payloads.comparison_for_token(guarded_token)
        link = signing.sign(signing.ITEM_LINK, [guarded.id, "moka"])
    answer = client.get(
        "/go/" + link,
        headers={"Referer": "https://evil.example/post", "User-Agent": BROWSER},
    )
    assert answer.status_code == 302
    assert stored(app) == [] and other_host_drops(app) == 1


def test_events_keep_the_device_class_and_browser_family_never_the_user_agent(
    app: Flask, client: FlaskClient, token: str
) -> None:
    phone = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1"
    )
    body = {"page": "https://blog.example/", "events": [{"type": "view", "token": token}]}
    assert send(client, body, phone).status_code == 204
    assert send(client, body).status_code == 204
    events = stored(app)
    assert [(e.device, e.browser) for e in events] == [("phone", "chrome"), ("desktop", "chrome")]
    for event in events:
        kept = " ".join(str(value) for value in event)
        assert "Mozilla" not in kept and "iPhone" not in kept and "CriOS" not in kept
