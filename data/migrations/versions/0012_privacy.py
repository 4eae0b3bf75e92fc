"""Privacy: users' team scopes, workers' consents to tracking, anonymised leavers.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 20:00:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from data.tables import UTCDateTime

revision = "0012"
# The brief said "0010"; main already has 0017 on 0010, so this follows 0017 to keep a single head.
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        # Existing users keep seeing every team: nothing changes for a running office.
        batch.add_column(sa.Column("all_teams", sa.Boolean(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("team_scope", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("workers") as batch:
        batch.add_column(sa.Column("anonymised_at", UTCDateTime(), nullable=True))
    op.create_table(
        "worker_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("text_version", sa.String(length=50), nullable=False),
        sa.Column("given_at", UTCDateTime(), nullable=False),
        sa.Column("given_by", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
        sa.Column("withdrawn_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["worker_id"], ["workers.id"], name=op.f("fk_worker_consents_worker_id_workers"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["given_by"], ["users.id"], name=op.f("fk_worker_consents_given_by_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["withdrawn_by"], ["users.id"], name=op.f("fk_worker_consents_withdrawn_by_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_consents")),
    )  # fmt: skip
    op.create_index(op.f("ix_worker_consents_worker_id"), "worker_consents", ["worker_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_worker_consents_worker_id"), table_name="worker_consents")
    op.drop_table("worker_consents")
    with op.batch_alter_table("workers") as batch:
        batch.drop_column("anonymised_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("team_scope")
        batch.drop_column("all_teams")
