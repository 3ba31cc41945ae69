"""daily rollups, leases, dashboard passwords

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_day", ["day"], unique=False)
    with op.batch_alter_table("publishers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.String(length=255), nullable=True))

    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("until", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "daily_items",
        sa.Column("comparison_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("item_key", sa.String(length=40), nullable=False),
        sa.Column("votes", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["comparison_id"], ["comparisons.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("comparison_id", "day", "item_key"),
    )
    op.create_table(
        "daily_pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("comparison_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("impressions", sa.Integer(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("votes", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("signups", sa.Integer(), nullable=False),
        sa.Column("visitors", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["comparison_id"], ["comparisons.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("daily_pages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_daily_pages_comparison_day", ["comparison_id", "day"], unique=False
        )
        batch_op.create_index(
            "ix_daily_pages_cover",
            ["comparison_id", "origin", "path", "day", "impressions", "views", "votes"]
            + ["clicks", "signups", "visitors"],
            unique=False,
        )

    op.create_table(
        "daily_totals",
        sa.Column("comparison_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("impressions", sa.Integer(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("votes", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("signups", sa.Integer(), nullable=False),
        sa.Column("visitors", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["comparison_id"], ["comparisons.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("comparison_id", "day"),
    )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_day")
    with op.batch_alter_table("publishers", schema=None) as batch_op:
        batch_op.drop_column("password_hash")

    op.drop_table("daily_totals")
    with op.batch_alter_table("daily_pages", schema=None) as batch_op:
        batch_op.drop_index("ix_daily_pages_cover")
        batch_op.drop_index("ix_daily_pages_comparison_day")

    op.drop_table("daily_pages")
    op.drop_table("daily_items")
    op.drop_table("leases")
