"""Event batches taken in front of Flask (event_intake.py): answered as the view answers,
with the same budgets and storage; anything unusual is left to Flask, which answers it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder, run_wsgi_app

from vswidget.server import models
from vswidget.server.api_schemas import EventBatchSchema
from vswidget.server.event_intake import EventIntake, loads_unchanged
from vswidget.server.extensions import db
from vswidget.server.views import readers

API = "/api/v1/comparisons"
BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
PAGE = "https://blog.example/posts/coffee?utm_source=rss"


@pytest.fixture
def token(app: Flask, auth: dict[str, str], document: dict[str, Any]) -> str:
    return str(app.test_client().post(API, json=document, headers=auth).json["embed"]["token"])


def batch(token: str, count: int = 10, **fields: Any) -> dict[str, Any]:
    events = [{"type": ("impression", "view")[i % 2], "token": token} for i in range(count)]
    return {"page": PAGE, "referrer": "https://news.example/item?id=1", "events": events, **fields}


def post(
    wsgi: Any,
    body: bytes | str,
    content_type: str = "text/plain;charset=UTF-8",
    agent: str = BROWSER,
    query: str = "",
) -> tuple[str, dict[str, str], bytes]:
    """POST ``body`` to /v1/events through a WSGI callable; return status, headers, body."""
    environ = EnvironBuilder(
        path="/v1/events",
        method="POST",
        query_string=query,
        data=body if isinstance(body, bytes) else body.encode(),
        headers={"Content-Type": content_type, "User-Agent": agent},
        environ_base={"REMOTE_ADDR": "10.0.0.7"},
    ).get_environ()
    answer, status, headers = run_wsgi_app(wsgi, environ, buffered=True)
    return status, dict(headers), b"".join(answer)


def intake(app: Flask) -> EventIntake:
    assert isinstance(app.wsgi_app, EventIntake)
    return app.wsgi_app


def stored(app: Flask) -> int:
    with app.app_context():
        return int(db.connection.scalar(select(func.count()).select_from(models.events)) or 0)


def test_a_well_formed_batch_is_answered_and_stored_as_flask_does(app: Flask, token: str) -> None:
    body = json.dumps(batch(token))
    fast = post(intake(app), body)
    assert stored(app) == 10
    by_flask = post(intake(app).flask, body)
    assert stored(app) == 20
    assert fast == by_flask
    assert fast[0] == "204 NO CONTENT" and fast[2] == b""


def test_a_well_formed_batch_is_taken_without_flasks_view(
    app: Flask, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_view(schema: Any) -> None:
        raise AssertionError("the batch went to Flask")

    monkeypatch.setattr(readers, "read_body", no_view)
    assert post(intake(app), json.dumps(batch(token)))[0] == "204 NO CONTENT"
    assert stored(app) == 10


UNUSUAL: dict[str, Any] = {
    "an unknown field": lambda token: batch(token, extra=1),
    "a computed-looking field in an event": lambda token: {
        **batch(token, 1),
        "events": [{"type": "view", "token": token, "id": 3}],
    },
    "an unknown event type": lambda token: {
        **batch(token, 1),
        "events": [{"type": "scroll", "token": token}],
    },
    "no events": lambda token: batch(token, 0),
    "51 events": lambda token: batch("t", 51),  # short tokens: the body stays under 4 KiB
    "an item of 41 characters": lambda token: {
        **batch(token, 1),
        "events": [{"type": "click", "token": token, "item": "x" * 41}],
    },
    "a page that is a number": lambda token: batch(token, page=7),
    "a page of 2,001 characters": lambda token: batch(token, page="h" * 2001),
    "a referrer of 2,001 characters": lambda token: batch(token, referrer="r" * 2001),
    "a token of 201 characters": lambda token: batch("t" * 201, 1),
    "a list": lambda token: [batch(token)],
    "a page that is not http(s)": lambda token: batch(token, page="ftp://b.example/"),
    "a token this server did not sign": lambda token: batch("forged"),
}


@pytest.mark.parametrize("case", UNUSUAL)
def test_an_unusual_batch_is_answered_exactly_as_flask_answers_it(
    app: Flask, token: str, case: str
) -> None:
    body = json.dumps(UNUSUAL[case](token))
    answer = post(intake(app), body)
    assert answer == post(intake(app).flask, body)
    assert answer[0].startswith(("400", "404", "422")) and stored(app) == 0


@pytest.mark.parametrize(
    ("body", "content_type", "query"),
    [
        ("{not json", "text/plain", ""),
        ('{"page": "\\u0000"}', "text/plain", ""),
        ("page=x", "application/x-www-form-urlencoded", ""),
        ("{}", "text/plain", "x=1"),
    ],
)
def test_a_body_or_request_it_is_not_sure_of_goes_on_to_flask(
    app: Flask, body: str, content_type: str, query: str
) -> None:
    answer = post(intake(app), body, content_type, query=query)
    assert answer == post(intake(app).flask, body, content_type, query=query)
    assert answer[0].startswith(("400", "415", "422"))


def test_a_body_over_the_size_limit_goes_on_to_flask(app: Flask, token: str) -> None:
    body = json.dumps(batch(token, 50, page="https://b.example/" + "p" * 1900))
    assert len(body) > readers.MAX_BODY_BYTES
    answer = post(intake(app), body)
    assert answer[0].startswith("413") and stored(app) == 0


def test_bots_are_answered_and_dropped_in_front_of_flask(app: Flask, token: str) -> None:
    answer = post(intake(app), json.dumps(batch(token)), agent="Googlebot/2.1")
    assert answer[0] == "204 NO CONTENT" and stored(app) == 0


def test_the_budgets_hold_for_batches_taken_in_front_of_flask(
    app: Flask, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "EVENT_ADDRESS_BUDGET", 15)
    for _ in range(3):
        assert post(intake(app), json.dumps(batch(token)))[0] == "204 NO CONTENT"
    assert stored(app) == 15
    with app.app_context():
        dropped = db.connection.scalar(select(func.sum(models.event_days.c.over_budget)))
    assert dropped == 15


@pytest.mark.parametrize(
    "body",
    [
        {"page": "p" * 2000, "referrer": "r" * 2000, "events": [{"type": "view", "token": "t"}]},
        {"page": "p", "referrer": None, "events": [{"type": "click", "token": "t" * 200}] * 50},
        {"page": "p", "events": [{"type": "signup", "token": "t", "item": "i" * 40}]},
        {"page": "p", "events": [{"type": "vote", "token": "t", "item": None}]},
    ],
)
def test_what_it_takes_the_schema_loads_as_it_is(body: dict[str, Any]) -> None:
    assert loads_unchanged(body)
    without_nulls = {
        **{k: v for k, v in body.items() if v is not None},
        "events": [{k: v for k, v in e.items() if v is not None} for e in body["events"]],
    }
    assert EventBatchSchema().load(body) == without_nulls
