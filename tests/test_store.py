"""The storage interface, and migrations that match the models, on both databases."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import insert, select, text

from vswidget import Conflict, NotFound, ValidationError
from vswidget.schemas import load_comparison
from vswidget.server import models, store
from vswidget.server.extensions import db


# SQLite's reflection cannot read an index on an expression (signups' lower(email)), so
# it is compared on PostgreSQL only; test_signups checks that SQLite holds it too.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_the_migrated_schema_matches_the_models(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), models.metadata)
    assert differences == []


def test_only_a_hash_of_an_api_key_is_stored(app: Flask) -> None:
    with app.app_context():
        _, key = store.create_publisher("acme")
        stored = db.connection.execute(select(models.api_keys)).one()
        assert key.startswith("vsw_") and len(key) > 40
        assert stored.key_hash == store.hash_api_key(key) != key
        assert stored.prefix == key[:12]
        assert store.publisher_for_api_key(key).handle == "acme"  # type: ignore[union-attr]


def test_a_publisher_handle_is_unique(app: Flask) -> None:
    with app.app_context():
        store.create_publisher("acme")
        with pytest.raises(Conflict, match="exists already"):
            store.create_publisher("acme")


@pytest.mark.parametrize("handle", ["A", "Acme", "acme corp", "-acme", "x" * 41])
def test_a_bad_handle_is_refused(app: Flask, handle: str) -> None:
    with app.app_context(), pytest.raises(ValidationError) as caught:
        store.create_publisher(handle)
        assert list(caught.value.fields) == ["handle"]
        assert store.list_publishers() == []


def test_keys_are_listed_by_prefix_and_revoked_one_at_a_time(app: Flask) -> None:
    with app.app_context():
        _, first = store.create_publisher("acme")
        second = store.issue_api_key("acme")
        store.revoke_api_key(first[:12])
        keys = store.list_api_keys("acme")
        assert [(k.prefix, k.revoked_at is not None) for k in keys] == [
            (first[:12], True),
            (second[:12], False),
        ]
        assert store.publisher_for_api_key(first) is None
        assert store.publisher_for_api_key(second) is not None


def test_revoking_an_unknown_or_too_short_prefix_is_not_found(app: Flask) -> None:
    with app.app_context():
        _, key = store.create_publisher("acme")
        for prefix in ("vsw_nothing1", key[:5]):
            with pytest.raises(NotFound):
                store.revoke_api_key(prefix)


def test_a_replaced_document_bumps_the_version_once(app: Flask, document: dict[str, Any]) -> None:
    with app.app_context():
        publisher, _ = store.create_publisher("acme")
        comparison, created = store.save_comparison(publisher, load_comparison(document))
        assert created and comparison.version == 1
        same, created = store.save_comparison(publisher, load_comparison(document))
        assert not created and same.version == 1
        document["title"] = "Changed"
        changed, _ = store.save_comparison(publisher, load_comparison(document))
        assert changed.version == 2


def test_a_deleted_comparisons_id_is_never_reused(app: Flask, document: dict[str, Any]) -> None:
    with app.app_context():
        publisher, _ = store.create_publisher("acme")
        first, _ = store.save_comparison(publisher, load_comparison(document))
        first_id = first.id
        store.delete_comparison(publisher, document["slug"])
        second, _ = store.save_comparison(publisher, load_comparison(document))
        assert second.id != first_id
        assert store.comparison_named(first_id) is None


def test_a_key_can_be_revoked_by_eight_characters_or_by_the_whole_key(app: Flask) -> None:
    with app.app_context():
        _, first = store.create_publisher("acme")
        second = store.issue_api_key("acme")
        store.revoke_api_key(first[:8] if first[:8] != second[:8] else first)
        store.revoke_api_key(second)
        assert all(key.revoked_at for key in store.list_api_keys("acme"))


def test_event_ids_go_on_past_32_bits(app: Flask, document: dict[str, Any]) -> None:
    """At a billion events a month, a 32-bit id would run out in about two months."""
    last_32_bit_id = 2**31 - 1
    with app.app_context():
        publisher, _ = store.create_publisher("acme")
        comparison, _ = store.save_comparison(publisher, load_comparison(document))
        event = {
            "comparison_id": comparison.id,
            "type": "view",
            "item_key": None,
            "origin": "https://blog.example",
            "path": "/",
            "referrer": None,
            "day": date(2026, 11, 24),
            "visitor": "reader",
        }
        with db.writing() as sql:
            if db.engine.dialect.name == "postgresql":  # where the next id comes from
                sql.execute(
                    text("SELECT setval(pg_get_serial_sequence('events', 'id'), :last)"),
                    {"last": last_32_bit_id},
                )
            else:
                sql.execute(insert(models.events).values(id=last_32_bit_id, **event))
        store.add_events([event, event])
        ids = db.connection.scalars(
            select(models.events.c.id).where(models.events.c.id > last_32_bit_id)
        ).all()
        assert sorted(ids) == [2**31, 2**31 + 1]
