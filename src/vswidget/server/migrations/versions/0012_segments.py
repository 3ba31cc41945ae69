"""sources and devices: the user agent's classes on each event (events.device,
events.browser), and a day's counts per segment of readers (daily_segments)

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None

COUNTERS = ("impressions", "views", "votes", "clicks", "signups")


def upgrade() -> None:
    with op.batch_alter_table("events") as table:
        table.add_column(sa.Column("device", sa.String(length=8), nullable=True))
        table.add_column(sa.Column("browser", sa.String(length=16), nullable=True))
    op.create_table(
        "daily_segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("comparison_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTERS),
        sa.ForeignKeyConstraint(["comparison_id"], ["comparisons.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ux_daily_segments_key",
        "daily_segments",
        ["comparison_id", "day", "kind", "origin", "path", "value"],
        unique=True,
    )
    op.create_index("ix_daily_segments_day", "daily_segments", ["day"])


def downgrade() -> None:
    op.drop_table("daily_segments")
    with op.batch_alter_table("events") as table:
        table.drop_column("browser")
        table.drop_column("device")
