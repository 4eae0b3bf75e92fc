"""The plan checker, on hand-written plans: a correct plan passes, and each broken rule is reported."""

from __future__ import annotations

import dataclasses

import pytest

from routing.check import ViolationKind, check
from routing.plan import BreakTaken, Plan, Route, Stop, Unplanned, UnplannedReason
from routing.problem import Break, Pin, Problem, Visit, Window, Worker

H = 3600


def line(n: int = 4) -> tuple[tuple[int | None, ...], ...]:
    return tuple(tuple(600 * abs(i - j) for j in range(n)) for i in range(n))


def metres(n: int = 4) -> tuple[tuple[int | None, ...], ...]:
    return tuple(tuple(5000 * abs(i - j) for j in range(n)) for i in range(n))


A = Visit("a", location=1, service_s=1800, windows=(Window(9 * H, 10 * H),), demand=2)
B = Visit("b", location=2, service_s=1800, windows=(Window(10 * H, 12 * H),), skills=frozenset({"gas"}), demand=3)
LUNCH = Break(12 * H, 13 * H, 1800)
W1 = Worker(
    "w1",
    start_location=0,
    end_location=0,
    shift_start_s=8 * H,
    shift_end_s=17 * H,
    breaks=(LUNCH,),
    max_work_s=8 * H,
    skills=frozenset({"gas"}),
    capacity=5,
)
PROBLEM = Problem(visits=(A, B), workers=(W1,), duration_s=line(), distance_m=metres())

GOOD_ROUTE = Route(
    worker_id="w1",
    start_s=31_800,
    end_s=39_000,
    stops=(
        Stop("a", arrival_s=32_400, start_s=32_400, end_s=34_200, wait_s=0, travel_s=600, distance_m=5000),
        Stop("b", arrival_s=34_800, start_s=36_000, end_s=37_800, wait_s=1_200, travel_s=600, distance_m=5000),
    ),
    breaks=(BreakTaken(43_200, 45_000, after_stops=2),),
    return_travel_s=1_200,
    return_distance_m=10_000,
)
GOOD = Plan(routes=(GOOD_ROUTE,))


def kinds(problem: Problem, plan: Plan) -> set[ViolationKind]:
    return {v.kind for v in check(problem, plan)}


def with_stop(k: int, **changes: int) -> Plan:
    stops = list(GOOD_ROUTE.stops)
    stops[k] = dataclasses.replace(stops[k], **changes)
    return Plan(routes=(dataclasses.replace(GOOD_ROUTE, stops=tuple(stops)),))


def test_a_correct_plan_has_no_violations() -> None:
    """Tests that a plan keeping every rule (break after the last visit) comes back clean."""
    assert check(PROBLEM, GOOD) == []


def test_a_visit_outside_its_window_is_reported() -> None:
    """Tests that starting `a` at 10:10 when its window closes at 10:00 is a window violation naming `a`."""
    late = with_stop(0, arrival_s=32_400, start_s=36_600, end_s=38_400, wait_s=4_200)
    found = [v for v in check(PROBLEM, late) if v.kind is ViolationKind.WINDOW]
    assert [(v.visit_id, v.worker_id) for v in found] == [("a", "w1")]


def test_a_skill_mismatch_is_reported() -> None:
    """Tests that a worker without `gas` doing the gas visit is a skill violation."""
    problem = PROBLEM.replace(workers=(dataclasses.replace(W1, skills=frozenset()),))
    found = [v for v in check(problem, GOOD) if v.kind is ViolationKind.SKILL]
    assert [v.visit_id for v in found] == ["b"]
    assert "gas" in found[0].message


def test_a_missing_break_is_reported() -> None:
    """Tests that a plan without the worker's lunch break is a break violation."""
    plan = Plan(routes=(dataclasses.replace(GOOD_ROUTE, breaks=()),))
    assert kinds(PROBLEM, plan) == {ViolationKind.BREAK}


def test_a_break_outside_its_window_is_reported() -> None:
    """Tests that a lunch break starting 11:00, before its window opens at 12:00, counts as missed."""
    plan = Plan(routes=(dataclasses.replace(GOOD_ROUTE, breaks=(BreakTaken(11 * H, 11 * H + 1800, 2),)),))
    assert ViolationKind.BREAK in kinds(PROBLEM, plan)


def test_a_break_overlapping_a_service_is_reported() -> None:
    """Tests that a break taken during a visit's service is reported against that visit."""
    problem = PROBLEM.replace(workers=(dataclasses.replace(W1, breaks=(Break(10 * H, 11 * H, 1800),)),))
    plan = Plan(routes=(dataclasses.replace(GOOD_ROUTE, breaks=(BreakTaken(36_600, 38_400, 1),)),))
    found = [v for v in check(problem, plan) if v.kind is ViolationKind.BREAK]
    assert [v.visit_id for v in found] == ["b"]


def test_a_break_taken_while_waiting_on_site_is_accepted() -> None:
    """Tests that a break between arriving at `b` and starting it is fine, and not counted as waiting."""
    problem = PROBLEM.replace(workers=(dataclasses.replace(W1, breaks=(Break(35_400, 36_600, 1800),)),))
    stops = list(GOOD_ROUTE.stops)
    stops[1] = dataclasses.replace(stops[1], start_s=37_200, end_s=39_000, wait_s=600)
    route = dataclasses.replace(GOOD_ROUTE, stops=tuple(stops), end_s=40_200, breaks=(BreakTaken(35_400, 37_200, 1),))
    assert check(problem, Plan(routes=(route,))) == []


def test_a_break_interrupting_a_drive_delays_the_arrival() -> None:
    """Tests that a break starting mid-drive pushes the arrival back by its length, and a plan ignoring that fails."""
    problem = PROBLEM.replace(workers=(dataclasses.replace(W1, breaks=(Break(34_500, 36_000, 1800),)),))
    stops = list(GOOD_ROUTE.stops)
    stops[1] = dataclasses.replace(stops[1], arrival_s=36_600, start_s=36_600, end_s=38_400, wait_s=0)
    route = dataclasses.replace(GOOD_ROUTE, stops=tuple(stops), end_s=39_600, breaks=(BreakTaken(34_500, 36_300, 1),))
    assert check(problem, Plan(routes=(route,))) == []
    ignoring = list(stops)
    ignoring[1] = dataclasses.replace(stops[1], arrival_s=34_800, start_s=36_000, end_s=37_800, wait_s=1_200)
    wrong = dataclasses.replace(route, stops=tuple(ignoring), end_s=39_000)
    assert ViolationKind.TIMING in kinds(problem, Plan(routes=(wrong,)))


def test_a_shift_overrun_is_reported() -> None:
    """Tests that returning after the shift's end is a shift violation."""
    problem = PROBLEM.replace(workers=(dataclasses.replace(W1, shift_end_s=38_000, breaks=()),))
    plan = Plan(routes=(dataclasses.replace(GOOD_ROUTE, breaks=()),))
    found = [v for v in check(problem, plan) if v.kind is ViolationKind.SHIFT]
    assert len(found) == 1 and "after the shift ends at 10:33:20" in found[0].message


def test_departing_before_the_shift_is_reported() -> None:
    """Tests that leaving at 07:50 for a shift starting 08:00 is a shift violation."""
    plan = Plan(routes=(dataclasses.replace(GOOD_ROUTE, start_s=28_200),))
    problem = PROBLEM.replace(workers=(dataclasses.replace(W1, max_work_s=None),))
    assert ViolationKind.SHIFT in kinds(problem, plan)


def test_working_longer_than_allowed_is_reported() -> None:
    """Tests that a 2-hour route for a worker allowed 1.5 hours breaks the maximum working time."""
    problem = PROBLEM.replace(workers=(dataclasses.replace(W1, max_work_s=5_400),))
    assert kinds(problem, GOOD) == {ViolationKind.MAX_WORK}


def test_carrying_more_than_the_capacity_is_reported() -> None:
    """Tests that a load of 5 on a worker with capacity 4 is a capacity violation."""
    problem = PROBLEM.replace(workers=(dataclasses.replace(W1, capacity=4),))
    assert kinds(problem, GOOD) == {ViolationKind.CAPACITY}


def test_a_wrong_leg_or_timing_is_reported() -> None:
    """Tests that stated travel and arrival must match the matrices: a 5-minute leg that takes 10 is caught."""
    plan = with_stop(1, travel_s=300, arrival_s=34_500, wait_s=1_500)
    assert kinds(PROBLEM, plan) == {ViolationKind.LEG, ViolationKind.TIMING}


def test_a_leg_without_route_is_reported() -> None:
    """Tests that a plan driving between two points with no route between them is reported as such."""
    durations = [list(row) for row in line()]
    distances = [list(row) for row in metres()]
    durations[1][2] = distances[1][2] = None
    problem = PROBLEM.replace(
        duration_s=tuple(tuple(r) for r in durations), distance_m=tuple(tuple(r) for r in distances)
    )
    found = [v for v in check(problem, GOOD) if v.kind is ViolationKind.NO_ROUTE]
    assert [v.visit_id for v in found] == ["b"]


def test_every_visit_must_be_planned_or_unplanned_exactly_once() -> None:
    """Tests that a forgotten visit, a duplicated one and an unknown one are each reported."""
    forgotten = Plan(routes=(dataclasses.replace(GOOD_ROUTE, stops=GOOD_ROUTE.stops[:1]),))
    assert any(v.kind is ViolationKind.COVERAGE and v.visit_id == "b" for v in check(PROBLEM, forgotten))
    twice = Plan(routes=(GOOD_ROUTE,), unplanned=(Unplanned("b", UnplannedReason.NO_TIME),))
    assert any(v.kind is ViolationKind.COVERAGE and v.visit_id == "b" for v in check(PROBLEM, twice))
    unknown = Plan(routes=(GOOD_ROUTE,), unplanned=(Unplanned("zz", UnplannedReason.NO_TIME),))
    assert any(v.kind is ViolationKind.UNKNOWN and v.visit_id == "zz" for v in check(PROBLEM, unknown))


def test_a_pinned_visit_that_moved_is_reported() -> None:
    """Tests that a pinned visit must stay with its worker, at its time, at the head of the route."""
    w2 = dataclasses.replace(W1, id="w2")
    retimed = PROBLEM.replace(workers=(W1, w2), pins=(Pin("a", "w1", 32_000),))
    found = [v for v in check(retimed, GOOD) if v.kind is ViolationKind.PINNED]
    assert [v.visit_id for v in found] == ["a"] and "32000" in found[0].message

    elsewhere = PROBLEM.replace(workers=(W1, w2), pins=(Pin("a", "w2", 32_400),))
    found = [v for v in check(elsewhere, GOOD) if v.kind is ViolationKind.PINNED]
    assert found and "w1" in found[0].message

    not_first = PROBLEM.replace(pins=(Pin("b", "w1", 36_000),))
    assert [v.visit_id for v in check(not_first, GOOD) if v.kind is ViolationKind.PINNED] == ["b"]


def test_a_visit_planned_in_the_past_is_reported() -> None:
    """Tests that, in a re-plan at 09:30, an unpinned visit starting 09:00 is reported as in the past."""
    problem = PROBLEM.replace(now_s=9 * H + 1800)
    found = {(v.kind, v.visit_id) for v in check(problem, GOOD)}
    assert (ViolationKind.PAST, "a") in found
    pinned = problem.replace(pins=(Pin("a", "w1", 32_400),))
    assert ViolationKind.PAST not in kinds(pinned, GOOD)


@pytest.mark.parametrize("field", ["arrival_s", "end_s", "wait_s"])
def test_each_stated_time_is_recomputed(field: str) -> None:
    """Tests that changing any one stated time of a stop by a minute is caught as a timing violation."""
    stop = GOOD_ROUTE.stops[1]
    plan = with_stop(1, **{field: getattr(stop, field) + 60})
    assert kinds(PROBLEM, plan) == {ViolationKind.TIMING}
