"""solve(): every constraint holds in the plans it returns, on small instances stopped by solution count.

Each constraint test is built so that breaking the constraint would make a cheaper plan: a solver
that ignored it would be caught by the assertion and by the independent checker.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path

import pytest

from routing.check import check
from routing.plan import Plan, Progress, UnplannedReason, unservable_reason, unservable_reasons
from routing.problem import Break, Objective, Problem, StopRule, Visit, Window, Worker
from routing.solomon import evaluate, read_instance, routes_of, to_problem
from routing.solve import choose_engine, solve

H = 3600
SOLOMON = Path(__file__).resolve().parents[2] / "data" / "datasets" / "solomon"
FEW = StopRule(max_solutions=60)
ENGINES = ["ortools", "pyvrp"]


def plane(
    points_km: Sequence[tuple[float, float]], *, kmh: float = 30.0
) -> tuple[list[list[float]], list[list[float]]]:
    """Seconds and metres between points on a flat map, driven at `kmh`."""
    km = [[math.dist(a, b) for b in points_km] for a in points_km]
    return [[d * 3600 / kmh for d in row] for row in km], [[d * 1000 for d in row] for row in km]


# Depot 0 at the origin; sites 1-6 east and north of it, 1-2 km apart.
POINTS = [(0, 0), (2, 0), (4, 0), (6, 0), (0, 2), (0, 4), (0, 6)]


def make(visits: Sequence[Visit], workers: Sequence[Worker], objective: Objective | None = None) -> Problem:
    seconds, metres = plane(POINTS)
    return Problem.from_matrices(seconds, metres, visits=visits, workers=workers, objective=objective or Objective())


def worker(id: str = "w1", **changes: object) -> Worker:
    base = Worker(id, start_location=0, end_location=0, shift_start_s=8 * H, shift_end_s=17 * H)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def served_by(plan: Plan) -> dict[str, str]:
    return plan.assignment()


def assert_clean(problem: Problem, plan: Plan) -> None:
    assert check(problem, plan) == [], check(problem, plan)


# --- determinism ---------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_the_same_seed_gives_the_same_plan(engine: str) -> None:
    """Tests that solving twice with the same seed and a solution-count stop returns the identical plan."""
    problem = make([Visit(str(k), location=k, service_s=600) for k in range(1, 7)], [worker(), worker("w2")])
    first = solve(problem, stop=FEW, seed=3, engine=engine)  # type: ignore[arg-type]
    second = solve(problem, stop=FEW, seed=3, engine=engine)  # type: ignore[arg-type]
    assert first == second
    assert first.engine == engine and first.planned_count == 6


def test_all_c101_visits_are_served_within_their_windows() -> None:
    """Tests that C101 with its 25 vehicles is fully served, on time in exact arithmetic and checker-clean."""
    instance = read_instance(SOLOMON / "C101.txt")
    problem = to_problem(instance)
    plan = solve(problem, stop=StopRule(max_solutions=200), seed=0)
    assert plan.unplanned == ()
    assert_clean(problem, plan)
    result = evaluate(instance, routes_of(plan))
    assert result.feasible and result.distance == pytest.approx(828.94, abs=0.01)


def test_or_tools_serves_every_c101_visit_with_the_instances_fleet() -> None:
    """Tests that the OR-Tools engine, too, returns a complete, on-time C101 plan with 25 vehicles."""
    instance = read_instance(SOLOMON / "C101.txt")
    problem = to_problem(instance)
    plan = solve(problem, stop=StopRule(max_solutions=20), engine="ortools")
    assert plan.unplanned == () and evaluate(instance, routes_of(plan)).feasible
    assert_clean(problem, plan)


# --- constraints ---------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_a_skilled_visit_goes_to_a_qualified_worker_even_when_another_is_nearer(engine: str) -> None:
    """Tests that the gas visit next to w1's base goes to w2, the only gas-qualified worker, based far away."""
    problem = make(
        [Visit("gas", location=1, service_s=600, skills=frozenset({"gas"})), Visit("plain", location=2)],
        [worker("w1"), worker("w2", start_location=6, end_location=6, skills=frozenset({"gas"}))],
    )
    plan = solve(problem, stop=FEW, engine=engine)  # type: ignore[arg-type]
    assert served_by(plan)["gas"] == "w2"
    assert_clean(problem, plan)


@pytest.mark.parametrize("engine", ENGINES)
def test_visits_start_inside_their_windows_even_when_another_order_is_shorter(engine: str) -> None:
    """Tests that the far visit with a morning window is done first, although far-last would be shorter."""
    problem = make(
        [
            Visit("near", location=1, service_s=600, windows=(Window(10 * H, 11 * H),)),
            Visit("far", location=3, service_s=600, windows=(Window(8 * H, 9 * H),)),
        ],
        [worker()],
    )
    plan = solve(problem, stop=FEW, engine=engine)  # type: ignore[arg-type]
    route = plan.routes[0]
    assert route.visit_ids == ("far", "near")
    assert 8 * H <= route.stops[0].start_s <= 9 * H and 10 * H <= route.stops[1].start_s <= 11 * H
    assert_clean(problem, plan)


def test_a_visit_with_two_windows_uses_the_one_it_can_reach() -> None:
    """Tests that a visit open 08:00-08:05 and 14:00-15:00, unreachable by 08:05, is served in the afternoon."""
    problem = make(
        [Visit("v", location=3, service_s=600, windows=(Window(8 * H, 8 * H + 300), Window(14 * H, 15 * H)))],
        [worker()],
    )
    plan = solve(problem, stop=FEW)
    assert plan.engine == "pyvrp+ortools"  # two windows: PyVRP only seeds, OR-Tools decides
    assert 14 * H <= plan.routes[0].stops[0].start_s <= 15 * H
    assert_clean(problem, plan)


def test_the_break_is_kept_even_when_skipping_it_would_fit_another_visit() -> None:
    """Tests that a worker with a 1-hour lunch does three 2-hour visits, not four, and rests within the window."""
    lunch = Break(11 * H, 13 * H, H)
    visits = [Visit(f"v{k}", location=1, service_s=2 * H, priority=3) for k in range(4)]
    problem = make(visits, [worker(shift_start_s=8 * H, shift_end_s=17 * H, breaks=(lunch,))])
    plan = solve(problem, stop=FEW)
    assert plan.planned_count == 3
    assert [u.reason for u in plan.unplanned] == [UnplannedReason.NO_TIME]
    (taken,) = plan.routes[0].breaks
    assert 11 * H <= taken.start_s <= 13 * H and taken.end_s - taken.start_s == H
    assert_clean(problem, plan)
    without_break = problem.replace(workers=(worker(),))
    assert solve(without_break, stop=FEW).planned_count == 4


@pytest.mark.parametrize("engine", ENGINES)
def test_the_shift_end_is_never_overrun(engine: str) -> None:
    """Tests that with a shift ending 10:00, only the visits that fit are planned and the worker is back by 10:00."""
    visits = [Visit(f"v{k}", location=1, service_s=H) for k in range(3)]
    problem = make(visits, [worker(shift_end_s=10 * H)])
    plan = solve(problem, stop=FEW, engine=engine)  # type: ignore[arg-type]
    assert plan.planned_count == 1 and plan.routes[0].end_s <= 10 * H
    assert {u.reason for u in plan.unplanned} == {UnplannedReason.NO_TIME}
    assert_clean(problem, plan)


@pytest.mark.parametrize("engine", ENGINES)
def test_maximum_working_time_binds_within_a_longer_shift(engine: str) -> None:
    """Tests that a worker allowed 2.5 hours in a 9-hour shift does two 1-hour visits, not more."""
    visits = [Visit(f"v{k}", location=1, service_s=H) for k in range(4)]
    problem = make(visits, [worker(max_work_s=int(2.5 * H))])
    plan = solve(problem, stop=FEW, engine=engine)  # type: ignore[arg-type]
    assert plan.planned_count == 2 and plan.routes[0].span_s <= 2.5 * H
    assert_clean(problem, plan)


@pytest.mark.parametrize("engine", ENGINES)
def test_capacity_is_respected(engine: str) -> None:
    """Tests that two loads of 3 never share a vehicle of capacity 5."""
    visits = [Visit("a", location=1, demand=3), Visit("b", location=2, demand=3)]
    problem = make(visits, [worker(capacity=5), worker("w2", capacity=5)])
    plan = solve(problem, stop=FEW, engine=engine)  # type: ignore[arg-type]
    assert plan.planned_count == 2 and len({r.worker_id for r in plan.routes}) == 2
    assert_clean(problem, plan)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_route_may_end_somewhere_else(engine: str) -> None:
    """Tests that a worker starting at the depot and ending at site 3 drives home to site 3."""
    problem = make([Visit("v", location=1)], [worker(end_location=3)])
    plan = solve(problem, stop=FEW, engine=engine)  # type: ignore[arg-type]
    assert plan.routes[0].return_distance_m == 4000
    assert_clean(problem, plan)


@pytest.mark.parametrize("engine", ENGINES)
def test_an_arc_without_route_is_never_driven(engine: str) -> None:
    """Tests that two neighbouring sites with no road between them are served with a detour between them."""
    seconds, metres = plane(POINTS)
    for a, b in ((1, 2), (2, 1)):
        seconds[a][b] = metres[a][b] = None  # type: ignore[call-overload]
    visits = [Visit("a", location=1), Visit("b", location=2), Visit("c", location=4)]
    problem = Problem.from_matrices(seconds, metres, visits=visits, workers=[worker()])
    plan = solve(problem, stop=FEW, engine=engine)  # type: ignore[arg-type]
    ids = plan.routes[0].visit_ids
    assert sorted(ids) == ["a", "b", "c"]
    assert {ids[0], ids[1]} != {"a", "b"} and {ids[1], ids[2]} != {"a", "b"}
    assert_clean(problem, plan)


# --- left out, with reasons ----------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_without_workers_every_visit_comes_back_unplanned(engine: str) -> None:
    """Tests that a day with nobody working plans nothing and says so for each visit, rather than failing."""
    plan = solve(make([Visit("a", location=1), Visit("b", location=2)], []), stop=FEW, engine=engine)  # type: ignore[arg-type]
    assert plan.routes == () and {u.reason for u in plan.unplanned} == {UnplannedReason.NO_QUALIFIED_WORKER}
    assert len(plan.unplanned) == 2


def test_unservable_visits_come_back_with_their_reason() -> None:
    """Tests the reasons: no qualified worker, too heavy, no route there, window out of reach."""
    seconds, metres = plane(POINTS)
    for k in range(len(POINTS)):
        if k != 6:
            seconds[k][6] = seconds[6][k] = metres[k][6] = metres[6][k] = None  # type: ignore[call-overload]
    visits = [
        Visit("skill", location=1, skills=frozenset({"crane"})),
        Visit("heavy", location=1, demand=50),
        Visit("island", location=6),
        Visit("dawn", location=3, windows=(Window(8 * H, 8 * H + 60),)),
        Visit("fine", location=2),
    ]
    problem = Problem.from_matrices(seconds, metres, visits=visits, workers=[worker(capacity=10)])
    plan = solve(problem, stop=FEW)
    assert {u.visit_id: u.reason for u in plan.unplanned} == {
        "skill": UnplannedReason.NO_QUALIFIED_WORKER,
        "heavy": UnplannedReason.OVER_CAPACITY,
        "island": UnplannedReason.NO_ROUTE,
        "dawn": UnplannedReason.WINDOW_UNREACHABLE,
    }
    assert plan.routes[0].visit_ids == ("fine",)
    assert_clean(problem, plan)


def test_a_visit_only_one_worker_among_many_alike_can_serve_is_planned() -> None:
    """Tests that with twenty alike workers (checked once as a group) and one who differs (the crane, a bigger
    van, starting at site 3), the crane job, the heavy load and the 08:00 job at site 3 are all planned, and
    only the island without a road comes back unplanned; the batch check agrees with the one-visit check."""
    seconds, metres = plane(POINTS)
    for k in range(len(POINTS)):
        if k != 6:
            seconds[k][6] = seconds[6][k] = metres[k][6] = metres[6][k] = None  # type: ignore[call-overload]
    visits = [
        Visit("skill", location=1, skills=frozenset({"crane"})),
        Visit("heavy", location=2, demand=50),
        Visit("island", location=6),
        Visit("dawn", location=3, windows=(Window(8 * H, 8 * H + 60),)),
        Visit("fine", location=4),
    ]
    alike = [worker(f"w{k}", capacity=10) for k in range(20)]
    crane = worker("crane", start_location=3, end_location=3, capacity=60, skills=frozenset({"crane"}))
    problem = Problem.from_matrices(seconds, metres, visits=visits, workers=[*alike, crane])
    assert unservable_reasons(problem) == {"island": UnplannedReason.NO_ROUTE}
    assert unservable_reasons(problem) == {
        v.id: r for v in problem.visits if (r := unservable_reason(problem, v)) is not None
    }
    plan = solve(problem, stop=FEW)
    assert {u.visit_id: u.reason for u in plan.unplanned} == {"island": UnplannedReason.NO_ROUTE}
    assert {served_by(plan)[v] for v in ("skill", "heavy", "dawn")} == {"crane"}
    assert_clean(problem, plan)


@pytest.mark.parametrize("engine", ENGINES)
def test_an_optional_visit_is_left_out_when_its_penalty_is_below_the_detour(engine: str) -> None:
    """Tests that an optional visit worth 60 cost units 12 minutes away is left out, one worth a lot is served."""
    cheap = make([Visit("opt", location=3, penalty=60)], [worker()])
    plan = solve(cheap, stop=FEW, engine=engine)  # type: ignore[arg-type]
    assert plan.reason_for("opt") is UnplannedReason.NOT_WORTH_IT
    dear = make([Visit("opt", location=3, penalty=100_000)], [worker()])
    assert solve(dear, stop=FEW, engine=engine).planned_count == 1  # type: ignore[arg-type]


@pytest.mark.parametrize("engine", ENGINES)
def test_when_not_everything_fits_the_higher_priority_is_kept(engine: str) -> None:
    """Tests that of two visits needing the same single slot, the priority-1 one is served, the priority-5 one not."""
    slot = (Window(9 * H, 9 * H),)
    visits = [
        Visit("low", location=1, service_s=H, windows=slot, priority=5),
        Visit("high", location=3, service_s=H, windows=slot, priority=1),
    ]
    plan = solve(make(visits, [worker()]), stop=FEW, engine=engine)  # type: ignore[arg-type]
    assert plan.routes[0].visit_ids == ("high",) and plan.engine == engine
    assert plan.reason_for("low") is UnplannedReason.NO_TIME


# --- objective -----------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_the_objective_chooses_between_fastest_and_shortest(engine: str) -> None:
    """Tests that with roads fast one way round and short the other, time picks one order and distance the other."""
    seconds = [[0, 100, 200], [200, 0, 100], [100, 200, 0]]
    metres = [[0, 1000, 100], [100, 0, 1000], [1000, 100, 0]]
    visits = [Visit("x", location=1), Visit("y", location=2)]
    fast = Problem.from_matrices(seconds, metres, visits=visits, workers=[worker()])
    short = Problem.from_matrices(seconds, metres, visits=visits, workers=[worker()], objective=Objective(0, 1))
    assert solve(fast, stop=FEW, engine=engine).routes[0].visit_ids == ("x", "y")  # type: ignore[arg-type]
    assert solve(short, stop=FEW, engine=engine).routes[0].visit_ids == ("y", "x")  # type: ignore[arg-type]


def test_workload_balancing_spreads_the_visits() -> None:
    """Tests that four 1-hour visits go to one worker by travel alone, and to both when balancing is on."""
    visits = [Visit(f"v{k}", location=1, service_s=H) for k in range(4)]
    workers = [worker(), worker("w2")]
    alone = solve(make(visits, workers), stop=FEW)
    assert len(alone.routes) == 1
    balanced_problem = make(visits, workers, Objective(balance_per_s=1))
    balanced = solve(balanced_problem, stop=FEW)
    assert sorted(len(r.stops) for r in balanced.routes) == [2, 2]
    assert_clean(balanced_problem, balanced)


# --- engines, progress, stopping, warm start -----------------------------------------------------


def test_auto_picks_pyvrp_only_for_what_it_can_express() -> None:
    """Tests the engine choice: plain time windows go to PyVRP, breaks to OR-Tools; forcing PyVRP with breaks fails."""
    plain = make([Visit("v", location=1)], [worker()])
    with_break = make([Visit("v", location=1)], [worker(breaks=(Break(12 * H, 13 * H, 1800),))])
    assert choose_engine(plain) == "pyvrp" and choose_engine(with_break) == "ortools"
    with pytest.raises(ValueError, match="breaks"):
        solve(with_break, stop=FEW, engine="pyvrp")
    assert solve(plain, stop=FEW).engine == "pyvrp"
    assert solve(with_break, stop=FEW).engine == "pyvrp+ortools"  # PyVRP seeds, OR-Tools keeps the break
    assert solve(with_break, stop=FEW, engine="ortools").engine == "ortools"


@pytest.mark.parametrize("engine", ENGINES)
def test_progress_reports_each_new_best(engine: str) -> None:
    """Tests that progress reports come with falling costs and rising times, ending at the returned plan's cost."""
    problem = make([Visit(str(k), location=k, service_s=600) for k in range(1, 7)], [worker(), worker("w2")])
    reports: list[Progress] = []
    plan = solve(problem, stop=FEW, engine=engine, on_progress=reports.append)  # type: ignore[arg-type]
    assert reports and all(b.objective < a.objective for a, b in zip(reports, reports[1:], strict=False))
    assert all(b.elapsed_s >= a.elapsed_s for a, b in zip(reports, reports[1:], strict=False))
    assert reports[-1].objective == plan.objective and reports[0].engine == engine


@pytest.mark.parametrize("engine", ENGINES)
def test_should_stop_ends_the_search_early_with_a_valid_plan(engine: str) -> None:
    """Tests that a user stop after the first report ends the search long before the solution limit."""
    problem = make([Visit(str(k), location=k, service_s=600) for k in range(1, 7)], [worker(), worker("w2")])
    reports: list[Progress] = []
    plan = solve(
        problem,
        stop=StopRule(max_solutions=100_000),
        engine=engine,  # type: ignore[arg-type]
        on_progress=reports.append,
        should_stop=lambda: bool(reports),
    )
    assert len(reports) <= 2 and reports[-1].solutions < 1000
    assert plan.planned_count == 6
    assert_clean(problem, plan)


def test_stopping_during_the_pyvrp_seed_still_returns_a_plan_with_every_constraint() -> None:
    """Tests that a user stop at once, while PyVRP seeds a plan with breaks, returns a complete checker-clean plan."""
    lunch = Break(12 * H, 13 * H, 1800)
    problem = make(
        [Visit(str(k), location=k, service_s=H) for k in range(1, 7)],
        [worker(breaks=(lunch,)), worker("w2", breaks=(lunch,))],
    )
    plan = solve(problem, stop=StopRule(max_seconds=30), should_stop=lambda: True)
    assert plan.engine == "pyvrp+repair" and plan.planned_count == 6  # PyVRP's routes with the breaks put in
    assert_clean(problem, plan)


def test_a_previous_plan_warm_starts_the_search() -> None:
    """Tests that with one solution allowed, the plan returned is the initial plan's routes."""
    problem = make([Visit(str(k), location=k, service_s=600) for k in range(1, 7)], [worker(), worker("w2")])
    first = solve(problem, stop=FEW, engine="ortools")
    again = solve(problem, stop=StopRule(max_solutions=1), engine="ortools", initial=first)
    assert {r.worker_id: r.visit_ids for r in again.routes} == {r.worker_id: r.visit_ids for r in first.routes}
