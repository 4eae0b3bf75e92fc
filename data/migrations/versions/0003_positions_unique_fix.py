"""One position per (worker, fix time); coordinates may be missing (network-only reports).

Duplicates already stored (resends stored twice before this constraint existed) are removed first,
keeping the first one stored (the lowest id). The unique constraint replaces the plain
(worker_id, fix_time) index, which it makes redundant. Latitude and longitude become nullable for
reports without coordinates (cell towers / Wi-Fi only), which are kept but never drawn.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 14:00:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "DELETE FROM positions WHERE id NOT IN (SELECT MIN(id) FROM positions GROUP BY worker_id, fix_time)"
    )
    op.drop_index("ix_positions_worker_id_fix_time", table_name="positions")
    with op.batch_alter_table("positions") as batch:
        batch.create_unique_constraint(op.f("uq_positions_worker_id_fix_time"), ["worker_id", "fix_time"])
        batch.alter_column("latitude", existing_type=sa.Float(), nullable=True)
        batch.alter_column("longitude", existing_type=sa.Float(), nullable=True)


def downgrade() -> None:
    # Reports without coordinates cannot exist in the older schema.
    op.execute("DELETE FROM positions WHERE latitude IS NULL OR longitude IS NULL")
    with op.batch_alter_table("positions") as batch:
        batch.alter_column("latitude", existing_type=sa.Float(), nullable=False)
        batch.alter_column("longitude", existing_type=sa.Float(), nullable=False)
        batch.drop_constraint(op.f("uq_positions_worker_id_fix_time"), type_="unique")
    op.create_index("ix_positions_worker_id_fix_time", "positions", ["worker_id", "fix_time"], unique=False)
