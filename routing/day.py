"""Turn a day of dispatch values (orders, sites, workers) into a routing Problem, and a Plan back into JSON.

Times inside routing are whole seconds from the start of the day: the office's local midnight
(`dispatch.localtime.day_bounds`; UTC when no zone is given), so a day is 23 or 25 hours long when the
clocks change. This module is where datetimes become seconds and back; the plan document names its
zone (`timezone`), so it reads back on the same axis. Location 0.. are the workers' starts and ends, then the sites.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from dispatch.geo import LatLon
from dispatch.localtime import day_bounds, zone
from dispatch.orders import WorkOrder
from dispatch.sites import Site
from dispatch.workers import BREAK_S, break_window
from dispatch.workers import Worker as DispatchWorker
from routing.check import Violation, check
from routing.compare import PlanDiff
from routing.plan import BreakTaken, Change, Plan, Route, Stop, Unplanned, UnplannedReason
from routing.problem import Break, Objective, Problem, Visit, Window, Worker
from routing.travel import TravelTimes

PLAN_SCHEMA_VERSION = 2
"""The version of the plan document `plan_json` writes (stored in `route_plans.payload` and served by the API).
Version 1 is the same shape without the key: plans stored before documents had a version."""
# What a manager may ask the day's plan to minimise; "mix" weighs a metre like 0.1 s of driving,
# i.e. time and distance count alike at 36 km/h.
GOALS = ("time", "distance", "mix")
MIX_PER_DISTANCE_M = 0.1


def objective_for(minimise: str = "time", *, balance_workload: bool = False) -> Objective:
    """The objective for `minimise` ("time", "distance" or "mix") with optional workload balancing.

    Balancing prices each second of the busiest worker's day (service + driving) like a second of
    driving, so the solver trades some travel for a fairer spread.
    """
    weights = {"time": (1.0, 0.0), "distance": (0.0, 1.0), "mix": (1.0, MIX_PER_DISTANCE_M)}
    if minimise not in weights:
        raise ValueError(f"minimise: {minimise!r} is not one of {', '.join(GOALS)}")
    per_s, per_m = weights[minimise]
    return Objective(per_travel_s=per_s, per_distance_m=per_m, balance_per_s=1.0 if balance_workload else 0.0)


@dataclass(frozen=True, slots=True)
class DayProblem:
    problem: Problem
    day: date
    points: tuple[LatLon, ...]
    zone: tzinfo = UTC
    """The zone whose local day `day` is (its seconds count from that zone's midnight)."""


def seconds_of(day: date, at: datetime, tz: tzinfo = UTC) -> int:
    """Seconds from the local midnight of `day` in `tz` (real elapsed seconds), clamped to the day (23-25 h)."""
    start, end = day_bounds(day, tz)
    return max(0, min(int((end - start).total_seconds()), int((at - start).total_seconds())))


def datetime_of(day: date, seconds: int, tz: tzinfo = UTC) -> datetime:
    """The UTC instant `seconds` after the local midnight of `day` in `tz`."""
    return day_bounds(day, tz)[0] + timedelta(seconds=seconds)


def zone_name(tz: tzinfo) -> str:
    """The IANA name a plan document stores for `tz` ("UTC" for the fixed UTC zone)."""
    return str(getattr(tz, "key", None) or "UTC")


def day_problem(
    day: date,
    orders: Sequence[WorkOrder],
    sites: Mapping[int, Site],
    workers: Sequence[DispatchWorker],
    origins: Mapping[int, LatLon],
    travel: TravelTimes,
    objective: Objective | None = None,
    *,
    tz: tzinfo = UTC,
) -> DayProblem:
    """The routing problem of `day` (the local calendar day in `tz`): each order a visit in its window, each
    worker on shift that day a vehicle.

    A worker starts from `origins` (freshest fix, else home base) and ends at home (else where they
    started); their shift that weekday (its wall-clock times in the shift's own zone) bounds the route,
    with a 30-min break in its middle third. Workers off that day, or with no place to start from, are left out.
    """
    points: list[LatLon] = []
    index: dict[tuple[float, float], int] = {}

    def at(p: LatLon) -> int:
        key = (round(p.lat, 6), round(p.lon, 6))
        if key not in index:
            index[key] = len(points)
            points.append(p)
        return index[key]

    vehicles: list[Worker] = []
    for w in workers:
        shift = next((s for s in w.shifts if day.weekday() in s.weekdays), None)
        start = origins.get(w.id) or w.home_base
        if not w.active or shift is None or start is None:
            continue
        # Through UTC: 07:00 in Monaco is 7 h after midnight in winter but 6 h on the day the clocks go forward.
        shift_start, shift_end = shift.span_on(day)  # a 24:00 end is the next midnight
        s0, s1 = seconds_of(day, shift_start, tz), seconds_of(day, shift_end, tz)
        window = break_window(shift_start, shift_end)
        breaks = (Break(seconds_of(day, window[0], tz), seconds_of(day, window[1], tz), BREAK_S),) if window else ()
        vehicles.append(
            Worker(id=str(w.id), start_location=at(start), end_location=at(w.home_base or start), shift_start_s=s0,
                   shift_end_s=s1, breaks=breaks, skills=frozenset(w.skills))
        )  # fmt: skip
    visits = [
        Visit(
            id=str(o.id),
            location=at(sites[o.site_id].location),
            service_s=o.service_duration_s,
            windows=(
                Window(
                    seconds_of(day, o.window.start, tz),
                    max(seconds_of(day, o.window.start, tz), seconds_of(day, o.window.end, tz) - o.service_duration_s),
                ),
            ),
            skills=frozenset(o.required_skills),
            priority=o.priority,
        )  # fmt: skip
        for o in orders
        if o.site_id in sites
    ]
    problem = Problem.from_points(
        points, visits=visits, workers=vehicles, travel=travel, objective=objective or Objective()
    )
    return DayProblem(problem, day, tuple(points), tz)


def plan_json(
    plan: Plan, day: date, names: Mapping[int, str], *, problem: DayProblem | None = None, tz: tzinfo | None = None
) -> dict[str, Any]:
    """A plan as the API and the plan page show it: routes with timed stops, breaks, totals, unplanned with reasons.

    With `problem` (the day the plan answers), each route also carries its worker's shift
    (`shift_start`, `shift_end`, ISO datetimes) and where the day starts and ends
    (`start_location`, `end_location`, each `{"lat", "lon"}`), so the page can measure utilisation
    over the shift and draw the route from the start point back to the end point. A route whose
    worker is not in `problem` gets none of these keys. Without `problem` the shape is the original
    one; `plan_from_json` reads both. Times count from the local midnight of `tz` (else the problem's
    zone, else UTC), named as `timezone`; they are written as UTC ISO datetimes. Raises ValueError when
    `problem` is for another day.
    """
    if problem is not None and problem.day != day:
        raise ValueError(f"problem: it is the problem of {problem.day}, not of {day}")
    tz = tz or (problem.zone if problem is not None else UTC)
    return {
        "schema_version": PLAN_SCHEMA_VERSION,
        "timezone": zone_name(tz),
        "engine": plan.engine,
        "objective": plan.objective,
        "travel_s": plan.travel_s,
        "distance_m": plan.distance_m,
        "planned": plan.planned_count,
        "routes": [_route_json(r, day, names, problem, tz) for r in plan.routes],
        "unplanned": [{"order_id": int(u.visit_id), "reason": u.reason.value} for u in plan.unplanned],
    }


def checked(problem: Problem, plan: Plan, at: str) -> dict[str, Any]:
    """What a plan row stores of the plan checker's verdict (`routing.check`) on `plan` against the problem it answers.

    `violations` is the list the page and the API show (empty: the plan keeps every rule);
    `checked_at` (ISO time) marks the row as checked, so publishing can refuse a plan never checked.
    """
    return {"violations": violations_json(check(problem, plan)), "checked_at": at}


def violations_json(violations: Iterable[Violation]) -> list[dict[str, Any]]:
    """Broken rules as the API and the plan page show them: kind, message, worker and order ids (ints or None)."""
    return [{"kind": v.kind.value, "message": v.message, "worker_id": int(v.worker_id) if v.worker_id else None,
             "order_id": int(v.visit_id) if v.visit_id else None} for v in violations]  # fmt: skip


def _route_json(
    r: Route, day: date, names: Mapping[int, str], problem: DayProblem | None, tz: tzinfo
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "worker_id": int(r.worker_id),
        "name": _name(names, r.worker_id),
        "start": _iso(day, r.start_s, tz),
        "end": _iso(day, r.end_s, tz),
        "travel_s": r.travel_s,
        "distance_m": r.distance_m,
        "wait_s": r.wait_s,
        "stops": [
            {
                "order_id": int(s.visit_id),
                "arrival": _iso(day, s.arrival_s, tz),
                "start": _iso(day, s.start_s, tz),
                "end": _iso(day, s.end_s, tz),
                "wait_s": s.wait_s,
                "travel_s": s.travel_s,
                "distance_m": s.distance_m,
            }
            for s in r.stops
        ],
        "breaks": [{"start": _iso(day, b.start_s, tz), "end": _iso(day, b.end_s, tz)} for b in r.breaks],
    }
    if problem is not None and problem.problem.has_worker(r.worker_id):
        worker = problem.problem.worker(r.worker_id)
        out["shift_start"] = _iso(day, worker.shift_start_s, tz)
        out["shift_end"] = _iso(day, worker.shift_end_s, tz)
        out["start_location"] = _point_json(problem.points[worker.start_location])
        out["end_location"] = _point_json(problem.points[worker.end_location])
    return out


def _point_json(p: LatLon) -> dict[str, float]:
    return {"lat": p.lat, "lon": p.lon}


def plan_from_json(data: Mapping[str, Any], day: date, tz: tzinfo | None = None) -> Plan:
    """A plan back from `plan_json` (e.g. the published plan a re-plan starts from), its seconds counted from
    the local midnight of `tz`, else of the document's own `timezone` (UTC when it names none).

    Each route's leg back to its end location is its `travel_s` and `distance_m` less its stops' legs. Shifts and
    start/end locations, when present, are the problem's, not the plan's, and are ignored.
    A document without `schema_version` is a version 1 plan (stored before versions), read the same;
    one of a version this code does not know raises ValueError naming `schema_version`.
    """
    version = data.get("schema_version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= PLAN_SCHEMA_VERSION:
        raise ValueError(
            f"schema_version: {str(version)[:20]!r} is not a plan version this server reads (1..{PLAN_SCHEMA_VERSION})"
        )
    if tz is None:
        tz = zone(str(data.get("timezone") or "UTC"))
    routes = []
    for r in data.get("routes", []):
        stops = tuple(
            Stop(visit_id=str(s["order_id"]), arrival_s=_s(day, s["arrival"], tz), start_s=_s(day, s["start"], tz),
                 end_s=_s(day, s["end"], tz), wait_s=int(s["wait_s"]), travel_s=int(s["travel_s"]), distance_m=int(s["distance_m"]))
            for s in r["stops"]
        )  # fmt: skip
        breaks = tuple(
            BreakTaken(
                _s(day, b["start"], tz),
                _s(day, b["end"], tz),
                sum(1 for s in stops if s.end_s <= _s(day, b["start"], tz)),
            )
            for b in r.get("breaks", [])
        )
        # The leg back is what the route's totals hold beyond its stops' legs (`plan_json` writes no separate
        # field for it): without it a stored plan read back drove less than it was planned to.
        routes.append(
            Route(
                worker_id=str(r["worker_id"]),
                start_s=_s(day, r["start"], tz),
                end_s=_s(day, r["end"], tz),
                stops=stops,
                breaks=breaks,
                return_travel_s=max(0, int(r.get("travel_s", 0)) - sum(s.travel_s for s in stops)),
                return_distance_m=max(0, int(r.get("distance_m", 0)) - sum(s.distance_m for s in stops)),
            )
        )
    unplanned = tuple(Unplanned(str(u["order_id"]), UnplannedReason(u["reason"])) for u in data.get("unplanned", []))
    return Plan(
        routes=tuple(routes),
        unplanned=unplanned,
        engine=str(data.get("engine", "")),
        objective=int(data.get("objective", 0)),
    )


def changes_json(
    changes: Sequence[Change], day: date, names: Mapping[int, str], tz: tzinfo = UTC
) -> list[dict[str, Any]]:
    """What a re-plan changes for whom, in words the console and the API show."""
    return [
        {"worker_id": int(c.worker_id), "name": _name(names, c.worker_id), "order_id": int(c.visit_id),
         "kind": c.kind.value, "from_worker_id": int(c.from_worker_id) if c.from_worker_id else None,
         "previous_start": _iso(day, c.previous_start_s, tz) if c.previous_start_s is not None else None,
         "start": _iso(day, c.start_s, tz) if c.start_s is not None else None}
        for c in changes
    ]  # fmt: skip


def diff_json(diff: PlanDiff, day: date, names: Mapping[int, str], tz: tzinfo = UTC) -> dict[str, Any]:
    """A draft compared with the published plan (`routing.compare.compare`), shaped for the plan page.

    Ids are ints and times ISO datetimes, as in `plan_json`; `reason` and `previous_reason` are the
    unplanned reasons' display values, or None. `workers` lists only workers who gain or lose visits;
    `summary` is one line ("3 visits move, 2 re-timed, 1 added, 1 dropped", or "no changes").
    """
    return {
        "moved": [
            {"order_id": int(m.visit_id), "from_worker_id": int(m.from_worker_id),
             "from_name": _name(names, m.from_worker_id), "to_worker_id": int(m.to_worker_id),
             "to_name": _name(names, m.to_worker_id), "previous_start": _iso(day, m.previous_start_s, tz),
             "start": _iso(day, m.start_s, tz)}
            for m in diff.moved
        ],
        "retimed": [
            {"order_id": int(t.visit_id), "worker_id": int(t.worker_id), "name": _name(names, t.worker_id),
             "previous_start": _iso(day, t.previous_start_s, tz), "start": _iso(day, t.start_s, tz), "shift_s": t.shift_s}
            for t in diff.retimed
        ],
        "added": [
            {"order_id": int(a.visit_id), "worker_id": int(a.worker_id), "name": _name(names, a.worker_id),
             "start": _iso(day, a.start_s, tz), "previous_reason": a.previous_reason.value if a.previous_reason else None}
            for a in diff.added
        ],
        "dropped": [
            {"order_id": int(d.visit_id), "worker_id": int(d.worker_id), "name": _name(names, d.worker_id),
             "previous_start": _iso(day, d.previous_start_s, tz), "reason": d.reason.value if d.reason else None}
            for d in diff.dropped
        ],
        "workers": [
            {"worker_id": int(w.worker_id), "name": _name(names, w.worker_id), "gained": [int(v) for v in w.gained],
             "lost": [int(v) for v in w.lost], "delta": w.delta}
            for w in diff.workers
        ],
        "summary": diff_summary(diff),
    }  # fmt: skip


def diff_summary(diff: PlanDiff) -> str:
    """One line for the page: only the non-zero counts, "no changes" when there are none."""
    moves = len(diff.moved)
    parts = [f"{moves} {'visit moves' if moves == 1 else 'visits move'}"] if moves else []
    counts = {"re-timed": len(diff.retimed), "added": len(diff.added), "dropped": len(diff.dropped)}
    parts += [f"{n} {what}" for what, n in counts.items() if n]
    return ", ".join(parts) or "no changes"


def _name(names: Mapping[int, str], worker_id: str) -> str:
    return names.get(int(worker_id), worker_id)


def _iso(day: date, seconds: int, tz: tzinfo) -> str:
    return datetime_of(day, seconds, tz).isoformat()


def _s(day: date, iso: str, tz: tzinfo) -> int:
    return seconds_of(day, datetime.fromisoformat(iso), tz)
