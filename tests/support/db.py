"""Database fixtures: a temp SQLite file, a real PostgreSQL 15 server, and migrated databases of both.

`db_url` runs a test on SQLite and on PostgreSQL (the second marked `postgres`). The PostgreSQL
server is Debian's `postgresql-15`, started once per session in a temp directory as the `postgres`
system user; set DATABASE_URL=postgresql://... to use an existing server instead.

Every test sees an empty database at the newest schema: on SQLite a copy of a file migrated once
per session; on PostgreSQL one database migrated once per session and emptied (rows deleted,
id sequences restarted, leftover connections closed) before each test, because CREATE DATABASE
costs ~0.4 s a test and emptying ~15 ms. Tests that change the schema must therefore use
`sqlite_url` / `pg_url` (fresh, unmigrated databases), never `db_url`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, make_url
from sqlalchemy.orm import Session

from data.db import make_engine, make_sessionmaker
from data.migrate import migrate
from data.tables import Base

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _pg_bin() -> Path:
    """PostgreSQL 15's binaries, or the newest Debian PostgreSQL installed when 15 is not."""
    if (PG_BIN / "initdb").exists():
        return PG_BIN
    versions = [p for p in Path("/usr/lib/postgresql").glob("*/bin/initdb") if p.parent.parent.name.isdigit()]
    versions.sort(key=lambda p: int(p.parent.parent.name), reverse=True)
    return versions[0].parent if versions else PG_BIN


@dataclass(frozen=True)
class PostgresServer:
    """A reachable PostgreSQL server and a superuser URL (`postgresql+psycopg://...`) of its admin database."""

    admin_url: str
    external: bool

    def url_for(self, database: str) -> str:
        return make_url(self.admin_url).set(database=database).render_as_string(hide_password=False)

    def create_database(self) -> str:
        """Create an empty database with a unique name and return its URL."""
        name = f"outfield_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(_libpq_url(self.admin_url), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        with psycopg.connect(_libpq_url(self.admin_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _libpq_url(url: str) -> str:
    """A SQLAlchemy URL as libpq understands it (no `+psycopg` driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(*args: str) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL tool; as root through the `postgres` system user, since the server refuses root."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *args], check=True, capture_output=True, text=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A running PostgreSQL server for the session: DATABASE_URL's when set, else a private PostgreSQL 15."""
    env_url = os.environ.get("DATABASE_URL", "")
    if env_url.startswith(("postgresql", "postgres:")):
        url = make_url(env_url)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        yield PostgresServer(admin_url=url.render_as_string(hide_password=False), external=True)
        return
    pg_bin = _pg_bin()
    if not (pg_bin / "initdb").exists() or not (pg_bin / "pg_ctl").exists():
        pytest.fail(
            f"PostgreSQL 15 binaries not found in {PG_BIN}: install the Debian package `postgresql` "
            "(./run test does), or set DATABASE_URL=postgresql://... to use a running server"
        )
    root = Path(tempfile.mkdtemp(prefix="outfield-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    datadir, port = root / "data", _free_port()
    initdb, pg_ctl = str(pg_bin / "initdb"), str(pg_bin / "pg_ctl")
    # Durability is irrelevant for a throwaway test server; switching it off makes every write fast.
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    try:
        _as_postgres(
            initdb, "-D", str(datadir), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"
        )
        _as_postgres(
            pg_ctl, "-D", str(datadir), "-o", options, "-l", str(root / "server.log"), "-w", "-t", "30", "start"
        )
    except subprocess.CalledProcessError as exc:
        log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL from {pg_bin}: {exc.stderr or exc.stdout}\n{log}")
    try:
        yield PostgresServer(admin_url=f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", external=False)
    finally:
        try:
            _as_postgres(pg_ctl, "-D", str(datadir), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass  # already gone; the directory is removed either way
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a fresh, empty (unmigrated) PostgreSQL database for this test."""
    url = postgres_server.create_database()
    yield url
    if postgres_server.external:
        postgres_server.drop_database(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The URL of a fresh, empty (unmigrated) SQLite file for this test."""
    return f"sqlite:///{tmp_path / 'outfield.db'}"


@pytest.fixture(scope="session")
def _migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate(f"sqlite:///{path}")
    # migrate() disposed its engine, so the WAL is checkpointed into the main file; copy only that.
    return path


@pytest.fixture(scope="session")
def _migrated_pg_database(postgres_server: PostgresServer) -> Iterator[str]:
    url = postgres_server.create_database()
    migrate(url)
    yield url
    if postgres_server.external:
        postgres_server.drop_database(url)


# Rows the migrations seed (0009: each order type's checklist as its version 1 form), kept between tests.
SEEDED = {"forms": "version > 1"}


def _empty_pg_database(url: str) -> None:
    """Delete every row (children first) but those the migrations seed, and restart every id sequence, as if freshly migrated."""
    ordered = list(reversed(Base.metadata.sorted_tables))
    statements = [f'DELETE FROM "{t.name}"' + (f" WHERE {SEEDED[t.name]}" if t.name in SEEDED else "") for t in ordered]
    statements += [
        f"SELECT setval(pg_get_serial_sequence('\"{t.name}\"', 'id'), (SELECT COALESCE(MAX(id), 0) + 1 FROM \"{t.name}\"), false)"
        if t.name in SEEDED
        else f"SELECT setval(pg_get_serial_sequence('\"{t.name}\"', 'id'), 1, false)"
        for t in ordered
        if "id" in t.columns
    ]
    with psycopg.connect(_libpq_url(url), autocommit=True) as conn:
        # A connection an earlier test forgot to close could hold locks the DELETEs would wait on.
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        with conn.transaction():
            conn.execute("; ".join(statements))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh database migrated to head, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "outfield.db"
        shutil.copyfile(request.getfixturevalue("_migrated_sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("_migrated_pg_database")
    _empty_pg_database(url)
    yield url


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    """An engine on the migrated `db_url`, disposed after the test."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(db_engine: Engine) -> Iterator[Session]:
    """A session on a migrated database (SQLite and PostgreSQL); the test commits or flushes as it needs."""
    factory = make_sessionmaker(db_engine)
    with factory() as session:
        yield session
