"""Breaks with PyVRP: the relaxation PyVRP searches keeps them, and its repaired plan is the first feasible one.

Solvers are stopped by solution count; every plan is held to every rule by `routing.check`.
"""

from __future__ import annotations

import dataclasses

import pytest

from routing.check import check
from routing.plan import Progress, earliest_route, unservable_reason
from routing.problem import Break, Problem, StopRule, Visit, Window, Worker
from routing.pyvrp_engine import solve_pyvrp
from routing.solve import break_moment, relax_for_pyvrp, routes_plan, solve, warm_routes
from tests.routing.test_field_search import field_day

H = 3600
FEW = StopRule(max_solutions=60)
LUNCH = Break(12 * H, 14 * H, 1800)


def ten_minutes_apart(visits: list[Visit], workers: list[Worker]) -> Problem:
    """Location 0 is the base; every two locations are 10 minutes and 5 km apart."""
    n = 1 + max(v.location for v in visits)
    seconds = [[0 if i == j else 600 for j in range(n)] for i in range(n)]
    metres = [[0 if i == j else 5000 for j in range(n)] for i in range(n)]
    return Problem.from_matrices(seconds, metres, visits=visits, workers=workers)


def worker(id: str = "w1") -> Worker:
    return Worker(id, start_location=0, end_location=0, shift_start_s=8 * H, shift_end_s=17 * H, breaks=(LUNCH,))


# A at 12:00 for an hour, B from 13:10 (by 13:45) for an hour, C from 14:00 (by 14:40) for 30 minutes.
# A -> B -> C fits the day with the shift merely shortened by the break, but not with the break:
# the break cannot start at 12:00 (A), and taken on the way to B it makes C start at 14:50.
A = Visit("A", location=1, service_s=H, windows=(Window(12 * H, 12 * H),))
B = Visit("B", location=2, service_s=H, windows=(Window(13 * H + 600, 13 * H + 2700),))
C = Visit("C", location=3, service_s=1800, windows=(Window(14 * H, 14 * H + 2400),))


def test_routes_planned_on_the_pyvrp_relaxation_keep_the_breaks() -> None:
    """Tests that every route PyVRP plans on the relaxation can take its break as it stands."""
    problem = ten_minutes_apart([A, B, C], [worker()])
    assert earliest_route(problem, worker(), ["A", "B", "C"]) is None
    seed = solve(relax_for_pyvrp(problem), stop=FEW, engine="pyvrp")
    assert seed.planned_count == 2
    for route in seed.routes:
        assert earliest_route(problem, problem.worker(route.worker_id), route.visit_ids) is not None


def test_a_relaxation_cut_by_half_a_break_keeps_the_last_quarter_hour_of_a_late_window() -> None:
    """Tests that a relaxation cut by half a break ends a window closing after the break opens only 15 of
    the break's 30 minutes earlier: C (14:00-14:40) may still start at 14:25, the shift ends at the break's
    length earlier, and a window closing before any break could open is kept whole."""
    early = Visit("E", location=4, service_s=600, windows=(Window(9 * H, 10 * H),))
    relaxed = relax_for_pyvrp(ten_minutes_apart([A, B, C, early], [worker()]), window_cut_share=0.5)
    assert relaxed.visit("C").windows == (Window(14 * H, 14 * H + 1500),)
    assert relaxed.visit("E").windows == (Window(9 * H, 10 * H),)
    assert relaxed.worker("w1").shift_end_s == 17 * H - 1800 and relaxed.worker("w1").breaks == ()


# P from 11:00 for 70 minutes, then D (12:00-12:30, 20 minutes) 10 minutes away at 12:20: both are over by 12:40,
# before the lunch break has to start (14:00), so the break is taken after D and neither moves.
P = Visit("P", location=1, service_s=70 * 60, windows=(Window(11 * H, 11 * H),))
D = Visit("D", location=2, service_s=1200, windows=(Window(12 * H, 12 * H + 1800),))


def test_a_visit_over_before_the_break_must_start_can_keep_its_whole_window_in_the_relaxation() -> None:
    """Tests that the relaxation asked to (`keep_before_breaks`; off by default) cuts no window of a visit that
    ends before every qualified worker's break must start (D: 12:30 + 20 min <= 14:00), still cuts one that may
    end later (C), and keeps the window of a visit only workers without breaks may serve (G)."""
    free = Worker("w9", 0, 0, 8 * H, 17 * H, skills=frozenset({"gas"}))
    late_gas = Visit("G", location=4, service_s=1800, windows=(Window(15 * H, 16 * H),), skills=frozenset({"gas"}))
    relaxed = relax_for_pyvrp(ten_minutes_apart([P, D, C, late_gas], [worker(), free]), keep_before_breaks=True)
    assert relaxed.visit("D").windows == D.windows
    assert relaxed.visit("C").windows == (Window(14 * H, 14 * H + 600),)
    assert relaxed.visit("G").windows == late_gas.windows
    cut = relax_for_pyvrp(ten_minutes_apart([P, D, C, late_gas], [worker(), free]))  # the default: off
    assert cut.visit("D").windows == (Window(12 * H, 12 * H),) and cut.visit("G").windows == (
        Window(15 * H, 15 * H + 1800),
    )


def test_a_visit_kept_whole_before_the_break_is_planned_and_its_route_keeps_the_break() -> None:
    """Tests that PyVRP on the relaxation plans P and then D at 12:20 for the one worker (with D's window cut
    by the break it could not: one of the two would be left out), and that the route takes its break as it stands."""
    problem = ten_minutes_apart([P, D], [worker()])
    cut = solve(relax_for_pyvrp(problem, keep_before_breaks=False), stop=FEW, engine="pyvrp")
    assert cut.planned_count == 1 and len(cut.unplanned) == 1
    seed = solve(relax_for_pyvrp(problem, keep_before_breaks=True), stop=FEW, engine="pyvrp")
    assert seed.routes[0].visit_ids == ("P", "D") and seed.unplanned == ()
    route = earliest_route(problem, worker(), ["P", "D"])
    assert route is not None and [s.start_s for s in route.stops] == [11 * H, 12 * H + 1200]
    assert route.breaks[0].start_s >= 12 * H + 2400


def test_a_route_a_looser_relaxation_lets_break_a_rule_is_repaired() -> None:
    """Tests that when PyVRP's route on a relaxation cut by half a break cannot take its break (A, B and C
    in a row), the breaks put in keep every window, leaving out what no longer fits."""
    problem = ten_minutes_apart([A, B, C], [worker()])
    seed = solve(relax_for_pyvrp(problem, window_cut_share=0.5), stop=FEW, engine="pyvrp")
    assert seed.routes[0].visit_ids == ("A", "B", "C")
    repaired = routes_plan(problem, warm_routes(problem, problem.visits, seed), {})
    assert repaired.routes[0].visit_ids == ("A", "B") and [u.visit_id for u in repaired.unplanned] == ["C"]
    assert check(problem, repaired) == []


def test_a_day_with_breaks_is_planned_with_every_break_in_its_window() -> None:
    """Tests that "auto" plans two of the three visits for one worker and takes the break between 12:00 and 14:00."""
    problem = ten_minutes_apart([A, B, C], [worker()])
    plan = solve(problem, stop=FEW)
    assert plan.planned_count == 2 and len(plan.unplanned) == 1
    (taken,) = plan.routes[0].breaks
    assert 12 * H <= taken.start_s <= 14 * H and taken.end_s - taken.start_s == 1800
    assert check(problem, plan) == []


def test_the_first_feasible_plan_is_the_repaired_pyvrp_seed_and_progress_ends_at_the_plan() -> None:
    """Tests that the first progress report of a day with breaks is PyVRP's plan with the breaks in, and the
    reports fall to the returned plan's cost."""
    visits = [Visit(f"v{k}", location=k, service_s=1800) for k in range(1, 9)]
    problem = ten_minutes_apart(visits, [worker(), worker("w2")])
    reports: list[Progress] = []
    plan = solve(problem, stop=FEW, on_progress=reports.append)
    assert reports[0].engine == "pyvrp+repair"
    assert all(b.objective < a.objective for a, b in zip(reports, reports[1:], strict=False))
    assert reports[-1].objective == plan.objective and plan.planned_count == 8
    assert check(problem, plan) == []


def test_routes_are_priced_as_or_tools_prices_them() -> None:
    """Tests that a plan rebuilt from OR-Tools' routes costs what OR-Tools said, and keeps every rule."""
    visits = [Visit(f"v{k}", location=k, service_s=1800, penalty=100 if k == 5 else None) for k in range(1, 6)]
    problem = ten_minutes_apart(visits, [worker(), worker("w2")])
    plan = solve(problem, stop=FEW, engine="ortools")
    again = routes_plan(problem, {r.worker_id: r.visit_ids for r in plan.routes}, {})
    assert again.objective == plan.objective
    assert [u.visit_id for u in again.unplanned] == [u.visit_id for u in plan.unplanned]
    assert check(problem, again) == []


def test_the_first_feasible_plan_comes_from_pyvrps_first_solution_not_the_end_of_its_search() -> None:
    """Tests that a day with breaks reports its first complete plan from the solution PyVRP's search starts
    from (not at the end of PyVRP's share of the budget), so a manager who stops the planning then gets a
    plan at once."""
    visits = [Visit(f"v{k}", location=k, service_s=1800) for k in range(1, 9)]
    problem = ten_minutes_apart(visits, [worker(), worker("w2")])
    reports: list[Progress] = []
    polls_before_a_plan = [0]

    def stop_once_a_plan_is_shown() -> bool:
        polls_before_a_plan[0] += not reports
        return bool(reports)

    plan = solve(
        problem, stop=StopRule(max_solutions=2000), on_progress=reports.append, should_stop=stop_once_a_plan_is_shown
    )
    assert reports[0].engine == "pyvrp+repair"
    assert polls_before_a_plan[0] <= 2
    assert plan.objective == reports[-1].objective and plan.planned_count == 8
    assert check(problem, plan) == []


def test_a_day_too_full_for_pyvrps_first_solution_still_reports_a_first_plan_from_it() -> None:
    """Tests that when the solution PyVRP's search starts from breaks a rule (here twelve hours of work for one
    worker's day), its routes are still repaired into the first plan at once, with what does not fit left out,
    instead of the first plan waiting for the search to give up on serving every visit."""
    visits = [Visit(f"v{k}", location=k, service_s=H) for k in range(1, 13)]
    problem = ten_minutes_apart(visits, [worker()])
    reports: list[Progress] = []
    polls_before_a_plan = [0]

    def stop_once_a_plan_is_shown() -> bool:
        polls_before_a_plan[0] += not reports
        return bool(reports)

    plan = solve(
        problem, stop=StopRule(max_solutions=2000), on_progress=reports.append, should_stop=stop_once_a_plan_is_shown
    )
    assert reports[0].engine == "pyvrp+repair"
    assert polls_before_a_plan[0] <= 2
    assert 0 < plan.planned_count < 12
    planned = {s.visit_id for r in plan.routes for s in r.stops}
    assert {u.visit_id for u in plan.unplanned} == {v.id for v in visits} - planned
    assert check(problem, plan) == []


def test_a_part_timers_route_leaves_as_late_as_its_windows_allow_so_waiting_does_not_count_as_work() -> None:
    """Tests that a 3-hour part-timer may serve D (window 9:00-11:00) and then E (from 12:00): leaving for D at its
    latest (10:50) the day is 1 h 50 long, where serving D at 9:00 would make it 3 h 50 with the wait for E."""
    d = Visit("D", location=1, service_s=1800, windows=(Window(9 * H, 11 * H),))
    e = Visit("E", location=2, service_s=1800, windows=(Window(12 * H, 13 * H),))
    part_timer = Worker(
        "p1", start_location=0, end_location=0, shift_start_s=8 * H, shift_end_s=17 * H, max_work_s=3 * H
    )
    problem = ten_minutes_apart([d, e], [part_timer])
    route = earliest_route(problem, part_timer, ["D", "E"])
    assert route is not None
    assert route.start_s == 11 * H - 600
    assert route.end_s - route.start_s <= 3 * H
    plan = routes_plan(problem, {"p1": ["D", "E"]}, {})
    assert plan.planned_count == 2
    assert check(problem, plan) == []
    assert solve(problem, stop=FEW, seed=0).planned_count == 2


def test_on_the_break_clock_a_window_after_the_break_keeps_its_length_and_one_before_it_stays_whole() -> None:
    """Tests that a day whose lunch breaks may all start at 13:00 is relaxed on that clock: the shift ends half an
    hour earlier, C (14:00-14:40) may start at 13:30-14:10 on the clock (40 minutes, where the cut relaxation
    leaves 10), a morning window stays whole, and one about the moment keeps what fits before, across or after it."""
    early = Visit("E", location=4, service_s=600, windows=(Window(9 * H, 10 * H),))
    noon = Visit("N", location=5, service_s=1800, windows=(Window(12 * H + 1800, 13 * H + 1800),))
    problem = ten_minutes_apart([A, B, C, early, noon], [worker()])
    assert break_moment(problem) == 13 * H
    relaxed = relax_for_pyvrp(problem)
    assert relaxed.worker("w1").shift_end_s == 17 * H - 1800 and relaxed.worker("w1").breaks == ()
    assert relaxed.visit("C").windows == (Window(13 * H + 1800, 14 * H + 600),)
    assert relaxed.visit("E").windows == early.windows
    assert relaxed.visit("N").windows == (Window(12 * H + 1800, 13 * H),)
    assert relaxed.visit("B").windows == (Window(13 * H, 13 * H + 900),)
    cut = relax_for_pyvrp(problem, break_clock=False)
    assert cut.visit("C").windows == (Window(14 * H, 14 * H + 600),)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_route_planned_on_the_break_clock_takes_its_break_as_it_stands(seed: int) -> None:
    """Tests that on a field day relaxed on the break clock (workers starting at 7, 8 or 9 with a break 3.5-5.5 h
    in, so their breaks share a moment, and windows two hours or one long) every route PyVRP plans keeps every
    rule with its break put in, visit for visit."""
    day = field_day(seed, visits=80, workers=6)
    day = day.replace(
        visits=tuple(
            dataclasses.replace(v, windows=(Window(v.windows[0].start_s, v.windows[0].start_s + H),))
            if v.windows and k % 2
            else v
            for k, v in enumerate(day.visits)
        )
    )
    assert break_moment(day) is not None
    relaxed = relax_for_pyvrp(day)
    out = {v.id: r for v in relaxed.visits if (r := unservable_reason(relaxed, v)) is not None}
    plan = solve_pyvrp(relaxed, stop=StopRule(max_solutions=300), seed=seed, leave_out=out)
    assert plan is not None and plan.planned_count > 40
    for route in plan.routes:
        assert earliest_route(day, day.worker(route.worker_id), route.visit_ids) is not None, route.worker_id


def test_a_day_without_a_common_break_moment_is_cut_as_before() -> None:
    """Tests that the break clock is not used, and late windows are cut by the break instead, when the breaks have
    no moment in common, when a worker has two breaks, when a service is too long to fit on either side of the
    moment for a worker who may serve it, or when the plan is made after the moment."""
    morning = Worker("w2", 0, 0, 8 * H, 17 * H, breaks=(Break(10 * H, 11 * H, 1800),))
    apart = ten_minutes_apart([C], [worker(), morning])
    assert break_moment(apart) is None
    assert relax_for_pyvrp(apart).visit("C").windows == (Window(14 * H, 14 * H + 600),)
    twice = Worker("w1", 0, 0, 8 * H, 17 * H, breaks=(LUNCH, Break(15 * H, 16 * H, 600)))
    assert break_moment(ten_minutes_apart([C], [twice])) is None
    long_job = Visit("L", location=4, service_s=2 * H)
    assert break_moment(ten_minutes_apart([C, long_job], [worker()])) is None
    assert break_moment(ten_minutes_apart([C], [worker()])) == 13 * H
    assert break_moment(ten_minutes_apart([C], [worker()]).replace(now_s=13 * H + 60)) is None


def test_a_service_across_the_moment_may_start_only_as_late_as_a_break_before_it_allows() -> None:
    """Tests that an hour's visit (window 12:00-12:40) starts on the clock by 12:10, not by 12:30: its worker's
    break (11:00-13:00, the common moment 12:30) cannot wait until after an hour's service that crosses 12:30, so
    it comes before the visit and moves it by the half hour."""
    early_lunch = Worker("w1", 0, 0, 8 * H, 17 * H, breaks=(Break(11 * H, 13 * H, 1800),))
    late_lunch = Worker("w2", 0, 0, 8 * H, 17 * H, breaks=(Break(12 * H, 14 * H, 1800),))
    hour = Visit("V", location=1, service_s=H, windows=(Window(12 * H, 12 * H + 2400),))
    problem = ten_minutes_apart([hour], [early_lunch, late_lunch])
    assert break_moment(problem) == 12 * H + 1800
    assert relax_for_pyvrp(problem).visit("V").windows == (Window(12 * H, 12 * H + 600),)


def test_a_plan_made_when_a_workers_shift_has_less_than_a_break_left_plans_the_rest() -> None:
    """Tests a plan made at 14:34 (as the demo's manager did) with a worker whose shift ends at 15:00: on the break
    relaxation that shift ends a break earlier, at 14:30, before now. PyVRP refused such a worker ("tw_early must
    be <= start_late") and the plan failed; now the worker serves nothing it cannot and the other plans the day. Both
    lunch windows (12:00-14:00) closed before 14:34, so the plan places no break (none before now: `from_now`), and
    what is left PyVRP expresses exactly."""
    visits = [Visit(f"v{k}", location=k, service_s=1200, windows=(Window(14 * H, 16 * H),)) for k in range(1, 5)]
    ending = Worker("w1", start_location=0, end_location=0, shift_start_s=7 * H, shift_end_s=15 * H, breaks=(LUNCH,))
    problem = ten_minutes_apart(visits, [ending, worker("w2")]).replace(now_s=14 * H + 34 * 60)
    relaxed = relax_for_pyvrp(problem)
    assert relaxed.worker("w1").shift_end_s < problem.now_s  # the case itself

    plan = solve(problem, stop=FEW, seed=0)

    assert plan.engine == "pyvrp" and check(problem, plan) == []
    assert [r.worker_id for r in plan.routes] == ["w2"] and plan.planned_count == 3  # 14:34 + 3 x 30 min fill w2
    assert plan.routes[0].breaks == ()
    assert len(plan.unplanned) == 1  # a fourth would start after 16:00, and w1 has 26 minutes: too few for one
