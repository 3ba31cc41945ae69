"""every item of every comparison gets a vote tally row, 0 until its first vote

The vote path reads the tallies to learn which item keys exist, instead of the document.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

comparisons = sa.table("comparisons", sa.column("id", sa.Integer), sa.column("document", sa.Text))
vote_tallies = sa.table(
    "vote_tallies",
    sa.column("comparison_id", sa.Integer),
    sa.column("item_key", sa.String),
    sa.column("count", sa.Integer),
)


def upgrade() -> None:
    sql = op.get_bind()
    have = set(sql.execute(sa.select(vote_tallies.c.comparison_id, vote_tallies.c.item_key)))
    rows = [
        {"comparison_id": comparison_id, "item_key": item["key"], "count": 0}
        for comparison_id, document in sql.execute(sa.select(comparisons))
        for item in json.loads(document)["items"]
        if (comparison_id, item["key"]) not in have
    ]
    if rows:
        op.bulk_insert(vote_tallies, rows)


def downgrade() -> None:
    # Before 0005 an item without votes had no row; a row at 0 reads the same there.
    op.execute(vote_tallies.delete().where(vote_tallies.c.count == 0))
