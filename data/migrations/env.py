"""Alembic environment for Outfield: runs against the connection or URL handed over by `data.migrate`."""

from __future__ import annotations

from alembic import context

from data.db import make_engine
from data.tables import Base, is_search_table

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    if connection.dialect.name == "sqlite":
        # Batch mode rebuilds a table (copy, drop, rename); with foreign keys enforced, dropping the old table
        # would cascade to the rows that reference it (an alert's event, say). SQLite's own advice for a
        # rebuild: foreign keys off (a no-op inside a transaction, so before the first statement).
        # Straight on the driver's connection: through SQLAlchemy it would open a transaction of its own here.
        connection.connection.cursor().execute("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode lets later migrations copy-and-move tables.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # The order search index (0017) is SQLite's FTS5 table and its shadow tables, not a model.
        include_name=lambda name, type_, _parents: not (type_ == "table" and is_search_table(name)),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.attributes["database_url"])
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run `python -m data migrate`")
run_migrations_online()
