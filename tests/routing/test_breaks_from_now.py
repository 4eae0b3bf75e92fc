"""A plan made during the day places no break in the past: what is before now is history (`Problem.from_now`).

There is no record of the rests a worker took. A plan of today made at 13:00 used to put a lunch break whose
window opened at 12:00 at 12:00, before now, and so planned the afternoon as if the worker had rested; a re-plan
could move a break the previous plan had for later back before now. Solvers are stopped by solution count; every
plan is held to every rule by `routing.check`.
"""

from __future__ import annotations

import pytest

from routing.check import ViolationKind, check
from routing.plan import Plan, schedule_route
from routing.problem import Break, StopRule, Visit, Window, Worker, breaks_ahead
from routing.solve import replan, replan_problem, solve
from tests.routing.test_breaks import ten_minutes_apart

H = 3600
M = 60
FEW = StopRule(max_solutions=60)
LUNCH = Break(12 * H, 14 * H, 30 * M)


def lunch_worker(id: str = "w1", lunch: Break = LUNCH) -> Worker:
    return Worker(id, start_location=0, end_location=0, shift_start_s=8 * H, shift_end_s=17 * H, breaks=(lunch,))


@pytest.mark.parametrize(
    ("now_s", "begun", "ahead"),
    [
        (11 * H, [], (LUNCH,)),  # before the window: as it is
        (13 * H, [], (Break(13 * H, 14 * H, 30 * M),)),  # window open: from now on
        (14 * H, [], (Break(14 * H, 14 * H, 30 * M),)),  # the last moment it may start
        (14 * H + 1, [], ()),  # window closed before now: taken or missed, not the plan's to place
        (13 * H, [(12 * H + 10 * M, 12 * H + 40 * M)], ()),  # taken and over
        (12 * H + 30 * M, [(12 * H + 10 * M, 12 * H + 40 * M)], (Break(12 * H + 30 * M, 12 * H + 30 * M, 10 * M),)),
        (13 * H, [(13 * H + 5 * M, 13 * H + 35 * M)], (Break(13 * H, 14 * H, 30 * M),)),  # a break after now: not begun
        # a rest in progress that a re-plan already cut to what was left (it started after the window) still counts
        (14 * H + 20 * M, [(14 * H + 10 * M, 14 * H + 30 * M)], (Break(14 * H + 20 * M, 14 * H + 20 * M, 10 * M),)),
    ],
)
def test_the_breaks_ahead_of_now(now_s: int, begun: list[tuple[int, int]], ahead: tuple[Break, ...]) -> None:
    """Tests which of a worker's breaks a plan made at `now_s` may still place, and when."""
    assert breaks_ahead((LUNCH,), now_s, begun) == ahead


def test_a_begun_break_is_matched_to_the_rule_whose_window_holds_it() -> None:
    """Tests that with two breaks, a rest begun in the second's window takes the second, not the first (closed)."""
    coffee, lunch = Break(9 * H, 10 * H, 15 * M), Break(12 * H, 14 * H, 30 * M)
    assert breaks_ahead((coffee, lunch), 12 * H + 10 * M, [(12 * H, 12 * H + 30 * M)]) == (
        Break(12 * H + 10 * M, 12 * H + 10 * M, 20 * M),
    )
    assert breaks_ahead((coffee, lunch), 9 * H + 30 * M, []) == (Break(9 * H + 30 * M, 10 * H, 15 * M), lunch)


def afternoon() -> list[Visit]:
    """Four visits 13:10-16:30 back to back: a lunch taken from 13:00 on costs the last one its window."""
    return [
        Visit("P", location=1, service_s=50 * M, windows=(Window(13 * H + 10 * M, 13 * H + 15 * M),)),
        Visit("Q", location=2, service_s=50 * M, windows=(Window(14 * H + 10 * M, 14 * H + 15 * M),)),
        Visit("R", location=3, service_s=50 * M, windows=(Window(15 * H + 10 * M, 15 * H + 15 * M),)),
        Visit("S", location=4, service_s=20 * M, windows=(Window(16 * H + 10 * M, 16 * H + 15 * M),)),
    ]


def test_a_plan_of_today_made_at_one_places_no_break_before_one() -> None:
    """Tests that a plan made at 13:00 (lunch 12:00-14:00) takes the one worker's lunch at 13:00 or later. Had the
    rest gone at 12:00, before now, all four afternoon visits would fit; from 13:00 on the lunch must go between
    two of them, and a visit gives way."""
    problem = ten_minutes_apart(afternoon(), [lunch_worker()]).replace(now_s=13 * H)

    plan = solve(problem, stop=FEW, seed=0)

    assert check(problem, plan) == []
    (route,) = plan.routes
    ((rest),) = route.breaks
    assert 13 * H <= rest.start_s <= 14 * H and rest.end_s - rest.start_s == 30 * M
    assert plan.planned_count == 3 and len(plan.unplanned) == 1


def test_the_checker_holds_a_break_before_now_against_a_plan_of_today() -> None:
    """Tests that a route taking its lunch at 12:00 in a plan made at 13:00 misses the lunch: it keeps no rule."""
    problem = ten_minutes_apart(afternoon(), [lunch_worker()]).replace(now_s=13 * H)
    worker = problem.worker("w1")
    route = schedule_route(
        problem,
        worker,
        ["P", "Q", "R", "S"],
        depart_s=13 * H,
        service_starts_s=[13 * H + 10 * M, 14 * H + 10 * M, 15 * H + 10 * M, 16 * H + 10 * M],
        break_starts_s=[12 * H],
    )
    violations = check(problem, Plan(routes=(route,), unplanned=(), engine="hand", objective=0))
    assert [(v.kind, v.message) for v in violations] == [
        (ViolationKind.BREAK, "no 30-min break starting between 12:00 and 14:00")
    ]


def morning_plan_with_lunch_at(start_s: int, lunch: Break = LUNCH) -> tuple[Plan, list[Visit]]:
    """One worker's plan made in the morning: P at 11:00, lunch at `start_s`, then Q and R in the afternoon."""
    visits = [
        Visit("P", location=1, service_s=50 * M, windows=(Window(11 * H, 11 * H + 5 * M),)),
        Visit("Q", location=2, service_s=30 * M, windows=(Window(13 * H + 30 * M, 15 * H),)),
        Visit("R", location=3, service_s=30 * M, windows=(Window(14 * H, 16 * H),)),
    ]
    problem = ten_minutes_apart(visits, [lunch_worker(lunch=lunch)])
    route = schedule_route(
        problem,
        problem.worker("w1"),
        ["P", "Q", "R"],
        depart_s=10 * H + 50 * M,
        service_starts_s=[11 * H, 13 * H + 30 * M, 14 * H + 10 * M],
        break_starts_s=[start_s],
    )
    plan = Plan(routes=(route,), unplanned=(), engine="hand", objective=0)
    assert check(problem, plan) == []
    return plan, visits


def test_a_replan_keeps_a_rest_in_progress_and_places_no_new_one() -> None:
    """Tests that a re-plan at 12:15 of a plan with lunch from 12:00 keeps what is left of it (12:15-12:30) and
    gives the worker no second lunch; the urgent visit it adds starts after the rest."""
    previous, visits = morning_plan_with_lunch_at(12 * H)
    urgent = Visit("U", location=4, service_s=20 * M, windows=(Window(12 * H, 13 * H),))
    problem = ten_minutes_apart([*visits, urgent], [lunch_worker()])

    result = replan(problem, previous, pinned={"P": "w1"}, now_s=12 * H + 15 * M, change_penalty=900, stop=FEW)

    (route,) = result.plan.routes
    assert [(b.start_s, b.end_s) for b in route.breaks] == [(12 * H + 15 * M, 12 * H + 30 * M)]
    assert route.visit_ids[0] == "P" and "U" in route.visit_ids
    u = next(s for s in route.stops if s.visit_id == "U")
    assert u.start_s >= 12 * H + 30 * M  # after the rest
    solved = replan_problem(problem, previous, pinned={"P": "w1"}, now_s=12 * H + 15 * M, change_penalty=900)
    assert check(solved, result.plan) == []


def test_a_replan_never_moves_a_break_ahead_of_now_back_before_it() -> None:
    """Tests that a re-plan at 12:45 of a plan with lunch at 13:00 (window 12:00-13:30, not begun) keeps the lunch
    at 12:45 or later. An urgent hour's visit that must start by 13:00 then does not fit (the lunch would have to
    start by 13:30 and cannot go before it): it is left out, where putting the lunch into the quiet half hour before
    now that the previous plan had left free (12:00-12:30) made room for it."""
    early_lunch = Break(12 * H, 13 * H + 30 * M, 30 * M)
    previous, visits = morning_plan_with_lunch_at(13 * H, early_lunch)
    urgent = Visit("U", location=4, service_s=H, windows=(Window(12 * H + 50 * M, 13 * H),))
    problem = ten_minutes_apart([*visits, urgent], [lunch_worker(lunch=early_lunch)])

    result = replan(problem, previous, pinned={"P": "w1"}, now_s=12 * H + 45 * M, change_penalty=900, stop=FEW)

    (route,) = result.plan.routes
    ((rest),) = route.breaks
    assert 12 * H + 45 * M <= rest.start_s <= 13 * H + 30 * M and rest.end_s - rest.start_s == 30 * M
    assert [u.visit_id for u in result.plan.unplanned] == ["U"]
    solved = replan_problem(problem, previous, pinned={"P": "w1"}, now_s=12 * H + 45 * M, change_penalty=900)
    assert check(solved, result.plan) == []


def test_a_lunch_taken_in_the_morning_plan_is_not_planned_again() -> None:
    """Tests that a re-plan at 13:00 of a plan whose lunch was 12:00-12:30 places no second lunch, though the
    window (12:00-14:00) is still open: the previous plan's rest, begun before now, counts as taken."""
    previous, visits = morning_plan_with_lunch_at(12 * H)
    problem = ten_minutes_apart(visits, [lunch_worker()])

    result = replan(problem, previous, pinned={"P": "w1"}, now_s=13 * H, change_penalty=900, stop=FEW)

    (route,) = result.plan.routes
    assert [b for b in route.breaks if b.end_s > 13 * H] == []
    assert (
        replan_problem(problem, previous, pinned={"P": "w1"}, now_s=13 * H, change_penalty=900).worker("w1").breaks
        == ()
    )
