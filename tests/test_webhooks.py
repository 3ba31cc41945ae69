"""Sign-ups reach the publisher's webhook: signed, retried with backoff, across restarts;
at the very public address that was checked, and never behind another publisher's
slow receiver."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from live import LiveServer
from sqlalchemy import select

from vswidget import Client, store
from vswidget.extensions import db
from vswidget.models import Outbox
from vswidget.webhooks import Courier, backoff


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 that fails its first ``failures`` requests."""

    failures: int
    url: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    attempts: int = 0

    def accepted(self) -> list[tuple[dict[str, str], bytes]]:
        return self.received[self.failures :]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(failures=2)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the base's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.attempts += 1
            state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(503 if state.attempts <= state.failures else 204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def deliver(app: Flask, http: httpx.Client | None = None) -> int:
    """Run one round of deliveries to its end; return how many succeeded."""
    with app.app_context(), Courier(app, http) as courier:
        return sum(future.result() for future in courier.dispatch())


def assert_signed(headers: dict[str, str], body: bytes, secret: str) -> None:
    signed = f"{headers['x-vswidget-timestamp']}.{body.decode()}".encode()
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-vswidget-signature"], expected)


def test_the_wait_doubles_after_each_failure_up_to_six_hours() -> None:
    assert [backoff(n, 30) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff(40, 30) == 6 * 3600


def test_a_signup_is_delivered_signed_after_failed_attempts(
    app: Flask, sdk: Client, receiver: Receiver, document: dict[str, Any]
) -> None:
    app.config.update(WEBHOOK_RETRY_SECONDS=0.05, WEBHOOK_ALLOW_PRIVATE=True)
    hook = sdk.set_webhook(receiver.url)
    token = sdk.publish(document).token
    client = app.test_client()
    ticket = client.get(f"/v1/payload/{token}").json["ticket"]
    body = json.dumps({"ticket": ticket, "email": "reader@example.com", "consent": True})
    assert client.post("/v1/signups", data=body, content_type="text/plain").status_code == 200
    delivered = 0
    for _ in range(100):  # bounded: at most ~5 s of retries
        delivered += deliver(app)
        if delivered:
            break
        time.sleep(0.05)
    with app.app_context():
        left = db.session.scalars(select(Outbox)).all()
    assert delivered == 1 and receiver.attempts == 3
    assert left == []  # a delivered entry is deleted: it held the reader's address
    assert len({headers["x-vswidget-delivery"] for headers, _ in receiver.received}) == 1
    headers, raw = receiver.accepted()[0]
    assert_signed(headers, raw, hook.secret)
    sent = json.loads(raw)
    assert sent["email"] == "reader@example.com" and sent["comparison"] == "kettle-vs-moka-pot"
    assert headers["x-vswidget-event"] == "signup"


def test_a_delivered_signup_is_not_sent_again(
    app: Flask, sdk: Client, receiver: Receiver, document: dict[str, Any]
) -> None:
    receiver.failures = 0
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    sdk.set_webhook(receiver.url)
    with app.app_context():
        comparison = store.get_comparison(store.get_publisher("acme"), sdk.publish(document).slug)
        store.add_signup(comparison, "reader@example.com")
    assert deliver(app) == 1
    assert deliver(app) == 0
    assert receiver.attempts == 1


def test_forgetting_an_address_drops_its_pending_delivery(
    app: Flask, sdk: Client, receiver: Receiver, document: dict[str, Any]
) -> None:
    sdk.set_webhook(receiver.url)
    with app.app_context():
        comparison = store.get_comparison(store.get_publisher("acme"), sdk.publish(document).slug)
        store.add_signup(comparison, "reader@example.com")
    sdk.forget("reader@example.com")
    assert deliver(app) == 0
    assert receiver.attempts == 0


def test_delivery_survives_a_killed_server(
    tmp_path: Path, receiver: Receiver, document: dict[str, Any]
) -> None:
    receiver.failures = 1
    server = LiveServer(
        tmp_path, workers=2, WEBHOOK_RETRY_SECONDS="3", WEBHOOK_ALLOW_PRIVATE="true"
    ).start()
    try:
        with Client(server.base, server.new_publisher("acme")) as sdk:
            hook = sdk.set_webhook(receiver.url)
            token = sdk.publish(document).token
        ticket = httpx.get(f"{server.base}/v1/payload/{token}").json()["ticket"]
        body = json.dumps({"ticket": ticket, "email": "reader@example.com", "consent": True})
        assert httpx.post(f"{server.base}/v1/signups", content=body).status_code == 200
        deadline = time.monotonic() + 10
        while receiver.attempts < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert receiver.attempts == 1  # failed; the retry is due in 3 s
        server.kill()
        server.start()
        # Due in 3 s; or, if the kill came before the failure was recorded, once the
        # 15 s claim of the dead worker lapses.
        deadline = time.monotonic() + 30
        while not receiver.accepted() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.stop()
    assert len(receiver.accepted()) == 1
    headers, raw = receiver.accepted()[0]
    assert_signed(headers, raw, hook.secret)


def test_by_default_a_webhook_on_the_servers_own_network_is_not_called(
    app: Flask, sdk: Client, receiver: Receiver, document: dict[str, Any]
) -> None:
    sdk.set_webhook(receiver.url)
    with app.app_context():
        comparison = store.get_comparison(store.get_publisher("acme"), sdk.publish(document).slug)
        store.add_signup(comparison, "reader@example.com")
    assert deliver(app) == 0
    with app.app_context():
        (entry,) = db.session.scalars(select(Outbox)).all()
    assert receiver.attempts == 0
    assert "127.0.0.1, a non-public address" in (entry.last_error or "")


def test_stopping_the_webhook_and_setting_it_again_rotates_the_secret(sdk: Client) -> None:
    first = sdk.set_webhook("https://hooks.example.com/a").secret
    sdk.delete_webhook()
    assert sdk.set_webhook("https://hooks.example.com/a").secret != first
