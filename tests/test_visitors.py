"""Daily-salted visitor hashes: one truth in the database for every worker and host."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from helpers import make_app
from sqlalchemy import insert, select

from vswidget.server import models, visitors
from vswidget.server.extensions import db
from vswidget.server.jobs import maintain

READER = {"REMOTE_ADDR": "203.0.113.7", "HTTP_USER_AGENT": "Firefox/140"}


@pytest.fixture
def hosts(database_url: str, tmp_path: Path) -> Iterator[tuple[Flask, Flask]]:
    """Two app instances, as on two hosts: their own processes' memory, one database."""
    first, second = make_app(database_url, tmp_path), make_app(database_url, tmp_path)
    yield first, second
    db.dispose(first)
    db.dispose(second)


def hash_on(app: Flask, environ: dict[str, str], scope: str = "vote:1") -> str:
    with app.test_request_context(environ_base=environ):
        return visitors.visitor_hash(scope)


def stored_days(app: Flask) -> list[object]:
    with app.app_context():
        return list(db.connection.scalars(select(models.salts.c.day)))


def test_two_hosts_hash_a_reader_alike_on_the_same_day(hosts: tuple[Flask, Flask]) -> None:
    first, second = hosts
    assert hash_on(first, READER) == hash_on(second, READER)
    other_reader = {**READER, "REMOTE_ADDR": "203.0.113.8"}
    assert hash_on(second, other_reader) != hash_on(first, READER)
    assert hash_on(first, READER, "vote:2") != hash_on(first, READER)  # nothing links comparisons
    assert stored_days(first) == [visitors.today()]


def test_the_first_readers_of_a_day_on_both_hosts_at_once_get_one_salt(
    hosts: tuple[Flask, Flask],
) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        hashes = set(pool.map(lambda n: hash_on(hosts[n % 2], READER), range(16)))
    assert len(hashes) == 1
    assert stored_days(hosts[0]) == [visitors.today()]


def test_the_jobs_delete_a_past_days_salt_even_when_no_reader_comes(app: Flask) -> None:
    with app.app_context():
        with db.writing() as sql:
            sql.execute(
                insert(models.salts).values(
                    day=visitors.today() - timedelta(days=1), value="yesterday"
                )
            )
        maintain()
    assert stored_days(app) == []
