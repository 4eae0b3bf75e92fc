"""Live re-planning: pinned visits stay put, announced visits move only when it pays, and the result says
what changes for whom. Small instances, stopped by solution count."""

from __future__ import annotations

import math

import pytest

from routing.check import ViolationKind, check
from routing.edit import move_visit
from routing.plan import (
    Change,
    ChangeKind,
    Plan,
    Route,
    Stop,
    diff_plans,
    earliest_route,
)
from routing.problem import Break, Problem, StopRule, Visit, Window, Worker
from routing.solve import replan, replan_problem, solve

H = 3600
NOW = 10 * H
FEW = StopRule(max_solutions=60)
# Two bases (0 and 6) at the ends of a 12 km line, sites in between; 30 km/h.
POINTS = [(0.0, 0.0), (2, 0), (4, 0), (6, 0), (8, 0), (10, 0), (12, 0), (2, 2), (10, 2)]


def matrices() -> tuple[list[list[float | None]], list[list[float | None]]]:
    km = [[math.dist(a, b) for b in POINTS] for a in POINTS]
    return [[d * 120 for d in row] for row in km], [[d * 1000 for d in row] for row in km]


def day() -> Problem:
    """Eight one-hour visits, morning and afternoon, two workers with a lunch break, from opposite bases."""
    lunch = Break(12 * H, 13 * H, 1800)
    workers = [
        Worker("w1", 0, 0, 8 * H, 17 * H, breaks=(lunch,)),
        Worker("w2", 6, 6, 8 * H, 17 * H, breaks=(lunch,)),
    ]
    morning, afternoon = (Window(8 * H, 11 * H),), (Window(13 * H, 16 * H),)
    visits = [Visit(f"m{loc}", location=loc, service_s=H, windows=morning) for loc in (1, 2, 4, 5)] + [
        Visit(f"a{loc}", location=loc, service_s=H, windows=afternoon) for loc in (3, 7, 8, 6)
    ]
    seconds, metres = matrices()
    return Problem.from_matrices(seconds, metres, visits=visits, workers=workers)


@pytest.fixture(scope="module")
def morning_plan() -> Plan:
    plan = solve(day(), stop=FEW, engine="ortools")
    assert plan.unplanned == () and check(day(), plan) == []
    return plan


def started(plan: Plan) -> dict[str, str]:
    """Visits that started before NOW: done or in progress."""
    return {s.visit_id: r.worker_id for r in plan.routes for s in r.stops if s.start_s < NOW}


def test_an_urgent_order_is_planned_while_pinned_visits_stay_put(morning_plan: Plan) -> None:
    """Tests that an urgent order at 10:00 is planned, and every visit already started keeps worker, time and place."""
    pinned = started(morning_plan)
    assert pinned  # the scenario must have work done by 10:00
    urgent = Visit("urgent", location=3, service_s=1800, windows=(Window(NOW, NOW + 2 * H),), priority=1)
    current = day().with_visit(urgent)
    result = replan(current, morning_plan, pinned=pinned, now_s=NOW, change_penalty=3600, stop=FEW)
    plan = result.plan
    assert plan.stop_of("urgent") is not None
    for visit_id, worker_id in pinned.items():
        found = plan.stop_of(visit_id)
        before = morning_plan.stop_of(visit_id)
        assert found is not None and before is not None
        assert found[0] == worker_id and found[1].start_s == before[1].start_s
    assert check(replan_problem(current, morning_plan, pinned=pinned, now_s=NOW, change_penalty=3600), plan) == []
    assert any(c.kind is ChangeKind.ADDED and c.visit_id == "urgent" for c in result.changes)


def test_nothing_new_is_planned_before_now(morning_plan: Plan) -> None:
    """Tests that after a re-plan at 10:00 every visit not yet started starts at 10:00 or later."""
    pinned = started(morning_plan)
    plan = replan(day(), morning_plan, pinned=pinned, now_s=NOW, change_penalty=3600, stop=FEW).plan
    assert all(s.start_s >= NOW for r in plan.routes for s in r.stops if s.visit_id not in pinned)


def test_a_cancelled_order_is_removed_and_nobody_else_is_moved(morning_plan: Plan) -> None:
    """Tests that cancelling an afternoon visit removes it from its worker, and with a high change penalty no
    other visit changes worker."""
    pinned = started(morning_plan)
    cancelled = next(s.visit_id for r in morning_plan.routes for s in r.stops if s.visit_id.startswith("a"))
    owner = morning_plan.assignment()[cancelled]
    result = replan(
        day().without_visits([cancelled]), morning_plan, pinned=pinned, now_s=NOW, change_penalty=10**6, stop=FEW
    )
    assert Change(
        owner, cancelled, ChangeKind.REMOVED, previous_start_s=morning_plan.stop_of(cancelled)[1].start_s
    ) in (  # type: ignore[index]
        result.changes
    )
    assert not [c for c in result.changes if c.kind is ChangeKind.MOVED]
    assert result.changes_for(owner)


def test_a_worker_off_sick_hands_their_open_visits_to_the_others(morning_plan: Plan) -> None:
    """Tests that when w2 goes home sick at 10:00, their visits not yet started move to w1, who is told."""
    pinned = started(morning_plan)
    done_by_w2 = [v for v, w in pinned.items() if w == "w2"]
    open_of_w2 = [s.visit_id for s in morning_plan.route_of("w2").stops if s.visit_id not in pinned]  # type: ignore[union-attr]
    assert open_of_w2
    current = day().without_workers(["w2"]).without_visits(done_by_w2)
    pins = {v: w for v, w in pinned.items() if w != "w2"}
    result = replan(current, morning_plan, pinned=pins, now_s=NOW, change_penalty=3600, stop=FEW)
    for visit_id in open_of_w2:
        change = next(c for c in result.changes if c.visit_id == visit_id)
        assert change.kind in (ChangeKind.MOVED, ChangeKind.REMOVED)
        if change.kind is ChangeKind.MOVED:
            assert change.from_worker_id == "w2" and change.worker_id == "w1"
            assert change.concerns("w1") and change.concerns("w2")
        else:
            assert result.plan.reason_for(visit_id) is not None
    assert check(replan_problem(current, morning_plan, pinned=pins, now_s=NOW, change_penalty=3600), result.plan) == []


def swapped_day() -> tuple[Problem, Plan]:
    """A plan in which each worker was announced the visit next to the other worker's base."""
    seconds, metres = matrices()
    workers = [Worker("w1", 0, 0, 8 * H, 17 * H), Worker("w2", 6, 6, 8 * H, 17 * H)]
    visits = [Visit("west", location=1, service_s=H), Visit("east", location=5, service_s=H)]
    problem = Problem.from_matrices(seconds, metres, visits=visits, workers=workers)
    routes = [earliest_route(problem, workers[0], ["east"]), earliest_route(problem, workers[1], ["west"])]
    return problem, Plan(routes=tuple(r for r in routes if r is not None))


def test_a_change_penalty_keeps_announced_visits_with_their_worker() -> None:
    """Tests that a swap saving 40 minutes of driving happens at no penalty but not at a penalty of 2 hours each."""
    problem, previous = swapped_day()
    assert len(previous.routes) == 2
    free = replan(problem, previous, pinned={}, now_s=8 * H, change_penalty=0, stop=FEW)
    assert {c.kind for c in free.changes} == {ChangeKind.MOVED} and len(free.changes) == 2
    costly = replan(problem, previous, pinned={}, now_s=8 * H, change_penalty=2 * H, stop=FEW)
    assert not [c for c in costly.changes if c.kind is ChangeKind.MOVED]


def test_a_pin_must_match_the_previous_plan(morning_plan: Plan) -> None:
    """Tests that pinning a visit to a worker who did not have it is refused, naming the visit."""
    visit_id, worker_id = next(iter(started(morning_plan).items()))
    other = "w2" if worker_id == "w1" else "w1"
    with pytest.raises(ValueError, match=visit_id):
        replan(day(), morning_plan, pinned={visit_id: other}, now_s=NOW, change_penalty=0, stop=FEW)


def test_the_same_seed_gives_the_same_replan(morning_plan: Plan) -> None:
    """Tests that re-planning twice with the same inputs and a count stop gives the same plan and changes."""
    pinned = started(morning_plan)
    urgent = Visit("urgent", location=3, service_s=1800, windows=(Window(NOW, NOW + 2 * H),), priority=1)
    args = dict(pinned=pinned, now_s=NOW, change_penalty=3600, stop=FEW, seed=1)
    first = replan(day().with_visit(urgent), morning_plan, **args)  # type: ignore[arg-type]
    second = replan(day().with_visit(urgent), morning_plan, **args)  # type: ignore[arg-type]
    assert first == second


def test_a_replan_that_moves_a_pinned_visit_is_caught_by_the_checker(morning_plan: Plan) -> None:
    """Tests that the checker reports a pinned visit moved by 10 minutes in an otherwise valid re-plan."""
    pinned = started(morning_plan)
    current = replan_problem(day(), morning_plan, pinned=pinned, now_s=NOW, change_penalty=0)
    visit_id, worker_id = next(iter(pinned.items()))
    route = morning_plan.route_of(worker_id)
    assert route is not None
    moved = tuple(
        Stop(s.visit_id, s.arrival_s, s.start_s + 600, s.end_s + 600, s.wait_s + 600, s.travel_s, s.distance_m)
        if s.visit_id == visit_id
        else s
        for s in route.stops
    )
    others = tuple(r for r in morning_plan.routes if r.worker_id != worker_id)
    plan = Plan(
        routes=(
            *others,
            Route(
                route.worker_id,
                route.start_s,
                route.end_s,
                moved,
                route.breaks,
                route.return_travel_s,
                route.return_distance_m,
            ),
        )
    )
    assert any(v.kind is ViolationKind.PINNED and v.visit_id == visit_id for v in check(current, plan))


# --- diff ----------------------------------------------------------------------------------------


def plan_of(**routes: tuple[tuple[str, int], ...]) -> Plan:
    return Plan(
        routes=tuple(
            Route(worker, 0, 0, tuple(Stop(vid, start, start, start, 0, 0, 0) for vid, start in stops))
            for worker, stops in routes.items()
        )
    )


def test_the_diff_says_what_changed_for_whom() -> None:
    """Tests added, removed, moved and retimed, each for the right worker, and small retimings ignored."""
    before = plan_of(w1=(("a", 100), ("b", 200), ("c", 300)), w2=(("d", 400),))
    after = plan_of(w1=(("a", 130), ("c", 900)), w2=(("d", 400), ("b", 500), ("e", 600)))
    assert diff_plans(before, after, retime_threshold_s=60) == [
        Change("w1", "c", ChangeKind.RETIMED, None, 300, 900),
        Change("w2", "b", ChangeKind.MOVED, "w1", 200, 500),
        Change("w2", "e", ChangeKind.ADDED, start_s=600),
    ]
    gone = diff_plans(before, plan_of(w1=(("a", 100), ("b", 200)), w2=(("d", 400),)))
    assert gone == [Change("w1", "c", ChangeKind.REMOVED, previous_start_s=300)]


BETWEEN = (
    9 * H + 6 * 60
)  # 09:06: each worker's first visit ended at 09:04, the next starts at 09:08 in the morning plan


def leaves(route: Route, k: int) -> int:
    """When the leg toward stop `k` leaves, as the route states it (no break falls on these morning legs)."""
    return route.stops[k].arrival_s - route.stops[k].travel_s


def test_no_leg_toward_a_visit_not_under_way_leaves_before_now(morning_plan: Plan) -> None:
    """Tests that a re-plan at 09:06, when each worker has finished one visit (at 09:04) and not started the next,
    has them leave for the next visit at 09:06 or later, not at 09:04 as the morning plan had it: a worker idle on
    a site since 09:04 has not already driven toward the next one. The re-plan keeps every rule of its problem."""
    pinned = {s.visit_id: r.worker_id for r in morning_plan.routes for s in r.stops if s.start_s < BETWEEN}
    assert len(pinned) == 2 and all(s.end_s < BETWEEN for r in morning_plan.routes for s in r.stops[:1])
    plan = replan(day(), morning_plan, pinned=pinned, now_s=BETWEEN, change_penalty=3600, stop=FEW).plan
    for route in plan.routes:
        assert [s.visit_id in pinned for s in route.stops][:2] == [True, False]
        assert leaves(route, 1) >= BETWEEN, (route.worker_id, leaves(route, 1))
    assert check(replan_problem(day(), morning_plan, pinned=pinned, now_s=BETWEEN, change_penalty=3600), plan) == []


def test_a_leg_that_left_before_now_is_reported_by_the_checker(morning_plan: Plan) -> None:
    """Tests that the morning plan, checked as a plan of 09:06 with the first visits under way, is faulted for each
    leg that leaves them at 09:04 for a visit not yet started ("leaves for it at 09:04, before now (09:06)")."""
    pinned = {s.visit_id: r.worker_id for r in morning_plan.routes for s in r.stops if s.start_s < BETWEEN}
    problem = replan_problem(day(), morning_plan, pinned=pinned, now_s=BETWEEN, change_penalty=3600)
    past = [v for v in check(problem, morning_plan) if v.kind is ViolationKind.PAST]
    assert [v.message for v in past] == ["leaves for it at 09:04, before now (09:06)"] * 2


def test_an_edit_of_today_re_times_a_route_that_left_its_finished_visit_before_now(morning_plan: Plan) -> None:
    """Tests that moving a visit within one worker's route, at 09:06, re-times the other worker's untouched route so
    that it leaves its finished visit no earlier than now, and the edited plan is not faulted for it."""
    pinned = {s.visit_id: r.worker_id for r in morning_plan.routes for s in r.stops if s.start_s < BETWEEN}
    problem = replan_problem(day(), morning_plan, pinned=pinned, now_s=BETWEEN, change_penalty=3600)
    mover = morning_plan.routes[0]
    edited = move_visit(problem, morning_plan, mover.visit_ids[-1], mover.worker_id)
    other = next(r for r in edited.plan.routes if r.worker_id != mover.worker_id)
    assert leaves(other, 1) >= BETWEEN
    assert not [v for v in edited.violations if v.worker_id == other.worker_id], edited.violations
