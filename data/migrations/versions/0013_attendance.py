"""Attendance and hours (issue #14): clock events, late entries, day reports, timesheet approvals, reminders, Web Push.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 19:45:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from data.tables import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vapid_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("private_pem", sa.Text(), nullable=False),
        sa.Column("public_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vapid_keys")),
    )
    op.create_table(
        "clock_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_action_id", sa.String(length=100), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=3), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("verdict", sa.String(length=30), nullable=False),
        sa.Column("verdict_reason", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('in', 'out')", name=op.f("ck_clock_events_kind")),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["workers.id"], name=op.f("fk_clock_events_worker_id_workers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clock_events")),
        sa.UniqueConstraint("client_action_id", name=op.f("uq_clock_events_client_action_id")),
    )
    with op.batch_alter_table("clock_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clock_events_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_clock_events_worker_id"), ["worker_id"], unique=False)

    op.create_table(
        "day_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_action_id", sa.String(length=100), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("done", sa.Text(), nullable=False),
        sa.Column("problems", sa.Text(), nullable=False),
        sa.Column("km", sa.Float(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("order_ids", sa.JSON(), nullable=False),
        sa.Column("written_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["workers.id"], name=op.f("fk_day_reports_worker_id_workers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_day_reports")),
        sa.UniqueConstraint("client_action_id", name=op.f("uq_day_reports_client_action_id")),
        sa.UniqueConstraint("worker_id", "day", name=op.f("uq_day_reports_worker_id_day")),
    )
    with op.batch_alter_table("day_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_day_reports_day"), ["day"], unique=False)
        batch_op.create_index(batch_op.f("ix_day_reports_worker_id"), ["worker_id"], unique=False)

    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("endpoint_sha256", sa.String(length=64), nullable=False),
        sa.Column("subscription", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["workers.id"], name=op.f("fk_push_subscriptions_worker_id_workers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint("endpoint_sha256", name=op.f("uq_push_subscriptions_endpoint_sha256")),
    )
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_push_subscriptions_worker_id"), ["worker_id"], unique=False)

    op.create_table(
        "reminder_settings",
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["workers.id"], name=op.f("fk_reminder_settings_worker_id_workers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("worker_id", name=op.f("pk_reminder_settings")),
    )
    op.create_table(
        "timesheet_approvals",
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("approved_at", UTCDateTime(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["approved_by"], ["users.id"], name=op.f("fk_timesheet_approvals_approved_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["workers.id"], name=op.f("fk_timesheet_approvals_worker_id_workers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("worker_id", "day", name=op.f("pk_timesheet_approvals")),
    )
    op.create_table(
        "late_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_action_id", sa.String(length=100), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=3), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('in', 'out')", name=op.f("ck_late_entries_kind")),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f("ck_late_entries_status")),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_late_entries_decided_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["work_orders.id"], name=op.f("fk_late_entries_order_id_work_orders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["workers.id"], name=op.f("fk_late_entries_worker_id_workers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_late_entries")),
        sa.UniqueConstraint("client_action_id", name=op.f("uq_late_entries_client_action_id")),
    )
    with op.batch_alter_table("late_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_late_entries_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_late_entries_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_late_entries_worker_id"), ["worker_id"], unique=False)

    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("dedup_key", sa.String(length=200), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["work_orders.id"], name=op.f("fk_reminders_order_id_work_orders"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["workers.id"], name=op.f("fk_reminders_worker_id_workers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_reminders_dedup_key")),
    )
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminders_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_reminders_worker_id"), ["worker_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminders_worker_id"))
        batch_op.drop_index(batch_op.f("ix_reminders_at"))

    op.drop_table("reminders")
    with op.batch_alter_table("late_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_late_entries_worker_id"))
        batch_op.drop_index(batch_op.f("ix_late_entries_status"))
        batch_op.drop_index(batch_op.f("ix_late_entries_order_id"))

    op.drop_table("late_entries")
    op.drop_table("timesheet_approvals")
    op.drop_table("reminder_settings")
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_subscriptions_worker_id"))

    op.drop_table("push_subscriptions")
    with op.batch_alter_table("day_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_day_reports_worker_id"))
        batch_op.drop_index(batch_op.f("ix_day_reports_day"))

    op.drop_table("day_reports")
    with op.batch_alter_table("clock_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clock_events_worker_id"))
        batch_op.drop_index(batch_op.f("ix_clock_events_at"))

    op.drop_table("clock_events")
    op.drop_table("vapid_keys")
