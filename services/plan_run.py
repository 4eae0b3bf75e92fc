"""Running one route-plan job: everything it needs comes from the plan's row; state, progress and result go back to it.

`run_plan_job(plan_id)` is the function RQ imports and calls in a planner process (`python -m
console plan-worker`), with the process-level `PlanContext` installed once when the planner starts
(the travel-time provider is slow to load, so the parent loads it before RQ forks a work-horse).
The web process calls `execute` with its own context when no planner is running. Each state change
and each progress write (at most two a second) is emitted as a `plan-progress` event to the
`plans` room.
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from data import orders_repo, plans_repo, positions_repo, sites_repo, workers_repo
from data.db import session_scope
from dispatch.alerts import AlertSettings, break_begun
from dispatch.clock import Clock
from dispatch.geofences import GeofenceIndex
from dispatch.localtime import day_bounds, local_day, spans_day
from dispatch.orders import OrderStatus, WorkOrder
from dispatch.sites import Site
from dispatch.workers import Worker, break_window
from realtime.plan_queue import LEASE_S, PlanQueue
from realtime.relay import PLANS_ROOM
from routing.day import changes_json, checked, day_problem, objective_for, plan_json, seconds_of
from routing.pins import Happened, UnderWay, after_work_under_way
from routing.plan import Plan, Progress
from routing.problem import Pin, Problem, StopRule
from routing.solve import replan, replan_problem, solve
from routing.travel import TravelTimes

log = logging.getLogger(__name__)

PROGRESS_EVENT = "plan-progress"
UNDER_WAY = ("en_route", "on_site", "done")
"""Order statuses whose visit is a fact, not a plan: it keeps its worker and its time (a pin; see `routing.pins`)."""
PROGRESS_EVERY_S = 0.5
STOP_POLL_S = 0.2
Emit = Callable[[str, dict[str, Any], str], None]
"""emit(event_name, payload, room)."""


@dataclass(frozen=True)
class PlanContext:
    """What a job needs from its process: the database, travel times, clock, seed and a socket emitter.

    `queue` carries stop flags and leases (None: this process's own flags only). `max_solutions`
    adds a solution-count stop to every job's time budget (tests). `zone` is the office's: a plan's day is
    its local calendar day there.
    """

    sessions: sessionmaker[Session]
    travel: TravelTimes
    clock: Clock
    seed: int
    emit: Emit
    queue: PlanQueue | None
    runner: str
    max_solutions: int | None = None
    zone: tzinfo = UTC
    processes: int = 1
    """How many searches of a first plan run at once, each in its own process (`routing.portfolio`)."""
    alerts: AlertSettings = AlertSettings()
    """The office's alert thresholds (`OUTFIELD_ALERT_*`): a long stop's length says which stops on a track were a
    break (`breaks_on_track`), as the alerts judged them."""


_context: PlanContext | None = None


def install(context: PlanContext) -> None:
    """Make `context` the one `run_plan_job` uses in this process (and in the work-horses it forks)."""
    global _context
    _context = context


HALT = threading.Event()
"""Set in a planner's work-horse when its planner is told to stop (`halt_on`): the job stops as *Stop* stops it."""


def halt_on(signum: int) -> None:
    """Set `HALT` when this process gets `signum`. A planner installs it before RQ forks its work-horses, which inherit
    it; the planner sends the signal to the horse running a job when it is itself told to stop."""
    signal.signal(signum, lambda *_: HALT.set())


def run_plan_job(plan_id: int) -> str | None:
    """The RQ job: solve plan `plan_id` from its stored input; returns the final state."""
    if _context is None:
        raise RuntimeError("no plan context in this process: run jobs with `python -m console plan-worker`")
    return execute(_context, plan_id, stopped=HALT.is_set)


def execute(ctx: PlanContext, plan_id: int, *, stopped: Callable[[], bool] = lambda: False) -> str | None:
    """Run the queued job of plan `plan_id` once; a job already started or finished is left alone.

    `stopped()` is this process's own stop request; the Redis flag set by `PlanJobs.stop` is checked too.
    """
    with session_scope(ctx.sessions) as session:
        stored = plans_repo.get_plan(session, plan_id)
    if stored is None:
        raise LookupError(f"no plan with id {plan_id}")
    job = dict(stored.payload.get("job", {}))
    if job.get("state") != "queued":
        log.info("plan %d is %s; not running it again", plan_id, job.get("state"))
        return job.get("state")
    should_stop = _StopCheck(ctx.queue, plan_id, stopped)
    began = time.monotonic()
    last_write = 0.0

    def write(result: dict[str, Any] | None = None, plan: Plan | None = None, **changes: Any) -> None:
        job.update(changes)
        with session_scope(ctx.sessions) as session:
            plans_repo.update_plan(
                session,
                plan_id=plan_id,
                payload={"job": dict(job), **(result or {})},
                objective=None if plan is None else float(plan.objective),
                cost=None if plan is None else float(plan.travel_s),
            )
        _emit(
            ctx, {"id": plan_id, "status": job.get("state"), "progress": job.get("progress"), "error": job.get("error")}
        )

    def on_progress(p: Progress) -> None:
        nonlocal last_write
        job["progress"] = {"best_cost": p.objective, "elapsed_s": round(p.elapsed_s, 2), "solutions": p.solutions}
        if time.monotonic() - last_write > PROGRESS_EVERY_S:
            last_write = time.monotonic()
            write()

    with _Lease(ctx.queue, plan_id):
        try:
            write(state="running", started_at=ctx.clock.now().isoformat(), runner=ctx.runner)
            log.info("plan %d running in %s", plan_id, ctx.runner)
            plan, result = _solve(ctx, job, on_progress, should_stop)
            state = "stopped" if should_stop() else "done"
            write(result, plan, state=state, elapsed_s=round(time.monotonic() - began, 2))
        except Exception as exc:  # a failed job must say so, not stay "running"
            log.exception("plan %d failed", plan_id)
            write(state="failed", error=f"{type(exc).__name__}: {exc}")
    if ctx.queue is not None:
        ctx.queue.finished(plan_id)
    return job.get("state")


def _solve(
    ctx: PlanContext, job: dict[str, Any], on_progress: Callable[[Progress], None], should_stop: Callable[[], bool]
) -> tuple[Plan, dict[str, Any]]:
    """Load the job's day from the database and solve (or re-plan) it; the plan and what to store."""
    day = date.fromisoformat(job["day"])
    now = ctx.clock.now()
    tz = ctx.zone
    today = day == local_day(now, tz)
    worker_ids, order_ids = set(job["worker_ids"]), set(job["order_ids"])
    with session_scope(ctx.sessions) as session:
        workers = [w for w in workers_repo.list_workers(session) if w.id in worker_ids]
        orders = [o for o in orders_repo.list_orders(session) if o.id in order_ids]
        sites = {s.id: s for s in sites_repo.list_sites(session)}
        latest = positions_repo.latest_positions(session) if today else {}
        base = plans_repo.get_plan(session, int(job["replan_of"])) if job.get("kind") == "replan" else None
        busy: list[WorkOrder] = []
        if today:  # the plan's workers' visits under way: they are not free until those end
            found = orders_repo.list_orders(session, status=(OrderStatus.EN_ROUTE, OrderStatus.ON_SITE))
            mine = [o for o in found
                    if o.assigned_worker_id in worker_ids and spans_day(o.window.start, o.window.end, day, tz)]  # fmt: skip
            # A new plan leaves them all out; a re-plan pins those of the plan it re-plans, and these are the others.
            busy = mine if base is None else [o for o in mine if o.id not in order_ids]
            orders = [o for o in orders if o.id not in {b.id for b in busy}] + busy
        # What the field recorded: a re-plan pins its plan's visits under way by it; the busy need it either way.
        recorded = (order_ids if base is not None else set()) | {o.id for o in busy}
        marks = orders_repo.milestones(session, order_ids=recorded)
        published_id = plans_repo.published_plan_id(session, day=day) if today and base is None else None
        published = plans_repo.get_plan(session, published_id) if published_id is not None else None
        # Without a published plan to say which breaks have begun, the fixes do.
        on_track = (
            breaks_on_track(session, workers, sites.values(), now, day, tz, ctx.alerts)
            if today and published is None and base is None
            else {}
        )
    names = {w.id: w.name for w in workers}
    origins = {wid: p.point for wid, p in latest.items()}
    objective = objective_for(str(job.get("minimise", "time")), balance_workload=bool(job.get("balance_workload")))
    whole = day_problem(day, orders, sites, workers, origins, ctx.travel, objective, tz=tz)
    problem = whole.problem
    stop = StopRule(max_solutions=ctx.max_solutions, max_seconds=float(job["seconds"]))
    if base is None:
        if today:  # a plan of today starts from now: no visit and no break is planned in the past
            now_s = seconds_of(day, now, tz)  # the breaks the day's published plan had begun are taken
            shown = published.plan_in(tz) if published is not None else None
            problem = problem.from_now(now_s, shown.breaks_begun(now_s) if shown is not None else on_track)
            problem = after_work_under_way(problem, busy_with(busy, marks, day, tz))
            whole = dataclasses.replace(whole, problem=problem)  # a busy worker's route starts where that visit is
        plan = solve(
            problem, stop=stop, seed=ctx.seed, on_progress=on_progress, should_stop=should_stop, processes=ctx.processes
        )
        return plan, {"plan": plan_json(plan, day, names, problem=whole), **checked(problem, plan, now.isoformat())}
    previous = base.plan_in(tz)
    if previous is None:
        raise LookupError(f"plan {base.id}, the plan to re-plan, has no result")
    busy_ids = {o.id for o in busy}
    pinned = {str(o.id): str(o.assigned_worker_id) for o in orders
              if o.status.value in UNDER_WAY and o.assigned_worker_id is not None and o.id not in busy_ids}  # fmt: skip
    change_penalty = int(job.get("change_penalty", 900))
    happened = happened_of(orders, marks, day, tz)
    busy_now = busy_with(busy, marks, day, tz)  # under way, but not in the plan re-planned (made while they were)
    result = replan(problem, previous, pinned=pinned, now_s=seconds_of(day, now, tz), change_penalty=change_penalty,
                    stop=stop, seed=ctx.seed, on_progress=on_progress, should_stop=should_stop, happened=happened,
                    under_way=busy_now)  # fmt: skip
    solved = replan_problem(
        problem,
        previous,
        pinned=pinned,
        now_s=seconds_of(day, now, tz),
        change_penalty=change_penalty,
        happened=happened,
        under_way=busy_now,
    )
    return result.plan, {
        "plan": plan_json(result.plan, day, names, problem=dataclasses.replace(whole, problem=solved)),
        "changes": changes_json(result.changes, day, names, tz),
        **checked(solved, result.plan, now.isoformat()),
    }


def breaks_on_track(
    session: Session,
    workers: Iterable[Worker],
    sites: Iterable[Site],
    now: datetime,
    day: date,
    tz: tzinfo,
    settings: AlertSettings,
) -> dict[str, list[tuple[int, int]]]:
    """worker id -> the break each began today before `now`, as seconds of `day` (`Problem.from_now`), as their fixes
    since their break window opened show it (`dispatch.alerts.break_begun`): for a plan of today made without a
    published plan, which would otherwise place a second lunch for those who had one. A break is a stop as long as
    `settings`' long stop (the office's `OUTFIELD_ALERT_LONG_STOP_MIN`), the length the alerts took it for a break."""
    places = list(sites)
    index = GeofenceIndex.of_sites(places) if places else None
    found: dict[str, list[tuple[int, int]]] = {}
    for worker in workers:
        shift = worker.shift_at(now)
        window = break_window(*shift) if shift is not None else None
        if window is None or window[0] >= now:
            continue
        fixes = positions_repo.positions_between(session, worker_id=worker.id, start=window[0], end=now)
        rest = break_begun(fixes, settings, on_site=lambda p: index is not None and bool(index.containing(p)))
        if rest is not None:
            found[str(worker.id)] = [(seconds_of(day, rest[0], tz), seconds_of(day, rest[1], tz))]
    return found


def busy_with(
    orders: Iterable[WorkOrder], marks: Mapping[int, orders_repo.Milestones], day: date, tz: tzinfo
) -> list[UnderWay]:
    """The orders en route or on site as `routing.pins.after_work_under_way` reads them (on site since when)."""
    happened = happened_of(orders, marks, day, tz)
    return [
        UnderWay(str(o.id), str(o.assigned_worker_id), o.status is OrderStatus.ON_SITE,
                 happened.get(str(o.id), Happened()).started_s)
        for o in orders
        if o.status in (OrderStatus.EN_ROUTE, OrderStatus.ON_SITE) and o.assigned_worker_id is not None
    ]  # fmt: skip


def happened_of(
    orders: Iterable[WorkOrder], marks: Mapping[int, orders_repo.Milestones], day: date, tz: tzinfo
) -> dict[str, Happened]:
    """What the field recorded of the orders on site or done, for a re-plan to pin them where they happened.

    An order on site began when it was first recorded on site; one done also ended when recorded done. An order that
    failed once has its first try's arrival on record, so only its end is used. A time outside `day` is not used.
    """
    start, end = day_bounds(day, tz)

    def second(at: datetime | None) -> int | None:
        return seconds_of(day, at, tz) if at is not None and start <= at < end else None

    out: dict[str, Happened] = {}
    for order in orders:
        mark = marks.get(order.id)
        if mark is None or order.status.value not in ("on_site", "done"):
            continue
        began = None if mark.failed_once else second(mark.on_site_at)
        happened = Happened(began, second(mark.ended_at) if order.status.value == "done" else None)
        if happened != Happened():
            out[str(order.id)] = happened
    return out


def pinned_as_planned(problem: Problem, plan: Plan, orders: Sequence[WorkOrder]) -> Problem:
    """`problem` with the visits of `plan` already under way or done with their planned worker pinned as `plan` has
    them: at their start, for as long as their stop lasts.

    What happened is not re-planned: an edit of today's plan keeps these where they are, and the checker does not
    hold their (past) start against the plan. A re-plan pins them where the field recorded them (`routing.pins`),
    and a done visit then lasts what it took, so its stop's length is kept too.
    """
    by_id = {str(o.id): o for o in orders}
    pins: list[Pin] = []
    lasted: dict[str, int] = {}
    for route in plan.routes:
        for stop in route.stops:
            order = by_id.get(stop.visit_id)
            if (order is not None and order.status.value in UNDER_WAY and str(order.assigned_worker_id) == route.worker_id
                    and problem.has_visit(stop.visit_id) and problem.has_worker(route.worker_id)):  # fmt: skip
                pins.append(Pin(stop.visit_id, route.worker_id, stop.start_s))
                lasted[stop.visit_id] = stop.end_s - stop.start_s
    visits = tuple(
        dataclasses.replace(v, service_s=lasted[v.id]) if lasted.get(v.id, v.service_s) != v.service_s else v
        for v in problem.visits
    )
    return problem.replace(pins=tuple(pins), visits=visits)


def _emit(ctx: PlanContext, payload: dict[str, Any]) -> None:
    try:
        ctx.emit(PROGRESS_EVENT, payload, PLANS_ROOM)
    except Exception:  # the job goes on; the page still reads the row
        log.warning("could not emit progress of plan %s", payload["id"], exc_info=True)


class _StopCheck:
    """`should_stop` for the solver: this process's request, or the Redis flag read at most every 0.2 s."""

    def __init__(self, queue: PlanQueue | None, plan_id: int, local: Callable[[], bool]) -> None:
        self._queue = queue
        self._plan_id = plan_id
        self._local = local
        self._checked = float("-inf")
        self._stop = False

    def __call__(self) -> bool:
        if self._stop or self._local():
            self._stop = True
            return True
        if self._queue is not None and time.monotonic() - self._checked >= STOP_POLL_S:
            self._checked = time.monotonic()
            self._stop = self._queue.stop_requested(self._plan_id)
        return self._stop


class _Lease:
    """Renews the job's lease in Redis while it runs, so any process can tell a live job from a dead one."""

    def __init__(self, queue: PlanQueue | None, plan_id: int) -> None:
        self._queue = queue
        self._plan_id = plan_id
        self._done = threading.Event()

    def __enter__(self) -> _Lease:
        if self._queue is not None:
            self._queue.renew_leases([self._plan_id])
            threading.Thread(target=self._renew, name=f"outfield-plan-lease-{self._plan_id}", daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._done.set()

    def _renew(self) -> None:
        assert self._queue is not None
        while not self._done.wait(LEASE_S / 3):
            self._queue.renew_leases([self._plan_id])
