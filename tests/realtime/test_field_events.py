"""Geofence events and alerts from stored fixes, and the periodic kinds, on a real database (realtime/field_events.py)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from data import alerts_repo, orders_repo, plans_repo, positions_repo, sites_repo, users_repo
from data.db import make_sessionmaker, session_scope
from data.positions_repo import add_position
from data.tables import FenceCrossingRow
from data.workers_repo import add_worker, update_worker
from dispatch.access import Role
from dispatch.alerts import AlertKind, AlertStatus
from dispatch.clock import ManualClock
from dispatch.geo import LatLon
from dispatch.lifecycle import Transitioned, transition
from dispatch.orders import OrderStatus, OrderType, TimeWindow
from dispatch.positions import Position, StoredFixes
from realtime.bus import ALERTS
from realtime.field_events import FieldEvents
from tests.factories import EVERY_DAY_7_TO_19, at, make_position
from tests.support.servers import wait_until

NOW = at("2025-03-03T09:00:00Z")
CASINO = LatLon(43.7394, 7.4276)
FAR = LatLon(43.7310, 7.4180)


class RecordingBus:
    """Stands in for the Redis bus: keeps what was published."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def publish(self, channel: str, message: dict[str, Any]) -> None:
        self.sent.append((channel, message))

    def publish_many(self, channel: str, messages: list[dict[str, Any]]) -> None:
        self.sent.extend((channel, m) for m in messages)


@pytest.fixture
def sessions(db_engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(db_engine)


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> dict[str, int]:
    with session_scope(sessions) as session:
        worker = add_worker(session, name="Ana", device_id="dev-1", shifts=(EVERY_DAY_7_TO_19,))
        site = sites_repo.add_site(session, name="Casino", location=CASINO, geofence_radius_m=60)
        order = orders_repo.add_order(
            session, site_id=site.id, type=OrderType.REPAIR, priority=3,
            window=TimeWindow(NOW - timedelta(hours=1), NOW + timedelta(minutes=30)), service_duration_s=1800,
        )  # fmt: skip
        moved = transition(order, OrderStatus.ASSIGNED, actor=None, at=NOW - timedelta(hours=1), worker_id=worker.id)
        assert isinstance(moved, Transitioned)
        orders_repo.save_change(session, moved.change)
    return {"worker": worker.id, "site": site.id, "order": order.id}


def events_of(sessions: sessionmaker[Session], world: dict[str, int], clock: ManualClock | None = None) -> FieldEvents:
    return FieldEvents(sessions=sessions, bus=RecordingBus(), clock=clock or ManualClock(NOW))  # type: ignore[arg-type]


def stored(
    sessions: sessionmaker[Session], world: dict[str, int], when: datetime, where: LatLon, **kw: Any
) -> Position:
    with session_scope(sessions) as session:
        return add_position(
            session,
            make_position(
                when.isoformat(),
                lat=where.lat,
                lon=where.lon,
                worker_id=world["worker"],
                server_time=when.isoformat(),
                **kw,
            ),
        )


def fence_rows(sessions: sessionmaker[Session]) -> list[tuple[str, datetime]]:
    with session_scope(sessions) as session:
        return [
            (f"geofence_{r.type}", r.at)  # the stored type is the API's word
            for r in session.scalars(select(FenceCrossingRow).order_by(FenceCrossingRow.at, FenceCrossingRow.type))
        ]


def test_a_restarted_process_knows_the_worker_is_inside_and_makes_no_second_enter(sessions, world):
    """Tests that after a restart (a new evaluator), more fixes inside make no second enter event, and leaving
    makes the exit: where a worker stands survives restarts."""
    first = events_of(sessions, world)
    t0 = NOW - timedelta(minutes=10)
    first.evaluate([stored(sessions, world, t0 + timedelta(seconds=s), CASINO) for s in (0, 30, 70)])
    assert fence_rows(sessions) == [("geofence_enter", t0)]
    restarted = events_of(sessions, world)
    restarted.evaluate([stored(sessions, world, t0 + timedelta(seconds=s), CASINO) for s in (100, 130, 170)])
    assert fence_rows(sessions) == [("geofence_enter", t0)]
    restarted.evaluate([stored(sessions, world, t0 + timedelta(seconds=s), FAR) for s in (200, 230, 270)])
    assert fence_rows(sessions) == [("geofence_enter", t0), ("geofence_exit", t0 + timedelta(seconds=200))]


def test_workers_reloaded_after_a_restart_beside_others_cross_once_each_in_windows_of_many_fixes(sessions, world):
    """Tests that after a restart, workers the new evaluator reloads as inside a site (their stored entries) make no
    second enter, and each makes one exit when they leave, while a worker met for the first time in the same
    windows enters; windows of several workers' fixes, decided over arrays (not one by one)."""
    with session_scope(sessions) as session:
        bo = add_worker(session, name="Bo", device_id="dev-2", shifts=(EVERY_DAY_7_TO_19,)).id
        cy = add_worker(session, name="Cy", device_id="dev-3", shifts=(EVERY_DAY_7_TO_19,)).id
    ana, t0 = world["worker"], NOW - timedelta(minutes=10)

    def fixes(worker: int, where: LatLon, seconds: tuple[int, ...]) -> list[Position]:
        return [stored(sessions, {"worker": worker}, t0 + timedelta(seconds=s), where) for s in seconds]

    def crossings() -> list[tuple[str, int, datetime]]:
        with session_scope(sessions) as session:
            rows = session.scalars(select(FenceCrossingRow).order_by(FenceCrossingRow.at, FenceCrossingRow.worker_id))
            return [(r.type, r.worker_id, r.at) for r in rows]

    first = events_of(sessions, world)
    first.evaluate(fixes(ana, CASINO, (0, 30, 70)) + fixes(bo, CASINO, (5, 35, 75)))
    entered = [("enter", ana, t0), ("enter", bo, t0 + timedelta(seconds=5))]
    assert crossings() == entered
    restarted = events_of(sessions, world)
    restarted.evaluate(fixes(ana, CASINO, (100, 130)) + fixes(bo, FAR, (100, 130, 170)) + fixes(cy, CASINO, (100, 170)))
    moved = [("exit", bo, t0 + timedelta(seconds=100)), ("enter", cy, t0 + timedelta(seconds=100))]
    assert crossings() == entered + moved
    restarted.evaluate(fixes(ana, FAR, (200, 230, 270)) + fixes(bo, FAR, (200, 230)) + fixes(cy, CASINO, (200, 230)))
    assert crossings() == [*entered, *moved, ("exit", ana, t0 + timedelta(seconds=200))]


def test_two_processes_seeing_alternate_fixes_store_one_arrival_and_one_departure(sessions, world):
    """Tests that when a phone's fixes alternate between two web processes, each of which completes the dwell on
    its own fixes, the worker's events are still one enter and one exit, and the order arrives once."""
    one, two = events_of(sessions, world), events_of(sessions, world)
    t0 = NOW - timedelta(minutes=10)
    for n, s in enumerate((0, 20, 40, 60, 80, 100)):
        (one if n % 2 == 0 else two).evaluate([stored(sessions, world, t0 + timedelta(seconds=s), CASINO)])
    for n, s in enumerate((200, 220, 240, 260, 280, 300)):
        (one if n % 2 == 0 else two).evaluate([stored(sessions, world, t0 + timedelta(seconds=s), FAR)])
    assert [kind for kind, _ in fence_rows(sessions)] == ["geofence_enter", "geofence_exit"]
    with session_scope(sessions) as session:
        history = orders_repo.order_history(session, order_id=world["order"])
    assert [h.source for h in history if h.to_status is OrderStatus.ON_SITE] == ["geofence"]


def test_one_window_moves_only_the_orders_at_the_sites_their_workers_crossed(sessions, world):
    """Tests that in one window, the worker's crossings of a site where they have no order move nothing, their
    arrival at their order's site makes it on site and leaving it raises left-site, and another worker's order,
    assigned by another process after the evaluator started, arrives with them at its own site (not with the first
    worker's crossing of it): the evaluator keeps no orders between windows."""
    quay_at = LatLon(43.7350, 7.4230)
    events = events_of(sessions, world)
    t0 = NOW - timedelta(minutes=20)
    events.evaluate([stored(sessions, world, t0 - timedelta(seconds=60), FAR)])
    with session_scope(sessions) as session:  # another process, after the evaluator's first window
        bo = add_worker(session, name="Bo", device_id="dev-2", shifts=(EVERY_DAY_7_TO_19,)).id
        quay = sites_repo.add_site(session, name="Quay", location=quay_at, geofence_radius_m=60).id
        order = orders_repo.add_order(
            session, site_id=quay, type=OrderType.REPAIR, priority=3,
            window=TimeWindow(NOW - timedelta(hours=1), NOW + timedelta(minutes=30)), service_duration_s=1800,
        )  # fmt: skip
        moved = transition(order, OrderStatus.ASSIGNED, actor=None, at=t0, worker_id=bo)
        assert isinstance(moved, Transitioned)
        orders_repo.save_change(session, moved.change)
    events._cache.index_fresh_until = float("-inf")  # the new site is read at once, not 60 s later
    ana = world["worker"]
    track = [(quay_at, (0, 30, 70)), (CASINO, (200, 230, 270)), (FAR, (400, 430, 470))]
    window = [stored(sessions, world, t0 + timedelta(seconds=s), where) for where, times in track for s in times]
    with session_scope(sessions) as session:
        window += [
            add_position(session, make_position((t0 + timedelta(seconds=s)).isoformat(), lat=quay_at.lat,
                                                lon=quay_at.lon, worker_id=bo, device_id="dev-2"))
            for s in (10, 40, 80)
        ]  # fmt: skip
    events.evaluate(window)
    with session_scope(sessions) as session:
        ana_order = orders_repo.get_order(session, world["order"])
        bo_order = orders_repo.get_order(session, order.id)
        ana_arrival = [
            h for h in orders_repo.order_history(session, order_id=world["order"]) if h.to_status is OrderStatus.ON_SITE
        ]
        found = alerts_repo.list_alerts(session)
    assert ana_order is not None and ana_order.status is OrderStatus.ON_SITE
    assert [(h.source, h.at) for h in ana_arrival] == [("geofence", t0 + timedelta(seconds=200))]
    assert bo_order is not None and bo_order.status is OrderStatus.ON_SITE and bo_order.assigned_worker_id == bo
    assert [(a.kind, a.worker_id, a.order_id, a.raised_at) for a in found] == [
        (AlertKind.LEFT_SITE_WITHOUT_CHECK_OUT, ana, world["order"], t0 + timedelta(seconds=400))
    ]


def test_two_processes_raising_the_same_alert_store_one(sessions, world):
    """Tests that two web processes seeing an SOS each (separate caches) leave exactly one open sos alert."""
    sos = MappingProxyType({"alarm": "sos"})
    one, two = events_of(sessions, world), events_of(sessions, world)
    one.evaluate([stored(sessions, world, NOW - timedelta(minutes=5), FAR, attributes=sos)])
    two.evaluate([stored(sessions, world, NOW - timedelta(minutes=4), FAR, attributes=sos)])
    with session_scope(sessions) as session:
        found = alerts_repo.list_alerts(session, worker_id=world["worker"])
    assert [(a.kind, a.status) for a in found] == [(AlertKind.SOS, AlertStatus.OPEN)]


def test_an_sos_pressed_again_right_after_the_first_was_acknowledged_is_raised(sessions, world):
    """Tests that when a dispatcher acknowledges an SOS and the worker presses SOS again a second later, before the
    process re-reads which alerts are open (here: never), a new open SOS alert is stored and pushed; a repeat while
    it is open stores none."""
    sos = MappingProxyType({"alarm": "sos"})
    evaluator = FieldEvents(sessions=sessions, bus=(bus := RecordingBus()), clock=ManualClock(NOW), keys_refresh_s=1e9)  # type: ignore[arg-type]
    evaluator.evaluate([stored(sessions, world, NOW - timedelta(minutes=5), FAR, attributes=sos)])
    with session_scope(sessions) as session:
        (first,) = alerts_repo.list_alerts(session, worker_id=world["worker"])
        desk, _ = users_repo.create_user(session, name="desk", role=Role.DISPATCHER, password="desk-password")
        alerts_repo.acknowledge(session, first.id, user_id=desk.id, note="called back", at=NOW - timedelta(minutes=4))
    evaluator.evaluate(
        [stored(sessions, world, NOW - timedelta(minutes=4) + timedelta(seconds=1), FAR, attributes=sos)]
    )
    evaluator.evaluate([stored(sessions, world, NOW - timedelta(minutes=3), FAR, attributes=sos)])
    with session_scope(sessions) as session:
        found = alerts_repo.list_alerts(session, worker_id=world["worker"])
    assert [(a.kind, a.status) for a in found] == [
        (AlertKind.SOS, AlertStatus.OPEN),
        (AlertKind.SOS, AlertStatus.ACKNOWLEDGED),
    ]
    assert [m["kind"] for c, m in bus.sent if c == ALERTS] == ["sos", "sos"]


def test_offline_is_raised_once_by_the_periodic_run_and_cleared_by_the_next_fix(sessions, world):
    """Tests that 11 minutes of silence on shift raise one offline alert (pushed live), a second run raises no
    other, and the next fix clears it."""
    clock = ManualClock(NOW)
    evaluator = FieldEvents(sessions=sessions, bus=(bus := RecordingBus()), clock=clock, keys_refresh_s=0)  # type: ignore[arg-type]
    evaluator.evaluate([stored(sessions, world, NOW - timedelta(minutes=1), FAR)])
    clock.advance(11 * 60)
    raised = evaluator.evaluate_periodic()
    assert [(a.kind, a.reason) for a in raised] == [
        (AlertKind.OFFLINE, "no fix for 12 min on shift (alert after 10 min)")
    ]
    assert [m["kind"] for c, m in bus.sent if c == ALERTS] == ["offline"]
    assert evaluator.evaluate_periodic() == []
    evaluator.evaluate([stored(sessions, world, clock.now(), FAR)])
    with session_scope(sessions) as session:
        (alert,) = alerts_repo.list_alerts(session, worker_id=world["worker"])
    assert (alert.kind, alert.status) == (AlertKind.OFFLINE, AlertStatus.CLEARED)


def test_late_risk_names_the_next_order_when_its_window_cannot_be_reached(sessions, world):
    """Tests that a worker an hour's travel from a site whose window closes in 30 min gets late_risk for that order."""
    evaluator = FieldEvents(
        sessions=sessions,
        bus=RecordingBus(),
        clock=ManualClock(NOW),
        travel=lambda a, b: 3600.0,  # type: ignore[arg-type]
    )
    evaluator.evaluate([stored(sessions, world, NOW - timedelta(seconds=30), FAR)])
    raised = evaluator.evaluate_periodic()
    assert [(a.kind, a.order_id) for a in raised] == [(AlertKind.LATE_RISK, world["order"])]


def test_a_long_stop_away_from_sites_is_raised_and_not_at_a_site(sessions, world):
    """Tests that 21 minutes still in the street raise long_stop, while 21 minutes at the casino do not."""
    evaluator = events_of(sessions, world)
    for minute in range(22):
        stored(sessions, world, NOW - timedelta(minutes=21 - minute), FAR)
    assert [a.kind for a in evaluator.evaluate_periodic()] == [AlertKind.LONG_STOP]


def test_a_long_stop_at_a_site_raises_nothing(sessions, world):
    """Tests that 21 minutes at the casino (a site) raise no long_stop alert."""
    evaluator = events_of(sessions, world)
    for minute in range(22):
        stored(sessions, world, NOW - timedelta(minutes=21 - minute), CASINO)
    assert evaluator.evaluate_periodic() == []


def test_a_phone_silent_since_yesterday_is_not_offline_as_the_shift_begins(sessions, world):
    """Tests that Ana (07:00-19:00), last heard of at 18:30 yesterday, raises no offline alert at 07:05, and raises
    one at 07:11 naming 11 minutes of silence on shift."""
    stored(sessions, world, at("2025-03-02T18:30:00Z"), FAR)
    assert events_of(sessions, world, ManualClock(at("2025-03-03T07:05:00Z"))).evaluate_periodic() == []
    raised = events_of(sessions, world, ManualClock(at("2025-03-03T07:11:00Z"))).evaluate_periodic()
    assert [(a.kind, a.reason) for a in raised] == [
        (AlertKind.OFFLINE, "no fix for 11 min on shift (alert after 10 min)")
    ]


def test_a_long_stop_at_the_home_base_raises_nothing(sessions, world):
    """Tests that 21 minutes still at Ana's home base (waiting for her first visit) raise no long_stop alert."""
    with session_scope(sessions) as session:
        update_worker(
            session, worker_id=world["worker"], name="Ana", device_id="dev-1", skills=(),
            shifts=(EVERY_DAY_7_TO_19,), home_base=FAR, team="",
        )  # fmt: skip
    evaluator = events_of(sessions, world)
    for minute in range(22):
        stored(sessions, world, NOW - timedelta(minutes=21 - minute), FAR)
    assert evaluator.evaluate_periodic() == []


def test_a_lunch_break_in_the_street_is_no_long_stop_until_it_outlasts_the_break(sessions, world):
    """Tests that Ana (07:00-19:00: her break may start from 11:00 to 15:00) still in the street for 21 minutes at
    11:30 raises no long_stop, and once still for 51 minutes does, naming the break allowed."""
    start = at("2025-03-03T11:09:00Z")
    for minute in range(22):
        stored(sessions, world, start + timedelta(minutes=minute), FAR)
    assert events_of(sessions, world, ManualClock(start + timedelta(minutes=21))).evaluate_periodic() == []
    for minute in range(22, 52):
        stored(sessions, world, start + timedelta(minutes=minute), FAR)
    raised = events_of(sessions, world, ManualClock(start + timedelta(minutes=51))).evaluate_periodic()
    assert [(a.kind, a.reason) for a in raised] == [
        (
            AlertKind.LONG_STOP,
            "stopped away from any site or home for over 50 min (in the break window: 30 min of break allowed)",
        )
    ]


def test_after_her_lunch_break_a_second_stop_in_the_break_window_is_a_long_stop_at_20_minutes(sessions, world):
    """Tests that Ana, who stood in the street from 11:09 to 11:34 (her break, no alert) and drove on, raises long_stop
    once still somewhere else for 21 minutes at 12:21, still in her break window, as at any other hour: the
    window's allowance covers one break. The same stop with no break before it would be allowed to 12:50."""
    start = at("2025-03-03T11:09:00Z")
    for minute in range(26):
        stored(sessions, world, start + timedelta(minutes=minute), FAR)
    assert events_of(sessions, world, ManualClock(start + timedelta(minutes=25))).evaluate_periodic() == []
    elsewhere = LatLon(43.7360, 7.4200)
    for minute in range(26, 30):  # driving north
        stored(sessions, world, start + timedelta(minutes=minute), LatLon(FAR.lat + 0.0012 * (minute - 25), FAR.lon))
    for minute in range(30, 52):
        stored(sessions, world, start + timedelta(minutes=minute), elsewhere)
    raised = events_of(sessions, world, ManualClock(start + timedelta(minutes=51))).evaluate_periodic()
    assert [(a.kind, a.reason) for a in raised] == [
        (AlertKind.LONG_STOP, "stopped away from any site or home for over 20 min")
    ]


def test_a_worker_on_her_break_has_her_fixes_since_the_window_read_every_five_minutes_not_every_round(
    sessions, world, monkeypatch
):
    """Tests that while Ana stands in the street on her first break (11:09 on), rounds every minute from 11:30 to
    11:41 read her fixes since her window opened (11:00) three times (11:30, 11:35, 11:40), not twelve, and raise
    nothing."""
    start, opened = at("2025-03-03T11:09:00Z"), at("2025-03-03T11:00:00Z")
    for minute in range(33):
        stored(sessions, world, start + timedelta(minutes=minute), FAR)
    reads: list[datetime] = []
    read = positions_repo.positions_between

    def counted(session: Session, *, worker_id: int, start: datetime, end: datetime) -> list[Position]:
        if start == opened:
            reads.append(end)
        return read(session, worker_id=worker_id, start=start, end=end)

    monkeypatch.setattr(positions_repo, "positions_between", counted)
    clock, seconds = ManualClock(at("2025-03-03T11:30:00Z")), [0.0]
    evaluator = FieldEvents(sessions=sessions, bus=RecordingBus(), clock=clock, monotonic=lambda: seconds[0])  # type: ignore[arg-type]
    for _ in range(12):
        assert evaluator.evaluate_periodic() == []
        clock.advance(60)
        seconds[0] += 60
    assert [t.strftime("%H:%M") for t in reads] == ["11:30", "11:35", "11:40"]


def test_off_route_is_watched_once_the_worker_has_set_off_on_the_published_route(sessions, world):
    """Tests that a worker 1.2 km from their published route for 6 minutes raises no off_route while its visit is only
    assigned (they have not set off: the simulated demo staff roam until then, and the wall screen filled with false
    alarms), and raises it once the visit is en route."""
    with session_scope(sessions) as session:
        plan_id = plans_repo.create_plan(session, day=NOW.date(), created_at=NOW - timedelta(hours=2), payload={})
        plans_repo.publish_plan(session, plan_id=plan_id, stops=[
            (world["worker"], world["order"], 0, NOW, NOW, NOW + timedelta(minutes=30))])  # fmt: skip
    for minute in range(7):
        stored(sessions, world, NOW - timedelta(minutes=6 - minute), FAR)
    evaluator = events_of(sessions, world)
    assert AlertKind.OFF_ROUTE not in [a.kind for a in evaluator.evaluate_periodic()]
    with session_scope(sessions) as session:
        order = orders_repo.get_order(session, world["order"])
        assert order is not None
        worker, _ = users_repo.create_user(session, name="ana", role=Role.FIELD_WORKER, worker_id=world["worker"])
        for to in (OrderStatus.ACCEPTED, OrderStatus.EN_ROUTE):
            moved = transition(order, to, actor=worker, at=NOW - timedelta(minutes=7))
            assert isinstance(moved, Transitioned), moved
            order = orders_repo.save_change(session, moved.change)
    assert AlertKind.OFF_ROUTE in [a.kind for a in evaluator.evaluate_periodic()]


def test_a_failing_database_never_fails_the_ingestion(world, caplog):
    """Tests that evaluation with the database gone logs the failure and returns: the fixes are stored already."""

    def broken() -> Session:
        raise RuntimeError("database away")

    evaluator = FieldEvents(sessions=broken, bus=RecordingBus(), clock=ManualClock(NOW))  # type: ignore[arg-type]
    evaluator.evaluate([make_position(NOW.isoformat(), worker_id=world["worker"])])
    assert "evaluating 1 stored fixes for geofence events and alerts failed" in caplog.text


def test_submitted_fixes_are_evaluated_by_the_evaluator_thread(sessions, world):
    """Tests that the pipeline's hook only queues the fixes, and the evaluator thread raises their alerts soon after."""
    evaluator = FieldEvents(sessions=sessions, bus=(bus := RecordingBus()), clock=ManualClock(NOW))  # type: ignore[arg-type]
    sos = MappingProxyType({"alarm": "sos"})
    evaluator.submit([stored(sessions, world, NOW - timedelta(minutes=1), FAR, attributes=sos)])
    wait_until(lambda: [m["kind"] for c, m in bus.sent if c == ALERTS] == ["sos"], 10, "the SOS alert")
    with session_scope(sessions) as session:
        assert [a.kind for a in alerts_repo.list_alerts(session, worker_id=world["worker"])] == [AlertKind.SOS]


def test_a_burst_of_uploads_is_evaluated_in_one_window_and_a_steady_stream_within_half_a_second():
    """Tests that fixes which keep arriving while the evaluator gathers (a burst of batch uploads) are evaluated
    together, in one window (one transaction), and that a stream which never pauses is still evaluated within
    `max_gather_s` of its first fix."""
    now = [0.0]
    windows: list[int] = []
    more = [3]  # uploads arriving during the first gathering periods
    done = threading.Event()

    def sleep(seconds: float) -> None:
        now[0] += seconds
        if more[0]:
            more[0] -= 1
            evaluator.submit([make_position(NOW.isoformat(), worker_id=1)])

    def evaluate(fixes: list[Position]) -> None:
        windows.append(len(fixes))
        done.set()

    evaluator = FieldEvents(
        sessions=None,  # type: ignore[arg-type]  # evaluate is replaced: no database
        bus=RecordingBus(),  # type: ignore[arg-type]
        clock=ManualClock(NOW),
        monotonic=lambda: now[0],
        sleep=sleep,
        gather_s=0.125,  # binary fractions: four periods make max_gather_s exactly
        max_gather_s=0.5,
    )
    evaluator.evaluate = evaluate  # type: ignore[method-assign]
    evaluator.submit([make_position(NOW.isoformat(), worker_id=1)])
    assert done.wait(10)
    assert windows == [4]  # the first upload and the three that came while it gathered

    more[0], windows[:] = 100, []  # a stream: each gathering period brings another upload
    done.clear()
    evaluator.submit([make_position(NOW.isoformat(), worker_id=1)])
    assert done.wait(10)
    assert windows == [5]  # the first and one per period until 0.5 s had passed


def test_fixes_beyond_the_queue_while_the_evaluator_is_behind_are_dropped_with_a_warning_and_submit_never_blocks(
    caplog,
):
    """Tests that while the evaluator thread is busy, submitted batches queue up to `queue_size` and the ones beyond are
    dropped (logged once, not per batch) without `submit` waiting, and that the queued ones are evaluated after."""
    windows: list[list[int]] = []
    busy, go_on, second = threading.Event(), threading.Event(), threading.Event()

    def evaluate(fixes: Any) -> None:
        windows.append([p.worker_id for p in fixes])
        busy.set()
        if len(windows) == 1:
            assert go_on.wait(10)  # the first window evaluated slowly: the thread is behind meanwhile
        else:
            second.set()

    evaluator = FieldEvents(
        sessions=None,  # type: ignore[arg-type]  # evaluate is replaced: no database
        bus=RecordingBus(),  # type: ignore[arg-type]
        clock=ManualClock(NOW),
        sleep=lambda _seconds: None,  # each gathering period brings nothing more at once
        queue_size=2,
    )
    evaluator.evaluate = evaluate  # type: ignore[method-assign]
    evaluator.submit([make_position(NOW.isoformat(), worker_id=1)])
    assert busy.wait(10)
    for worker_id in (2, 3, 4, 5):  # two fit in the queue, two are dropped
        evaluator.submit([make_position(NOW.isoformat(), worker_id=worker_id)])
    assert caplog.text.count("alert evaluation is behind") == 1
    assert not evaluator.idle()
    go_on.set()
    assert second.wait(10)
    assert windows == [[1], [2, 3]]
    wait_until(evaluator.idle, 10, "the evaluator idle")


def test_a_window_carries_each_fix_time_in_microseconds_whichever_way_its_fixes_came():
    """Tests that the window the evaluator gathers hands on each fix's time in microseconds beside it: as a batch
    brought them (`StoredFixes.fix_us`), and read from the fixes of a batch that came without them."""
    now = [0.0]
    later = [
        [make_position((NOW + timedelta(seconds=2, microseconds=7)).isoformat(), worker_id=2)],  # a list
        StoredFixes([make_position((NOW + timedelta(seconds=3)).isoformat(), worker_id=1)], [None]),  # no times
    ]
    windows: list[Any] = []
    done = threading.Event()

    def sleep(seconds: float) -> None:
        now[0] += seconds
        if later:
            evaluator.submit(later.pop(0))

    def evaluate(fixes: Any) -> None:
        windows.append(fixes)
        done.set()

    evaluator = FieldEvents(
        sessions=None,  # type: ignore[arg-type]  # evaluate is replaced: no database
        bus=RecordingBus(),  # type: ignore[arg-type]
        clock=ManualClock(NOW),
        monotonic=lambda: now[0],
        sleep=sleep,
        gather_s=0.125,
        max_gather_s=0.5,
    )
    evaluator.evaluate = evaluate  # type: ignore[method-assign]
    first = make_position((NOW + timedelta(seconds=1)).isoformat(), worker_id=1)
    evaluator.submit(StoredFixes([first], [41], [(first.fix_time - EPOCH) // MICROSECOND]))
    assert done.wait(10)
    (window,) = windows
    assert isinstance(window, StoredFixes) and len(window) == 3
    assert window.fix_us == [(p.fix_time - EPOCH) // MICROSECOND for p in window.positions]
    assert window.fix_us[1] - window.fix_us[0] == 1_000_007


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def test_the_sites_index_is_built_again_only_when_a_site_changed(sessions, world):
    """Tests that the sites re-read every `sites_refresh_s` give the same index while no site changed, and a new one
    holding a site added meanwhile (a fix inside it is then seen there)."""
    now = [0.0]
    events = FieldEvents(
        sessions=sessions, bus=RecordingBus(), clock=ManualClock(NOW), monotonic=lambda: now[0], sites_refresh_s=60.0
    )
    events.evaluate([stored(sessions, world, NOW - timedelta(minutes=10), FAR)])
    first = events._cache.index
    now[0] = 61.0
    events.evaluate([stored(sessions, world, NOW - timedelta(minutes=9), FAR)])
    assert events._cache.index is first
    with session_scope(sessions) as session:
        added = sites_repo.add_site(session, name="Port", location=FAR, geofence_radius_m=80)
    now[0] = 122.0
    events.evaluate([stored(sessions, world, NOW - timedelta(minutes=8), FAR)])
    assert events._cache.index is not first
    assert events._cache.index is not None and events._cache.index.containing(FAR) == [added.id]
