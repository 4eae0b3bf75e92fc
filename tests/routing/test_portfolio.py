"""Searching on several cores (`solve(..., processes=n)`, `routing.portfolio`): the best of the seeds' plans, kept
repeatable by a solution-count stop; the caller's stop ends every search; a helper that fails is left out."""

from __future__ import annotations

import logging
import multiprocessing
import time
from pathlib import Path

import pytest

from routing.check import check
from routing.plan import Plan, Progress
from routing.portfolio import _drain, best_plan, helper_seeds
from routing.problem import Problem, StopRule, Visit
from routing.solomon import read_instance, to_problem
from routing.solve import solve
from tests.routing.test_breaks import ten_minutes_apart, worker

SOLOMON = Path(__file__).resolve().parents[2] / "data" / "datasets" / "solomon"


@pytest.fixture(scope="module")
def r101() -> Problem:
    return to_problem(read_instance(SOLOMON / "R101.txt"))


def test_two_processes_give_the_better_of_the_two_seeds_plans_and_the_same_plan_every_time(r101: Problem) -> None:
    stop = StopRule(max_solutions=60)
    alone = [solve(r101, stop=stop, seed=s) for s in (3, 4)]
    assert alone[0].objective != alone[1].objective  # the seeds find different plans, so the choice shows
    best = min(alone, key=lambda p: p.objective)

    both = solve(r101, stop=stop, seed=3, processes=2)
    again = solve(r101, stop=stop, seed=3, processes=2)

    assert both.objective == best.objective
    assert [r.visit_ids for r in both.routes] == [r.visit_ids for r in best.routes]
    assert [r.visit_ids for r in again.routes] == [r.visit_ids for r in both.routes]
    assert check(r101, both) == []
    assert multiprocessing.active_children() == []  # the helper has ended


def test_progress_from_both_searches_reports_only_new_bests_and_ends_at_the_plan(r101: Problem) -> None:
    seen: list[Progress] = []
    plan = solve(r101, stop=StopRule(max_solutions=60), seed=3, processes=2, on_progress=seen.append)
    costs = [p.objective for p in seen]
    assert costs == sorted(costs, reverse=True) and len(set(costs)) == len(costs)
    assert costs[-1] == plan.objective


def test_the_callers_stop_ends_the_helper_searches_too(r101: Problem, caplog: pytest.LogCaptureFixture) -> None:
    calls = [0]

    def should_stop() -> bool:
        calls[0] += 1
        return calls[0] > 30  # a few iterations in: the manager pressed Stop

    with caplog.at_level(logging.WARNING, logger="routing.portfolio"):
        plan = solve(r101, stop=StopRule(max_solutions=1_000_000), seed=0, processes=2, should_stop=should_stop)
    assert check(r101, plan) == []
    assert plan.planned_count == len(r101.visits)
    # The helper stopped and answered: without the stop reaching it, it would still be searching its million
    # iterations when the parent gave up waiting, and the parent would say so.
    assert "gave no plan" not in caplog.text
    assert multiprocessing.active_children() == []


def test_helper_seeds_follow_the_callers_seed() -> None:
    assert helper_seeds(7, 1) == []
    assert helper_seeds(7, 3) == [8, 9]


def test_on_a_tie_the_callers_own_plan_is_kept() -> None:
    own = Plan(routes=(), unplanned=(), engine="pyvrp", objective=10)
    other = Plan(routes=(), unplanned=(), engine="pyvrp+ortools", objective=10)
    better = Plan(routes=(), unplanned=(), engine="ortools", objective=9)
    assert best_plan([own, other]) is own
    assert best_plan([own, other, better]) is better


def test_a_helper_that_failed_or_died_gives_no_plan_and_its_progress_still_counts() -> None:
    received, sent = multiprocessing.Pipe(duplex=False)
    progress = Progress(objective=5, elapsed_s=0.1, solutions=1, engine="pyvrp")
    sent.send(("progress", progress))
    sent.send(("error", "MemoryError: "))
    seen: list[Progress] = []
    assert _drain(received, seen.append, until=None) == (None, True)
    assert seen == [progress]

    received, sent = multiprocessing.Pipe(duplex=False)
    sent.close()  # died without a word
    assert _drain(received, seen.append, until=time.monotonic() + 5) == (None, True)

    received, sent = multiprocessing.Pipe(duplex=False)
    assert _drain(received, seen.append, until=None) == (None, False)  # still searching
    plan = Plan(routes=(), unplanned=(), engine="pyvrp", objective=1)
    sent.send(("plan", plan))
    assert _drain(received, seen.append, until=time.monotonic() + 5) == (plan, True)


@pytest.mark.parametrize("field_day", [False, True])
def test_a_budget_counts_from_started_s_as_a_helper_is_given_its_parents_start(r101: Problem, field_day: bool) -> None:
    """Tests that `solve(started_s=...)` counts the budget and the reported times from that moment, not from the call
    (as a helper process, started a moment after its parent, is given the parent's start), on PyVRP's path and on a
    day with breaks (PyVRP on the relaxation, then OR-Tools)."""
    problem = r101
    if field_day:
        visits = [Visit(f"v{k}", location=k, service_s=1800) for k in range(1, 9)]
        problem = ten_minutes_apart(visits, [worker(), worker("w2")])
    reports: list[Progress] = []
    began = time.perf_counter() - 1000.0  # the budget began long before the call
    plan = solve(problem, stop=StopRule(max_solutions=60, max_seconds=5000.0), started_s=began,
                 on_progress=reports.append)  # fmt: skip
    assert check(problem, plan) == [] and plan.planned_count == len(problem.visits)
    assert reports and all(p.elapsed_s >= 1000.0 for p in reports)
