"""Stored GPS positions, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from data import positions_repo
from data.db import make_sessionmaker
from data.positions_repo import (
    WRITER_CACHE_KIB,
    PositionWriter,
    SqliteRows,
    add_position,
    insert_positions,
    last_position,
    latest_positions,
    positions_between,
    purge_positions,
    track_between,
    worker_ids_with_fixes,
)
from data.tables import PositionRow, WorkerRow
from data.workers_repo import add_worker
from dispatch.positions import NetworkReport, Position, checked_position

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


def _position(worker_id: int, minutes: float, *, lat: float = 43.7384, lon: float = 7.4246, **kw: object) -> Position:
    at = T0 + timedelta(minutes=minutes)
    return Position(
        worker_id=worker_id,
        device_id=f"dev-{worker_id}",
        fix_time=at,
        device_time=at,
        server_time=at + timedelta(seconds=2),
        latitude=lat,
        longitude=lon,
        **kw,  # type: ignore[arg-type]
    )


def _worker(session: Session, n: int) -> int:
    return add_worker(session, name=f"W{n}", device_id=f"dev-{n}").id


def test_position_round_trips_with_every_field(session: Session) -> None:
    """Tests that a fully populated position is read back equal, with an id and aware UTC times."""
    wid = _worker(session, 1)
    full = _position(
        wid,
        0,
        accuracy_m=4.5,
        speed_mps=12.25,
        bearing_deg=271.5,
        altitude_m=61.0,
        battery_pct=87.0,
        charging=True,
        mock=True,
        valid=False,
        attributes=MappingProxyType({"provider": "gps", "sat": 9}),
    )
    stored = add_position(session, full)
    session.commit()
    session.expire_all()
    assert stored.id is not None
    assert stored == replace(full, id=stored.id)
    back = last_position(session, worker_id=wid)
    assert back == stored
    assert back is not None and back.fix_time.tzinfo is UTC and dict(back.attributes) == {"provider": "gps", "sat": 9}


def test_last_position_is_the_greatest_fix_time_not_the_last_stored(session: Session) -> None:
    """Tests that an old fix flushed late from a phone's buffer does not become the latest position."""
    wid = _worker(session, 1)
    newest = add_position(session, _position(wid, 10))
    add_position(session, _position(wid, 5))  # arrives later, taken earlier
    assert last_position(session, worker_id=wid) == newest
    assert last_position(session, worker_id=_worker(session, 2)) is None


def test_latest_positions_gives_one_newest_fix_per_worker(session: Session) -> None:
    """Tests that latest_positions returns exactly each worker's greatest-fix-time position."""
    a, b, c = (_worker(session, n) for n in (1, 2, 3))
    add_position(session, _position(a, 1))
    a_last = add_position(session, _position(a, 7))
    add_position(session, _position(a, 3))
    b_last = add_position(session, _position(b, 2))
    latest = latest_positions(session)
    assert latest == {a: a_last, b: b_last}
    assert c not in latest


def test_latest_positions_skip_reports_without_coordinates_whatever_the_statements(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests that a worker's latest position is their newest fix with coordinates even when a report without them
    came later, that a worker with only such reports has none, and that it holds when each worker is its own
    statement."""
    a, b, network_only = (_worker(session, n) for n in (1, 2, 3))
    a_last = add_position(session, _position(a, 5))
    b_last = add_position(session, _position(b, 1))
    insert_positions(session, [NetworkReport(a, "dev-1", T0 + timedelta(minutes=9), T0), _position(a, 2),
                               NetworkReport(network_only, "dev-3", T0, T0)])  # fmt: skip
    session.commit()
    assert latest_positions(session) == {a: a_last, b: b_last}
    monkeypatch.setattr(positions_repo, "WORKERS_PER_STATEMENT", 1)
    assert latest_positions(session) == {a: a_last, b: b_last}


def test_positions_between_is_inclusive_and_ordered_by_fix_time(session: Session) -> None:
    """Tests that both bounds are included, other workers are excluded, and results are oldest first."""
    wid, other = _worker(session, 1), _worker(session, 2)
    stored = {m: add_position(session, _position(wid, m)) for m in (30, 0, 10, 20, 40)}
    add_position(session, _position(other, 15))
    got = positions_between(session, worker_id=wid, start=T0 + timedelta(minutes=10), end=T0 + timedelta(minutes=30))
    assert got == [stored[10], stored[20], stored[30]]


def test_track_between_reads_what_stops_and_trips_need_of_the_same_fixes(session: Session) -> None:
    """Tests that `track_between` gives, for the same worker and bounds, the fixes `positions_between` gives, in the
    same order, with their fix time, degrees, accuracy and flags (a mock fix and an invalid one as stored); a
    network-only report (no coordinates) is in neither."""
    wid = _worker(session, 1)
    for m, kw in ((30, {}), (0, {"accuracy_m": 80.0}), (10, {"mock": True}), (20, {"valid": False}), (25, {})):
        add_position(session, _position(wid, m, lat=43.73 + m / 1e4, **kw))
    insert_positions(session, [NetworkReport(wid, "d", T0 + timedelta(minutes=15), T0)])
    start, end = T0 + timedelta(minutes=5), T0 + timedelta(minutes=30)
    full = positions_between(session, worker_id=wid, start=start, end=end)
    assert [(p.fix_time, p.latitude, p.longitude, p.accuracy_m, p.valid, p.mock) for p in full] == list(
        track_between(session, worker_id=wid, start=start, end=end)
    )
    assert [p.fix_time.minute for p in full] == [10, 20, 25, 30]


def test_purge_deletes_only_positions_older_than_the_cutoff(session: Session) -> None:
    """Tests that purge_positions removes fixes strictly before `before`, keeps the rest, and counts them."""
    wid = _worker(session, 1)
    for m in (0, 5, 10, 15):
        add_position(session, _position(wid, m))
    assert purge_positions(session, before=T0 + timedelta(minutes=10)) == 2
    session.commit()
    remaining = positions_between(session, worker_id=wid, start=T0, end=T0 + timedelta(hours=1))
    assert [p.fix_time for p in remaining] == [T0 + timedelta(minutes=10), T0 + timedelta(minutes=15)]


def _rows(session: Session) -> list[tuple[int, datetime]]:
    return [(w, t.astimezone(UTC)) for w, t in session.execute(
        select(PositionRow.worker_id, PositionRow.fix_time).order_by(PositionRow.worker_id, PositionRow.fix_time)
    )]  # fmt: skip


def test_purge_reaches_every_workers_rows_before_the_cut_whatever_the_statements_and_keeps_the_rest(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests that the purge, asked per worker, deletes exactly the rows a scan of the table finds strictly before the
    cut (reports without coordinates too, a fix at the cut kept), for every worker however many a statement names,
    and counts them."""
    a, b, idle, network = (_worker(session, n) for n in (1, 2, 3, 4))
    cut = T0 + timedelta(minutes=10)
    insert_positions(session, [
        *(_position(w, m) for w in (a, b) for m in (0, 9.99, 10, 11)),
        NetworkReport(network, "dev-4", T0, T0), NetworkReport(network, "dev-4", cut, cut),
    ])  # fmt: skip
    session.commit()
    before = _rows(session)
    older = session.scalar(select(func.count()).select_from(PositionRow).where(PositionRow.fix_time < cut))
    monkeypatch.setattr(positions_repo, "WORKERS_PER_STATEMENT", 2)  # two statements for the three workers with rows
    assert purge_positions(session, before=cut) == older == 5
    session.commit()
    assert _rows(session) == [(w, t) for w, t in before if t >= cut] == [
        (a, cut), (a, T0 + timedelta(minutes=11)), (b, cut), (b, T0 + timedelta(minutes=11)), (network, cut)
    ]  # fmt: skip
    assert purge_positions(session, before=cut) == 0
    assert idle not in worker_ids_with_fixes(session.connection())


def test_the_workers_with_fixes_are_those_with_a_stored_row_ascending(session: Session) -> None:
    """Tests that worker_ids_with_fixes names each worker with a stored row once (a report without coordinates
    counts), in ascending order, none on an empty table, and no longer a deleted worker, whose fixes went too."""
    assert worker_ids_with_fixes(session.connection()) == []
    a, idle, b, network = (_worker(session, n) for n in (1, 2, 3, 4))
    insert_positions(session, [_position(b, 1), _position(a, 0), _position(b, 0), NetworkReport(network, "d", T0, T0)])
    session.commit()
    assert worker_ids_with_fixes(session.connection()) == sorted([a, b, network])
    session.execute(delete(WorkerRow).where(WorkerRow.id == b))
    session.commit()
    assert worker_ids_with_fixes(session.connection()) == sorted([a, network])
    assert {w for w, _ in _rows(session)} == {a, network}


def test_a_failed_insert_does_not_put_coordinates_in_the_error(session: Session) -> None:
    """Tests that when storing a position fails (unknown worker), the exception text carries no coordinates."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError) as failure:
        add_position(session, _position(424242, 0, lat=43.123456, lon=7.654321))
    assert "43.123456" not in str(failure.value) and "7.654321" not in str(failure.value)


def _stored(engine: Engine, worker_id: int) -> list[tuple[int | None, datetime]]:
    with make_sessionmaker(engine)() as session:
        found = positions_between(session, worker_id=worker_id, start=T0, end=T0 + timedelta(hours=1))
    return [(p.id, p.fix_time) for p in found]


def test_the_writer_commits_each_group_on_its_own_connection_and_stores_a_resend_once(db_engine: Engine) -> None:
    """Tests that the group committer's writer stores a group (readable at once by another connection: committed)
    and gives each fix its row's id, and that a resend, in the group or in a later one-fix group, gets None and is
    stored once; on SQLite its connection writes durably (WAL, synchronous=FULL)."""
    with make_sessionmaker(db_engine)() as session:
        worker = _worker(session, 1)
        session.commit()
    writer = PositionWriter(db_engine)
    first, second = _position(worker, 0), _position(worker, 1)
    ids = writer([first, second, replace(first, latitude=43.0)])
    assert ids[2] is None and ids[0] is not None and ids[1] is not None
    assert _stored(db_engine, worker) == [(ids[0], first.fix_time), (ids[1], second.fix_time)]
    assert writer([replace(second, longitude=7.0)]) == [None]
    (third,) = writer([_position(worker, 2)])
    assert _stored(db_engine, worker)[-1] == (third, T0 + timedelta(minutes=2))
    if db_engine.dialect.name == "sqlite":
        connection = writer._connection.connection.driver_connection  # type: ignore[union-attr]
        assert connection.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL: on disk before the call returns
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("PRAGMA cache_size").fetchone() == (-WRITER_CACHE_KIB,)
    writer.close()


def test_a_failed_group_stores_nothing_and_the_writer_goes_on_with_a_fresh_connection(db_engine: Engine) -> None:
    """Tests that when a group's transaction fails (a fix of a worker who does not exist) none of its fixes is
    stored, the error carries no coordinates, and the next group is stored."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    with make_sessionmaker(db_engine)() as session:
        worker = _worker(session, 1)
        session.commit()
    writer = PositionWriter(db_engine)
    with pytest.raises((IntegrityError, sqlite3.IntegrityError)) as failure:
        writer([_position(worker, 0), _position(424242, 0, lat=43.123456)])
    assert "43.123456" not in str(failure.value)
    assert _stored(db_engine, worker) == []
    (new_id,) = writer([_position(worker, 0)])
    assert _stored(db_engine, worker) == [(new_id, T0)]
    writer.close()


def test_a_large_group_with_resends_gives_each_stored_fix_its_own_row_id(
    db_engine: Engine,
) -> None:
    """Tests that a group of 685 items of two workers (made ready before the write, as the committer does), with
    resends of earlier fixes of the group and of a fix stored before, stores each (worker, fix time) once and gives
    each stored fix the id of its own row, None to each resend."""
    with make_sessionmaker(db_engine)() as session:
        workers = [_worker(session, 1), _worker(session, 2)]
        session.commit()
    writer = PositionWriter(db_engine)
    (before,) = writer([_position(workers[0], 0.5)])
    fixes = [_position(workers[n % 2], n / 2, lat=43.0 + n * 1e-4) for n in range(680)]
    resends = [replace(fixes[n], longitude=7.0) for n in (0, 3, 511, 600)] + [_position(workers[0], 0.5)]
    group = fixes[:520] + resends[:2] + fixes[520:] + resends[2:]
    ids = writer(group)
    assert ids[520:522] == [None, None] and ids[-3:] == [None, None, None]
    assert None not in ids[:520] + ids[522:-3] and len(set(ids) - {None}) == 680
    with make_sessionmaker(db_engine)() as session:
        stored = {
            p.id: (p.worker_id, p.fix_time, p.latitude)
            for worker in workers
            for p in positions_between(session, worker_id=worker, start=T0, end=T0 + timedelta(hours=6))
        }
    assert len(stored) == 681  # the group's 680 and the one stored before it
    for fix, new_id in zip(group, ids, strict=True):
        if new_id is not None:
            assert stored[new_id] == (fix.worker_id, fix.fix_time, fix.latitude)
    assert stored[before] == (workers[0], T0 + timedelta(minutes=0.5), 43.7384)
    writer.close()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ANY_AWARE_TIME = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=11))]),
)


def _orm_text(value: datetime) -> str:
    """The text SQLAlchemy's SQLite DATETIME stores for `UTCDateTime` (naive UTC with microseconds)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


@given(st.lists(_ANY_AWARE_TIME, max_size=20))
def test_the_sqlite_text_of_a_fix_time_is_the_orms_whether_made_one_at_a_time_or_all_at_once(
    times: list[datetime],
) -> None:
    """Tests that a fix time's SQLite text is the ORM's for any aware time a `datetime` holds (years 1 to 9999, any
    zone, with and without microseconds), made from the `datetime` or, all at once, from its microseconds since
    the epoch (the batch endpoint's way); the unique (worker, fix time) index compares these texts."""
    micros = [(t - _EPOCH) // timedelta(microseconds=1) for t in times]
    expected = [_orm_text(t) for t in times]
    assert [positions_repo._sqlite_time(t) for t in times] == expected  # noqa: SLF001 - the one-at-a-time form
    assert positions_repo.sqlite_times(micros) == expected


@given(st.lists(st.tuples(_ANY_AWARE_TIME, st.booleans(), st.booleans()), max_size=10))
def test_rows_made_from_the_fix_times_in_microseconds_equal_those_made_from_the_fixes(
    fixes: list[tuple[datetime, bool, bool]],
) -> None:
    """Tests that `SqliteRows.of(items, fix_us)` (the batch endpoint's rows) are exactly `SqliteRows.of(items)`: a
    position whose device time is its fix time or another, and a network-only report, in one group."""
    items: list[Position | NetworkReport] = []
    for at, own_device_time, network in fixes:
        server_time = at + timedelta(seconds=2)  # the times stay a day inside the calendar: no overflow
        if network:
            items.append(NetworkReport(worker_id=1, device_id="d", fix_time=at, server_time=server_time))
        else:
            device_time = at if own_device_time else at - timedelta(seconds=1)
            items.append(replace(_position(1, 0), fix_time=at, device_time=device_time, server_time=server_time))
    micros = [(item.fix_time - _EPOCH) // timedelta(microseconds=1) for item in items]
    assert SqliteRows.of(items, micros).rows == SqliteRows.of(items).rows


_OPTIONAL = st.none() | st.floats(min_value=0, max_value=1e6)


@given(st.lists(st.tuples(_ANY_AWARE_TIME, st.floats(-90, 90), st.floats(-180, 180), _OPTIONAL, _OPTIONAL, _OPTIONAL,
                          _OPTIONAL, st.none() | st.floats(0, 100)), max_size=8))  # fmt: skip
def test_a_plain_history_fix_makes_the_row_of_its_position(
    fixes: list[tuple[datetime, float, float, float | None, float | None, float | None, float | None, float | None]],
) -> None:
    """Tests that a plain history fix given by its values (the batch endpoint's, no Position made) makes exactly the
    row of the Position `checked_position` makes of the same values, beside positions in the same group."""
    server_time = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
    values = [(7, "dev-7", server_time, *rest) for _, *rest in fixes]
    positions = [checked_position(7, "dev-7", at, server_time, *rest) for at, *rest in fixes]
    micros = [(at - _EPOCH) // timedelta(microseconds=1) for at, *_ in fixes]
    mixed = [v if i % 2 else p for i, (v, p) in enumerate(zip(values, positions, strict=True))]
    assert SqliteRows.of(values, micros).rows == SqliteRows.of(positions).rows == SqliteRows.of(mixed, micros).rows
    if values:
        with pytest.raises(ValueError, match="fix_us"):
            SqliteRows.of(values)
