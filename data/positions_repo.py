"""Stored GPS positions, as `dispatch.positions.Position` values.

Positions are personal data: this module never logs them, and `purge_positions` enforces retention.
"Latest" always means the greatest `fix_time` (when the fix was taken), not the order of arrival,
because phones flush offline buffers late. One row per (worker, fix time): `insert_positions` skips
a resend the database already holds. Network-only reports (no coordinates) are stored with NULL
latitude/longitude and are left out of every read of positions (`network_reports` reads them).

Every read and delete goes through the unique (worker, fix time) index, the only one on `fix_time` (migration 0020
dropped the index on `fix_time` alone, which made each stored fix write ~20 times the WAL bytes): a question over
all workers ("every fix before the cut", "everyone's fixes of a day") is asked per worker, for the workers that
have fixes (`worker_ids_with_fixes`, one index seek each), in statements of `WORKERS_PER_STATEMENT` workers.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, NamedTuple, cast

import numpy as np
from sqlalchemy import Connection, Engine, delete, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import ScalarSelect

from data.tables import PositionRow, WorkerRow
from dispatch.positions import NetworkReport, Position

log = logging.getLogger(__name__)
_TABLE = PositionRow.__table__
_LOCATED = PositionRow.latitude.is_not(None)
WORKERS_PER_STATEMENT = 500
"""Workers named in one statement's `worker_id IN (...)`: far below SQLite's and PostgreSQL's parameter limits."""

# The distinct worker ids of `positions`, each found by one seek in the (worker_id, fix_time) index (the next id
# above the last): ~1,000 seeks for 1,000 workers instead of reading every row. Not `workers`: a row whose worker
# is gone (foreign keys off on some connection) is still a stored fix, and a purge must still reach it.
_WORKER_IDS = text(
    "WITH RECURSIVE ids(id) AS ("
    " SELECT MIN(worker_id) FROM positions"
    " UNION ALL SELECT (SELECT MIN(worker_id) FROM positions WHERE worker_id > ids.id) FROM ids WHERE ids.id IS NOT NULL"
    ") SELECT id FROM ids WHERE id IS NOT NULL"
)


def _to_domain(row: PositionRow) -> Position:
    assert row.latitude is not None and row.longitude is not None, "a network-only report is not a position"
    return Position(
        id=row.id,
        worker_id=row.worker_id,
        device_id=row.device_id,
        fix_time=row.fix_time,
        device_time=row.device_time,
        server_time=row.server_time,
        latitude=row.latitude,
        longitude=row.longitude,
        accuracy_m=row.accuracy_m,
        speed_mps=row.speed_mps,
        bearing_deg=row.bearing_deg,
        altitude_m=row.altitude_m,
        battery_pct=row.battery_pct,
        charging=row.charging,
        mock=row.mock,
        valid=row.valid,
        attributes=MappingProxyType(dict(row.attributes or {})),
    )


def _to_row(position: Position) -> PositionRow:
    return PositionRow(
        worker_id=position.worker_id,
        device_id=position.device_id,
        fix_time=position.fix_time,
        device_time=position.device_time,
        server_time=position.server_time,
        latitude=position.latitude,
        longitude=position.longitude,
        accuracy_m=position.accuracy_m,
        speed_mps=position.speed_mps,
        bearing_deg=position.bearing_deg,
        altitude_m=position.altitude_m,
        battery_pct=position.battery_pct,
        charging=position.charging,
        mock=position.mock,
        valid=position.valid,
        attributes=dict(position.attributes),
    )


def _values(item: Position | NetworkReport) -> dict[str, Any]:
    """The column values of one row to insert (the table's, for a Core insert)."""
    if isinstance(item, NetworkReport):
        return {
            "worker_id": item.worker_id, "device_id": item.device_id, "fix_time": item.fix_time,
            "device_time": item.fix_time, "server_time": item.server_time, "latitude": None, "longitude": None,
            "accuracy_m": None, "speed_mps": None, "bearing_deg": None, "altitude_m": None,
            "battery_pct": item.battery_pct, "charging": item.charging, "mock": False, "valid": False,
            "attributes": {**item.attributes, "outdated": True},
        }  # fmt: skip
    return {
        "worker_id": item.worker_id, "device_id": item.device_id, "fix_time": item.fix_time,
        "device_time": item.device_time, "server_time": item.server_time, "latitude": item.latitude,
        "longitude": item.longitude, "accuracy_m": item.accuracy_m, "speed_mps": item.speed_mps,
        "bearing_deg": item.bearing_deg, "altitude_m": item.altitude_m, "battery_pct": item.battery_pct,
        "charging": item.charging, "mock": item.mock, "valid": item.valid, "attributes": dict(item.attributes),
    }  # fmt: skip


# Built once: SQLAlchemy then finds the compiled form in its cache without rebuilding the statement.
_INSERTS = {
    name: dialect_insert(_TABLE)
    .on_conflict_do_nothing(index_elements=["worker_id", "fix_time"])
    .returning(_TABLE.c.id, _TABLE.c.worker_id, _TABLE.c.fix_time)
    for name, dialect_insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))
}


def insert_positions(session: Session, items: Sequence[Position | NetworkReport]) -> list[int | None]:
    """Insert many positions (and network-only reports) at once, in the session's transaction; each item's new id.

    An item whose worker already has a row with its fix time (a resend; also a second item of the
    same worker and fix time in `items`) is not inserted and gets None, without failing the others:
    `INSERT ... ON CONFLICT DO NOTHING` on SQLite and PostgreSQL, so concurrent writers in several
    processes cannot store one fix twice either.
    """
    if not items:
        return []
    session.flush()  # anything the caller added to the session goes first, as a Core insert would have it
    return write_positions(session.connection(), items)


def write_positions(connection: Connection, items: Sequence[Position | NetworkReport]) -> list[int | None]:
    """`insert_positions` on a Core connection, in its current transaction (the caller commits)."""
    if not items:
        return []
    if connection.dialect.name == "sqlite":
        cursor = connection.connection.cursor()
        try:
            return write_sqlite_rows(cursor, SqliteRows.of(items))
        finally:
            cursor.close()
    rows = connection.execute(_INSERTS[connection.dialect.name], [_values(item) for item in items]).all()
    new_ids = {(worker_id, fix_time.astimezone(UTC)): id_ for id_, worker_id, fix_time in rows}
    ids: list[int | None] = []
    for item in items:
        ids.append(new_ids.pop((item.worker_id, item.fix_time.astimezone(UTC)), None))
    return ids


WRITER_CACHE_KIB = 64 * 1024
"""The SQLite page cache of the committer's connection (SQLite's default is 2 MiB). Each worker's newest fixes sit
on their own leaf page of the (worker, fix time) index, so a group of a thousand workers' fixes touches a
thousand pages; with 2 MiB they were read again for every group once the table outgrew the cache (bench/README.md,
"Ingestion", eighth session)."""


class PositionWriter:
    """The group committer's own connection: each call writes its items in one transaction and commits it.

    A group of fixes otherwise paid for a session, a pool checkout and return (with its rollback) and
    SQLAlchemy's transaction bookkeeping, about as much CPU as the durable commit itself
    (bench/README.md, "Ingestion"). This keeps one connection for the process's committer, opened on its
    first write in the process that writes (never one inherited across a fork), with the engine's settings
    (on SQLite: WAL, `synchronous=FULL`, so a write is on disk when the call returns). On SQLite the rows
    go straight to the DB-API cursor (`write_sqlite_rows`; sqlite3 keeps the statement prepared) and the
    DB-API commits; on another database through Core (`write_positions`) in a Core transaction. When a write
    fails, its transaction is rolled back and the connection given up: the next call opens a fresh one.
    Only one thread may use a writer (the committer's).

    `prepare` and `write` split a call in two: the rows are put in the database's form first, outside the
    writers' turn (`data.db.WriteTurn`), so the turn, which every process's committer waits for, holds only the
    statement and the commit.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self._connection: Connection | None = None
        self._cursor: Any = None
        self._pid = 0

    @property
    def sqlite(self) -> bool:
        """Whether `prepare` makes SQLite rows (`SqliteRows`)."""
        return self._sqlite

    def __call__(self, items: Sequence[Position | NetworkReport]) -> list[int | None]:
        """Store `items` and commit; each item's new id, None for a resend already stored (see `insert_positions`)."""
        return self.write(self.prepare(items))

    def prepare(
        self, items: Sequence[Position | NetworkReport], fix_us: Sequence[int] | None = None
    ) -> SqliteRows | Sequence[Position | NetworkReport]:
        """`items` ready for `write`: on SQLite their rows in storage form (no database touched), else themselves.
        `fix_us`: each item's fix time in microseconds since the epoch, when the caller has it (`SqliteRows.of`)."""
        return SqliteRows.of(items, fix_us) if self._sqlite and items else items

    def write(self, prepared: SqliteRows | Sequence[Position | NetworkReport]) -> list[int | None]:
        """Store what `prepare` made and commit; each item's new id, None for a resend already stored."""
        if not prepared:
            return []
        connection = self._open()
        try:
            if isinstance(prepared, SqliteRows):
                ids = write_sqlite_rows(self._cursor, prepared)
                self._cursor.connection.commit()
                return ids
            with connection.begin():
                return write_positions(connection, prepared)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Give up the connection (its transaction, if any, rolled back); the next write opens another."""
        connection, self._connection, self._cursor = self._connection, None, None
        if connection is None or self._pid != os.getpid():
            return
        try:
            connection.invalidate()  # the DB-API connection is closed, not returned to the pool
            connection.close()
        except Exception:  # noqa: BLE001 - a broken connection may fail to close; it is dropped either way
            log.warning("the position writer's connection did not close cleanly")

    def _open(self) -> Connection:
        if self._connection is None or self._pid != os.getpid():
            self._connection, self._pid = self._engine.connect(), os.getpid()
            if self._sqlite:
                self._cursor = self._connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
                self._cursor.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
        return self._connection


_COLUMNS = (
    "worker_id", "device_id", "fix_time", "device_time", "server_time", "latitude", "longitude", "accuracy_m",
    "speed_mps", "bearing_deg", "altitude_m", "battery_pct", "charging", "mock", "valid", "attributes",
)  # fmt: skip
_SQLITE_INSERT = (
    f"INSERT INTO {_TABLE.name} ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
    "ON CONFLICT (worker_id, fix_time) DO NOTHING"
)
_SQLITE_INSERTED = f"SELECT id, worker_id, fix_time FROM {_TABLE.name} WHERE id BETWEEN ? AND ? ORDER BY id"


SqliteRow = tuple[Any, ...]
"""One position's row as the SQLite driver takes it (`SqliteRows`)."""

PlainHistory = tuple[
    int, str, datetime, float, float, float | None, float | None, float | None, float | None, float | None
]
"""A plain history fix stored as a row without a `Position` made of it (the batch endpoint's fixes older than the
worker's last, which nothing but the row needs): (worker id, device id, server time, latitude, longitude, accuracy m,
speed m/s, bearing °, altitude m, battery %), its other values a plain `Position`'s (`dispatch.positions.
checked_position`: device time = fix time, charging unknown, not mock, valid, no attributes). Its fix time comes
beside it, in `SqliteRows.of`'s `fix_us`."""


class SqliteRows:
    """Positions (and network-only reports) as SQLite rows, made outside the writers' turn (`write_sqlite_rows`).

    The values are written exactly as the ORM writes them (`UTCDateTime` as naive UTC text with microseconds, JSON
    text, booleans as 0/1), so reads and the unique (worker, fix time) index see no difference.
    """

    __slots__ = ("rows",)

    def __init__(self, rows: list[SqliteRow]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    @classmethod
    def of(
        cls, items: Sequence[Position | NetworkReport | PlainHistory], fix_us: Sequence[int] | None = None
    ) -> SqliteRows:
        """The rows of `items`; `fix_us`, when given, is each item's fix time in microseconds since the epoch
        (`dispatch.positions.epoch_micros(item.fix_time)`, as the batch endpoint read it), whose texts are then made
        all at once (`sqlite_times`) instead of one `datetime` at a time (which was most of a row's cost). A
        `PlainHistory` item has its time only there: `fix_us` is required with one."""
        times: dict[datetime, str] = {}
        if fix_us is None:
            return cls([_sqlite_row(item, times, None) for item in items])
        return cls([_sqlite_row(item, times, text) for item, text in zip(items, sqlite_times(fix_us), strict=True)])


def write_sqlite_rows(cursor: Any, prepared: SqliteRows) -> list[int | None]:
    """`insert_positions` on SQLite, on a DB-API cursor, for rows made by `SqliteRows.of`: no commit.

    SQLAlchemy's per-value parameter processing was a quarter of a batch's cost, so the rows go to the driver as
    they are. One row (a phone's fix) is one `execute`, whose `lastrowid` is the new id. Many go in one
    `executemany`, whose new ids come without RETURNING (which `executemany` cannot return): inside the transaction
    this connection holds SQLite's write lock from its first insert on, so the rows it inserts get consecutive
    rowids ending at `last_insert_rowid()`, and `rowcount` says how many; only when some were skipped (resends)
    are those rows read back to tell which items they are. (Multi-row INSERTs of up to 512 rows instead were
    measured and not kept: bench/README.md, "Ingestion", eighth session.)
    """
    rows = prepared.rows
    if len(rows) == 1:
        cursor.execute(_SQLITE_INSERT, rows[0])
        return [cursor.lastrowid if cursor.rowcount == 1 else None]
    cursor.executemany(_SQLITE_INSERT, rows)
    inserted = cursor.rowcount
    if inserted <= 0:
        return [None] * len(rows)
    cursor.execute("SELECT last_insert_rowid()")
    (last,) = cursor.fetchone()
    if inserted == len(rows):
        return list(range(last - inserted + 1, last + 1))
    cursor.execute(_SQLITE_INSERTED, (last - inserted + 1, last))
    new_ids = {(worker_id, fix_time): id_ for id_, worker_id, fix_time in cursor.fetchall()}
    return [new_ids.pop((row[0], row[2]), None) for row in rows]


def _sqlite_row(
    item: Position | NetworkReport | PlainHistory, times: dict[datetime, str], fix_text: str | None
) -> tuple[Any, ...]:
    if item.__class__ is tuple:  # a PlainHistory: a plain Position's row, built from its values
        if fix_text is None:
            raise ValueError("fix_us: a plain history fix's time comes beside it")
        worker_id, device_id, server, latitude, longitude, accuracy_m, speed_mps, bearing_deg, altitude_m, battery = (
            item  # type: ignore[misc]
        )
        server_text = times.get(server)
        if server_text is None:
            server_text = times[server] = _sqlite_time(server)
        return (
            worker_id, device_id, fix_text, fix_text, server_text, latitude, longitude, accuracy_m, speed_mps,
            bearing_deg, altitude_m, battery, None, False, True, "{}",
        )  # fmt: skip
    assert not isinstance(item, tuple)
    fix_time = _sqlite_time(item.fix_time) if fix_text is None else fix_text
    server_time = times.get(item.server_time)
    if server_time is None:
        server_time = times[item.server_time] = _sqlite_time(item.server_time)
    if isinstance(item, NetworkReport):
        attributes = json.dumps({**item.attributes, "outdated": True})
        return (
            item.worker_id, item.device_id, fix_time, fix_time, server_time, None, None, None, None, None, None,
            item.battery_pct, item.charging, False, False, attributes,
        )  # fmt: skip
    device_time = fix_time if item.device_time is item.fix_time else _sqlite_time(item.device_time)
    return (
        item.worker_id, item.device_id, fix_time, device_time, server_time, item.latitude, item.longitude,
        item.accuracy_m, item.speed_mps, item.bearing_deg, item.altitude_m, item.battery_pct, item.charging,
        item.mock, item.valid, json.dumps(dict(item.attributes)) if item.attributes else "{}",
    )  # fmt: skip


def _sqlite_time(value: datetime) -> str:
    """`UTCDateTime`'s SQLite form: naive UTC, `YYYY-MM-DD HH:MM:SS.ffffff` (SQLAlchemy's DATETIME text)."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]  # without "+00:00": no naive copy made to drop the zone


def sqlite_times(fix_us: Sequence[int]) -> list[str]:
    """`_sqlite_time` of each time given in microseconds since the epoch, formatted together by numpy (in C): about a
    seventh of the CPU of formatting each `datetime` (bench/README.md, "Ingestion", eleventh session). A property test
    holds the two to the same text over every year a `datetime` holds."""
    if not fix_us:
        return []
    texts = np.datetime_as_string(np.fromiter(fix_us, np.int64, len(fix_us)).view("datetime64[us]"), unit="us")
    texts.view(np.uint32).reshape(len(texts), -1)[:, 10] = ord(" ")  # ISO 8601's "T" between date and time
    return cast(list[str], texts.tolist())


def add_position(session: Session, position: Position) -> Position:
    """Store a position and return it with its new id (any id it carried is ignored)."""
    row = _to_row(position)
    session.add(row)
    session.flush()
    return replace(position, id=row.id)


def last_position(session: Session, *, worker_id: int) -> Position | None:
    """The worker's position with the greatest fix time (ties: the last stored), or None."""
    row = session.scalar(
        select(PositionRow)
        .where(PositionRow.worker_id == worker_id, _LOCATED)
        .order_by(PositionRow.fix_time.desc(), PositionRow.id.desc())
        .limit(1)
    )
    return _to_domain(row) if row is not None else None


def _latest_located_id() -> ScalarSelect[int]:
    """The id of the correlated `WorkerRow`'s located fix with the greatest fix time (ties: the last stored),
    found by one seek in the (worker_id, fix_time) index."""
    return (
        select(PositionRow.id)
        .where(PositionRow.worker_id == WorkerRow.id, _LOCATED)
        .order_by(PositionRow.fix_time.desc(), PositionRow.id.desc())
        .limit(1)
        .correlate(WorkerRow)
        .scalar_subquery()
    )


def last_positions(session: Session, worker_ids: Sequence[int]) -> dict[int, Position]:
    """Each given worker's position with the greatest fix time (ties: the last stored), for those that have one.

    One statement per 500 workers, each worker's row found through the (worker, fix time) index, as
    `last_position` finds one: what a process reads once instead of one query per worker at its first fix.
    """
    found: dict[int, Position] = {}
    ids = sorted(set(worker_ids))
    for start in range(0, len(ids), 500):
        latest_id = _latest_located_id()
        rows = session.scalars(
            select(PositionRow)
            .join(WorkerRow, PositionRow.id == latest_id)
            .where(WorkerRow.id.in_(ids[start : start + 500]))
        )
        found.update((row.worker_id, _to_domain(row)) for row in rows)
    return found


def latest_positions(session: Session) -> dict[int, Position]:
    """Every worker's latest position (greatest fix time, ties: the last stored), keyed by worker id.

    One seek per worker with rows in the (worker_id, fix_time) index, `WORKERS_PER_STATEMENT` workers a statement,
    as `last_positions` finds them: a window over the table (row_number per worker) read every stored fix, ~15 s of
    CPU on 5 million fixes against ~40 ms this way (bench/position_queries.py).
    """
    latest: dict[int, Position] = {}
    latest_id = _latest_located_id()
    for worker_ids in worker_id_chunks(session.connection()):
        rows = session.execute(
            select(*_TABLE.columns)
            .join(WorkerRow, PositionRow.id == latest_id)
            .where(WorkerRow.id.in_(worker_ids))
            .order_by(PositionRow.worker_id)
        )
        # Plain rows read by position, not ORM objects read by attribute: every look at an order's candidates and
        # every live snapshot reads all of them (500 fixes: 12 -> 9 ms, the rest is the database driver's values).
        latest.update((p.worker_id, p) for p in _positions(rows))
    return latest


def positions_between(session: Session, *, worker_id: int, start: datetime, end: datetime) -> list[Position]:
    """The worker's positions with `start <= fix_time <= end`, oldest first (aware datetimes required).

    Plain rows, as `latest_positions` reads them, not ORM objects (bench/README.md, "Timesheets"); what only finds
    stops and trips reads less, `track_between`.
    """
    rows = session.execute(
        select(*_TABLE.columns)
        .where(PositionRow.worker_id == worker_id, PositionRow.fix_time >= start, PositionRow.fix_time <= end, _LOCATED)
        .order_by(PositionRow.fix_time, PositionRow.id)
    )
    return _positions(rows)


def _positions(rows: Any) -> list[Position]:
    """`Position`s of plain rows of all the table's columns (named as Position's fields)."""
    names = tuple(rows.keys())  # the table's columns: Position's fields, by the same names
    found = []
    for values in rows:
        fields = dict(zip(names, values, strict=True))
        fields["attributes"] = MappingProxyType(dict(fields["attributes"] or {}))
        found.append(Position(**fields))
    return found


class TrackFix(NamedTuple):
    """Of a stored fix, what its stops and trips are found by (`dispatch.trajectory.Fix`), and nothing more."""

    fix_time: datetime
    latitude: float
    longitude: float
    accuracy_m: float | None
    valid: bool
    mock: bool


def track_between(session: Session, *, worker_id: int, start: datetime, end: datetime) -> list[TrackFix]:
    """`positions_between`'s fixes, read only as far as stops and trips need them: one time parsed a row, not three,
    and no attributes (a month of timesheets reads every worked day's track; bench/README.md, "Timesheets")."""
    t = PositionRow
    rows = session.execute(
        select(t.fix_time, t.latitude, t.longitude, t.accuracy_m, t.valid, t.mock)
        .where(t.worker_id == worker_id, t.fix_time >= start, t.fix_time <= end, _LOCATED)
        .order_by(t.fix_time, t.id)
    )
    return [TrackFix(*row) for row in rows]


def network_reports(session: Session, *, worker_id: int, start: datetime, end: datetime) -> list[NetworkReport]:
    """The worker's reports without coordinates with `start <= fix_time <= end`, oldest first."""
    rows = session.scalars(
        select(PositionRow)
        .where(
            PositionRow.worker_id == worker_id,
            PositionRow.fix_time >= start,
            PositionRow.fix_time <= end,
            PositionRow.latitude.is_(None),
        )
        .order_by(PositionRow.fix_time, PositionRow.id)
    )
    return [
        NetworkReport(
            id=row.id,
            worker_id=row.worker_id,
            device_id=row.device_id,
            fix_time=row.fix_time,
            server_time=row.server_time,
            battery_pct=row.battery_pct,
            charging=row.charging,
            attributes=MappingProxyType(dict(row.attributes or {})),
        )
        for row in rows
    ]


def worker_ids_with_fixes(connection: Connection) -> list[int]:
    """The ids of the workers with at least one stored row in `positions` (fix or network report), ascending."""
    return [int(worker_id) for (worker_id,) in connection.execute(_WORKER_IDS)]


def worker_id_chunks(connection: Connection) -> list[list[int]]:
    """`worker_ids_with_fixes` in lists of at most `WORKERS_PER_STATEMENT`: one statement each."""
    ids = worker_ids_with_fixes(connection)
    return [ids[i : i + WORKERS_PER_STATEMENT] for i in range(0, len(ids), WORKERS_PER_STATEMENT)]


def purge_positions(session: Session, *, before: datetime) -> int:
    """Delete every position whose fix time is strictly before `before`; returns how many were deleted.

    Per worker (a range of the unique index each), `WORKERS_PER_STATEMENT` workers a statement, in the session's
    transaction: no index on `fix_time` alone is needed, so none is paid for on every insert.
    """
    deleted = 0
    for worker_ids in worker_id_chunks(session.connection()):
        result = session.execute(
            delete(PositionRow).where(PositionRow.worker_id.in_(worker_ids), PositionRow.fix_time < before)
        )
        deleted += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return deleted
