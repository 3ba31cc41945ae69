"""visitor scopes the database can compute: today's and yesterday's counted visitors
recounted with the MD5 scope (analytics.targets.visitor_scope)

A PostgreSQL rollup step now finds new visitors in the database, which computes a host
page's scope with md5(); the rows counted before held another hash, so the two days
still counted (today and yesterday) are recounted from their events up to the cursor,
holding the cursor as a step does.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

from vswidget.server.analytics.increments import hold_cursor
from vswidget.server.analytics.rollups import recompute_day
from vswidget.server.event_budgets import page_key
from vswidget.server.models import counted_visitors, events
from vswidget.server.visitors import today

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    last_id = hold_cursor(bind)
    for day in (today() - timedelta(days=1), today()):
        recompute_day(bind, day, last_id, visitors=True)


def downgrade() -> None:
    """Recount the two days with the earlier scope, the hash of event_budgets.page_key."""
    bind = op.get_bind()
    last_id, since = hold_cursor(bind), today() - timedelta(days=1)
    seen = bind.execute(
        sa.select(events.c.visitor, events.c.comparison_id, events.c.day, events.c.origin)
        .add_columns(events.c.path)
        .where(events.c.day >= since, events.c.id <= last_id)
        .distinct()
    ).all()
    bind.execute(sa.delete(counted_visitors).where(counted_visitors.c.day >= since))
    rows = [
        {"visitor": v, "comparison_id": c, "day": d, "scope": page_key(origin, path)}
        for v, c, d, origin, path in seen
    ]
    if rows:
        bind.execute(sa.insert(counted_visitors), rows)
