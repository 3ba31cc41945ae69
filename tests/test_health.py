"""Liveness (/healthz) and readiness (/readyz), as a load balancer sees them."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import REDIS_URL, SECRET, need
from sqlalchemy import create_engine, make_url, text

from vswidget.server import create_app
from vswidget.server.extensions import db, limiter
from vswidget.server.migrations import upgrade

CLOSED_PORT = "127.0.0.1:1"  # nothing listens there: connections are refused at once
CHECKS = {"database", "migrations", "cache", "rate_limits"}


AppOn = Callable[..., Flask]


@pytest.fixture
def app_on() -> Iterator[AppOn]:
    """Make apps with the settings a test names; their connections are closed afterwards."""
    made: list[Flask] = []

    def make(database_url: str, **settings: Any) -> Flask:
        made.append(
            create_app(
                {"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEYS": [SECRET], **settings}
            )
        )
        return made[-1]

    yield make
    for app in made:
        db.dispose(app)


def assert_not_ready(response: Any, failed: dict[str, str]) -> dict[str, Any]:
    """Check a 503 names exactly what failed, in the one error shape, and nothing secret."""
    assert response.status_code == 503
    assert response.headers["Cache-Control"] == "no-store"
    body: dict[str, Any] = response.json
    assert body["status"] == "unavailable"
    assert {name: body["checks"][name] for name in failed} == failed
    error = body["error"]
    assert error["status"] == 503 and set(error["fields"]) == set(failed)
    assert all(name in error["message"] for name in failed)
    for secret in ("127.0.0.1", "redis://", "sqlite:", SECRET):
        assert secret not in response.get_data(as_text=True)
    return body


def test_healthz_answers_ok_while_the_database_answers(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_answers_each_check_when_everything_is_ready(
    app: Flask, client: FlaskClient
) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json["status"] == "ready"
    assert response.json["checks"] == dict.fromkeys(CHECKS, "ok")
    assert response.json["backends"] == {
        "database": make_url(app.config["DATABASE_URL"]).get_backend_name(),
        "cache": "in-process",
        "rate_limits": "in-process",
    }


def test_health_answers_are_never_rate_limited(
    app_on: AppOn, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One Limiter serves every app of the process, and it keeps the first default limit
    # it is given: without this, every app made after this test would inherit 2/minute.
    monkeypatch.setattr(limiter.limit_manager, "_default_limits", [])
    app = app_on(database_url, RATELIMIT_DEFAULT="2/minute")
    client = app.test_client()
    assert [client.get("/favicon.ico").status_code for _ in range(3)] == [204, 204, 429]
    assert {client.get(path).status_code for path in ["/healthz", "/readyz"] * 5} == {200}


def test_readyz_names_an_unreachable_redis_without_its_url(
    app_on: AppOn, database_url: str
) -> None:
    redis_down = f"redis://{CLOSED_PORT}/0"
    both = app_on(database_url, CACHE_URL=redis_down, RATELIMIT_STORAGE_URL=redis_down)
    body = assert_not_ready(
        both.test_client().get("/readyz"), {"cache": "unreachable", "rate_limits": "unreachable"}
    )
    assert body["checks"]["database"] == "ok"
    assert body["backends"]["cache"] == body["backends"]["rate_limits"] == "redis"
    # liveness is the database alone: a Redis outage must not get the process restarted
    assert both.test_client().get("/healthz").status_code == 200

    counters_only = app_on(database_url, RATELIMIT_STORAGE_URL=redis_down)
    assert_not_ready(counters_only.test_client().get("/readyz"), {"rate_limits": "unreachable"})


def test_an_unreachable_database_fails_liveness_and_readiness(
    app_on: AppOn, tmp_path: Path
) -> None:
    app = app_on(f"sqlite:///{tmp_path}/no-such-folder/vswidget.sqlite3")
    client = app.test_client()
    alive = client.get("/healthz")
    assert alive.status_code == 503
    assert alive.json["status"] == "unavailable"
    assert alive.json["error"]["fields"] == {"database": ["Unreachable."]}
    body = assert_not_ready(client.get("/readyz"), {"database": "unreachable"})
    assert body["checks"]["migrations"] == "unknown"
    assert body["checks"]["cache"] == "ok"


def test_readyz_is_503_until_migrations_reach_head(app_on: AppOn, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/vswidget.sqlite3"
    upgrade(url, "0002")
    client = app_on(url).test_client()
    assert_not_ready(client.get("/readyz"), {"migrations": "behind"})
    assert client.get("/healthz").status_code == 200
    upgrade(url)
    assert client.get("/readyz").json["checks"]["migrations"] == "ok"


def test_readyz_stays_ready_on_a_database_migrated_by_a_newer_release(
    app_on: AppOn, tmp_path: Path, sqlite_template: Path
) -> None:
    """A rolling upgrade migrates first: the hosts still on the old code keep serving."""
    path = tmp_path / "vswidget.sqlite3"
    shutil.copy(sqlite_template, path)
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_next_release'"))
    engine.dispose()
    response = app_on(f"sqlite:///{path}").test_client().get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"]["migrations"] == "ahead"


@pytest.mark.redis
def test_readyz_checks_a_reachable_redis_for_the_cache_and_the_counters(
    app_on: AppOn, database_url: str
) -> None:
    url = need("VSWIDGET_TEST_REDIS_URL", REDIS_URL)
    app = app_on(database_url, CACHE_URL=url, RATELIMIT_STORAGE_URL=url)
    response = app.test_client().get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json["checks"] == dict.fromkeys(CHECKS, "ok")
    assert response.json["backends"]["cache"] == response.json["backends"]["rate_limits"] == "redis"
