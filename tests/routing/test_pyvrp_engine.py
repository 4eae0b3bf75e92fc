"""Outfield's PyVRP model searches like plain PyVRP when every visit can be served, stopped by iteration count."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pyvrp
from pyvrp.stop import MaxIterations

from routing.plan import UnplannedReason
from routing.problem import Problem, StopRule, Visit, Window, Worker
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


def test_a_day_whose_required_visits_do_not_all_fit_is_planned_without_pyvrps_penalty_warning() -> None:
    """Tests that one worker with a two-hour shift and seven half-hour visits gets a plan of what fits, the rest
    left out as "no qualified worker has time", and that PyVRP's PenaltyBoundWarning is not raised: the search
    expects its penalties at their bound while those visits are required, then goes on with them optional. The
    planner's log had ten lines of it, telling to check the instance, for every plan made in the afternoon."""
    h, n = 3600, 8
    legs = tuple(tuple(600 * (i != j) for j in range(n)) for i in range(n))
    worker = Worker("w", start_location=0, end_location=0, shift_start_s=8 * h, shift_end_s=10 * h)
    visits = tuple(Visit(f"v{i}", location=i, service_s=1800, windows=(Window(8 * h, 16 * h),)) for i in range(1, n))
    problem = Problem(visits=visits, workers=(worker,), duration_s=legs, distance_m=legs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plan = solve(problem, stop=StopRule(max_solutions=10_000), seed=0, engine="pyvrp")
    assert plan.planned_count == 2
    assert {u.reason for u in plan.unplanned} == {UnplannedReason.NO_TIME}
    # A ResourceWarning is the garbage collector closing something an earlier test of this process left open (a
    # socket, a file) while this one runs: not the search's; every other warning is.
    assert [w.category.__name__ for w in caught if not issubclass(w.category, ResourceWarning)] == []
