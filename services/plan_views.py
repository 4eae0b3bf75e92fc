"""Typed views of stored route plans, as the plans page and the plan use cases work on them.

A plan row keeps its job and result as JSON (`data.plans_repo`, the result written by `routing.day.plan_json`);
these values are what the application reads out of it: the plan as a typed `routing.plan.Plan` with its day,
zone and each route's worker name, shift and start and end points (`PlanView`), the plan checker's verdict
(`PlanViolation`), the job's state and progress (`PlanStatus`, `PlanSummary`, `JobProgress`) and the comparison
with the day's published plan (`PlanComparison`). The functions ending in `_json` are the way back to JSON,
for the HTTP API only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

from data.plans_repo import StoredPlan
from dispatch.geo import LatLon
from dispatch.localtime import zone
from routing.compare import PlanDiff
from routing.day import datetime_of, diff_json, plan_from_json, seconds_of
from routing.plan import Plan


@dataclass(frozen=True, slots=True)
class RouteFrame:
    """What a stored plan says about a route's worker beyond the `Route`: their name, their shift (seconds from
    the plan day's local midnight) and where their day starts and ends; None where the document has none."""

    name: str
    shift_start_s: int | None = None
    shift_end_s: int | None = None
    start_location: LatLon | None = None
    end_location: LatLon | None = None


@dataclass(frozen=True, slots=True)
class PlanView:
    """A stored plan's result: the typed `plan` (seconds from the local midnight of `day` in `zone`) and a
    `RouteFrame` per route's worker id."""

    plan: Plan
    day: date
    zone: tzinfo
    frames: Mapping[str, RouteFrame] = field(default_factory=dict)

    def at(self, seconds: int) -> datetime:
        """The moment `seconds` after the plan day's local midnight."""
        return datetime_of(self.day, seconds, self.zone)

    def frame(self, worker_id: str) -> RouteFrame:
        return self.frames.get(worker_id) or RouteFrame(name=worker_id)

    def name(self, worker_id: str) -> str:
        return self.frame(worker_id).name

    @property
    def order_ids(self) -> tuple[int, ...]:
        """Every order of the plan, planned or not, ascending."""
        planned = {int(s.visit_id) for r in self.plan.routes for s in r.stops}
        return tuple(sorted(planned | {int(u.visit_id) for u in self.plan.unplanned}))


@dataclass(frozen=True, slots=True)
class PlanViolation:
    """A rule of the plan checker (`routing.check`) the plan breaks: its kind ("window", "skill", …), the
    message, and the worker and order it concerns (None when it concerns none)."""

    kind: str
    message: str
    worker_id: int | None = None
    order_id: int | None = None


@dataclass(frozen=True, slots=True)
class JobProgress:
    """How far an optimisation got: the best cost so far, seconds elapsed and solutions found."""

    best_cost: float | None = None
    elapsed_s: float | None = None
    solutions: int | None = None


@dataclass(frozen=True, slots=True)
class PlanStatus:
    """One plan: its job's state ("queued", "running", "done", "stopped", "failed", "interrupted"), progress and
    error, whether it is published and was checked, what it breaks, where it came from, and its result."""

    id: int
    day: date
    state: str | None
    created_at: datetime
    published: bool = False
    checked: bool = False
    violations: tuple[PlanViolation, ...] = ()
    progress: JobProgress | None = None
    error: str | None = None
    replan_of: int | None = None
    edited_from: int | None = None
    minimise: str = "time"
    balance_workload: bool = False
    view: PlanView | None = None

    @property
    def finished(self) -> bool:
        """Whether the job ended with a plan one may publish (done, or stopped early keeping its best)."""
        return self.state in ("done", "stopped")

    @property
    def planned_count(self) -> int:
        return self.view.plan.planned_count if self.view is not None else 0


@dataclass(frozen=True, slots=True)
class PlanSummary:
    """A plan as the picker lists it; `planned`/`unplanned` are None while it has no result."""

    id: int
    day: date
    state: str | None
    published: bool
    created_at: datetime
    replan_of: int | None = None
    edited_from: int | None = None
    planned: int | None = None
    unplanned: int | None = None


@dataclass(frozen=True, slots=True)
class MovedPlan:
    """The draft a manual move made: its id, the plan it was edited from, and the rules it breaks."""

    id: int
    edited_from: int
    violations: tuple[PlanViolation, ...] = ()


@dataclass(frozen=True, slots=True)
class PlanComparison:
    """What publishing a plan would change against the day's published plan `published_id` (`diff`, seconds from
    the local midnight of `day` in `zone`); `names` are the workers' names by worker id."""

    published_id: int
    diff: PlanDiff
    day: date
    zone: tzinfo
    names: Mapping[str, str] = field(default_factory=dict)

    def at(self, seconds: int) -> datetime:
        return datetime_of(self.day, seconds, self.zone)

    def name(self, worker_id: str) -> str:
        return self.names.get(worker_id, worker_id)


# --- from storage ---------------------------------------------------------------------------------


def plan_view(document: Mapping[str, Any], day: date) -> PlanView:
    """A plan document (`routing.day.plan_json`, any schema version `plan_from_json` reads) as a `PlanView`,
    in the document's own zone (UTC when it names none). Raises ValueError for a version this server does not read."""
    tz = zone(str(document.get("timezone") or "UTC"))
    plan = plan_from_json(document, day, tz)
    frames = {}
    for r in document.get("routes", []):
        worker_id = str(r["worker_id"])
        shift_start, shift_end = r.get("shift_start"), r.get("shift_end")
        frames[worker_id] = RouteFrame(
            name=str(r.get("name", worker_id)),
            shift_start_s=seconds_of(day, datetime.fromisoformat(shift_start), tz) if shift_start else None,
            shift_end_s=seconds_of(day, datetime.fromisoformat(shift_end), tz) if shift_end else None,
            start_location=_point(r.get("start_location")),
            end_location=_point(r.get("end_location")),
        )
    return PlanView(plan=plan, day=day, zone=tz, frames=frames)


def violations_of(rows: Iterable[Mapping[str, Any]]) -> tuple[PlanViolation, ...]:
    """The checker's verdict as a plan row stores it (`routing.day.violations_json`)."""
    return tuple(
        PlanViolation(
            kind=str(v.get("kind") or "rule"),
            message=str(v.get("message") or ""),
            worker_id=_int_or_none(v.get("worker_id")),
            order_id=_int_or_none(v.get("order_id")),
        )
        for v in rows
    )


def job_progress(value: object) -> JobProgress | None:
    """A job's progress as stored and pushed (`{"best_cost", "elapsed_s", "solutions"}`); None when there is none,
    or when it is not of that shape (the plans page reads it from a pushed event, which a forged callback call
    can fill with anything)."""
    if not value or not isinstance(value, Mapping):
        return None
    best, elapsed, solutions = value.get("best_cost"), value.get("elapsed_s"), value.get("solutions")
    try:
        return JobProgress(
            best_cost=None if best is None else float(best),
            elapsed_s=None if elapsed is None else float(elapsed),
            solutions=None if solutions is None else int(solutions),
        )
    except (TypeError, ValueError, OverflowError):
        return None


def status_of(stored: StoredPlan, state: str | None, error: str | None) -> PlanStatus:
    """A plan row as a `PlanStatus`, with the job's `state` and `error` as the job service judges them (a job
    whose process died is interrupted)."""
    job = stored.payload.get("job", {})
    document = stored.payload.get("plan")
    return PlanStatus(
        id=stored.id,
        day=stored.day,
        state=state,
        created_at=stored.created_at,
        published=stored.status == "published",
        checked="checked_at" in stored.payload,
        violations=violations_of(stored.payload.get("violations", [])),
        progress=job_progress(job.get("progress")),
        error=error,
        replan_of=_int_or_none(job.get("replan_of")),
        edited_from=_int_or_none(job.get("edited_from")),
        minimise=str(job.get("minimise", "time")),
        balance_workload=bool(job.get("balance_workload")),
        view=plan_view(document, stored.day) if document else None,
    )


def summary_of(stored: StoredPlan, state: str | None) -> PlanSummary:
    job, document = stored.payload.get("job", {}), stored.payload.get("plan")
    return PlanSummary(
        id=stored.id,
        day=stored.day,
        state=state,
        published=stored.status == "published",
        created_at=stored.created_at,
        replan_of=_int_or_none(job.get("replan_of")),
        edited_from=_int_or_none(job.get("edited_from")),
        planned=sum(len(r["stops"]) for r in document["routes"]) if document else None,
        unplanned=len(document["unplanned"]) if document else None,
    )


# --- to the HTTP API ------------------------------------------------------------------------------


def violation_json(v: PlanViolation) -> dict[str, Any]:
    return {"kind": v.kind, "message": v.message, "worker_id": v.worker_id, "order_id": v.order_id}


def comparison_json(c: PlanComparison) -> dict[str, Any]:
    """`routing.day.diff_json` plus `published_id`, as `GET /api/v1/plans/{id}/compare` answers."""
    names = {int(w): name for w, name in c.names.items()}
    return {**diff_json(c.diff, c.day, names, c.zone), "published_id": c.published_id}


def _point(value: Any) -> LatLon | None:
    if isinstance(value, Mapping) and "lat" in value and "lon" in value:
        return LatLon(float(value["lat"]), float(value["lon"]))
    return None


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)
