"""Check-in confidence and review: score, reasons and evidence per check-in, its review; photos' EXIF and stamped copy.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 17:00:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from data.tables import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("checkins") as batch:
        batch.add_column(sa.Column("confidence_score", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("confidence_reasons", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("confidence_evidence", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("review_status", sa.String(length=20), server_default="not_needed", nullable=False))
        batch.add_column(sa.Column("reviewed_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("reviewed_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("review_note", sa.Text(), server_default="", nullable=False))
        batch.create_foreign_key(
            op.f("fk_checkins_reviewed_by_users"), "users", ["reviewed_by"], ["id"], ondelete="SET NULL"
        )
        batch.create_index(op.f("ix_checkins_review_status"), ["review_status"])
    with op.batch_alter_table("photos") as batch:
        batch.add_column(sa.Column("exif_taken_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("exif_latitude", sa.Float(), nullable=True))
        batch.add_column(sa.Column("exif_longitude", sa.Float(), nullable=True))
        batch.add_column(sa.Column("watermarked_path", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("photos") as batch:
        for column in ("watermarked_path", "exif_longitude", "exif_latitude", "exif_taken_at"):
            batch.drop_column(column)
    with op.batch_alter_table("checkins") as batch:
        batch.drop_index(op.f("ix_checkins_review_status"))
        batch.drop_constraint(op.f("fk_checkins_reviewed_by_users"), type_="foreignkey")
        for column in (
            "review_note", "reviewed_at", "reviewed_by", "review_status",
            "confidence_evidence", "confidence_reasons", "confidence_score",
        ):  # fmt: skip
            batch.drop_column(column)
