"""Solomon VRPTW benchmark: gap of total distance to the best-known distance, per instance and as a mean.

Solvers side by side in the same run, at each time budget, with the instance's fleet:
* outfield: `routing.solve` (engine "auto", which picks PyVRP for plain VRPTW), as the console calls it;
* outfield, OR-Tools engine: `routing.solve(..., engine="ortools")` (our OR-Tools model: visits
  droppable at a large penalty, first routes by cheapest feasible insertion, then GLS);
* plain OR-Tools: PATH_CHEAPEST_ARC + GUIDED_LOCAL_SEARCH, every customer mandatory, as in the
  OR-Tools VRPTW example (written here independently of routing/);
* plain PyVRP: `pyvrp.solve` with default parameters and `MaxRuntime`.
All three get the same integer data (times and distances × 1000, travel times rounded up, so a plan on
time there is on time exactly) and every answer is re-scored by `routing.solomon.evaluate` in exact
double arithmetic. The reference is bks.csv's `dist_distance` (pure-distance BKS, exact Euclidean),
see data/datasets/solomon/SOURCES.md. "infeasible" = no complete on-time plan with the fleet.
Nothing here asserts on time; it prints a Markdown table.

    .venv/bin/python bench/solomon.py [--seconds 1 10] [--instances C101 R101 ...] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import pyvrp  # noqa: E402
from ortools.constraint_solver import pywrapcp, routing_enums_pb2  # noqa: E402
from pyvrp.stop import MaxRuntime  # noqa: E402

from routing.problem import StopRule  # noqa: E402
from routing.solomon import Evaluation, Instance, evaluate, read_instance, routes_of, to_problem  # noqa: E402
from routing.solve import solve  # noqa: E402

DATA = REPO / "data" / "datasets" / "solomon"
SCALE = 1000
Routes = list[list[int]]


def integer_data(instance: Instance) -> tuple[list[list[int]], list[list[int]]]:
    """(travel times rounded up, distances rounded), both × SCALE, as `routing.solomon.to_problem` does."""
    n = len(instance.customers)
    exact = [[instance.distance(a, b) * SCALE for b in range(n)] for a in range(n)]
    return [[math.ceil(d) for d in row] for row in exact], [[round(d) for d in row] for row in exact]


def outfield(instance: Instance, seconds: float, seed: int) -> Routes | None:
    plan = solve(to_problem(instance, scale=SCALE), stop=StopRule(max_seconds=seconds), seed=seed)
    return [list(r) for r in routes_of(plan)]


def outfield_ortools(instance: Instance, seconds: float, seed: int) -> Routes | None:
    plan = solve(to_problem(instance, scale=SCALE), stop=StopRule(max_seconds=seconds), seed=seed, engine="ortools")
    return [list(r) for r in routes_of(plan)]


def plain_ortools(instance: Instance, seconds: float, seed: int) -> Routes | None:
    """The OR-Tools VRPTW example: PATH_CHEAPEST_ARC + GLS, mandatory customers, the instance's fleet."""
    times, dists = integer_data(instance)
    customers = instance.customers
    n = len(customers)
    manager = pywrapcp.RoutingIndexManager(n, instance.vehicles, 0)
    routing = pywrapcp.RoutingModel(manager)
    cost = routing.RegisterTransitMatrix(dists)
    routing.SetArcCostEvaluatorOfAllVehicles(cost)
    service = [c.service * SCALE for c in customers]
    time_cb = routing.RegisterTransitMatrix([[service[i] + times[i][j] for j in range(n)] for i in range(n)])
    horizon = customers[0].due * SCALE
    routing.AddDimension(time_cb, horizon, horizon, False, "time")
    dim = routing.GetDimensionOrDie("time")
    for node in range(1, n):
        dim.CumulVar(manager.NodeToIndex(node)).SetRange(customers[node].ready * SCALE, customers[node].due * SCALE)
    for v in range(instance.vehicles):
        dim.CumulVar(routing.Start(v)).SetRange(0, horizon)
        dim.CumulVar(routing.End(v)).SetRange(0, horizon)
    demand = routing.RegisterUnaryTransitVector([c.demand for c in customers])
    routing.AddDimensionWithVehicleCapacity(demand, 0, [instance.capacity] * instance.vehicles, True, "load")
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(round(seconds * 1000))
    solution = routing.SolveWithParameters(params)
    if solution is None:
        return None
    routes = []
    for v in range(instance.vehicles):
        index = solution.Value(routing.NextVar(routing.Start(v)))
        route = []
        while not routing.IsEnd(index):
            route.append(manager.IndexToNode(index))
            index = solution.Value(routing.NextVar(index))
        if route:
            routes.append(route)
    return routes


def plain_pyvrp_data(instance: Instance) -> pyvrp.ProblemData:
    """The instance as plain PyVRP data, on the same integers as every solver here (times rounded up, x 1000)."""
    times, dists = integer_data(instance)
    customers = instance.customers
    depot = customers[0]
    return pyvrp.ProblemData(
        locations=[pyvrp.Location(x=c.x, y=c.y) for c in customers],
        clients=[
            pyvrp.Client(
                location=c.number,
                delivery=[c.demand],
                service_duration=c.service * SCALE,
                tw_early=c.ready * SCALE,
                tw_late=c.due * SCALE,
            )
            for c in customers[1:]
        ],
        depots=[pyvrp.Depot(location=0, tw_early=depot.ready * SCALE, tw_late=depot.due * SCALE)],
        vehicle_types=[
            pyvrp.VehicleType(
                num_available=instance.vehicles,
                capacity=[instance.capacity],
                tw_early=depot.ready * SCALE,
                tw_late=depot.due * SCALE,
            )
        ],
        distance_matrices=[np.array(dists, dtype=np.int64)],
        duration_matrices=[np.array(times, dtype=np.int64)],
    )


def plain_pyvrp(instance: Instance, seconds: float, seed: int) -> Routes | None:
    """PyVRP with default parameters on the same integer data."""
    data = plain_pyvrp_data(instance)
    result = pyvrp.solve(data, stop=MaxRuntime(seconds), seed=seed, collect_stats=False)
    if not result.best.is_feasible():
        return None
    # Client k of PyVRP is customer k + 1.
    return [[a.idx + 1 for a in r.schedule() if a.is_client()] for r in result.best.routes()]


SOLVERS: dict[str, Callable[[Instance, float, int], Routes | None]] = {
    "outfield": outfield,
    "outfield, OR-Tools engine": outfield_ortools,
    "plain OR-Tools": plain_ortools,
    "plain PyVRP": plain_pyvrp,
}


def best_known() -> dict[str, float]:
    with (DATA / "bks.csv").open(newline="") as f:
        return {row["instance"]: float(row["dist_distance"]) for row in csv.DictReader(f)}


def cell(evaluation: Evaluation | None, bks: float) -> str:
    if evaluation is None or not evaluation.feasible:
        return "infeasible"
    return f"{100 * (evaluation.distance / bks - 1):+.2f} % ({evaluation.vehicles} v)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--instances", nargs="+", default=sorted(best_known()))
    parser.add_argument("--solvers", nargs="+", default=list(SOLVERS), choices=list(SOLVERS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    bks = best_known()
    load = os.getloadavg()[0]
    started = time.perf_counter()
    results: dict[tuple[str, float, str], Evaluation | None] = {}
    for name in args.instances:
        instance = read_instance(DATA / f"{name}.txt")
        for seconds in args.seconds:
            for solver in args.solvers:
                routes = SOLVERS[solver](instance, seconds, args.seed)
                results[(name, seconds, solver)] = None if routes is None else evaluate(instance, routes)
                print(
                    f"  {name} {seconds:g} s {solver}: {cell(results[(name, seconds, solver)], bks[name])}",
                    file=sys.stderr,
                )

    print(
        f"Solomon VRPTW, {len(args.instances)} instances, fleet = the instance's; seed {args.seed}; "
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs; "
        f"load average {load:.2f} at start, {os.getloadavg()[0]:.2f} at end (other work was running: "
        f"timings are under CPU contention); total {time.perf_counter() - started:.0f} s.\n"
    )
    heads = [f"{solver} {s:g} s" for s in args.seconds for solver in args.solvers]
    print("| instance | best known | " + " | ".join(heads) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in heads) + " |")
    for name in args.instances:
        cells = [cell(results[(name, s, solver)], bks[name]) for s in args.seconds for solver in args.solvers]
        print(f"| {name} | {bks[name]:.2f} | " + " | ".join(cells) + " |")
    means, feasible = [], []
    for s in args.seconds:
        for solver in args.solvers:
            evals = [results[(name, s, solver)] for name in args.instances]
            gaps = [
                100 * (e.distance / bks[n] - 1) for n, e in zip(args.instances, evals, strict=True) if e and e.feasible
            ]
            means.append(f"{statistics.mean(gaps):+.2f} %" if gaps else "—")
            feasible.append(f"{len(gaps)} / {len(args.instances)}")
    print("| **mean gap (feasible only)** | | " + " | ".join(means) + " |")
    print("| **feasible** | | " + " | ".join(feasible) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
