"""Order history and reports: indexes for searching a year of orders, and the scheduled reports sent.

Workers already have a `team` (0001). History pages by window start and filters by status and worker
(both indexed since 0001); reports read a period by window start, one row per order: the milestones
(first assigned, first on site, finished, ever failed) are kept on the order (filled from the history
here) and the kilometres per worker and day in `worker_day_km` (summed once a day is over). `report_deliveries` remembers the
last period each scheduled report was delivered for, so a restarted worker does not send it again.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-04 17:10:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from data.tables import UTCDateTime

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.add_column(sa.Column("assigned_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("on_site_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("ended_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("failed_once", sa.Boolean(), server_default="0", nullable=False))
    history = "FROM order_status_history h WHERE h.order_id = work_orders.id AND h.to_status"
    op.execute(
        f"UPDATE work_orders SET assigned_at = (SELECT MIN(h.at) {history} = 'assigned'), "
        f"on_site_at = (SELECT MIN(h.at) {history} = 'on_site'), "
        f"ended_at = (SELECT MAX(h.at) {history} IN ('done', 'failed')), "
        f"failed_once = EXISTS (SELECT 1 {history} = 'failed')"
    )
    op.create_table(
        "worker_day_km",
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("km", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["workers.id"], name=op.f("fk_worker_day_km_worker_id_workers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("worker_id", "day", name=op.f("pk_worker_day_km")),
    )
    op.create_table(
        "km_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_km_days")),
    )
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
    op.drop_table("km_days")
    op.drop_table("worker_day_km")
    with op.batch_alter_table("work_orders") as batch:
        for column in ("failed_once", "ended_at", "on_site_at", "assigned_at"):
            batch.drop_column(column)
    op.drop_table("report_deliveries")
    op.drop_index("ix_work_orders_window_start", table_name="work_orders")
    op.drop_index("ix_work_orders_created_at", table_name="work_orders")
