"""An IPv6 reader counts by network (IPV6_PREFIX, default /64), an IPv4 reader by address:
in the readers' limits, the publisher API's and the dashboard login's, and the visitor hash."""

from __future__ import annotations

import ipaddress
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from helpers import REDIS_URL, csrf_of, make_app, need, new_publisher

from vswidget.errors import ConfigurationError
from vswidget.server import visitors
from vswidget.server.extensions import db
from vswidget.server.networks import counted_address

# Failed logins count in windows of the clock: these tests run within one.
pytestmark = pytest.mark.usefixtures("one_login_window")

API = "/api/v1/comparisons"
AGENT = {"User-Agent": "Mozilla/5.0 one-browser", "Content-Type": "text/plain"}


def addresses(network: str, count: int) -> list[str]:
    """Return ``count`` addresses spread over an IPv6 network, as an attacker would pick them."""
    net = ipaddress.IPv6Network(network)
    step = net.num_addresses // (count + 1)
    return [str(net[step * (n + 1)]) for n in range(count)]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def limits_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """Where the counters live: in the process, or in Redis (emptied before and after)."""
    if request.param == "memory":
        yield "memory://"
        return
    url = need("VSWIDGET_TEST_REDIS_URL", REDIS_URL)
    store = redis.Redis.from_url(url)
    store.flushdb()
    yield url
    store.flushdb()
    store.close()


@pytest.fixture
def limited(database_url: str, tmp_path: Path, limits_url: str) -> Iterator[Flask]:
    app = make_app(database_url, tmp_path, RATELIMIT_STORAGE_URL=limits_url)
    yield app
    db.dispose(app)


def publish(client: FlaskClient, app: Flask, document: dict[str, Any]) -> str:
    auth = {"Authorization": f"Bearer {new_publisher(app, 'acme')}"}
    token = client.post(API, json=document, headers=auth).json["embed"]["token"]
    ticket: str = client.get(f"/v1/payload/{token}").json["ticket"]
    return ticket


def vote_from(client: FlaskClient, ticket: str, address: str, item: str = "moka") -> Any:
    body = json.dumps({"ticket": ticket, "item": item})
    return client.post("/v1/votes", data=body, headers=AGENT, environ_base={"REMOTE_ADDR": address})


def total_votes(client: FlaskClient, ticket: str) -> int:
    answer = vote_from(client, ticket, "192.0.2.250", "kettle")  # one more, from elsewhere
    return int(answer.json["votes"]) - 1


def test_two_hundred_addresses_of_one_64_meet_the_vote_limit(
    limited: Flask, document: dict[str, Any]
) -> None:
    """The replayed attack: before, all 200 votes counted and no limit was met."""
    client = limited.test_client()
    ticket = publish(client, limited, document)
    statuses = Counter(
        vote_from(client, ticket, address).status_code
        for address in addresses("2001:db8:7:1::/64", 200)
    )
    assert statuses == {200: 30, 429: 170}  # VOTE_RATE_LIMIT: 30 a minute per /64
    assert total_votes(client, ticket) == 1  # and one visitor hash: one reader, one vote


@pytest.mark.parametrize(
    "senders",
    [["203.0.113.7"], addresses("2001:db8:7:1::/64", 1000)],
    ids=["one IPv4 address", "1,000 addresses of one /64"],
)
def test_a_day_of_stuffing_gets_300_votes_per_address_or_64(
    app: Flask, client: FlaskClient, document: dict[str, Any], senders: list[str]
) -> None:
    """The figure of docs/readers.md's attacker table: a new user agent for every vote
    (a new visitor hash each time), 1,000 votes sent against the day's limit alone."""
    app.config["VOTE_RATE_LIMIT"] = "300/day"
    ticket = publish(client, app, document)
    accepted = 0
    for n in range(1000):
        body = json.dumps({"ticket": ticket, "item": "moka"})
        headers = {**AGENT, "User-Agent": f"Mozilla/5.0 variant-{n}"}
        environ = {"REMOTE_ADDR": senders[n % len(senders)]}
        answer = client.post("/v1/votes", data=body, headers=headers, environ_base=environ)
        accepted += answer.status_code == 200
    assert accepted == 300
    assert total_votes(client, ticket) == 300


def test_two_64s_count_apart(limited: Flask, document: dict[str, Any]) -> None:
    limited.config["VOTE_RATE_LIMIT"] = "2/minute"
    client = limited.test_client()
    ticket = publish(client, limited, document)
    first, second = addresses("2001:db8:7:1::/64", 3), addresses("2001:db8:7:2::/64", 2)
    assert [vote_from(client, ticket, a).status_code for a in first] == [200, 200, 429]
    assert [vote_from(client, ticket, a).status_code for a in second] == [200, 200]
    assert total_votes(client, ticket) == 2


def test_ipv4_readers_still_count_per_address(limited: Flask, document: dict[str, Any]) -> None:
    limited.config["VOTE_RATE_LIMIT"] = "1/minute"
    client = limited.test_client()
    ticket = publish(client, limited, document)
    neighbours = ["198.51.100.1", "198.51.100.2", "::ffff:198.51.100.3"]
    assert [vote_from(client, ticket, a).status_code for a in neighbours] == [200, 200, 200]
    assert vote_from(client, ticket, "198.51.100.1").status_code == 429
    assert vote_from(client, ticket, "198.51.100.3").status_code == 429  # mapped: one reader
    assert total_votes(client, ticket) == 3


@pytest.mark.parametrize(
    ("prefix", "one", "other", "together"),
    [
        (64, "2001:db8:7:1::1", "2001:db8:7:1:ffff::2", True),
        (64, "2001:db8:7:1::1", "2001:db8:7:2::1", False),
        (48, "2001:db8:7:1::1", "2001:db8:7:ff::1", True),
        (128, "2001:db8:7:1::1", "2001:db8:7:1::2", False),
        (64, "203.0.113.7", "203.0.113.8", False),
        (64, "203.0.113.7", "::ffff:203.0.113.7", True),
    ],
)
def test_the_prefix_decides_which_addresses_are_one_reader(
    prefix: int, one: str, other: str, together: bool
) -> None:
    assert (counted_address(one, prefix) == counted_address(other, prefix)) is together


def test_the_visitor_hash_takes_the_64(app: Flask) -> None:
    def hashed(address: str) -> str:
        environ = {"REMOTE_ADDR": address, "HTTP_USER_AGENT": "Firefox/140"}
        with app.test_request_context(environ_base=environ):
            return visitors.visitor_hash("vote:1")

    assert hashed("2001:db8:7:1::1") == hashed("2001:db8:7:1:abcd::9")
    assert hashed("2001:db8:7:1::1") != hashed("2001:db8:7:2::1")
    assert hashed("203.0.113.7") != hashed("203.0.113.8")


def test_publisher_api_key_guesses_count_per_64(database_url: str, tmp_path: Path) -> None:
    app = make_app(database_url, tmp_path, AUTH_FAILURE_RATE_LIMIT="5/minute")
    client = app.test_client()
    guess = {"Authorization": "Bearer vsw_guess"}
    answers = [
        client.get(API, headers=guess, environ_base={"REMOTE_ADDR": address}).status_code
        for address in addresses("2001:db8:7:1::/64", 6)
    ]
    assert answers == [401] * 5 + [429]
    elsewhere = client.get(API, headers=guess, environ_base={"REMOTE_ADDR": "2001:db8:7:2::1"})
    assert elsewhere.status_code == 401
    db.dispose(app)


def test_dashboard_logins_count_per_64(app: Flask, client: FlaskClient) -> None:
    def wrong_login(address: str) -> int:
        form = {"csrf": csrf_of(client), "handle": "acme", "password": "not the password"}
        environ = {"REMOTE_ADDR": address}
        return client.post("/dashboard/login", data=form, environ_base=environ).status_code

    answers = [wrong_login(address) for address in addresses("2001:db8:7:1::/64", 11)]
    assert answers == [200] * 10 + [429]  # LOGIN_RATE_LIMIT: 10 a minute
    assert wrong_login("2001:db8:7:2::1") == 200


@pytest.mark.parametrize("prefix", [0, 129])
def test_a_prefix_out_of_range_is_refused_at_start(tmp_path: Path, prefix: int) -> None:
    with pytest.raises(ConfigurationError, match="VSWIDGET_IPV6_PREFIX"):
        make_app("sqlite://", tmp_path, IPV6_PREFIX=prefix)
