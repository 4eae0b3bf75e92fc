"""`/osmand`'s lean path for the common query: read as `parse_osmand` reads it, decided and stored as `ingest` does."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine

from data.db import make_sessionmaker, session_scope
from data.positions_repo import positions_between
from data.workers_repo import add_worker
from dispatch.clock import ManualClock
from dispatch.positions import Position, PositionLimits, Rejected
from realtime import pipeline as pipeline_module
from realtime.ingest import IngestError, PositionReport, check_fix_times, parse_osmand, plain_query_fix
from realtime.pipeline import PositionPipeline, Stored
from tests.factories import EVERY_DAY_7_TO_19, at
from tests.support.consent import record_consent
from tests.support.servers import wait_until

PLAIN_KEYS = ["id", "deviceid", "lat", "lon", "timestamp", "speed", "bearing", "heading", "altitude", "accuracy",
              "batt"]  # fmt: skip
TEXT_NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(min_value=-200, max_value=200).map(lambda x: f"{x:.6f}"),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.sampled_from(
        ["", " 1", "1 ", "+1.5", ".5", "5.", "1e3", "1E-4", "1_0", "0x10", "nan", "inf", "-0", "1e999", "٣", "²",
         "1741003200", "1741003200000", "2147483647", "2147483646", "253402300799", "253402300800000",
         "9" * 16, "9" * 5000, "1741003200.5", "2025-03-03T12:00:00Z", "2025-03-03 12:00:00"]
    ),
    st.text(max_size=8),
)  # fmt: skip
PAIRS = st.lists(
    st.tuples(st.one_of(st.sampled_from(PLAIN_KEYS), st.sampled_from(["hdop", "charge", "", "x"])), TEXT_NUMBERS),
    max_size=12,
)


@given(PAIRS)
def test_the_lean_query_reading_agrees_with_the_full_parser(pairs):
    """Tests that whenever plain_query_fix reads a query (the /osmand fast path), parse_osmand reads the same device,
    time, place, units and ranges from it, with no attributes and nothing else set; anything else is left to it."""
    plain = plain_query_fix(pairs)
    if plain is None:
        return
    report = parse_osmand(query=pairs, form=[], content_type=None, body=b"")
    assert plain[:9] == (
        report.device_id,
        report.fix_time,
        report.latitude,
        report.longitude,
        report.accuracy_m,
        report.speed_mps,
        report.bearing_deg,
        report.altitude_m,
        report.battery_pct,
    )
    # The time as read, handed to the alert evaluator beside the stored fix, is the fix time in microseconds.
    assert plain[9] == (
        None
        if report.fix_time is None
        else (report.fix_time - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    )
    assert report == PositionReport(
        device_id=plain[0],
        fix_time=plain[1],
        latitude=plain[2],
        longitude=plain[3],
        accuracy_m=plain[4],
        speed_mps=plain[5],
        bearing_deg=plain[6],
        altitude_m=plain[7],
        battery_pct=plain[8],
    )


def _pairs(url: str) -> list[tuple[str, str]]:
    return [(name, value) for name, _, value in (pair.partition("=") for pair in urlsplit(url).query.split("&"))]


def test_what_the_phone_apps_send_takes_the_lean_path():
    """Tests that Traccar Client's documented query, OsmAnd's (milliseconds) and bench/ingest.py's are read there."""
    traccar = "/?id=123456789012345&timestamp=1741003200&lat=0.0&lon=0.0&speed=0.0&bearing=0.0&altitude=0.0&accuracy=0.0&batt=0.0"
    assert plain_query_fix(_pairs(traccar)) == (
        "123456789012345", datetime(2025, 3, 3, 12, 0, tzinfo=UTC), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1741003200000000
    )  # fmt: skip
    osmand = "/?id=123456&lat=43.73&lon=7.42&timestamp=1741003200123&altitude=70&speed=1.5&bearing=-90"
    assert plain_query_fix(_pairs(osmand)) == (
        "123456", datetime(2025, 3, 3, 12, 0, 0, 123000, tzinfo=UTC), 43.73, 7.42, None, 1.5 * 0.514444, 270.0, 70.0,
        None, 1741003200123000,
    )  # fmt: skip
    bench = "/osmand?id=bench-00001&lat=43.730100&lon=7.4246&timestamp=1741003200010&speed=5&accuracy=6&batt=80"
    assert plain_query_fix(_pairs(bench)) is not None
    assert plain_query_fix(_pairs(traccar + "&charge=true")) is None  # the full parser keeps `charging`


def _pipeline(engine: Engine, now: str, stored: list[Any], published: list[dict[str, Any]]) -> PositionPipeline:
    class Bus:
        def publish_many(self, channel: str, messages: list[dict[str, Any]]) -> None:
            published.extend(messages)

    return PositionPipeline(
        sessions=make_sessionmaker(engine),
        bus=Bus(),  # type: ignore[arg-type]
        clock=ManualClock(at(now)),
        limits=PositionLimits(),
        after_store=lambda fixes: stored.extend(fixes),
    )


QUERIES = [
    "lat=43.7384&lon=7.4246&timestamp=1741003200&speed=5&accuracy=6&batt=80&bearing=-90",  # 12:00, live
    "lat=43.7384&lon=7.4246&timestamp=1741003200&speed=5&accuracy=6&batt=80&bearing=-90",  # a resend: the last fix
    "lat=43.7390&lon=7.4250&timestamp=1741003140000&altitude=12.5&heading=400",  # 11:59 in ms: history, not live
    "lat=43.7390&lon=7.4250&timestamp=1741003140000",  # the same time, elsewhere: the stored row's resend
    "lat=43.7391&lon=7.4251&timestamp=1740952800",  # 22:00 the day before: off shift
    "lat=43.7391&lon=7.4251&timestamp=1725000000",  # August 2024: past retention
    "lat=43.7391&lon=7.4251&timestamp=1741007000",  # an hour ahead of the server
    "lat=43.7392&lon=7.4252&speed=0",  # no time: the server's
    "deviceid=nobody&lat=43.7392&lon=7.4252&timestamp=1741003200",  # an unknown device
]


def test_the_lean_path_stores_decides_and_publishes_as_the_full_one(db_engine):
    """Tests that each query of a phone's day (live, resent, history, off shift, out of the time window, no time,
    unknown) gets the same outcome, stored row, live message and evaluator hand-over through `ingest_plain` as
    through `parse_osmand` and `ingest` (the endpoint's path for anything else)."""
    sessions = make_sessionmaker(db_engine)
    with session_scope(sessions) as session:
        full = add_worker(session, name="Full", device_id="full", shifts=(EVERY_DAY_7_TO_19,)).id
        lean = add_worker(session, name="Lean", device_id="lean", shifts=(EVERY_DAY_7_TO_19,)).id
        record_consent(session, full, lean)
    now = "2025-03-03T12:00:05Z"
    seen: dict[str, tuple[list[Any], list[Any], list[dict[str, Any]]]] = {}
    for device in ("full", "lean"):
        outcomes: list[Any] = []
        stored: list[Position] = []
        published: list[dict[str, Any]] = []
        ingest = _pipeline(db_engine, now, stored, published)
        for query in QUERIES:
            pairs = _pairs("/?" + (query if "deviceid=" in query else f"id={device}&{query}"))
            try:
                if device == "full":
                    (report,) = check_fix_times(
                        [parse_osmand(query=pairs, form=[], content_type=None, body=b"")],
                        now=at(now),
                        limits=PositionLimits(),
                    )
                    if isinstance(report, IngestError):
                        raise report
                    outcome: Any = ingest.ingest(report)
                    outcomes.append("stored" if isinstance(outcome, Stored) else outcome)
                else:
                    plain = plain_query_fix(pairs)
                    assert plain is not None, query
                    outcome = ingest.ingest_plain(plain)
                    outcomes.append("stored" if isinstance(outcome, int) else outcome)
            except IngestError as error:
                outcomes.append((error.field, str(error)))
        seen[device] = (outcomes, stored, published)

    def rows(worker_id: int) -> list[Position]:
        with session_scope(sessions) as session:
            return positions_between(session, worker_id=worker_id, start=at("2025-03-01T00:00:00Z"), end=at(now))

    def anonymous(position: Position) -> Position:
        return dataclasses.replace(position, id=None, worker_id=0, device_id="")

    assert seen["full"][0] == seen["lean"][0]
    assert seen["lean"][0][:3] == ["stored", Rejected("duplicate of the last fix", duplicate=True), "stored"]
    assert seen["lean"][0].count("stored") == 3
    assert [anonymous(p) for p in rows(full)] == [anonymous(p) for p in rows(lean)]
    assert len(rows(lean)) == 3
    # The evaluator gets the live fixes with their stored ids; the live map the same messages.
    assert [p.id for p in seen["lean"][1]] == [p.id for p in rows(lean) if p.fix_time != at("2025-03-03T11:59:00Z")]
    assert [anonymous(p) for p in seen["full"][1]] == [anonymous(p) for p in seen["lean"][1]]
    assert [{**m, "worker_id": 0} for m in seen["full"][2]] == [{**m, "worker_id": 0} for m in seen["lean"][2]]
    assert len(seen["lean"][2]) == 2


def test_a_known_device_is_not_held_up_while_another_request_reads_the_devices_again(db_engine, monkeypatch):
    """Tests that when the device cache is due and one request is reading every device again, a fix from a known
    device is stored meanwhile from the entry being replaced (not after that read), and both are stored."""
    sessions = make_sessionmaker(db_engine)
    with session_scope(sessions) as session:
        ana = add_worker(session, name="Ana", device_id="ana", shifts=(EVERY_DAY_7_TO_19,)).id
        bob = add_worker(session, name="Bob", device_id="bob", shifts=(EVERY_DAY_7_TO_19,)).id
        record_consent(session, ana, bob)
    seconds = [0.0]
    ingest = PositionPipeline(
        sessions=sessions,
        bus=type("Bus", (), {"publish_many": lambda self, channel, messages: None})(),  # type: ignore[arg-type]
        clock=ManualClock(at("2025-03-03T12:00:05Z")),
        limits=PositionLimits(),
        monotonic=lambda: seconds[0],
    )
    plain = plain_query_fix([("id", "ana"), ("lat", "43.7"), ("lon", "7.4"), ("timestamp", "1741003000")])
    assert plain is not None and isinstance(ingest.ingest_plain(plain), int)  # the devices read once
    seconds[0] = 31.0  # past device_cache_s: the next request reads them again
    reading, release = threading.Event(), threading.Event()
    list_workers = pipeline_module.workers_repo.list_workers

    def slow_list_workers(session: Any) -> Any:
        reading.set()
        release.wait()
        return list_workers(session)

    monkeypatch.setattr(pipeline_module.workers_repo, "list_workers", slow_list_workers)
    results: dict[str, Any] = {}

    def send(device: str, timestamp: str) -> None:
        fix = plain_query_fix([("id", device), ("lat", "43.7"), ("lon", "7.4"), ("timestamp", timestamp)])
        assert fix is not None
        results[device] = ingest.ingest_plain(fix)

    reader = threading.Thread(target=send, args=("ana", "1741003100"))
    reader.start()
    try:
        wait_until(reading.is_set, 30, "the devices read again")
        meanwhile = threading.Thread(target=send, args=("ana", "1741003110"))
        # The same device: its entry is there, so it must not wait for the read under way.
        meanwhile.start()
        wait_until(lambda: not meanwhile.is_alive(), 30, "a known device's fix stored during the read")
        assert "ana" in results and isinstance(results["ana"], int) and reader.is_alive()
    finally:
        release.set()
        reader.join()
    with session_scope(sessions) as session:
        times = [p.fix_time for p in positions_between(session, worker_id=ana, start=at("2025-03-03T00:00:00Z"), end=at("2025-03-04T00:00:00Z"))]  # fmt: skip
    assert times == [at("2025-03-03T11:56:40Z"), at("2025-03-03T11:58:20Z"), at("2025-03-03T11:58:30Z")]
