"""Engines and sessions: SQLite by default, PostgreSQL (psycopg 3) when the URL says so."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 5000


def normalize_url(url: str | URL) -> URL:
    """The URL with PostgreSQL pinned to the psycopg 3 driver (`postgresql://` → `postgresql+psycopg://`).

    Any other driver named explicitly (e.g. `postgresql+psycopg2://`) is kept, so a deliberate choice
    is never overridden.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def sqlite_path(url: str | URL) -> Path | None:
    """The file behind a SQLite URL, or None for another database or an in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite connections get WAL, foreign keys, a busy timeout and FULL sync.

    WAL lets the console read while the ingest process writes; `busy_timeout` makes a writer wait
    up to 5 s for a lock instead of failing at once; SQLite does not enforce foreign keys unless
    asked on every connection. Statement parameters are hidden from exceptions and logs, because
    they carry personal data. Extra keyword arguments go to `sqlalchemy.create_engine`.
    """
    parsed = normalize_url(url)
    # Bound values (coordinates, password hashes, tokens) stay out of error messages and SQL logs.
    kwargs.setdefault("hide_parameters", True)
    engine = create_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _configure_sqlite)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # FULL: a commit is on disk before we answer 200. In WAL mode NORMAL may lose the last
        # commits on power loss, and an acknowledged position must be durable.
        cursor.execute("PRAGMA synchronous=FULL")
    finally:
        cursor.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to `engine`; objects stay readable after commit (expire_on_commit=False)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises (the error propagates)."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
