"""The Monaco field day's breaks modelled exactly inside PyVRP, measured against Outfield's relaxation (issue #15).

PyVRP 0.14.1 has no breaks. This bench expresses them with what it has (issue #15: "breaks may be modelled in the
engine that searches best if it can express them"):
* each visit is a required group of mutually exclusive clients: the visit as it is (one client per window), and per
  break pattern k (earliest start a_k, latest b_k, length d_k) "the break on arrival, then the visit": service
  d_k + the visit's, start (the break's) within [a_k, b_k] and d_k before the visit's window;
* each worker has one more optional client at its end location, "the break after the last visit";
* a break client loads one unit of dimension k: capacity 1 for pattern-k workers (one break a route), 0 for others;
* a break client carries a prize P, so a route takes its break where it can (every worker can, at its end, so P
  does not favour using more workers).
A route of this model keeps its break by construction; `routes_plan` re-times it with every rule.

Two uses, each in CPU seconds of this process (`time.process_time`):
* `--mode search`: PyVRP's search (plain settings) on this model for the whole budget, from a random start;
* `--mode tail`: Outfield's relaxation searched for `--first` CPU s (`FIELD_SEARCH`, as `routing.solve` at 10 s),
  its breaks put in (`warm_routes`), then `--tail` CPU s of either OR-Tools with every rule (Outfield's tail) or
  PyVRP on this model from the same routes.
One JSON line per run; travel in hours after every rule is checked (`routing.check`).

    .venv/bin/python bench/routing_exact_breaks.py --mode search --budget 10 --runs 0 1
    .venv/bin/python bench/routing_exact_breaks.py --mode tail --days 0 1 2 --runs 0 1 2
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(os.environ.get("REPO", Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import monaco_day  # noqa: E402
import numpy as np  # noqa: E402
import pyvrp  # noqa: E402

import routing.pyvrp_engine as pyvrp_engine  # noqa: E402
import routing.solve as solve_module  # noqa: E402
from routing.check import check  # noqa: E402
from routing.plan import Plan, unservable_reasons  # noqa: E402
from routing.problem import Problem, StopRule, Visit, Worker  # noqa: E402
from routing.solve import FIELD_SEARCH, PLAIN, relax_for_pyvrp, routes_plan, warm_routes  # noqa: E402


@dataclass
class Model:
    data: pyvrp.ProblemData
    visits: list[Visit]
    workers: list[Worker]
    kind: list[tuple[int | None, int | None]]  # per client: (visit index or None for an end break, pattern or None)
    clients_of: dict[tuple[int, int | None], list[int]]
    end_break: dict[str, int]
    pattern_of: dict[str, int | None]


def build(problem: Problem, prize: int, only: set[str] | None = None) -> Model:
    visits = [v for v in problem.visits if only is None or v.id in only]
    workers = list(problem.workers)
    patterns = sorted({(b.earliest_start_s, b.latest_start_s, b.duration_s) for w in workers for b in w.breaks})
    pattern_of = {
        w.id: patterns.index((w.breaks[0].earliest_start_s, w.breaks[0].latest_start_s, w.breaks[0].duration_s))
        if w.breaks
        else None
        for w in workers
    }
    depots = sorted({w.start_location for w in workers} | {w.end_location for w in workers})
    depot_index = {loc: k for k, loc in enumerate(depots)}
    where = list(depots)
    location_of: dict[int, int] = {}
    visit_loc = []
    for k, v in enumerate(visits):  # as routing.pyvrp_engine: a visit not everyone may serve has its own location
        site = v.location if all(w.qualified_for(v) for w in workers) else -1 - k
        if site not in location_of:
            location_of[site] = len(where)
            where.append(v.location)
        visit_loc.append(location_of[site])
    index = np.array(where)
    horizon = problem.horizon_s
    dur = problem.duration_array_s[np.ix_(index, index)].copy()
    missing = dur < 0
    dur[missing] = 10 * horizon
    nd = len(patterns)
    clients: list[pyvrp.Client] = []
    groups: list[pyvrp.ClientGroup] = []
    kind: list[tuple[int | None, int | None]] = []
    for k, v in enumerate(visits):
        members = []
        windows = [(w.start_s, w.end_s) for w in v.windows] or [(0, horizon)]
        options: list[tuple[int | None, int, int, int, int]] = [(None, e, end, v.service_s, 0) for e, end in windows]
        for p, (a, b, d) in enumerate(patterns):
            if any(pattern_of[w.id] == p and w.qualified_for(v) for w in workers):
                options += [(p, max(a, e - d), min(b, end - d), d + v.service_s, prize) for e, end in windows]
        for p, early, late, service, gain in options:
            if early > late:
                continue
            load = [0] * nd
            if p is not None:
                load[p] = 1
            members.append(len(clients))
            kind.append((k, p))
            clients.append(pyvrp.Client(location=visit_loc[k], delivery=load, service_duration=service,
                                        tw_early=early, tw_late=late, prize=gain, required=False, group=len(groups)))  # fmt: skip
        groups.append(pyvrp.ClientGroup(members, required=True))
    end_break = {}
    for w in workers:
        p = pattern_of[w.id]
        if p is None:
            continue
        a, b, d = patterns[p]
        load = [0] * nd
        load[p] = 1
        end_break[w.id] = len(clients)
        kind.append((None, p))
        clients.append(pyvrp.Client(location=depot_index[w.end_location], delivery=load, service_duration=d,
                                    tw_early=a, tw_late=b, prize=prize, required=False))  # fmt: skip
    profiles: dict[frozenset[str], int] = {}
    distances: list[Any] = []
    durations: list[Any] = []
    profile_of = {}
    for w in workers:
        if w.skills not in profiles:
            cost = dur.copy()
            forbidden = sorted({visit_loc[k] for k, v in enumerate(visits) if not w.qualified_for(v)})
            big = int(cost[~missing].max()) * (len(where) + 1)
            cost[missing] = big
            timing = dur.copy()
            cost[:, forbidden] = big
            timing[:, forbidden] = 10 * horizon
            np.fill_diagonal(cost, 0)
            np.fill_diagonal(timing, 0)
            profiles[w.skills] = len(distances)
            distances.append(cost)
            durations.append(timing)
        profile_of[w.id] = profiles[w.skills]
    vehicle_types = [
        pyvrp.VehicleType(
            capacity=[1 if pattern_of[w.id] == p else 0 for p in range(nd)],
            start_depot=depot_index[w.start_location],
            end_depot=depot_index[w.end_location],
            tw_early=w.shift_start_s,
            tw_late=w.shift_end_s,
            shift_duration=w.max_work_s if w.max_work_s is not None else np.iinfo(np.int64).max,
            profile=profile_of[w.id],
        )
        for w in workers
    ]
    points = problem.points
    data = pyvrp.ProblemData(
        locations=[pyvrp.Location(x=points[loc].lon, y=points[loc].lat) for loc in where],
        clients=clients,
        depots=[pyvrp.Depot(location=k) for k in range(len(depots))],
        vehicle_types=vehicle_types,
        distance_matrices=distances,
        duration_matrices=durations,
        groups=groups,
    )
    clients_of: dict[tuple[int, int | None], list[int]] = {}
    for c, (k, p) in enumerate(kind):
        if k is not None:
            clients_of.setdefault((k, p), []).append(c)
    return Model(data, visits, workers, kind, clients_of, end_break, pattern_of)


def solution_of(problem: Problem, model: Model, plan: Plan) -> pyvrp.Solution:
    """`plan`'s routes as a solution of `model`, each break as the client of the stop it comes before (or the end)."""
    index = {v.id: k for k, v in enumerate(model.visits)}
    vehicle = {w.id: t for t, w in enumerate(model.workers)}
    routes = []
    for r in plan.routes:
        pattern = model.pattern_of[r.worker_id]
        before = r.breaks[0].after_stops if r.breaks else None
        clients = []
        for i, stop in enumerate(r.stops):
            k = index[stop.visit_id]
            options = model.clients_of.get((k, pattern), []) if i == before else []
            options = options or model.clients_of[(k, None)]
            fits = [c for c in options if model.data.client(c).tw_early <= stop.start_s - (model.data.client(c).service_duration - model.visits[k].service_s) <= model.data.client(c).tw_late]  # fmt: skip
            clients.append((fits or options)[0])
        if before is not None and before >= len(r.stops) and r.worker_id in model.end_break:
            clients.append(model.end_break[r.worker_id])
        routes.append(pyvrp.Route(model.data, clients, vehicle[r.worker_id]))
    return pyvrp.Solution(model.data, routes)


def routes_of(model: Model, solution: pyvrp.Solution) -> dict[str, list[str]]:
    routes = {}
    for r in solution.routes():
        ids = [model.visits[k].id for a in r.schedule() if a.is_client() for k in [model.kind[a.idx][0]] if k is not None]  # fmt: skip
        if ids:
            routes[model.workers[r.vehicle_type()].id] = ids
    return routes


class _Route:
    def __init__(self, ids: list[str]) -> None:
        self.visit_ids = ids


class _Routes:
    """Routes as `warm_routes` reads a plan (`route_of`)."""

    def __init__(self, routes: Mapping[str, list[str]]) -> None:
        self._routes = routes

    def route_of(self, worker_id: str) -> _Route | None:
        return _Route(self._routes[worker_id]) if worker_id in self._routes else None


def checked_plan(problem: Problem, routes: Mapping[str, list[str]]) -> Plan:
    """The routes with every rule (a route that breaks one trimmed, its visits put in elsewhere), timed."""
    return routes_plan(problem, warm_routes(problem, problem.visits, _Routes(routes)), unservable_reasons(problem))  # type: ignore[arg-type]


class CpuBudget:
    def __init__(self, seconds: float) -> None:
        self.started, self.seconds, self.iterations = time.process_time(), seconds, 0

    def __call__(self, best_cost: float) -> bool:
        self.iterations += 1
        return time.process_time() - self.started >= self.seconds


def row_of(problem: Problem, plan: Plan) -> dict[str, Any]:
    return {
        "travel_h": round(plan.travel_s / 3600, 3),
        "planned": plan.planned_count,
        "violations": len(check(problem, plan)),
    }


def search(problem: Problem, budget: float, seed: int, prize: int) -> dict[str, Any]:
    started = time.process_time()
    model = build(problem, prize)
    stop = CpuBudget(budget - (time.process_time() - started))
    result = pyvrp.solve(model.data, stop, seed=seed, display=False)
    return {"iterations": stop.iterations, **row_of(problem, checked_plan(problem, routes_of(model, result.best)))}


def ortools_tail(problem: Problem, start: Plan, seconds: float) -> Plan:
    began = time.process_time()
    searched = solve_module._search

    def on_cpu(routing: Any, first: Any, params: Any) -> Any:
        params.time_limit.FromSeconds(100_000)  # ended by `should_stop` on CPU seconds
        return searched(routing, first, params)

    solve_module._search = on_cpu  # type: ignore[attr-defined]
    try:
        return solve_module._solve_ortools(
            problem, stop=StopRule(max_seconds=100_000), leave_out=unservable_reasons(problem), initial=start,
            on_progress=None, should_stop=lambda: time.process_time() - began > seconds, started=time.perf_counter(),
            fallback=start,
        )  # fmt: skip
    finally:
        solve_module._search = searched  # type: ignore[attr-defined]


def pyvrp_tail(problem: Problem, start: Plan, seconds: float, seed: int, prize: int) -> tuple[Plan, int]:
    began = time.process_time()
    model = build(problem, prize, only={s.visit_id for r in start.routes for s in r.stops})
    first = solution_of(problem, model, start)
    stop = CpuBudget(seconds - (time.process_time() - began))
    settings = dataclasses.replace(PLAIN, history_length=FIELD_SEARCH.history_length)
    result = pyvrp_engine._search(model.data, stop, seed, first, None, None, settings)
    return checked_plan(problem, routes_of(model, result.best)), stop.iterations


def tails(problem: Problem, first_s: float, tail_s: float, seed: int, prize: int) -> dict[str, Any]:
    relaxed = relax_for_pyvrp(problem)
    plan = pyvrp_engine.solve_pyvrp(
        relaxed, stop=StopRule(max_seconds=first_s), seed=seed, leave_out=unservable_reasons(relaxed),
        settings=FIELD_SEARCH, clock=time.process_time,
    )  # fmt: skip
    assert plan is not None
    start = checked_plan(problem, {r.worker_id: list(r.visit_ids) for r in plan.routes})
    exact, iterations = pyvrp_tail(problem, start, tail_s, seed, prize)
    return {
        "relaxed_h": round(start.travel_s / 3600, 3),
        "ortools_tail": row_of(problem, ortools_tail(problem, start, tail_s)),
        "pyvrp_tail": {**row_of(problem, exact), "iterations": iterations},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mode", choices=("search", "tail"), default="tail")
    parser.add_argument("--days", type=int, nargs="+", default=[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[0], help="seed = day + 10 x run")
    parser.add_argument("--budget", type=float, default=10.0, help="CPU s of --mode search")
    parser.add_argument("--first", type=float, default=7.0, help="CPU s on the relaxation (--mode tail)")
    parser.add_argument("--tail", type=float, default=3.0, help="CPU s of each tail (--mode tail)")
    parser.add_argument("--prize", type=int, default=200, help="what a break taken is worth (s of travel)")
    args = parser.parse_args(argv)
    travel, _name, _tmp = monaco_day.make_travel(False)
    for day in args.days:
        problem = monaco_day.scenario(random.Random(day), monaco_day.load_sites(), travel)
        for run in args.runs:
            seed = day + 10 * run
            row: dict[str, Any] = {"day": day, "seed": seed, "mode": args.mode, "prize": args.prize}
            if args.mode == "search":
                row.update(search(problem, args.budget, seed, args.prize))
            else:
                row.update(tails(problem, args.first, args.tail, seed, args.prize))
            row["load"] = round(os.getloadavg()[0], 1)
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
