"""Leases: a named job one process at a time may run, for a while."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import leases, utcnow


def take_lease(name: str, seconds: float) -> bool:
    """Take the job ``name`` for ``seconds`` unless another process holds it; say if taken."""
    now = utcnow()
    until = now + timedelta(seconds=seconds)
    try:
        with db.writing() as sql:
            held = sql.scalar(select(leases.c.until).where(leases.c.name == name).with_for_update())
            if held is None:
                sql.execute(insert(leases).values(name=name, until=until))
                return True
            if held > now:
                return False
            sql.execute(update(leases).where(leases.c.name == name).values(until=until))
            return True
    except IntegrityError:  # another process took it a moment ago
        return False
