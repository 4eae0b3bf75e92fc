"""Comparing a draft with the published plan: what moves, what is re-timed, what is added or dropped, and
who gains or loses visits. Hand-written plans; one small re-plan to show `compare` and `replan` agree."""

from __future__ import annotations

from datetime import date

import pytest

from routing.compare import (
    AddedVisit,
    DroppedVisit,
    MovedVisit,
    PlanDiff,
    RetimedVisit,
    WorkerDiff,
    compare,
)
from routing.day import diff_json
from routing.plan import ChangeKind, Plan, Route, Stop, Unplanned, UnplannedReason, earliest_route
from routing.problem import Problem, StopRule, Visit, Worker
from routing.solve import replan

H = 3600
DAY = date(2025, 3, 3)
NAMES = {1: "Ana Rossi", 2: "Bo Lind"}


def plan_of(*unplanned: Unplanned, **routes: tuple[tuple[str, int], ...]) -> Plan:
    """Routes as (visit id, start in seconds) per worker; only the starts matter to a comparison."""
    return Plan(
        routes=tuple(
            Route(worker, 0, 0, tuple(Stop(vid, start, start, start + 1800, 0, 0, 0) for vid, start in stops))
            for worker, stops in routes.items()
        ),
        unplanned=unplanned,
    )


PUBLISHED = plan_of(
    Unplanned("5", UnplannedReason.NO_TIME),
    **{"1": (("1", 9 * H), ("2", 10 * H), ("3", 11 * H)), "2": (("4", 9 * H),)},
)


def test_identical_plans_differ_in_nothing() -> None:
    """Tests that a draft equal to the published plan gives an empty diff and says "no changes"."""
    diff = compare(PUBLISHED, PUBLISHED)
    assert diff == PlanDiff() and diff.is_empty
    assert diff_json(diff, DAY, NAMES) == {
        "moved": [],
        "retimed": [],
        "added": [],
        "dropped": [],
        "workers": [],
        "summary": "no changes",
    }


def test_a_visit_given_to_another_worker_is_moved_and_counted_for_both() -> None:
    """Tests that visit 2 going from Ana to Bo is one move, a loss for Ana and a gain for Bo."""
    draft = plan_of(
        Unplanned("5", UnplannedReason.NO_TIME),
        **{"1": (("1", 9 * H), ("3", 11 * H)), "2": (("4", 9 * H), ("2", 10 * H + 1200))},
    )
    diff = compare(draft, PUBLISHED)
    assert diff.moved == (MovedVisit("2", "1", "2", 10 * H, 10 * H + 1200),)
    assert diff.retimed == diff.added == diff.dropped == ()
    assert diff.workers == (WorkerDiff("1", lost=("2",)), WorkerDiff("2", gained=("2",)))
    assert [w.delta for w in diff.workers] == [-1, 1]


@pytest.mark.parametrize(
    ("shift_s", "reported"),
    [(899, False), (900, True), (-899, False), (-1200, True), (0, False)],
)
def test_a_visit_kept_by_its_worker_is_retimed_only_from_the_threshold(shift_s: int, reported: bool) -> None:
    """Tests that with a 15-minute threshold a start moved 14:59 either way is not reported and 15:00 or 20:00 is."""
    draft = plan_of(
        Unplanned("5", UnplannedReason.NO_TIME),
        **{"1": (("1", 9 * H), ("2", 10 * H + shift_s), ("3", 11 * H)), "2": (("4", 9 * H),)},
    )
    diff = compare(draft, PUBLISHED, retime_threshold_s=900)
    expected = (RetimedVisit("2", "1", 10 * H, 10 * H + shift_s),) if reported else ()
    assert diff.retimed == expected
    assert diff.moved == diff.added == diff.dropped == diff.workers == ()
    if reported:
        assert diff.retimed[0].shift_s == shift_s


def test_newly_planned_visits_are_added_with_why_they_were_out() -> None:
    """Tests that a visit the published plan left out (no time) and a brand-new one are both added to Bo."""
    draft = plan_of(
        **{"1": (("1", 9 * H), ("2", 10 * H), ("3", 11 * H)), "2": (("4", 9 * H), ("5", 13 * H), ("6", 14 * H))}
    )
    diff = compare(draft, PUBLISHED)
    assert diff.added == (
        AddedVisit("5", "2", 13 * H, previous_reason=UnplannedReason.NO_TIME),
        AddedVisit("6", "2", 14 * H, previous_reason=None),
    )
    assert diff.workers == (WorkerDiff("2", gained=("5", "6")),)
    assert diff.workers[0].delta == 2


def test_visits_no_longer_planned_are_dropped_with_the_drafts_reason() -> None:
    """Tests that a visit the draft leaves out says why, and one the draft does not know has no reason."""
    draft = plan_of(
        Unplanned("3", UnplannedReason.WINDOW_UNREACHABLE),
        Unplanned("5", UnplannedReason.NO_TIME),
        **{"1": (("1", 9 * H), ("2", 10 * H))},
    )
    diff = compare(draft, PUBLISHED)
    assert diff.dropped == (
        DroppedVisit("3", "1", 11 * H, reason=UnplannedReason.WINDOW_UNREACHABLE),
        DroppedVisit("4", "2", 9 * H, reason=None),
    )
    assert diff.workers == (WorkerDiff("1", lost=("3",)), WorkerDiff("2", lost=("4",)))
    assert diff.added == diff.moved == ()


def test_the_json_names_workers_gives_int_ids_iso_times_and_a_summary() -> None:
    """Tests the page's view of a draft that moves one visit, re-times one, adds one and drops one."""
    draft = plan_of(
        Unplanned("3", UnplannedReason.NO_TIME),
        **{"1": (("1", 9 * H + 1800),), "2": (("4", 9 * H), ("2", 10 * H), ("5", 13 * H))},
    )
    assert diff_json(compare(draft, PUBLISHED), DAY, NAMES) == {
        "moved": [
            {
                "order_id": 2,
                "from_worker_id": 1,
                "from_name": "Ana Rossi",
                "to_worker_id": 2,
                "to_name": "Bo Lind",
                "previous_start": "2025-03-03T10:00:00+00:00",
                "start": "2025-03-03T10:00:00+00:00",
            }
        ],
        "retimed": [
            {
                "order_id": 1,
                "worker_id": 1,
                "name": "Ana Rossi",
                "previous_start": "2025-03-03T09:00:00+00:00",
                "start": "2025-03-03T09:30:00+00:00",
                "shift_s": 1800,
            }
        ],
        "added": [
            {
                "order_id": 5,
                "worker_id": 2,
                "name": "Bo Lind",
                "start": "2025-03-03T13:00:00+00:00",
                "previous_reason": "no qualified worker has time",
            }
        ],
        "dropped": [
            {
                "order_id": 3,
                "worker_id": 1,
                "name": "Ana Rossi",
                "previous_start": "2025-03-03T11:00:00+00:00",
                "reason": "no qualified worker has time",
            }
        ],
        "workers": [
            {"worker_id": 1, "name": "Ana Rossi", "gained": [], "lost": [2, 3], "delta": -2},
            {"worker_id": 2, "name": "Bo Lind", "gained": [2, 5], "lost": [], "delta": 2},
        ],
        "summary": "1 visit moves, 1 re-timed, 1 added, 1 dropped",
    }


def test_the_summary_counts_in_plural() -> None:
    """Tests that two moves read "2 visits move" and zero counts are left out."""
    draft = plan_of(
        Unplanned("5", UnplannedReason.NO_TIME),
        **{"1": (("1", 9 * H), ("3", 11 * H)), "2": (("4", 9 * H), ("2", 10 * H))},
    )
    swapped = plan_of(
        Unplanned("5", UnplannedReason.NO_TIME),
        **{"1": (("1", 9 * H), ("4", 12 * H)), "2": (("3", 11 * H), ("2", 12 * H))},
    )
    assert diff_json(compare(swapped, draft), DAY, NAMES)["summary"] == "2 visits move, 1 re-timed"


def test_a_negative_threshold_is_refused() -> None:
    """Tests that a negative re-time threshold is a ValueError naming it."""
    with pytest.raises(ValueError, match="retime_threshold_s"):
        compare(PUBLISHED, PUBLISHED, retime_threshold_s=-1)


def test_compare_and_replan_report_the_same_moves() -> None:
    """Tests that the moves a re-plan announces are the moves `compare` shows for the same two plans."""
    line = [[abs(i - j) * 240 for j in range(7)] for i in range(7)]
    metres = [[abs(i - j) * 2000 for j in range(7)] for i in range(7)]
    workers = [Worker("1", 0, 0, 8 * H, 17 * H), Worker("2", 6, 6, 8 * H, 17 * H)]
    visits = [Visit("10", location=1, service_s=H), Visit("11", location=5, service_s=H)]
    problem = Problem.from_matrices(line, metres, visits=visits, workers=workers)
    # Each worker was announced the visit next to the other one's base.
    routes = [earliest_route(problem, workers[0], ["11"]), earliest_route(problem, workers[1], ["10"])]
    published = Plan(routes=tuple(r for r in routes if r is not None))
    result = replan(problem, published, pinned={}, now_s=8 * H, change_penalty=0, stop=StopRule(max_solutions=60))
    announced = {(c.visit_id, c.from_worker_id, c.worker_id) for c in result.changes if c.kind is ChangeKind.MOVED}
    diff = compare(result.plan, published, retime_threshold_s=60)
    assert announced == {("10", "2", "1"), ("11", "1", "2")}
    assert {(m.visit_id, m.from_worker_id, m.to_worker_id) for m in diff.moved} == announced
    assert len(diff.retimed) == sum(1 for c in result.changes if c.kind is ChangeKind.RETIMED)
