"""events.id becomes a 64-bit bigint on PostgreSQL, its sequence too

At a billion events a month, 32-bit ids run out in about 64 days. SQLite's INTEGER
PRIMARY KEY is 64 bits already: nothing changes there.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _retype(sa.Integer(), sa.BigInteger(), "bigint")


def downgrade() -> None:
    _retype(sa.BigInteger(), sa.Integer(), "integer")


def _retype(old: sa.types.TypeEngine, new: sa.types.TypeEngine, sequence_type: str) -> None:
    sql = op.get_bind()
    if sql.dialect.name != "postgresql":
        return
    op.alter_column("events", "id", existing_type=old, type_=new, existing_nullable=False)
    sequence = sql.execute(sa.text("SELECT pg_get_serial_sequence('events', 'id')")).scalar()
    op.execute(f"ALTER SEQUENCE {sequence} AS {sequence_type}")
