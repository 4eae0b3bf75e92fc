"""Route optimisation as background jobs: start, watch progress, stop early keeping the best plan.

A job's input (kind, day, worker and order ids, time budget, ...) is stored in its plan's row and
the job goes on the project's Redis as an RQ job, run by a planner process (`python -m console
plan-worker`, `services.plan_run.run_plan_job`). When no planner is alive, this process runs it in
a thread, one at a time, as before. Either way the job writes state, progress and result into the
row, so any server process answers `GET /api/v1/plans/{id}`; a stop request is a flag in Redis
that the running job reads. A job whose process died is reported as interrupted once its time
budget plus a grace is past and no process renews its lease (or at once when RQ says its
work-horse died).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, timedelta, tzinfo
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from data import audit_repo, orders_repo, plans_repo, positions_repo, sites_repo, workers_repo
from data.db import session_scope
from data.plans_repo import StoredPlan
from dispatch.access import Actor
from dispatch.alerts import AlertSettings
from dispatch.clock import Clock
from dispatch.errors import AppError, InputError
from dispatch.fields import outside_calendar
from dispatch.geo import LatLon
from dispatch.localtime import local_day, spans_day
from realtime.plan_queue import LEASE_S, PlanQueue, QueueUnreachable
from routing.day import checked, datetime_of, day_problem, objective_for, plan_json, seconds_of
from routing.edit import move_visit
from routing.plan import Plan
from routing.travel import TravelTimes
from services.plan_run import UNDER_WAY, Emit, PlanContext, execute, pinned_as_planned
from services.plan_views import (
    MovedPlan,
    PlanStatus,
    PlanSummary,
    PlanView,
    status_of,
    summary_of,
    violation_json,
    violations_of,
)

log = logging.getLogger(__name__)
MAX_SECONDS = 600.0
GRACE = timedelta(minutes=2)
UNFINISHED = ("queued", "running")
WAITING = ("queued", "deferred", "scheduled")


class PlanInputError(InputError):
    """A field of a plan request is unusable (400)."""


class PlanRefused(AppError):
    """The plan may not be published (409): the plan checker's reasons (`violations`, as the API shows them)."""

    def __init__(self, reason: str, violations: list[dict[str, Any]]) -> None:
        super().__init__(409, reason, "plan_id", extra={"violations": violations})
        self.violations = violations


class PlanJobs:
    """`redis_url` names the Redis of the plan queue (None: always run jobs in this process);
    `emit(event, payload, room)` sends progress of the jobs this process runs. A plan's day is the local calendar
    day in `zone` (the office's): its orders, shifts and times are cut at that zone's midnight. Once `halt` is set
    (the process is stopping) the jobs this process runs stop as a stop request stops them, keeping their best plan,
    instead of holding the process for the rest of their budget."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        clock: Clock,
        travel: TravelTimes,
        seed: int = 0,
        redis_url: str | None = None,
        emit: Emit | None = None,
        max_solutions: int | None = None,
        zone: tzinfo = UTC,
        halt: threading.Event | None = None,
        alerts: AlertSettings | None = None,
    ) -> None:
        self._sessions = sessions
        self.zone = zone
        self._clock = clock
        self._travel = travel
        self._queue = PlanQueue(redis_url) if redis_url else None
        self._context = PlanContext(sessions=sessions, travel=travel, clock=clock, seed=seed,
                                    emit=emit or (lambda *_: None), queue=self._queue, runner=f"web-{os.getpid()}",
                                    max_solutions=max_solutions, zone=zone,
                                    alerts=alerts or AlertSettings())  # fmt: skip
        self._local: dict[int, threading.Event] = {}  # jobs queued or running in this process
        self._lock = threading.Lock()
        self._jobs_changed = threading.Condition(self._lock)  # notified when a local job ends
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outfield-plan")
        self._heartbeat: threading.Thread | None = None
        self._halt = halt or threading.Event()
        self._told_no_planner = False

    def start(
        self,
        *,
        actor: Actor,
        day: date,
        worker_ids: Sequence[int] | None,
        order_ids: Sequence[int] | None,
        seconds: float,
        minimise: str = "time",
        balance_workload: bool = False,
    ) -> int:
        """Queue an optimisation of `day` and return the plan id at once.

        `minimise` is "time", "distance" or "mix" (`routing.day.objective_for`); `balance_workload`
        trades some travel for a fairer spread of work.
        """
        _check_seconds(seconds)
        if (why := outside_calendar(day)) is not None:
            raise PlanInputError("date", why)
        try:
            objective_for(minimise, balance_workload=balance_workload)  # the job builds it again where it runs
        except ValueError as exc:
            raise PlanInputError("minimise", str(exc).partition(": ")[2]) from None
        with session_scope(self._sessions) as session:
            workers = [w for w in workers_repo.list_workers(session) if worker_ids is None or w.id in worker_ids]
            orders = [o for o in orders_repo.list_orders(session) if order_ids is None or o.id in order_ids]
            if worker_ids is not None and len(workers) != len(set(worker_ids)):
                raise PlanInputError("worker_ids", "unknown worker id(s)")
            if order_ids is not None and len(orders) != len(set(order_ids)):
                raise PlanInputError("order_ids", "unknown order id(s)")
            if order_ids is None:
                orders = [
                    o
                    for o in orders
                    if spans_day(o.window.start, o.window.end, day, self.zone)
                    and o.status.value in ("new", "assigned", "accepted")
                ]
        job = {"kind": "start", "day": day.isoformat(), "worker_ids": [w.id for w in workers],
               "order_ids": [o.id for o in orders], "seconds": seconds, "minimise": minimise,
               "balance_workload": balance_workload}  # fmt: skip
        return self._queue_job(actor, job, action="start-plan")

    def stop(self, plan_id: int) -> bool:
        """Ask a queued or running job to stop now; it keeps the best plan found so far.

        True only when the job was queued or running (a queued job stops at its first plan).
        """
        with session_scope(self._sessions) as session:
            stored = plans_repo.get_plan(session, plan_id)
        if stored is None or self._state(stored)[0] not in UNFINISHED:
            return False
        with self._lock:
            local = self._local.get(plan_id)
        if local is not None:
            local.set()
        flagged = self._queue.request_stop(plan_id) if self._queue is not None else False
        return flagged or local is not None

    def replan(self, *, actor: Actor, plan_id: int, seconds: float, change_penalty: int = 900) -> int:
        """Re-optimise the rest of a published day after a change; returns the new (draft) plan's id.

        What is done, on site or en route stays with its worker (pinned); cancelled orders drop out;
        new orders of the day come in; workers on leave today are left out. Moving a visit announced
        in the published plan costs `change_penalty`, so the re-plan disturbs as little as it pays.
        The result lists what changes for whom; nothing is assigned until it is published.
        """
        base = self.status(plan_id)
        if base is None:
            raise LookupError(f"no plan with id {plan_id}")
        if not base.published:
            raise PlanInputError("plan_id", f"plan {plan_id} is not published; re-plan the day's published plan")
        _check_seconds(seconds)
        day = base.day
        previous = self.plan_of(plan_id)
        assert previous is not None  # a published plan has a result
        planned_ids = {int(v) for r in previous.routes for v in r.visit_ids} | {
            int(u.visit_id) for u in previous.unplanned
        }
        with session_scope(self._sessions) as session:
            every = orders_repo.list_orders(session)
            orders = [
                o for o in every
                if o.status.value not in ("cancelled", "failed", "declined")
                and (o.id in planned_ids or (o.status.value == "new" and spans_day(o.window.start, o.window.end, day, self.zone)))
            ]  # fmt: skip
            away = workers_repo.leaves_overlapping(session, start=day, end=day, zone=self.zone)
            workers = [w for w in workers_repo.list_workers(session) if w.id not in away]
        job = {"kind": "replan", "day": day.isoformat(), "worker_ids": [w.id for w in workers],
               "order_ids": [o.id for o in orders], "seconds": seconds, "change_penalty": change_penalty,
               "replan_of": plan_id, "minimise": base.minimise, "balance_workload": base.balance_workload}  # fmt: skip
        return self._queue_job(actor, job, action="replan")

    def move(self, *, actor: Actor, plan_id: int, order_id: int, worker_id: int) -> MovedPlan:
        """A new draft: plan `plan_id` with `order_id` moved to `worker_id`, re-timed, with what it breaks."""
        base = self.status(plan_id)
        if base is None:
            raise LookupError(f"no plan with id {plan_id}")
        if base.view is None:
            raise PlanInputError("plan_id", f"plan {plan_id} has no result yet")
        day = base.day
        previous = self.plan_of(plan_id)
        assert previous is not None  # checked above: the plan has a result
        order_ids = {int(v) for r in previous.routes for v in r.visit_ids} | {
            int(u.visit_id) for u in previous.unplanned
        }
        if order_id not in order_ids:
            raise PlanInputError("order_id", f"order {order_id} is not in plan {plan_id}")
        now = self._clock.now()
        today = day == local_day(now, self.zone)
        with session_scope(self._sessions) as session:
            orders = [o for o in orders_repo.list_orders(session) if o.id in order_ids]
            workers = workers_repo.list_workers(session)
            sites = {s.id: s for s in sites_repo.list_sites(session)}
            latest = positions_repo.latest_positions(session) if today else {}
        names = {w.id: w.name for w in workers}
        # The edit answers the plan's own problem: its workers start where the plan has them start
        # (a worker without a route yet from their latest fix), and a plan of today is edited from now on,
        # with the visits under way kept where they are.
        origins = {w: p.point for w, p in latest.items()} | _start_points(base.view)
        # The draft is priced as the plan it was edited from: its `minimise` and balancing.
        objective = objective_for(base.minimise, balance_workload=base.balance_workload)
        whole = day_problem(day, orders, sites, workers, origins, self._travel, objective, tz=self.zone)
        problem = whole.problem
        if today:  # the draft's breaks begun before now are taken; no other goes before now
            now_s = seconds_of(day, now, self.zone)
            problem = problem.from_now(now_s, previous.breaks_begun(now_s))
            problem = pinned_as_planned(problem, previous, orders)
        try:
            edited = move_visit(problem, previous, str(order_id), str(worker_id))
        except ValueError as exc:
            field, _, reason = str(exc).partition(": ")
            raise PlanInputError(field, reason or str(exc)) from None
        result = plan_json(edited.plan, day, names, problem=whole)
        verdict = checked(problem, edited.plan, now.isoformat())
        violations = verdict["violations"]
        job: dict[str, Any] = {
            "kind": "move",
            "state": "done",
            "edited_from": plan_id,
            "minimise": base.minimise,
            "balance_workload": base.balance_workload,
            "moved": {"order_id": order_id, "worker_id": worker_id},
        }
        with session_scope(self._sessions) as session:
            new_id = plans_repo.create_plan(session, day=day, created_at=now,
                                            payload={"job": job, "plan": result, **verdict})  # fmt: skip
            audit_repo.record(session, actor_id=actor.id, action="edit-plan", subject_type="plan", subject_id=new_id, at=now,
                              details={"edited_from": plan_id, **job["moved"]})  # fmt: skip
        return MovedPlan(id=new_id, edited_from=plan_id, violations=violations_of(violations))

    def publish(self, *, actor: Actor, plan_id: int, apply: Any) -> dict[str, Any]:
        """Publish a finished plan: its stops become the day's routes and each order goes to its planned worker.

        `apply(assignments)` assigns through the dispatch service (lifecycle, history, live push).
        A plan the plan checker (`routing.check`, run when the plan was made, against the problem it
        answers) found breaking a rule is refused with `PlanRefused` listing the reasons, as is a
        plan stored before plans were checked; nothing is assigned then. A draft that breaks a rule
        (e.g. a move that misses a window) stays a draft to look at: move the visit elsewhere, or
        re-optimise, to get a plan that can be published. A visit already under way that the day's published plan
        had with the same worker keeps that plan's times as its plan of record (what plan-versus-actual compares).
        """
        status = self.status(plan_id)
        if status is None:
            raise LookupError(f"no plan with id {plan_id}")
        if not status.finished or status.view is None:
            raise PlanInputError("status", f"plan {plan_id} is {status.state}; only a finished plan can be published")
        if not status.checked:
            raise PlanRefused(
                f"plan {plan_id} was made before plans were checked; re-optimise the day or move a visit to get a"
                " checked plan",
                [],
            )
        if status.violations:
            reasons = "; ".join(f"{v.kind}: {v.message}" for v in status.violations)
            raise PlanRefused(
                f"plan {plan_id} breaks {len(status.violations)} rule(s) of the plan checker and cannot be"
                f" published: {reasons}",
                [violation_json(v) for v in status.violations],
            )
        plan, day = self.plan_of(plan_id), status.day
        assert plan is not None  # checked above: the plan has a result
        stops = [
            (int(route.worker_id), int(stop.visit_id), seq, datetime_of(day, stop.arrival_s, self.zone),
             datetime_of(day, stop.start_s, self.zone), datetime_of(day, stop.end_s, self.zone))
            for route in plan.routes for seq, stop in enumerate(route.stops)
        ]  # fmt: skip
        result = apply([(order_id, worker_id) for worker_id, order_id, *_ in stops])
        now = self._clock.now()
        # The plan of record for a visit already under way stays what its worker was told: a re-plan pins it where
        # it happened (`routing.pins`), and plan-versus-actual would otherwise compare it with itself.
        started = {int(v) for v in self.under_way(plan)}
        with session_scope(self._sessions) as session:
            told = plans_repo.published_stops(session, day=day)
            stops = [
                (w, o, seq, *told[w, o]) if (w, o) in told and o in started else (w, o, seq, arrival, start, end)
                for w, o, seq, arrival, start, end in stops
            ]
            plans_repo.publish_plan(session, plan_id=plan_id, stops=stops)
            audit_repo.record(session, actor_id=actor.id, action="publish-plan", subject_type="plan", subject_id=plan_id, at=now,
                              details={"assigned": len(result["assigned"]), "kept": len(result["kept"])})  # fmt: skip
        return {"id": plan_id, "published": True, **result}

    def status(self, plan_id: int) -> PlanStatus | None:
        """Plan `plan_id`: its job's state, its result and verdict, typed; None for an unknown plan."""
        with session_scope(self._sessions) as session:
            stored = plans_repo.get_plan(session, plan_id)
        return status_of(stored, *self._state(stored)) if stored is not None else None

    def status_json(self, plan_id: int) -> dict[str, Any] | None:
        """Plan `plan_id` as `GET /api/v1/plans/{id}` answers it: the stored plan document as it was written."""
        with session_scope(self._sessions) as session:
            stored = plans_repo.get_plan(session, plan_id)
        if stored is None:
            return None
        job = stored.payload.get("job", {})
        state, error = self._state(stored)
        return {"id": plan_id, "day": stored.day.isoformat(), "status": state, "progress": job.get("progress"),
                "plan": stored.payload.get("plan"), "error": error,
                "published": stored.status == "published", "changes": stored.payload.get("changes"),
                "violations": stored.payload.get("violations", []), "checked": "checked_at" in stored.payload,
                "replan_of": job.get("replan_of"), "created_at": stored.created_at.isoformat(),
                "edited_from": job.get("edited_from"), "moved": job.get("moved"),
                "minimise": job.get("minimise", "time"), "balance_workload": bool(job.get("balance_workload"))}  # fmt: skip

    def under_way(self, plan: Plan) -> set[str]:
        """The visits of `plan` whose orders are under way now (en route, on site or done): facts, not plans."""
        ids = {int(s.visit_id) for r in plan.routes for s in r.stops}
        with session_scope(self._sessions) as session:
            found = orders_repo.statuses(session, order_ids=ids)
        return {str(i) for i, status in found.items() if status.value in UNDER_WAY}

    def plan_of(self, plan_id: int) -> Plan | None:
        """Plan `plan_id`'s result as a typed `Plan`; None for an unknown plan or one with no result yet."""
        with session_scope(self._sessions) as session:
            stored = plans_repo.get_plan(session, plan_id)
        return stored.plan_in(self.zone) if stored is not None else None

    def published_id(self, day: date) -> int | None:
        """The id of `day`'s published plan, or None."""
        with session_scope(self._sessions) as session:
            return plans_repo.published_plan_id(session, day=day)

    def recent(self, day: date | None = None, limit: int = 20) -> list[PlanSummary]:
        """The newest plans (of `day` when given), newest first, as summaries for a picker.

        `planned`/`unplanned` count the stored plan's visits; None while there is no plan yet.
        """
        with session_scope(self._sessions) as session:
            stored = plans_repo.list_plans(session, day=day, limit=limit)
        return [summary_of(row, self._state(row)[0]) for row in stored]

    def _queue_job(self, actor: Actor, job: dict[str, Any], *, action: str) -> int:
        """Store the job's input in a new plan row (audited) and hand it to a planner, or to this process."""
        now = self._clock.now()
        job = {**job, "state": "queued", "queued_at": now.isoformat()}
        with session_scope(self._sessions) as session:
            plan_id = plans_repo.create_plan(session, day=date.fromisoformat(job["day"]), created_at=now,
                                             payload={"job": job})  # fmt: skip
            details = {k: v for k, v in job.items() if k not in ("worker_ids", "order_ids")}
            details.update(orders=len(job["order_ids"]), workers=len(job["worker_ids"]))
            audit_repo.record(session, actor_id=actor.id, action=action, subject_type="plan", subject_id=plan_id,
                              at=now, details=details)  # fmt: skip
        if self._queue is not None and self._queue.planners():
            try:
                self._queue.enqueue(plan_id, seconds=float(job["seconds"]))
                self._told_no_planner = False
                return plan_id
            except QueueUnreachable:
                log.warning("could not queue plan %d on Redis; running it in this process", plan_id)
        if not self._told_no_planner:
            log.warning("no plan worker is running (`python -m console plan-worker`); plans run in the web process")
            self._told_no_planner = True
        self._run_here(plan_id)
        return plan_id

    def _run_here(self, plan_id: int) -> None:
        with self._lock:
            self._local[plan_id] = threading.Event()
            if self._queue is not None and self._heartbeat is None:
                self._heartbeat = threading.Thread(target=self._renew_leases, name="outfield-plan-leases", daemon=True)
                self._heartbeat.start()
        if self._queue is not None:
            self._queue.renew_leases([plan_id])
        self._pool.submit(self._run_local, plan_id)

    def _run_local(self, plan_id: int) -> None:
        try:
            asked = self._local[plan_id]
            execute(self._context, plan_id, stopped=lambda: asked.is_set() or self._halt.is_set())
        except Exception:
            log.exception("plan %d could not run", plan_id)
        finally:
            with self._lock:
                self._local.pop(plan_id, None)
                self._jobs_changed.notify_all()

    def _renew_leases(self) -> None:
        """Keep the leases of this process's queued and running jobs, so other processes see them alive; the thread
        ends when the last of them ends (the next job here starts another)."""
        assert self._queue is not None
        while True:
            with self._lock:
                ids = list(self._local)
                if not ids:
                    self._heartbeat = None
                    return
            self._queue.renew_leases(ids)
            with self._lock:
                self._jobs_changed.wait_for(lambda: not self._local, timeout=LEASE_S / 3)

    def _state(self, stored: StoredPlan) -> tuple[str | None, str | None]:
        """The job's state and error, with a job whose process died reported as interrupted (and why)."""
        job = stored.payload.get("job", {})
        state, error = job.get("state"), job.get("error")
        if state not in UNFINISHED:
            return state, error
        with self._lock:
            if stored.id in self._local:
                return state, error
        queue = self._queue
        queued = queue.state(stored.id) if queue is not None else None
        if queued is not None and queued.status in ("failed", "stopped", "canceled"):
            return "interrupted", queued.reason
        if queue is not None and queue.lease_alive(stored.id):
            return state, error
        if self._clock.now() <= stored.created_at + timedelta(seconds=float(job.get("seconds", 0))) + GRACE:
            return state, error
        if queued is not None and queued.status in WAITING:
            if queue is not None and queue.planners():
                return state, error  # waiting its turn behind other plans
            return "interrupted", "no plan worker is running to take it"
        return "interrupted", "the process running it stopped"


def _start_points(view: PlanView) -> dict[int, LatLon]:
    """Where each route of a stored plan starts (`plan_json` with its problem), by worker id."""
    return {int(w): f.start_location for w, f in view.frames.items() if f.start_location is not None}


def _check_seconds(seconds: float) -> None:
    if not 0 < seconds <= MAX_SECONDS:
        raise PlanInputError("seconds", f"{seconds} is not within 0..{MAX_SECONDS:.0f}")
