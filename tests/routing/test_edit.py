"""A dispatcher moving a visit to another worker: both routes are re-timed and the checker says what the move
breaks. A hand-built line of six locations, 10 minutes apart each."""

from __future__ import annotations

import dataclasses

import pytest

from routing.check import ViolationKind, check
from routing.edit import move_visit
from routing.plan import Plan, Route, earliest_route, schedule_route
from routing.problem import Pin, Problem, Visit, Window, Worker

H = 3600
N = 6


def line() -> tuple[tuple[int | None, ...], ...]:
    return tuple(tuple(600 * abs(i - j) for j in range(N)) for i in range(N))


def metres() -> tuple[tuple[int | None, ...], ...]:
    return tuple(tuple(5000 * abs(i - j) for j in range(N)) for i in range(N))


# w1 is based at location 0, w2 at location 5, both 08:00-17:00.
W1 = Worker("w1", start_location=0, end_location=0, shift_start_s=8 * H, shift_end_s=17 * H)
W2 = Worker("w2", start_location=5, end_location=5, shift_start_s=8 * H, shift_end_s=17 * H, skills=frozenset({"gas"}))
# `early` must start by 08:15, 10 minutes from w1's base but 40 from w2's; `flexible` fits anyone.
EARLY = Visit("early", location=1, service_s=1800, windows=(Window(8 * H, 8 * H + 900),))
FLEXIBLE = Visit("flexible", location=4, service_s=1800, windows=(Window(8 * H, 16 * H),))
GAS = Visit("gas", location=2, service_s=1800, skills=frozenset({"gas"}))
PROBLEM = Problem(visits=(EARLY, FLEXIBLE), workers=(W1, W2), duration_s=line(), distance_m=metres())


def w1_does_both(problem: Problem = PROBLEM) -> Plan:
    route = earliest_route(problem, W1, [v.id for v in problem.visits])
    assert route is not None
    plan = Plan(routes=(route,))
    assert check(problem, plan) == []
    return plan


def test_moving_a_visit_the_new_worker_cannot_reach_in_its_window_reports_the_window() -> None:
    """Tests that giving `early` (start by 08:15) to w2, 40 minutes away, is done but reported as a missed
    window of `early` on w2's route, and nothing else."""
    edited = move_visit(PROBLEM, w1_does_both(), "early", "w2")
    assert edited.plan.assignment() == {"early": "w2", "flexible": "w1"}
    assert [(v.kind, v.visit_id, v.worker_id) for v in edited.violations] == [(ViolationKind.WINDOW, "early", "w2")]
    found = edited.plan.stop_of("early")
    assert found is not None and found[1].start_s == 8 * H + 2400  # leaves at 08:00, arrives 08:40
    assert edited.violations[0].message == "visit early starts at 08:40, outside its start window 08:00–08:15"


def test_a_feasible_move_has_no_violations_and_retimes_both_routes() -> None:
    """Tests that giving `flexible` to w2, 10 minutes from their base, breaks nothing, w1's day ends earlier, and
    the draft's cost is its own (40 minutes of driving, from 80), not the plan's it was edited from."""
    before = w1_does_both()
    edited = move_visit(PROBLEM, before, "flexible", "w2")
    assert edited.violations == ()
    assert edited.plan.assignment() == {"early": "w1", "flexible": "w2"}
    assert check(PROBLEM, edited.plan) == []
    w1_before, w1_after = before.route_of("w1"), edited.plan.route_of("w1")
    assert w1_before is not None and w1_after is not None and w1_after.end_s < w1_before.end_s
    assert (before.travel_s, edited.plan.travel_s, edited.plan.objective) == (4800, 2400, 2400)
    priced = dataclasses.replace(PROBLEM, objective=dataclasses.replace(PROBLEM.objective, per_travel_s=2.0))
    assert move_visit(priced, before, "flexible", "w2").plan.objective == 4800


def test_moving_a_visit_to_a_worker_without_its_skill_reports_the_skill() -> None:
    """Tests that giving the gas visit to w1, who lacks `gas`, is reported as a skill violation only: `early`
    keeps its window, as it would if w1 had the skill."""
    problem = PROBLEM.replace(visits=(EARLY, GAS))
    routes = (earliest_route(problem, W1, ["early"]), earliest_route(problem, W2, ["gas"]))
    plan = Plan(routes=tuple(r for r in routes if r is not None))
    assert check(problem, plan) == []
    edited = move_visit(problem, plan, "gas", "w1")
    assert edited.plan.assignment() == {"early": "w1", "gas": "w1"}
    assert [(v.kind, v.visit_id) for v in edited.violations] == [(ViolationKind.SKILL, "gas")]
    assert "gas" in edited.violations[0].message


def test_moving_an_unknown_visit_is_refused() -> None:
    """Tests that moving a visit the problem does not know is a ValueError naming the visit."""
    with pytest.raises(ValueError, match="nope"):
        move_visit(PROBLEM, w1_does_both(), "nope", "w2")


def test_a_move_that_misses_a_window_still_takes_the_new_workers_break() -> None:
    """Tests that when a move can only be laid out late, the new worker still rests in their break window, so the
    checker reports the missed window alone and not a break the layout forgot."""
    from routing.problem import Break

    rested = dataclasses.replace(W2, breaks=(Break(9 * H, 13 * H, 1800),))
    problem = PROBLEM.replace(workers=(W1, rested))
    edited = move_visit(problem, w1_does_both(problem), "early", "w2")
    assert [v.kind for v in edited.violations] == [ViolationKind.WINDOW]
    route = next(r for r in edited.plan.routes if r.worker_id == "w2")
    assert [(b.start_s, b.end_s) for b in route.breaks] == [(9 * H + 600, 9 * H + 2400)]  # once the 08:40 visit ends


def test_a_move_leaves_just_in_time_even_when_the_shift_starts_at_midnight() -> None:
    """Tests that with shifts from 00:00 (as the demo's), both re-timed routes leave just in time for their first
    window (09:00) instead of at 00:00 and waiting nine hours on site, and the plan still keeps every rule."""
    all_day = [dataclasses.replace(w, shift_start_s=0, shift_end_s=24 * H - 60) for w in (W1, W2)]
    nine = (Window(9 * H, 12 * H),)
    visits = (dataclasses.replace(EARLY, windows=nine), dataclasses.replace(FLEXIBLE, windows=nine))
    problem = PROBLEM.replace(workers=tuple(all_day), visits=visits)
    before = Plan(routes=(_leave_at_nine(problem, all_day[0], ["early", "flexible"]),))
    assert check(problem, before) == []
    edited = move_visit(problem, before, "flexible", "w2")
    assert edited.violations == ()
    starts = {r.worker_id: (r.start_s, r.stops[0].start_s - r.stops[0].travel_s) for r in edited.plan.routes}
    assert starts == {"w1": (9 * H - 600, 9 * H - 600), "w2": (9 * H - 600, 9 * H - 600)}


def test_a_move_keeps_the_routes_it_does_not_concern_as_planned() -> None:
    """Tests that moving a visit between w1 and w2 leaves w3's route exactly as it was (same departure, same
    times), so a draft changes only what the dispatcher changed."""
    w3 = Worker("w3", start_location=3, end_location=3, shift_start_s=8 * H, shift_end_s=17 * H)
    third = Visit("third", location=3, service_s=600, windows=(Window(11 * H, 12 * H),))
    problem = PROBLEM.replace(workers=(W1, W2, w3), visits=(EARLY, FLEXIBLE, third))
    own = earliest_route(problem, w3, ["third"])
    assert own is not None
    late = dataclasses.replace(own, start_s=11 * H)  # the solver let w3 leave at 11:00
    plan = Plan(routes=(*w1_does_both(problem.replace(visits=(EARLY, FLEXIBLE))).routes, late))
    edited = move_visit(problem, plan, "flexible", "w2")
    assert edited.plan.route_of("w3") == late


def test_a_move_made_after_an_untouched_route_should_have_left_lets_it_leave_now() -> None:
    """Tests that moving `flexible` from w1 to w2 at 08:30 in a plan made before 08:00 also re-times w3's route, which
    was to leave at 08:00 with nothing of it under way: it leaves at 08:30 and serves `third` at 08:40, and the draft
    keeps every rule (it was faulted as departing before now, so it could not be published); with `third` under way
    (pinned at its planned start) the route stays as planned."""
    w3 = Worker("w3", start_location=3, end_location=3, shift_start_s=8 * H, shift_end_s=17 * H)
    third = Visit("third", location=4, service_s=600, windows=(Window(8 * H, 12 * H),))
    problem = PROBLEM.replace(workers=(W1, W2, w3), visits=(FLEXIBLE, third))
    routes = (earliest_route(problem, W1, ["flexible"]), earliest_route(problem, w3, ["third"]))
    plan = Plan(routes=tuple(r for r in routes if r is not None))
    assert [(r.worker_id, r.start_s) for r in plan.routes] == [("w1", 8 * H), ("w3", 8 * H)]

    edited = move_visit(problem.replace(now_s=8 * H + 1800), plan, "flexible", "w2")

    assert edited.violations == ()
    route = edited.plan.route_of("w3")
    assert route is not None and (route.start_s, route.stops[0].start_s) == (8 * H + 1800, 8 * H + 2400)
    under_way = problem.replace(now_s=8 * H + 1800, pins=(Pin("third", "w3", 8 * H + 600),))
    kept = move_visit(under_way, plan, "flexible", "w2")
    assert kept.violations == () and kept.plan.route_of("w3") == plan.route_of("w3")


def test_a_move_puts_first_the_visit_an_untouched_worker_took_up_before_the_planned_first() -> None:
    """Tests that when w3, planned to serve `third` then `fourth`, is under way at `fourth` (pinned at its planned
    start), moving `flexible` from w1 to w2 gives w3 the route `fourth`, `third`: the visit under way first, at its
    pinned time, as an optimised plan has it, and the draft keeps every rule (it was faulted "pinned as stop 1 of
    the route", so it could not be published)."""
    w3 = Worker("w3", start_location=3, end_location=3, shift_start_s=8 * H, shift_end_s=17 * H)
    third = Visit("third", location=4, service_s=600, windows=(Window(8 * H, 16 * H),))
    fourth = Visit("fourth", location=2, service_s=600, windows=(Window(8 * H, 16 * H),))
    problem = PROBLEM.replace(workers=(W1, W2, w3), visits=(FLEXIBLE, third, fourth))
    routes = (earliest_route(problem, W1, ["flexible"]), earliest_route(problem, w3, ["third", "fourth"]))
    plan = Plan(routes=tuple(r for r in routes if r is not None))
    planned = plan.stop_of("fourth")
    assert planned is not None
    under_way = problem.replace(now_s=8 * H + 1800, pins=(Pin("fourth", "w3", planned[1].start_s),))

    edited = move_visit(under_way, plan, "flexible", "w2")

    assert edited.violations == ()
    route = edited.plan.route_of("w3")
    assert route is not None and route.visit_ids == ("fourth", "third")
    assert route.stops[0].start_s == planned[1].start_s


def _leave_at_nine(problem: Problem, worker: Worker, ids: list[str]) -> Route:
    route = earliest_route(problem, worker, ids)
    assert route is not None
    first = route.stops[0]
    return schedule_route(problem, worker, ids, depart_s=first.start_s - first.travel_s,
                          service_starts_s=[s.start_s for s in route.stops])  # fmt: skip
