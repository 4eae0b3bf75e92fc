"""The field worker's side: actions from the push-link page, photos, service reports, link versions.

Revision ID: 0002
Revises: 0001
Create Date: 2025-03-04 08:00:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from data.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "field_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_action_id", sa.String(length=100), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("event_time", UTCDateTime(), nullable=False),
        sa.Column("server_time", UTCDateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["work_orders.id"], name=op.f("fk_field_actions_order_id_work_orders"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["worker_id"], ["workers.id"], name=op.f("fk_field_actions_worker_id_workers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_actions")),
        sa.UniqueConstraint("client_action_id", name=op.f("uq_field_actions_client_action_id")),
    )
    op.create_index(op.f("ix_field_actions_order_id"), "field_actions", ["order_id"])
    op.create_index(op.f("ix_field_actions_worker_id"), "field_actions", ["worker_id"])
    op.create_table(
        "photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_action_id", sa.String(length=100), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("thumbnail_path", sa.String(length=500), nullable=False),
        sa.Column("content_type", sa.String(length=50), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("taken_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["work_orders.id"], name=op.f("fk_photos_order_id_work_orders"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["worker_id"], ["workers.id"], name=op.f("fk_photos_worker_id_workers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photos")),
        sa.UniqueConstraint("client_action_id", name=op.f("uq_photos_client_action_id")),
    )
    op.create_index(op.f("ix_photos_order_id"), "photos", ["order_id"])
    op.create_index(op.f("ix_photos_worker_id"), "photos", ["worker_id"])
    op.create_table(
        "service_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_action_id", sa.String(length=100), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("signature_path", sa.String(length=500), nullable=True),
        sa.Column("signed_by", sa.String(length=200), nullable=False),
        sa.Column("written_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["work_orders.id"], name=op.f("fk_service_reports_order_id_work_orders"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["worker_id"], ["workers.id"], name=op.f("fk_service_reports_worker_id_workers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_reports")),
        sa.UniqueConstraint("client_action_id", name=op.f("uq_service_reports_client_action_id")),
    )
    op.create_index(op.f("ix_service_reports_order_id"), "service_reports", ["order_id"])
    op.create_index(op.f("ix_service_reports_worker_id"), "service_reports", ["worker_id"])
    op.create_table(
        "push_links",
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["worker_id"], ["workers.id"], name=op.f("fk_push_links_worker_id_workers"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("worker_id", name=op.f("pk_push_links")),
    )


def downgrade() -> None:
    op.drop_table("push_links")
    for table in ("service_reports", "photos", "field_actions"):
        op.drop_table(table)
