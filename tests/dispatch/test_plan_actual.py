"""Plan versus actual on a hand-made day (tests/support/field_day.py): arrivals, lateness, missed, unplanned stops."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.geo import haversine_m
from dispatch.geofences import CircleFence, GeofenceIndex
from dispatch.plan_actual import (
    CheckKind,
    CheckMark,
    PlanActualParams,
    PlannedDay,
    PlannedVisit,
    Source,
    VisitStatus,
    compare_day,
    driven_distance_m,
    fence_events_of_track,
)
from dispatch.trajectory import detect_stops
from tests.support.field_day import SITE_RADIUS_M, A, B, C, D, H, day_fixes

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
FENCES = {1: CircleFence(A, SITE_RADIUS_M), 2: CircleFence(B, SITE_RADIUS_M), 3: CircleFence(C, SITE_RADIUS_M)}


def minutes(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


def visit(
    order_id: int, seq: int, site_id: int, arrive: float, leave: float, window: tuple[float, float]
) -> PlannedVisit:
    return PlannedVisit(order_id, seq, site_id, minutes(arrive), minutes(leave), minutes(window[0]), minutes(window[1]))


# A at 08:15 (window 08:00-10:00), B at 08:20 (window 08:00-08:30), C at 09:30 (window 09:00-10:00).
PLAN = PlannedDay(
    plan_id=7,
    visits=(
        visit(101, 0, 1, 15, 45, (0, 120)),
        visit(102, 1, 2, 20, 50, (0, 30)),
        visit(103, 2, 3, 90, 120, (60, 120)),
    ),
    distance_m=3200.0,
)
NOON = T0 + timedelta(hours=4)
CHECKS = (CheckMark(101, CheckKind.IN, minutes(13)), CheckMark(101, CheckKind.OUT, minutes(40)))


def compare(plan: PlannedDay | None = PLAN, *, now: datetime = NOON, checks=CHECKS, **kw):
    fixes = day_fixes(1, T0)
    events = fence_events_of_track(1, fixes, GeofenceIndex(FENCES))
    return compare_day(
        plan,
        fences=FENCES,
        checks=checks,
        fence_events=events,
        stops=detect_stops(fixes),
        actual_distance_m=driven_distance_m(fixes),
        now=now,
        **kw,
    )


def test_a_check_in_gives_the_arrival_and_departure_and_on_time_against_plan_and_window():
    """Tests that visit A takes its arrival and departure from the check-in (08:13) and check-out (08:40), names
    the source, is 2 min early against the plan and within its window: on time."""
    a = compare().visits[0]
    assert (a.arrival, a.arrival_source, a.departure, a.departure_source) == (
        minutes(13),
        Source.CHECKIN,
        minutes(40),
        Source.CHECKOUT,
    )
    assert (a.status, a.vs_plan_s, a.late_by_window_s) == (VisitStatus.ON_TIME, -120, 0)


def test_without_a_check_in_the_geofence_says_when_they_came_and_left_and_the_visit_is_late():
    """Tests that visit B, never checked in, arrives with its first fix inside B's geofence (08:44) and leaves
    with the first fix clearly outside it (08:74:10), both from the geofence; it is 24 min behind plan and 14 min
    after its window closed: late, by those amounts."""
    b = compare().visits[1]
    assert (b.arrival, b.arrival_source) == (minutes(44), Source.GEOFENCE)
    assert (b.departure, b.departure_source) == (minutes(74) + timedelta(seconds=10), Source.GEOFENCE)
    assert (b.status, b.vs_plan_s, b.late_by_window_s) == (VisitStatus.LATE, 24 * 60, 14 * 60)


def test_a_worker_who_comes_when_the_window_opens_is_not_behind_a_plan_that_had_them_wait_at_the_door():
    """Tests that visit A, planned to be reached at 07:50 and waited at until its window opens at 08:15 (the
    planned start), checked in at 08:13, is 2 min early against the plan's start, not 23 min behind its arrival;
    without a planned start the same check-in is 23 min behind the arrival: late."""
    waiting = PlannedVisit(101, 0, 1, minutes(-10), minutes(45), minutes(15), minutes(120), planned_start=minutes(15))
    a = compare(PlannedDay(7, (waiting,), 1000.0)).visits[0]
    assert (a.status, a.vs_plan_s) == (VisitStatus.ON_TIME, -120)
    unstarted = PlannedVisit(101, 0, 1, minutes(-10), minutes(45), minutes(15), minutes(120))
    b = compare(PlannedDay(7, (unstarted,), 1000.0)).visits[0]
    assert (b.status, b.vs_plan_s) == (VisitStatus.LATE, 23 * 60)


def test_a_visit_never_reached_is_missed_once_its_window_has_closed_and_pending_before():
    """Tests that C (never visited) is missed when the day is looked at after its window (10:00) closed, and
    pending while it is still open; neither has an arrival."""
    after = compare(now=minutes(121))
    assert [v.status for v in after.visits] == [VisitStatus.ON_TIME, VisitStatus.LATE, VisitStatus.MISSED]
    assert [v.visit.order_id for v in after.missed] == [103] and after.missed[0].arrival is None
    before = compare(now=minutes(100))
    assert before.visits[2].status is VisitStatus.PENDING and before.missed == ()


def test_stops_away_from_every_planned_site_are_unplanned_with_their_duration():
    """Tests that the stops at home (10 min) and at D (15 min) are the unplanned stops, the stops at A and B are
    not, and each comes with where and how long (a stop takes in the drive's fixes within 100 m of it)."""
    unplanned = compare().unplanned_stops
    assert [(s.start, s.end, s.duration_s) for s in unplanned] == [
        (minutes(0), minutes(10) + timedelta(seconds=20), 620),
        (minutes(76), minutes(91), 900),
    ]
    assert haversine_m(unplanned[0].location, H) < 10 and haversine_m(unplanned[1].location, D) < 10


def test_planned_and_actual_distance():
    """Tests that the planned distance is the route's and the actual one along the whole filtered track (H->A
    500 m, A->B and B->D 1 km each), standing still adding nothing."""
    day = compare()
    assert day.planned_distance_m == 3200.0
    assert day.actual_distance_m == pytest.approx(2500, abs=1)


def test_the_late_tolerance_decides_lateness_against_the_plan():
    """Tests that with a 30 min tolerance B is still late (its window closed), and a visit 24 min behind plan
    but inside its window is on time with 30 min tolerance and late with the default 15 min."""
    roomy = PlannedDay(7, (visit(102, 0, 2, 20, 50, (0, 120)),), 0.0)
    assert compare(roomy).visits[0].status is VisitStatus.LATE
    assert compare(roomy, params=PlanActualParams(late_tolerance_s=1800)).visits[0].status is VisitStatus.ON_TIME
    assert compare(params=PlanActualParams(late_tolerance_s=1800)).visits[1].status is VisitStatus.LATE


def test_two_visits_at_one_site_without_check_ins_take_one_entry_each():
    """Tests that a second visit planned at A after the first, with no check-ins, does not reuse the first's
    geofence entry: there is only one entry at A, so the second is missed."""
    twice = PlannedDay(7, (visit(101, 0, 1, 15, 20, (0, 120)), visit(104, 1, 1, 30, 40, (0, 120))), 0.0)
    first, second = compare(twice, checks=()).visits
    assert first.arrival_source is Source.GEOFENCE and first.arrival == minutes(11) + timedelta(seconds=50)
    assert second.status is VisitStatus.MISSED


def test_a_checked_in_visit_claims_its_geofence_entry_so_a_second_visit_at_the_site_does_not_reuse_it():
    """Tests that when the first visit at A has a check-in (08:13), the one geofence entry at A (08:11) is its too:
    a second visit planned at A without a check-in is missed, not "arrived" at the first's entry."""
    twice = PlannedDay(7, (visit(101, 0, 1, 15, 20, (0, 120)), visit(104, 1, 1, 30, 40, (0, 120))), 0.0)
    first, second = compare(twice).visits
    assert first.arrival_source is Source.CHECKIN and first.arrival == minutes(13)
    assert (second.status, second.arrival) == (VisitStatus.MISSED, None)


def test_a_check_in_stamped_a_little_before_its_geofence_entry_still_claims_it():
    """Tests that a check-in stamped at 08:08, 3 min 50 s before the entry at A (08:11:50; the phone's clock runs
    ahead of the fixes'), still claims that entry, so the second visit at A is missed; one stamped at 08:05, beyond the
    5 minutes' skew, does not, and the second visit arrives at the entry."""
    twice = PlannedDay(7, (visit(101, 0, 1, 15, 20, (0, 120)), visit(104, 1, 1, 30, 40, (0, 120))), 0.0)
    early = (CheckMark(101, CheckKind.IN, minutes(8)), CheckMark(101, CheckKind.OUT, minutes(40)))
    first, second = compare(twice, checks=early).visits
    assert (first.arrival, second.status, second.arrival) == (minutes(8), VisitStatus.MISSED, None)
    apart = (CheckMark(101, CheckKind.IN, minutes(5)), CheckMark(101, CheckKind.OUT, minutes(40)))
    second = compare(twice, checks=apart).visits[1]
    assert (second.arrival, second.arrival_source) == (minutes(11) + timedelta(seconds=50), Source.GEOFENCE)


def test_without_a_published_plan_every_stop_is_unplanned_and_there_is_no_planned_distance():
    """Tests that a day with no plan has no visits, no plan id, no planned distance, all four stops unplanned
    and the actual distance still measured."""
    day = compare(None)
    assert (day.plan_id, day.visits, day.planned_distance_m) == (None, (), None)
    assert len(day.unplanned_stops) == 4
    assert day.actual_distance_m > 2000


def test_an_approved_late_entry_gives_the_time_and_says_it_was_entered_late():
    """Tests that a late-entered check-in at 08:14 and check-out at 08:41 (approved) give A's arrival and departure,
    each source saying "late entry"."""
    late = (
        CheckMark(101, CheckKind.IN, minutes(14), late_entry=True),
        CheckMark(101, CheckKind.OUT, minutes(41), late_entry=True),
    )
    a = compare(checks=late).visits[0]
    assert (a.arrival, a.arrival_source.value, a.departure, a.departure_source.value) == (  # type: ignore[union-attr]
        minutes(14), "late entry: check-in", minutes(41), "late entry: check-out",
    )  # fmt: skip
