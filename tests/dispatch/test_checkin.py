"""Check-in verification against the site's geofence and the fix's accuracy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.checkin import CheckinKind, CheckinLimits, CircleFence, PolygonFence, verify_checkin
from dispatch.geo import LatLon, haversine_m
from dispatch.orders import TimeWindow
from dispatch.sites import Site
from tests.factories import at, make_position

SITE = Site(
    id=3, name="Port Hercule", address="Quai Antoine 1er", location=LatLon(43.7350, 7.4230), geofence_radius_m=50
)
M_PER_DEG_LAT = 111_195.0


def fix(metres_north: float = 0.0, *, accuracy_m: float | None = 10.0, **kw):
    return make_position(
        lat=SITE.location.lat + metres_north / M_PER_DEG_LAT, lon=SITE.location.lon, accuracy_m=accuracy_m, **kw
    )


def test_an_accurate_fix_inside_the_circle_is_verified():
    """Tests that a 10 m-accurate fix 30 m from the site is verified, with the distance and accuracy recorded."""
    verdict = verify_checkin(SITE, fix(30))
    assert verdict.kind is CheckinKind.VERIFIED
    assert verdict.reason == "inside the geofence of Port Hercule"
    assert verdict.distance_m == pytest.approx(30, abs=0.1)
    assert (verdict.outside_by_m, verdict.accuracy_m) == (0.0, 10.0)


def test_an_accurate_fix_beyond_the_radius_is_outside_by_how_much():
    """Tests that a good fix 200 m away from a 50 m geofence is outside by 150 m."""
    verdict = verify_checkin(SITE, fix(200))
    assert verdict.kind is CheckinKind.OUTSIDE_GEOFENCE
    assert verdict.reason == "150 m outside the geofence of Port Hercule"
    assert verdict.outside_by_m == pytest.approx(150, abs=0.2)


def test_a_vague_fix_is_poor_accuracy_unless_it_is_clearly_outside():
    """Tests that a 300 m-accurate fix near the site cannot be judged, but one 2 km away is outside all the same."""
    close = verify_checkin(SITE, fix(80, accuracy_m=300))
    assert close.kind is CheckinKind.POOR_ACCURACY
    assert close.reason == "accuracy 300 m > 100 m: too vague to place at Port Hercule"
    inside = verify_checkin(SITE, fix(0, accuracy_m=300))
    assert inside.kind is CheckinKind.POOR_ACCURACY
    far = verify_checkin(SITE, fix(2000, accuracy_m=300))
    assert far.kind is CheckinKind.OUTSIDE_GEOFENCE


def test_a_fix_without_accuracy_is_poor_accuracy():
    """Tests that a fix that does not say how accurate it is cannot verify a check-in, inside or out."""
    for metres in (0, 500):
        verdict = verify_checkin(SITE, fix(metres, accuracy_m=None))
        assert (verdict.kind, verdict.reason) == (CheckinKind.POOR_ACCURACY, "the fix's accuracy was not reported")


def test_the_accuracy_limit_is_configurable():
    """Tests that a 150 m fix passes with a 200 m limit."""
    assert verify_checkin(SITE, fix(10, accuracy_m=150), limits=CheckinLimits(max_accuracy_m=200)).kind is (
        CheckinKind.VERIFIED
    )


@pytest.mark.parametrize(
    ("position", "reason"),
    [
        (None, "no location was sent"),
        (fix(0, valid=False), "the device marked the fix invalid"),
        (fix(0, mock=True), "the device reported a mock location"),
    ],
)
def test_no_usable_fix_is_no_location(position, reason):
    """Tests that a check-in without a fix, with an invalid one or a mock location gets "no location"."""
    verdict = verify_checkin(SITE, position)
    assert (verdict.kind, verdict.reason, verdict.distance_m) == (CheckinKind.NO_LOCATION, reason, None)


def test_a_fix_long_before_the_check_in_is_no_location():
    """Tests that a fix 20 min older than the check-in time is not evidence, while a 2 min old one is."""
    position = fix(0, fix_time="2025-03-03T08:00:00Z")
    stale = verify_checkin(SITE, position, at=at("2025-03-03T08:20:00Z"))
    assert (stale.kind, stale.reason) == (
        CheckinKind.NO_LOCATION,
        "the fix was taken 20 min before the check-in (limit 5 min)",
    )
    assert verify_checkin(SITE, position, at=at("2025-03-03T08:02:00Z")).kind is CheckinKind.VERIFIED


# An L-shaped yard: 200 m × 200 m with the north-east 100 m × 100 m quarter cut out.
def offset(north_m: float, east_m: float) -> LatLon:
    return LatLon(
        SITE.location.lat + north_m / M_PER_DEG_LAT,
        SITE.location.lon + east_m / (M_PER_DEG_LAT * 0.72246),  # cos(43.735°)
    )


YARD = PolygonFence(
    (offset(0, 0), offset(0, 200), offset(100, 200), offset(100, 100), offset(200, 100), offset(200, 0))
)


def at_offset(north_m: float, east_m: float):
    point = offset(north_m, east_m)
    return make_position(lat=point.lat, lon=point.lon, accuracy_m=5.0)


def test_a_polygon_geofence_verifies_inside_and_measures_the_notch():
    """Tests that a fix in the L-shaped yard is verified, and one in its cut-out corner is outside by its distance
    to the nearest edge."""
    inside = verify_checkin(SITE, at_offset(50, 150), geofence=YARD)
    assert inside.kind is CheckinKind.VERIFIED
    notch = verify_checkin(SITE, at_offset(150, 180), geofence=YARD)
    assert notch.kind is CheckinKind.OUTSIDE_GEOFENCE
    assert notch.outside_by_m == pytest.approx(50, abs=0.5)  # 50 m north of the inner edge at 100 m
    assert notch.distance_m == pytest.approx(haversine_m(offset(150, 180), SITE.location))


def test_a_polygon_needs_three_corners_and_no_crossing():
    """Tests that a two-point "polygon" and a bow tie are refused."""
    with pytest.raises(ValueError, match="at least 3"):
        PolygonFence((offset(0, 0), offset(0, 10)))
    with pytest.raises(ValueError, match="valid polygon"):
        PolygonFence((offset(0, 0), offset(10, 10), offset(0, 10), offset(10, 0)))


def test_fences_and_limits_refuse_nonsense():
    """Tests that a zero radius and a zero accuracy limit are refused naming the field."""
    with pytest.raises(ValueError, match="radius_m"):
        CircleFence(SITE.location, 0)
    with pytest.raises(ValueError, match="max_accuracy_m"):
        CheckinLimits(max_accuracy_m=0)


@given(st.floats(0, 400), st.floats(0, 100), st.floats(1, 300))
def test_an_accurate_fix_is_verified_exactly_when_within_the_radius(north_m, accuracy_m, radius_m):
    """Tests that with a trustworthy fix the verdict is verified iff the fix is within the radius, else outside."""
    position = fix(north_m, accuracy_m=accuracy_m)
    verdict = verify_checkin(SITE, position, geofence=CircleFence(SITE.location, radius_m))
    inside = haversine_m(position.point, SITE.location) <= radius_m
    assert verdict.kind is (CheckinKind.VERIFIED if inside else CheckinKind.OUTSIDE_GEOFENCE)


def test_the_site_circle_is_the_default_fence():
    """Tests that without a geofence argument the site's own radius applies."""
    wide = Site(id=4, name="Stade", address="", location=SITE.location, geofence_radius_m=300)
    assert verify_checkin(wide, fix(200)).kind is CheckinKind.VERIFIED
    assert verify_checkin(SITE, fix(200)).kind is CheckinKind.OUTSIDE_GEOFENCE
    assert verify_checkin(SITE, fix(200), at=at("2025-03-03T08:00:00Z") + timedelta(seconds=1)).outside_by_m == (
        pytest.approx(150, abs=0.2)
    )


NINE = at("2025-03-03T09:00:00Z")
NINE_TO_NOON = TimeWindow(NINE, NINE + timedelta(hours=3))


def test_a_check_in_four_hours_before_the_window_is_early_not_verified():
    """Tests that a check-in at 05:00, inside the geofence with a sharp fix, for an order whose window opens at
    09:00 is flagged early by 240 minutes, not verified; 30 minutes early (the default limit) is still verified."""
    checked_in = NINE - timedelta(hours=4)
    verdict = verify_checkin(SITE, fix(10, fix_time=checked_in.isoformat()), at=checked_in, window=NINE_TO_NOON)
    assert (verdict.kind, verdict.early_min, verdict.late_min) == (CheckinKind.EARLY, 240, None)
    assert verdict.reason == "checked in 240 min before the window opens at 09:00 (limit 30 min)"
    assert verdict.distance_m == pytest.approx(10, abs=0.1)
    on_time = NINE - timedelta(minutes=30)
    assert (
        verify_checkin(SITE, fix(10, fix_time=on_time.isoformat()), at=on_time, window=NINE_TO_NOON).kind
        is CheckinKind.VERIFIED
    )


def test_a_check_in_after_the_window_closed_is_late_by_its_minutes():
    """Tests that a check-in at 12:45 for a 09:00-12:00 window is late by 45 minutes, and that the limits are
    parameters (a 60-min grace after the window makes it verified)."""
    checked_in = NINE + timedelta(hours=3, minutes=45)
    verdict = verify_checkin(SITE, fix(10, fix_time=checked_in.isoformat()), at=checked_in, window=NINE_TO_NOON)
    assert (verdict.kind, verdict.late_min, verdict.reason) == (
        CheckinKind.LATE,
        45,
        "checked in 45 min after the window closed at 12:00",
    )
    lenient = CheckinLimits(max_late_s=3600)
    assert verify_checkin(
        SITE, fix(10, fix_time=checked_in.isoformat()), at=checked_in, window=NINE_TO_NOON, limits=lenient
    ).kind is (CheckinKind.VERIFIED)


def test_an_early_check_in_far_from_the_site_stays_outside_and_says_it_was_early():
    """Tests that a check-in 4 hours early and 500 m away keeps the place verdict (outside) and its reason also
    gives the 240 minutes."""
    checked_in = NINE - timedelta(hours=4)
    verdict = verify_checkin(SITE, fix(500, fix_time=checked_in.isoformat()), at=checked_in, window=NINE_TO_NOON)
    assert (verdict.kind, verdict.early_min) == (CheckinKind.OUTSIDE_GEOFENCE, 240)
    assert verdict.reason.endswith("; and 240 min before the window opens at 09:00 (limit 30 min)")
