"""publishers.webhook_failures and webhook_paused_until: a failing receiver backs off

A publisher's deliveries wait while its receiver keeps failing, twice as long after
each failure in a row, whichever delivery failed; one success ends the wait.

Revision ID: 0011
Revises: 0008
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("publishers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("webhook_failures", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("webhook_paused_until", sa.DateTime(), nullable=True))


def downgrade() -> None:
    # Not in batch mode: on SQLite that copies the table, and dropping the old copy
    # would delete every publisher's comparisons by cascade. SQLite 3.35+ drops a column.
    op.drop_column("publishers", "webhook_paused_until")
    op.drop_column("publishers", "webhook_failures")
