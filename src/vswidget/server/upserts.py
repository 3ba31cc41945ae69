"""INSERT ... ON CONFLICT of the database in use: PostgreSQL's or SQLite's.

A dialect's INSERT is imported when a statement first needs it, so a server on SQLite
never loads PostgreSQL's dialect (about 2 MiB a worker).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any


def insert(dialect: str, table: Any) -> Any:
    """Return ``dialect``'s INSERT into ``table``, with its ``on_conflict_*`` methods."""
    return import_module(f"sqlalchemy.dialects.{dialect}").insert(table)
