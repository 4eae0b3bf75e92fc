"""Alerts and geofence events: what an alert is about (kind, worker, order, reason), one open per kind,
worker and order (`alerts.open_key`, unique), acknowledgement notes, cleared alerts; the site of a
geofence event and a key storing each crossing once; the source of a status change ("geofence").

Alerts stored before (suspicious check-ins) get their kind, worker, order, time and reason from their
event; the newest open one per worker and order keeps its open key, older duplicates are acknowledged.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 16:40:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("site_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("dedup_key", sa.String(length=200), nullable=True))
        batch.create_foreign_key(op.f("fk_events_site_id_sites"), "sites", ["site_id"], ["id"], ondelete="SET NULL")
        batch.create_index(op.f("ix_events_site_id"), ["site_id"], unique=False)
        batch.create_unique_constraint(op.f("uq_events_dedup_key"), ["dedup_key"])
    with op.batch_alter_table("order_status_history") as batch:
        batch.add_column(sa.Column("source", sa.String(length=20), server_default="", nullable=False))
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=40), server_default="", nullable=False))
        batch.add_column(sa.Column("worker_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("order_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("raised_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reason", sa.Text(), server_default="", nullable=False))
        batch.add_column(sa.Column("note", sa.Text(), server_default="", nullable=False))
        batch.add_column(sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("open_key", sa.String(length=100), nullable=True))
        batch.drop_constraint(op.f("ck_alerts_status"), type_="check")
        batch.create_check_constraint(op.f("ck_alerts_status"), "status IN ('open', 'acknowledged', 'cleared')")
        batch.create_foreign_key(
            op.f("fk_alerts_worker_id_workers"), "workers", ["worker_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_foreign_key(
            op.f("fk_alerts_order_id_work_orders"), "work_orders", ["order_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index(op.f("ix_alerts_worker_id"), ["worker_id"], unique=False)
        batch.create_unique_constraint(op.f("uq_alerts_open_key"), ["open_key"])
    alerts = sa.table(
        "alerts",
        sa.column("id", sa.Integer),
        sa.column("event_id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("kind", sa.String),
        sa.column("worker_id", sa.Integer),
        sa.column("order_id", sa.Integer),
        sa.column("raised_at", sa.DateTime),
        sa.column("reason", sa.Text),
        sa.column("open_key", sa.String),
    )
    events = sa.table(
        "events",
        sa.column("id", sa.Integer),
        sa.column("worker_id", sa.Integer),
        sa.column("order_id", sa.Integer),
        sa.column("at", sa.DateTime),
        sa.column("details", sa.JSON),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(alerts.c.id, alerts.c.status, events.c.worker_id, events.c.order_id, events.c.at, events.c.details)
        .join(events, events.c.id == alerts.c.event_id)
        .order_by(events.c.at.desc(), alerts.c.id.desc())
    ).all()
    keys: set[str] = set()
    for alert_id, status, worker_id, order_id, at, details in rows:
        key = f"suspicious_check_in:{worker_id or 0}:{order_id or 0}"
        values: dict[str, object] = {
            "kind": "suspicious_check_in",
            "worker_id": worker_id,
            "order_id": order_id,
            "raised_at": at,
            "reason": str((details or {}).get("reason", "")),
        }
        if status == "open":
            if key in keys:
                values["status"] = "acknowledged"
            else:
                values["open_key"] = key
                keys.add(key)
        bind.execute(sa.update(alerts).where(alerts.c.id == alert_id).values(**values))


def downgrade() -> None:
    op.execute("DELETE FROM alerts WHERE status = 'cleared'")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint(op.f("uq_alerts_open_key"), type_="unique")
        batch.drop_index(op.f("ix_alerts_worker_id"))
        batch.drop_constraint(op.f("fk_alerts_order_id_work_orders"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_alerts_worker_id_workers"), type_="foreignkey")
        batch.drop_constraint(op.f("ck_alerts_status"), type_="check")
        batch.create_check_constraint(op.f("ck_alerts_status"), "status IN ('open', 'acknowledged')")
        for column in ("open_key", "cleared_at", "note", "reason", "raised_at", "order_id", "worker_id", "kind"):
            batch.drop_column(column)
    with op.batch_alter_table("order_status_history") as batch:
        batch.drop_column("source")
    with op.batch_alter_table("events") as batch:
        batch.drop_constraint(op.f("uq_events_dedup_key"), type_="unique")
        batch.drop_index(op.f("ix_events_site_id"))
        batch.drop_constraint(op.f("fk_events_site_id_sites"), type_="foreignkey")
        batch.drop_column("dedup_key")
        batch.drop_column("site_id")
