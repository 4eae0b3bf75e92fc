"""Engines and sessions: SQLite by default, PostgreSQL (psycopg 3) when the URL says so."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 5000
SQLITE_PAGE_SIZE = 1024
"""The page size of a new SQLite file (SQLite's default is 4,096). A WAL frame is a whole page, and a group of the
batch endpoint's fixes from many phones changes one leaf of the unique (worker, fix time) index per phone, so the
WAL bytes (and the commit's fsync) of such a group grow with the page size: 1 KiB pages write about half the bytes
per stored fix of 4 KiB ones (bench/README.md, "Ingestion", tenth session, `batch51`). SQLite fixes the size when
the file's first page is written, so this only applies to a new file (it is set before WAL, which writes the
header); an existing file keeps its size and works as before. Changing it takes a `VACUUM` outside WAL, with the
servers stopped and room for a copy of the file: `sqlite3 outfield.db 'PRAGMA journal_mode=DELETE;
PRAGMA page_size=1024; VACUUM; PRAGMA journal_mode=WAL;'` (docs/operations: an install's choice, not done for it)."""

SQLITE_WAL_AUTOCHECKPOINT_BYTES = 10_000 * 4096
"""A committing connection checkpoints the WAL into the database once it holds this many bytes of pages (10,000
pages of 4 KiB, 40,000 of 1 KiB; SQLite's default is 1,000 pages). A batch commit of a thousand workers' fixes
writes over a thousand pages to the WAL, so with the default every such commit also checkpointed, writing each
touched index leaf to the database again; at ~40 MB a hot leaf is written to the database once per many commits,
inside the writers' turn all the same. The WAL is still reset after each checkpoint (bounded near 40 MB plus one
commit); durability is the commit's fsync of the WAL, unchanged (bench/README.md, "Ingestion", eighth session,
`batchshape`)."""


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
        cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")  # a new file's; before WAL writes its header
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        (page_size,) = cursor.execute("PRAGMA page_size").fetchone()  # an existing file's own
        cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT_BYTES // page_size}")
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


class WriteTurn:
    """Writers of one SQLite file, in every process, take turns: the next one starts as soon as the last commits.

    SQLite lets one connection write at a time, and one that finds the file locked polls: its busy handler
    sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100, 100 … ms between tries, whatever the holder does
    meanwhile. Two web processes' group committers writing a fix-time's worth of positions each (one fsync'd
    commit, a few ms) then wait for each other in those sleeps: under load the committers spent several
    times longer asleep than in fsync (bench/README.md, "Ingestion"), the CPU idle and the phones waiting.
    Taking a kernel file lock (`flock` on `<database>-writer`) around the write hands the turn over instead:
    a waiter blocks in the kernel and wakes the moment the holder commits. The lock goes with its process
    (a crash releases it) and changes nothing of SQLite's own locking, so a writer that does not take a turn
    is still serialised by SQLite as before. For another database, or SQLite in memory, a turn is free.
    """

    def __init__(self, path: Path | None) -> None:
        self._path = None if path is None else Path(f"{path}-writer")
        self._fd = -1
        self._fd_pid = 0
        self._threads = threading.Lock()  # flock is per open file: this process's own writers queue here

    @classmethod
    def for_sessions(cls, sessions: sessionmaker[Session]) -> WriteTurn:
        """The turn of the database `sessions` is bound to."""
        bind = sessions.kw.get("bind")
        return cls(sqlite_path(bind.url) if isinstance(bind, Engine) else None)

    @contextmanager
    def __call__(self) -> Iterator[None]:
        """Hold the turn for the block (waiting for it first): put the whole transaction, commit included, inside."""
        if self._path is None:
            yield
            return
        with self._threads:
            fd = self._file()
            fcntl.flock(fd, fcntl.LOCK_EX)  # waits in the kernel, without the GIL
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _file(self) -> int:
        # Opened in the process that writes: a descriptor inherited across a fork would share its lock.
        if self._fd_pid != os.getpid():
            assert self._path is not None
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._fd_pid = os.getpid()
        return self._fd
