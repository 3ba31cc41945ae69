"""Sign-ups reach the publisher's webhook: signed in the Standard Webhooks format (and the
previous one, until the next release), retried with backoff, across restarts; at the
very public address that was checked, and never behind another publisher's slow
receiver."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import http.server
import importlib.util
import ipaddress
import json
import socket
import ssl
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from helpers import PUBLIC_URL, Receiver, deliver, new_publisher
from httpx import WSGITransport
from live import LiveServer
from sqlalchemy import select
from standardwebhooks import Webhook
from werkzeug.serving import make_server

from vswidget import Client
from vswidget.server import models, store
from vswidget.server.extensions import db
from vswidget.server.jobs import Jobs
from vswidget.server.outbound import Refused, checked_addresses, pinned_post, post, public
from vswidget.server.webhooks import Courier, backoff


def verified(headers: dict[str, str], body: bytes, secret: str | bytes) -> Any:
    """Return the body as a Standard Webhooks receiver accepts it, or raise."""
    return Webhook(secret).verify(body, headers)


def assert_legacy_signed(headers: dict[str, str], body: bytes, hex_secret: str) -> None:
    """The X-VSWidget-Signature, checked as receivers were shown before this release."""
    signed = f"{headers['x-vswidget-timestamp']}.{body.decode()}".encode()
    expected = "sha256=" + hmac.new(hex_secret.encode(), signed, hashlib.sha256).hexdigest()
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
        left = db.connection.execute(select(models.outbox)).all()
    assert delivered == 1 and receiver.attempts == 3
    assert left == []  # a delivered entry is deleted: it held the reader's address
    assert len({headers["webhook-id"] for headers, _ in receiver.received}) == 1
    headers, raw = receiver.accepted()[0]
    assert hook.secret.startswith("whsec_")
    sent = verified(headers, raw, hook.secret)
    assert sent["email"] == "reader@example.com" and sent["comparison"] == "kettle-vs-moka-pot"
    assert sent["id"] == headers["webhook-id"] == headers["x-vswidget-delivery"]
    assert headers["webhook-timestamp"] == headers["x-vswidget-timestamp"]
    assert headers["x-vswidget-event"] == sent["event"] == "signup"


def test_a_receiver_that_kept_the_secret_shown_before_verifies_both_formats(
    app: Flask, sdk: Client, receiver: Receiver, document: dict[str, Any]
) -> None:
    receiver.failures = 0
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    hook = sdk.set_webhook(receiver.url)
    sign_up(app, "acme", sdk.publish(document).slug, "reader@example.com")
    assert deliver(app) == 1
    with app.app_context():
        hex_secret = store.get_publisher("acme").webhook_secret or ""  # what the API showed
    headers, raw = receiver.received[0]
    assert_legacy_signed(headers, raw, hex_secret)
    assert verified(headers, raw, hex_secret.encode())  # the same key, as bytes
    assert base64.b64decode(hook.secret.removeprefix("whsec_")).decode() == hex_secret


def documented_receiver(tmp_path: Path) -> Any:
    """Return the Flask receiver of docs/rest.md, loaded as written."""
    text = (Path(__file__).parent.parent / "docs" / "rest.md").read_text()
    section = text[text.index("### Verifying a delivery") :]
    source = tmp_path / "receiver.py"
    source.write_text(section.split("```python\n", 1)[1].split("```", 1)[0])
    spec = importlib.util.spec_from_file_location("receiver", source)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def sent(url: str, signer: Webhook, signed_at: datetime) -> int:
    """POST a delivery made by hand, signed by ``signer``; return the status."""
    body = json.dumps({"event": "signup", "email": "ada@example.com", "comparison": "by-hand"})
    timestamp = str(int(signed_at.timestamp()))  # whole seconds, as sign() takes them
    headers = {"webhook-id": f"by-hand-{timestamp}", "webhook-timestamp": timestamp}
    headers["webhook-signature"] = signer.sign(headers["webhook-id"], signed_at, body)
    return httpx.post(url, content=body, headers=headers).status_code


def test_the_documented_receiver_accepts_a_delivery_and_refuses_forgeries_and_replays(
    app: Flask,
    sdk: Client,
    document: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    secret = sdk.set_webhook("https://hooks.example.com/vswidget").secret
    monkeypatch.setenv("VSWIDGET_WEBHOOK_SECRET", secret)
    server = make_server("127.0.0.1", 0, documented_receiver(tmp_path), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/vswidget"
    try:
        assert sdk.set_webhook(url).secret == secret  # a new URL keeps the secret
        sign_up(app, "acme", sdk.publish(document).slug, "reader@example.com")
        assert deliver(app) == 1
        assert capsys.readouterr().out == "reader@example.com kettle-vs-moka-pot\n"
        now = datetime.now(UTC)
        assert sent(url, Webhook(secret), now) == 204  # signed with the secret, just now
        assert capsys.readouterr().out == "ada@example.com by-hand\n"
        assert sent(url, Webhook(base64.b64encode(b"k" * 32).decode()), now) == 401
        assert sent(url, Webhook(secret), now - timedelta(minutes=6)) == 401  # a replay
    finally:
        server.shutdown()
        server.server_close()
    assert capsys.readouterr().out == ""


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
    assert verified(headers, raw, hook.secret)["email"] == "reader@example.com"


def test_by_default_a_webhook_on_the_servers_own_network_is_not_called(
    app: Flask, sdk: Client, receiver: Receiver, document: dict[str, Any]
) -> None:
    sdk.set_webhook(receiver.url)
    with app.app_context():
        comparison = store.get_comparison(store.get_publisher("acme"), sdk.publish(document).slug)
        store.add_signup(comparison, "reader@example.com")
    assert deliver(app) == 0
    with app.app_context():
        (entry,) = db.connection.execute(select(models.outbox)).all()
    assert receiver.attempts == 0
    assert "127.0.0.1, a non-public address" in (entry.last_error or "")


def test_stopping_the_webhook_and_setting_it_again_rotates_the_secret(sdk: Client) -> None:
    first = sdk.set_webhook("https://hooks.example.com/a").secret
    sdk.delete_webhook()
    assert sdk.set_webhook("https://hooks.example.com/a").secret != first


class DNS:
    """Answers for made-up names, one after another, the last one repeated; any other
    name resolves as usual. An answer is addresses separated by commas. Counts the
    questions."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.answers: dict[str, list[str]] = {}
        self.asked: Counter[str] = Counter()
        resolve = socket.getaddrinfo

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host not in self.answers:
                return resolve(host, port, *args, **kwargs)
            self.asked[host] += 1
            answers = self.answers[host]
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
            return [record(address, port or 0) for address in answer.split(",")]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def record(address: str, port: int) -> tuple[Any, ...]:
    """An entry of getaddrinfo's answer."""
    if ipaddress.ip_address(address).version == 4:
        return (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
    return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> DNS:
    return DNS(monkeypatch)


@dataclass
class Slow:
    """A receiver on 127.0.0.1 that accepts connections, then sends ``answer`` a byte
    every 50 ms (nothing, by default) and never ends it."""

    answer: bytes = b""
    url: str = ""
    accepted: int = 0
    sent: int = 0
    closed_by_us: int = 0  # connections the delivery side ended
    connections: list[socket.socket] = field(default_factory=list)

    def serve(self, connection: socket.socket) -> None:
        with connection:
            for byte in self.answer:
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    break
                self.sent += 1
                time.sleep(0.05)
            with contextlib.suppress(OSError):
                while connection.recv(65536):
                    pass
                self.closed_by_us += 1

    def release(self) -> None:
        """Close every connection from this side."""
        for connection in self.connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def slow() -> Iterator[Slow]:
    state = Slow()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    state.url = f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    stopped = threading.Event()

    def accept() -> None:
        while not stopped.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            state.accepted += 1
            state.connections.append(connection)
            servers.append(threading.Thread(target=state.serve, args=(connection,)))
            servers[-1].start()

    servers: list[threading.Thread] = []
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield state
    stopped.set()
    thread.join()
    state.release()
    for server in servers:
        server.join()
    listener.close()


def sign_up(app: Flask, handle: str, slug: str, *emails: str) -> None:
    with app.app_context():
        comparison = store.get_comparison(store.get_publisher(handle), slug)
        for email in emails:
            store.add_signup(comparison, email)


def test_a_name_that_rebinds_to_the_servers_own_address_is_called_at_the_address_checked(
    app: Flask, sdk: Client, receiver: Receiver, dns: DNS, document: dict[str, Any]
) -> None:
    receiver.failures = 0
    port = receiver.url.split(":")[2].split("/")[0]
    dns.answers["rebind.test"] = ["93.184.215.14", "127.0.0.1"]  # public when checked, then not
    sdk.set_webhook(f"http://rebind.test:{port}/hook?token=x")
    sign_up(app, "acme", sdk.publish(document).slug, "reader@example.com")
    # Bound to loopback, a connection to the public address fails at once, and nothing
    # leaves the machine; one to 127.0.0.1 would reach the receiver.
    loopback = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.1"))
    assert deliver(app, loopback) == 0
    assert receiver.attempts == 0  # the signed body never reached 127.0.0.1
    assert dns.asked["rebind.test"] == 1
    with app.app_context():
        (entry,) = db.connection.execute(select(models.outbox)).all()
    assert "ConnectError" in (entry.last_error or "")


@pytest.mark.parametrize(
    "address",
    [
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::7f00:1",  # IPv4-compatible
        "::ffff:0:a00:1",  # IPv4-translated
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254, the cloud metadata service
        "64:ff9b::c0a8:1",  # NAT64 of 192.168.0.1
        "64:ff9b:1::a00:1",  # local-use NAT64
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "2001:0:a00:1::1",  # Teredo, server 10.0.0.1
        "127.0.0.1",
        "10.1.2.3",
        "::1",
        "fd00::1",
    ],
)
def test_every_form_of_a_private_address_is_refused(dns: DNS, address: str) -> None:
    dns.answers["hooks.test"] = [address]
    with pytest.raises(Refused, match="a non-public address"):
        checked_addresses(httpx.URL("https://hooks.test/hook"), allow_private=False)


def test_a_name_with_one_private_address_among_public_ones_is_refused(dns: DNS) -> None:
    dns.answers["hooks.test"] = ["8.8.8.8"]
    url = httpx.URL("https://hooks.test/hook")
    assert checked_addresses(url, allow_private=False) == [ipaddress.ip_address("8.8.8.8")]
    assert public(ipaddress.ip_address("64:ff9b::808:808"))  # NAT64 of a public address
    dns.answers["hooks.test"] = ["8.8.8.8,64:ff9b::7f00:1"]
    with pytest.raises(Refused, match="64:ff9b::7f00:1"):
        checked_addresses(url, allow_private=False)


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for hooks.test and its key."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        + ["-nodes", "-days", "1", "-subj", "/CN=hooks.test"]
        + ["-addext", "subjectAltName=DNS:hooks.test", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_an_https_receiver_is_called_at_the_checked_address_and_verified_for_its_name(
    dns: DNS, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    seen: dict[str, str | None] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the base's name
            seen["host"] = self.headers["Host"]
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    tls.sni_callback = lambda _socket, name, _context: seen.update(sni=name)  # type: ignore[assignment,misc,return-value]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_port
    dns.answers.update({"hooks.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    try:
        with httpx.Client(verify=ssl.create_default_context(cafile=cert)) as sender:
            url = f"https://hooks.test:{port}/hook"
            assert post(sender, url, "{}", {}, allow_private=True, deadline=5) == 204
            assert seen == {"sni": "hooks.test", "host": f"hooks.test:{port}"}
            with pytest.raises(httpx.ConnectError, match="certificate verify failed"):
                post(sender, f"https://other.test:{port}/hook", "{}", {}, True, deadline=5)
    finally:
        server.shutdown()
        server.server_close()


def test_the_request_connects_to_the_address_and_names_the_host() -> None:
    with httpx.Client() as sender:
        request = pinned_post(
            sender,
            httpx.URL("https://hooks.example.com/a?b=c"),
            ipaddress.ip_address("2606:4700::1"),
            "{}",
            {"X-A": "1"},
        )
    assert str(request.url) == "https://[2606:4700::1]/a?b=c"
    assert request.headers["host"] == "hooks.example.com" and request.headers["x-a"] == "1"
    assert request.extensions["sni_hostname"] == "hooks.example.com"


def test_a_receiver_that_never_answers_does_not_hold_up_another_publishers_delivery(
    app: Flask, sdk: Client, receiver: Receiver, slow: Slow, document: dict[str, Any]
) -> None:
    app.config.update(WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_RETRY_SECONDS=60)
    receiver.failures = 0
    sdk.set_webhook(slow.url)
    sign_up(app, "acme", sdk.publish(document).slug, *(f"r{n}@example.com" for n in range(3)))
    with Client(PUBLIC_URL, new_publisher(app, "beta"), transport=WSGITransport(app=app)) as beta:
        beta.set_webhook(receiver.url)
        sign_up(app, "beta", beta.publish(document).slug, "reader@example.com")
    with app.app_context(), contextlib.closing(Courier(app, deadline=2)) as courier:
        hung, delivered = courier.dispatch()  # acme's deliveries are older: claimed first
        assert delivered.result() == 1
        assert not hung.done()  # acme's first still hangs (the slow side may not have accepted yet)
        assert store.due_publishers(4, busy=()) == []  # nor would another process start one
        assert hung.result() == 0
        assert courier.dispatch() == []  # acme waits now, all its deliveries with it
        acme = store.get_publisher("acme")
        pending = db.connection.scalars(
            select(models.outbox.c.attempts).order_by(models.outbox.c.id)
        ).all()
    assert receiver.attempts == 1 and slow.accepted == 1
    assert pending == [1, 0, 0] and acme.webhook_failures == 1


def test_a_receiver_that_trickles_its_answer_is_cut_off_at_the_deadline(
    app: Flask, sdk: Client, slow: Slow, document: dict[str, Any]
) -> None:
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    # 20 s of headers, a byte every 50 ms: each read is well within httpx's timeouts
    slow.answer = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"." * 400
    sdk.set_webhook(slow.url)
    sign_up(app, "acme", sdk.publish(document).slug, "reader@example.com")
    with app.app_context(), contextlib.closing(Courier(app, deadline=1)) as courier:
        (attempt,) = courier.dispatch()
        assert attempt.result() == 0
    assert slow.sent < 100  # cut off after about 1 s, not 20


def test_maintenance_runs_while_a_delivery_hangs(
    app: Flask, sdk: Client, slow: Slow, document: dict[str, Any]
) -> None:
    app.config.update(WEBHOOK_ALLOW_PRIVATE=True, ROLLUP_SECONDS=0.05)
    sdk.set_webhook(slow.url)
    sign_up(app, "acme", sdk.publish(document).slug, "reader@example.com")
    jobs = Jobs(app, interval=0.05)
    jobs.start()
    try:
        for _ in range(100):  # bounded: at most ~5 s
            if slow.accepted:
                break
            time.sleep(0.05)
        with app.app_context():
            first = rollup_lease()
            for _ in range(60):  # bounded: at most ~3 s
                if rollup_lease() != first:
                    break
                time.sleep(0.05)
            assert rollup_lease() != first
        assert (slow.accepted, slow.closed_by_us) == (1, 0)  # the delivery still hangs
    finally:
        slow.release()
        jobs.stop()


def rollup_lease() -> object:
    return db.connection.scalar(
        select(models.leases.c.until).where(models.leases.c.name == "rollup")
    )
