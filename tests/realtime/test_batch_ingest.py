"""The batch endpoint's lean path (`PositionPipeline.ingest_batch`) on a real database: the same answers and rows
as one item at a time, duplicates stored once, and the rows written as the ORM writes them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from data import alerts_repo, positions_repo
from data.db import make_sessionmaker, session_scope
from data.workers_repo import add_worker
from dispatch.access import Decision
from dispatch.alerts import AlertKind
from dispatch.clock import ManualClock
from dispatch.positions import KNOTS_TO_MPS, Position, PositionLimits, Rejected, StoredFixes
from realtime.bus import POSITIONS
from realtime.field_events import FieldEvents
from realtime.ingest import PositionReport
from realtime.pipeline import BatchSummary, ItemRefused, PositionPipeline
from tests.factories import EVERY_DAY_7_TO_19, at
from tests.support.consent import record_consent

DAY_START, DAY_END = at("2025-03-03T00:00:00Z"), at("2025-03-04T00:00:00Z")
T0800_MS = int(at("2025-03-03T08:00:00Z").timestamp() * 1000)


class RecordingBus:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []

    def publish_many(self, channel: str, messages: list[dict[str, Any]]) -> None:
        self.published.extend((channel, m) for m in messages)


@pytest.fixture
def sessions(db_engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(db_engine)


@pytest.fixture
def workers(sessions: sessionmaker[Session]) -> dict[str, int]:
    """Ana and Bea work 07-19 every day, and consented to tracking."""
    with session_scope(sessions) as session:
        ids = {
            name: add_worker(session, name=name, device_id=name, shifts=(EVERY_DAY_7_TO_19,)).id
            for name in ("ana", "bea")
        }
        record_consent(session, *ids.values())
        return ids


def pipeline(sessions: sessionmaker[Session], bus: RecordingBus, now: str = "2025-03-03T12:00:00Z") -> PositionPipeline:
    return PositionPipeline(sessions=sessions, bus=bus, clock=ManualClock(at(now)), limits=PositionLimits())  # type: ignore[arg-type]


def stored(sessions: sessionmaker[Session], worker_id: int) -> list[Position]:
    with session_scope(sessions) as session:
        return positions_repo.positions_between(session, worker_id=worker_id, start=DAY_START, end=DAY_END)


def test_a_batch_answers_each_item_and_stores_the_good_ones(sessions, workers):
    """Tests that a mixed batch stores its good fixes (JSON numbers or strings alike, history included), counts a
    resend as a duplicate and an off-shift fix as off shift, and names each refused item's index and field."""
    bus = RecordingBus()
    items: list[object] = [
        {"id": "ana", "lat": 43.73, "lon": 7.42, "timestamp": T0800_MS, "speed": 10, "heading": -90, "batt": 80},
        {"id": "bea", "lat": "43.73", "lon": "7.42", "timestamp": str(T0800_MS), "speed": "10", "heading": "-90",
         "batt": "80"},
        {"id": "ana", "lat": 43.73, "lon": 7.42, "timestamp": T0800_MS},  # the phone's resend
        {"id": "ana", "lat": 43.73, "lon": 7.42, "timestamp": T0800_MS - 2 * 3600_000},  # 06:00, off shift
        {"id": "nobody", "lat": 43.73, "lon": 7.42, "timestamp": T0800_MS},
        {"id": "ana", "lat": 91, "lon": 7.42, "timestamp": T0800_MS},
        {"id": "ana", "lat": 43.73, "lon": 10**400, "timestamp": T0800_MS},  # too large for a double
        {"id": "ana", "lat": 43.73, "lon": 7.42, "timestamp": T0800_MS + 5 * 3600_000},  # 13:00, ahead of 12:00
        [],
        {"id": "ana", "lat": 43.72, "lon": 7.41, "timestamp": T0800_MS - 600_000},  # 07:50, flushed late
    ]  # fmt: skip
    summary = pipeline(sessions, bus).ingest_batch(items, may_report=lambda _: Decision(True))
    assert summary == BatchSummary(
        accepted=3,
        duplicates=1,
        off_shift=1,
        refused=(
            ItemRefused(3, "timestamp", "off shift"),
            ItemRefused(4, "id", "id: unknown device 'nobody': register it with `python -m data add-worker`"),
            ItemRefused(5, "lat", "lat: 91 is not within -90..90"),
            ItemRefused(6, "lon", "lon: " + repr(10**400)[:57] + "... is not a finite number"),
            ItemRefused(7, "timestamp", "timestamp: 3600 s ahead of the server clock (limit 600 s)"),
            ItemRefused(8, "item", "item: expected a JSON object, got an array"),
        ),
    )
    ana, bea = stored(sessions, workers["ana"]), stored(sessions, workers["bea"])
    assert [p.fix_time for p in ana] == [at("2025-03-03T07:50:00Z"), at("2025-03-03T08:00:00Z")]
    # The fast path (numbers) and the full parser (strings) store the same fix.
    same = {"id": None, "worker_id": 0, "device_id": ""}
    assert replace(ana[1], **same) == replace(bea[0], **same)
    assert ana[1].speed_mps == pytest.approx(10 * KNOTS_TO_MPS) and ana[1].bearing_deg == 270.0
    assert ana[1].battery_pct == 80.0 and ana[1].attributes == {}
    # Only the newest fix of each worker is live: the 07:50 one is history.
    assert sorted((channel, m["worker_id"], m["fix_time"]) for channel, m in bus.published) == [
        (POSITIONS, workers["ana"], "2025-03-03T08:00:00+00:00"),
        (POSITIONS, workers["bea"], "2025-03-03T08:00:00+00:00"),
    ]


def test_a_batch_may_report_only_for_permitted_workers(sessions, workers):
    """Tests that a field worker's batch with another worker's fix stores only their own, naming the other's index."""
    items = [{"id": name, "lat": 43.73, "lon": 7.42, "timestamp": T0800_MS} for name in ("ana", "bea")]
    summary = pipeline(sessions, RecordingBus()).ingest_batch(
        items, may_report=lambda wid: Decision(wid == workers["ana"], "not your device")
    )
    assert summary == BatchSummary(1, 0, 0, (ItemRefused(1, "id", "id: not your device"),))
    assert len(stored(sessions, workers["ana"])) == 1 and stored(sessions, workers["bea"]) == []


def test_every_fix_of_a_refused_worker_is_named_by_its_index_however_the_fixes_interleave(sessions, workers):
    """Tests that the permission and the consent, asked once per worker and batch, still refuse each fix of a worker
    who may not report or has not consented, by its own index, between the stored fixes of a permitted one."""
    with session_scope(sessions) as session:
        add_worker(session, name="cy", device_id="cy", shifts=(EVERY_DAY_7_TO_19,))  # no consent recorded
    items = [
        {"id": name, "lat": 43.73, "lon": 7.42, "timestamp": T0800_MS + 1000 * n}
        for n, name in enumerate(("ana", "bea", "cy", "ana", "bea", "cy", "ana"))
    ]
    summary = pipeline(sessions, RecordingBus()).ingest_batch(
        items, may_report=lambda wid: Decision(wid != workers["bea"], "not your device")
    )
    assert (summary.accepted, summary.duplicates, summary.off_shift) == (3, 0, 0)
    assert [(r.index, r.field) for r in summary.refused] == [(1, "id"), (2, "consent"), (4, "id"), (5, "consent")]
    assert len(stored(sessions, workers["ana"])) == 3 and stored(sessions, workers["bea"]) == []


def test_a_fix_stored_by_a_batch_and_sent_again_by_the_phone_is_stored_once(sessions, workers):
    """Tests that a phone resending through /osmand a fix that a batch stored (another process, cold caches) gets
    "duplicate" and the fix stays stored once."""
    item = {"id": "ana", "lat": 43.73, "lon": 7.42, "timestamp": T0800_MS}
    assert pipeline(sessions, RecordingBus()).ingest_batch([item], may_report=lambda _: Decision(True)).accepted == 1
    resend = PositionReport(device_id="ana", fix_time=at("2025-03-03T08:00:00Z"), latitude=43.7301, longitude=7.42)
    outcome = pipeline(sessions, RecordingBus()).ingest(resend)
    assert isinstance(outcome, Rejected) and outcome.duplicate
    assert len(stored(sessions, workers["ana"])) == 1


def test_the_bulk_insert_writes_rows_as_the_orm_does(sessions, workers):
    """Tests that a fix stored one way (ORM) is a duplicate for the bulk insert (the unique index compares the
    stored text on SQLite), and that every value of a bulk-inserted fix reads back as it went in."""
    first = Position(
        worker_id=workers["ana"], device_id="ana", fix_time=at("2025-03-03T08:00:00.5Z"),
        device_time=at("2025-03-03T08:00:00Z"), server_time=at("2025-03-03T08:00:01Z"), latitude=43.73, longitude=7.42,
    )  # fmt: skip
    second = replace(
        first,
        fix_time=at("2025-03-03T08:00:10Z"),
        device_time=datetime.fromisoformat("2025-03-03T09:00:09+01:00"),
        accuracy_m=4.5, speed_mps=3.25, bearing_deg=90.0, altitude_m=-2.0, battery_pct=55.5, charging=False,
        mock=True, valid=False, attributes={"motion": True, "odometer": 12, "event": "motionchange", "é": "ü"},
    )  # fmt: skip
    with session_scope(sessions) as session:
        positions_repo.add_position(session, first)
    with session_scope(sessions) as session:
        ids = positions_repo.insert_positions(session, [replace(first, latitude=43.74), second, second])
    assert ids[0] is None and ids[1] is not None and ids[2] is None
    assert stored(sessions, workers["ana"]) == [
        replace(first, id=stored(sessions, workers["ana"])[0].id),
        replace(second, id=ids[1], device_time=at("2025-03-03T08:00:09Z")),
    ]


def test_a_batchs_rows_are_the_orms_a_fix_the_orm_stored_is_a_duplicate_and_times_read_back_exactly(sessions, workers):
    """Tests that the rows a batch writes (their times formatted all at once from microseconds) are the ORM's: a fix
    the ORM stored with milliseconds is a duplicate for the batch (the unique index compares the stored text), and
    the batch's fixes in seconds and milliseconds read back through the ORM with their exact times."""
    orm_fix = Position(
        worker_id=workers["bea"], device_id="bea", fix_time=at("2025-03-03T08:00:00.123Z"),
        device_time=at("2025-03-03T08:00:00.123Z"), server_time=at("2025-03-03T08:00:01Z"), latitude=43.73,
        longitude=7.42,
    )  # fmt: skip
    with session_scope(sessions) as session:
        positions_repo.add_position(session, orm_fix)
    items = [
        {"id": "bea", "lat": 43.74, "lon": 7.42, "timestamp": T0800_MS + 123},  # the ORM's fix again
        {"id": "ana", "lat": 43.73, "lon": 7.42, "timestamp": T0800_MS + 456},
        {"id": "ana", "lat": 43.73, "lon": 7.42, "timestamp": T0800_MS // 1000 + 60},
    ]
    summary = pipeline(sessions, RecordingBus()).ingest_batch(items, may_report=lambda _: Decision(True))
    assert (summary.accepted, summary.duplicates) == (2, 1)
    assert [p.fix_time for p in stored(sessions, workers["ana"])] == [
        at("2025-03-03T08:00:00.456Z"),
        at("2025-03-03T08:01:00Z"),
    ]
    assert [p.latitude for p in stored(sessions, workers["bea"])] == [43.73]


def test_a_history_fix_stored_as_a_row_without_a_position_reads_back_as_the_full_parsers(sessions, workers):
    """Tests that history fixes (older than the worker's last) of the lean path, stored as rows without a Position
    made of them, read back exactly as the same fixes read by the full parser (strings) and stored from Positions:
    every optional value, none of them, and a fix without a time (the server's, history after a newer fix)."""
    now_ms = int(at("2025-03-03T12:00:00Z").timestamp() * 1000)
    newest = [{"id": name, "lat": 43.7, "lon": 7.4, "timestamp": now_ms + 5000} for name in ("ana", "bea")]
    full = {"accuracy": 4.5, "speed": 10, "heading": -90, "altitude": -2.5, "batt": 80}
    history: list[dict[str, Any]] = [
        {"lat": 43.73, "lon": 7.42, "timestamp": T0800_MS + 123, **full},
        {"lat": 43.74, "lon": 7.43, "timestamp": T0800_MS // 1000 + 60},
        {"lat": 43.75, "lon": 7.44},  # the server's time, 5 s before the newest fix: history too
    ]
    lean = pipeline(sessions, RecordingBus())
    summary = lean.ingest_batch(newest + [{"id": "ana", **h} for h in history], may_report=lambda _: Decision(True))
    as_text = [{"id": "bea", **{k: str(v) for k, v in h.items()}} for h in history]
    assert summary.accepted == 5
    assert lean.ingest_batch(as_text, may_report=lambda _: Decision(True)).accepted == 3
    ana, bea = stored(sessions, workers["ana"]), stored(sessions, workers["bea"])
    same = {"id": None, "worker_id": 0, "device_id": ""}
    assert len(ana) == len(bea) == 4 and ana[2].fix_time == at("2025-03-03T12:00:00Z")
    assert [replace(p, **same) for p in ana] == [replace(p, **same) for p in bea]
    assert ana[0].accuracy_m == 4.5 and ana[0].bearing_deg == 270.0 and ana[0].altitude_m == -2.5
    assert ana[1].speed_mps is None and ana[1].battery_pct is None and ana[1].device_time == ana[1].fix_time


def test_the_fixes_a_batch_hands_on_carry_their_stored_ids(sessions, workers):
    """Tests that the fixes a batch hands to the alert evaluator are the stored rows, ids included, as one at a time
    (a geofence crossing records the id of the fix that made it)."""
    handed: list[Position] = []
    items = [{"id": name, "lat": 43.73, "lon": 7.42, "timestamp": T0800_MS} for name in ("ana", "bea")]
    lean = PositionPipeline(
        sessions=sessions,
        bus=RecordingBus(),  # type: ignore[arg-type]
        clock=ManualClock(at("2025-03-03T12:00:00Z")),
        limits=PositionLimits(),
        after_store=handed.extend,
    )
    assert lean.ingest_batch(items, may_report=lambda _: Decision(True)).accepted == 2
    rows = stored(sessions, workers["ana"]) + stored(sessions, workers["bea"])
    assert sorted(p.id for p in handed) == sorted(p.id for p in rows)
    assert None not in [p.id for p in handed]


def test_the_fixes_a_batch_hands_on_carry_their_times_in_microseconds(sessions, workers):
    """Tests that a batch hands the alert evaluator each stored fix's time in microseconds beside it, equal to the
    fix's own: seconds and milliseconds as read, an item without a time (the server's), and an item the full parser
    reads (an ISO time); and that a duplicate in the batch is handed on once with its time."""
    handed: list[StoredFixes] = []
    now = at("2025-03-03T12:00:00Z")
    lean = PositionPipeline(
        sessions=sessions,
        bus=RecordingBus(),  # type: ignore[arg-type]
        clock=ManualClock(now),
        limits=PositionLimits(),
        after_store=handed.append,  # type: ignore[arg-type]
    )
    items = [
        {"id": "ana", "lat": 43.73, "lon": 7.42, "timestamp": T0800_MS + 123},
        {"id": "bea", "lat": 43.73, "lon": 7.42, "timestamp": T0800_MS // 1000 + 7},
        {"id": "bea", "lat": 43.73, "lon": 7.42, "timestamp": T0800_MS // 1000 + 7},  # a resend: stored once
        {"id": "ana", "lat": 43.74, "lon": 7.42},  # no time: the server's
        {"id": "bea", "lat": 43.73, "lon": 7.42, "timestamp": "2025-03-03T08:02:00.5Z"},  # the full parser's
    ]
    assert lean.ingest_batch(items, may_report=lambda _: Decision(True)).accepted == 4
    (batch,) = handed
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert batch.fix_us == [(p.fix_time - epoch) // timedelta(microseconds=1) for p in batch.positions]
    assert batch.fix_us == [
        T0800_MS * 1000 + 123_000,
        (T0800_MS // 1000 + 7) * 1_000_000,
        (now - epoch) // timedelta(microseconds=1),
        (T0800_MS + 120_500) * 1000,
    ]
    assert batch[1:].fix_us == batch.fix_us[1:]  # a slice keeps the times of its fixes


@pytest.mark.parametrize(
    ("extra", "raised"),
    [({"alarm": "sos"}, [AlertKind.SOS]), ({"mock": True}, [AlertKind.MOCK_LOCATION]), ({"valid": False}, [])],
    ids=["sos", "mock", "invalid"],
)
def test_a_batch_is_handed_on_as_plain_only_when_every_fix_is_and_an_odd_one_among_plain_ones_still_raises(
    sessions, workers, extra, raised
):
    """Tests that a batch of plain items is handed to the evaluator flagged plain (`StoredFixes.plain`: its fixes
    without attributes, not mock, valid, charging unknown, so the evaluator skips reading those), and that a batch
    with one SOS, mock or invalid item among plain ones is not, and its alert is raised as ever."""
    handed: list[StoredFixes] = []
    lean = PositionPipeline(
        sessions=sessions,
        bus=RecordingBus(),  # type: ignore[arg-type]
        clock=ManualClock(at("2025-03-03T12:00:00Z")),
        limits=PositionLimits(),
        after_store=handed.append,  # type: ignore[arg-type]
    )
    plain_items: list[object] = [
        {"id": name, "lat": 43.73 + k / 1e4, "lon": 7.42, "timestamp": T0800_MS + k * 10_000, "batt": 50, "accuracy": 8}
        for k in range(4)
        for name in ("ana", "bea")
    ]
    assert lean.ingest_batch(plain_items, may_report=lambda _: Decision(True)).accepted == 8
    (batch,) = handed
    assert batch.plain
    assert all(not p.attributes and not p.mock and p.valid and p.charging is None for p in batch.positions)
    assert batch[2:].plain  # a slice keeps the flag

    odd = {"id": "ana", "lat": 43.74, "lon": 7.42, "timestamp": T0800_MS + 400_000, **extra}  # the latest
    later = [{**item, "timestamp": item["timestamp"] + 200_000} for item in plain_items]  # type: ignore[dict-item]
    handed.clear()
    assert lean.ingest_batch([*later[:3], odd, *later[3:]], may_report=lambda _: Decision(True)).accepted == 9
    (batch,) = handed
    assert not batch.plain
    assert sum(1 for p in batch.positions if p.attributes or p.mock or not p.valid) == 1  # handed on as read
    evaluator = FieldEvents(sessions=sessions, bus=RecordingBus(), clock=ManualClock(at("2025-03-03T12:00:00Z")))  # type: ignore[arg-type]
    evaluator.evaluate(batch)
    with session_scope(sessions) as session:
        assert [a.kind for a in alerts_repo.list_alerts(session, worker_id=workers["ana"])] == raised
        assert alerts_repo.list_alerts(session, worker_id=workers["bea"]) == []
