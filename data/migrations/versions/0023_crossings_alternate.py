"""On SQLite, `fence_crossings` keeps a (worker, site) pair's crossings alternating itself: a trigger ignores a
crossing of the same type as the pair's newest stored one.

The alert evaluator stored a window's crossings with two statements: a read of each pair's last crossing (one seek
backwards in the key each, ~4.5–4.9 µs per crossing in the evaluator's thread) to drop those that do not alternate,
then the insert. With the check in a `BEFORE INSERT` trigger the insert alone does both, each row checked against the
rows stored before it (those of the same batch too, since an `executemany` runs its rows in order), and no other
writer can store an arrival twice (bench/README.md, "Alerts", fourteenth session, `alerts14`). `RAISE(IGNORE)` drops
the row without failing the statement; the row is not counted in the statement's changes, which is how the caller
tells the stored ones. Rows stored before the upgrade are left as they are (an UPDATE is not checked).

PostgreSQL gets no trigger: its `add_fence_events` keeps its read (one query for the batch's pairs).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 05:10:00+00:00
"""

from __future__ import annotations

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_TRIGGER = (
    "CREATE TRIGGER fence_crossings_alternate BEFORE INSERT ON fence_crossings "
    "WHEN (SELECT type FROM fence_crossings WHERE worker_id = NEW.worker_id AND site_id = NEW.site_id "
    "ORDER BY at DESC, type DESC LIMIT 1) IS NEW.type "
    "BEGIN SELECT RAISE(IGNORE); END"
)
"""As `data/tables.py` declares it for `create_all` (a test holds the two to the same text)."""


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS fence_crossings_alternate")
