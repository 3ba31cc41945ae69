"""the last minutes: events found by comparison and time (ix_events_comparison_created)

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-06
"""

from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_comparison_created", "events", ["comparison_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_events_comparison_created", table_name="events")
