"""Engines, sessions and the UTC datetime column type."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from data.db import WriteTurn, make_engine, make_sessionmaker, normalize_url, session_scope, sqlite_path
from data.tables import AuditRow
from tests.support.locks import flock_waiters
from tests.support.servers import wait_until


def test_sqlite_connections_use_wal_foreign_keys_busy_timeout_and_full_sync(sqlite_url: str) -> None:
    """Tests that every SQLite connection is configured for concurrent readers and enforced foreign keys."""
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
            # A new file has 1 KiB pages; its WAL is checkpointed at ~40 MB (40,000 pages), not SQLite's 1,000 pages.
            assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 1024
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 40_000
            # FULL (2): an acknowledged write survives a power cut.
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    finally:
        engine.dispose()


def test_an_existing_sqlite_file_keeps_its_page_size_and_is_checkpointed_at_the_same_bytes(tmp_path: Path) -> None:
    """Tests that a file made with 4 KiB pages (before 1 KiB became the default) is opened as it is, WAL and data
    intact, and checkpointed at the same ~40 MB, 10,000 of its own pages, as before."""
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute("PRAGMA page_size=4096")
    old.execute("PRAGMA journal_mode=WAL")
    old.execute("CREATE TABLE kept (x INTEGER)")
    old.execute("INSERT INTO kept VALUES (7)")
    old.commit()
    old.close()
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 4096
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 10_000
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("SELECT x FROM kept").scalar() == 7
    finally:
        engine.dispose()


def test_plain_postgresql_urls_are_rewritten_to_the_psycopg_driver() -> None:
    """Tests that postgresql:// (and postgres://) use psycopg 3, while an explicit driver is kept."""
    assert normalize_url("postgresql://u:p@h:5432/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgresql+psycopg://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite"


def test_sqlite_path_names_the_file_and_none_for_other_databases(tmp_path) -> None:
    """Tests that the SQLite file behind a URL is found, and that memory and PostgreSQL URLs have none."""
    assert sqlite_path(f"sqlite:///{tmp_path}/a/b.db") == tmp_path / "a" / "b.db"
    assert sqlite_path("sqlite://") is None
    assert sqlite_path("postgresql://h/db") is None


def _audit(at: datetime) -> AuditRow:
    return AuditRow(action="view", subject_type="worker", subject_id=1, at=at, details={})


def test_session_scope_commits_on_success_and_rolls_back_on_error(db_url: str) -> None:
    """Tests that session_scope keeps the work of a good block and none of a failing one."""
    engine = make_engine(db_url)
    factory = make_sessionmaker(engine)
    try:
        at = datetime(2025, 3, 3, 8, tzinfo=UTC)
        with session_scope(factory) as session:
            session.add(_audit(at))
        with pytest.raises(RuntimeError, match="boom"):
            with session_scope(factory) as session:
                session.add(_audit(at))
                session.flush()
                raise RuntimeError("boom")
        with factory() as session:
            assert session.scalar(select(text("count(*)")).select_from(AuditRow)) == 1
    finally:
        engine.dispose()


def test_datetimes_come_back_as_aware_utc_whatever_zone_went_in(session: Session) -> None:
    """Tests that a +02:00 time is stored as the same instant and read back with tzinfo UTC, on both databases."""
    local = datetime(2025, 3, 3, 10, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    session.add(_audit(local))
    session.commit()
    session.expire_all()
    stored = session.scalar(select(AuditRow.at))
    assert stored == local
    assert stored.tzinfo is UTC
    assert stored.hour == 8 and stored.microsecond == 123456


def test_naive_datetimes_are_refused(session: Session) -> None:
    """Tests that a datetime without a zone is rejected instead of being silently taken as UTC."""
    session.add(_audit(datetime(2025, 3, 3, 8, 0)))
    with pytest.raises(Exception, match="must be timezone-aware"):
        session.flush()


def test_sqlite_writers_take_turns_and_the_next_goes_on_as_soon_as_the_holder_is_done(sqlite_url: str) -> None:
    """Tests that two writers of one SQLite file (as two server processes) never hold the write turn together:
    the second waits in the kernel while the first holds it and goes on when the first's block ends."""
    first, second = WriteTurn(sqlite_path(sqlite_url)), WriteTurn(sqlite_path(sqlite_url))
    entered = threading.Event()

    def write_second() -> None:
        with second():
            entered.set()

    with first():
        waiter = threading.Thread(target=write_second)
        waiter.start()
        lock_file = Path(f"{sqlite_path(sqlite_url)}-writer")
        wait_until(lambda: flock_waiters(lock_file) == 1, 10, "the second writer's wait for the turn")
        assert not entered.is_set()
    waiter.join(10)
    assert entered.is_set() and flock_waiters(lock_file) == 0


def test_a_write_turn_is_free_for_postgresql_and_sqlite_in_memory(tmp_path: Path) -> None:
    """Tests that only a SQLite file has a turn to take (PostgreSQL locks rows, not the database): nothing is
    created beside other databases and two holders do not wait for each other."""
    for url in ("postgresql://h/db", "sqlite://"):
        turn = WriteTurn(sqlite_path(url))
        with turn(), WriteTurn(sqlite_path(url))():
            pass
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        assert WriteTurn.for_sessions(make_sessionmaker(engine))._path == tmp_path / "x.db-writer"
    finally:
        engine.dispose()
