"""The ingestion pipeline on a real database: what is stored and published, and what is kept off the record."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from data import positions_repo
from data.db import WriteTurn, make_sessionmaker, session_scope, sqlite_path
from data.positions_repo import positions_between
from data.workers_repo import add_worker, upsert_worker_by_device
from dispatch.access import Decision
from dispatch.clock import ManualClock
from dispatch.positions import OFF_SHIFT, PositionLimits, Rejected
from dispatch.privacy import CONSENT_WITHDRAWN, NO_CONSENT, ConsentState
from dispatch.workers import LiveStatus, Shift, worker_state
from realtime.bus import POSITIONS
from realtime.ingest import IngestError, PositionReport
from realtime.pipeline import PositionPipeline, Stored, StoreUnavailable, live_message, live_messages
from tests.factories import EVERY_DAY_7_TO_19, at, make_position
from tests.support.consent import record_consent
from tests.support.locks import flock_waiters
from tests.support.servers import wait_until

DAY_START, DAY_END = at("2025-03-03T00:00:00Z"), at("2025-03-04T00:00:00Z")


class RecordingBus:
    """Stands in for `realtime.bus.Bus`: keeps what would have been published."""

    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []

    def publish_many(self, channel: str, messages: list[dict[str, Any]]) -> None:
        self.published.extend((channel, m) for m in messages)


@pytest.fixture
def sessions(db_engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(db_engine)


@pytest.fixture
def workers(sessions: sessionmaker[Session]) -> dict[str, int]:
    """Ana works 07-19 every day; Noé has no shifts at all. Both consented to tracking."""
    with session_scope(sessions) as session:
        ana = add_worker(session, name="Ana", device_id="ana", shifts=(EVERY_DAY_7_TO_19,))
        noe = add_worker(session, name="Noé", device_id="noe")
        record_consent(session, ana.id, noe.id)
    return {"ana": ana.id, "noe": noe.id}


@pytest.fixture
def bus() -> RecordingBus:
    return RecordingBus()


def pipeline(sessions: sessionmaker[Session], bus: RecordingBus, now: str) -> PositionPipeline:
    return PositionPipeline(
        sessions=sessions,
        bus=bus,  # type: ignore[arg-type]
        clock=ManualClock(at(now)),
        limits=PositionLimits(),
    )


def report(device_id: str, fix_time: str, lat: float = 43.7384) -> PositionReport:
    return PositionReport(device_id=device_id, fix_time=at(fix_time), latitude=lat, longitude=7.4246, speed_mps=4.0)


def stored_fix_times(sessions: sessionmaker[Session], worker_id: int) -> list[datetime]:
    with session_scope(sessions) as session:
        return [p.fix_time for p in positions_between(session, worker_id=worker_id, start=DAY_START, end=DAY_END)]


def test_a_fix_on_shift_is_stored_and_published(sessions, workers, bus):
    """Tests that a 07-19 worker's 08:00 fix is stored and reaches the live map."""
    outcome = pipeline(sessions, bus, "2025-03-03T08:00:05Z").ingest(report("ana", "2025-03-03T08:00:00Z"))
    assert isinstance(outcome, Stored) and outcome.live
    assert stored_fix_times(sessions, workers["ana"]) == [at("2025-03-03T08:00:00Z")]
    assert [(channel, m["worker_id"], m["lat"]) for channel, m in bus.published] == [
        (POSITIONS, workers["ana"], 43.7384)
    ]


def test_by_default_a_fix_is_kept_only_while_the_worker_consents(sessions, workers, bus):
    """Tests that a pipeline built without saying otherwise keeps no fix of a worker with no consent on record
    (nothing stored or published), keeps one once they consent, and none again after they withdraw."""
    with session_scope(sessions) as session:
        cy = add_worker(session, name="Cy", device_id="cy", shifts=(EVERY_DAY_7_TO_19,)).id
    ingest = pipeline(sessions, bus, "2025-03-03T09:00:05Z")
    assert ingest.ingest(report("cy", "2025-03-03T08:00:00Z")) == Rejected(NO_CONSENT, no_consent=True)
    assert stored_fix_times(sessions, cy) == [] and bus.published == []
    ingest.consent_changed(cy, ConsentState.GIVEN)
    assert isinstance(ingest.ingest(report("cy", "2025-03-03T08:01:00Z")), Stored)
    ingest.consent_changed(cy, ConsentState.WITHDRAWN)
    assert ingest.ingest(report("cy", "2025-03-03T08:02:00Z")) == Rejected(CONSENT_WITHDRAWN, no_consent=True)
    assert stored_fix_times(sessions, cy) == [at("2025-03-03T08:01:00Z")] and len(bus.published) == 1


def test_a_fix_off_shift_is_neither_stored_nor_published(sessions, workers, bus):
    """Tests that a 07-19 worker's 21:00 fix comes back "off shift" (the OsmAnd answer stays 200) and leaves no trace."""
    outcome = pipeline(sessions, bus, "2025-03-03T21:00:05Z").ingest(report("ana", "2025-03-03T21:00:00Z"))
    assert outcome == Rejected(OFF_SHIFT, off_shift=True)
    assert stored_fix_times(sessions, workers["ana"]) == []
    assert bus.published == []


def test_the_shift_boundaries_allow_15_minutes_either_side(sessions, workers, bus):
    """Tests that fixes from 06:45:00 to 19:14:59 are kept and those at 06:44:59 and 19:15:00 are not."""
    times = ["2025-03-03T06:44:59Z", "2025-03-03T06:45:00Z", "2025-03-03T19:14:59Z", "2025-03-03T19:15:00Z"]
    outcomes = pipeline(sessions, bus, "2025-03-03T19:20:00Z").ingest_many(
        [report("ana", t) for t in times], may_report=lambda _wid: Decision(True)
    )
    assert [type(o).__name__ for o in outcomes] == ["Rejected", "Stored", "Stored", "Rejected"]
    assert [o.reason for o in outcomes if isinstance(o, Rejected)] == [OFF_SHIFT, OFF_SHIFT]
    assert stored_fix_times(sessions, workers["ana"]) == [at(times[1]), at(times[2])]
    assert [m["fix_time"] for _, m in bus.published] == [at(times[1]).isoformat(), at(times[2]).isoformat()]


def test_a_batch_says_off_shift_per_item_and_stores_the_rest(sessions, workers, bus):
    """Tests that in a phone's flushed buffer only the fixes taken on shift are stored, each other item saying why."""
    items: list[PositionReport | IngestError] = [
        report("ana", "2025-03-03T18:50:00Z", lat=43.73),
        report("ana", "2025-03-03T19:40:00Z", lat=43.74),
        IngestError("lat", "'x' is not a number"),
        report("ana", "2025-03-03T19:05:00Z", lat=43.75),
    ]
    outcomes = pipeline(sessions, bus, "2025-03-03T19:45:00Z").ingest_many(items, may_report=lambda _: Decision(True))
    assert [o.reason if isinstance(o, Rejected) else type(o).__name__ for o in outcomes] == [
        "Stored",
        "off shift",
        "IngestError",
        "Stored",
    ]
    assert stored_fix_times(sessions, workers["ana"]) == [at("2025-03-03T18:50:00Z"), at("2025-03-03T19:05:00Z")]
    assert sorted(m["lat"] for _, m in bus.published) == [43.73, 43.75]


def test_a_worker_without_shifts_is_kept_and_the_log_says_so_once_without_coordinates(sessions, workers, bus, caplog):
    """Tests that a phone registered without a shift calendar (`add-worker`) has its fixes kept at any hour, with one warning naming only the worker."""
    caplog.set_level(logging.WARNING, logger="realtime.pipeline")
    ingest = pipeline(sessions, bus, "2025-03-03T23:00:00Z")
    times = [f"2025-03-03T{h:02d}:30:00Z" for h in range(0, 23, 2)]
    outcomes = [ingest.ingest(report("noe", t, lat=43.7312)) for t in times]
    assert all(isinstance(o, Stored) for o in outcomes)
    assert stored_fix_times(sessions, workers["noe"]) == [at(t) for t in times]
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == [
        f"worker {workers['noe']} has no shifts: their positions are kept whenever the phone sends; give them a shift"
    ]
    assert "43.73" not in caplog.text and "7.42" not in caplog.text


def test_a_new_shift_applies_once_the_device_cache_expires(sessions, workers, bus):
    """Tests that giving a worker a shift makes their phone's off-shift fixes dropped within the device cache time."""
    now = [0.0]
    ingest = PositionPipeline(
        sessions=sessions,
        bus=bus,  # type: ignore[arg-type]
        clock=ManualClock(at("2025-03-03T18:00:30Z")),
        limits=PositionLimits(),
        device_cache_s=30.0,
        monotonic=lambda: now[0],
    )
    assert isinstance(ingest.ingest(report("noe", "2025-03-03T18:00:00Z")), Stored)  # no calendar yet
    with session_scope(sessions) as session:
        upsert_worker_by_device(
            session, name="Noé", device_id="noe", shifts=(Shift(weekdays=(0,), start=time(9), end=time(17)),)
        )
    now[0] = 31.0
    assert ingest.ingest(report("noe", "2025-03-03T18:00:10Z")) == Rejected(OFF_SHIFT, off_shift=True)
    assert stored_fix_times(sessions, workers["noe"]) == [at("2025-03-03T18:00:00Z")]


def test_concurrent_identical_resends_are_stored_once_and_all_answered(sessions, workers, bus):
    """Tests that eight simultaneous resends of one fix, through two server processes' pipelines, leave one
    row: one request gets "stored", the others "duplicate" (answered 200 by /osmand), none an error."""
    pipelines = [pipeline(sessions, bus, "2025-03-03T08:00:05Z") for _ in range(2)]
    start = threading.Barrier(8)
    outcomes: list[object] = []

    def send(n: int) -> None:
        start.wait()
        outcomes.append(pipelines[n % 2].ingest(report("ana", "2025-03-03T08:00:00Z")))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert stored_fix_times(sessions, workers["ana"]) == [at("2025-03-03T08:00:00Z")]
    assert sum(isinstance(o, Stored) for o in outcomes) == 1
    duplicates = [o for o in outcomes if isinstance(o, Rejected) and o.duplicate]
    assert len(duplicates) == 7  # "duplicate of a stored fix" (the database said so) or "of the last fix" (the cache)
    assert len(bus.published) == 1


def test_a_request_is_answered_only_after_its_fix_is_committed(sessions, workers, bus):
    """Tests that ingest does not return while the group commit is still writing, and returns Stored after."""
    writing, release = threading.Event(), threading.Event()

    def slow_write(items):
        writing.set()
        release.wait(10)
        with session_scope(sessions) as session:
            return positions_repo.insert_positions(session, items)

    ingest = PositionPipeline(
        sessions=sessions,
        bus=bus,  # type: ignore[arg-type]
        clock=ManualClock(at("2025-03-03T08:00:05Z")),
        limits=PositionLimits(),
        write=slow_write,
    )
    outcome: list[object] = []
    t = threading.Thread(target=lambda: outcome.append(ingest.ingest(report("ana", "2025-03-03T08:00:00Z"))))
    t.start()
    assert writing.wait(10)
    assert outcome == [] and bus.published == []  # the write is held: no answer, nothing live yet
    release.set()
    t.join(10)
    assert isinstance(outcome[0], Stored) and outcome[0].position.id is not None
    assert stored_fix_times(sessions, workers["ana"]) == [at("2025-03-03T08:00:00Z")]
    assert len(bus.published) == 1


def test_a_failed_commit_answers_store_unavailable_and_stores_nothing(sessions, workers, bus):
    """Tests that when the database fails mid-transaction the request gets StoreUnavailable (503, the phone
    retries), no row of it is left, nothing is published, and the retry is stored once the database is back."""
    broken = [True]

    def write(items):
        with session_scope(sessions) as session:
            ids = positions_repo.insert_positions(session, items)
            if broken[0]:
                raise OperationalError("INSERT", {}, Exception("disk I/O error"))
            return ids

    ingest = PositionPipeline(
        sessions=sessions,
        bus=bus,  # type: ignore[arg-type]
        clock=ManualClock(at("2025-03-03T08:00:05Z")),
        limits=PositionLimits(),
        write=write,
    )
    with pytest.raises(StoreUnavailable, match="the database failed: OperationalError"):
        ingest.ingest(report("ana", "2025-03-03T08:00:00Z"))
    assert stored_fix_times(sessions, workers["ana"]) == []
    assert bus.published == []
    broken[0] = False
    assert isinstance(ingest.ingest(report("ana", "2025-03-03T08:00:00Z")), Stored)
    assert stored_fix_times(sessions, workers["ana"]) == [at("2025-03-03T08:00:00Z")]


def test_a_report_without_coordinates_and_no_earlier_fix_is_kept_as_network_data(sessions, workers, bus):
    """Tests that a cell-tower-only report from a worker with no fix yet is stored (outdated, not valid, its cell
    towers kept), never published, never a position, and that the next real fix is live, not a duplicate."""
    ingest = pipeline(sessions, bus, "2025-03-03T08:00:05Z")
    cells = PositionReport(
        device_id="ana", fix_time=at("2025-03-03T08:00:00Z"), battery_pct=55.0, attributes={"cell": "208,1,16,2224"}
    )
    outcome = ingest.ingest(cells)
    assert isinstance(outcome, Stored) and not outcome.live
    assert bus.published == []
    assert stored_fix_times(sessions, workers["ana"]) == []
    with session_scope(sessions) as session:
        kept = positions_repo.network_reports(session, worker_id=workers["ana"], start=DAY_START, end=DAY_END)
        assert positions_repo.latest_positions(session) == {}
    assert [(r.fix_time, r.battery_pct, dict(r.attributes)) for r in kept] == [
        (at("2025-03-03T08:00:00Z"), 55.0, {"cell": "208,1,16,2224", "outdated": True})
    ]
    fix = ingest.ingest(report("ana", "2025-03-03T08:00:04Z"))
    assert isinstance(fix, Stored) and fix.live
    assert [m["lat"] for _, m in bus.published] == [43.7384]


@given(
    st.floats(min_value=-90, max_value=90),
    st.integers(min_value=-180_000_000, max_value=180_000_000),
    st.one_of(st.none(), st.floats(min_value=0, max_value=80)),
)
def test_a_live_message_carries_the_fix_rounded_to_6_decimals_and_its_map_state(lat, lon_micro, speed):
    """Tests that a live message gives latitude and longitude as `round(x, 6)` (any double, and what phones send:
    6 decimals), the fix time, the server time in ms and the map state `worker_state` gives a fresh fix."""
    fix_time, server_time = at("2025-03-03T09:00:00.250Z"), at("2025-03-03T09:00:02.5Z")
    lon = lon_micro / 1e6
    position = make_position(
        fix_time.isoformat(), lat=lat, lon=lon, speed_mps=speed, server_time=server_time.isoformat()
    )
    message = live_messages([position])[0]
    assert (message["lat"], message["lon"]) == (round(lat, 6), round(lon, 6))
    assert message["fix_time"] == "2025-03-03T09:00:00.250000+00:00" and message["server_ms"] == 1740992402500
    assert message["state"] == worker_state(LiveStatus(fix_time, speed), server_time).value
    assert message == live_message(position)


def test_a_fix_waits_for_another_process_turn_to_write_and_is_stored_when_it_ends(sessions, workers, bus):
    """Tests that while another server process writes the SQLite file (holds its write turn), a fix is neither
    answered nor stored, and that it is stored and answered once that process's turn ends (no busy-wait sleep)."""
    bind = sessions.kw["bind"]
    if bind.dialect.name != "sqlite":
        pytest.skip("only a SQLite file has one writer at a time")
    other_process = WriteTurn(sqlite_path(bind.url))
    ingest = pipeline(sessions, bus, "2025-03-03T08:00:05Z")
    outcome: list[object] = []
    with other_process():
        t = threading.Thread(target=lambda: outcome.append(ingest.ingest(report("ana", "2025-03-03T08:00:00Z"))))
        t.start()
        wait_until(lambda: flock_waiters(Path(f"{sqlite_path(bind.url)}-writer")) == 1, 10, "the committer's wait")
        assert outcome == [] and stored_fix_times(sessions, workers["ana"]) == [] and bus.published == []
    t.join(10)
    assert isinstance(outcome[0], Stored)
    assert stored_fix_times(sessions, workers["ana"]) == [at("2025-03-03T08:00:00Z")] and len(bus.published) == 1


def test_a_fix_that_comes_while_the_committer_waits_for_its_turn_is_committed_with_the_waiting_one(
    sessions, workers, bus
):
    """Tests that a fix arriving while this process's committer waits for another process's write turn is written in
    the same commit as the fix that was waiting (not in a later turn of its own), and both are stored and answered."""
    bind = sessions.kw["bind"]
    if bind.dialect.name != "sqlite":
        pytest.skip("only a SQLite file has one writer at a time")
    other_process = WriteTurn(sqlite_path(bind.url))
    ingest = pipeline(sessions, bus, "2025-03-03T08:00:05Z")
    writer = ingest._writer
    assert writer is not None
    commits: list[int] = []  # the rows of each transaction the committer writes
    write = writer.write

    def counted_write(prepared):
        commits.append(len(prepared))
        return write(prepared)

    writer.write = counted_write  # type: ignore[method-assign]
    outcomes: dict[str, object] = {}

    def send(device: str) -> None:
        outcomes[device] = ingest.ingest(report(device, "2025-03-03T08:00:00Z"))

    first, second = threading.Thread(target=send, args=("ana",)), threading.Thread(target=send, args=("noe",))
    with other_process():
        first.start()
        wait_until(lambda: flock_waiters(Path(f"{sqlite_path(bind.url)}-writer")) == 1, 10, "the committer's wait")
        second.start()
        wait_until(lambda: ingest._committer._queue.qsize() == 1, 10, "the second fix queued")
        assert outcomes == {} and commits == []
    first.join(10)
    second.join(10)
    assert commits == [2]
    assert isinstance(outcomes["ana"], Stored) and isinstance(outcomes["noe"], Stored)
    assert (
        stored_fix_times(sessions, workers["ana"])
        == stored_fix_times(sessions, workers["noe"])
        == [at("2025-03-03T08:00:00Z")]
    )


def test_a_new_process_reads_every_worker_s_last_fix_in_one_query_and_judges_by_it(sessions, workers, bus):
    """Tests that a freshly started pipeline (a new server process) reads the last fixes of all its workers at
    once, not one query per worker at each one's first fix, and still judges each first fix by the worker's
    stored last one: a resend of it is a duplicate, an older fix is kept but not live, a newer one is live."""
    from sqlalchemy import event

    earlier = pipeline(sessions, bus, "2025-03-03T08:10:05Z")
    assert isinstance(earlier.ingest(report("ana", "2025-03-03T08:10:00Z")), Stored)
    assert isinstance(earlier.ingest(report("noe", "2025-03-03T08:10:00Z", lat=43.75)), Stored)
    engine = sessions.kw["bind"]
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "positions" in statement:
            statements.append(statement)

    restarted = pipeline(sessions, bus, "2025-03-03T08:20:05Z")
    event.listen(engine, "before_cursor_execute", count)
    try:
        resend = restarted.ingest(report("ana", "2025-03-03T08:10:00Z"))
        older = restarted.ingest(report("noe", "2025-03-03T08:05:00Z"))
        newer = restarted.ingest(report("ana", "2025-03-03T08:20:00Z"))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert isinstance(resend, Rejected) and resend.duplicate
    assert isinstance(older, Stored) and not older.live
    assert isinstance(newer, Stored) and newer.live
    assert len(statements) == 1  # the workers' last fixes, together
