"""Positions lose the index on `fix_time` alone: each stored fix writes a twentieth of the WAL bytes it did.

`ix_positions_fix_time` (0001) served the questions over every worker by fix time: the retention purge and the
kilometres of a day. Its entries go in fix-time order across all workers, so a commit of a batch (500 fixes of one
worker, or of 500 workers) touched pages all over it: ~5.3-5.8 KB of WAL per row against ~254 B without it
(bench/README.md, "Ingestion"), and the single SQLite writer's turn is what bounds the batch endpoint. Those
questions are now asked per worker through the unique (worker_id, fix_time) index (`data/positions_repo.py`,
`data/reports_repo.py`), which stays: it is the "stored once" guarantee and serves every read by worker.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 14:10:00+00:00
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_positions_fix_time", table_name="positions")


def downgrade() -> None:
    op.create_index("ix_positions_fix_time", "positions", ["fix_time"], unique=False)
