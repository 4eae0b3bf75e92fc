"""Outfield's PyVRP model searches like plain PyVRP when every visit can be served, stopped by iteration count."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyvrp
from pyvrp.stop import MaxIterations

from routing.problem import StopRule
from routing.solomon import evaluate, read_instance, routes_of, to_problem
from routing.solve import solve

SOLOMON = Path(__file__).resolve().parents[2] / "data" / "datasets" / "solomon"


def test_outfield_plans_r101_as_plain_pyvrp_does_at_the_same_iteration_count() -> None:
    """Tests that on R101 (all 100 customers servable) 200 iterations of Outfield's PyVRP engine give
    plain PyVRP's distance and vehicles: required visits are required clients, not high-prize optional ones."""
    instance = read_instance(SOLOMON / "R101.txt")
    customers, depot = instance.customers, instance.customers[0]
    exact = [[instance.distance(a, b) * 1000 for b in range(len(customers))] for a in range(len(customers))]
    data = pyvrp.ProblemData(
        locations=[pyvrp.Location(x=c.x, y=c.y) for c in customers],
        clients=[
            pyvrp.Client(
                location=c.number,
                delivery=[c.demand],
                service_duration=c.service * 1000,
                tw_early=c.ready * 1000,
                tw_late=c.due * 1000,
            )
            for c in customers[1:]
        ],
        depots=[pyvrp.Depot(location=0)],
        vehicle_types=[
            pyvrp.VehicleType(
                num_available=instance.vehicles,
                capacity=[instance.capacity],
                tw_early=depot.ready * 1000,
                tw_late=depot.due * 1000,
            )
        ],
        distance_matrices=[np.array([[round(d) for d in row] for row in exact], dtype=np.int64)],
        duration_matrices=[np.array([[math.ceil(d) for d in row] for row in exact], dtype=np.int64)],
    )
    best = pyvrp.solve(data, stop=MaxIterations(200), seed=0, collect_stats=False).best
    plain = evaluate(instance, [[a.idx + 1 for a in r.schedule() if a.is_client()] for r in best.routes()])

    plan = solve(to_problem(instance), stop=StopRule(max_solutions=200), seed=0, engine="pyvrp")
    ours = evaluate(instance, routes_of(plan))
    assert ours.feasible and plain.feasible
    assert (round(ours.distance, 6), ours.vehicles) == (round(plain.distance, 6), plain.vehicles)
