"""What anyone may read without credentials."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import text

from ..extensions import db

bp = Blueprint("public", __name__)


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    """Answer 200 when the app can reach its database, 503 otherwise."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means not ready
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {"status": "ok"}, 200
