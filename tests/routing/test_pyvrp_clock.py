"""A PyVRP search's timed budget counts the clock it is given (bench/routing_city.py gives each process its CPU time)."""

from __future__ import annotations

import itertools

from routing.plan import unservable_reason
from routing.problem import StopRule
from routing.pyvrp_engine import solve_pyvrp
from routing.solve import relax_for_pyvrp
from tests.routing.test_large_day import city_day


def test_a_timed_budget_ends_after_the_given_clock_has_run_its_seconds() -> None:
    """Tests that a 20-second budget on a clock that moves a second per reading ends after about 20 iterations
    (on the real clock 20 seconds would be thousands), with a plan serving every visit."""
    day = relax_for_pyvrp(city_day(40, 4, sites=30))
    out = {v.id: r for v in day.visits if (r := unservable_reason(day, v)) is not None}
    ticks = itertools.count()
    iterations: list[int] = []

    def count() -> bool:
        iterations.append(1)
        return False

    plan = solve_pyvrp(
        day, stop=StopRule(max_seconds=20), seed=0, leave_out=out, should_stop=count, clock=lambda: float(next(ticks))
    )
    assert plan is not None and plan.planned_count == 40
    assert 15 <= len(iterations) <= 21


def test_a_timed_budget_counts_from_where_the_caller_started_it() -> None:
    """Tests that a 20-second budget started 12 ticks before the search (`routing.solve`'s own checks, say)
    ends after about 8 iterations, not 20: what the caller spent before comes out of the budget."""
    day = relax_for_pyvrp(city_day(40, 4, sites=30))
    out = {v.id: r for v in day.visits if (r := unservable_reason(day, v)) is not None}
    ticks = itertools.count(12)
    iterations: list[int] = []

    def count() -> bool:
        iterations.append(1)
        return False

    plan = solve_pyvrp(
        day,
        stop=StopRule(max_seconds=20),
        seed=0,
        leave_out=out,
        should_stop=count,
        clock=lambda: float(next(ticks)),
        started_s=0.0,
    )
    assert plan is not None and plan.planned_count == 40
    assert 4 <= len(iterations) <= 9
