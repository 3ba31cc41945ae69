"""incremental rollups: the cursor of the last event counted (rollup_cursor), the
visitors already counted (counted_visitors), and unique keys for daily_pages and
period_pages to add to with ON CONFLICT

Today's and yesterday's rollups and counted visitors are recomputed from the raw
events up to the newest id, and the cursor starts there: the next step counts exactly
the events stored after it. On PostgreSQL, inserts wait for the migration meanwhile
(SHARE lock on events). On SQLite a trigger keeps the cursor right when the newest
events are deleted (their ids are reused without AUTOINCREMENT); a later migration that
recreates the events table (batch mode) must create it again.

Revision ID: 0013
Revises: 0014
Create Date: 2026-12-06
"""

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

from vswidget.server.analytics.rollups import recompute_day
from vswidget.server.visitors import today

revision = "0013"
down_revision = "0014"
branch_labels = None
depends_on = None

KEEP_CURSOR = """
CREATE TRIGGER events_keep_rollup_cursor AFTER DELETE ON events
WHEN old.id > (SELECT coalesce(max(id), 0) FROM events)
BEGIN
    UPDATE rollup_cursor SET event_id = (SELECT coalesce(max(id), 0) FROM events)
    WHERE event_id > (SELECT coalesce(max(id), 0) FROM events);
END
"""


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.create_index(
        "ux_daily_pages_key",
        "daily_pages",
        ["comparison_id", "day", "origin", "path"],
        unique=True,
    )
    op.create_index(
        "ux_period_pages_key",
        "period_pages",
        ["comparison_id", "days", "start", "origin", "path"],
        unique=True,
    )
    cursor = op.create_table(
        "rollup_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "counted_visitors",
        sa.Column("visitor", sa.String(length=32), nullable=False),
        sa.Column("comparison_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["comparison_id"], ["comparisons.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("visitor", "comparison_id", "day", "scope"),
    )
    op.create_index("ix_counted_visitors_day", "counted_visitors", ["day"])
    if sqlite:
        op.execute(KEEP_CURSOR)
    else:
        op.execute("LOCK TABLE events IN SHARE MODE")
    last_id = int(bind.scalar(sa.text("SELECT coalesce(max(id), 0) FROM events")))
    op.bulk_insert(cursor, [{"id": 1, "event_id": last_id}])
    for day in (today() - timedelta(days=1), today()):
        recompute_day(bind, day, last_id, visitors=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER events_keep_rollup_cursor")
    op.drop_table("counted_visitors")
    op.drop_table("rollup_cursor")
    op.drop_index("ux_period_pages_key", "period_pages")
    op.drop_index("ux_daily_pages_key", "daily_pages")
