"""Geofence crossings stop paying for two indexes no query needs them in: `events` loses its index on `type`, and its
index on `order_id` keeps only the events that name an order.

Every geofence crossing the alert evaluator stores (one every ~25 fixes of a working day, `data/alerts_repo.py::
add_fence_events`) went into seven b-trees: the table, the dedup key, (site, worker, time), and one each on type,
worker, order and time. No query asks for events by type alone: each names a worker, an order, a site or a time
range first. But SQLite picked `ix_events_type` for `sites_inside_many` (crossings of some workers since a time),
reading every worker's crossings since then and keeping the few asked for; without it that query reads the asked
workers' own (`ix_events_worker_id`). A crossing names no order (NULL), and every query by order (an order's
timeline, the suspicious check-ins, the foreign key's `SET NULL` when an order goes) compares `order_id` with a value,
which only a non-NULL id matches, so the partial index serves them all and a crossing writes no entry in it.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 17:15:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_NAMES_AN_ORDER = sa.text("order_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_events_type", table_name="events")
    op.drop_index("ix_events_order_id", table_name="events")
    op.create_index(
        "ix_events_order_id",
        "events",
        ["order_id"],
        unique=False,
        sqlite_where=_NAMES_AN_ORDER,
        postgresql_where=_NAMES_AN_ORDER,
    )


def downgrade() -> None:
    op.drop_index("ix_events_order_id", table_name="events")
    op.create_index("ix_events_order_id", "events", ["order_id"], unique=False)
    op.create_index("ix_events_type", "events", ["type"], unique=False)
