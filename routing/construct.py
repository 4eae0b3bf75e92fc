"""A first solution for a large day by cheapest insertion over arrays, for PyVRP's search to start from.

PyVRP starts from a random solution and its first exhaustive local search: on the 1,000-visit city day that
lands at 29-34 h of travel with 94-96 routes. Cheapest insertion (every visit where it adds least, most urgent
and tightest window first, as `routing.solve.warm_routes` does for the repair) starts the same search from
79-84 routes and 24-31 h after that local search; 6,000 iterations on, the relaxation was 2.9 % shorter on the mean
of four city days and two search seeds, the 10-second plans 2.4 % and the 120-second ones 1.1 % (bench/README.md,
"Routing", twelfth session, branch `route13`). `warm_routes` times every trial placement in Python (about 3 CPU s
for 1,000 visits); here each visit's every position on every route is judged at once with numpy (Savelsbergh's
push-forward test: the earliest start at the stop before, the latest start at the stop after), so the whole city day
takes 0.13-0.21 CPU s.

What it honours is what PyVRP expresses: each visit's first window, skills, demand and capacity, the shift (leave the
start no earlier than its start, reach the end by its end) and the working time (`max_work_s`: driving and service
for every candidate, and where it binds, the best candidate timed exactly with its waiting by
`routing.plan.earliest_route`, which leaves as late as the windows allow). Breaks are not placed: it is meant for
`routing.solve.relax_for_pyvrp`'s relaxation, where PyVRP's first local search then starts from it. Optional visits
are left out when their cheapest detour costs more than their penalty; a required visit that fits nowhere is left out
too (PyVRP's search inserts it). No randomness: the same problem gives the same routes.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
from numpy.typing import NDArray

from routing.plan import earliest_route
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
    # A leg's cost as the solvers price it (`Objective.arc_cost`), per worker: per second and per metre driven.
    per_s = np.array([objective.per_travel_s + w.cost_per_hour / 3600 for w in workers])[:, None]
    per_m = np.array([objective.per_distance_m + w.cost_per_km / 1000 for w in workers])[:, None]
    skill_bit = {s: 1 << k for k, s in enumerate(sorted({s for v in visits for s in v.skills}))}
    held = np.array(
        [sum(bit for s, bit in skill_bit.items() if s in w.skills) for w in workers],
        dtype=np.int64 if len(skill_bit) < 63 else object,
    )
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
        direct = duration[prev, nxt]
        detour = per_s * (there + back - direct) + per_m * (metres[prev, x] + metres[x, nxt] - metres[prev, nxt])
        detour = np.where(ok, detour, np.inf)
        while True:
            best = int(np.argmin(detour))
            k, pos = divmod(best, slots + 1)
            if not np.isfinite(detour.flat[best]) or not binding[k]:
                break
            # The working time counts waiting too: timed exactly by `earliest_route` (leaving as late as it can).
            trial = [*routes[k][:pos], visit, *routes[k][pos:]]
            if earliest_route(problem, workers[k], [v.id for v in trial]) is not None:
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
