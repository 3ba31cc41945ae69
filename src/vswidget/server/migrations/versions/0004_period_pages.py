"""page rollups per week and per four weeks (period_pages), filled from daily_pages;
daily_pages indexed by comparison and day (covering) and by day

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COUNTED = ("impressions", "views", "votes", "clicks", "signups", "visitors")
WEEK = 7


def upgrade() -> None:
    with op.batch_alter_table("daily_pages", schema=None) as batch_op:
        batch_op.drop_index("ix_daily_pages_cover")
        batch_op.drop_index("ix_daily_pages_comparison_day")
        batch_op.create_index(
            "ix_daily_pages_comparison_day_cover",
            ["comparison_id", "day", "origin", "path", *COUNTED],
            unique=False,
        )
        batch_op.create_index("ix_daily_pages_day", ["day"], unique=False)

    op.create_table(
        "period_pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("comparison_id", sa.Integer(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTED),
        sa.ForeignKeyConstraint(["comparison_id"], ["comparisons.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("period_pages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_period_pages_period", ["days", "start", "comparison_id"], unique=False
        )
    fill_periods()


def downgrade() -> None:
    with op.batch_alter_table("period_pages", schema=None) as batch_op:
        batch_op.drop_index("ix_period_pages_period")
    op.drop_table("period_pages")

    with op.batch_alter_table("daily_pages", schema=None) as batch_op:
        batch_op.drop_index("ix_daily_pages_day")
        batch_op.drop_index("ix_daily_pages_comparison_day_cover")
        batch_op.create_index(
            "ix_daily_pages_comparison_day", ["comparison_id", "day"], unique=False
        )
        batch_op.create_index(
            "ix_daily_pages_cover",
            ["comparison_id", "origin", "path", "day", *COUNTED],
            unique=False,
        )


def period_start(day: date, days: int) -> date:
    """The first day of the ``days``-long period holding ``day``, counted from 0001-01-01."""
    ordinal = day.toordinal()
    return date.fromordinal(ordinal - (ordinal - 1) % days)


def fill_periods() -> None:
    """Sum the daily page rows already there into weeks, then the weeks into fours.

    As ``analytics.roll_up`` does for each day it rolls up, with this revision's
    own table definitions, so later changes to the models do not change it.
    """
    daily = page_table("daily_pages", sa.column("day", sa.Date()))
    periods = page_table(
        "period_pages",
        sa.column("days", sa.Integer()),
        *(sa.column(name, sa.Date()) for name in ("start", "first_day", "last_day")),
    )
    bind = op.get_bind()
    days = bind.scalars(sa.select(daily.c.day).distinct()).all()
    weeks = sorted({period_start(day, WEEK) for day in days})
    for week in weeks:
        parts = sa.select(
            daily.c.comparison_id,
            daily.c.origin,
            daily.c.path,
            daily.c.day.label("first_day"),
            daily.c.day.label("last_day"),
            *(daily.c[name] for name in COUNTED),
        ).where(daily.c.day >= week, daily.c.day < week + timedelta(days=WEEK))
        bind.execute(insert_sums(periods, WEEK, week, parts))
    for span in sorted({period_start(week, 4 * WEEK) for week in weeks}):
        parts = sa.select(
            periods.c.comparison_id,
            periods.c.origin,
            periods.c.path,
            periods.c.first_day,
            periods.c.last_day,
            *(periods.c[name] for name in COUNTED),
        ).where(
            periods.c.days == WEEK,
            periods.c.start >= span,
            periods.c.start < span + timedelta(days=4 * WEEK),
        )
        bind.execute(insert_sums(periods, 4 * WEEK, span, parts))


def page_table(name: str, *columns: sa.ColumnClause[Any]) -> sa.TableClause:
    """A table of counts per comparison and host page, with ``columns`` as well."""
    return sa.table(
        name,
        sa.column("comparison_id", sa.Integer()),
        *columns,
        sa.column("origin", sa.String()),
        sa.column("path", sa.String()),
        *(sa.column(counted, sa.Integer()) for counted in COUNTED),
    )


def insert_sums(periods: sa.TableClause, days: int, start: date, parts: sa.Select) -> sa.Insert:
    """An INSERT of one period's rows: ``parts`` summed per comparison and host page."""
    part = parts.subquery()
    return periods.insert().from_select(
        ["comparison_id", "days", "start", "origin", "path", "first_day", "last_day", *COUNTED],
        sa.select(
            part.c.comparison_id,
            sa.literal(days),
            sa.literal(start),
            part.c.origin,
            part.c.path,
            sa.func.min(part.c.first_day),
            sa.func.max(part.c.last_day),
            *(sa.func.sum(part.c[name]) for name in COUNTED),
        ).group_by(part.c.comparison_id, part.c.origin, part.c.path),
    )
