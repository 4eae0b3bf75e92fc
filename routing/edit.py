"""A person's edit of a plan: move one visit to another worker, recompute the times, say what breaks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from routing.check import Violation, check
from routing.plan import Plan, Route, arrive_after, earliest_route, priced, schedule_route
from routing.problem import Problem, Worker


@dataclass(frozen=True, slots=True)
class Edited:
    """The edited plan and every rule it breaks (empty when it is still feasible)."""

    plan: Plan
    violations: tuple[Violation, ...]


def move_visit(problem: Problem, plan: Plan, visit_id: str, to_worker: str) -> Edited:
    """Give `visit_id` to `to_worker` at the position where their day ends earliest.

    Only the two routes concerned (the worker who had the visit and `to_worker`) are re-timed, at the
    earliest service times that keep every rule, leaving just in time for the first visit as the
    solver does (never before the shift or `problem.now_s`); every other route is kept as planned, unless the day has
    moved on from it (`_from_now`: a visit under way that the plan had later, or a departure before now). A worker
    lacking the visit's skill gets the times they would have with it, so the skill is all the checker reports.
    When no position keeps the other rules either, the visit goes where its window puts it in the
    day, the times are laid out as they would happen (leave at shift start, wait for windows) and
    the checker reports what is broken, e.g. a window missed — the dispatcher decides whether to
    accept that.
    """
    if not problem.has_visit(visit_id):
        raise ValueError(f"visit_id: {visit_id!r} is not in this plan's problem")
    if not problem.has_worker(to_worker):
        raise ValueError(f"worker_id: {to_worker!r} is not in this plan's problem")
    routes = {r.worker_id: list(r.visit_ids) for r in plan.routes}
    touched = {to_worker}
    for worker_id, ids in routes.items():
        if visit_id in ids:
            ids.remove(visit_id)
            touched.add(worker_id)
    target = routes.setdefault(to_worker, [])
    worker = problem.worker(to_worker)
    best = _best_insertion(problem, worker, target, visit_id)
    if best is None and not worker.qualified_for(visit := problem.visit(visit_id)):
        # Time the day as if the worker had the skill, so the checker reports the skill alone and not
        # windows missed by a makeshift order of the stops.
        best = _best_insertion(problem, replace(worker, skills=worker.skills | visit.skills), target, visit_id)
    if best is None:
        ids = sorted([*target, visit_id], key=lambda v: _window_start(problem, v))
        best = _as_it_would_happen(problem, worker, ids)
    kept = {r.worker_id: r for r in plan.routes}
    new_routes = []
    for worker_id, ids in routes.items():
        if worker_id not in touched:
            new_routes.append(_from_now(problem, kept[worker_id]))
        elif worker_id == to_worker:
            new_routes.append(_leave_in_time(problem, worker, best))
        elif ids:
            w = problem.worker(worker_id)
            timed = earliest_route(problem, w, ids) or _as_it_would_happen(problem, w, ids)
            new_routes.append(_leave_in_time(problem, w, timed))
    unplanned = tuple(u for u in plan.unplanned if u.visit_id != visit_id)
    edited = replace(
        plan, routes=tuple(new_routes), unplanned=unplanned, objective=priced(problem, new_routes, unplanned)
    )
    return Edited(edited, tuple(check(problem, edited)))


def _from_now(problem: Problem, route: Route) -> Route:
    """`route` as planned, unless the day has moved on from it: then re-timed as a moved visit's route is.

    * Its visits under way (pinned) are not its first stops, in order: the worker took up another visit than the
      plan's first. They come first, as an optimised plan has them (`routing.solve._pin_order`), the rest after in
      the planned order (the checker faulted the draft "pinned as stop 1 of the route", so it could not be published).
    * Nothing of it is under way and it should have left before `problem.now_s`: it leaves now (a draft of today
      edited a minute after it was made had every such route faulted as departing in the past).
    * Its visits under way ended before now and it should have left them for the next one before now
      (`routing.plan.leaves_at`): that leg leaves now.
    Kept as planned when nothing fits: the checker then says what is broken.
    """
    if not route.stops or not problem.has_worker(route.worker_id):
        return route
    pinned = [p.visit_id for p in problem.pins_of(route.worker_id) if p.visit_id in route.visit_ids]
    if pinned:
        if list(route.visit_ids[: len(pinned)]) == pinned and not _left_before_now(problem, route, len(pinned)):
            return route
        ids = [*pinned, *(v for v in route.visit_ids if v not in pinned)]
    elif problem.now_s is None or route.start_s >= problem.now_s:
        return route
    else:
        ids = list(route.visit_ids)
    worker = problem.worker(route.worker_id)
    timed = earliest_route(problem, worker, ids)
    return route if timed is None else _leave_in_time(problem, worker, timed)


def _left_before_now(problem: Problem, route: Route, first_free: int) -> bool:
    """Whether `route` leaves its visits under way (its first `first_free` stops) for the next one before now: it
    arrives there earlier than leaving at now would let it."""
    now = problem.now_s
    if now is None or not 0 < first_free < len(route.stops) or route.stops[first_free - 1].end_s >= now:
        return False
    stop = route.stops[first_free]
    breaks = sorted((b.start_s, b.end_s - b.start_s) for b in route.breaks)
    return stop.arrival_s < arrive_after(now, stop.travel_s, stop.start_s, breaks, set())[0]


def _best_insertion(problem: Problem, worker: Worker, visit_ids: Sequence[str], visit_id: str) -> Route | None:
    """`visit_id` inserted into `visit_ids` where the worker's day ends earliest keeping every rule, or None."""
    best: Route | None = None
    for pos in range(len(visit_ids) + 1):
        candidate = earliest_route(problem, worker, [*visit_ids[:pos], visit_id, *visit_ids[pos:]])
        if candidate is not None and (best is None or candidate.end_s < best.end_s):
            best = candidate
    return best


def _leave_in_time(problem: Problem, worker: Worker, route: Route) -> Route:
    """`route` leaving just in time for its first service instead of at the earliest moment and waiting there.

    `earliest_route` departs at the shift start (or now) and waits at the first stop for its window:
    with a shift from 00:00 that is a day starting at midnight. A route with a break before its first
    service keeps its departure (the break is part of that wait).
    """
    if not route.stops or any(b.start_s < route.stops[0].start_s for b in route.breaks):
        return route
    first = route.stops[0]
    depart = max(route.start_s, first.start_s - first.travel_s)
    if depart == route.start_s:
        return route
    return schedule_route(
        problem,
        worker,
        list(route.visit_ids),
        depart_s=depart,
        service_starts_s=[s.start_s for s in route.stops],
        break_starts_s=[b.start_s for b in route.breaks],
    )


def _window_start(problem: Problem, visit_id: str) -> int:
    visit = problem.visit(visit_id)
    return visit.windows[0].start_s if visit.windows else 0


def _as_it_would_happen(problem: Problem, worker: Worker, visit_ids: Sequence[str]) -> Route:
    """Times as they would unfold: leave at shift start (or now), drive, wait for a window to open, serve.

    Each break is taken as soon as the worker is free inside its window (between visits, or after
    the last one), so the checker reports what the move breaks and not a break the layout forgot.
    """
    t = max(worker.shift_start_s, problem.now_s or 0)
    depart = t
    here = worker.start_location
    starts: list[int] = []
    pending = sorted(worker.breaks, key=lambda b: b.earliest_start_s)
    taken: list[int] = []

    def rest_if_due() -> None:
        nonlocal t
        while pending and pending[0].earliest_start_s <= t <= pending[0].latest_start_s:
            taken.append(t)
            t += pending.pop(0).duration_s

    for visit_id in visit_ids:
        rest_if_due()
        visit = problem.visit(visit_id)
        arrival = t + (problem.duration_s[here][visit.location] or 0)
        start = max(arrival, visit.windows[0].start_s) if visit.windows else arrival
        starts.append(start)
        t = start + visit.service_s
        here = visit.location
    rest_if_due()
    for b in pending:  # not yet due when the last visit ended: rest once free, inside its window
        if max(t, b.earliest_start_s) <= b.latest_start_s:
            taken.append(max(t, b.earliest_start_s))
    return schedule_route(
        problem, worker, list(visit_ids), depart_s=depart, service_starts_s=starts, break_starts_s=taken
    )
