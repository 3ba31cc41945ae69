"""comparisons and webhook deliveries get a random public id, for tokens and bodies

Tokens and webhook bodies named comparisons, votes and sign-ups by their sequential
database ids, which tell a publisher the platform's volumes. New ones name a random
public id instead; tokens of the old form keep verifying (see store.comparison_named).
Pending webhook deliveries get theirs in the body's "id" too.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-06
"""

import json
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLES = ("comparisons", "outbox")


def upgrade() -> None:
    # Plain ALTER TABLE, never batch mode: SQLite's batch mode copies a table and drops
    # the old one, and with foreign keys on, dropping comparisons would delete every
    # vote, tally and event with it. So the column comes with a default of "" (SQLite
    # adds a NOT NULL column only with one) until every row has its id.
    sql = op.get_bind()
    for name in TABLES:
        column = sa.Column("public_id", sa.String(22), nullable=False, server_default="")
        op.add_column(name, column)
        table = sa.table(name, sa.column("id", sa.Integer), sa.column("public_id", sa.String))
        for (row_id,) in sql.execute(sa.select(table.c.id)).all():
            public_id = secrets.token_urlsafe(16)
            sql.execute(table.update().where(table.c.id == row_id).values(public_id=public_id))
        op.create_index(f"ix_{name}_public_id", name, ["public_id"], unique=True)
        if sql.dialect.name != "sqlite":  # SQLite cannot drop a default in place; it is unused
            op.alter_column(name, "public_id", server_default=None)
    outbox = sa.table(
        "outbox",
        sa.column("id", sa.Integer),
        sa.column("public_id", sa.String),
        sa.column("body", sa.Text),
    )
    for row_id, public_id, body in sql.execute(sa.select(outbox)).all():
        sql.execute(
            outbox.update()
            .where(outbox.c.id == row_id)
            .values(body=json.dumps({**json.loads(body), "id": public_id}))
        )


def downgrade() -> None:
    for name in TABLES:
        op.drop_index(f"ix_{name}_public_id", name)
        op.drop_column(name, "public_id")
