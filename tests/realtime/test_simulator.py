from __future__ import annotations

import logging
import random
import threading
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from dispatch.geo import LatLon, haversine_m
from dispatch.road_path import RoadRoute
from dispatch.traffic import Traffic
from realtime.sim_main import MPS_TO_KNOTS, Outbox, osmand_params, run
from realtime.simulator import Report, Simulator, SimWorker
from routing.travel import OsrmRoads, StraightLine, TravelTimes
from tests.routing.network import (
    CRUISE_TERMINAL,
    NICE_PORT,
    PHARMACY_DES_ANGLAIS,
    POST_OFFICE_CONDAMINE,
    POUND_FONTVIEILLE,
    SITES,
    THEATRE_PRINCESSE_GRACE,
    build_monaco,
    distance_to_polyline_m,
)
from tests.support.servers import wait_until

START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
WORKERS = [
    SimWorker("sim-1", POST_OFFICE_CONDAMINE),
    SimWorker("sim-2", CRUISE_TERMINAL),
    SimWorker("sim-3", POUND_FONTVIEILLE),
]


@pytest.fixture(scope="module")
def roads(tmp_path_factory: pytest.TempPathFactory) -> OsrmRoads:
    return OsrmRoads(build_monaco(tmp_path_factory.mktemp("osrm")))


def simulate(
    seed: int,
    *,
    hours: float = 1.0,
    step_s: float = 60.0,
    travel: TravelTimes | None = None,
    workers: Sequence[SimWorker] = WORKERS,
    dwell_s: tuple[float, float] = (300, 900),
) -> list[Report]:
    sim = Simulator(workers, SITES, travel or StraightLine(), random.Random(seed), START, dwell_s=dwell_s)
    reports: list[Report] = []
    t = 0.0
    while t < hours * 3600:
        t = min(t + step_s, hours * 3600)
        reports.extend(sim.step(START + timedelta(seconds=t)))
    return reports


def by_device(reports: list[Report]) -> dict[str, list[Report]]:
    out: dict[str, list[Report]] = defaultdict(list)
    for r in reports:
        out[r.device_id].append(r)
    return out


class RecordingTravel:
    """Wraps a TravelTimes and remembers every route it handed out, in order."""

    def __init__(self, inner: TravelTimes) -> None:
        self.inner = inner
        self.routes: list[RoadRoute] = []

    def duration_s(self, a: LatLon, b: LatLon) -> float | None:
        return self.inner.duration_s(a, b)

    def table(self, points: Sequence[LatLon]) -> list[list[float | None]]:
        return self.inner.table(points)

    def route(self, a: LatLon, b: LatLon) -> RoadRoute | None:
        route = self.inner.route(a, b)
        if route is not None:
            self.routes.append(route)
        return route


class NoRoads:
    """A network on which nothing is reachable."""

    def duration_s(self, a: LatLon, b: LatLon) -> float | None:
        return None

    def table(self, points: Sequence[LatLon]) -> list[list[float | None]]:
        return [[None] * len(points) for _ in points]

    def route(self, a: LatLon, b: LatLon) -> RoadRoute | None:
        return None


def moving_runs(reports: list[Report]) -> list[list[Report]]:
    """Consecutive reports with speed > 0, one list per drive."""
    runs: list[list[Report]] = []
    current: list[Report] = []
    for r in reports:
        if r.speed_mps > 0:
            current.append(r)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


# --- the simulation ----------------------------------------------------------------------------


def test_same_seed_and_times_give_identical_reports() -> None:
    """Tests that a replay with the same seed reproduces every report, and another seed does not."""
    assert simulate(7) == simulate(7)
    assert simulate(7) != simulate(8)


def test_reports_do_not_depend_on_how_time_is_stepped() -> None:
    """Tests that stepping once per second or once per hour yields the same reports."""
    assert simulate(3, step_s=1.0) == simulate(3, step_s=3600.0)


def test_each_worker_reports_every_interval_at_its_own_offset() -> None:
    """Tests that every worker reports every 5 s of simulated time, in order, and not all at the same instants."""
    reports = simulate(1, hours=1.0)
    devices = by_device(reports)
    assert set(devices) == {"sim-1", "sim-2", "sim-3"}
    for device_reports in devices.values():
        assert 719 <= len(device_reports) <= 720
        gaps = {
            (b.fix_time - a.fix_time).total_seconds() for a, b in zip(device_reports, device_reports[1:], strict=False)
        }
        assert gaps == {5.0}
        assert START <= device_reports[0].fix_time < START + timedelta(seconds=5)
    assert len({d[0].fix_time for d in devices.values()}) == 3
    assert [r.fix_time for r in reports] == sorted(r.fix_time for r in reports)


def test_step_yields_nothing_twice_and_nothing_for_the_past() -> None:
    """Tests that a report is handed out once: repeating or going back in time yields no reports."""
    sim = Simulator(WORKERS, SITES, StraightLine(), random.Random(0), START)
    assert len(sim.step(START + timedelta(minutes=1))) > 0
    assert sim.step(START + timedelta(minutes=1)) == []
    assert sim.step(START) == []


def test_reported_values_are_plausible() -> None:
    """Tests that speeds stay under 40 m/s, accuracy within 3–15 m, and the battery only drains, from 60–100 %."""
    reports = simulate(2, hours=4.0, step_s=600.0)
    assert all(0.0 <= r.speed_mps < 40.0 for r in reports)
    assert all(3.0 <= r.accuracy_m <= 15.0 for r in reports)
    assert any(r.speed_mps > 0 for r in reports)
    for device_reports in by_device(reports).values():
        battery = [r.battery_pct for r in device_reports]
        assert 60.0 <= battery[0] <= 100.0
        assert all(b <= a for a, b in zip(battery, battery[1:], strict=False))
        assert battery[-1] < battery[0]


def test_the_demo_sends_one_sos_and_runs_one_battery_low() -> None:
    """Tests that the configured phone sends alarm=sos exactly once, two minutes in, and the low-battery phone
    starts at 17 % and drops below the 15 % alert within the first hour (the demo's alerts)."""
    sos_device, low_device = WORKERS[1].device_id, WORKERS[0].device_id
    sim = Simulator(
        WORKERS, SITES, StraightLine(), random.Random(0), START, sos=(sos_device, 120.0), low_battery_device=low_device
    )
    reports = [r for t in range(0, 3600, 60) for r in sim.step(START + timedelta(seconds=t))]
    alarms = [r for r in reports if r.alarm]
    assert [(r.device_id, r.alarm) for r in alarms] == [(sos_device, "sos")]
    assert alarms[0].fix_time >= START + timedelta(seconds=120)
    assert osmand_params(alarms[0])["alarm"] == "sos"
    assert "alarm" not in osmand_params(reports[0])
    low = [r.battery_pct for r in reports if r.device_id == low_device]
    assert low[0] == pytest.approx(17.0, abs=0.5) and low[-1] < 15.0


def test_workers_do_not_start_in_lockstep() -> None:
    """Tests that workers set off from home at different times."""
    first_move = {
        device: next(r.fix_time for r in rs if r.speed_mps > 0)
        for device, rs in by_device(simulate(5, hours=2)).items()
    }
    assert len(first_move) == 3
    assert len(set(first_move.values())) == 3


def test_workers_drive_along_the_road_route(roads: OsrmRoads) -> None:
    """Tests that a driving worker stays within 30 m of the road route it was given, which is not the straight line."""
    travel = RecordingTravel(roads)
    reports = simulate(11, hours=3.0, travel=travel, workers=[SimWorker("sim-1", THEATRE_PRINCESSE_GRACE)])
    runs = moving_runs(reports)
    assert len(runs) >= 3
    assert len(travel.routes) >= len(runs)
    off_straight_line_m = 0.0
    for run_reports, route in zip(runs, travel.routes, strict=False):
        assert len(route.points) > 5
        for r in run_reports:
            assert distance_to_polyline_m(LatLon(r.latitude, r.longitude), route.points) < 30.0
            off_straight_line_m = max(
                off_straight_line_m, distance_to_polyline_m(LatLon(r.latitude, r.longitude), (route.start, route.end))
            )
        assert haversine_m(LatLon(run_reports[0].latitude, run_reports[0].longitude), route.start) < 5 * 40.0
    assert off_straight_line_m > 100.0


def test_dwelling_on_site_reports_zero_speed_close_to_the_site(roads: OsrmRoads) -> None:
    """Tests that between drives a worker reports speed 0 for the whole dwell, within a few metres of the address."""
    travel = RecordingTravel(roads)
    reports = simulate(
        4, hours=2.0, travel=travel, workers=[SimWorker("sim-1", PHARMACY_DES_ANGLAIS)], dwell_s=(300, 300)
    )
    stationary: list[list[Report]] = []
    current: list[Report] = []
    for r in reports:
        if r.speed_mps == 0.0:
            current.append(r)
        elif current:
            stationary.append(current)
            current = []
    dwells = stationary[1:]  # the first one is the wait at home
    assert len(dwells) >= 2
    for dwell, route in zip(dwells, travel.routes, strict=False):
        assert 59 <= len(dwell) <= 61  # 300 s of 5 s reports
        site = min(SITES, key=lambda s: haversine_m(s, route.end))  # where that drive was going
        assert haversine_m(site, route.end) < 30.0
        for r in dwell:
            assert haversine_m(LatLon(r.latitude, r.longitude), site) < 15.0
        assert len({(r.latitude, r.longitude) for r in dwell}) > 1  # GPS scatter, not a frozen point


def test_without_a_road_route_workers_drive_straight_at_8_mps() -> None:
    """Tests that when the network has no route the worker still goes there, in a straight line at 8 m/s."""
    reports = simulate(9, hours=2.0, travel=NoRoads())
    moving = [r for r in reports if r.speed_mps > 0]
    assert moving
    assert {r.speed_mps for r in moving} == {8.0}


RUSH_AT_8 = Traffic(tuple(1.5 if h == 8 else 1.0 for h in range(24)))  # UTC hours: START is 08:00 UTC


def test_in_a_rush_hour_a_drive_takes_its_slowdown_times_longer_along_the_same_way() -> None:
    """Tests that a worker sent at 08:10, whose hour is 1.5 times slower, drives the straight line at 8 / 1.5 m/s
    and arrives after 1.5 times its time (not before 1.45 times), on the same line; and that a drive set off at
    10:00 goes at 8 m/s again."""
    sim = Simulator([WORKERS[0]], SITES, NoRoads(), random.Random(1), START, dwell_s=(60, 60), traffic=RUSH_AT_8)
    sent_at = START + timedelta(minutes=10)
    sim.step(sent_at)
    sim.go_to("sim-1", NICE_PORT, sent_at)
    here = sim.step(sent_at + timedelta(seconds=5))[0]
    origin = LatLon(here.latitude, here.longitude)
    road_s = haversine_m(origin, NICE_PORT) / 8.0
    drive = sim.step(sent_at + timedelta(seconds=road_s * 1.6))
    moving = [r for r in drive if r.speed_mps > 0]
    assert {r.speed_mps for r in moving} == {round(8.0 / 1.5, 2)}
    arrived = next(r.fix_time for r in drive if r.speed_mps == 0)
    assert road_s * 1.45 <= (arrived - sent_at).total_seconds() <= road_s * 1.5 + 10
    assert all(
        haversine_m(LatLon(r.latitude, r.longitude), origin) + haversine_m(LatLon(r.latitude, r.longitude), NICE_PORT)
        <= haversine_m(origin, NICE_PORT) + 15
        for r in moving
    )  # on the way, not beside it
    later = START + timedelta(hours=2)
    sim.step(later)
    sim.go_to("sim-1", POUND_FONTVIEILLE, later)
    assert {r.speed_mps for r in sim.step(later + timedelta(seconds=60)) if r.speed_mps > 0} == {8.0}


def test_traffic_needs_one_slowdown_per_hour_within_reason() -> None:
    """Tests that a traffic profile of 23 hours, or with a slowdown of 0 or 10, is refused naming what is wrong."""
    with pytest.raises(ValueError, match="24 values"):
        Traffic((1.0,) * 23)
    for bad in (0.0, 10.0, float("nan")):
        with pytest.raises(ValueError, match="from 0.2 to 5"):
            Traffic((1.0,) * 23 + (bad,))


def test_a_worker_sent_somewhere_turns_there_mid_drive_and_stays_until_let_go() -> None:
    """Tests that `go_to` sends a driving worker from where they are to the given place, where they stand (speed 0,
    within a few metres) far beyond any random dwell, and that `wander` sends them off again."""
    sim = Simulator([WORKERS[0]], SITES, StraightLine(), random.Random(1), START, dwell_s=(60, 60))
    reports = []
    now = START
    while not any(r.speed_mps > 0 for r in reports):
        now += timedelta(seconds=5)
        reports = sim.step(now)
    target = NICE_PORT
    sim.go_to("sim-1", target, now)
    driving = sim.step(now + timedelta(seconds=5))
    here = LatLon(reports[-1].latitude, reports[-1].longitude)
    assert haversine_m(LatLon(driving[0].latitude, driving[0].longitude), here) <= 8.0 * 5 + 1
    arrival_s = StraightLine().duration_s(here, target) + 10
    staying = sim.step(now + timedelta(seconds=arrival_s + 3 * 3600))
    staying = [r for r in staying if r.fix_time > now + timedelta(seconds=arrival_s)]
    assert len(staying) > 2000
    assert all(r.speed_mps == 0 and haversine_m(LatLon(r.latitude, r.longitude), target) < 15 for r in staying)
    later = staying[-1].fix_time
    sim.wander("sim-1", later)
    assert any(r.speed_mps > 0 for r in sim.step(later + timedelta(minutes=10)))


def test_go_to_refuses_an_unknown_device() -> None:
    """Tests that steering a device the simulator does not drive is refused, naming the field."""
    sim = Simulator(WORKERS, SITES, StraightLine(), random.Random(0), START)
    with pytest.raises(ValueError, match="device_id"):
        sim.go_to("nobody", SITES[0], START)


def test_simulator_refuses_an_empty_list_of_destinations() -> None:
    """Tests that a simulator without destinations is refused with a message naming the field."""
    with pytest.raises(ValueError, match="destinations"):
        Simulator(WORKERS, [], StraightLine(), random.Random(0), START)


# --- the sending loop --------------------------------------------------------------------------


TICK_S = 30
"""Simulated seconds the loop's clock moves each time it is read."""


class SteppingClock:
    """Simulated time that moves TICK_S every time it is read."""

    def __init__(self) -> None:
        self.reads = 0

    def now(self) -> datetime:
        self.reads += 1
        return START + timedelta(seconds=TICK_S * (self.reads - 1))


class RecordingServer(HTTPServer):
    """Remembers every request as (method, path, query parameters) and answers 200."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Recorder, bind_and_activate=False)
        self.received: list[tuple[str, str, dict[str, str]]] = []
        self.serving = False
        self.server_bind()  # the port is taken, but connections are refused until start()

    def start(self) -> None:
        self.server_activate()
        self.serving = True
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class Recorder(BaseHTTPRequestHandler):
    server: RecordingServer

    def do_POST(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.server.received.append(("POST", parts.path, query))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def expected_reports(seed: int, reads: int) -> list[Report]:
    """What the loop's simulator produced after `reads` clock reads (first read = start)."""
    sim = Simulator(WORKERS, SITES, StraightLine(), random.Random(seed), START)
    out: list[Report] = []
    for k in range(1, reads):
        out.extend(sim.step(START + timedelta(seconds=TICK_S * k)))
    return out


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    """A recording HTTP server on a free port, not accepting connections until `start()`."""
    httpd = RecordingServer()
    yield httpd
    if httpd.serving:
        httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def stop() -> Iterator[threading.Event]:
    """Stops the send loop at the end of the test, even a failed one."""
    event = threading.Event()
    yield event
    event.set()


def wait_for(condition: Any, timeout_s: float = 10.0) -> None:
    wait_until(condition, timeout_s, "the condition", poll_s=0.01)


def start_loop(
    httpd: RecordingServer, clock: SteppingClock, stop: threading.Event, seed: int, **options: Any
) -> threading.Thread:
    thread = threading.Thread(
        target=run,
        kwargs=dict(
            base_url=httpd.url,
            workers=WORKERS,
            destinations=SITES,
            travel=StraightLine(),
            clock=clock,
            seed=seed,
            tick_s=0.01,
            stop=stop,
            session=requests.Session(),
            **options,
        ),
        daemon=True,
    )
    thread.start()
    return thread


def test_run_posts_osmand_requests_with_the_reports(server: RecordingServer, stop: threading.Event) -> None:
    """Tests that each report arrives as POST /osmand with id, unix timestamp, lat, lon, speed in knots, bearing, accuracy and batt."""
    server.start()
    clock = SteppingClock()
    thread = start_loop(server, clock, stop, seed=21)
    received = server.received
    wait_for(lambda: any(float(q["speed"]) > 0 for _, _, q in list(received)))
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()

    expected = {tuple(sorted(osmand_params(r).items())) for r in expected_reports(21, clock.reads)}
    assert all(method == "POST" and path == "/osmand" for method, path, _ in received)
    assert all(
        set(q) == {"id", "timestamp", "lat", "lon", "speed", "bearing", "accuracy", "batt"} for _, _, q in received
    )
    assert {tuple(sorted(q.items())) for _, _, q in received} <= expected
    first = received[0][2]
    assert int(first["timestamp"]) >= int(START.timestamp())
    moving = [q for _, _, q in received if float(q["speed"]) > 0]
    assert moving, "some reports should be from a moving worker"
    # StraightLine drives at 8 m/s, which is 15.55 knots on the wire.
    assert {q["speed"] for q in moving} == {f"{8.0 * MPS_TO_KNOTS:.2f}"}


def test_a_phone_off_duty_sends_nothing(server: RecordingServer, stop: threading.Event) -> None:
    """Tests that with `on_duty`, the simulator sends only the reports of phones on duty at their fix time (a
    worker off shift keeps their phone silent), and still every report of those."""
    server.start()
    thread = start_loop(server, SteppingClock(), stop, seed=21, on_duty=lambda device, _at: device != "sim-2")
    wait_for(lambda: {q["id"] for _, _, q in list(server.received)} >= {"sim-1", "sim-3"})
    stop.set()
    thread.join(timeout=5)
    assert {q["id"] for _, _, q in server.received} == {"sim-1", "sim-3"}


def test_run_keeps_reports_while_the_server_is_down_and_delivers_them_later(
    server: RecordingServer, stop: threading.Event, caplog: pytest.LogCaptureFixture
) -> None:
    """Tests that reports made while the server refuses connections are all delivered, oldest first, once it is up,
    and that no coordinates appear in the log."""
    caplog.set_level(logging.DEBUG)
    clock = SteppingClock()
    thread = start_loop(server, clock, stop, seed=5)
    wait_for(lambda: clock.reads >= 10)  # 270 s of simulated time while nothing listens
    down_reports = expected_reports(5, 10)
    assert down_reports
    server.start()
    received = server.received
    wait_for(lambda: len(received) >= len(down_reports))
    stop.set()
    thread.join(timeout=5)

    got = [q for _, _, q in received]
    for device in ("sim-1", "sim-2", "sim-3"):
        want = [osmand_params(r) for r in down_reports if r.device_id == device]
        delivered = [q for q in got if q["id"] == device]
        assert delivered[: len(want)] == want
    log_text = caplog.text
    assert "connection" in log_text.lower() or "not reachable" in log_text
    for r in down_reports:
        assert f"{r.latitude:.6f}" not in log_text and f"{r.longitude:.6f}" not in log_text


def _report(device: str, k: int) -> Report:
    return Report(device, START + timedelta(seconds=k), 43.73, 7.42, 0.0, 0.0, 5.0, 90.0)


def test_outbox_keeps_the_newest_500_reports_per_worker() -> None:
    """Tests that beyond 500 waiting reports of one worker the oldest are dropped and counted."""
    outbox = Outbox()
    outbox.add([_report("a", k) for k in range(600)] + [_report("b", 0)])
    assert len(outbox.queues["a"]) == 500
    assert outbox.queues["a"][0].fix_time == START + timedelta(seconds=100)
    assert outbox.dropped == 100
    assert len(outbox) == 501


class _Answer:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


class _ScriptedSession:
    """Answers POSTs with the given status codes in turn."""

    def __init__(self, codes: list[int]) -> None:
        self.codes = codes
        self.posted: list[dict[str, str]] = []

    def post(self, url: str, *, params: dict[str, str], timeout: float) -> _Answer:
        self.posted.append(params)
        return _Answer(self.codes.pop(0))


def test_outbox_retries_after_a_server_error_but_drops_a_refused_report() -> None:
    """Tests that a 5xx answer keeps the report for the next tick while a 4xx answer drops it."""
    outbox = Outbox()
    outbox.add([_report("a", 0), _report("a", 1)])
    session = _ScriptedSession([503])
    assert outbox.send(session, "http://x/osmand") == 0  # type: ignore[arg-type]
    assert len(outbox) == 2
    session.codes = [400, 200]
    assert outbox.send(session, "http://x/osmand") == 1  # type: ignore[arg-type]
    assert len(outbox) == 0
    assert [p["timestamp"] for p in session.posted] == [str(int(START.timestamp()))] * 2 + [
        str(int(START.timestamp()) + 1)
    ]


def test_osmand_speed_is_in_knots_and_timestamp_in_unix_seconds() -> None:
    """Tests the unit conversion on the wire: 10 m/s is 19.44 knots, the fix time whole unix seconds."""
    r = Report("dev", datetime(2025, 3, 3, 8, 0, 0, 700_000, tzinfo=UTC), 43.7, 7.4, 10.0, 90.0, 4.5, 77.0)
    params = osmand_params(r)
    assert params["speed"] == "19.44"
    assert params["timestamp"] == str(int(datetime(2025, 3, 3, 8, 0, tzinfo=UTC).timestamp()))
    assert params["lat"] == "43.700000" and params["lon"] == "7.400000"
    assert params["batt"] == "77.0" and params["accuracy"] == "4.5" and params["bearing"] == "90.0"
