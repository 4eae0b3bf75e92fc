"""A large day's relaxation searched on two processes with two seeds, the cheaper plan kept (issue #15).

Stopped by iteration count, so the plans do not depend on the machine or its load.
"""

from __future__ import annotations

import multiprocessing

from routing.parallel import search_portfolio
from routing.plan import Plan, UnplannedReason, unservable_reason
from routing.problem import Problem, StopRule
from routing.pyvrp_engine import solve_pyvrp
from routing.solve import relax_for_pyvrp
from tests.routing.test_large_day import city_day


def relaxed_day(visits: int, workers: int, sites: int) -> tuple[Problem, dict[str, UnplannedReason]]:
    relaxed = relax_for_pyvrp(city_day(visits, workers, sites=sites))
    out = {v.id: r for v in relaxed.visits if (r := unservable_reason(relaxed, v)) is not None}
    return relaxed, out


def routes(plan: Plan) -> list[tuple[str, tuple[str, ...]]]:
    return [(r.worker_id, r.visit_ids) for r in plan.routes]


def test_two_seeds_on_two_processes_give_the_cheaper_of_both_searches() -> None:
    """Tests that the plan is exactly the cheaper of one process's searches with the seed and the next seed
    (the same iterations each), that this process's first solution is reported, and that no process is left."""
    day, out = relaxed_day(150, 15, 100)
    stop = StopRule(max_solutions=100)
    starts: list[Plan] = []
    plan = search_portfolio(day, stop=stop, seed=3, leave_out=out, on_start=starts.append, history_length=20)
    alone = [solve_pyvrp(day, stop=stop, seed=s, leave_out=out, history_length=20) for s in (3, 4)]
    assert plan is not None and alone[0] is not None and alone[1] is not None
    assert alone[0].objective != alone[1].objective
    cheaper = min(alone, key=lambda p: p.objective)
    assert routes(plan) == routes(cheaper) and plan.objective == cheaper.objective
    assert plan.planned_count == 150
    assert len(starts) == 1
    assert multiprocessing.active_children() == []


def test_should_stop_ends_both_searches_and_keeps_the_best_plan_found() -> None:
    """Tests that a manager's stop (should_stop) ends a search whose iteration budget would run for hours,
    in both processes, and a plan serving every visit comes back."""
    day, out = relaxed_day(150, 15, 100)
    polls: list[int] = []

    def should_stop() -> bool:
        polls.append(1)
        return len(polls) > 40

    plan = search_portfolio(
        day, stop=StopRule(max_solutions=10**8), seed=0, leave_out=out, should_stop=should_stop, history_length=20
    )
    assert plan is not None and plan.planned_count == 150
    assert multiprocessing.active_children() == []
