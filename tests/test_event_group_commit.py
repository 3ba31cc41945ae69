"""Group commit of event batches: what a worker's requests hand over during a flush is
stored by the next one, each request answered only once its flush is committed; a flush
that fails fails every request in it and stores nothing of them; a graceful stop loses
nothing acknowledged."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from helpers import PUBLIC_URL, empty_postgresql, make_app, new_publisher
from live import LiveServer
from sqlalchemy import create_engine, delete, func, select, text

from vswidget import Client
from vswidget.server import event_budgets, models
from vswidget.server.extensions import db
from vswidget.server.gathering import Gathering
from vswidget.server.prepared import Prepared

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
UNLIMITED = "1000000/minute"
PER_BATCH = 10


def batch(token: str) -> str:
    events = [{"type": ("impression", "view")[i % 2], "token": token} for i in range(PER_BATCH)]
    return json.dumps({"page": "https://blog.example/post", "events": events})


def held_back(
    gathering: Gathering[Any, Any],
    count: int,
    submit: Callable[[int], Any],
    meanwhile: Callable[[], None] = lambda: None,
) -> list[Any]:
    """Run ``submit(0..count-1)`` in threads while no flush may start, until every item
    is queued and ``meanwhile`` has run; then let flushes take them. Return what each call
    gave or raised."""
    answers: list[Any] = [None] * count

    def call(number: int) -> None:
        try:
            answers[number] = submit(number)
        except Exception as error:  # noqa: BLE001 - what the caller saw
            answers[number] = error

    threads = [threading.Thread(target=call, args=(n,)) for n in range(count)]
    with gathering.lock:
        gathering.flushing = True  # as if a flush were under way
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(gathering.pending) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    meanwhile()
    first = gathering.pending[0]  # as that flush ends: the first queued takes the turn
    first.lead = True
    first.wake.release()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def test_items_handed_over_during_a_flush_are_flushed_together_each_with_its_own_result() -> None:
    flushed: list[list[int]] = []

    def flush(items: list[int]) -> list[int]:
        flushed.append(sorted(items))
        return [2 * item for item in items]

    gathering: Gathering[int, int] = Gathering(flush, limit=64)
    assert held_back(gathering, 5, gathering.submit) == [0, 2, 4, 6, 8]
    assert flushed == [[0, 1, 2, 3, 4]]


def test_an_item_is_answered_once_its_flush_returns_while_the_next_flush_runs() -> None:
    flushed: list[list[int]] = []
    answered: list[int] = []
    second_runs, second_may_end = threading.Event(), threading.Event()

    def flush(items: list[int]) -> list[int]:
        flushed.append(items)
        if len(flushed) == 2:
            second_runs.set()
            assert second_may_end.wait(30)
        return items

    def submit(number: int) -> int:
        result = gathering.submit(number)
        answered.append(number)
        return result

    gathering: Gathering[int, int] = Gathering(flush, limit=1)
    both = threading.Thread(target=held_back, args=(gathering, 2, submit))
    both.start()
    assert second_runs.wait(30)
    deadline = time.monotonic() + 30
    while not answered and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [answered] == flushed[:1]  # while the second flush has not returned
    second_may_end.set()
    both.join(timeout=30)
    assert sorted(answered) == [0, 1]


def test_a_failed_flush_fails_every_item_in_it_and_the_next_flush_runs() -> None:
    def flush(items: list[int]) -> list[int]:
        if len(items) > 1:
            raise RuntimeError("the database went away")
        return items

    gathering: Gathering[int, int] = Gathering(flush, limit=64)
    answers = held_back(gathering, 3, gathering.submit)
    assert all(isinstance(answer, RuntimeError) for answer in answers)
    assert gathering.submit(7) == 7


def test_a_flush_takes_at_most_its_limit_of_items() -> None:
    sizes: list[int] = []

    def flush(items: list[int]) -> list[int]:
        sizes.append(len(items))
        return items

    gathering: Gathering[int, int] = Gathering(flush, limit=2)
    assert held_back(gathering, 5, gathering.submit) == [0, 1, 2, 3, 4]
    assert sorted(sizes) == [1, 2, 2]


@pytest.fixture
def app(postgresql_url: str, tmp_path: Path) -> Iterator[Flask]:
    empty_postgresql(postgresql_url)
    app = make_app(postgresql_url, tmp_path, PROPAGATE_EXCEPTIONS=False)
    yield app
    db.dispose(app)


def count(app: Flask, table: Any) -> int:
    with app.app_context():
        return db.connection.scalar(select(func.count()).select_from(table)) or 0


@pytest.mark.postgresql
def test_a_flush_that_fails_answers_every_batch_in_it_5xx_and_stores_none_of_them(
    app: Flask, document: dict[str, Any]
) -> None:
    key = new_publisher(app, "acme")
    with Client(PUBLIC_URL, key, transport=httpx.WSGITransport(app=app)) as sdk:
        tokens = [sdk.publish(document).token, sdk.publish({**document, "slug": "gone"}).token]

    def post(number: int) -> int:
        response = app.test_client().post(
            "/v1/events",
            data=batch(tokens[number]),
            headers={"Content-Type": "text/plain", "User-Agent": BROWSER},
        )
        return response.status_code

    def delete_the_second() -> None:  # while both batches wait: the flush meets its absence
        with app.app_context(), db.writing() as sql:
            sql.execute(delete(models.comparisons).where(models.comparisons.c.slug == "gone"))

    gathering = app.extensions["vswidget.event-batches"]
    assert held_back(gathering, 2, post, delete_the_second) == [500, 500]
    for table in (models.events, models.event_days, models.address_days, models.event_pages):
        assert count(app, table) == 0
    assert post(0) == 204  # the next flush stores as ever
    assert count(app, models.events) == PER_BATCH


@pytest.mark.postgresql
def test_a_flush_whose_events_fail_to_store_answers_5xx_and_leaves_only_their_counts(
    app: Flask, document: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The counts commit on their own before the events (event_budgets.store_batches): when
    # storing fails after them, nothing is stored nor acknowledged, and the day's budget
    # is that many events short.
    key = new_publisher(app, "acme")
    with Client(PUBLIC_URL, key, transport=httpx.WSGITransport(app=app)) as sdk:
        token = sdk.publish(document).token

    def post() -> int:
        headers = {"Content-Type": "text/plain", "User-Agent": BROWSER}
        return app.test_client().post("/v1/events", data=batch(token), headers=headers).status_code

    def insert_failing(sql: Any, rows: list[dict[str, Any]]) -> None:
        FAILING.send(sql)

    monkeypatch.setattr(event_budgets, "insert_events", insert_failing)
    assert post() == 500
    assert count(app, models.events) == 0
    with app.app_context():
        assert db.connection.scalar(select(models.event_days.c.stored)) == PER_BATCH
    monkeypatch.undo()
    assert post() == 204  # the connection went back to the pool fit for the next flush
    assert count(app, models.events) == PER_BATCH


FAILING = Prepared(text("SELECT 1 / 0"))


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    # Every batch comes from 127.0.0.1: a day's address budget would drop some, unstored.
    server = LiveServer(
        tmp_path,
        workers=2,
        DATABASE_URL=database_url,
        EVENT_RATE_LIMIT=UNLIMITED,
        EVENT_ADDRESS_BUDGET="10000000",
    )
    yield server.start()
    server.stop()


def stored_events(database_url: str) -> tuple[int, int]:
    """Return the events stored, and the events the comparisons' day rows count."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as sql:
            rows = sql.scalar(select(func.count()).select_from(models.events)) or 0
            counted = sql.scalar(select(func.sum(models.event_days.c.stored))) or 0
            return rows, counted
    finally:
        engine.dispose()


def post_batches(base: str, token: str, count: int) -> int:
    """Post ``count`` batches on one connection; return how many were answered 204."""
    acknowledged = 0
    with httpx.Client(headers={"Content-Type": "text/plain", "User-Agent": BROWSER}) as http:
        for _ in range(count):
            try:
                response = http.post(f"{base}/v1/events", content=batch(token), timeout=30)
            except httpx.TransportError:  # the server stopped: not acknowledged
                break
            acknowledged += response.status_code == 204
    return acknowledged


def publish(server: LiveServer, document: dict[str, Any]) -> str:
    with Client(server.base, server.new_publisher("acme")) as sdk:
        return sdk.publish(document).token


def test_batches_posted_at_once_through_two_workers_are_all_stored_and_counted(
    server: LiveServer, database_url: str, document: dict[str, Any]
) -> None:
    token = publish(server, document)
    with ThreadPoolExecutor(max_workers=12) as pool:
        acknowledged = sum(pool.map(lambda _: post_batches(server.base, token, 15), range(12)))
    assert acknowledged == 12 * 15
    assert stored_events(database_url) == (acknowledged * PER_BATCH, acknowledged * PER_BATCH)


def test_a_graceful_stop_under_load_loses_no_acknowledged_event(
    server: LiveServer, database_url: str, document: dict[str, Any]
) -> None:
    token = publish(server, document)
    with ThreadPoolExecutor(max_workers=8) as pool:
        posting = [pool.submit(post_batches, server.base, token, 10_000) for _ in range(8)]
        time.sleep(1.5)
        server.stop()  # SIGTERM: each worker finishes the requests it holds, then exits
        acknowledged = sum(future.result() for future in posting)
    assert acknowledged > 0
    rows, counted = stored_events(database_url)
    assert (
        rows >= acknowledged * PER_BATCH
    )  # a batch stored as the server stopped may go unanswered
    assert counted == rows
