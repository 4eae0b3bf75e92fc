"""A re-plan pins the visits under way where the field recorded them (`routing.pins`), not at the plan's times.

One worker on a line of sites 2 km (240 s) apart; the previous plan is timed by `earliest_route`, so every
figure below follows from the rules. Solvers stop by solution count."""

from __future__ import annotations

import math

from routing.check import check
from routing.pins import Happened, UnderWay, after_work_under_way
from routing.plan import Plan, earliest_route
from routing.problem import Break, Problem, StopRule, Visit, Window, Worker
from routing.solve import replan, replan_problem, solve

H = 3600
M = 60
FEW = StopRule(max_solutions=40)
POINTS = [(0.0, 0.0), (2, 0), (4, 0), (6, 0), (8, 0)]
DRIVE = 240  # between neighbouring sites


def day(visits: list[Visit], breaks: tuple[Break, ...] = ()) -> Problem:
    km = [[math.dist(a, b) for b in POINTS] for a in POINTS]
    return Problem.from_matrices(
        [[d * 120 for d in row] for row in km],
        [[d * 1000 for d in row] for row in km],
        visits=visits,
        workers=[Worker("w", 0, 0, 8 * H, 17 * H, breaks=breaks)],
    )


def planned(problem: Problem, ids: list[str]) -> Plan:
    route = earliest_route(problem, problem.worker("w"), ids)
    assert route is not None
    return Plan(routes=(route,))


def start_of(plan: Plan, visit_id: str) -> int:
    found = plan.stop_of(visit_id)
    assert found is not None, f"{visit_id} is not planned"
    return found[1].start_s


def test_a_visit_done_early_frees_the_worker_for_an_urgent_order() -> None:
    """Tests that a worker recorded done at 09:00 with a visit the plan had until 11:00 takes an urgent order
    that must start by 10:30; pinned at the plan's times the order found nobody free. The re-plan's changes do not
    list the done visit."""
    a = Visit("a", location=1, service_s=H, windows=(Window(10 * H, 17 * H),))
    b = Visit("b", location=2, service_s=H, windows=(Window(8 * H, 17 * H),))
    previous = planned(day([a, b]), ["a", "b"])
    assert start_of(previous, "a") == 10 * H
    urgent = Visit("u", location=3, service_s=30 * M, windows=(Window(9 * H + 30 * M, 10 * H + 30 * M),), priority=1)
    current = day([a, b, urgent])
    now = 9 * H + 30 * M
    record = {"a": Happened(started_s=8 * H + 30 * M, ended_s=9 * H)}

    as_planned = replan(current, previous, pinned={"a": "w"}, now_s=now, change_penalty=0, stop=FEW).plan
    assert as_planned.stop_of("u") is None

    result = replan(current, previous, pinned={"a": "w"}, now_s=now, change_penalty=0, stop=FEW, happened=record)
    plan = result.plan
    stop = plan.stop_of("a")
    assert stop is not None and (stop[1].start_s, stop[1].end_s) == (8 * H + 30 * M, 9 * H)
    assert start_of(plan, "u") == now + 2 * DRIVE  # leaves at now, two sites on
    # What happened is nothing to tell the worker: a moves from its plan's 10:00 to 08:30 without a "retimed".
    assert [c for c in result.changes if c.visit_id == "a"] == []
    assert ("u", "added") in [(c.visit_id, c.kind.value) for c in result.changes]
    solved = replan_problem(current, previous, pinned={"a": "w"}, now_s=now, change_penalty=0, happened=record)
    assert check(solved, plan) == []


def test_a_worker_running_late_is_planned_late() -> None:
    """Tests that a worker recorded on site at 09:00 for a visit planned at 08:04 cannot make the next visit's
    09:30 window closing: the re-plan leaves it out, where the plan's times had it at 09:14."""
    a = Visit("a", location=1, service_s=H)
    b = Visit("b", location=2, service_s=30 * M, windows=(Window(9 * H, 9 * H + 30 * M),))
    problem = day([a, b])
    previous = planned(problem, ["a", "b"])
    assert (start_of(previous, "a"), start_of(previous, "b")) == (8 * H + DRIVE, 9 * H + 2 * DRIVE)
    now = 9 * H + 10 * M
    as_planned = replan(problem, previous, pinned={"a": "w"}, now_s=now, change_penalty=0, stop=FEW).plan
    assert start_of(as_planned, "b") == now + DRIVE  # a "ended" at 09:04: leaves now

    record = {"a": Happened(started_s=9 * H)}
    plan = replan(problem, previous, pinned={"a": "w"}, now_s=now, change_penalty=0, stop=FEW, happened=record).plan
    assert start_of(plan, "a") == 9 * H
    assert plan.stop_of("b") is None and [u.visit_id for u in plan.unplanned] == ["b"]
    solved = replan_problem(problem, previous, pinned={"a": "w"}, now_s=now, change_penalty=0, happened=record)
    assert check(solved, plan) == []


def test_a_break_the_plan_had_begun_during_a_visit_is_still_owed() -> None:
    """Tests that the plan's 09:04 break, begun by now (09:20) on paper, is not counted as taken by a worker
    recorded on site 08:50-09:50: the re-plan gives the full 30 minutes when the visit ends, past the rule's
    09:30 latest start, which the worker could not keep."""
    lunch = Break(9 * H, 9 * H + 30 * M, 30 * M)
    a = Visit("a", location=1, service_s=H)
    b = Visit("b", location=2, service_s=H)
    problem = day([a, b], breaks=(lunch,))
    previous = planned(problem, ["a", "b"])
    assert [br.start_s for br in previous.routes[0].breaks] == [8 * H + DRIVE + H]  # right after a
    now = 9 * H + 20 * M
    record = {"a": Happened(started_s=8 * H + 50 * M)}
    plan = replan(problem, previous, pinned={"a": "w"}, now_s=now, change_penalty=0, stop=FEW, happened=record).plan
    route = plan.route_of("w")
    assert route is not None
    assert [(br.start_s, br.end_s) for br in route.breaks] == [(9 * H + 50 * M, 10 * H + 20 * M)]
    assert start_of(plan, "b") == 10 * H + 20 * M + DRIVE
    solved = replan_problem(problem, previous, pinned={"a": "w"}, now_s=now, change_penalty=0, happened=record)
    assert check(solved, plan) == []


def test_visits_are_pinned_in_the_order_they_happened_and_the_one_en_route_after_them() -> None:
    """Tests that a worker who did b (planned second) before a, and is driving to c, has b, a, c pinned in that
    order: a and b at their recorded times, c when they can be there (a's end and the drive, not before now)."""
    a = Visit("a", location=1, service_s=30 * M)
    b = Visit("b", location=2, service_s=30 * M)
    c = Visit("c", location=4, service_s=30 * M)
    problem = day([a, b, c])
    previous = planned(problem, ["a", "b", "c"])
    now = 9 * H + 5 * M
    record = {"b": Happened(8 * H + 10 * M, 8 * H + 30 * M), "a": Happened(8 * H + 40 * M, 9 * H)}
    pinned = {"a": "w", "b": "w", "c": "w"}
    solved = replan_problem(problem, previous, pinned=pinned, now_s=now, change_penalty=0, happened=record)
    assert [(p.visit_id, p.start_s) for p in solved.pins_of("w")] == [
        ("b", 8 * H + 10 * M),
        ("a", 8 * H + 40 * M),
        ("c", 9 * H + 3 * DRIVE),  # 09:12, after now
    ]
    assert (solved.visit("b").service_s, solved.visit("a").service_s, solved.visit("c").service_s) == (
        20 * M,
        20 * M,
        30 * M,
    )
    plan = replan(problem, previous, pinned=pinned, now_s=now, change_penalty=0, stop=FEW, happened=record).plan
    assert plan.route_of("w").visit_ids == ("b", "a", "c")  # type: ignore[union-attr]
    assert check(solved, plan) == []


def test_records_that_break_the_day_leave_the_plan_times() -> None:
    """Tests that a worker recorded on site at 16:30 for an hour, past the end of their shift at 17:00, keeps
    the plan's times for that visit: the re-plan still runs and its plan keeps every rule."""
    a = Visit("a", location=1, service_s=H, windows=(Window(15 * H, 16 * H + 30 * M),))
    problem = day([a])
    previous = planned(problem, ["a"])
    now = 16 * H + 40 * M
    record = {"a": Happened(started_s=16 * H + 30 * M)}
    solved = replan_problem(problem, previous, pinned={"a": "w"}, now_s=now, change_penalty=0, happened=record)
    assert [(p.visit_id, p.start_s) for p in solved.pins] == [("a", 15 * H)]
    plan = replan(problem, previous, pinned={"a": "w"}, now_s=now, change_penalty=0, stop=FEW, happened=record).plan
    assert start_of(plan, "a") == 15 * H and check(solved, plan) == []


def test_a_new_plan_of_today_starts_a_busy_worker_where_and_when_their_visit_under_way_ends() -> None:
    """Tests that a new plan of today made at 10:00 starts a worker on site since 09:40 (an hour's service) at that
    site at 10:40, one driving to a site two sites on at 10:08 + its hour, places the busy worker's break after the
    visit, leaves out a worker busy until the end of the shift, and keeps the visits under way out of the plan."""
    lunch = Break(10 * H, 11 * H, 30 * M)
    a = Visit("a", location=1, service_s=H)
    b = Visit("b", location=2, service_s=H)
    later = Visit("later", location=3, service_s=30 * M, windows=(Window(8 * H, 16 * H),))
    km = [[math.dist(p, q) for q in POINTS] for p in POINTS]
    workers = [
        Worker("on_site", 0, 0, 8 * H, 17 * H, breaks=(lunch,)),
        Worker("driving", 0, 0, 8 * H, 17 * H),
        Worker("all_day", 0, 0, 8 * H, 11 * H),
    ]
    problem = Problem.from_matrices(
        [[d * 120 for d in row] for row in km], [[d * 1000 for d in row] for row in km],
        visits=[a, b, later, Visit("c", location=4, service_s=2 * H)], workers=workers,
    ).from_now(10 * H)  # fmt: skip
    busy = [
        UnderWay("a", "on_site", on_site=True, started_s=9 * H + 40 * M),
        UnderWay("b", "driving", on_site=False),
        UnderWay("c", "all_day", on_site=True, started_s=10 * H),
    ]
    after = after_work_under_way(problem, busy)
    assert [v.id for v in after.visits] == ["later"]
    assert [(w.id, w.start_location, w.shift_start_s) for w in after.workers] == [
        ("on_site", 1, 10 * H + 40 * M),
        ("driving", 2, 10 * H + 2 * DRIVE + H),
    ]
    assert after.worker("on_site").breaks == (Break(10 * H + 40 * M, 11 * H, 30 * M),)
    plan = solve(after, stop=FEW, engine="ortools")
    route = plan.route_of(plan.assignment()["later"])
    assert route is not None and route.start_s >= 10 * H + 40 * M and check(after, plan) == []
