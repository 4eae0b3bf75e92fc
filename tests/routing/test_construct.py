"""Cheapest insertion over arrays (`routing.construct`): the start PyVRP's search gets on a large day."""

from __future__ import annotations

import dataclasses
import random

from dispatch.geo import LatLon
from routing.construct import insertion_routes
from routing.plan import Plan, UnplannedReason, earliest_route, unservable_reason
from routing.problem import Problem, StopRule, Visit, Worker
from routing.pyvrp_engine import solve_pyvrp
from routing.solve import LARGE_DAY_SEARCH, relax_for_pyvrp
from routing.travel import StraightLine
from tests.routing.test_large_day import city_day

H = 3600
SKILLS = ("electric", "plumbing", "gas", "hvac")


def field_day(visits: int, workers: int, *, seed: int = 0) -> Problem:
    """The city day (`test_large_day.city_day`) at 300 sites, a tenth of the visits optional, every fifth worker a
    part-timer (6 hours of work within the shift)."""
    return city_day(visits, workers, sites=300, seed=seed, optional_share=0.1, part_timer_every=5)


def relaxed_day(visits: int, workers: int, seed: int = 0) -> tuple[Problem, dict[str, UnplannedReason]]:
    relaxed = relax_for_pyvrp(field_day(visits, workers, seed=seed))
    out = {v.id: r for v in relaxed.visits if (r := unservable_reason(relaxed, v)) is not None}
    return relaxed, out


def test_every_route_built_by_insertion_keeps_the_relaxations_rules_and_every_required_visit_is_placed() -> None:
    """Tests that each route the insertion builds is one `earliest_route` accepts on the relaxation (windows,
    shift, a part-timer's working time with its waiting counted), every visit on it goes to a worker holding
    its skills, no visit is placed twice, and on a day with room to spare no required visit is left out."""
    relaxed, out = relaxed_day(400, 40)
    routes = insertion_routes(relaxed, out)
    placed = [vid for ids in routes.values() for vid in ids]
    assert len(placed) == len(set(placed))
    required = {v.id for v in relaxed.visits if v.required and v.id not in out}
    assert required <= set(placed)
    part_timers = 0
    for worker_id, ids in routes.items():
        worker = relaxed.worker(worker_id)
        assert all(worker.qualified_for(relaxed.visit(vid)) for vid in ids)
        route = earliest_route(relaxed, worker, ids)
        assert route is not None, worker_id
        if worker.max_work_s is not None and worker.max_work_s < worker.shift_end_s - worker.shift_start_s:
            part_timers += 1
    assert part_timers >= 4


def test_the_insertion_is_the_same_every_time_and_leaves_out_an_optional_visit_dearer_to_serve_than_its_penalty() -> (
    None
):
    """Tests that two calls give the same routes, and that a visit whose penalty is below any detour to it stays
    out while the same visit required is placed."""
    relaxed, out = relaxed_day(200, 20)
    assert insertion_routes(relaxed, out) == insertion_routes(relaxed, out)
    cheap = dataclasses.replace(relaxed.visits[0], id="cheap", penalty=1)
    placed = {vid for ids in insertion_routes(relaxed.with_visit(cheap), out).values() for vid in ids}
    assert "cheap" not in placed
    required = dataclasses.replace(cheap, id="needed", penalty=None)
    placed = {vid for ids in insertion_routes(relaxed.with_visit(required), out).values() for vid in ids}
    assert "needed" in placed


def test_pyvrps_search_started_from_the_insertion_starts_shorter_than_from_a_random_solution() -> None:
    """Tests that the solution a large-day search starts from (after PyVRP's first local search) drives less when
    built by insertion than PyVRP's random start does, on three days, and that the search from it still ends with
    a plan of every visit (stopped by iteration count)."""
    random_start = dataclasses.replace(LARGE_DAY_SEARCH, insertion_start=False)
    inserted = dataclasses.replace(LARGE_DAY_SEARCH, insertion_start=True)
    for seed in range(3):
        relaxed, out = relaxed_day(600, 60, seed)
        starts: dict[bool, Plan] = {}
        for settings in (random_start, inserted):
            plan = solve_pyvrp(
                relaxed,
                stop=StopRule(max_solutions=20),
                seed=seed,
                leave_out=out,
                on_start=lambda p, s=settings, found=starts: found.setdefault(s.insertion_start, p),
                settings=settings,
            )
            assert plan is not None
        assert starts[True].travel_s < starts[False].travel_s, seed


def test_one_worker_takes_a_route_longer_than_the_arrays_first_hold() -> None:
    """Tests that a route of more stops than the arrays are first sized for (32) is built whole and keeps the
    rules: 80 short visits without windows on one worker's long shift."""
    rng = random.Random(3)
    points = [LatLon(48.8566 + rng.uniform(-0.005, 0.005), 2.3522 + rng.uniform(-0.007, 0.007)) for _ in range(81)]
    visits = [Visit(id=f"v{k}", location=k + 1, service_s=300) for k in range(80)]
    worker = Worker(id="w", start_location=0, end_location=0, shift_start_s=6 * H, shift_end_s=22 * H)
    day = Problem.from_points(points, visits=visits, workers=[worker], travel=StraightLine())
    routes = insertion_routes(day)
    assert sorted(routes["w"]) == sorted(v.id for v in visits)
    assert earliest_route(day, worker, routes["w"]) is not None
