"""The typed views of stored plans (`services.plan_views`): what the plans page and the plan use cases read out
of a plan row, and the JSON the REST API gives back."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from data.plans_repo import StoredPlan
from dispatch.geo import LatLon
from routing.compare import MovedVisit, PlanDiff, WorkerDiff
from routing.day import diff_json
from routing.plan import UnplannedReason
from services.plan_views import (
    JobProgress,
    PlanComparison,
    PlanViolation,
    comparison_json,
    job_progress,
    plan_view,
    status_of,
    summary_of,
    violation_json,
    violations_of,
)

DAY = date(2025, 3, 4)
DOCUMENT = {
    "schema_version": 2,
    "timezone": "Europe/Monaco",
    "engine": "ortools",
    "objective": 1800,
    "travel_s": 1200,
    "distance_m": 6000,
    "planned": 2,
    "routes": [
        {"worker_id": 7, "name": "Ana", "start": "2025-03-04T07:00:00+00:00", "end": "2025-03-04T09:30:00+00:00",
         "travel_s": 1200, "distance_m": 6000, "wait_s": 600,
         "stops": [
             {"order_id": 1, "arrival": "2025-03-04T07:50:00+00:00", "start": "2025-03-04T08:00:00+00:00",
              "end": "2025-03-04T08:30:00+00:00", "wait_s": 600, "travel_s": 600, "distance_m": 3000},
             {"order_id": 2, "arrival": "2025-03-04T08:40:00+00:00", "start": "2025-03-04T08:40:00+00:00",
              "end": "2025-03-04T09:00:00+00:00", "wait_s": 0, "travel_s": 600, "distance_m": 3000},
         ],
         "breaks": [{"start": "2025-03-04T08:30:00+00:00", "end": "2025-03-04T08:35:00+00:00"}],
         "shift_start": "2025-03-04T07:00:00+00:00", "shift_end": "2025-03-04T15:00:00+00:00",
         "start_location": {"lat": 43.73, "lon": 7.42}, "end_location": {"lat": 43.731, "lon": 7.421}},
    ],
    "unplanned": [{"order_id": 4, "reason": "no qualified worker"}],
}  # fmt: skip


def stored(payload: dict, *, status: str = "draft") -> StoredPlan:
    return StoredPlan(12, DAY, status, datetime(2025, 3, 4, 6, 0, tzinfo=UTC), payload)


def test_a_stored_plan_reads_as_a_typed_plan_with_its_workers_names_shifts_and_start_points():
    """Tests that a plan document reads as the typed plan in the document's own zone, each route with its
    worker's name, shift and start and end points, and every order of the plan (planned or not) listed."""
    view = plan_view(DOCUMENT, DAY)
    assert view.zone == ZoneInfo("Europe/Monaco") and view.day == DAY
    route = view.plan.routes[0]
    # Monaco is UTC+1 in March: 08:00 UTC is 9 hours after the local midnight.
    assert [s.start_s for s in route.stops] == [9 * 3600, 9 * 3600 + 40 * 60]
    assert view.at(route.stops[0].start_s) == datetime(2025, 3, 4, 8, 0, tzinfo=UTC)
    assert route.travel_s == 1200 and view.plan.planned_count == 2
    frame = view.frame("7")
    assert (frame.name, frame.shift_start_s, frame.shift_end_s) == ("Ana", 8 * 3600, 16 * 3600)
    assert (frame.start_location, frame.end_location) == (LatLon(43.73, 7.42), LatLon(43.731, 7.421))
    assert view.plan.unplanned[0].reason is UnplannedReason.NO_QUALIFIED_WORKER
    assert view.order_ids == (1, 2, 4)
    assert view.name("99") == "99"  # a worker without a route is named by their id


def test_a_plan_stored_before_schema_versions_reads_the_same_and_an_unknown_version_is_refused():
    """Tests that a document without `schema_version` or `timezone` (version 1, times in UTC) reads as the same
    moments, and one of a version this server does not know is refused naming `schema_version`."""
    older = {k: v for k, v in DOCUMENT.items() if k not in ("schema_version", "timezone")}
    old, new = plan_view(older, DAY), plan_view(DOCUMENT, DAY)
    assert old.zone == ZoneInfo("UTC")
    moments = [[old.at(s.start_s) for s in r.stops] for r in old.plan.routes]
    assert moments == [[new.at(s.start_s) for s in r.stops] for r in new.plan.routes]
    with pytest.raises(ValueError, match="^schema_version: "):
        plan_view({**DOCUMENT, "schema_version": 3}, DAY)


def test_a_plan_row_reads_as_its_status_with_typed_verdict_and_progress():
    """Tests that a plan row's job state, progress, verdict and origin read as typed values, the job's state as the
    job service judged it, and a row without a result yet has no plan and counts no visits."""
    payload = {
        "job": {"state": "done", "progress": {"best_cost": 1800, "elapsed_s": 1.5, "solutions": 3}, "replan_of": 9,
                "minimise": "distance", "balance_workload": True},
        "plan": DOCUMENT,
        "violations": [{"kind": "window", "message": "order 2 is late", "worker_id": 7, "order_id": 2}, {}],
        "checked_at": "2025-03-04T06:00:00+00:00",
    }  # fmt: skip
    status = status_of(stored(payload, status="published"), "interrupted", "the process running it stopped")
    assert (status.state, status.error, status.published, status.checked) == (
        "interrupted", "the process running it stopped", True, True,
    )  # fmt: skip
    assert status.progress == JobProgress(best_cost=1800.0, elapsed_s=1.5, solutions=3)
    assert status.violations == (PlanViolation("window", "order 2 is late", 7, 2), PlanViolation("rule", ""))
    assert (status.replan_of, status.edited_from, status.minimise, status.balance_workload) == (
        9,
        None,
        "distance",
        True,
    )
    assert status.planned_count == 2 and not status.finished
    queued = status_of(stored({"job": {"state": "queued"}}), "queued", None)
    assert queued.view is None and queued.planned_count == 0 and queued.progress is None and not queued.checked
    assert summary_of(stored({"job": {"edited_from": 3}, "plan": DOCUMENT}), "done").planned == 2
    empty = summary_of(stored({"job": {}}), "queued")
    assert (empty.planned, empty.unplanned, empty.published) == (None, None, False)


def test_the_api_gets_back_the_json_it_always_answered():
    """Tests that the verdict and the comparison with the published plan go back to the API's JSON unchanged:
    violations as stored, and the comparison as `diff_json` with the published plan's id."""
    rows = [{"kind": "skill", "message": "needs hvac", "worker_id": 1, "order_id": 3},
            {"kind": "shift", "message": "ends late", "worker_id": 1, "order_id": None}]  # fmt: skip
    assert [violation_json(v) for v in violations_of(rows)] == rows
    diff = PlanDiff(
        moved=(MovedVisit("2", "7", "8", 9 * 3600, 10 * 3600),),
        workers=(WorkerDiff("7", lost=("2",)), WorkerDiff("8", gained=("2",))),
    )
    comparison = PlanComparison(published_id=5, diff=diff, day=DAY, zone=UTC, names={"7": "Ana", "8": "Bo"})
    assert comparison_json(comparison) == {**diff_json(diff, DAY, {7: "Ana", 8: "Bo"}, UTC), "published_id": 5}
    assert comparison_json(comparison)["moved"][0]["from_name"] == "Ana"


def test_a_pushed_progress_not_of_the_jobs_shape_reads_as_no_progress():
    """Tests that the plans page's progress from a pushed event (which a forged callback call can fill with anything)
    is None for a list, text or a figure that is no number, instead of raising inside the callback (a 500)."""
    assert job_progress({"best_cost": 9408, "elapsed_s": 2.5, "solutions": 3}) == JobProgress(9408.0, 2.5, 3)
    for forged in (["x"], "x", {"best_cost": "x"}, {"solutions": [1]}, {"elapsed_s": {"a": 1}}, {"best_cost": 10**400}):
        assert job_progress(forged) is None, forged
