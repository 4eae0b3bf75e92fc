"""A large field day (1,000 visits, 100 workers, breaks) gets a search that converges within a short budget.

PyVRP is stopped by iteration count, so the plans do not depend on the machine.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import threading
import time

import pytest

import routing.solve
from dispatch.geo import LatLon
from routing.check import check
from routing.plan import unservable_reason
from routing.problem import Break, Problem, StopRule, Visit, Window, Worker
from routing.pyvrp_engine import solve_pyvrp
from routing.solve import (
    LARGE_DAY_SEARCH,
    field_history_length,
    relax_for_pyvrp,
    relaxation_settings,
    routes_plan,
    solve,
    warm_routes,
)
from routing.travel import StraightLine

H = 3600
SKILLS = ("electric", "plumbing", "gas", "hvac")


def city_day(
    visits: int,
    workers: int,
    *,
    sites: int = 700,
    seed: int = 0,
    optional_share: float = 0.0,
    part_timer_every: int | None = None,
) -> Problem:
    """Visits at random sites over 6 km x 6 km, half with a two-hour window, some needing a skill; workers
    from three bases on 9-hour shifts with a 30-minute break (the bench's city day, simplified).

    `optional_share` of the visits may be left out (a penalty of half an hour's driving); every `part_timer_every`-th
    worker works 6 hours within the shift."""
    rng = random.Random(seed)
    points = [LatLon(48.8566 + rng.uniform(-0.027, 0.027), 2.3522 + rng.uniform(-0.041, 0.041)) for _ in range(sites)]
    vs = []
    for k in range(visits):
        start = rng.randrange(8 * H, 15 * H + 1, 1800)
        vs.append(
            Visit(
                id=f"v{k}",
                location=3 + rng.randrange(len(points) - 3),
                service_s=rng.choice((15, 20, 30, 45, 60)) * 60,
                windows=(Window(start, start + 2 * H),) if rng.random() < 0.5 else (),
                skills=frozenset(rng.sample(SKILLS, 1)) if rng.random() < 0.7 else frozenset(),
                penalty=1800 if optional_share and rng.random() < optional_share else None,
            )
        )
    ws = []
    for k in range(workers):
        begin = rng.choice((7, 8, 8, 9)) * H
        ws.append(
            Worker(
                id=f"w{k}",
                start_location=k % 3,
                end_location=k % 3,
                shift_start_s=begin,
                shift_end_s=begin + 9 * H,
                breaks=(Break(begin + 3 * H + 1800, begin + 5 * H + 1800, 1800),),
                max_work_s=6 * H if part_timer_every and k % part_timer_every == part_timer_every - 1 else None,
                skills=frozenset(rng.sample(SKILLS, rng.choice((1, 2, 2, 3)))),
            )
        )
    return Problem.from_points(points, visits=vs, workers=ws, travel=StraightLine())


def test_a_large_day_is_searched_to_a_shorter_plan_in_the_same_iterations_than_with_pyvrps_defaults() -> None:
    """Tests that 800 PyVRP iterations on a 1,000-visit day's relaxation (what a loaded 10-second budget
    gives) end with less driving with the large-day search than with PyVRP's default search, every visit
    needing a skill on a worker who holds it (the large-day search has skills as loads, not forbidden arcs),
    and that the plan with the breaks put in keeps every rule."""
    day = city_day(1000, 100)
    relaxed = relax_for_pyvrp(day)
    out = {v.id: r for v in relaxed.visits if (r := unservable_reason(relaxed, v)) is not None}
    stop = StopRule(max_solutions=800)
    settings = relaxation_settings(day, stop)
    assert settings == LARGE_DAY_SEARCH and settings.history_length < 300
    tuned = solve_pyvrp(relaxed, stop=stop, seed=0, leave_out=out, settings=settings)
    plain = solve_pyvrp(relaxed, stop=stop, seed=0, leave_out=out)
    assert tuned is not None and plain is not None
    assert tuned.planned_count == plain.planned_count == 1000
    assert tuned.travel_s < 0.97 * plain.travel_s
    assert sum(1 for v in relaxed.visits if v.skills) > 500
    for route in tuned.routes:
        holds = relaxed.worker(route.worker_id).skills
        assert all(relaxed.visit(vid).skills <= holds for vid in route.visit_ids)
    assert check(relaxed, tuned) == []
    whole = routes_plan(day, warm_routes(day, day.visits, tuned), {})
    assert whole.planned_count == 1000
    assert check(day, whole) == []


def test_a_large_day_gets_the_large_day_search_at_any_budget() -> None:
    """Tests that a 1,000-visit day with breaks is searched with `LARGE_DAY_SEARCH` for a 10-second and a
    120-second plan alike, and that the same day without breaks (which PyVRP expresses exactly) is not."""
    day = city_day(1000, 100)
    assert relaxation_settings(day, StopRule(max_seconds=10)) == LARGE_DAY_SEARCH
    assert relaxation_settings(day, StopRule(max_seconds=120)) == LARGE_DAY_SEARCH
    no_breaks = day.replace(workers=tuple(dataclasses.replace(w, breaks=()) for w in day.workers))
    assert relaxation_settings(no_breaks, StopRule(max_seconds=10)) != LARGE_DAY_SEARCH


def test_a_day_of_monaco_size_keeps_pyvrps_search() -> None:
    """Tests that a 300-visit day is searched with PyVRP's own acceptance (its history of 300)."""
    assert field_history_length(city_day(300, 30, sites=50)) is None


def test_a_large_day_is_planned_by_pyvrp_with_the_breaks_put_in_and_no_ortools_tail() -> None:
    """Tests that `solve` plans a 1,000-visit day with breaks from PyVRP's search alone, the breaks put in
    ("pyvrp+repair": OR-Tools never improved such a day's plan), serving every visit and keeping every rule."""
    day = city_day(1000, 100)
    plan = solve(day, stop=StopRule(max_solutions=100), seed=0)
    assert plan.engine == "pyvrp+repair"
    assert plan.planned_count == 1000
    assert check(day, plan) == []


def test_a_timed_plan_of_a_large_day_searches_until_only_what_the_repair_needs_is_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tests that a timed plan of a 600-visit day (no OR-Tools tail) keeps PyVRP searching until a few ticks of
    the budget are left, not a tenth: on a clock that moves one second per reading, where repairing PyVRP's
    start takes a tick, a 400-second budget comes back between 380 and 400 seconds, serving every visit with
    every rule (before, the search stopped with a tenth of the budget left, whatever the repair took)."""
    ticks, mine, real = itertools.count(), threading.get_ident(), time.perf_counter

    def clock() -> float:
        # Only this test's thread: a plan job an earlier test left running in this process reads the real clock (on
        # a shared clock its readings made this plan come back at 401 ticks, once in a clean clone's run).
        return float(next(ticks)) if threading.get_ident() == mine else real()

    monkeypatch.setattr(routing.solve, "perf_counter", clock)
    day = city_day(600, 60, sites=300)
    calls = itertools.count()
    plan = solve(day, stop=StopRule(max_seconds=400), seed=0, should_stop=lambda: next(calls) >= 5_000)
    returned = clock()
    assert plan.engine == "pyvrp+repair"
    assert plan.planned_count == 600
    assert check(day, plan) == []
    assert 380 <= returned <= 400
