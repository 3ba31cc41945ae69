"""event budgets: what each comparison took in per day (event_days), the host pages it
admitted (event_pages), what each address sent (address_days)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_days",
        sa.Column("comparison_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("stored", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("over_budget", sa.BigInteger(), nullable=False),
        sa.Column("other_host", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["comparison_id"], ["comparisons.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("comparison_id", "day"),
    )
    op.create_table(
        "event_pages",
        sa.Column("comparison_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("page", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["comparison_id"], ["comparisons.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("comparison_id", "day", "page"),
    )
    op.create_table(
        "address_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("address", sa.String(length=32), nullable=False),
        sa.Column("sent", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "address"),
    )


def downgrade() -> None:
    op.drop_table("address_days")
    op.drop_table("event_pages")
    op.drop_table("event_days")
