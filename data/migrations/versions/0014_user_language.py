"""A user's console language and a worker's own time zone (issue #13, "Language and time").

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 20:00:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"  # chained at merge: 0010 -> 0017 -> 0011 -> 0012 -> 0013 -> 0014
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("language", sa.String(length=10), nullable=True))
    with op.batch_alter_table("workers") as batch:
        batch.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workers") as batch:
        batch.drop_column("timezone")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("language")
