"""Prepared statements: Core compiled once, run on the driver's cursor, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from vswidget.server import models, store
from vswidget.server.extensions import db
from vswidget.server.prepared import Prepared, pipelined_transaction

NEW_PUBLISHER = Prepared(
    insert(models.publishers)
    .values(handle=bindparam("handle"), created_at=bindparam("at"))
    .returning(models.publishers.c.id)
)
PUBLISHER = Prepared(
    select(models.publishers.c.handle).where(models.publishers.c.id == bindparam("id"))
)
AT = datetime(2026, 11, 24, 12, 30, 15, 250000, tzinfo=UTC)


def test_values_go_through_the_column_types_and_rows_come_back(app: Flask) -> None:
    with app.app_context():
        with db.writing_sql() as sql:
            done = NEW_PUBLISHER.run(sql, handle="acme", at=AT)
            (new_id,) = done.rows[0]
            assert done.rowcount == 1
            assert PUBLISHER.run(sql, id=new_id).rows == [("acme",)]
        stored = db.connection.execute(
            select(models.publishers).where(models.publishers.c.id == new_id)
        ).one()
        assert stored is not None and stored.created_at == AT  # read back by the ORM, as UTC


def test_a_driver_error_is_raised_as_sqlalchemys_and_rolls_back_the_transaction(
    app: Flask,
) -> None:
    with app.app_context():
        store.create_publisher("acme")
        with pytest.raises(IntegrityError), db.writing_sql() as sql:
            NEW_PUBLISHER.run(sql, handle="first", at=AT)
            NEW_PUBLISHER.run(sql, handle="acme", at=AT)
        assert [p.handle for p in db.connection.execute(select(models.publishers))] == ["acme"]


def test_a_statement_outside_a_transaction_is_refused_rather_than_lost(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as sql:
        with pytest.raises(RuntimeError, match="inside a transaction"):
            NEW_PUBLISHER.run(sql, handle="acme", at=AT)


def handles(app: Flask) -> list[str]:
    with app.app_context():
        query = select(models.publishers.c.handle).order_by(models.publishers.c.id)
        return list(db.connection.scalars(query))


@pytest.mark.postgresql
def test_statements_sent_in_a_pipelined_transaction_are_read_once_it_is_committed(
    postgresql_app: Flask,
) -> None:
    with postgresql_app.app_context(), db.own_transactions() as sql:
        with pipelined_transaction(sql):
            first = NEW_PUBLISHER.send(sql, handle="first", at=AT)
            second = NEW_PUBLISHER.send(sql, handle="second", at=AT)
        assert first.done().rows[0][0] < second.done().rows[0][0]
    assert handles(postgresql_app) == ["first", "second"]


@pytest.mark.postgresql
def test_a_failed_statement_in_a_pipelined_transaction_rolls_all_of_it_back(
    postgresql_app: Flask,
) -> None:
    with postgresql_app.app_context():
        store.create_publisher("acme")
        with db.own_transactions() as sql:
            with pytest.raises(IntegrityError), pipelined_transaction(sql):
                NEW_PUBLISHER.send(sql, handle="first", at=AT)
                NEW_PUBLISHER.send(sql, handle="acme", at=AT)
            NEW_PUBLISHER.run(sql, handle="after", at=AT)  # the connection is fit again
    assert handles(postgresql_app) == ["acme", "after"]
