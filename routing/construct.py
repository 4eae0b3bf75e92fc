"""A first solution for a large day by cheapest insertion over arrays, for PyVRP's search to start from.

PyVRP starts from a random solution and its first exhaustive local search: on the 1,000-visit city day that
lands at 29-34 h of travel with 94-96 routes. Cheapest insertion (every visit where it adds least, most urgent
and tightest window first, as `routing.solve.warm_routes` does for the repair) starts the same search from
80-86 routes, and after the same first local search and 6,000 iterations the plans were 2.5-4.8 % shorter on
three city days of four (bench/README.md, "Routing", twelfth session, branch `route13`). `warm_routes` times
every trial placement in Python (about 3 CPU s for 1,000 visits); here each visit's every position on every
route is judged at once with numpy (Savelsbergh's push-forward test: the earliest start at the stop before, the
latest start at the stop after), so the whole day takes about a tenth of a CPU second.

What it honours is what PyVRP expresses: each visit's first window, skills, demand and capacity, the shift
(leave the start no earlier than its start, reach the end by its end) and, as a necessary condition only, the
working time (driving and service within `max_work_s`; waiting is not counted). Breaks are not placed: it is
meant for `routing.solve.relax_for_pyvrp`'s relaxation, and what it misses PyVRP's first local search repairs.
Optional visits are left out when their cheapest detour costs more than their penalty; a required visit that
fits nowhere is left out too (PyVRP's search inserts it). No randomness: the same problem gives the same routes.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
from numpy.typing import NDArray

from routing.problem import Problem, Visit

_SLOTS = 32
"""Stops a route's arrays hold before they grow (doubled when a route fills them)."""


def _order(visit: Visit) -> tuple[bool, int, int]:
    """Most urgent first (required, then by priority), then tightest window first (as `warm_routes`)."""
    width = visit.windows[0].end_s - visit.windows[0].start_s if visit.windows else 10**9
    return (not visit.required, visit.priority, width)


def insertion_routes(problem: Problem, leave_out: Collection[str] = ()) -> dict[str, list[str]]:
    """Routes (worker id -> visit ids, in order) built by inserting each visit where it adds the least cost.

    Visits in `leave_out` are not placed. See the module's docstring for the rules it keeps.
    """
    workers = problem.workers
    visits = sorted((v for v in problem.visits if v.id not in leave_out), key=_order)
    if not workers or not visits:
        return {}
    n_workers = len(workers)
    now = problem.now_s or 0
    horizon = problem.horizon_s
    missing = problem.duration_array_s < 0
    duration = np.where(missing, np.inf, problem.duration_array_s.astype(np.float64))
    metres = np.where(missing, 0.0, problem.distance_array_m.astype(np.float64))
    objective = problem.objective
    # One matrix of arc costs per distinct worker cost, as the solvers price a leg (`Objective.arc_cost`).
    group_of: dict[tuple[float, float], int] = {}
    costs: list[NDArray[np.float64]] = []
    group = np.empty(n_workers, dtype=np.int64)
    for k, w in enumerate(workers):
        key = (w.cost_per_hour, w.cost_per_km)
        if key not in group_of:
            group_of[key] = len(costs)
            per_s = objective.per_travel_s + w.cost_per_hour / 3600
            per_m = objective.per_distance_m + w.cost_per_km / 1000
            costs.append(np.where(missing, np.inf, np.rint(per_s * duration + per_m * metres)))
        group[k] = group_of[key]
    cost = np.stack(costs)
    skill_bit = {s: 1 << k for k, s in enumerate(sorted({s for v in visits for s in v.skills}))}
    held = np.array([sum(bit for s, bit in skill_bit.items() if s in w.skills) for w in workers], dtype=np.int64)
    capacity = np.array([np.inf if w.capacity is None else w.capacity for w in workers])
    max_work = np.array([np.inf if w.max_work_s is None else w.max_work_s for w in workers])
    binding = max_work < np.array([w.shift_end_s - max(w.shift_start_s, now) for w in workers])
    depart = np.array([max(w.shift_start_s, now) for w in workers], dtype=np.float64)
    starts = np.array([w.start_location for w in workers], dtype=np.int64)
    ends = np.array([w.end_location for w in workers], dtype=np.int64)

    # Edge p of a worker's route runs from stop p to stop p + 1 (stop 0: the start, the last: the end):
    # where it comes from and goes to, the earliest moment the worker can leave its first stop, the latest
    # service start at its second that keeps the rest of the route on time, and that stop's window opening.
    slots = _SLOTS
    prev = np.zeros((n_workers, slots + 1), dtype=np.int64)
    nxt = np.zeros((n_workers, slots + 1), dtype=np.int64)
    leave = np.zeros((n_workers, slots + 1))
    latest = np.full((n_workers, slots + 1), -np.inf)
    opens = np.zeros((n_workers, slots + 1))
    prev[:, 0], nxt[:, 0], leave[:, 0] = starts, ends, depart
    latest[:, 0] = [w.shift_end_s for w in workers]
    busy = np.zeros(n_workers)  # driving and service on the route
    load = np.zeros(n_workers)
    routes: list[list[Visit]] = [[] for _ in workers]

    for visit in visits:
        x = visit.location
        window = visit.windows[0] if visit.windows else None
        early = max(now, window.start_s if window else 0)
        late = window.end_s if window else horizon
        need = sum(skill_bit[s] for s in visit.skills)
        fits = ((held & need) == need) & (load + visit.demand <= capacity)
        there = duration[prev, x]
        back = duration[x, nxt]
        arrive = np.maximum(leave + there, early)
        pushed = np.maximum(arrive + visit.service_s + back, opens)
        ok = fits[:, None] & (arrive <= late) & (pushed <= latest)
        ok &= busy[:, None] + visit.service_s + there + back - duration[prev, nxt] <= max_work[:, None]
        if not ok.any():
            continue
        g = group[:, None]
        detour = np.where(ok, cost[g, prev, x] + cost[g, x, nxt] - cost[g, prev, nxt], np.inf)
        while True:
            best = int(np.argmin(detour))
            k, pos = divmod(best, slots + 1)
            if not np.isfinite(detour.flat[best]) or not binding[k]:
                break
            # The working time counts waiting too: timed exactly, leaving as late as the route allows.
            trial = [*routes[k][:pos], visit, *routes[k][pos:]]
            if _least_span(problem, k, trial, duration, now) <= max_work[k]:
                break
            detour.flat[best] = np.inf
        if not np.isfinite(detour.flat[best]) or (visit.penalty is not None and detour.flat[best] > visit.penalty):
            continue
        routes[k].insert(pos, visit)
        load[k] += visit.demand
        if len(routes[k]) >= slots:
            grown = slots * 2
            extra = ((0, 0), (0, grown - slots))
            prev, nxt = np.pad(prev, extra), np.pad(nxt, extra)
            leave, opens = np.pad(leave, extra), np.pad(opens, extra)
            latest = np.pad(latest, extra, constant_values=-np.inf)
            slots = grown
        busy[k] = _time_route(problem, k, routes[k], duration, now, prev[k], nxt[k], leave[k], latest[k], opens[k])
    return {w.id: [v.id for v in route] for w, route in zip(workers, routes, strict=True) if route}


def _least_span(problem: Problem, k: int, route: list[Visit], duration: NDArray[np.float64], now: int) -> float:
    """The shortest span (leave to return) of worker `k` on `route`: leaving as late as its windows allow, since
    each second later the route leaves it returns at most a second later (waiting counts as work)."""
    worker = problem.workers[k]
    path = [worker.start_location, *(v.location for v in route), worker.end_location]
    bound = float(worker.shift_end_s)
    for p in range(len(route), 0, -1):
        visit = route[p - 1]
        bound -= visit.service_s + float(duration[path[p], path[p + 1]])
        if visit.windows:
            bound = min(bound, visit.windows[0].end_s)
    leave = max(float(max(worker.shift_start_s, now)), bound - float(duration[path[0], path[1]]))
    at = leave
    for p, visit in enumerate(route, start=1):
        at += float(duration[path[p - 1], path[p]])
        if visit.windows:
            at = max(at, visit.windows[0].start_s)
        at += visit.service_s
    return at + float(duration[path[-2], path[-1]]) - leave


def _time_route(
    problem: Problem,
    k: int,
    route: list[Visit],
    duration: NDArray[np.float64],
    now: int,
    prev: NDArray[np.int64],
    nxt: NDArray[np.int64],
    leave: NDArray[np.float64],
    latest: NDArray[np.float64],
    opens: NDArray[np.float64],
) -> float:
    """Fill worker `k`'s edge rows for `route` (earliest starts forward, latest starts backward); its busy time."""
    worker = problem.workers[k]
    path = [worker.start_location, *(v.location for v in route), worker.end_location]
    windows = [
        (max(now, v.windows[0].start_s) if v.windows else now, v.windows[0].end_s if v.windows else None) for v in route
    ]
    service = [0, *(v.service_s for v in route)]
    m = len(route)
    at = float(max(worker.shift_start_s, now))
    busy = 0.0
    for p in range(m + 1):
        prev[p], nxt[p] = path[p], path[p + 1]
        leave[p] = at + service[p]
        leg = float(duration[path[p], path[p + 1]])
        busy += service[p] + leg
        opens[p] = windows[p][0] if p < m else 0.0
        if p < m:
            at = max(at + service[p] + leg, windows[p][0])
    bound = float(worker.shift_end_s)
    for p in range(m, -1, -1):
        latest[p] = bound
        if p > 0:
            end = windows[p - 1][1]
            bound = min(
                float(end) if end is not None else bound, bound - service[p] - float(duration[path[p], path[p + 1]])
            )
    prev[m + 1 :], nxt[m + 1 :], latest[m + 1 :] = 0, 0, -np.inf
    return busy
