"""Geofences: circle or polygon per site, the spatial index, and enter/exit events with dwell and hysteresis."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.checkin import CheckinKind, verify_checkin
from dispatch.geo import EARTH_RADIUS_M, LatLon
from dispatch.geofences import (
    CircleFence,
    DwellParams,
    FenceEventType,
    FenceState,
    GeofenceEvent,
    GeofenceIndex,
    PolygonFence,
    Presence,
    SitePresence,
    fence_event,
    fence_state,
    parse_polygon,
    polygon_geojson,
    site_geofence,
    site_presence,
    step,
    track_geofences,
)
from dispatch.positions import Position
from dispatch.sites import Site
from tests.factories import make_position

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
CENTRE = LatLon(43.7394, 7.4276)
M_PER_DEG_LAT = EARTH_RADIUS_M * math.pi / 180.0


def offset(north_m: float, east_m: float, origin: LatLon = CENTRE) -> LatLon:
    return LatLon(
        origin.lat + north_m / M_PER_DEG_LAT,
        origin.lon + east_m / (M_PER_DEG_LAT * math.cos(math.radians(origin.lat))),
    )


# A 100 m × 100 m yard whose south-west corner is the centre; a circle of 50 m around the centre.
YARD = (offset(0, 0), offset(0, 100), offset(100, 100), offset(100, 0))
CIRCLE_SITE = Site(1, "Pharmacie", "", CENTRE, geofence_radius_m=50.0)
YARD_SITE = Site(2, "Depot yard", "", CENTRE, geofence_radius_m=50.0, geofence_polygon=YARD)


def fix(seconds: float, point: LatLon, *, received_s: float | None = None, **kw) -> Position:
    fix_time = (T0 + timedelta(seconds=seconds)).isoformat()
    received = (T0 + timedelta(seconds=received_s if received_s is not None else seconds)).isoformat()
    return make_position(fix_time=fix_time, lat=point.lat, lon=point.lon, server_time=received, id=int(seconds), **kw)


def run(index: GeofenceIndex, fixes: list[Position], params: DwellParams | None = None) -> list[GeofenceEvent]:
    state, events = FenceState(worker_id=1), []
    for p in fixes:
        state, new = track_geofences(state, p, index, params)
        events += new
    return events


def test_a_site_uses_its_polygon_when_it_has_one_else_its_circle():
    """Tests that a point 70 m north-east inside the yard is inside the yard site (polygon) but outside the 50 m
    circle site, and a point 30 m south of the centre is inside the circle but not the yard; check-in agrees."""
    index = GeofenceIndex.of_sites([CIRCLE_SITE, YARD_SITE])
    assert isinstance(site_geofence(CIRCLE_SITE), CircleFence)
    assert isinstance(site_geofence(YARD_SITE), PolygonFence)
    assert index.containing(offset(70, 70)) == [2]
    assert index.containing(offset(-30, 0)) == [1]
    assert index.containing(offset(10, 10)) == [1, 2]
    assert index.containing(offset(-200, 0)) == []
    assert index.near(offset(-30, 0), 40) == {1: 0.0, 2: pytest.approx(30, abs=0.5)}
    far_in_yard = make_position(lat=offset(90, 90).lat, lon=offset(90, 90).lon, accuracy_m=5.0)
    assert verify_checkin(YARD_SITE, far_in_yard).kind is CheckinKind.VERIFIED
    assert verify_checkin(CIRCLE_SITE, far_in_yard).kind is CheckinKind.OUTSIDE_GEOFENCE


def test_the_index_finds_the_same_sites_as_checking_every_geofence():
    """Tests that among 400 random circles and polygons, the index answers exactly what a check of every
    geofence answers, for 150 random points (their nearby lists within 30 m included)."""
    rng = random.Random(0)
    fences = {}
    for site_id in range(400):
        c = offset(rng.uniform(-2000, 2000), rng.uniform(-2000, 2000))
        if site_id % 2:
            fences[site_id] = CircleFence(c, rng.uniform(20, 200))
        else:
            w, h = rng.uniform(20, 200), rng.uniform(20, 200)
            fences[site_id] = PolygonFence((c, offset(0, w, c), offset(h, w, c), offset(h, 0, c)))
    index = GeofenceIndex(fences)
    hits = 0
    for _ in range(150):
        p = offset(rng.uniform(-2000, 2000), rng.uniform(-2000, 2000))
        outside = {i: f.outside_by_m(p) for i, f in fences.items()}
        expected = sorted(i for i, d in outside.items() if d == 0.0)
        assert index.containing(p) == expected
        assert index.near(p, 30) == {i: pytest.approx(d, abs=0.01) for i, d in outside.items() if d <= 30}
        hits += len(expected)
    assert hits > 20  # the points did land in geofences


def test_a_batch_of_fixes_gets_the_same_nearby_geofences_as_one_by_one():
    """Tests that `near_many` (one R-tree query for a batch of fixes) answers exactly what `near` answers per fix,
    circles and polygons, within the 20 m margin."""
    rng = random.Random(1)
    fences = {}
    for site_id in range(300):
        c = offset(rng.uniform(-1500, 1500), rng.uniform(-1500, 1500))
        w, h = rng.uniform(20, 200), rng.uniform(20, 200)
        fences[site_id] = (
            CircleFence(c, w) if site_id % 2 else PolygonFence((c, offset(0, w, c), offset(h, w, c), offset(h, 0, c)))
        )
    index = GeofenceIndex(fences)
    points = [offset(rng.uniform(-1500, 1500), rng.uniform(-1500, 1500)) for _ in range(300)]
    batch = index.near_many(points, 20.0)
    assert batch == [index.near(p, 20.0) for p in points]
    assert sum(1 for found in batch if found) > 20  # many fixes had geofences nearby


@pytest.mark.parametrize("site", [CIRCLE_SITE, YARD_SITE], ids=["circle", "polygon"])
def test_entering_needs_the_dwell_and_events_carry_fix_times(site):
    """Tests that a worker passing through in 40 s makes no event, one staying makes an enter after 60 s whose
    times are the fixes' (first fix inside, and the fix completing the dwell) even when the fixes arrive late,
    and leaving makes an exit at the first fix clearly outside, confirmed 60 s later."""
    index = GeofenceIndex.of_sites([site])
    inside, outside = offset(20, 20), offset(-300, 0)
    passing = [fix(t, inside, received_s=t + 3600) for t in (0, 20, 40)] + [fix(60, outside)]
    assert run(index, passing) == []
    staying = [fix(t, outside) for t in (0, 30)] + [fix(t, inside, received_s=t + 3600) for t in range(60, 300, 20)]
    staying += [fix(t, outside) for t in range(300, 400, 20)]
    assert run(index, staying) == [
        GeofenceEvent(FenceEventType.ENTER, 1, site.id, T0 + timedelta(seconds=60), T0 + timedelta(seconds=120), 60),
        GeofenceEvent(FenceEventType.EXIT, 1, site.id, T0 + timedelta(seconds=300), T0 + timedelta(seconds=360), 300),
    ]


@pytest.mark.parametrize(
    ("site", "boundary"),
    [(CIRCLE_SITE, lambda d: offset(50 + d, 0)), (YARD_SITE, lambda d: offset(50, 100 + d))],
    ids=["circle", "polygon"],
)
def test_jitter_at_the_boundary_makes_no_event_storm(site, boundary):
    """Tests that a worker who entered and then stands on the boundary for 30 minutes, fixes jittering 15 m in
    and out of it every 5 s, stays inside (one enter, no exit) until they really walk away (one exit)."""
    rng = random.Random(0)
    index = GeofenceIndex.of_sites([site])
    fixes = [fix(t, offset(10, 10)) for t in range(0, 120, 10)]
    fixes += [fix(t, boundary(rng.uniform(-15, 15))) for t in range(120, 1920, 5)]
    assert sum(index.near(p.point) == {} for p in fixes) > 100  # many fixes outside
    fixes += [fix(t, boundary(200)) for t in range(1920, 2040, 10)]
    events = run(index, fixes)
    assert [(e.type, e.at) for e in events] == [
        (FenceEventType.ENTER, T0),
        (FenceEventType.EXIT, T0 + timedelta(seconds=1920)),
    ]


def test_standing_just_outside_with_stray_fixes_inside_makes_no_enter():
    """Tests that a worker waiting just outside a site (fixes up to 15 m out, one in four 5 m inside) never
    enters: an entry needs a whole minute of fixes inside."""
    index = GeofenceIndex.of_sites([CIRCLE_SITE])
    fixes = [fix(t, offset(55 if t % 20 else 45, 0)) for t in range(0, 1800, 5)]
    assert run(index, fixes) == []


def test_late_untrustworthy_and_foreign_fixes_change_nothing():
    """Tests that a fix older than the last one, a vague one (300 m) or a mock one changes no state, and a fix of
    another worker is refused."""
    index = GeofenceIndex.of_sites([CIRCLE_SITE])
    state, _ = track_geofences(FenceState(1), fix(100, CENTRE), index)
    assert state.sites[1].since == T0 + timedelta(seconds=100)
    for ignored in (fix(50, CENTRE), fix(200, offset(-500, 0), accuracy_m=300.0), fix(200, offset(-500, 0), mock=True)):
        assert track_geofences(state, ignored, index) == (state, [])
    with pytest.raises(ValueError, match="^worker: "):
        step(state, fix(300, CENTRE, worker_id=2), {})


def test_polygons_are_read_from_wkt_and_geojson_and_refused_with_reasons():
    """Tests that the same yard written as WKT, as GeoJSON and as a GeoJSON Feature gives the same corners, that
    it round-trips through the stored GeoJSON, and that holes, points, bow ties and garbage are refused."""
    wkt = "POLYGON ((" + ", ".join(f"{c.lon} {c.lat}" for c in (*YARD, YARD[0])) + "))"
    geojson = polygon_geojson(YARD)
    feature = '{"type": "Feature", "properties": {}, "geometry": ' + geojson + "}"
    assert parse_polygon(wkt) == parse_polygon(geojson) == parse_polygon(feature) == YARD
    with pytest.raises(ValueError, match="holes are not supported"):
        parse_polygon("POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (1 1, 2 1, 2 2, 1 1))")
    with pytest.raises(ValueError, match="a POLYGON is needed, not POINT"):
        parse_polygon("POINT (7.42 43.73)")
    with pytest.raises(ValueError, match="valid polygon"):
        parse_polygon('{"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 1], [1, 0], [0, 0]]]}')
    with pytest.raises(ValueError, match="neither GeoJSON nor WKT"):
        parse_polygon("a field at the back")
    with pytest.raises(ValueError, match="latitude 95"):
        parse_polygon("POLYGON ((0 0, 1 95, 1 0, 0 0))")


@settings(max_examples=100)
@given(moves=st.lists(st.tuples(st.integers(1, 90), st.floats(-80, 80), st.floats(-80, 80)), min_size=1, max_size=80))
def test_events_alternate_enter_exit_per_site_each_after_its_dwell(moves):
    """Tests, for any walk around two overlapping sites, that each site's events alternate enter, exit, enter...
    starting with an enter, and that each is confirmed at least the dwell after the crossing it reports."""
    index = GeofenceIndex.of_sites([CIRCLE_SITE, YARD_SITE])
    t, fixes = 0, []
    for dt, north, east in moves:
        t += dt
        fixes.append(fix(t, offset(north, east)))
    events = run(index, fixes)
    for site_id in (1, 2):
        kinds = [e.type for e in events if e.site_id == site_id]
        assert kinds == [FenceEventType.ENTER, FenceEventType.EXIT] * (len(kinds) // 2) + [FenceEventType.ENTER] * (
            len(kinds) % 2
        )
    for event in events:
        assert (event.confirmed_at - event.at).total_seconds() >= DwellParams().dwell_s


def test_the_dwell_machines_values_built_directly_are_the_dataclasses_own():
    """Tests that the presence, state and crossing the array dwell machine builds without the dataclasses' `__init__`
    equal, hash, print and copy as those built by it (a state compared, a crossing stored, a presence replaced)."""
    at, later = datetime(2025, 3, 3, 8, 0, tzinfo=UTC), datetime(2025, 3, 3, 8, 1, tzinfo=UTC)
    presence = site_presence(Presence.INSIDE, at, 7)
    assert presence == SitePresence(Presence.INSIDE, at, 7) and hash(presence) == hash(
        SitePresence(Presence.INSIDE, at, 7)
    )
    assert repr(presence) == repr(SitePresence(Presence.INSIDE, at, 7))
    assert replace(presence, position_id=None) == SitePresence(Presence.INSIDE, at)
    sites = MappingProxyType({4: presence})
    state = fence_state(3, later, sites)
    assert state == FenceState(3, later, sites) and repr(state) == repr(FenceState(3, later, sites))
    assert state.inside() == frozenset({4})
    event = fence_event(FenceEventType.ENTER, 3, 4, at, later, 7)
    assert event == GeofenceEvent(FenceEventType.ENTER, 3, 4, at, later, 7)
    assert hash(event) == hash(GeofenceEvent(FenceEventType.ENTER, 3, 4, at, later, 7))
    assert event != GeofenceEvent(FenceEventType.ENTER, 3, 4, at, later, None)
    with pytest.raises(AttributeError):
        event.site_id = 5  # type: ignore[misc]  # frozen as the dataclass's own
