"""Order history and reports: indexes for searching a year of orders, and the scheduled reports sent.

Workers already have a `team` (0001). History pages by window start and filters by status and worker
(both indexed since 0001); reports read a period by window start. `report_deliveries` remembers the
last period each scheduled report was delivered for, so a restarted worker does not send it again.

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-04 17:10:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from data.tables import UTCDateTime

revision = "0008"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_work_orders_created_at", "work_orders", ["created_at"])
    op.create_index("ix_work_orders_window_start", "work_orders", ["window_start"])
    op.create_table(
        "report_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule", sa.String(length=10), nullable=False),
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_deliveries")),
        sa.UniqueConstraint(
            "schedule", "team", "period_start", name=op.f("uq_report_deliveries_schedule_team_period_start")
        ),
    )


def downgrade() -> None:
    op.drop_table("report_deliveries")
    op.drop_index("ix_work_orders_window_start", table_name="work_orders")
    op.drop_index("ix_work_orders_created_at", table_name="work_orders")
