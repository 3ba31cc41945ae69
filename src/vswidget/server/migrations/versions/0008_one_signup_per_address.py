"""one sign-up per address and publisher whatever its letter case, held by the database

Two sign-ups of A@x.com and a@x.com at once both passed the application's check on
PostgreSQL. Existing duplicates are merged first: the earliest sign-up of an address
stays, with its comparison and consent; the later ones go. A downgrade keeps the
merged rows and makes the uniqueness exact again.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None

INDEX = "uq_signups_publisher_email"
# PostgreSQL's own name for the exact unique constraint; on SQLite, where it has no
# name, the naming convention gives it this one so that batch mode can drop it.
EXACT = "signups_publisher_id_email_key"
NAMING = {"uq": "%(table_name)s_%(column_0_N_name)s_key"}


def upgrade() -> None:
    op.execute(
        "DELETE FROM signups WHERE EXISTS ("
        " SELECT 1 FROM signups AS earlier"
        " WHERE earlier.publisher_id = signups.publisher_id"
        " AND lower(earlier.email) = lower(signups.email)"
        " AND (earlier.created_at < signups.created_at"
        " OR (earlier.created_at = signups.created_at AND earlier.id < signups.id)))"
    )
    with op.batch_alter_table("signups", naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint(EXACT, type_="unique")
    op.create_index(INDEX, "signups", ["publisher_id", sa.text("lower(email)")], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="signups")
    with op.batch_alter_table("signups", naming_convention=NAMING) as batch_op:
        batch_op.create_unique_constraint(EXACT, ["publisher_id", "email"])
