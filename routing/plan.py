"""The result of planning: routes of timed stops, breaks, totals, and the visits left out with why.

A `Plan` is a plain value; solver objects never reach it. Times are integer seconds from midnight,
distances integer metres, like the `Problem` it answers.

Timing rules (the checker in `routing/check.py` holds every plan to them):

* a route leaves its start location at `Route.start_s` and reaches its end location at `end_s`;
* a leg's `arrival_s` is the previous stop's end (or the departure) plus the leg's travel, plus
  every break that starts before the worker would otherwise arrive (the break interrupts the drive);
  in a plan made at `Problem.now_s`, a leg toward a visit not pinned leaves no earlier than now (`leaves_at`):
  a worker whose last visit under way ended before now has not already driven toward the next one;
* service starts at `start_s >= arrival_s`, inside one of the visit's windows, and ends at
  `end_s = start_s + service`; `wait_s` is the idle time before it, breaks not counted;
* a break never overlaps a service; it may also fall before the departure or after the return.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from routing.problem import Break, Problem, Visit, Worker, required_penalty


class UnplannedReason(StrEnum):
    """Why a visit is not in the plan. The value is what the console shows."""

    NO_QUALIFIED_WORKER = "no qualified worker"
    NO_ROUTE = "no route"
    WINDOW_UNREACHABLE = "window unreachable"
    OVER_CAPACITY = "demand exceeds every qualified worker's capacity"
    NO_TIME = "no qualified worker has time"
    NOT_WORTH_IT = "cheaper to leave out than to serve"


@dataclass(frozen=True, slots=True)
class Unplanned:
    """A visit left out of the plan, and why."""

    visit_id: str
    reason: UnplannedReason


@dataclass(frozen=True, slots=True)
class Stop:
    """One visit on a route, with the leg that leads to it (from the previous stop or the start)."""

    visit_id: str
    arrival_s: int
    start_s: int
    end_s: int
    wait_s: int
    travel_s: int
    distance_m: int


@dataclass(frozen=True, slots=True)
class BreakTaken:
    """A break as planned: from `start_s` to `end_s`, after the first `after_stops` stops of the route."""

    start_s: int
    end_s: int
    after_stops: int


@dataclass(frozen=True, slots=True)
class Route:
    """One worker's day: departure, stops in order, breaks, and the leg back to the end location."""

    worker_id: str
    start_s: int
    end_s: int
    stops: tuple[Stop, ...]
    breaks: tuple[BreakTaken, ...] = ()
    return_travel_s: int = 0
    return_distance_m: int = 0

    @property
    def visit_ids(self) -> tuple[str, ...]:
        """Visit ids in route order."""
        return tuple(s.visit_id for s in self.stops)

    @property
    def travel_s(self) -> int:
        """Driving time of all legs, the return included."""
        return sum(s.travel_s for s in self.stops) + self.return_travel_s

    @property
    def distance_m(self) -> int:
        """Driving distance of all legs, the return included."""
        return sum(s.distance_m for s in self.stops) + self.return_distance_m

    @property
    def wait_s(self) -> int:
        """Idle time before services (breaks not counted)."""
        return sum(s.wait_s for s in self.stops)

    @property
    def service_s(self) -> int:
        """Time spent serving visits."""
        return sum(s.end_s - s.start_s for s in self.stops)

    @property
    def span_s(self) -> int:
        """From departure to return, breaks and waiting included."""
        return self.end_s - self.start_s


@dataclass(frozen=True, slots=True)
class Plan:
    """Routes for the workers who have visits, and every other visit as `Unplanned`.

    `engine` names the solver that produced it ("ortools", "pyvrp", "pyvrp+ortools", "pyvrp+repair";
    see `routing.solve`); `objective` is its cost in the
    problem's cost units (see `routing.problem.Objective`).
    """

    routes: tuple[Route, ...]
    unplanned: tuple[Unplanned, ...] = ()
    engine: str = ""
    objective: int = 0

    @property
    def travel_s(self) -> int:
        """Driving time of all routes."""
        return sum(r.travel_s for r in self.routes)

    @property
    def distance_m(self) -> int:
        """Driving distance of all routes."""
        return sum(r.distance_m for r in self.routes)

    @property
    def wait_s(self) -> int:
        """Idle time of all routes."""
        return sum(r.wait_s for r in self.routes)

    @property
    def planned_count(self) -> int:
        """Number of visits in the routes."""
        return sum(len(r.stops) for r in self.routes)

    def route_of(self, worker_id: str) -> Route | None:
        """The worker's route, None when they have no visits."""
        return next((r for r in self.routes if r.worker_id == worker_id), None)

    def assignment(self) -> dict[str, str]:
        """visit id → worker id for every planned visit."""
        return {s.visit_id: r.worker_id for r in self.routes for s in r.stops}

    def breaks_begun(self, now_s: int) -> dict[str, list[tuple[int, int]]]:
        """worker id → (start, end) of each of their breaks the plan has begun before `now_s` (`Problem.from_now`)."""
        return {r.worker_id: [(b.start_s, b.end_s) for b in r.breaks if b.start_s < now_s] for r in self.routes}

    def stop_of(self, visit_id: str) -> tuple[str, Stop] | None:
        """(worker id, stop) of a planned visit, None when it is not planned."""
        for r in self.routes:
            for s in r.stops:
                if s.visit_id == visit_id:
                    return r.worker_id, s
        return None

    def reason_for(self, visit_id: str) -> UnplannedReason | None:
        """Why the visit was left out, None when it is planned."""
        return next((u.reason for u in self.unplanned if u.visit_id == visit_id), None)


def schedule_route(
    problem: Problem,
    worker: Worker,
    visit_ids: Sequence[str],
    *,
    depart_s: int,
    service_starts_s: Sequence[int],
    break_starts_s: Iterable[int] = (),
) -> Route:
    """Lay out one route from a solver's decisions: the order, each service start and each break start.

    Arrivals, waits, legs and the return are derived by the timing rules in this module's docstring;
    the result is not checked here (that is `routing.check`'s job).
    """
    if len(service_starts_s) != len(visit_ids):
        raise ValueError("service_starts_s must give one start per visit")
    breaks_by_start = sorted((b, _break_duration(worker, b)) for b in break_starts_s)
    pinned = {p.visit_id for p in problem.pins_of(worker.id)}
    used: set[int] = set()
    stops: list[Stop] = []
    here = worker.start_location
    free_from = depart_s
    for visit_id, start in zip(visit_ids, service_starts_s, strict=True):
        visit = problem.visit(visit_id)
        travel = problem.duration_s[here][visit.location]
        distance = problem.distance_m[here][visit.location]
        travel_s = 0 if travel is None else travel
        leave = leaves_at(problem, free_from, visit_id in pinned)
        arrival, rested_while_waiting = arrive_after(leave, travel_s, start, breaks_by_start, used)
        stops.append(
            Stop(
                visit_id=visit_id,
                arrival_s=arrival,
                start_s=start,
                end_s=start + visit.service_s,
                wait_s=max(0, start - arrival - rested_while_waiting),
                travel_s=travel_s,
                distance_m=0 if distance is None else distance,
            )
        )
        here = visit.location
        free_from = start + visit.service_s
    back = problem.duration_s[here][worker.end_location]
    back_m = problem.distance_m[here][worker.end_location]
    back_s = 0 if back is None else back
    end, _ = arrive_after(free_from, back_s, None, breaks_by_start, used) if stops else (depart_s + back_s, 0)
    taken = []
    for b, duration in breaks_by_start:
        after = sum(1 for s in stops if s.end_s <= b)
        taken.append(BreakTaken(start_s=b, end_s=b + duration, after_stops=after))
    return Route(
        worker_id=worker.id,
        start_s=depart_s,
        end_s=end,
        stops=tuple(stops),
        breaks=tuple(taken),
        return_travel_s=back_s,
        return_distance_m=0 if back_m is None else back_m,
    )


def earliest_route(problem: Problem, worker: Worker, visit_ids: Sequence[str]) -> Route | None:
    """`worker` visiting `visit_ids` in this order at the earliest times that keep every rule, or None.

    Rules kept: skills, capacity, windows, `now_s`, the worker's pinned visits at their times, the
    breaks, the shift and `max_work_s`. Breaks are placed by a small dynamic programme over "breaks
    taken so far" (taking a break earlier never makes a later stop earlier, so the earliest time per
    count is enough). When `max_work_s` binds, the worker leaves just in time for the first stop, and if that is still
    too long, as late as every rule allows (waiting counts as work). Used to warm-start the search and to test where a
    new visit fits.
    """
    visits = [problem.visit(vid) for vid in visit_ids]
    if any(not worker.qualified_for(v) for v in visits):
        return None
    if worker.capacity is not None and sum(v.demand for v in visits) > worker.capacity:
        return None
    pins = {p.visit_id: p.start_s for p in problem.pins if p.worker_id == worker.id}
    first_pinned = bool(visits) and visits[0].id in pins
    depart = worker.shift_start_s if first_pinned else max(worker.shift_start_s, problem.now_s or 0)
    if first_pinned:
        travel0 = problem.duration_s[worker.start_location][visits[0].location]
        depart = min(depart, pins[visits[0].id] - (travel0 or 0))
    found = _earliest(problem, worker, visits, pins, depart)
    if found is None:
        return None
    starts, breaks, end = found
    if worker.max_work_s is not None and end - depart > worker.max_work_s and visits and not first_pinned:
        # Leave later: just in time for the first visit, then try again.
        travel0 = problem.duration_s[worker.start_location][visits[0].location] or 0
        depart = max(depart, starts[0] - travel0)
        found = _earliest(problem, worker, visits, pins, depart)
        if found is None:
            return None
        starts, breaks, end = found
    if worker.max_work_s is not None and end - depart > worker.max_work_s and visits and not first_pinned:
        # Still too long: waiting for a window that opens later counts as work too. Leave as late as the route still
        # keeps every rule: a later departure moves no stop earlier and the return by no more than itself, so the
        # latest one has the shortest working time. PyVRP times its routes so (a part-timer's route of a long search
        # on the Monaco day was 5.5 h its way and 6.5 h with the first visit at its earliest: such routes were
        # taken apart by the repair, bench/README.md, "Routing", eleventh session).
        late, timing = _latest_departure(problem, worker, visits, pins, depart, found)
        if timing[2] - late < end - depart:
            depart, (starts, breaks, end) = late, timing
    if worker.max_work_s is not None and end - depart > worker.max_work_s:
        return None
    return schedule_route(
        problem, worker, [v.id for v in visits], depart_s=depart, service_starts_s=starts, break_starts_s=breaks
    )


def _latest_departure(
    problem: Problem,
    worker: Worker,
    visits: Sequence[Visit],
    pins: dict[str, int],
    depart: int,
    found: tuple[list[int], list[int], int],
) -> tuple[int, tuple[list[int], list[int], int]]:
    """The latest departure from `depart` on (whole seconds, by bisection) at which the route keeps every rule, with its
    earliest timing (`found`: the timing at `depart`, which does)."""
    low, high = depart, worker.shift_end_s + 1
    while high - low > 1:
        middle = (low + high) // 2
        later = _earliest(problem, worker, visits, pins, middle)
        if later is None:
            high = middle
        else:
            low, found = middle, later
    return low, found


def _earliest(
    problem: Problem, worker: Worker, visits: Sequence[Visit], pins: dict[str, int], depart: int
) -> tuple[list[int], list[int], int] | None:
    """(service starts, break starts, return time) of the earliest timing, or None."""
    rules = sorted(worker.breaks, key=lambda b: b.earliest_start_s)
    now = problem.now_s or 0
    # states[k] = (time free, service starts, break starts) with k breaks taken.
    states: dict[int, tuple[int, tuple[int, ...], tuple[int, ...]]] = {0: (depart, (), ())}
    before: list[int] = []
    for rule in rules:  # breaks that can be over before the departure (a late start, a re-plan)
        b = max(before[-1] + rules[len(before) - 1].duration_s if before else 0, rule.earliest_start_s)
        if b > rule.latest_start_s or b + rule.duration_s > depart:
            break
        before.append(b)
        states[len(before)] = (depart, (), tuple(before))
    here = worker.start_location
    for visit in visits:
        travel = problem.duration_s[here][visit.location]
        if travel is None:
            return None
        nxt: dict[int, tuple[int, tuple[int, ...], tuple[int, ...]]] = {}
        for k, (free, starts, taken) in states.items():
            for m in range(len(rules) - k + 1):
                gap = _take_breaks(leaves_at(problem, free, visit.id in pins), travel, rules[k : k + m])
                if gap is None:
                    break
                ready, new_breaks = gap
                if visit.id in pins:
                    start: int | None = pins[visit.id] if ready <= pins[visit.id] else None
                else:
                    start = visit.earliest_start(max(ready, now))
                if start is None:
                    continue
                end = start + visit.service_s
                if k + m not in nxt or end < nxt[k + m][0]:
                    nxt[k + m] = (end, (*starts, start), (*taken, *new_breaks))
        if not nxt:
            return None
        states = nxt
        here = visit.location
    back = problem.duration_s[here][worker.end_location]
    if back is None:
        return None
    best: tuple[list[int], list[int], int] | None = None
    for k, (free, starts, taken) in states.items():
        t = free + back
        after = list(taken)
        previous_end = free
        feasible = True
        for rule in rules[k:]:
            b = max(previous_end, rule.earliest_start_s)
            if b > rule.latest_start_s:
                feasible = False
                break
            if b < t:
                t += rule.duration_s  # the break interrupts the drive home
            after.append(b)
            previous_end = b + rule.duration_s
        if feasible and t <= worker.shift_end_s and (best is None or t < best[2]):
            best = (list(starts), after, t)
    return best


def leaves_at(problem: Problem, free_s: int, pinned: bool) -> int:
    """When a leg that could leave at `free_s` leaves: toward a visit not `pinned`, no earlier than `problem.now_s`."""
    if pinned or problem.now_s is None:
        return free_s
    return max(free_s, problem.now_s)


def _take_breaks(free: int, travel: int, rules: Sequence[Break]) -> tuple[int, list[int]] | None:
    """Earliest service-ready time after a leg in which `rules` breaks are all taken, and their starts."""
    ready = free + travel
    cursor = free
    starts = []
    for rule in rules:
        b = max(cursor, rule.earliest_start_s)
        if b > rule.latest_start_s:
            return None
        ready = max(ready, b) + rule.duration_s
        starts.append(b)
        cursor = b + rule.duration_s
    return ready, starts


def _break_duration(worker: Worker, start_s: int) -> int:
    """The duration of the worker's break that may start at `start_s` (the first whose window fits)."""
    for b in worker.breaks:
        if b.earliest_start_s <= start_s <= b.latest_start_s:
            return b.duration_s
    return worker.breaks[0].duration_s if worker.breaks else 0


def arrive_after(
    free_from: int, travel_s: int, service_start: int | None, breaks: list[tuple[int, int]], used: set[int]
) -> tuple[int, int]:
    """Arrival after a leg that starts at `free_from`, and break time spent waiting on site.

    A break starting before the (break-delayed) arrival interrupts the drive; one starting after it,
    and before `service_start`, is taken while waiting.
    """
    t = free_from + travel_s
    on_site = 0
    for k, (b, duration) in enumerate(breaks):
        if k in used or b < free_from:
            continue
        if b < t:
            t += duration
            used.add(k)
        elif service_start is not None and b + duration <= service_start:
            on_site += duration
            used.add(k)
    return t, on_site


@dataclass(frozen=True, slots=True)
class Progress:
    """A new best plan during a search: its cost, how long the search has run, solutions so far."""

    objective: int
    elapsed_s: float
    solutions: int
    engine: str


def unservable_reason(problem: Problem, visit: Visit) -> UnplannedReason | None:
    """Why no plan at all could include `visit`, or None when some worker could serve it alone.

    Checked in this order: skills, capacity, a route there and back, and whether any qualified
    worker could reach it within a window and still be back by the end of the shift (breaks aside).
    """
    return _unservable(problem, _alike_workers(problem), visit)


def unservable_reasons(problem: Problem, visits: Iterable[Visit] | None = None) -> dict[str, UnplannedReason]:
    """`unservable_reason` of each of `visits` (default: the problem's) that no plan could include, by visit id.

    Workers alike in everything the check reads are checked once: the 250 vehicles of a 1,000-customer
    Gehring & Homberger instance are one, and its 1,000 checks take milliseconds instead of a quarter
    of a second (bench/routing_overhead.py).
    """
    alike = _alike_workers(problem)
    found = {}
    for visit in problem.visits if visits is None else visits:
        reason = _unservable(problem, alike, visit)
        if reason is not None:
            found[visit.id] = reason
    return found


class _Reach(NamedTuple):
    """What decides whether a worker could serve a visit alone (see `_alike_workers`)."""

    skills: frozenset[str]
    capacity: int | None
    origin: int  # where and when the worker is next free: after their last pinned visit, or at the start
    ready_s: int
    end_location: int
    shift_end_s: int
    max_work_s: int | None  # None also for a worker with pinned visits (their span is not checked here)


def _alike_workers(problem: Problem) -> tuple[_Reach, ...]:
    """One `_Reach` per group of workers that `unservable_reason` cannot tell apart, in the workers' order."""
    pinned = {p.worker_id for p in problem.pins}
    now = problem.now_s or 0
    alike: dict[_Reach, None] = {}
    for w in problem.workers:
        if w.id in pinned:
            origin, ready = _origin(problem, w)
            reach = _Reach(w.skills, w.capacity, origin, ready, w.end_location, w.shift_end_s, None)
        else:
            ready = max(w.shift_start_s, now)
            reach = _Reach(w.skills, w.capacity, w.start_location, ready, w.end_location, w.shift_end_s, w.max_work_s)
        alike[reach] = None
    return tuple(alike)


def _unservable(problem: Problem, alike: Sequence[_Reach], visit: Visit) -> UnplannedReason | None:
    qualified = [w for w in alike if visit.skills <= w.skills]
    if not qualified:
        return UnplannedReason.NO_QUALIFIED_WORKER
    sized = [w for w in qualified if w.capacity is None or visit.demand <= w.capacity]
    if not sized:
        return UnplannedReason.OVER_CAPACITY
    reachable = [w for w in sized if _reaches(problem, w, visit)]
    if not reachable:
        return UnplannedReason.NO_ROUTE
    if any(_solo_trip_fits(problem, w, visit) for w in reachable):
        return None
    return UnplannedReason.WINDOW_UNREACHABLE


def _origin(problem: Problem, worker: Worker) -> tuple[int, int]:
    """Where and when the worker is next free: after their last pinned visit, or at the start."""
    pins = problem.pins_of(worker.id)
    if pins:
        last = problem.visit(pins[-1].visit_id)
        return last.location, leaves_at(problem, pins[-1].start_s + last.service_s, False)
    return worker.start_location, max(worker.shift_start_s, problem.now_s or 0)


def _reaches(problem: Problem, worker: _Reach, visit: Visit) -> bool:
    return (
        problem.duration_s[worker.origin][visit.location] is not None
        and problem.duration_s[visit.location][worker.end_location] is not None
    )


def _solo_trip_fits(problem: Problem, worker: _Reach, visit: Visit) -> bool:
    there = problem.duration_s[worker.origin][visit.location]
    back = problem.duration_s[visit.location][worker.end_location]
    if there is None or back is None:
        return False
    start = visit.earliest_start(max(worker.ready_s + there, problem.now_s or 0))
    if start is None:
        return False
    home = start + visit.service_s + back
    if home > worker.shift_end_s:
        return False
    if worker.max_work_s is not None:
        return there + visit.service_s + back <= worker.max_work_s
    return True


def unplanned_reason(problem: Problem, routes: Sequence[Route], visit: Visit) -> UnplannedReason:
    """Why a solver left `visit` out of `routes`.

    Beyond `unservable_reason`: an optional visit whose penalty is below the cheapest detour into
    any qualified worker's route is NOT_WORTH_IT; anything else did not fit in anyone's day (NO_TIME).
    """
    reason = unservable_reason(problem, visit)
    if reason is not None:
        return reason
    if visit.penalty is not None and visit.penalty < _cheapest_detour(problem, routes, visit):
        return UnplannedReason.NOT_WORTH_IT
    return UnplannedReason.NO_TIME


def _cheapest_detour(problem: Problem, routes: Sequence[Route], visit: Visit) -> float:
    by_worker = {r.worker_id: r for r in routes}
    best = float("inf")
    objective = problem.objective
    for worker in problem.workers:
        if not worker.qualified_for(visit):
            continue
        route = by_worker.get(worker.id)
        path = [worker.start_location]
        path += [problem.visit(s.visit_id).location for s in route.stops] if route else []
        path.append(worker.end_location)
        for a, b in zip(path, path[1:], strict=False):
            legs = (
                (problem.duration_s[a][visit.location], problem.distance_m[a][visit.location]),
                (problem.duration_s[visit.location][b], problem.distance_m[visit.location][b]),
                (problem.duration_s[a][b], problem.distance_m[a][b]),
            )
            if any(d is None or m is None for d, m in legs):
                continue
            (d1, m1), (d2, m2), (d0, m0) = legs
            assert d1 is not None and m1 is not None and d2 is not None and m2 is not None
            assert d0 is not None and m0 is not None
            detour = (
                objective.arc_cost(worker, d1, m1)
                + objective.arc_cost(worker, d2, m2)
                - objective.arc_cost(worker, d0, m0)
            )
            best = min(best, detour)
    return best


class ChangeKind(StrEnum):
    """What a re-plan changed about one visit, as its worker is told."""

    ADDED = "added"
    REMOVED = "removed"
    MOVED = "moved"
    RETIMED = "retimed"


@dataclass(frozen=True, slots=True)
class Change:
    """One change for one worker.

    ADDED: a visit new to the plan (or planned again) is now `worker_id`'s. REMOVED: `worker_id` no
    longer has it and nobody else does (cancelled or left out). MOVED: it went from
    `from_worker_id` to `worker_id`. RETIMED: same worker, the start moved by at least the
    threshold (`previous_start_s` → `start_s`).
    """

    worker_id: str
    visit_id: str
    kind: ChangeKind
    from_worker_id: str | None = None
    previous_start_s: int | None = None
    start_s: int | None = None

    def concerns(self, worker_id: str) -> bool:
        """Whether `worker_id` must be told (a MOVED visit concerns both workers)."""
        return worker_id in (self.worker_id, self.from_worker_id)


def diff_plans(
    previous: Plan, current: Plan, *, retime_threshold_s: int = 60, facts: Collection[str] = ()
) -> list[Change]:
    """What changed for whom between two plans, ordered by worker then visit.

    The one diff of two plans: `routing.solve.replan` reports it as its changes and
    `routing.compare.compare` groups it for a manager comparing a draft with the published plan, so
    both say the same. A start shifted by at least `retime_threshold_s` (either way, and by more than
    nothing) is RETIMED, unless the visit is one of `facts` (under way: a re-plan pins it where it happened,
    `routing.pins`, which is nothing to tell its worker); a visit only in `previous`'s unplanned list and now in a
    route is ADDED.
    """
    if retime_threshold_s < 0:
        raise ValueError(f"retime_threshold_s {retime_threshold_s} must be >= 0")
    before = {s.visit_id: (r.worker_id, s.start_s) for r in previous.routes for s in r.stops}
    after = {s.visit_id: (r.worker_id, s.start_s) for r in current.routes for s in r.stops}
    changes: list[Change] = []
    for visit_id, (worker_id, start) in after.items():
        old = before.get(visit_id)
        if old is None:
            changes.append(Change(worker_id, visit_id, ChangeKind.ADDED, start_s=start))
        elif old[0] != worker_id:
            changes.append(Change(worker_id, visit_id, ChangeKind.MOVED, old[0], old[1], start))
        elif old[1] != start and abs(old[1] - start) >= retime_threshold_s and visit_id not in facts:
            changes.append(Change(worker_id, visit_id, ChangeKind.RETIMED, None, old[1], start))
    for visit_id, (worker_id, start) in before.items():
        if visit_id not in after:
            changes.append(Change(worker_id, visit_id, ChangeKind.REMOVED, previous_start_s=start))
    return sorted(changes, key=lambda c: (c.worker_id, c.visit_id))


@dataclass(frozen=True, slots=True)
class Replan:
    """A re-optimised plan and the changes from the previous one."""

    plan: Plan
    changes: tuple[Change, ...]

    def changes_for(self, worker_id: str) -> tuple[Change, ...]:
        """The changes the worker must be told about."""
        return tuple(c for c in self.changes if c.concerns(worker_id))


def priced(problem: Problem, routes: Sequence[Route], unplanned: Sequence[Unplanned]) -> int:
    """What `routes` and `unplanned` cost under the problem's objective, as OR-Tools prices a plan: each leg's arc
    cost, the penalties of the visits left out and, with balancing, the largest workload."""
    objective = problem.objective
    penalties = {p: required_penalty(problem, p) for p in range(1, 6)}
    cost = sum(
        penalties[problem.visit(u.visit_id).priority]
        if problem.visit(u.visit_id).required
        else (problem.visit(u.visit_id).penalty or 0)
        for u in unplanned
    )
    for route in routes:
        worker = problem.worker(route.worker_id)
        path = [worker.start_location, *(problem.visit(vid).location for vid in route.visit_ids), worker.end_location]
        cost += sum(
            objective.arc_cost(worker, problem.duration_s[a][b] or 0, problem.distance_m[a][b] or 0)
            for a, b in zip(path, path[1:], strict=False)
        )
    if objective.balance_per_s > 0 and routes:
        cost += max(1, round(objective.balance_per_s)) * max(r.travel_s + r.service_s for r in routes)
    return cost
