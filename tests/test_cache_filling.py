"""Issue 14, finding 1, replayed: nobody can fill the cache, nor through it wipe the vote limits.

The attack: batch reads of twenty large tokens, reshuffled, repeated or in subsets, and
with Host headers of the attacker's choosing, each added an entry to the cache (5.75 MB
on Redis per request); reads had no limit; and on a Redis evicting its least recently
used keys, the flood evicted the rate limits' counters, so one address voted twice its
limit.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from helpers import REDIS_URL, make_app, need
from live import free_port

from vswidget.server.extensions import cache, db
from vswidget.server.limit_storage import limit_storage_warnings
from vswidget.server.memory_cache import LONGEST_TTL, BoundedMemoryCache
from vswidget.server.public_bases import MAX_BASES

API = "/api/v1/comparisons"
LOCALES = ("en", "de", "fr", "es")
READER = {"User-Agent": "Mozilla/5.0 reader", "Content-Type": "text/plain;charset=UTF-8"}


def redis_url() -> str:
    url = need("VSWIDGET_TEST_REDIS_URL", REDIS_URL)
    redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture(params=["simple://", pytest.param("redis", marks=pytest.mark.redis)])
def cache_url(request: pytest.FixtureRequest) -> str:
    """The in-process cache, and the test Redis (emptied)."""
    return redis_url() if request.param == "redis" else str(request.param)


def cache_bytes(app: Flask) -> int:
    """The bytes the app's cache holds: counted in process, MEMORY USAGE on Redis."""
    backend = app.extensions["cache"][cache]
    if isinstance(backend, BoundedMemoryCache):
        return backend.used_bytes
    client = redis.Redis.from_url(app.config["CACHE_URL"])
    return sum(client.memory_usage(key) or 0 for key in client.scan_iter())


def publish(app: Flask, document: dict[str, Any], count: int) -> list[str]:
    """Publish ``count`` comparisons with long, hardly compressible texts; their tokens."""
    from vswidget.server import store

    with app.app_context():
        _, key = store.create_publisher(f"p{random.randrange(10**9)}")
    client, words = app.test_client(), random.Random(count)
    tokens = []
    for index in range(count):
        text = " ".join("".join(words.choices("abcdefghijklmnop", k=7)) for _ in range(240))
        items = [item | {"description": text[:2000]} for item in document["items"]]
        body = document | {"slug": f"big-{index}", "items": items}
        answer = client.post(API, json=body, headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 201, answer.json
        tokens.append(answer.json["embed"]["token"])
    return tokens


def batch(client: FlaskClient, tokens: list[str], **environ: str) -> Any:
    return client.get("/v1/payloads?" + "&".join(f"t={t}" for t in tokens), environ_base=environ)


@pytest.fixture
def cached_app(database_url: str, tmp_path: Path, cache_url: str) -> Iterator[Flask]:
    """An app on each cache backend."""
    app = make_app(database_url, tmp_path, CACHE_URL=cache_url)
    yield app
    db.dispose(app)


def test_reshuffled_repeated_or_partial_batches_add_nothing_to_the_cache(
    cached_app: Flask, document: dict[str, Any]
) -> None:
    tokens = publish(cached_app, document, 6)
    client = cached_app.test_client()
    assert batch(client, tokens).status_code == 200  # one entry per token
    held = cache_bytes(cached_app)
    shuffler = random.Random(14)
    for _ in range(40):
        asked = shuffler.sample(tokens, shuffler.randint(1, len(tokens)))
        asked += shuffler.choices(asked, k=shuffler.randint(0, 3))  # repeats
        answer = batch(client, asked, REMOTE_ADDR=f"10.1.0.{shuffler.randrange(250)}")
        assert answer.status_code == 200
        assert list(answer.json["payloads"]) == list(dict.fromkeys(asked))
    assert cache_bytes(cached_app) == held


def test_bad_tokens_add_nothing_to_the_cache(cached_app: Flask, document: dict[str, Any]) -> None:
    tokens = publish(cached_app, document, 1)
    client = cached_app.test_client()
    batch(client, tokens)
    held = cache_bytes(cached_app)
    for n in range(30):
        forged = [f"MQ.forged-{n}-{m}" for m in range(19)]
        assert list(batch(client, tokens + forged).json["errors"]) == forged
        assert client.get(f"/v1/payload/forged-{n}").status_code == 404
    assert cache_bytes(cached_app) == held


def test_a_batch_of_more_tokens_than_the_cap_is_refused(client: FlaskClient) -> None:
    answer = client.get("/v1/payloads?" + "&".join(f"t=t{n}" for n in range(21)))
    assert answer.status_code == 400
    assert answer.json["error"]["fields"] == {"t": ["At most 20."]}


def test_host_headers_add_no_cache_entries_past_the_first_few(
    database_url: str,
    tmp_path: Path,
    document: dict[str, Any],
    cache_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app(database_url, tmp_path, CACHE_URL=cache_url, PUBLIC_URL=None)
    try:
        token = publish(app, document, 1)[0]
        client = app.test_client()
        sizes = []
        for n in range(3 * MAX_BASES):
            host = f"attacker-{n}.example"
            for _ in "12":
                answer = client.get(f"/v1/payload/{token}", headers={"Host": host})
                assert answer.json["url"].startswith(f"http://{host}/c/")  # still its own URLs
            sizes.append(cache_bytes(app))
        assert len(set(sizes[MAX_BASES - 1 :])) == 1  # nothing kept past the first hosts
        refusals = [r for r in caplog.records if "VSWIDGET_PUBLIC_URL" in r.getMessage()]
        assert len(refusals) == 1
    finally:
        db.dispose(app)


def test_the_in_process_cache_stays_under_its_bound_whatever_is_read(
    database_url: str, tmp_path: Path, document: dict[str, Any]
) -> None:
    bound = 100_000
    app = make_app(database_url, tmp_path, CACHE_MAX_BYTES=bound)
    try:
        tokens = publish(app, document, 6)
        client = app.test_client()
        for lang in LOCALES:  # 24 entries of about 9 KB
            for token in tokens:
                answer = client.get(f"/v1/payload/{token}?lang={lang}")
                assert answer.json["locale"] == lang
                assert 0 < cache_bytes(app) <= bound
        for token in tokens:  # what was dropped is built again
            assert client.get(f"/v1/payload/{token}?lang=en").json["token"] == token
    finally:
        db.dispose(app)


@pytest.mark.redis
def test_every_key_the_cache_makes_on_redis_expires(
    database_url: str, tmp_path: Path, document: dict[str, Any]
) -> None:
    app = make_app(database_url, tmp_path, CACHE_URL=redis_url())
    try:
        tokens = publish(app, document, 2)
        client = app.test_client()
        batch(client, tokens)
        client.get("/readyz")
        with app.app_context():
            from vswidget.server import payloads

            comparison = payloads.comparison_for_token(tokens[0])
            payloads.forget(comparison.id, comparison.public_id)  # a change: a new generation
        batch(client, tokens)
        keys = redis.Redis.from_url(app.config["CACHE_URL"])
        ttls = [keys.ttl(key) for key in keys.scan_iter()]
        assert len(ttls) >= 4 and all(0 < ttl <= LONGEST_TTL for ttl in ttls)
    finally:
        db.dispose(app)


def test_a_read_flood_from_one_address_meets_429_and_others_read_on(
    database_url: str, tmp_path: Path, document: dict[str, Any]
) -> None:
    app = make_app(database_url, tmp_path, READ_RATE_LIMIT="10/minute")
    try:
        token = publish(app, document, 1)[0]
        client = app.test_client()
        flooder = {"REMOTE_ADDR": "192.0.2.66"}
        answers = [
            client.get(f"/v1/payloads?t={token}&v={n}", environ_base=flooder) for n in range(12)
        ]
        assert [a.status_code for a in answers] == [200] * 10 + [429] * 2
        assert int(answers[-1].headers["Retry-After"]) > 0
        for path in (f"/v1/payload/{token}?v=1", f"/embed/{token}"):
            assert client.get(path, environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200
        # What the cache answers makes nothing and is not counted: the flooder still reads it.
        assert client.get(f"/v1/payloads?t={token}", environ_base=flooder).status_code == 200
    finally:
        db.dispose(app)


@pytest.fixture
def capped_redis(tmp_path: Path) -> Iterator[str]:
    """A Redis of its own on 127.0.0.1, evicting its least recently used keys once it holds
    600 KB more than when it started: a memory-capped cache Redis."""
    server = need("redis-server", shutil.which("redis-server"))
    port = free_port()
    process = subprocess.Popen(
        [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
        + ["--dir", str(tmp_path), "--maxmemory-policy", "allkeys-lru"],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        client.config_set("maxmemory", client.info("memory")["used_memory"] + 600_000)
        yield f"redis://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def vote(client: FlaskClient, payload: dict[str, Any]) -> int:
    body = json.dumps({"ticket": payload["ticket"], "item": payload["items"][0]["key"]})
    answer = client.post("/v1/votes", data=body, headers=READER, environ_base=VOTER)
    return int(answer.status_code)


VOTER = {"REMOTE_ADDR": "198.51.100.30"}


@pytest.mark.redis
def test_a_payload_flood_evicts_no_vote_counter_with_redis_set_up_as_deploy_md_says(
    database_url: str, tmp_path: Path, document: dict[str, Any], capped_redis: str
) -> None:
    cache_url, limits_url = f"{capped_redis}/0", redis_url()  # the limits: noeviction
    assert limit_storage_warnings(cache_url, limits_url) == []
    app = make_app(database_url, tmp_path, CACHE_URL=cache_url, RATELIMIT_STORAGE_URL=limits_url)
    try:
        tokens = publish(app, document, 16)
        client = app.test_client()
        payload = client.get(f"/v1/payload/{tokens[0]}").json
        assert [vote(client, payload) for _ in range(30)] == [200] * 30
        cached = redis.Redis.from_url(cache_url)
        for n, (lang, token) in enumerate((lang, t) for lang in LOCALES for t in tokens):
            reader = {"REMOTE_ADDR": f"10.2.{n // 200}.{n % 200}"}
            assert client.get(f"/v1/payload/{token}?lang={lang}", environ_base=reader).json
        assert cached.info("stats")["evicted_keys"] > 0  # the cache was full and evicted
        assert vote(client, payload) == 429  # the 31st vote of the minute
    finally:
        db.dispose(app)


def test_the_rate_limits_sharing_the_caches_redis_or_evicting_are_told_apart(
    capped_redis: str,
) -> None:
    shared = limit_storage_warnings(f"{capped_redis}/0", f"{capped_redis}/1")
    assert [sentence.split(" (")[0] for sentence in shared] == [
        "The rate limits and the cache use the same Redis server",
        "The rate limits' Redis evicts keys when full",
    ]
    assert "allkeys-lru" in shared[1]
    alias = capped_redis.replace("127.0.0.1", "localhost")
    assert len(limit_storage_warnings(f"{alias}/0", f"{capped_redis}/1")) == 2
    assert limit_storage_warnings("simple://", "memory://") == []
    redis.Redis.from_url(capped_redis).config_set("maxmemory-policy", "noeviction")
    assert limit_storage_warnings("simple://", f"{capped_redis}/1") == []


def test_serve_warns_at_start_when_payload_traffic_could_wipe_the_rate_limits(
    tmp_path: Path, capped_redis: str
) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": ":".join(sys.path),
        "VSWIDGET_INSTANCE_PATH": str(tmp_path / "instance"),
        "VSWIDGET_CACHE_URL": f"{capped_redis}/0",
        "VSWIDGET_RATELIMIT_STORAGE_URL": f"{capped_redis}/1",
    }
    vswidget = Path(sys.executable).with_name("vswidget")
    process = subprocess.Popen(
        [str(vswidget), "serve", "--port", str(free_port())],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    try:
        warnings = []
        for line in process.stderr:  # the warnings come before gunicorn starts
            if "Starting gunicorn" in line:
                break
            warnings += [line] if line.startswith("Warning: ") else []
    finally:
        process.terminate()
        process.communicate(timeout=30)
    assert len(warnings) == 2
    assert "same Redis server" in warnings[0] and "noeviction" in warnings[0]
