"""Route optimisation as background jobs: start, watch progress, stop early keeping the best plan.

A job runs in a worker thread of the server process that accepted it (one at a time, so the
solver never starves the live map of CPU) and writes its state, progress and result into the
plan's row, so any server process can answer `GET /api/v1/plans/{id}`. A job whose process died
is reported as interrupted once its time budget is long past.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from data import audit_repo, orders_repo, plans_repo, positions_repo, sites_repo, workers_repo
from data.db import session_scope
from dispatch.access import Actor
from dispatch.clock import Clock
from routing.day import changes_json, day_problem, plan_from_json, plan_json, seconds_of
from routing.edit import move_visit
from routing.plan import Plan, Progress
from routing.problem import StopRule
from routing.solve import replan, solve
from routing.travel import TravelTimes

log = logging.getLogger(__name__)
MAX_SECONDS = 600.0
GRACE = timedelta(minutes=2)


class PlanInputError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field


class PlanJobs:
    def __init__(self, *, sessions: sessionmaker[Session], clock: Clock, travel: TravelTimes, seed: int = 0) -> None:
        self._sessions = sessions
        self._clock = clock
        self._travel = travel
        self._seed = seed
        self._stops: dict[int, threading.Event] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outfield-plan")

    def start(
        self,
        *,
        actor: Actor,
        day: date,
        worker_ids: Sequence[int] | None,
        order_ids: Sequence[int] | None,
        seconds: float,
    ) -> int:
        """Queue an optimisation of `day` and return the plan id at once."""
        if not 0 < seconds <= MAX_SECONDS:
            raise PlanInputError("seconds", f"{seconds} is not within 0..{MAX_SECONDS:.0f}")
        now = self._clock.now()
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
                    if o.window.start.date() <= day <= o.window.end.date()
                    and o.status.value in ("new", "assigned", "accepted")
                ]
            sites = {s.id: s for s in sites_repo.list_sites(session)}
            latest = positions_repo.latest_positions(session) if day == now.date() else {}
            job = {
                "state": "queued",
                "seconds": seconds,
                "started_at": now.isoformat(),
                "orders": len(orders),
                "workers": len(workers),
            }
            plan_id = plans_repo.create_plan(session, day=day, created_at=now, payload={"job": job})
            audit_repo.record(
                session,
                actor_id=actor.id,
                action="start-plan",
                subject_type="plan",
                subject_id=plan_id,
                at=now,
                details=job,
            )
        origins = {wid: p.point for wid, p in latest.items()}
        names = {w.id: w.name for w in workers}
        stop = threading.Event()
        self._stops[plan_id] = stop

        def work(on_progress: Any, should_stop: Any) -> tuple[Plan, dict[str, Any]]:
            problem = day_problem(day, orders, sites, workers, origins, self._travel).problem
            plan = solve(problem, stop=StopRule(max_seconds=seconds), seed=self._seed, on_progress=on_progress,
                         should_stop=should_stop)  # fmt: skip
            return plan, {"plan": plan_json(plan, day, names)}

        self._pool.submit(self._run, plan_id, work, stop, job)
        return plan_id

    def stop(self, plan_id: int) -> bool:
        """Ask a running job to stop now; it keeps the best plan found so far."""
        event = self._stops.get(plan_id)
        if event is None:
            return False
        event.set()
        return True

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
        if not base["published"]:
            raise PlanInputError("plan_id", f"plan {plan_id} is not published; re-plan the day's published plan")
        if not 0 < seconds <= MAX_SECONDS:
            raise PlanInputError("seconds", f"{seconds} is not within 0..{MAX_SECONDS:.0f}")
        day = date.fromisoformat(base["day"])
        previous = plan_from_json(base["plan"], day)
        now = self._clock.now()
        planned_ids = {int(v) for r in previous.routes for v in r.visit_ids} | {
            int(u.visit_id) for u in previous.unplanned
        }
        with session_scope(self._sessions) as session:
            every = orders_repo.list_orders(session)
            orders = [
                o for o in every
                if o.status.value not in ("cancelled", "failed", "declined")
                and (o.id in planned_ids or (o.status.value == "new" and o.window.start.date() <= day <= o.window.end.date()))
            ]  # fmt: skip
            away = workers_repo.leaves_overlapping(session, start=day, end=day)
            workers = [w for w in workers_repo.list_workers(session) if w.id not in away]
            sites = {s.id: s for s in sites_repo.list_sites(session)}
            latest = positions_repo.latest_positions(session) if day == now.date() else {}
            job = {"state": "queued", "seconds": seconds, "started_at": now.isoformat(), "replan_of": plan_id,
                   "orders": len(orders), "workers": len(workers)}  # fmt: skip
            new_id = plans_repo.create_plan(session, day=day, created_at=now, payload={"job": job})
            audit_repo.record(
                session, actor_id=actor.id, action="replan", subject_type="plan", subject_id=new_id, at=now, details=job
            )
        pinned = {str(o.id): str(o.assigned_worker_id) for o in orders
                  if o.status.value in ("en_route", "on_site", "done") and o.assigned_worker_id is not None}  # fmt: skip
        names = {w.id: w.name for w in workers}
        origins = {wid: p.point for wid, p in latest.items()}
        now_s = seconds_of(day, now)

        def work(on_progress: Any, should_stop: Any) -> tuple[Plan, dict[str, Any]]:
            problem = day_problem(day, orders, sites, workers, origins, self._travel).problem
            result = replan(problem, previous, pinned=pinned, now_s=now_s, change_penalty=change_penalty,
                            stop=StopRule(max_seconds=seconds), seed=self._seed, on_progress=on_progress,
                            should_stop=should_stop)  # fmt: skip
            return result.plan, {
                "plan": plan_json(result.plan, day, names),
                "changes": changes_json(result.changes, day, names),
            }

        stop = threading.Event()
        self._stops[new_id] = stop
        self._pool.submit(self._run, new_id, work, stop, job)
        return new_id

    def move(self, *, actor: Actor, plan_id: int, order_id: int, worker_id: int) -> dict[str, Any]:
        """A new draft: plan `plan_id` with `order_id` moved to `worker_id`, re-timed, with what it breaks."""
        base = self.status(plan_id)
        if base is None:
            raise LookupError(f"no plan with id {plan_id}")
        if not base.get("plan"):
            raise PlanInputError("plan_id", f"plan {plan_id} has no result yet")
        day = date.fromisoformat(base["day"])
        previous = plan_from_json(base["plan"], day)
        order_ids = {int(v) for r in previous.routes for v in r.visit_ids} | {
            int(u.visit_id) for u in previous.unplanned
        }
        if order_id not in order_ids:
            raise PlanInputError("order_id", f"order {order_id} is not in plan {plan_id}")
        now = self._clock.now()
        with session_scope(self._sessions) as session:
            orders = [o for o in orders_repo.list_orders(session) if o.id in order_ids]
            workers = workers_repo.list_workers(session)
            sites = {s.id: s for s in sites_repo.list_sites(session)}
            latest = positions_repo.latest_positions(session) if day == now.date() else {}
        names = {w.id: w.name for w in workers}
        problem = day_problem(
            day, orders, sites, workers, {w: p.point for w, p in latest.items()}, self._travel
        ).problem
        try:
            edited = move_visit(problem, previous, str(order_id), str(worker_id))
        except ValueError as exc:
            field, _, reason = str(exc).partition(": ")
            raise PlanInputError(field, reason or str(exc)) from None
        result = plan_json(edited.plan, day, names)
        violations = [{"kind": v.kind.value, "message": v.message, "worker_id": int(v.worker_id) if v.worker_id else None,
                       "order_id": int(v.visit_id) if v.visit_id else None} for v in edited.violations]  # fmt: skip
        job = {"state": "done", "edited_from": plan_id, "moved": {"order_id": order_id, "worker_id": worker_id}}
        with session_scope(self._sessions) as session:
            new_id = plans_repo.create_plan(session, day=day, created_at=now,
                                            payload={"job": job, "plan": result, "violations": violations})  # fmt: skip
            audit_repo.record(session, actor_id=actor.id, action="edit-plan", subject_type="plan", subject_id=new_id, at=now,
                              details={"edited_from": plan_id, **job["moved"]})  # fmt: skip
        return {"id": new_id, "edited_from": plan_id, "plan": result, "violations": violations}

    def publish(self, *, actor: Actor, plan_id: int, apply: Any) -> dict[str, Any]:
        """Publish a finished plan: its stops become the day's routes and each order goes to its planned worker.

        `apply(assignments)` assigns through the dispatch service (lifecycle, history, live push).
        """
        status = self.status(plan_id)
        if status is None:
            raise LookupError(f"no plan with id {plan_id}")
        if status["status"] not in ("done", "stopped") or not status.get("plan"):
            raise PlanInputError(
                "status", f"plan {plan_id} is {status['status']}; only a finished plan can be published"
            )
        plan = status["plan"]
        stops = [
            (route["worker_id"], stop["order_id"], seq, datetime.fromisoformat(stop["arrival"]),
             datetime.fromisoformat(stop["start"]), datetime.fromisoformat(stop["end"]))
            for route in plan["routes"] for seq, stop in enumerate(route["stops"])
        ]  # fmt: skip
        result = apply([(order_id, worker_id) for worker_id, order_id, *_ in stops])
        now = self._clock.now()
        with session_scope(self._sessions) as session:
            plans_repo.publish_plan(session, plan_id=plan_id, stops=stops)
            audit_repo.record(session, actor_id=actor.id, action="publish-plan", subject_type="plan", subject_id=plan_id, at=now,
                              details={"assigned": len(result["assigned"]), "kept": len(result["kept"])})  # fmt: skip
        return {"id": plan_id, "published": True, **result}

    def status(self, plan_id: int) -> dict[str, Any] | None:
        with session_scope(self._sessions) as session:
            stored = plans_repo.get_plan(session, plan_id)
        if stored is None:
            return None
        job = dict(stored.payload.get("job", {}))
        if job.get("state") in ("queued", "running") and plan_id not in self._stops:
            started = stored.created_at
            if self._clock.now() > started + timedelta(seconds=float(job.get("seconds", 0))) + GRACE:
                job["state"] = "interrupted"  # the process that ran it is gone
        return {"id": plan_id, "day": stored.day.isoformat(), "status": job.get("state"), "progress": job.get("progress"),
                "plan": stored.payload.get("plan"), "error": job.get("error"),
                "published": stored.status == "published", "changes": stored.payload.get("changes"),
                "violations": stored.payload.get("violations", []),
                "replan_of": job.get("replan_of")}  # fmt: skip

    def _run(self, plan_id: int, work: Any, stop: threading.Event, job: dict[str, Any]) -> None:
        began = time.monotonic()
        last_write = 0.0

        def write(**changes: Any) -> None:
            job.update(changes)
            with session_scope(self._sessions) as session:
                plans_repo.update_plan(session, plan_id=plan_id, payload={"job": dict(job)})

        def on_progress(p: Progress) -> None:
            nonlocal last_write
            progress = {"best_cost": p.objective, "elapsed_s": round(p.elapsed_s, 2), "solutions": p.solutions}
            job["progress"] = progress
            if time.monotonic() - last_write > 0.5:  # progress is polled; a write per improvement would be waste
                last_write = time.monotonic()
                write()

        try:
            write(state="running")
            plan, result = work(on_progress, stop.is_set)
            job.update(state="stopped" if stop.is_set() else "done", elapsed_s=round(time.monotonic() - began, 2))
            with session_scope(self._sessions) as session:
                plans_repo.update_plan(session, plan_id=plan_id, payload={"job": dict(job), **result},
                                       objective=float(plan.objective), cost=float(plan.travel_s))  # fmt: skip
        except Exception as exc:  # a failed job must say so, not stay "running"
            log.exception("plan %d failed", plan_id)
            write(state="failed", error=f"{type(exc).__name__}: {exc}")
        finally:
            self._stops.pop(plan_id, None)
