"""VROOM (pyvroom, `bench/requirements.txt`) as a reference engine for `bench/routing.py`.

VROOM is a production route optimiser that expresses a field day's breaks natively (a break with
a start window and a duration on each vehicle), as well as skills, several windows per job and shifts:
unlike plain PyVRP it plans the Monaco and city days with every rule but one. It cannot bound a
route's span (`Worker.max_work_s`, the part-timers' six hours in a nine-hour shift), so a worker whose
span limit is shorter than their shift gets the shift's first `max_work_s` seconds: a stricter day,
every plan of which keeps Outfield's rules. Its routes are re-timed by `routing.solve.routes_plan`
and checked by `routing.check` like every other solver's.

VROOM runs at its deepest search (exploration level 5) on `threads` threads until it ends or the
budget runs out (`timeout`, the best plan so far kept). It has no iteration stop and no seed: its
search is deterministic for a given input and thread count.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta

import vroom  # pyvroom, pinned in bench/requirements.txt (installed by ./run bench)
from solomon import SCALE, integer_data

from routing.plan import Plan
from routing.problem import Problem
from routing.solomon import Instance
from routing.solve import routes_plan

EXPLORATION_LEVEL = 5
PRIORITY_REQUIRED = 50
"""VROOM assigns the jobs of the highest priority sum first (0..100): required visits, then by urgency."""


def _solve(inp: vroom.Input, seconds: float | None, threads: int) -> dict[int, list[int]]:
    """Vehicle id -> job ids in route order."""
    timeout = timedelta(seconds=seconds) if seconds is not None else None
    solution = inp.solve(exploration_level=EXPLORATION_LEVEL, nb_threads=threads, timeout=timeout)
    routes: dict[int, list[int]] = {}
    frame = solution.routes
    for vehicle, kind, job in zip(frame["vehicle_id"], frame["type"], frame["id"], strict=True):
        if str(kind) == "job":
            routes.setdefault(int(vehicle), []).append(int(job))
    return routes


def field_plan(problem: Problem, seconds: float | None, threads: int) -> Plan:
    """A field day planned by VROOM with its breaks, re-timed and priced as Outfield's plans are."""
    skills = sorted({s for v in problem.visits for s in v.skills} | {s for w in problem.workers for s in w.skills})
    skill_no = {s: k for k, s in enumerate(skills)}
    n = len(problem.duration_s)
    inp = vroom.Input()
    inp.set_durations_matrix(
        profile="car", matrix_input=[[problem.duration_s[i][j] or 0 for j in range(n)] for i in range(n)]
    )
    for k, w in enumerate(problem.workers):
        end_s = w.shift_end_s
        if w.max_work_s is not None:
            end_s = min(end_s, w.shift_start_s + w.max_work_s)
        breaks = [
            vroom.Break(
                i + 1, time_windows=[vroom.TimeWindow(b.earliest_start_s, b.latest_start_s)], service=b.duration_s
            )
            for i, b in enumerate(w.breaks)
            if b.latest_start_s + b.duration_s <= end_s
        ]
        inp.add_vehicle(
            vroom.Vehicle(
                k + 1,
                start=w.start_location,
                end=w.end_location,
                skills={skill_no[s] for s in w.skills},
                time_window=vroom.TimeWindow(w.shift_start_s, end_s),
                breaks=breaks,
            )
        )
    for k, v in enumerate(problem.visits):
        inp.add_job(
            vroom.Job(
                k + 1,
                location=v.location,
                default_service=v.service_s,
                time_windows=[vroom.TimeWindow(t.start_s, t.end_s) for t in v.windows],
                skills={skill_no[s] for s in v.skills},
                priority=(PRIORITY_REQUIRED if v.required else 0) + (6 - v.priority) * 8,
            )
        )
    routes = _solve(inp, seconds, threads)
    plan = routes_plan(
        problem,
        {problem.workers[w - 1].id: [problem.visits[j - 1].id for j in jobs] for w, jobs in routes.items()},
        {},
    )
    return dataclasses.replace(plan, engine="vroom")


def benchmark_routes(instance: Instance, seconds: float | None, threads: int) -> Sequence[list[int]]:
    """A Solomon-format instance on the integers every solver here gets (times rounded up, x 1000), distance costs."""
    times, dists = integer_data(instance)
    customers = instance.customers
    depot = customers[0]
    inp = vroom.Input()
    inp.set_durations_matrix(profile="car", matrix_input=[list(row) for row in times])
    inp.set_costs_matrix(profile="car", matrix_input=[list(row) for row in dists])
    for k in range(instance.vehicles):
        inp.add_vehicle(
            vroom.Vehicle(
                k + 1,
                start=0,
                end=0,
                capacity=[instance.capacity],
                time_window=vroom.TimeWindow(depot.ready * SCALE, depot.due * SCALE),
            )
        )
    for c in customers[1:]:
        inp.add_job(
            vroom.Job(
                c.number,
                location=c.number,
                default_service=c.service * SCALE,
                delivery=vroom.Amount([c.demand]),
                time_windows=[vroom.TimeWindow(c.ready * SCALE, c.due * SCALE)],
            )
        )
    return list(_solve(inp, seconds, threads).values())
