"""The check-in confidence score and the reasons that lowered it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from dispatch.confidence import (
    CheckinEvidence,
    ConfidenceWeights,
    Fix,
    Jump,
    PhotoEvidence,
    Reason,
    impossible_jump,
    needs_review,
    score_checkin,
)
from dispatch.geo import LatLon
from dispatch.orders import TimeWindow

AT = datetime(2026, 12, 4, 9, 10, tzinfo=UTC)
SITE = LatLon(43.7350, 7.4230)
M_PER_DEG_LAT = 111_195.0
CLEAN = CheckinEvidence(
    at=AT,
    site_name="Port Hercule",
    outside_by_m=0.0,
    accuracy_m=12.0,
    fix_age_s=5.0,
    window=TimeWindow(AT - timedelta(minutes=10), AT + timedelta(hours=2)),
    mock=False,
    jump=None,
    clock_offset_s=3.0,
    place=SITE,
    photos=(PhotoEvidence(7, AT + timedelta(minutes=20), SITE),),
)


def north(metres: float) -> LatLon:
    return LatLon(SITE.lat + metres / M_PER_DEG_LAT, SITE.lon)


def only(evidence: CheckinEvidence) -> Reason:
    result = score_checkin(evidence)
    assert len(result.reasons) == 1, result.reasons
    assert result.score == 100 - result.reasons[0].points_lost
    return result.reasons[0]


def test_a_clean_checkin_scores_100_with_no_reasons():
    """Tests that an accurate, fresh fix inside the fence, on time, from an honest phone with a matching photo scores 100."""
    result = score_checkin(CLEAN)
    assert (result.score, result.reasons) == (100, ())


def test_no_location_costs_60_points_and_needs_review():
    """Tests that a check-in without a fix loses 60 points and lands under the default review threshold."""
    result = score_checkin(replace(CLEAN, outside_by_m=None, accuracy_m=None, fix_age_s=None, place=None))
    assert result.reasons == (Reason("no_location", 60, "no location was sent with the check-in"),)
    assert result.score == 40
    assert needs_review(result.score, 60)


def test_a_fix_outside_the_fence_beyond_its_accuracy_says_by_how_much():
    """Tests that a ±12 m fix 250 m beyond the fence loses 45 points and the text gives both figures."""
    reason = only(replace(CLEAN, outside_by_m=250.0))
    assert reason == (
        "outside_geofence",
        45,
        "the fix is 250 m outside the geofence of Port Hercule, beyond its ±12 m accuracy",
    )


def test_a_fix_outside_by_less_than_its_accuracy_costs_less():
    """Tests that a ±80 m fix 30 m beyond the fence loses only 15 points (it may well be inside)."""
    reason = only(replace(CLEAN, outside_by_m=30.0, accuracy_m=80.0))
    assert reason == (
        "outside_geofence_within_accuracy",
        15,
        "the fix is 30 m outside the geofence of Port Hercule, within its ±80 m accuracy",
    )


def test_a_vague_fix_loses_points_for_its_accuracy():
    """Tests that a ±150 m fix inside the fence loses 20 points for accuracy worse than 100 m."""
    reason = only(replace(CLEAN, accuracy_m=150.0))
    assert reason == ("poor_accuracy", 20, "the fix's accuracy ±150 m is worse than 100 m")


def test_a_stale_fix_loses_points_growing_with_its_age():
    """Tests that a 5.5 min old fix loses part of the 25 points and a 20 min old one all of them."""
    half = only(replace(CLEAN, fix_age_s=330.0))
    assert half == ("fix_age", 12, "the fix was 5 min 30 s old at the check-in (fresh up to 1 min)")
    stale = only(replace(CLEAN, fix_age_s=1200.0))
    assert stale == ("fix_age", 25, "the fix was 20 min old at the check-in (fresh up to 1 min)")


def test_an_early_checkin_says_how_early_against_the_window():
    """Tests that a check-in 2 h before the window opens loses 15 points with the times in the text."""
    window = TimeWindow(AT + timedelta(hours=2), AT + timedelta(hours=4))
    reason = only(replace(CLEAN, window=window, photos=()))
    assert reason == ("early", 15, "checked in 2 h 00 min before the window opens at 11:10 UTC (limit 30 min)")


def test_the_window_is_named_on_the_workers_clock_with_its_zone():
    """Tests that for a Monaco worker the same early check-in reads "12:10 CET" in December, and a late one in July
    "CEST": people read these reasons on their own clock, not UTC."""
    from zoneinfo import ZoneInfo

    monaco = ZoneInfo("Europe/Monaco")
    window = TimeWindow(AT + timedelta(hours=2), AT + timedelta(hours=4))
    reason = only(replace(CLEAN, window=window, photos=(), zone=monaco))
    assert reason.text == "checked in 2 h 00 min before the window opens at 12:10 CET (limit 30 min)"
    july = AT.replace(month=7)
    late = TimeWindow(july - timedelta(hours=3), july - timedelta(minutes=45))
    reason = only(replace(CLEAN, at=july, window=late, photos=(), zone=monaco))
    assert reason.text == "checked in 45 min after the window closed at 10:25 CEST"


def test_a_late_checkin_says_how_late():
    """Tests that a check-in 45 minutes after the window closed loses 15 points."""
    window = TimeWindow(AT - timedelta(hours=3), AT - timedelta(minutes=45))
    reason = only(replace(CLEAN, window=window))
    assert reason == ("late", 15, "checked in 45 min after the window closed at 08:25 UTC")


def test_a_mock_location_costs_50_points():
    """Tests that the device's mock flag costs 50 points."""
    assert only(replace(CLEAN, mock=True)) == ("mock_location", 50, "the device reported a mock location")


def test_an_impossible_jump_in_the_track_is_named_with_speed():
    """Tests that a jump of 12 km in 60 s found in the recent fixes costs 35 points, speed and limit given."""
    fixes = [
        Fix(AT - timedelta(minutes=5), north(0), 10.0),
        Fix(AT - timedelta(minutes=4), north(12_000), 10.0),
        Fix(AT - timedelta(minutes=1), north(12_050), 10.0),
    ]
    jump = impossible_jump(fixes, max_speed_mps=70.0)
    assert jump is not None
    assert jump.at == AT - timedelta(minutes=4)
    assert jump.speed_mps == pytest.approx((12_000 - 20) / 60, rel=1e-3)
    reason = only(replace(CLEAN, jump=jump))
    assert reason == (
        "impossible_jump",
        35,
        "the track jumped 12.0 km in 1 min (200 m/s, limit 70 m/s) at 09:06:00 UTC",
    )


def test_driving_fast_is_no_jump_and_vague_fixes_get_their_margin():
    """Tests that 1.5 km in a minute (25 m/s) is not a jump, nor 300 m in 2 s between two ±200 m fixes."""
    driving = [Fix(AT, north(0), 5.0), Fix(AT + timedelta(minutes=1), north(1500), 5.0)]
    assert impossible_jump(driving, max_speed_mps=70.0) is None
    vague = [Fix(AT, north(0), 200.0), Fix(AT + timedelta(seconds=2), north(300), 200.0)]
    assert impossible_jump(vague, max_speed_mps=70.0) is None


def test_two_far_apart_fixes_at_the_same_time_are_a_jump():
    """Tests that two fixes 5 km apart with the same time are a jump (at once), in any input order."""
    jump = impossible_jump([Fix(AT, north(5000), 10.0), Fix(AT, north(0), 10.0)], max_speed_mps=70.0)
    assert jump == Jump(AT, pytest.approx(5000, rel=1e-3), 0.0, float("inf"))
    assert only(replace(CLEAN, jump=jump)).text == "the track jumped 5.0 km in 0 s (at once) at 09:10:00 UTC"


def test_a_phone_clock_far_from_the_servers_loses_points_and_says_which_way():
    """Tests that a phone 7 minutes behind loses 15 points; 90 s ahead is within the 2 min limit."""
    reason = only(replace(CLEAN, clock_offset_s=-420.0))
    assert reason == ("clock_offset", 15, "the phone's clock is 7 min behind the server's (limit 2 min)")
    assert score_checkin(replace(CLEAN, clock_offset_s=90.0)).score == 100


def test_a_photo_taken_a_day_before_the_checkin_is_doubtful():
    """Tests that a photo whose EXIF time is 26 h before the check-in loses 20 points, naming the photo."""
    photo = PhotoEvidence(9, AT - timedelta(hours=26), SITE)
    reason = only(replace(CLEAN, photos=(*CLEAN.photos, photo)))
    assert reason == (
        "photo_time",
        20,
        "photo 9 was taken 1 d 2 h before the check-in (EXIF 2026-12-03 07:10 UTC; expected from 30 min before to "
        "4 h 00 min after)",
    )


def test_a_photo_taken_far_from_the_checkin_is_doubtful_once_however_many():
    """Tests that photos 2.4 km and 900 m away cost 25 points once, naming the farthest."""
    photos = (PhotoEvidence(4, AT, north(900)), PhotoEvidence(5, AT, north(2400)))
    reason = only(replace(CLEAN, photos=photos))
    assert reason == ("photo_place", 25, "photo 5 was taken 2.4 km from the check-in (EXIF GPS; limit 250 m)")


def test_a_photo_without_exif_costs_nothing():
    """Tests that a photo with no EXIF time or position leaves a clean check-in at 100."""
    assert score_checkin(replace(CLEAN, photos=(PhotoEvidence(3),))).score == 100


def test_the_score_adds_up_the_reasons_and_never_goes_below_zero():
    """Tests that every doubt at once gives 0, with each reason listed in a fixed order."""
    bad = replace(
        CLEAN,
        outside_by_m=900.0,
        accuracy_m=150.0,
        fix_age_s=3600.0,
        mock=True,
        clock_offset_s=3600.0,
        jump=Jump(AT, 9000.0, 10.0, 900.0),
        photos=(PhotoEvidence(1, AT - timedelta(days=3), north(5000)),),
    )
    result = score_checkin(bad)
    assert result.score == 0
    assert [r.code for r in result.reasons] == [
        "outside_geofence",
        "poor_accuracy",
        "fix_age",
        "mock_location",
        "impossible_jump",
        "clock_offset",
        "photo_time",
        "photo_place",
    ]


def test_weights_refuse_nonsense_naming_the_field():
    """Tests that negative points or a max fix age under the free age are refused with the field named."""
    with pytest.raises(ValueError, match="mock_points"):
        ConfidenceWeights(mock_points=-1)
    with pytest.raises(ValueError, match="max_fix_age_s"):
        ConfidenceWeights(max_fix_age_s=30.0)
    assert score_checkin(replace(CLEAN, mock=True), ConfidenceWeights(mock_points=10)).score == 90
