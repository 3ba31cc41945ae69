"""vswidget's server app in this process, for the benchmarks that time it without gunicorn.

The one place in benchmarks/ that uses the server's store and database objects
(`vswidget.server.store`, `extensions.db`): dashboard.py and storage.py go through it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, text

SECRET_KEYS = ["benchmark-key-of-at-least-32-bytes"]


@contextmanager
def app_on(url: str, **config: Any) -> Iterator[Any]:
    """Migrate the database at ``url``; yield an app on it; dispose of its engine at the end."""
    from vswidget.server import create_app
    from vswidget.server.extensions import db
    from vswidget.server.migrations import upgrade

    upgrade(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEYS": SECRET_KEYS, **config})
    try:
        yield app
    finally:
        db.dispose(app)


def publish(app: Any, handle: str, document: dict[str, Any] | None) -> tuple[int, str, str]:
    """Create a publisher (and publish ``document``); return the comparison's id, its slug and
    the publisher's API key (0 and "" without a document)."""
    from vswidget.server import store

    with app.app_context():
        publisher, api_key = store.create_publisher(handle)
        if document is None:
            return 0, "", api_key
        comparison, _ = store.save_comparison(publisher, document)
        return comparison.id, comparison.slug, api_key


def set_password(app: Any, handle: str, password: str) -> None:
    from vswidget.server import store

    with app.app_context():
        store.set_password(handle, password)


@contextmanager
def connection(app: Any) -> Iterator[Connection]:
    """Yield an autocommit connection to the app's database."""
    from vswidget.server.extensions import db

    with app.app_context(), db.engine.connect() as connected:
        yield connected.execution_options(isolation_level="AUTOCOMMIT")


def row_counts(app: Any, tables: tuple[str, ...]) -> dict[str, int]:
    with connection(app) as connected:
        return {
            table: int(connected.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0)
            for table in tables
        }
