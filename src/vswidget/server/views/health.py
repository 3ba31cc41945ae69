"""Health for load balancers and orchestrators: liveness (/healthz) and readiness (/readyz).

Both answer small JSON, are never cached and never rate-limited. They name what
they checked and how it went, never a URL, a host name or a secret.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import inspect, text

from ..extensions import cache, db, limiter
from ..migrations import heads, revisions

bp = Blueprint("health", __name__)
limiter.exempt(bp)

OK = "ok"
UNKNOWN = "unknown"  # not checked: what it depends on failed, and is named instead
# A database at a newer migration ("ahead") and a cache turned off are fine.
READY = {OK, "ahead", "off"}


@bp.after_request
def never_cached(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Liveness: 200 when the app can reach its database, 503 otherwise."""
    if _database() != OK:
        body = {"status": "unavailable", "database": "unreachable"}
        return _unavailable(body, {"database": "unreachable"}), 503
    return jsonify(status=OK), 200


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Readiness: the database, its migrations, the cache and the rate-limit counters.

    503 when any of them fails, naming each one that did. A database at a newer
    migration than this code knows ("ahead") is ready: during a rolling upgrade the
    database is upgraded first, and the hosts not yet upgraded must keep serving.
    """
    checks = {"database": _database()}
    checks["migrations"] = _migrations() if checks["database"] == OK else UNKNOWN
    checks["cache"] = _cache()
    checks["rate_limits"] = OK if limiter.storage.check() else "unreachable"
    failed = {name: state for name, state in checks.items() if state not in READY | {UNKNOWN}}
    body = {
        "status": "ready" if not failed else "unavailable",
        "checks": checks,
        "backends": _backends(),
    }
    if failed:
        return _unavailable(body, failed), 503
    return jsonify(body), 200


def _unavailable(body: Mapping[str, object], failed: dict[str, str]) -> Response:
    """Return ``body`` with the one error shape of every 5xx added to it."""
    what = ", ".join(f"{name} {state}" for name, state in failed.items())
    error = {
        "status": 503,
        "message": f"Not ready: {what}.",
        "fields": {name: [state.capitalize() + "."] for name, state in failed.items()},
    }
    return jsonify({**body, "error": error})


def _check(name: str, probe: Callable[[], str]) -> str:
    """Return what ``probe`` says, or "unreachable" (logged, never answered) if it fails."""
    try:
        return probe()
    except Exception as error:  # noqa: BLE001 - any failure means not ready
        current_app.logger.warning("%s check failed: %s: %s", name, type(error).__name__, error)
        return "unreachable"


def _database() -> str:
    def probe() -> str:
        db.connection.execute(text("SELECT 1"))
        return OK

    state = _check("database", probe)
    if state != OK:
        try:
            db.connection.rollback()
        except Exception:  # noqa: BLE001, S110 - the connection is gone already
            pass
    return state


def _migrations() -> str:
    """Return "ok" at head, "behind" when migrations are missing, "ahead" past our head."""

    def probe() -> str:
        sql = db.connection
        current = (
            set(sql.execute(text("SELECT version_num FROM alembic_version")).scalars())
            if inspect(sql).has_table("alembic_version")
            else set()
        )
        if current == heads():
            return OK
        return "ahead" if current - revisions().keys() else "behind"

    return _check("migrations", probe)


def _cache() -> str:
    """Write a key of this request's own, read it back, drop it."""
    if current_app.config["CACHE_URL"].startswith("null:"):
        return "off"

    def probe() -> str:
        key, value = f"readyz:{secrets.token_hex(8)}", secrets.token_hex(8)
        cache.set(key, value, timeout=10)
        found = cache.get(key)
        cache.delete(key)
        return OK if found == value else "unreachable"

    return _check("cache", probe)


def _backends() -> dict[str, str]:
    """Name the kind of each backend, e.g. postgresql and redis: never its URL."""

    def kind(url: str) -> str:
        scheme = url.split(":", 1)[0]
        return {"simple": "in-process", "memory": "in-process", "null": "off"}.get(
            scheme, "redis" if scheme in {"redis", "rediss", "unix"} else scheme
        )

    return {
        "database": db.engine.dialect.name,
        "cache": kind(current_app.config["CACHE_URL"]),
        "rate_limits": kind(current_app.config["RATELIMIT_STORAGE_URL"]),
    }
