"""Raw analytics events, as widgets send them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert

from ..extensions import db
from ..models import events


def add_events(batch: list[dict[str, Any]]) -> None:
    """Store raw analytics events."""
    db.write(lambda sql: sql.execute(insert(events), batch))
