"""Newsletter sign-ups: consent, one per address, exportable, deletable, delivered."""

from __future__ import annotations

import base64
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from vswidget import Client, NotFound, Webhook
from vswidget.cli import main
from vswidget.server import models, store
from vswidget.server.extensions import db

API = "/api/v1/comparisons"


@pytest.fixture
def ticket(client: FlaskClient, auth: dict[str, str], document: dict[str, Any]) -> str:
    token = client.post(API, json=document, headers=auth).json["embed"]["token"]
    return str(client.get(f"/v1/payload/{token}").json["ticket"])


def sign_up(client: FlaskClient, **body: Any) -> Any:
    return client.post("/v1/signups", data=json.dumps(body), headers={"Content-Type": "text/plain"})


def test_a_signup_is_stored_with_its_comparison_and_time(
    sdk: Client, client: FlaskClient, ticket: str
) -> None:
    response = sign_up(client, ticket=ticket, email="Reader@Example.COM", consent=True)
    assert response.status_code == 200 and response.json == {"ok": True}
    (signup,) = sdk.signups("kettle-vs-moka-pot")
    assert signup.email == "Reader@example.com"  # the domain is normalized
    assert signup.comparison == "kettle-vs-moka-pot"
    assert signup.created_at.startswith("20")


def test_the_same_address_twice_is_one_signup(
    sdk: Client, client: FlaskClient, ticket: str
) -> None:
    for email in ("reader@example.com", "READER@example.com", "reader@EXAMPLE.com"):
        assert sign_up(client, ticket=ticket, email=email, consent=True).status_code == 200
    assert len(sdk.signups()) == 1


def test_one_address_in_two_letter_cases_at_once_is_stored_once_and_sent_once(
    app: Flask, sdk: Client, document: dict[str, Any]
) -> None:
    sdk.set_webhook("https://hooks.example.com/vswidget")
    slug = sdk.publish(document).slug
    # 12 threads: each holds a pooled connection (15 at most) while it waits for the others
    addresses = [f"{case}{n}@example.com" for n in range(6) for case in ("reader", "READER")]
    together = threading.Barrier(len(addresses))

    def sign_up_at_once(email: str) -> bool:
        with app.app_context():
            comparison = store.get_comparison(store.get_publisher("acme"), slug)
            together.wait(timeout=10)
            return store.add_signup(comparison, email)

    with ThreadPoolExecutor(max_workers=len(addresses)) as pool:
        new = list(pool.map(sign_up_at_once, addresses))
    assert [new[n] + new[n + 1] for n in range(0, len(new), 2)] == [1] * 6  # one new of each
    assert len(sdk.signups()) == 6
    with app.app_context():
        assert db.connection.scalar(select(func.count()).select_from(models.outbox)) == 6


def test_the_database_itself_refuses_an_address_twice_in_another_letter_case(
    app: Flask, sdk: Client, document: dict[str, Any]
) -> None:
    slug = sdk.publish(document).slug
    with app.app_context():
        comparison = store.get_comparison(store.get_publisher("acme"), slug)
        assert store.add_signup(comparison, "Reader@example.com")
        row = {"publisher_id": comparison.publisher_id, "email": "rEADER@example.com"}
        with pytest.raises(IntegrityError), db.writing() as sql:
            sql.execute(insert(models.signups).values(row))
    assert [signup.email for signup in sdk.signups()] == ["Reader@example.com"]


@pytest.mark.parametrize(
    "email", ["not-an-address", "reader@", "@example.com", "a b@example.com", ""]
)
def test_an_invalid_email_is_refused_naming_the_field(
    sdk: Client, client: FlaskClient, ticket: str, email: str
) -> None:
    response = sign_up(client, ticket=ticket, email=email, consent=True)
    assert response.status_code == 422
    assert list(response.json["error"]["fields"]) == ["email"]
    assert sdk.signups() == []


@pytest.mark.parametrize("consent", [False, "yes", None])
def test_a_signup_needs_explicit_consent(
    sdk: Client, client: FlaskClient, ticket: str, consent: Any
) -> None:
    response = sign_up(client, ticket=ticket, email="reader@example.com", consent=consent)
    assert response.status_code == 422
    assert list(response.json["error"]["fields"]) == ["consent"]
    assert sdk.signups() == []


def test_a_filled_honeypot_is_told_ok_and_stores_nothing(
    sdk: Client, client: FlaskClient, ticket: str
) -> None:
    response = sign_up(
        client, ticket=ticket, email="bot@example.com", consent=True, website="http://spam"
    )
    assert response.status_code == 200
    assert sdk.signups() == []


def test_a_signup_without_a_valid_ticket_is_refused(
    sdk: Client, client: FlaskClient, ticket: str
) -> None:
    assert (
        sign_up(client, ticket="forged", email="reader@example.com", consent=True).status_code
        == 400
    )
    assert sdk.signups() == []


def test_signups_are_kept_per_publisher(
    app: Flask, client: FlaskClient, sdk: Client, ticket: str, document: dict[str, Any]
) -> None:
    from helpers import new_publisher

    rival = {"Authorization": "Bearer " + new_publisher(app, "rival")}
    token = client.post(API, json=document, headers=rival).json["embed"]["token"]
    rival_ticket = client.get(f"/v1/payload/{token}").json["ticket"]
    sign_up(client, ticket=rival_ticket, email="reader@example.com", consent=True)
    assert sdk.signups() == []
    assert client.get("/api/v1/signups", headers=rival).json[0]["email"] == "reader@example.com"


def test_a_publisher_forgets_an_address(sdk: Client, client: FlaskClient, ticket: str) -> None:
    for email in ("one@example.com", "two@example.com"):
        sign_up(client, ticket=ticket, email=email, consent=True)
    assert sdk.forget("ONE@example.com") == 1
    assert [s.email for s in sdk.signups()] == ["two@example.com"]
    assert sdk.forget("nobody@example.com") == 0


def test_signups_of_an_unknown_comparison_are_not_found(sdk: Client) -> None:
    with pytest.raises(NotFound):
        sdk.signups("no-such-slug")


def test_the_cli_exports_signups_as_csv(
    runner: CliRunner, live_server: str, api_key: str, client: FlaskClient, ticket: str
) -> None:
    sign_up(client, ticket=ticket, email="reader@example.com", consent=True)
    env = {"VSWIDGET_URL": live_server, "VSWIDGET_API_KEY": api_key}
    result = runner.invoke(main, ["signups", "kettle-vs-moka-pot", "--csv"], env=env)
    lines = result.stdout.splitlines()
    assert result.exit_code == 0
    assert lines[0] == "email,comparison,created_at"
    assert lines[1].startswith("reader@example.com,kettle-vs-moka-pot,20")
    forgot = runner.invoke(main, ["forget", "reader@example.com"], env=env)
    assert "Deleted 1 sign-up of reader@example.com." in forgot.stdout
    assert runner.invoke(main, ["signups"], env=env).stdout == "No sign-ups yet.\n"


def test_a_webhook_is_set_shown_and_removed(sdk: Client) -> None:
    assert sdk.webhook() is None
    hook = sdk.set_webhook("https://hooks.example.com/vswidget")
    assert hook.url == "https://hooks.example.com/vswidget"
    assert hook.secret.startswith("whsec_")  # a Standard Webhooks secret: a 64-byte key
    assert len(base64.b64decode(hook.secret.removeprefix("whsec_"), validate=True)) == 64
    assert sdk.set_webhook("https://hooks.example.com/v2").secret == hook.secret
    assert sdk.webhook() == Webhook("https://hooks.example.com/v2", hook.secret)
    sdk.delete_webhook()
    assert sdk.webhook() is None


def test_a_webhook_url_must_be_http(client: FlaskClient, auth: dict[str, str]) -> None:
    response = client.put("/api/v1/webhook", json={"url": "javascript:alert(1)"}, headers=auth)
    assert response.status_code == 422
    assert list(response.json["error"]["fields"]) == ["url"]


def test_a_comparison_without_a_newsletter_takes_no_signups(
    sdk: Client, client: FlaskClient, auth: dict[str, str], document: dict[str, Any]
) -> None:
    document["cta"] = {"kind": "link", "headline": "Read more", "url": "https://example.com"}
    token = client.post(API, json=document, headers=auth).json["embed"]["token"]
    link_ticket = client.get(f"/v1/payload/{token}").json["ticket"]
    response = sign_up(client, ticket=link_ticket, email="reader@example.com", consent=True)
    assert response.status_code == 422
    assert sdk.signups() == []


def test_an_address_with_url_characters_can_be_forgotten(
    sdk: Client, client: FlaskClient, ticket: str
) -> None:
    sign_up(client, ticket=ticket, email="a+b?c#d%e@example.com", consent=True)
    assert sdk.forget("a+b?c#d%e@example.com") == 1


def test_the_csv_never_holds_a_spreadsheet_formula(
    runner: CliRunner, live_server: str, api_key: str, client: FlaskClient, ticket: str
) -> None:
    sign_up(client, ticket=ticket, email="=1+1@example.com", consent=True)
    env = {"VSWIDGET_URL": live_server, "VSWIDGET_API_KEY": api_key}
    lines = runner.invoke(main, ["signups", "--csv"], env=env).stdout.splitlines()
    assert lines[1].startswith("'=1+1@example.com,")
