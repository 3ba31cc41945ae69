"""room for counters: the rollup tables leave free space in each page (PostgreSQL)

A rollup step adds to rows already there. With pages packed full, PostgreSQL writes each
new version of a row on another page and adds it to every index; with room left on its
page, the new version stays there (a HOT update) and no index changes. Rows written from
now on leave that room; the tables' existing pages get it as they are rewritten.

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-07
"""

from alembic import op

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None

COUNTED_TABLES = ("daily_totals", "daily_pages", "period_pages", "daily_items", "daily_segments")
FILLFACTOR = 70  # percent of a page filled by inserts; the rest is for updated rows


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in COUNTED_TABLES:
            op.execute(f"ALTER TABLE {table} SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in COUNTED_TABLES:
            op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
