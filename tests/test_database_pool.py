"""Pooled PostgreSQL connections: one that sat idle is checked before use, and replaced
when its session has ended (a PostgreSQL restart); one used a moment ago is not checked,
for under load the check was a round trip of every write."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from vswidget.server import extensions
from vswidget.server.extensions import make_engine

pytestmark = pytest.mark.postgresql


@pytest.fixture
def engine(postgresql_url: str) -> Iterator[Engine]:
    engine = make_engine(postgresql_url)
    yield engine
    engine.dispose()


@pytest.fixture
def pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The connections checked before use, in order."""
    checked: list[Any] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        checked.append(dbapi_connection)
        return ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return checked


def backend(engine: Engine) -> int:
    with engine.connect() as sql:
        return int(sql.scalar(text("SELECT pg_backend_pid()")))


def test_a_connection_used_a_moment_ago_is_not_checked(engine: Engine, pings: list[Any]) -> None:
    first = backend(engine)
    assert backend(engine) == first  # the same pooled connection, straight back
    assert pings == []


def test_an_idle_connection_is_checked_and_replaced_when_its_session_has_ended(
    engine: Engine, pings: list[Any], postgresql_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = backend(engine)
    other = create_engine(postgresql_url)
    with other.begin() as sql:  # what a restart does to every session
        sql.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    other.dispose()
    monkeypatch.setattr(extensions, "PING_AFTER_IDLE", 0.0)
    assert backend(engine) != first
    assert len(pings) == 1  # the dead one; its replacement is new, so not checked


def test_an_idle_connection_that_is_alive_is_checked_and_used(
    engine: Engine, pings: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = backend(engine)
    monkeypatch.setattr(extensions, "PING_AFTER_IDLE", 0.0)
    assert backend(engine) == first
    assert len(pings) == 1
