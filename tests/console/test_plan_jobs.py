"""Route-plan jobs on a real Redis: queued for an RQ planner, run in-process without one, stopped early, interrupted."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import pytest
import redis
from rq import SimpleWorker, Worker

from data import day_repo, orders_repo, plans_repo, sites_repo, users_repo, workers_repo
from data.db import make_engine, make_sessionmaker, session_scope
from data.positions_repo import add_position
from data.settings import Settings
from dispatch.access import Actor, Role
from dispatch.alerts import AlertSettings
from dispatch.clock import ManualClock
from dispatch.geo import LatLon
from dispatch.lifecycle import Transitioned, transition
from dispatch.orders import OrderStatus, OrderType, TimeWindow, WorkOrder
from realtime.field_events import alert_settings
from realtime.plan_queue import PlanQueue, job_id
from routing.pins import Happened
from routing.travel import StraightLine
from services import plan_run
from services.field_service import FieldService
from services.links import LinkClaims
from services.plan_jobs import PlanJobs, PlanRefused
from services.plan_review import compare_with_published
from services.plan_run import PlanContext
from tests.factories import EVERY_DAY_7_TO_19, make_position
from tests.support.servers import wait_until

pytestmark = pytest.mark.integration  # a real redis-server

DAY = date(2025, 3, 4)
MANAGER = Actor(id=1, name="planner", role=Role.MANAGER)
SOLUTIONS = 30  # every test job stops by count as well as by its budget


@pytest.fixture
def plan_redis(redis_url: str) -> Iterator[str]:
    """A Redis database of its own (index 7), emptied, so no other test's planner can take these jobs."""
    url = redis_url.rsplit("/", 1)[0] + "/7"
    redis.Redis.from_url(url).flushdb()
    yield url
    redis.Redis.from_url(url).flushdb()


@pytest.fixture
def sessions(tmp_path: Path, _migrated_sqlite_template: Path) -> Any:
    """A migrated SQLite database with two workers and four orders on DAY (one needs a skill nobody has)."""
    shutil.copyfile(_migrated_sqlite_template, tmp_path / "outfield.db")
    factory = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'outfield.db'}"))
    with session_scope(factory) as session:
        users_repo.create_user(session, name="planner", role=Role.MANAGER)  # MANAGER, id 1
        workers_repo.add_worker(session, name="Ana", device_id="a", skills=("gas",), shifts=(EVERY_DAY_7_TO_19,),
                                home_base=LatLon(43.7390, 7.4270))  # fmt: skip
        workers_repo.add_worker(session, name="Bo", device_id="b", skills=("gas", "hvac"), shifts=(EVERY_DAY_7_TO_19,),
                                home_base=LatLon(43.7290, 7.4160))  # fmt: skip
        sites = [sites_repo.add_site(session, name=n, location=LatLon(lat, lon)).id
                 for n, lat, lon in (("Casino", 43.7394, 7.4276), ("Port", 43.7347, 7.4214), ("Fontvieille", 43.7290, 7.4160))]  # fmt: skip
        window = TimeWindow(datetime.combine(DAY, clock_time(9), UTC), datetime.combine(DAY, clock_time(12), UTC))
        for site, skills in (
            (sites[0], ("gas",)),
            (sites[1], ("gas",)),
            (sites[2], ("hvac",)),
            (sites[1], ("plumbing",)),
        ):
            orders_repo.add_order(session, site_id=site, type=OrderType.REPAIR, priority=3, window=window,
                                  service_duration_s=1800, required_skills=skills, created_at=datetime(2025, 3, 3, tzinfo=UTC))  # fmt: skip
    return factory


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2025, 3, 3, 8, 0, tzinfo=UTC))


@pytest.fixture
def planner(sessions: Any, clock: ManualClock, plan_redis: str) -> Iterator[list[tuple[str, dict[str, Any], str]]]:
    """This process as a planner: the context `run_plan_job` uses; yields the events it emits."""
    events: list[tuple[str, dict[str, Any], str]] = []
    plan_run.install(PlanContext(sessions=sessions, travel=StraightLine(), clock=clock, seed=0,
                                 emit=lambda e, p, r: events.append((e, p, r)), queue=PlanQueue(plan_redis),
                                 runner="planner-test", max_solutions=SOLUTIONS))  # fmt: skip
    yield events
    plan_run._context = None


def web_jobs(
    sessions: Any,
    clock: ManualClock,
    plan_redis: str,
    events: list[Any] | None = None,
    alerts: AlertSettings | None = None,
) -> PlanJobs:
    emit = (lambda e, p, r: events.append((e, p, r))) if events is not None else None
    return PlanJobs(sessions=sessions, clock=clock, travel=StraightLine(), redis_url=plan_redis, emit=emit,
                    max_solutions=SOLUTIONS, alerts=alerts)  # fmt: skip


def alive_planner(plan_redis: str) -> SimpleWorker:
    """A planner registered on the queue (as `python -m console plan-worker` is while it waits)."""
    queue = PlanQueue(plan_redis)
    worker = SimpleWorker([queue.queue()], connection=queue.redis, name="waiting-planner")
    worker.register_birth()
    worker.heartbeat()
    return worker


def burst(plan_redis: str) -> None:
    """Run every queued plan job in this process, as RQ runs them (handlers restored afterwards)."""
    queue = PlanQueue(plan_redis)
    saved = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        SimpleWorker([queue.queue()], connection=queue.redis).work(burst=True)
    finally:
        signal.signal(signal.SIGINT, saved[0])
        signal.signal(signal.SIGTERM, saved[1])


def stored_job(sessions: Any, plan_id: int) -> dict[str, Any]:
    with session_scope(sessions) as session:
        stored = plans_repo.get_plan(session, plan_id)
    assert stored is not None
    return dict(stored.payload["job"])


def wait_until_finished(jobs: PlanJobs, plan_id: int) -> dict[str, Any]:
    # The job stops by solution count; the timeout only bounds a broken run.
    wait_until(lambda: (jobs.status_json(plan_id) or {}).get("status") not in (None, "queued", "running"), 60,
               lambda: f"plan {plan_id} finished (now: {jobs.status_json(plan_id)})")  # fmt: skip
    status = jobs.status_json(plan_id)
    assert status is not None
    return status


def test_a_plan_goes_to_the_rq_queue_and_a_planner_solves_it(sessions, clock, plan_redis, planner):
    """Tests that with a planner listening, the web process only stores the job's input and queues it; the
    planner loads everything from the database, solves it, and streams progress ending in done."""
    jobs = web_jobs(sessions, clock, plan_redis)
    waiting = alive_planner(plan_redis)
    plan_id = jobs.start(actor=MANAGER, day=DAY, worker_ids=None, order_ids=None, seconds=30)
    waiting.register_death()

    job = stored_job(sessions, plan_id)
    assert (job["kind"], job["day"], job["seconds"], job["state"]) == ("start", "2025-03-04", 30, "queued")
    assert len(job["worker_ids"]) == 2 and len(job["order_ids"]) == 4
    assert PlanQueue(plan_redis).state(plan_id).status == "queued"
    assert jobs.status_json(plan_id)["status"] == "queued"

    burst(plan_redis)

    status = jobs.status_json(plan_id)
    assert status["status"] == "done", status
    assert stored_job(sessions, plan_id)["runner"] == "planner-test"
    routed = {s["order_id"] for r in status["plan"]["routes"] for s in r["stops"]}
    assert len(routed) == 3 and [u["reason"] for u in status["plan"]["unplanned"]] == ["no qualified worker"]
    assert set(status) == {"id", "day", "status", "progress", "plan", "error", "published", "changes", "violations",
                           "checked", "replan_of", "created_at", "edited_from", "moved", "minimise", "balance_workload"}  # fmt: skip
    assert all(event == "plan-progress" and room == "plans" for event, _, room in planner)
    states = [p["status"] for _, p, _ in planner]
    assert states[0] == "running" and states[-1] == "done"
    assert all(set(p) == {"id", "status", "progress", "error"} and p["id"] == plan_id for _, p, _ in planner)
    assert planner[-1][1]["progress"]["best_cost"] >= 0


@pytest.mark.parametrize("processes", [1, 2])
def test_a_stop_request_reaches_the_job_in_the_planner_and_keeps_the_best_plan(
    sessions, clock, plan_redis, planner, processes
):
    """Tests that stopping a 60 s job from the web process while the planner runs it ends it "stopped" with its
    best plan so far (the solver is stopped by the Redis flag, not by its budget); a planner searching each plan on
    two processes (OUTFIELD_PLAN_PROCESSES=2) stops its helper process too, which has ended when the job has."""
    jobs = web_jobs(sessions, clock, plan_redis)
    waiting = alive_planner(plan_redis)
    plan_id = jobs.start(actor=MANAGER, day=DAY, worker_ids=None, order_ids=None, seconds=60)
    waiting.register_death()
    plan_run.install(PlanContext(sessions=sessions, travel=StraightLine(), clock=clock, seed=0,
                                 emit=lambda e, p, r: p["status"] == "running" and jobs.stop(plan_id),
                                 queue=PlanQueue(plan_redis), runner="planner-test",
                                 processes=processes))  # fmt: skip  # no count stop

    burst(plan_redis)

    status = jobs.status_json(plan_id)
    assert status["status"] == "stopped", status
    routed = {s["order_id"] for r in status["plan"]["routes"] for s in r["stops"]}
    assert len(routed) == 3
    assert jobs.stop(plan_id) is False  # nothing left to stop
    assert multiprocessing.active_children() == []


def test_without_a_planner_the_web_process_runs_the_job_itself(sessions, clock, plan_redis, caplog):
    """Tests that with no plan worker alive the job runs in a thread of this process, says so once in the log,
    never touches the RQ queue, and still emits its progress."""
    events: list[Any] = []
    jobs = web_jobs(sessions, clock, plan_redis, events)
    with caplog.at_level("WARNING", logger="services.plan_jobs"):
        first = jobs.start(actor=MANAGER, day=DAY, worker_ids=None, order_ids=None, seconds=30)
        assert wait_until_finished(jobs, first)["status"] == "done"
        second = jobs.start(actor=MANAGER, day=DAY, worker_ids=None, order_ids=None, seconds=30)
        assert wait_until_finished(jobs, second)["status"] == "done"
    assert sum("no plan worker is running" in r.getMessage() for r in caplog.records) == 1
    assert stored_job(sessions, first)["runner"] == f"web-{os.getpid()}"
    assert PlanQueue(plan_redis).state(first) is None
    assert [p["status"] for _, p, _ in events if p["id"] == first][-1] == "done"


def _lease_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "outfield-plan-leases"}


def test_the_web_process_renews_its_jobs_leases_only_while_it_has_jobs(sessions, clock, plan_redis):
    """Tests that a job run in the web process keeps its lease in Redis through a thread that ends once the process
    has no job left (a server's idle process keeps no thread renewing nothing), and that the next job starts one
    again."""
    before = _lease_threads()
    jobs = web_jobs(sessions, clock, plan_redis)
    for _ in range(2):
        plan_id = jobs.start(actor=MANAGER, day=DAY, worker_ids=None, order_ids=None, seconds=30)
        assert PlanQueue(plan_redis).lease_alive(plan_id)
        assert wait_until_finished(jobs, plan_id)["status"] == "done"
        wait_until(
            lambda: not (_lease_threads() - before),
            10,
            lambda: f"no lease thread left (now: {_lease_threads() - before})",
        )


def test_a_plan_of_today_schedules_nothing_before_now(sessions, plan_redis):
    """Tests that planning the day itself at 10:00 starts every visit at 10:00 or later, though windows open at 09:00."""
    jobs = web_jobs(sessions, ManualClock(datetime(2025, 3, 4, 10, 0, tzinfo=UTC)), plan_redis)
    plan_id = jobs.start(actor=MANAGER, day=DAY, worker_ids=None, order_ids=None, seconds=30)
    status = wait_until_finished(jobs, plan_id)
    starts = [datetime.fromisoformat(s["start"]) for r in status["plan"]["routes"] for s in r["stops"]]
    assert len(starts) == 3 and min(starts) >= datetime(2025, 3, 4, 10, 0, tzinfo=UTC), starts


def test_a_moved_visit_in_a_plan_of_today_is_timed_from_now_leaving_just_in_time(sessions, plan_redis):
    """Tests that moving a visit in today's plan at 08:00 keeps every route from now on (none departs at the
    07:00 shift start, or at 00:00 for an all-day shift, to wait for the 09:00 windows): each leaves just in
    time for its first visit, as the optimiser's routes do, and the draft keeps every rule."""
    now = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)
    jobs = web_jobs(sessions, ManualClock(now), plan_redis)
    base = wait_until_finished(jobs, jobs.start(actor=MANAGER, day=DAY, worker_ids=None, order_ids=None, seconds=30))
    owner = {s["order_id"]: r["worker_id"] for r in base["plan"]["routes"] for s in r["stops"]}
    moved = jobs.move(actor=MANAGER, plan_id=base["id"], order_id=1, worker_id=1 if owner[1] == 2 else 2)
    assert moved.violations == ()
    for route in jobs.status_json(moved.id)["plan"]["routes"]:
        first = route["stops"][0]
        assert datetime.fromisoformat(route["start"]) >= now, route
        assert datetime.fromisoformat(first["arrival"]) == datetime.fromisoformat(route["start"]) + timedelta(
            seconds=first["travel_s"]
        )
        assert first["wait_s"] == 0, route
    assert jobs.status_json(moved.id)["checked"]


def test_a_move_keeps_the_routes_it_does_not_touch_as_they_were_planned(sessions, clock, plan_redis):
    """Tests that giving the unplanned plumbing job to Bo leaves Ana's route as the optimiser planned it: the same
    times, stops, driving time and distance (its leg home included), and the checker reports only Bo's missing
    skill (the stored plan read back had lost every route's leg home: the draft drove less and each untouched route
    got a 'return stated 0 s/0 m' fault), and the draft's cost is its own, not the plan's it was edited from."""
    jobs = web_jobs(sessions, clock, plan_redis)
    base = wait_until_finished(jobs, jobs.start(actor=MANAGER, day=DAY, worker_ids=None, order_ids=None, seconds=30))
    routes = {r["worker_id"]: r for r in base["plan"]["routes"] if r["stops"]}
    assert set(routes) == {1, 2} and [u["order_id"] for u in base["plan"]["unplanned"]] == [4]

    moved = jobs.move(actor=MANAGER, plan_id=base["id"], order_id=4, worker_id=2)

    assert [(v.kind, v.order_id, v.worker_id) for v in moved.violations] == [("skill", 4, 2)]
    draft = {r["worker_id"]: r for r in jobs.status_json(moved.id)["plan"]["routes"]}
    assert draft[1] == routes[1]
    assert draft[1]["travel_s"] > sum(s["travel_s"] for s in draft[1]["stops"])  # the leg home is in it
    assert jobs.status_json(moved.id)["plan"]["travel_s"] == sum(r["travel_s"] for r in draft.values())
    assert draft[2]["travel_s"] >= routes[2]["travel_s"]
    # The draft's cost is its own: its driving, with nothing left out (the base's included the plumbing job's penalty).
    assert jobs.status_json(moved.id)["plan"]["objective"] == sum(r["travel_s"] for r in draft.values())
    assert base["plan"]["objective"] > 10 * base["plan"]["travel_s"]


def test_a_draft_of_today_edited_after_its_routes_should_have_left_has_them_leave_now(sessions, plan_redis):
    """Tests that a plan of today made at 08:00 and edited at 09:05 (the plumbing job given to Bo) lets Ana's untouched
    route, due to leave before 09:00 with nothing under way, leave at 09:05 instead: the checker reports Bo's
    missing skill alone, not Ana's route as departing in the past (which made every such draft unpublishable)."""
    clock = ManualClock(datetime(2025, 3, 4, 8, 0, tzinfo=UTC))
    jobs = web_jobs(sessions, clock, plan_redis)
    base = wait_until_finished(jobs, jobs.start(actor=MANAGER, day=DAY, worker_ids=None, order_ids=None, seconds=30))
    ana = next(r for r in base["plan"]["routes"] if r["worker_id"] == 1)
    assert datetime.fromisoformat(ana["start"]) < datetime(2025, 3, 4, 9, 5, tzinfo=UTC)
    clock.advance(65 * 60)

    moved = jobs.move(actor=MANAGER, plan_id=base["id"], order_id=4, worker_id=2)

    assert [(v.kind, v.order_id, v.worker_id) for v in moved.violations] == [("skill", 4, 2)]
    after = next(r for r in jobs.status_json(moved.id)["plan"]["routes"] if r["worker_id"] == 1)
    assert datetime.fromisoformat(after["start"]) >= clock.now()
    assert [s["order_id"] for s in after["stops"]] == [s["order_id"] for s in ana["stops"]]


def test_a_draft_of_today_edited_after_lunch_plans_no_second_lunch_and_no_break_before_now(sessions, plan_redis):
    """Tests that a plan of today made at 08:00 (both lunches 11:00-11:30, in the 11:00-15:00 window) and edited at
    12:10 gives Bo, whose route the move re-times, no second lunch: the draft's lunch, begun before now, counts as
    taken (`Problem.from_now`). Ana's untouched route keeps hers as history, which the checker does not hold against
    the draft; no break is placed between 08:00 and now that the draft did not have."""
    clock = ManualClock(datetime(2025, 3, 4, 8, 0, tzinfo=UTC))
    jobs = web_jobs(sessions, clock, plan_redis)
    base = wait_until_finished(jobs, jobs.start(actor=MANAGER, day=DAY, worker_ids=None, order_ids=None, seconds=30))
    lunches = {r["worker_id"]: r["breaks"] for r in base["plan"]["routes"]}
    assert all(len(b) == 1 and b[0]["start"] < "2025-03-04T12:10" for b in lunches.values()), lunches
    clock.advance(4 * 3600 + 10 * 60)

    moved = jobs.move(actor=MANAGER, plan_id=base["id"], order_id=4, worker_id=2)

    assert [v for v in moved.violations if v.kind == "break"] == []
    draft = {r["worker_id"]: r for r in jobs.status_json(moved.id)["plan"]["routes"]}
    assert draft[2]["breaks"] == [] and draft[1]["breaks"] == lunches[1]


def test_a_new_plan_of_today_takes_the_lunches_the_published_plan_had_begun_as_taken(sessions, plan_redis):
    """Tests that a new plan of today made at 12:10, on a day whose published plan (made at 08:00) has both lunches
    at 11:00-11:30, gives the worker of an afternoon order no second lunch, though the window (11:00-15:00) is still
    open: the published plan is what the workers were told, so its lunches begun before now count as taken."""
    clock = ManualClock(datetime(2025, 3, 4, 8, 0, tzinfo=UTC))
    jobs = web_jobs(sessions, clock, plan_redis)
    base = wait_until_finished(jobs, jobs.start(actor=MANAGER, day=DAY, worker_ids=None, order_ids=None, seconds=30))
    assert all(r["breaks"][0]["start"] < "2025-03-04T12:10" for r in base["plan"]["routes"])
    jobs.publish(actor=MANAGER, plan_id=base["id"], apply=lambda pairs: {"assigned": pairs, "kept": []})
    window = TimeWindow(datetime(2025, 3, 4, 13, 0, tzinfo=UTC), datetime(2025, 3, 4, 15, 0, tzinfo=UTC))
    with session_scope(sessions) as session:
        afternoon = orders_repo.add_order(session, site_id=1, type=OrderType.REPAIR, priority=3, window=window,
                                          service_duration_s=1800, required_skills=("gas",), created_at=clock.now())  # fmt: skip
    clock.advance(4 * 3600 + 10 * 60)

    fresh = wait_until_finished(jobs, jobs.start(actor=MANAGER, day=DAY, worker_ids=None, order_ids=None, seconds=30))

    (route,) = [r for r in fresh["plan"]["routes"] if any(s["order_id"] == afternoon.id for s in r["stops"])]
    assert route["breaks"] == [], route
    assert fresh["violations"] == []


def _afternoon_and_a_still_half_hour(sessions: Any) -> None:
    """Three 90-minute afternoon orders (two gas, one hvac) and Ana's phone still in a street from 11:05 to 11:35
    (30 minutes, in her break window, 11:00-15:00, away from every site); Bo's phone shows no rest."""
    afternoon = TimeWindow(datetime(2025, 3, 4, 13, 0, tzinfo=UTC), datetime(2025, 3, 4, 14, 0, tzinfo=UTC))
    with session_scope(sessions) as session:
        for skills in (("gas",), ("gas",), ("hvac",)):  # 90 min each: Bo cannot do both gas visits and the hvac one
            orders_repo.add_order(session, site_id=1 if skills == ("gas",) else 3, type=OrderType.REPAIR, priority=3,
                                  window=afternoon, service_duration_s=5400, required_skills=skills,
                                  created_at=datetime(2025, 3, 4, 8, tzinfo=UTC))  # fmt: skip
        street, start = LatLon(43.7330, 7.4200), datetime(2025, 3, 4, 11, 0, tzinfo=UTC)
        for minute in range(71):
            still = 5 <= minute <= 35
            where = (
                street
                if still
                else LatLon(street.lat + 0.001 * (minute - 35 if minute > 35 else 5 - minute), street.lon)
            )
            add_position(session, make_position((start + timedelta(minutes=minute)).isoformat(), lat=where.lat,
                                                lon=where.lon, worker_id=1, device_id="a"))  # fmt: skip


def test_a_new_plan_of_today_without_a_published_plan_takes_the_lunch_the_fixes_show_as_taken(sessions, plan_redis):
    """Tests that a plan of today made at 12:10 with no published plan gives Ana, whose phone stood still in a street
    from 11:05 to 11:35 (in her break window, 11:00-15:00, away from every site), no second lunch, while Bo, whose
    phone shows no rest, still gets his from 12:10 on."""
    _afternoon_and_a_still_half_hour(sessions)
    jobs = web_jobs(sessions, ManualClock(datetime(2025, 3, 4, 12, 10, tzinfo=UTC)), plan_redis)

    plan = wait_until_finished(jobs, jobs.start(actor=MANAGER, day=DAY, worker_ids=None, order_ids=None, seconds=30))

    routes = {r["name"]: r for r in plan["plan"]["routes"]}
    assert set(routes) == {"Ana", "Bo"}, routes
    assert routes["Ana"]["breaks"] == []
    assert [b["start"] >= "2025-03-04T12:10" for b in routes["Bo"]["breaks"]] == [True]
    assert plan["violations"] == []


def test_a_still_half_hour_is_no_lunch_where_the_office_counts_a_long_stop_from_40_minutes(
    sessions, plan_redis, tmp_path
):
    """Tests that the same plan, in an office whose long stop begins at 40 minutes (OUTFIELD_ALERT_LONG_STOP_MIN=40),
    does not take Ana's 30 still minutes for her lunch, as its alerts would not: she gets a lunch from 12:10 on too."""
    _afternoon_and_a_still_half_hour(sessions)
    office = alert_settings(Settings.from_env({"OUTFIELD_VAR": str(tmp_path), "SECRET_KEY": "k" * 32,
                                               "OUTFIELD_ALERT_LONG_STOP_MIN": "40"}))  # fmt: skip
    jobs = web_jobs(sessions, ManualClock(datetime(2025, 3, 4, 12, 10, tzinfo=UTC)), plan_redis, alerts=office)

    plan = wait_until_finished(jobs, jobs.start(actor=MANAGER, day=DAY, worker_ids=None, order_ids=None, seconds=30))

    routes = {r["name"]: r for r in plan["plan"]["routes"]}
    for name in ("Ana", "Bo"):
        assert [b["start"] >= "2025-03-04T12:10" for b in routes[name]["breaks"]] == [True], routes[name]
    assert plan["violations"] == []


def _happen(sessions: Any, order_id: int, steps: list[tuple[OrderStatus, datetime]], worker_id: int) -> None:
    """Move the order through `steps` as the field would report them, each at its time."""
    with session_scope(sessions) as session:
        for to, at in steps:
            order = orders_repo.get_order(session, order_id)
            assert order is not None
            assigning = to is OrderStatus.ASSIGNED
            actor = Actor(id=1, name="Ana", role=Role.FIELD_WORKER, worker_id=worker_id)
            if assigning:
                actor = Actor(id=1, name="planner", role=Role.DISPATCHER)
            moved = transition(order, to, actor=actor, at=at, worker_id=worker_id if assigning else None)
            assert isinstance(moved, Transitioned), moved
            orders_repo.save_change(session, moved.change)


def test_a_replan_pins_a_visit_done_early_where_it_happened_and_its_draft_edits_cleanly(sessions, plan_redis):
    """Tests that Ana's first visit, planned in the 09:00 window but recorded on site at 08:10 and done at 08:25,
    is in the 08:30 re-plan at 08:10-08:25 (not at its planned time), Ana's next visit starts no earlier than
    now, the draft keeps every rule, and a move in the draft faults only the move itself (the done visit's
    stop lasts the 15 minutes it took, not its planned 30). Published, the re-plan leaves the done visit's plan of
    record (what plan-versus-actual compares with) as Ana was told it."""
    clock = ManualClock(datetime(2025, 3, 4, 7, 0, tzinfo=UTC))
    jobs = web_jobs(sessions, clock, plan_redis)
    base = wait_until_finished(jobs, jobs.start(actor=MANAGER, day=DAY, worker_ids=None, order_ids=None, seconds=30))
    jobs.publish(actor=MANAGER, plan_id=base["id"], apply=lambda pairs: {"assigned": pairs, "kept": []})
    ana = next(r for r in base["plan"]["routes"] if r["worker_id"] == 1)
    first = ana["stops"][0]
    assert first["start"] >= "2025-03-04T09:00"
    at = lambda hh, mm: datetime(2025, 3, 4, hh, mm, tzinfo=UTC)  # noqa: E731
    _happen(sessions, first["order_id"], [(OrderStatus.ASSIGNED, at(7, 5)), (OrderStatus.ACCEPTED, at(7, 6)),
                                          (OrderStatus.EN_ROUTE, at(7, 50)), (OrderStatus.ON_SITE, at(8, 10)),
                                          (OrderStatus.DONE, at(8, 25))], worker_id=1)  # fmt: skip
    clock.advance(90 * 60)

    again = wait_until_finished(jobs, jobs.replan(actor=MANAGER, plan_id=base["id"], seconds=30))

    assert again["status"] == "done" and again["violations"] == [], again
    route = next(r for r in again["plan"]["routes"] if r["worker_id"] == 1)
    done = route["stops"][0]
    assert done["order_id"] == first["order_id"]
    assert (done["start"], done["end"]) == ("2025-03-04T08:10:00+00:00", "2025-03-04T08:25:00+00:00")
    assert all(s["start"] >= "2025-03-04T09:00" for s in route["stops"][1:])
    moved = jobs.move(actor=MANAGER, plan_id=again["id"], order_id=4, worker_id=2)
    assert [(v.kind, v.order_id, v.worker_id) for v in moved.violations] == [("skill", 4, 2)]
    edited = next(r for r in jobs.status_json(moved.id)["plan"]["routes"] if r["worker_id"] == 1)
    assert (edited["stops"][0]["start"], edited["stops"][0]["end"]) == (done["start"], done["end"])

    # Neither the re-plan's changes nor its comparison with the published plan call the done visit re-timed.
    assert [c for c in again["changes"] if c["order_id"] == first["order_id"]] == []
    comparison = compare_with_published(jobs, jobs.status(again["id"]))
    assert comparison is not None and str(first["order_id"]) not in {r.visit_id for r in comparison.diff.retimed}
    jobs.publish(actor=MANAGER, plan_id=again["id"], apply=lambda pairs: {"assigned": pairs, "kept": []})
    with session_scope(sessions) as session:
        record = day_repo.published_route(session, day=DAY, worker_id=1)
    assert record is not None
    planned = {v.order_id: (v.planned_arrival, v.planned_departure) for v in record.planned.visits}
    # Plan-versus-actual keeps comparing the done visit with what Ana was told; the rest follow the re-plan.
    assert planned[first["order_id"]] == (
        datetime.fromisoformat(first["arrival"]),
        datetime.fromisoformat(first["end"]),
    )
    for stop in route["stops"][1:]:
        assert planned[stop["order_id"]] == (
            datetime.fromisoformat(stop["arrival"]),
            datetime.fromisoformat(stop["end"]),
        )


def test_a_new_plan_of_today_starts_a_worker_on_site_where_and_when_that_visit_ends(sessions, plan_redis):
    """Tests that a plan of today made at 09:10, while Ana has been on site at the Casino (order 1, 30 minutes)
    since 09:00, leaves order 1 out (it is not the plan's to place) and starts Ana's route at the Casino at 09:30:
    before, it planned her from her latest fix at 09:10 as if free, and could give order 1 to Bo. Published, her phone
    lists order 1 first; a re-plan of that plan (which does not have order 1) starts her there and then too."""
    clock = ManualClock(datetime(2025, 3, 4, 9, 10, tzinfo=UTC))
    at = lambda hh, mm: datetime(2025, 3, 4, hh, mm, tzinfo=UTC)  # noqa: E731
    _happen(sessions, 1, [(OrderStatus.ASSIGNED, at(8, 0)), (OrderStatus.ACCEPTED, at(8, 1)),
                          (OrderStatus.EN_ROUTE, at(8, 45)), (OrderStatus.ON_SITE, at(9, 0))], worker_id=1)  # fmt: skip
    jobs = web_jobs(sessions, clock, plan_redis)

    fresh = wait_until_finished(jobs, jobs.start(actor=MANAGER, day=DAY, worker_ids=None, order_ids=None, seconds=30))

    assert fresh["violations"] == [], fresh["violations"]
    planned = {s["order_id"] for r in fresh["plan"]["routes"] for s in r["stops"]}
    assert 1 not in planned and 1 not in {u["order_id"] for u in fresh["plan"]["unplanned"]}
    ana = next(r for r in fresh["plan"]["routes"] if r["worker_id"] == 1)
    assert ana["start_location"] == {"lat": 43.7394, "lon": 7.4276}  # the Casino
    assert ana["start"] >= "2025-03-04T09:30" and ana["stops"], ana

    # Published, Ana's phone lists the visit she is on first, then the plan's route.
    def assign(pairs: list[tuple[int, int]]) -> dict[str, Any]:
        for order_id, worker_id in pairs:
            _happen(sessions, order_id, [(OrderStatus.ASSIGNED, clock.now())], worker_id=worker_id)
        return {"assigned": pairs, "kept": []}

    jobs.publish(actor=MANAGER, plan_id=fresh["id"], apply=assign)
    field = FieldService(sessions=sessions, clock=clock, bus=None, links=None, pipeline=None, upload_dir=Path("."),
                         public_url="http://x")  # type: ignore[arg-type]  # fmt: skip
    day = field.day(LinkClaims(worker_id=1, day=DAY, link_id="t", expires_at=datetime(2025, 3, 5, tzinfo=UTC)))
    assert [o["id"] for o in day["orders"]] == [1, *[s["order_id"] for s in ana["stops"]]]
    # A re-plan at 09:15 of that plan, which does not have order 1, starts Ana there and then too.
    clock.advance(5 * 60)
    again = wait_until_finished(jobs, jobs.replan(actor=MANAGER, plan_id=fresh["id"], seconds=30))
    assert again["status"] == "done" and again["violations"] == [], again
    assert 1 not in {s["order_id"] for r in again["plan"]["routes"] for s in r["stops"]}
    ana = next(r for r in again["plan"]["routes"] if r["worker_id"] == 1)
    assert ana["start_location"] == {"lat": 43.7394, "lon": 7.4276} and ana["start"] >= "2025-03-04T09:30", ana


def test_a_visit_left_on_site_on_another_day_does_not_keep_its_worker_busy_today(sessions, plan_redis):
    """Tests that an order of yesterday Ana never closed (on site at the Port since 09:00 on 3 March) does not start
    her route of today at the Port: a plan of 4 March at 09:10 starts her at her home base, and plans her visits."""
    clock = ManualClock(datetime(2025, 3, 4, 9, 10, tzinfo=UTC))
    yesterday = lambda hh: datetime(2025, 3, 3, hh, 0, tzinfo=UTC)  # noqa: E731
    with session_scope(sessions) as session:
        port = next(s.id for s in sites_repo.list_sites(session) if s.name == "Port")
        stale = orders_repo.add_order(session, site_id=port, type=OrderType.REPAIR, priority=3,
                                      window=TimeWindow(yesterday(9), yesterday(12)), service_duration_s=1800,
                                      created_at=yesterday(7)).id  # fmt: skip
    _happen(sessions, stale, [(OrderStatus.ASSIGNED, yesterday(8)), (OrderStatus.ACCEPTED, yesterday(8)),
                              (OrderStatus.EN_ROUTE, yesterday(8)),
                              (OrderStatus.ON_SITE, yesterday(9))], worker_id=1)  # fmt: skip
    jobs = web_jobs(sessions, clock, plan_redis)

    fresh = wait_until_finished(jobs, jobs.start(actor=MANAGER, day=DAY, worker_ids=None, order_ids=None, seconds=30))

    assert fresh["violations"] == [], fresh["violations"]
    ana = next(r for r in fresh["plan"]["routes"] if r["worker_id"] == 1)
    assert ana["start_location"] == {"lat": 43.739, "lon": 7.427} and ana["stops"], ana  # her home base


def test_what_happened_reads_on_site_and_done_times_of_the_day_and_not_a_failed_tries_arrival():
    """Tests that a re-plan reads an order done 08:10-08:25 as such, one on site since 08:40 as begun then (its
    end not yet known), one that failed once and is now done only by its end (the arrival on record is the
    failed try's), and no time outside the day (an arrival recorded the evening before)."""
    window = TimeWindow(datetime(2025, 3, 4, 9, 0, tzinfo=UTC), datetime(2025, 3, 4, 12, 0, tzinfo=UTC))

    def order(order_id: int, status: OrderStatus) -> WorkOrder:
        return WorkOrder(order_id, 1, OrderType.REPAIR, 3, frozenset(), window, 1800, status, 1)

    at = lambda hh, mm, d=4: datetime(2025, 3, d, hh, mm, tzinfo=UTC)  # noqa: E731
    marks = {
        1: orders_repo.Milestones(at(8, 10), at(8, 25)),
        2: orders_repo.Milestones(at(8, 40), None),
        3: orders_repo.Milestones(at(8, 0), at(10, 0), failed_once=True),
        4: orders_repo.Milestones(at(23, 0, d=3), None),
        5: orders_repo.Milestones(None, None),
    }
    orders = [order(1, OrderStatus.DONE), order(2, OrderStatus.ON_SITE), order(3, OrderStatus.DONE),
              order(4, OrderStatus.ON_SITE), order(5, OrderStatus.EN_ROUTE)]  # fmt: skip
    assert plan_run.happened_of(orders, marks, DAY, UTC) == {
        "1": Happened(8 * 3600 + 600, 8 * 3600 + 1500),
        "2": Happened(8 * 3600 + 2400, None),
        "3": Happened(None, 10 * 3600),
    }


def test_a_plan_the_checker_faults_is_not_published_and_says_why(sessions, clock, plan_redis):
    """Tests that publishing a draft where Ana got the hvac job (a skill she lacks) is refused with the checker's
    reason and assigns nothing, while the optimiser's plan itself publishes; a plan stored before plans were
    checked is refused too."""
    jobs = web_jobs(sessions, clock, plan_redis)
    base = wait_until_finished(jobs, jobs.start(actor=MANAGER, day=DAY, worker_ids=None, order_ids=None, seconds=30))
    assert base["checked"] and base["violations"] == []
    draft = jobs.move(actor=MANAGER, plan_id=base["id"], order_id=3, worker_id=1)
    applied: list[Any] = []
    with pytest.raises(PlanRefused) as refused:
        jobs.publish(actor=MANAGER, plan_id=draft.id, apply=lambda pairs: applied.append(pairs))
    assert [(v["kind"], v["order_id"], v["worker_id"]) for v in refused.value.violations] == [("skill", 3, 1)]
    assert "needs ['hvac'], which the worker lacks" in refused.value.reason
    assert applied == [] and not jobs.status_json(draft.id)["published"]

    with session_scope(sessions) as session:
        legacy = plans_repo.create_plan(session, day=DAY, created_at=clock.now(),
                                        payload={"job": {"state": "done"}, "plan": base["plan"]})  # fmt: skip
    with pytest.raises(PlanRefused, match="before plans were checked"):
        jobs.publish(actor=MANAGER, plan_id=legacy, apply=lambda pairs: applied.append(pairs))
    assert applied == []

    published = jobs.publish(actor=MANAGER, plan_id=base["id"], apply=lambda pairs: {"assigned": pairs, "kept": []})
    assert published["published"] and len(published["assigned"]) == 3


def test_the_in_process_fallback_can_be_stopped_too(sessions, clock, plan_redis):
    """Tests that stop() ends a job running in the web process's own thread "stopped" with a plan."""
    jobs: list[PlanJobs] = []
    stopped: list[bool] = []

    def emit(_event: str, payload: dict[str, Any], _room: str) -> None:
        if payload["status"] == "running" and not stopped:
            stopped.append(jobs[0].stop(payload["id"]))

    jobs.append(PlanJobs(sessions=sessions, clock=clock, travel=StraightLine(), redis_url=plan_redis, emit=emit))
    plan_id = jobs[0].start(actor=MANAGER, day=DAY, worker_ids=None, order_ids=None, seconds=60)
    status = wait_until_finished(jobs[0], plan_id)
    assert stopped == [True]
    assert status["status"] == "stopped" and status["plan"]["routes"]


def test_a_job_running_in_a_stopping_web_process_stops_and_keeps_its_best_plan(sessions, clock, plan_redis):
    """Tests that when the web process stops (its app's stop event, set on SIGTERM), a 60 s job running in its own
    thread ends "stopped" with a plan at once, instead of holding the process for the rest of its budget."""
    halt = threading.Event()

    def emit(_event: str, payload: dict[str, Any], _room: str) -> None:
        if payload["status"] == "running":
            halt.set()

    jobs = PlanJobs(sessions=sessions, clock=clock, travel=StraightLine(), redis_url=plan_redis, emit=emit, halt=halt)
    plan_id = jobs.start(actor=MANAGER, day=DAY, worker_ids=None, order_ids=None, seconds=60)
    status = wait_until_finished(jobs, plan_id)
    assert status["status"] == "stopped" and status["plan"]["routes"]


def test_a_job_whose_process_died_reads_as_interrupted_from_any_process(sessions, clock, plan_redis):
    """Tests that a running job with no live lease is interrupted once its budget and the grace are past,
    while a job whose lease is renewed is still running."""
    with session_scope(sessions) as session:
        plan_id = plans_repo.create_plan(session, day=DAY, created_at=clock.now(),
                                         payload={"job": {"kind": "start", "state": "running", "seconds": 10}})  # fmt: skip
    other_process = web_jobs(sessions, clock, plan_redis)
    assert other_process.status_json(plan_id)["status"] == "running"
    clock.advance(10 + 121)
    PlanQueue(plan_redis).renew_leases([plan_id])
    assert other_process.status_json(plan_id)["status"] == "running"  # its process is alive, only slow
    redis.Redis.from_url(plan_redis).delete(f"outfield:plan-lease:{plan_id}")
    status = other_process.status_json(plan_id)
    assert (status["status"], status["error"]) == ("interrupted", "the process running it stopped")
    assert other_process.stop(plan_id) is False


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_killed_work_horse_reads_as_interrupted_with_rqs_reason(sessions, clock, plan_redis):
    """Tests that when RQ reports the job's work-horse was killed, the plan is interrupted at once with that reason."""
    with session_scope(sessions) as session:
        plan_id = plans_repo.create_plan(session, day=DAY, created_at=clock.now(),
                                         payload={"job": {"kind": "start", "state": "queued", "seconds": 10}})  # fmt: skip
    queue = PlanQueue(plan_redis)
    queue.queue().enqueue(_die, job_id=job_id(plan_id), job_timeout=30)
    saved = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        Worker([queue.queue()], connection=queue.redis).work(burst=True)  # forks the work-horse, which dies
    finally:
        signal.signal(signal.SIGINT, saved[0])
        signal.signal(signal.SIGTERM, saved[1])
    status = web_jobs(sessions, clock, plan_redis).status_json(plan_id)
    assert status["status"] == "interrupted"
    assert "Work-horse terminated unexpectedly" in status["error"]


def test_recent_lists_newest_plans_first_with_counts(sessions, clock, plan_redis, planner):
    """Tests that the picker's summaries come newest first, filtered by day, with planned and unplanned counts
    from the stored plan and None while a job has no plan yet."""
    jobs = web_jobs(sessions, clock, plan_redis)
    waiting = alive_planner(plan_redis)
    solved = jobs.start(actor=MANAGER, day=DAY, worker_ids=None, order_ids=None, seconds=30)
    waiting.register_death()
    burst(plan_redis)
    clock.advance(60)
    with session_scope(sessions) as session:
        other_day = plans_repo.create_plan(session, day=date(2025, 3, 5), created_at=clock.now(),
                                           payload={"job": {"state": "queued", "seconds": 10}})  # fmt: skip
    clock.advance(60)
    waiting = alive_planner(plan_redis)
    pending = jobs.start(actor=MANAGER, day=DAY, worker_ids=None, order_ids=None, seconds=30)
    waiting.register_death()

    summaries = jobs.recent()
    assert [s.id for s in summaries] == [pending, other_day, solved]
    assert [s.id for s in jobs.recent(DAY)] == [pending, solved]
    assert [s.id for s in jobs.recent(limit=1)] == [pending]
    done = summaries[2]
    assert (done.state, done.planned, done.unplanned, done.published) == ("done", 3, 1, False)
    assert (summaries[0].state, summaries[0].planned, summaries[0].unplanned) == ("queued", None, None)
    assert (done.day, done.replan_of, done.edited_from) == (DAY, None, None)


@pytest.fixture
def socket_server() -> Any:
    """A Socket.IO server with the real handlers; tokens "manager", "desk" and a field link resolve to actors."""
    import flask
    from flask_socketio import SocketIO

    from realtime import sockets

    app = flask.Flask("plans-sockets")
    server = SocketIO(app, async_mode="threading")
    actors = {"manager": MANAGER, "desk": Actor(id=2, name="desk", role=Role.DISPATCHER)}
    sockets.register(server, authenticate=lambda auth: actors.get((auth or {}).get("token")),
                     authenticate_link=lambda token: 7 if token == "link-7" else None)  # fmt: skip
    return app, server


def test_plan_progress_reaches_the_sockets_of_those_who_may_plan(sessions, clock, socket_server, monkeypatch):
    """Tests that a manager's socket receives plan-progress events ending in done, while a dispatcher whose role
    may not plan routes and a field worker's push-link page receive none."""
    from dispatch import access

    monkeypatch.setitem(access._RULES, access.Action.PLAN_ROUTES, {Role.ADMIN, Role.MANAGER})
    app, server = socket_server
    manager = server.test_client(app, auth={"token": "manager"})
    desk = server.test_client(app, auth={"token": "desk"})
    field = server.test_client(app, auth={"link": "link-7"})
    assert manager.is_connected() and desk.is_connected() and field.is_connected()
    jobs = PlanJobs(sessions=sessions, clock=clock, travel=StraightLine(), max_solutions=SOLUTIONS,
                    emit=lambda e, p, r: server.emit(e, p, to=r))  # fmt: skip  # no Redis: runs in this process
    plan_id = jobs.start(actor=MANAGER, day=DAY, worker_ids=None, order_ids=None, seconds=30)
    assert wait_until_finished(jobs, plan_id)["status"] == "done"

    received = [m["args"][0] for m in manager.get_received() if m["name"] == "plan-progress"]
    assert [p["status"] for p in received][0] == "running" and received[-1]["status"] == "done"
    assert received[-1]["id"] == plan_id
    assert [m for m in desk.get_received() if m["name"] == "plan-progress"] == []
    assert [m for m in field.get_received() if m["name"] == "plan-progress"] == []


def test_every_office_role_that_may_plan_joins_the_plans_room(socket_server):
    """Tests that under the shipped policy a dispatcher (who may plan routes) joins the plans room too."""
    app, server = socket_server
    desk = server.test_client(app, auth={"token": "desk"})
    server.emit("plan-progress", {"id": 1, "status": "done", "progress": None, "error": None}, to="plans")
    assert [m["args"][0]["status"] for m in desk.get_received() if m["name"] == "plan-progress"] == ["done"]


def test_a_plan_stored_before_plans_had_a_schema_version_is_edited_and_published_as_before(sessions, clock, plan_redis):
    """Tests that a checked plan stored without `schema_version` (written before plan documents had one) moves a
    visit into a new draft of the current version, and publishes its own stops to their workers."""
    jobs = web_jobs(sessions, clock, plan_redis)
    base = wait_until_finished(jobs, jobs.start(actor=MANAGER, day=DAY, worker_ids=None, order_ids=None, seconds=30))
    older = {k: v for k, v in base["plan"].items() if k != "schema_version"}
    with session_scope(sessions) as session:
        stored = plans_repo.create_plan(session, day=DAY, created_at=clock.now(), payload={
            "job": {"state": "done"}, "plan": older, "violations": [], "checked_at": clock.now().isoformat()})  # fmt: skip
    owner = {s["order_id"]: r["worker_id"] for r in older["routes"] for s in r["stops"]}
    moved = jobs.move(actor=MANAGER, plan_id=stored, order_id=1, worker_id=1 if owner[1] == 2 else 2)
    assert jobs.status_json(moved.id)["plan"]["schema_version"] == 2 and moved.violations == ()
    published = jobs.publish(actor=MANAGER, plan_id=stored, apply=lambda pairs: {"assigned": pairs, "kept": []})
    assert sorted(published["assigned"]) == sorted(owner.items())
