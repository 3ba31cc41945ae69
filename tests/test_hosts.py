"""A comparison that names hosts takes votes and sign-ups from those sites only.

The attack replayed: a site makes its visitors' browsers vote and sign up in someone
else's comparison, with the ticket any payload carries. Browsers say where a POST comes
from in ``Origin``; a sandboxed frame says ``null``, like WordPress's frame of our iframe
form, which is told apart by a ticket bound to the reader who loaded it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from helpers import PUBLIC_URL, Tags

from vswidget import Client

API = "/api/v1/comparisons"
HOSTS = ["blog.example", "*.friends.example"]
READER = {"REMOTE_ADDR": "10.0.0.1"}
AGENT = "Mozilla/5.0 reader"

ACCEPTED = [
    "https://blog.example",
    "http://blog.example:8080",
    "https://www.friends.example",
    PUBLIC_URL,  # our own pages: the canonical page, the iframe form outside a sandbox
]
REFUSED = [
    "https://evil.example",
    "https://blog.example.evil.example",
    "https://friends.example",  # *.friends.example is every host under it, not itself
    "null",  # a sandboxed frame, a data: URL, without the iframe form's ticket
    "not an origin",
]


@pytest.fixture
def guarded(client: FlaskClient, auth: dict[str, str], document: dict[str, Any]) -> str:
    """The embed token of a comparison limited to one blog and a friend's subdomains."""
    document = {**document, "slug": "guarded", "hosts": HOSTS}
    return str(client.post(API, json=document, headers=auth).json["embed"]["token"])


def ticket_of(client: FlaskClient, token: str) -> str:
    return str(client.get(f"/v1/payload/{token}").json["ticket"])


def post(
    client: FlaskClient,
    path: str,
    body: dict[str, Any],
    origin: str | None,
    reader: dict[str, str] = READER,
    agent: str = AGENT,
) -> Any:
    headers = {"Content-Type": "text/plain", "User-Agent": agent}
    if origin is not None:
        headers["Origin"] = origin
    return client.post(path, data=json.dumps(body), headers=headers, environ_base=reader)


def vote(client: FlaskClient, ticket: str, origin: str | None, **reader: Any) -> Any:
    return post(client, "/v1/votes", {"ticket": ticket, "item": "moka"}, origin, **reader)


def sign_up(client: FlaskClient, ticket: str, origin: str | None, **reader: Any) -> Any:
    body = {"ticket": ticket, "email": "reader@example.com", "consent": True}
    return post(client, "/v1/signups", body, origin, **reader)


def votes(client: FlaskClient, token: str) -> int:
    return int(client.get(f"/v1/payload/{token}").json["votes"])


@pytest.mark.parametrize("origin", REFUSED)
def test_a_vote_from_another_site_is_refused_and_changes_nothing(
    client: FlaskClient, guarded: str, origin: str
) -> None:
    response = vote(client, ticket_of(client, guarded), origin)
    assert response.status_code == 403
    assert list(response.json["error"]["fields"]) == ["origin"]
    assert votes(client, guarded) == 0


@pytest.mark.parametrize("origin", REFUSED)
def test_a_signup_from_another_site_is_refused_and_stores_nothing(
    sdk: Client, client: FlaskClient, guarded: str, origin: str
) -> None:
    response = sign_up(client, ticket_of(client, guarded), origin)
    assert response.status_code == 403
    assert list(response.json["error"]["fields"]) == ["origin"]
    assert sdk.signups() == []


@pytest.mark.parametrize("origin", ACCEPTED)
def test_votes_and_signups_from_the_hosts_and_our_own_pages_count(
    sdk: Client, client: FlaskClient, guarded: str, origin: str
) -> None:
    ticket = ticket_of(client, guarded)
    assert vote(client, ticket, origin).status_code == 200
    assert sign_up(client, ticket, origin).status_code == 200
    assert votes(client, guarded) == 1
    assert len(sdk.signups()) == 1


def test_the_refusal_names_the_site_and_the_hosts_setting(
    client: FlaskClient, guarded: str
) -> None:
    message = vote(client, ticket_of(client, guarded), "https://evil.example").json["error"]
    assert "evil.example" in message["message"] and "hosts" in message["message"]
    assert message["fields"]["origin"] == [message["message"]]


def test_a_request_without_origin_is_not_a_browsers_and_is_judged_by_its_limits_alone(
    client: FlaskClient, guarded: str
) -> None:
    assert vote(client, ticket_of(client, guarded), None).status_code == 200


@pytest.mark.parametrize("origin", ["https://evil.example", "null"])
def test_a_comparison_without_hosts_takes_votes_from_every_site(
    client: FlaskClient, auth: dict[str, str], document: dict[str, Any], origin: str
) -> None:
    token = client.post(API, json=document, headers=auth).json["embed"]["token"]
    assert vote(client, ticket_of(client, token), origin).status_code == 200


def frame_ticket(client: FlaskClient, reader: dict[str, str] = READER, agent: str = AGENT) -> str:
    """The ticket in the iframe form's payload, as the reader's browser loads the form."""
    page = client.get("/embed/acme/guarded", headers={"User-Agent": agent}, environ_base=reader)
    (data,) = Tags(page.get_data(as_text=True)).scripts[:1]
    return str(json.loads(data)["ticket"])


def test_the_iframe_form_in_wordpresss_sandbox_takes_its_readers_votes_and_signups(
    sdk: Client, client: FlaskClient, guarded: str
) -> None:
    ticket = frame_ticket(client)
    assert vote(client, ticket, "null").status_code == 200
    assert sign_up(client, ticket, "null").status_code == 200
    assert votes(client, guarded) == 1 and len(sdk.signups()) == 1


@pytest.mark.parametrize(
    ("reader", "agent"),
    [({"REMOTE_ADDR": "203.0.113.9"}, AGENT), (READER, "Mozilla/5.0 another browser")],
)
def test_a_site_that_fetches_the_iframe_form_itself_gets_a_ticket_its_visitors_cannot_use(
    sdk: Client, client: FlaskClient, guarded: str, reader: dict[str, str], agent: str
) -> None:
    ticket = frame_ticket(client, reader, agent)  # the hostile site's server, or another browser
    assert vote(client, ticket, "null").status_code == 403
    assert sign_up(client, ticket, "null").status_code == 403
    assert votes(client, guarded) == 0 and sdk.signups() == []


def test_the_iframe_forms_ticket_is_refused_from_a_site_the_hosts_leave_out(
    client: FlaskClient, guarded: str
) -> None:
    assert vote(client, frame_ticket(client), "https://evil.example").status_code == 403


def test_the_frame_of_a_comparison_with_hosts_is_never_shared_by_a_cache(
    client: FlaskClient, guarded: str
) -> None:
    response = client.get("/embed/acme/guarded", environ_base=READER)
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "ETag" not in response.headers
