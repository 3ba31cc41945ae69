"""Several hosts, one truth: two real servers share one PostgreSQL and one Redis.

Hosts A and B are two ``vswidget serve --workers 2`` processes on their own
127.0.0.1 ports, each with its own instance folder, as two machines behind a load
balancer would be. They share the database (the session's PostgreSQL schema), the
Redis that holds the payload cache and the rate-limit counters, the secret keys and
the public URL. They sit behind one trusted proxy, so each reader is told apart by
the X-Forwarded-For address the test gives it.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import redis
from helpers import REDIS_URL, empty_postgresql, need
from live import KEY, LiveServer
from sqlalchemy import Engine, create_engine, text

from vswidget import Client
from vswidget.server import signing

pytestmark = [pytest.mark.postgresql, pytest.mark.redis]

PUBLIC_URL = "https://vs.example.test"  # one public address for both hosts, as behind a balancer
LIMIT = 5  # votes, and event batches, one address may send per minute
READERS = 120
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0"
CLAIM = "vswidget-test-claim"
KILL_AFTER = 40  # operations host A acknowledges before it is killed
RUN_SECONDS = 10.0  # the most the load of the SIGKILL test runs
MAX_OPERATIONS = 500  # and the most operations it sends


@dataclass
class Hosts:
    a: LiveServer
    b: LiveServer
    http: httpx.Client
    database: Engine
    redis: redis.Redis
    api_key: str

    def __iter__(self) -> Iterator[LiveServer]:
        return iter((self.a, self.b))


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A Redis database of this module's own: the first empty one it can claim; emptied after."""
    base = need("VSWIDGET_TEST_REDIS_URL", REDIS_URL)
    for number in range(15, 0, -1):  # not 0: other tests empty the one they are given
        url = urlsplit(base)._replace(path=f"/{number}").geturl()
        client = redis.Redis.from_url(url)
        if client.dbsize() == 0 and client.set(CLAIM, "1", nx=True, ex=600):
            yield url
            client.flushdb()
            client.close()
            return
        client.close()
    pytest.fail(f"no empty Redis database left to claim next to {base}")


@pytest.fixture(scope="module")
def hosts(
    postgresql_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hosts]:
    empty_postgresql(postgresql_url)
    shared = {
        "DATABASE_URL": postgresql_url,
        "CACHE_URL": redis_url,
        "RATELIMIT_STORAGE_URL": redis_url,
        "PUBLIC_URL": PUBLIC_URL,
        "TRUSTED_PROXIES": "1",
        "VOTE_RATE_LIMIT": f"{LIMIT}/minute",
        "EVENT_RATE_LIMIT": f"{LIMIT}/minute",
    }
    servers = [
        LiveServer(tmp_path_factory.mktemp(f"host-{name}"), workers=2, **shared) for name in "ab"
    ]
    database = create_engine(postgresql_url)
    store = redis.Redis.from_url(redis_url)
    http = httpx.Client(timeout=10, limits=httpx.Limits(max_connections=32))
    try:
        with ThreadPoolExecutor() as pool:  # both at once, as in a rollout
            list(pool.map(LiveServer.start, servers))
        key = servers[0].new_publisher("acme")
        yield Hosts(servers[0], servers[1], http, database, store, key)
    finally:
        http.close()  # first: kept-alive connections would hold up a graceful stop
        with ThreadPoolExecutor() as pool:
            list(pool.map(LiveServer.stop, servers))
        store.close()
        database.dispose()


def publish(hosts: Hosts, document: dict[str, Any], slug: str, through: LiveServer) -> str:
    """Publish (PUT) ``document`` as ``slug`` through one host; return its embed token."""
    with Client(through.base, hosts.api_key) as sdk:
        return sdk.publish({**document, "slug": slug}).token


def payload(hosts: Hosts, server: LiveServer, token: str) -> dict[str, Any]:
    response = hosts.http.get(f"{server.base}/v1/payload/{token}")
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def reader(n: int, subnet: int) -> dict[str, str]:
    """The headers of reader ``n``: an address of its own behind the proxy, a browser.

    (Not "reader" in the user agent: that is a feed reader's, dropped as a bot.)
    """
    return {
        "X-Forwarded-For": f"10.{subnet}.{n // 250}.{n % 250 + 1}",
        "User-Agent": f"{CHROME} Safari/537.36 r{n}",
        "Content-Type": "text/plain",
    }


def vote(
    hosts: Hosts, server: LiveServer, headers: dict[str, str], ticket: str, item: str
) -> httpx.Response:
    body = json.dumps({"ticket": ticket, "item": item})
    return hosts.http.post(f"{server.base}/v1/votes", content=body, headers=headers)


def send_events(
    hosts: Hosts, server: LiveServer, headers: dict[str, str], token: str, path: str
) -> httpx.Response:
    """Send a batch of two events (an impression and a view) from the page ``path``."""
    body = json.dumps(
        {
            "page": f"https://blog.example.com{path}",
            "events": [{"type": "impression", "token": token}, {"type": "view", "token": token}],
        }
    )
    return hosts.http.post(f"{server.base}/v1/events", content=body, headers=headers)


def vote_key(receipt: str) -> str:
    """Return the key (voter) of the vote a receipt names."""
    _, vote = signing.unsign(signing.VOTE_RECEIPT, receipt, keys=[KEY])
    assert isinstance(vote, str)
    return vote


def query(hosts: Hosts, sql: str, slug: str) -> list[Any]:
    """Return the rows ``sql`` finds in the shared database for the comparison ``:slug``."""
    with hosts.database.connect() as connection:
        return list(connection.execute(text(sql), {"slug": slug}))


def stored_votes(hosts: Hosts, slug: str) -> dict[str, str]:
    """Every vote the database holds for a comparison: its key (voter) and item."""
    sql = "SELECT v.voter, v.item_key FROM votes v JOIN comparisons c ON c.id = v.comparison_id"
    return {row.voter: row.item_key for row in query(hosts, sql + " WHERE c.slug = :slug", slug)}


def stored_events(hosts: Hosts, slug: str) -> Counter[str]:
    """How many events the database holds for a comparison, per host page path."""
    sql = "SELECT e.path, count(*) AS n FROM events e JOIN comparisons c ON c.id = e.comparison_id"
    rows = query(hosts, sql + " WHERE c.slug = :slug GROUP BY e.path", slug)
    return Counter({row.path: row.n for row in rows})


def test_votes_through_both_hosts_are_counted_exactly(
    hosts: Hosts, document: dict[str, Any]
) -> None:
    token = publish(hosts, document, "votes-both-hosts", through=hosts.a)
    ticket = payload(hosts, hosts.a, token)["ticket"]
    servers = list(hosts)

    def one_reader(n: int) -> tuple[str, str]:
        first = vote(hosts, servers[n % 2], reader(n, 1), ticket, "kettle")
        assert first.status_code == 200, first.text
        if n % 3:
            return vote_key(first.json()["receipt"]), "kettle"
        # A third change their mind through the other host, without their receipt:
        # the other host hashes them alike (same day, same salt), so the vote moves.
        again = vote(hosts, servers[(n + 1) % 2], reader(n, 1), ticket, "moka")
        assert again.status_code == 200, again.text
        assert vote_key(again.json()["receipt"]) == vote_key(first.json()["receipt"])
        return vote_key(again.json()["receipt"]), "moka"

    with ThreadPoolExecutor(max_workers=12) as pool:
        acknowledged = dict(pool.map(one_reader, range(READERS)))  # vote key -> last choice
    expected = {"kettle": READERS - READERS // 3, "moka": READERS // 3}
    assert Counter(acknowledged.values()) == expected
    assert stored_votes(hosts, "votes-both-hosts") == acknowledged
    for server in hosts:  # both hosts serve the same, exact tallies
        items = payload(hosts, server, token)["items"]
        assert {item["key"]: item["votes"] for item in items} == expected


def test_a_publishers_change_through_one_host_is_served_fresh_by_the_other_at_once(
    hosts: Hosts, document: dict[str, Any]
) -> None:
    slug = "fresh-on-every-host"
    token = publish(hosts, document, slug, through=hosts.a)
    reads = {
        "payload": f"/v1/payload/{token}",
        "payloads": f"/v1/payloads?t={token}",
        "iframe form": f"/embed/{token}",
        "canonical page": f"/c/acme/{slug}",
    }
    before = {name: hosts.http.get(hosts.b.base + path) for name, path in reads.items()}
    for name, response in before.items():
        assert response.status_code == 200 and document["title"] in response.text, name
    assert hosts.redis.keys("vsw:*"), "B's payloads are cached in the shared Redis"

    title = "Kettle or Moka Pot: the rematch"
    publish(hosts, {**document, "title": title}, slug, through=hosts.a)
    for name, path in reads.items():
        etag = before[name].headers["ETag"]
        after = hosts.http.get(hosts.b.base + path, headers={"If-None-Match": etag})
        assert after.status_code == 200, f"{name}: B still has the old one"
        assert title in after.text and document["title"] not in after.text, name


def test_the_rate_limit_of_one_address_holds_across_both_hosts(
    hosts: Hosts, document: dict[str, Any]
) -> None:
    token = publish(hosts, document, "limited-votes", through=hosts.a)
    ticket = payload(hosts, hosts.a, token)["ticket"]
    headers = reader(0, 3)  # one address, one browser
    servers = list(hosts)

    def send(n: int) -> tuple[str, httpx.Response]:
        server = servers[n % 2]
        return server.base, vote(hosts, server, headers, ticket, "kettle")

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(send, range(3 * LIMIT)))  # all at once, half to each host
    assert Counter(response.status_code for _, response in answers) == {200: LIMIT, 429: 2 * LIMIT}
    refused = [(base, response) for base, response in answers if response.status_code == 429]
    assert {base for base, _ in refused} == {hosts.a.base, hosts.b.base}
    for _, response in refused:
        assert 0 < int(response.headers["Retry-After"]) <= 60
        assert response.json()["error"]["status"] == 429
    assert hosts.redis.keys("LIMITS:*"), "the counters live in the shared Redis"


def test_sigkill_of_one_host_under_load_loses_nothing_acknowledged(
    hosts: Hosts, document: dict[str, Any]
) -> None:
    slug = "host-killed-under-load"
    token = publish(hosts, document, slug, through=hosts.b)
    ticket = payload(hosts, hosts.b, token)["ticket"]
    lock = threading.Lock()
    numbers = itertools.count()
    votes: dict[str, str] = {}  # acknowledged: vote key -> item
    events: Counter[str] = Counter()  # acknowledged: page path -> events
    unanswered: list[int] = []  # sent to A, never answered: A died first
    answered: Counter[str] = Counter()  # by "A", "B before", "B after" the kill
    killed = threading.Event()
    deadline = time.monotonic() + RUN_SECONDS

    def operate(n: int) -> None:
        """Reader ``n`` votes (n % 4 < 2) or sends events, through A (even n) or B."""
        # Once A is down, the balancer sends everything to B.
        through_a = n % 2 == 0 and not killed.is_set()
        server = hosts.a if through_a else hosts.b
        item = ("kettle", "moka")[n % 3 % 2]
        try:
            if n % 4 < 2:
                response = vote(hosts, server, reader(n, 4), ticket, item)
            else:
                response = send_events(hosts, server, reader(n, 4), token, f"/post-{n}")
        except httpx.TransportError:
            assert through_a, f"B failed to answer operation {n}"
            with lock:
                unanswered.append(n)
            return
        assert response.status_code in {200, 204}, response.text
        with lock:
            if response.status_code == 200:
                votes[vote_key(response.json()["receipt"])] = item
            else:
                events[f"/post-{n}"] += 2
            answered["A" if through_a else "B after" if killed.is_set() else "B before"] += 1

    def work() -> None:
        while time.monotonic() < deadline and (n := next(numbers)) < MAX_OPERATIONS:
            operate(n)

    with ThreadPoolExecutor(max_workers=8) as pool:
        workers = [pool.submit(work) for _ in range(8)]
        while answered["A"] < KILL_AFTER and time.monotonic() < deadline:
            time.sleep(0.01)
        hosts.a.kill()  # the whole process group at once, requests in flight
        killed.set()
        for worker in workers:
            worker.result()

    assert answered["A"] >= KILL_AFTER and answered["B after"] > 0, answered
    stored = stored_votes(hosts, slug)
    assert {vote: stored.get(vote) for vote in votes} == votes  # every acknowledged vote
    assert len(stored) - len(votes) <= len(unanswered)  # and nothing from nowhere
    in_database = stored_events(hosts, slug)
    # Past the day's cap of host pages, a page's events are stored under other pages ("").
    other_pages = in_database.pop("", 0)
    assert all(in_database[path] in {0, count} for path, count in events.items())
    under_other = sum(count for path, count in events.items() if not in_database[path])
    assert under_other <= other_pages <= under_other + 2 * len(unanswered)  # every acknowledged
    assert set(in_database) - set(events) <= {f"/post-{n}" for n in unanswered}
    assert hosts.http.get(f"{hosts.b.base}/readyz").status_code == 200

    hosts.a.start()  # back after the crash, it serves the same truth as B
    for server in hosts:
        assert hosts.http.get(f"{server.base}/readyz").status_code == 200
        items = payload(hosts, server, token)["items"]
        assert {item["key"]: item["votes"] for item in items} == Counter(stored.values())


def test_the_event_rate_limit_of_one_address_holds_across_both_hosts_and_drops_silently(
    hosts: Hosts, document: dict[str, Any]
) -> None:
    token = publish(hosts, document, "limited-events", through=hosts.a)
    headers = reader(1, 3)  # one address, one browser
    servers = list(hosts)

    def send(n: int) -> httpx.Response:
        return send_events(hosts, servers[n % 2], headers, token, "/limited")

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(send, range(3 * LIMIT)))  # all at once, half to each host
    assert {response.status_code for response in answers} == {204}  # the widget sees no error
    assert stored_events(hosts, "limited-events") == {"/limited": 2 * LIMIT}  # 2 events a batch
    sql = "SELECT d.over_budget FROM event_days d JOIN comparisons c ON c.id = d.comparison_id"
    assert [
        row.over_budget for row in query(hosts, sql + " WHERE c.slug = :slug", "limited-events")
    ] == [2 * 2 * LIMIT]
    assert hosts.redis.keys("LIMITS:*"), "the counters live in the shared Redis"
