"""The events' site index becomes (site, worker, time): a crossing pair's last crossing is one index seek.

Storing a window's geofence crossings first reads the last stored crossing of each (worker, site) pair it names
(`data/alerts_repo.py::_last_crossings`); through `ix_events_site_id` SQLite read every crossing of the site and
sorted them per pair. The composite index finds the pair's newest directly (its rowid, the id, breaks ties in the
same order as `ORDER BY at DESC, id DESC`) and still serves every look-up by site alone (its first column), so
`events` keeps six indexes: an insert costs what it did.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 11:50:00+00:00
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_site_worker_at", "events", ["site_id", "worker_id", "at"], unique=False)
    op.drop_index("ix_events_site_id", table_name="events")


def downgrade() -> None:
    op.create_index("ix_events_site_id", "events", ["site_id"], unique=False)
    op.drop_index("ix_events_site_worker_at", table_name="events")
