"""A trigram full-text index of the orders' reference and notes (SQLite), for the history's text search.

`LIKE '%…%'` over a year of orders reads every row (1.5 s for 520,000 orders); an FTS5 table with the
trigram tokenizer (SQLite 3.34+) finds any substring of three characters or more from its index.
It is an external-content table over `work_orders`, kept in step by triggers. A later migration that
rebuilds `work_orders` on SQLite (alembic's batch mode copies the table) drops these triggers with the
old table and must create them again: `tests/data/test_history_search.py` fails if an order created at
the newest schema is not found.

PostgreSQL keeps the plain `ILIKE` search (a `pg_trgm` index needs an extension the database owner
must allow).

Revision ID: 0017
Revises: 0010
Create Date: 2026-12-04 20:15:00+00:00
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0010"
branch_labels = None
depends_on = None

TRIGGERS = (
    """CREATE TRIGGER work_orders_search_insert AFTER INSERT ON work_orders BEGIN
        INSERT INTO work_orders_search (rowid, reference, notes) VALUES (new.id, new.reference, new.notes);
    END""",
    """CREATE TRIGGER work_orders_search_delete AFTER DELETE ON work_orders BEGIN
        INSERT INTO work_orders_search (work_orders_search, rowid, reference, notes)
        VALUES ('delete', old.id, old.reference, old.notes);
    END""",
    """CREATE TRIGGER work_orders_search_update AFTER UPDATE OF reference, notes ON work_orders BEGIN
        INSERT INTO work_orders_search (work_orders_search, rowid, reference, notes)
        VALUES ('delete', old.id, old.reference, old.notes);
        INSERT INTO work_orders_search (rowid, reference, notes) VALUES (new.id, new.reference, new.notes);
    END""",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE VIRTUAL TABLE work_orders_search USING fts5("
        "reference, notes, content='work_orders', content_rowid='id', tokenize='trigram')"
    )
    for trigger in TRIGGERS:
        op.execute(trigger)
    op.execute("INSERT INTO work_orders_search (work_orders_search) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS work_orders_search_{name}")
    op.execute("DROP TABLE IF EXISTS work_orders_search")
