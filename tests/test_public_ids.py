"""Nothing public names a row by its sequential id, and tokens of the old form still work.

Signed is not secret: every token below is decoded as anyone can, without the key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from helpers import PASSWORD, Receiver, csrf_of, deliver, log_in
from sqlalchemy import select

from vswidget import Client
from vswidget.server import models, signing, store
from vswidget.server.extensions import db

READER = {"User-Agent": "Mozilla/5.0 reader", "Content-Type": "text/plain"}


def decoded(token: str) -> Any:
    """Return what a token carries, read without any key."""
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


def post(client: FlaskClient, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, data=json.dumps(body), headers=READER)


def stored(app: Flask, slug: str) -> models.AnyRow:
    with app.app_context():
        comparison = db.connection.execute(
            select(models.comparisons).where(models.comparisons.c.slug == slug)
        ).first()
    assert comparison is not None
    return comparison


def test_no_token_or_body_a_reader_publisher_or_receiver_gets_carries_a_sequential_id(
    app: Flask,
    sdk: Client,
    auth: dict[str, str],
    receiver: Receiver,  # noqa: F811
    document: dict[str, Any],
) -> None:
    receiver.failures = 0
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    sdk.set_webhook(receiver.url)
    for n in range(3):  # the comparison below is the platform's third
        sdk.publish({**document, "slug": f"earlier-{n}"})
    published = sdk.publish(document)
    comparison = stored(app, document["slug"])
    public_id = comparison.public_id
    assert comparison.id == 4 and len(public_id) == 22

    client = app.test_client()
    payload = client.get(f"/v1/payload/{published.token}").json
    voted = post(client, "/v1/votes", {"ticket": payload["ticket"], "item": "moka"}).json
    post(
        client,
        "/v1/signups",
        {"ticket": payload["ticket"], "email": "r@example.org", "consent": True},
    )
    frame = client.get("/embed/acme/kettle-vs-moka-pot").text
    go_links = re.findall(r'href="http://vs\.test/go/([^"]+)"', frame)
    with app.app_context():
        store.set_password("acme", PASSWORD)
        vote_id = db.connection.scalar(select(models.votes.c.id))
        signup_id = db.connection.scalar(select(models.signups.c.id))
    assert deliver(app) == 1
    log_in(client)
    page = "/dashboard/c/kettle-vs-moka-pot"
    shared = client.post(f"{page}/share", data={"csrf": csrf_of(client, page), "days": "7"}).text
    share_token = re.search(r"/dashboard/share/([^\"<\s]+)", shared)
    assert share_token

    assert decoded(published.token) == public_id
    assert published.snippet.count(published.token) == 1
    assert decoded(payload["ticket"]) == public_id
    assert decoded(payload["sig"]) == [public_id, 1]
    receipt = decoded(voted["receipt"])
    assert receipt[0] == public_id and isinstance(receipt[1], str) and receipt[1] != str(vote_id)
    assert len(go_links) == 2
    assert all(decoded(link)[0] == public_id for link in go_links)
    assert decoded(share_token[1])[:2] == [public_id, None]
    headers, raw = receiver.accepted()[0]
    body = json.loads(raw)
    assert isinstance(body["id"], str) and len(body["id"]) == 22 and body["id"] != str(signup_id)
    assert headers["x-vswidget-delivery"] == body["id"]
    etag = client.get(f"/api/v1/comparisons/{document['slug']}", headers=auth).headers["ETag"]
    old_etag = hashlib.sha256(f"{comparison.id}:1".encode()).hexdigest()[:20]  # gave the id away
    assert old_etag not in etag


def old_form(app: Flask, purpose: signing.Purpose, value: Any) -> str:
    """Return a token as the server signed it before 0009, naming the database id."""
    with app.app_context():
        return signing.sign(purpose, value)


def test_an_embed_token_of_the_old_form_still_loads_and_shows_new_votes(
    app: Flask, sdk: Client, document: dict[str, Any]
) -> None:
    published = sdk.publish(document)
    comparison = stored(app, document["slug"])
    old = old_form(app, signing.EMBED_TOKEN, comparison.id)
    assert decoded(old) == comparison.id  # what snippets pasted before 0009 carry
    client = app.test_client()
    loaded = client.get(f"/v1/payload/{old}")
    assert loaded.status_code == 200
    assert loaded.json["token"] == old  # the widget keeps the reader's pick under it
    assert client.get(f"/v1/payloads?t={old}").json["payloads"][old]["title"]
    assert client.get(f"/embed/{old}").status_code == 200
    post(client, "/v1/votes", {"ticket": loaded.json["ticket"], "item": "moka"})
    fresh = client.get(f"/v1/payload/{old}").json  # its cached payload was forgotten too
    assert [item["votes"] for item in fresh["items"]] == [0, 1]
    assert client.get(f"/v1/payload/{published.token}").json["items"][1]["votes"] == 1


def test_a_ticket_a_receipt_a_link_and_a_share_of_the_old_form_still_work(
    app: Flask, sdk: Client, document: dict[str, Any]
) -> None:
    sdk.publish(document)
    comparison = stored(app, document["slug"])
    client = app.test_client()
    old_ticket = old_form(app, signing.VOTE_TICKET, comparison.id)  # an open widget's
    first = post(client, "/v1/votes", {"ticket": old_ticket, "item": "kettle"})
    assert first.status_code == 200 and first.json["votes"] == 1
    with app.app_context():
        vote_id = db.connection.scalar(select(models.votes.c.id))
    old_receipt = old_form(app, signing.VOTE_RECEIPT, [comparison.id, vote_id])
    moved = client.post(  # the same reader tomorrow: another address, a stored receipt
        "/v1/votes",
        data=json.dumps({"ticket": old_ticket, "item": "moka", "receipt": old_receipt}),
        headers={**READER, "User-Agent": "Mozilla/5.0 updated"},
        environ_base={"REMOTE_ADDR": "198.51.100.9"},
    )
    assert moved.status_code == 200
    assert moved.json["votes"] == 1 and moved.json["items"]["moka"]["votes"] == 1
    assert decoded(moved.json["receipt"])[0] == comparison.public_id  # the new form from now on

    link = old_form(app, signing.ITEM_LINK, [comparison.id, "moka"])
    went = client.get(f"/go/{link}")
    assert went.status_code == 302 and went.location == document["items"][1]["url"]
    share = old_form(app, signing.SHARE_LINK, [comparison.id, None, int(time.time()) + 3600])
    assert client.get(f"/dashboard/share/{share}").status_code == 200
