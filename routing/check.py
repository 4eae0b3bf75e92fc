"""An independent plan checker: recompute every time from the problem and report each broken rule.

It trusts nothing in the plan but the decisions (who visits what, in which order, when service
starts, when breaks start) and re-derives legs, arrivals, waits and returns from the problem's
matrices by the timing rules in `routing/plan.py`. It shares no code with the solvers, so tests and
the console can use it to catch a solver (or a hand-edited plan) breaking a constraint.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from enum import StrEnum

from routing.plan import BreakTaken, Plan, Route, leaves_at
from routing.problem import Problem, Worker


class ViolationKind(StrEnum):
    """Which rule a plan breaks; the value is what the console shows."""

    UNKNOWN = "unknown"
    COVERAGE = "coverage"
    NO_ROUTE = "no route"
    LEG = "leg"
    TIMING = "timing"
    WINDOW = "window"
    SKILL = "skill"
    BREAK = "break"
    SHIFT = "shift"
    MAX_WORK = "max work"
    CAPACITY = "capacity"
    PINNED = "pinned"
    PAST = "past"


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule, with the worker and visit it concerns and a message naming the numbers."""

    kind: ViolationKind
    message: str
    worker_id: str | None = None
    visit_id: str | None = None


def check(problem: Problem, plan: Plan) -> list[Violation]:
    """Every violation of `problem`'s rules in `plan`; an empty list means the plan is feasible."""
    found: list[Violation] = []
    found += _coverage(problem, plan)
    seen_workers: set[str] = set()
    for route in plan.routes:
        if not problem.has_worker(route.worker_id):
            found.append(Violation(ViolationKind.UNKNOWN, f"unknown worker {route.worker_id!r}", route.worker_id))
            continue
        if route.worker_id in seen_workers:
            found.append(Violation(ViolationKind.COVERAGE, "worker has two routes", route.worker_id))
        seen_workers.add(route.worker_id)
        if any(not problem.has_visit(s.visit_id) for s in route.stops):
            continue  # reported by _coverage; times cannot be recomputed
        found += _route(problem, problem.worker(route.worker_id), route)
    found += _pins(problem, plan)
    return found


def is_feasible(problem: Problem, plan: Plan) -> bool:
    """Whether `plan` keeps every rule of `problem` (no violations at all)."""
    return not check(problem, plan)


def _coverage(problem: Problem, plan: Plan) -> list[Violation]:
    out: list[Violation] = []
    planned = Counter(s.visit_id for r in plan.routes for s in r.stops)
    unplanned = Counter(u.visit_id for u in plan.unplanned)
    for visit_id in sorted(set(planned) | set(unplanned)):
        if not problem.has_visit(visit_id):
            out.append(Violation(ViolationKind.UNKNOWN, f"unknown visit {visit_id!r}", visit_id=visit_id))
        elif planned[visit_id] + unplanned[visit_id] > 1:
            out.append(
                Violation(
                    ViolationKind.COVERAGE,
                    f"visit appears {planned[visit_id]}x planned and {unplanned[visit_id]}x unplanned",
                    visit_id=visit_id,
                )
            )
    for v in problem.visits:
        if planned[v.id] + unplanned[v.id] == 0:
            out.append(Violation(ViolationKind.COVERAGE, "visit is neither planned nor unplanned", visit_id=v.id))
    return out


def _route(problem: Problem, worker: Worker, route: Route) -> list[Violation]:
    out: list[Violation] = []
    wid = worker.id

    def add(kind: ViolationKind, message: str, visit_id: str | None = None) -> None:
        out.append(Violation(kind, message, wid, visit_id))

    pinned = {p.visit_id for p in problem.pins_of(wid)}
    first_pinned = bool(route.stops) and route.stops[0].visit_id in pinned
    if route.start_s < worker.shift_start_s and not first_pinned:
        add(
            ViolationKind.SHIFT,
            f"departs at {_clock(route.start_s)} before the shift starts at {_clock(worker.shift_start_s)}",
        )
    if route.end_s > worker.shift_end_s:
        add(
            ViolationKind.SHIFT,
            f"returns at {_clock(route.end_s)} after the shift ends at {_clock(worker.shift_end_s)}",
        )
    if worker.max_work_s is not None and route.end_s - route.start_s > worker.max_work_s:
        add(ViolationKind.MAX_WORK, f"works {route.end_s - route.start_s} s, more than {worker.max_work_s} s")
    if problem.now_s is not None and not pinned and route.stops and route.start_s < problem.now_s:
        add(ViolationKind.PAST, f"departs at {route.start_s}, before now ({problem.now_s})")

    load = sum(problem.visit(s.visit_id).demand for s in route.stops)
    if worker.capacity is not None and load > worker.capacity:
        add(ViolationKind.CAPACITY, f"carries {load}, more than the capacity {worker.capacity}")

    breaks = sorted(route.breaks, key=lambda b: b.start_s)
    out += [Violation(ViolationKind.BREAK, m, wid) for m in _break_rules(worker, breaks, problem.now_s)]
    used: set[int] = set()
    here = worker.start_location
    free_from = route.start_s
    for stop in route.stops:
        visit = problem.visit(stop.visit_id)
        vid = visit.id
        if not visit.skills <= worker.skills:
            add(ViolationKind.SKILL, f"needs {sorted(visit.skills - worker.skills)}, which the worker lacks", vid)
        travel = problem.duration_s[here][visit.location]
        distance = problem.distance_m[here][visit.location]
        if travel is None or distance is None:
            add(ViolationKind.NO_ROUTE, f"no route from location {here} to {visit.location}", vid)
            travel, distance = stop.travel_s, stop.distance_m
        elif (stop.travel_s, stop.distance_m) != (travel, distance):
            add(
                ViolationKind.LEG,
                f"leg stated as {stop.travel_s} s/{stop.distance_m} m, is {travel} s/{distance} m",
                vid,
            )
        leave = leaves_at(problem, free_from, vid in pinned)
        early = _arrival(free_from, travel, breaks, set(used)) if leave > free_from else None
        if stop.arrival_s == early != _arrival(leave, travel, breaks, set(used)):
            add(ViolationKind.PAST, f"leaves for it at {_clock(free_from)}, before now ({_clock(leave)})", vid)
            leave = free_from  # judged as stated from here on
        arrival = _arrival(leave, travel, breaks, used)
        on_site = _rest_on_site(arrival, stop.start_s, breaks, used)
        if stop.arrival_s != arrival:
            add(ViolationKind.TIMING, f"arrival stated {stop.arrival_s}, recomputed {arrival}", vid)
        if stop.start_s < arrival:
            add(ViolationKind.TIMING, f"service starts at {stop.start_s}, before arriving at {arrival}", vid)
        if stop.end_s != stop.start_s + visit.service_s:
            add(
                ViolationKind.TIMING,
                f"ends at {stop.end_s}, not start + service = {stop.start_s + visit.service_s}",
                vid,
            )
        if stop.wait_s != max(0, stop.start_s - arrival - on_site):
            add(ViolationKind.TIMING, f"wait stated {stop.wait_s}, recomputed {stop.start_s - arrival - on_site}", vid)
        if vid not in pinned:
            if visit.window_at(stop.start_s) is None:
                add(
                    ViolationKind.WINDOW,
                    f"visit {vid} starts at {_clock(stop.start_s)}, outside its start window {_windows(problem, vid)}",
                    vid,
                )
            if problem.now_s is not None and stop.start_s < problem.now_s:
                add(ViolationKind.PAST, f"starts at {stop.start_s}, before now ({problem.now_s})", vid)
        for b in breaks:
            if b.start_s < stop.start_s + visit.service_s and stop.start_s < b.end_s:
                add(ViolationKind.BREAK, f"break {_clock(b.start_s)}–{_clock(b.end_s)} overlaps the service", vid)
        here = visit.location
        free_from = stop.start_s + visit.service_s

    back = problem.duration_s[here][worker.end_location]
    back_m = problem.distance_m[here][worker.end_location]
    if back is None or back_m is None:
        add(ViolationKind.NO_ROUTE, f"no route from location {here} back to {worker.end_location}")
        back, back_m = route.return_travel_s, route.return_distance_m
    elif (route.return_travel_s, route.return_distance_m) != (back, back_m):
        add(
            ViolationKind.LEG,
            f"return stated {route.return_travel_s} s/{route.return_distance_m} m, is {back} s/{back_m} m",
        )
    end = _arrival(free_from, back, breaks, used)
    if route.end_s != end:
        add(ViolationKind.TIMING, f"return stated at {route.end_s}, recomputed {end}")
    for b in breaks:
        if b.start_s < route.start_s < b.end_s:
            add(ViolationKind.BREAK, f"break {b.start_s}..{b.end_s} runs past the departure at {route.start_s}")
    return out


def _arrival(free_from: int, travel_s: int, breaks: list[BreakTaken], used: set[int]) -> int:
    """Leave at `free_from`; every unused break that starts before arrival stops the drive for its length."""
    t = free_from + travel_s
    for k, b in enumerate(breaks):
        if k not in used and free_from <= b.start_s < t:
            t += b.end_s - b.start_s
            used.add(k)
    return t


def _rest_on_site(arrival: int, start: int, breaks: list[BreakTaken], used: set[int]) -> int:
    """Break time taken while waiting on site between arrival and the service start."""
    rest = 0
    for k, b in enumerate(breaks):
        if k not in used and arrival <= b.start_s and b.end_s <= start:
            rest += b.end_s - b.start_s
            used.add(k)
    return rest


def _break_rules(worker: Worker, taken: list[BreakTaken], now_s: int | None) -> list[str]:
    """Each of the worker's breaks taken once, in its window, for its full length.

    With `now_s` (a plan of today) what is before now is history, as `Problem.from_now` has it: a rule whose window
    closed before now is not the plan's to keep, a break the plan has over by then is not held against it, and one
    still on at now counts from now (what is left of a rest in progress, the rule `from_now` makes of it). So a
    break placed before now keeps no rule.
    """
    messages = []
    rules = worker.breaks
    if now_s is not None:
        rules = tuple(r for r in rules if r.latest_start_s >= now_s)
        taken = [replace(b, start_s=max(b.start_s, now_s)) for b in taken if b.end_s > now_s]
    free = list(taken)
    for rule in rules:
        match = next(
            (
                b
                for b in free
                if rule.earliest_start_s <= b.start_s <= rule.latest_start_s and b.end_s - b.start_s >= rule.duration_s
            ),
            None,
        )
        if match is None:
            messages.append(
                f"no {rule.duration_s // 60}-min break starting between {_clock(rule.earliest_start_s)} and "
                f"{_clock(rule.latest_start_s)}"
            )
        else:
            free.remove(match)
    for b in free:
        messages.append(f"break {_clock(b.start_s)}–{_clock(b.end_s)} is not one of the worker's breaks")
    return messages


def _pins(problem: Problem, plan: Plan) -> list[Violation]:
    out: list[Violation] = []
    for worker in problem.workers:
        pins = problem.pins_of(worker.id)
        if not pins:
            continue
        route = plan.route_of(worker.id)
        stops = route.stops if route is not None else ()
        for k, pin in enumerate(pins):
            found = plan.stop_of(pin.visit_id)
            if found is None or found[0] != worker.id:
                where = "unplanned" if found is None else f"with {found[0]}"
                out.append(
                    Violation(ViolationKind.PINNED, f"pinned to {worker.id}, is {where}", worker.id, pin.visit_id)
                )
                continue
            if found[1].start_s != pin.start_s:
                out.append(
                    Violation(
                        ViolationKind.PINNED,
                        f"pinned at {pin.start_s}, starts at {found[1].start_s}",
                        worker.id,
                        pin.visit_id,
                    )
                )
            if k >= len(stops) or stops[k].visit_id != pin.visit_id:
                out.append(
                    Violation(ViolationKind.PINNED, f"pinned as stop {k + 1} of the route", worker.id, pin.visit_id)
                )
    return out


def _windows(problem: Problem, visit_id: str) -> str:
    """The visit's windows for its service start, as clock times (a day's problem counts seconds from midnight)."""
    windows = problem.visit(visit_id).windows
    return ", ".join(f"{_clock(w.start_s)}–{_clock(w.end_s)}" for w in windows) or "(any)"


def _clock(seconds: int) -> str:
    """Seconds from midnight as HH:MM (HH:MM:SS when not on a whole minute), e.g. 30600 -> 08:30."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")
