"""Trajectories: filtered fixes, stops and the trips between them."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import gpxpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.geo import EARTH_RADIUS_M, LatLon, haversine_m
from dispatch.positions import Position
from dispatch.trajectory import (
    FilterParams,
    StopParams,
    detect_stops,
    detect_trips,
    filter_fixes,
    stops_and_trips,
    stops_and_trips_of,
    track_distance_m,
)
from tests.factories import make_position

GPX_DIR = Path(__file__).resolve().parents[2] / "data" / "datasets" / "gpx"
T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
DEPOT = LatLon(43.7394, 7.4276)
M_PER_DEG_LAT = EARTH_RADIUS_M * math.pi / 180.0


def offset(north_m: float, east_m: float, origin: LatLon = DEPOT) -> LatLon:
    return LatLon(
        origin.lat + north_m / M_PER_DEG_LAT,
        origin.lon + east_m / (M_PER_DEG_LAT * math.cos(math.radians(origin.lat))),
    )


def fix(seconds: float, point: LatLon, **kw) -> Position:
    t = (T0 + timedelta(seconds=seconds)).isoformat()
    return make_position(fix_time=t, lat=point.lat, lon=point.lon, **kw)


def standing(start_s: int, end_s: int, where: LatLon, rng: random.Random, jitter_m: float, every_s: int = 10):
    """A phone lying still: a fix every `every_s`, each within `jitter_m` of `where`."""
    return [
        fix(t, offset(rng.uniform(-jitter_m, jitter_m), rng.uniform(-jitter_m, jitter_m), where))
        for t in range(start_s, end_s + 1, every_s)
    ]


def driving(start_s: int, end_s: int, frm: LatLon, north_m: float, east_m: float, every_s: int = 10):
    """A straight drive from `frm` by (north_m, east_m), a fix every `every_s` (ends excluded)."""
    steps = (end_s - start_s) // every_s
    return [fix(start_s + k * every_s, offset(north_m * k / steps, east_m * k / steps, frm)) for k in range(1, steps)]


def test_jitter_while_standing_gives_one_stop_and_no_trip(rng):
    """Tests that ten minutes of a phone wandering ±40 m around a spot is one stop centred on the spot, and no
    trip (the raw fixes sum to kilometres)."""
    fixes = standing(0, 600, DEPOT, rng, jitter_m=40)
    stops = detect_stops(fixes)
    assert len(stops) == 1
    assert (stops[0].start, stops[0].end, stops[0].duration_s) == (T0, T0 + timedelta(seconds=600), 600)
    assert haversine_m(stops[0].location, DEPOT) < 10
    assert track_distance_m(fixes) > 1000
    assert detect_trips(fixes) == []


def test_jitter_of_a_few_metres_adds_no_distance_to_a_trip(rng):
    """Tests that a worker waiting four minutes (no stop yet) while the fix wanders ±3 m adds nothing to the
    trip's distance: the trip is the 500 m driven (the raw wandering alone sums to over 50 m)."""
    wait = standing(60, 300, offset(0, 300), rng, jitter_m=3)
    fixes = [fix(0, DEPOT), *driving(0, 60, DEPOT, 0, 300), *wait, *driving(300, 340, offset(0, 300), 0, 200)]
    fixes.append(fix(340, offset(0, 500)))
    assert detect_stops(fixes) == []
    [trip] = detect_trips(fixes)
    assert track_distance_m(wait) > 50
    assert trip.distance_m == pytest.approx(500, abs=10)
    assert (trip.start, trip.end) == (T0, T0 + timedelta(seconds=340))


def test_a_short_gap_and_a_short_excursion_inside_a_stop_keep_one_stop(rng):
    """Tests that a phone silent for five minutes and one stray fix 150 m off inside a stay do not split it:
    one stop from the first to the last fix (with no excursion allowed it would be two short stays)."""
    fixes = standing(0, 180, DEPOT, rng, jitter_m=5)  # 08:00-08:03
    fixes.append(fix(190, offset(150, 0)))  # a stray fix, 15 m/s away: possible, so not filtered
    fixes += standing(200, 240, DEPOT, rng, jitter_m=5)
    fixes += standing(540, 720, DEPOT, rng, jitter_m=5)  # silent from 08:04 to 08:09
    stops = detect_stops(fixes)
    assert [(s.start, s.end) for s in stops] == [(T0, T0 + timedelta(seconds=720))]
    assert stops[0].fix_count == len(fixes) - 1  # the stray fix is not part of it
    strict = StopParams(max_excursion_s=0, min_duration_s=180)
    assert [(s.start, s.end) for s in detect_stops(fixes, strict)] == [
        (T0, T0 + timedelta(seconds=180)),
        (T0 + timedelta(seconds=200), T0 + timedelta(seconds=720)),
    ]


def test_an_impossible_jump_is_filtered_and_changes_neither_stops_nor_distance(rng):
    """Tests that a fix 5 km away for one second (a GPS spike) is dropped with its reason, and the stop and the
    trip distance are those of the track without it."""
    clean = standing(0, 400, DEPOT, rng, jitter_m=3) + driving(400, 500, DEPOT, 0, 1000)
    clean += standing(500, 900, offset(0, 1000), rng, jitter_m=3)
    spike = fix(455, offset(5000, 0))
    track = filter_fixes([*clean, spike])
    assert [d.position for d in track.dropped] == [spike]
    assert track.dropped[0].reason.startswith("impossible jump: ")
    assert list(track.kept) == sorted(clean, key=lambda p: p.fix_time)
    assert detect_stops([*clean, spike]) == detect_stops(clean)
    assert detect_trips([*clean, spike]) == detect_trips(clean)


def test_vague_invalid_mock_and_repeated_fixes_are_left_out_with_reasons():
    """Tests that a 300 m accuracy fix, an invalid one, a mock location and a second fix at the same time are
    dropped, each with its reason, and the others kept in time order."""
    good = [fix(0, DEPOT, accuracy_m=5.0), fix(10, offset(10, 0)), fix(40, offset(40, 0), accuracy_m=20.0)]
    bad = [
        fix(20, offset(20, 0), accuracy_m=300.0),
        fix(25, offset(25, 0), valid=False),
        fix(30, offset(30, 0), mock=True),
        fix(40, offset(45, 0)),
    ]
    track = filter_fixes([*reversed(good), *bad])
    assert list(track.kept) == good
    assert [d.reason for d in track.dropped] == [
        "accuracy 300 m > 100 m",
        "invalid fix",
        "mock location",
        "duplicate fix time",
    ]


def test_trips_between_stops_have_the_distance_along_the_track_duration_and_speed(rng):
    """Tests that drive, stop, drive, stop gives trips with the driven distances (an L-shaped 1.4 km, then
    600 m), their durations and average speeds; the standing jitter adds nothing. (A 30 m radius, so that the
    stops begin where the car stands, not 100 m before.)"""
    car = StopParams(radius_m=30)
    home = DEPOT
    fixes = driving(0, 200, home, 0, 800) + [fix(200, offset(0, 800)), *driving(200, 300, offset(0, 800), 600, 0)]
    first_stop = offset(600, 800)
    fixes += standing(300, 700, first_stop, rng, jitter_m=6)
    fixes += driving(700, 760, first_stop, 0, -600)
    fixes += standing(760, 1200, offset(600, 200), rng, jitter_m=6)
    fixes.insert(0, fix(0, home))
    stops = detect_stops(fixes, car)
    assert [(s.start, s.end) for s in stops] == [
        (T0 + timedelta(seconds=300), T0 + timedelta(seconds=700)),
        (T0 + timedelta(seconds=760), T0 + timedelta(seconds=1200)),
    ]
    trips = detect_trips(fixes, car)
    assert [(t.start, t.end) for t in trips] == [
        (T0, T0 + timedelta(seconds=300)),
        (T0 + timedelta(seconds=700), T0 + timedelta(seconds=760)),
    ]
    # Each leg ends at the first fix of the stop, a few metres of jitter from its centre.
    assert trips[0].distance_m == pytest.approx(1400, abs=15)
    assert trips[1].distance_m == pytest.approx(600, abs=15)
    assert (trips[0].duration_s, trips[1].duration_s) == (300, 60)
    assert trips[0].average_speed_mps == pytest.approx(trips[0].distance_m / 300)
    assert trips[1].average_speed_mps == pytest.approx(10, abs=0.3)


def _gpx_positions(name: str) -> list[Position]:
    with open(GPX_DIR / name, encoding="utf-8") as f:
        gpx = gpxpy.parse(f)
    times = [p.time.astimezone(UTC) for t in gpx.tracks for s in t.segments for p in s.points if p.time]
    points = [p for t in gpx.tracks for s in t.segments for p in s.points if p.time]
    return [
        Position(1, "garmin", t, t, t, p.latitude, p.longitude, altitude_m=p.elevation)
        for t, p in zip(times, points, strict=True)
    ]


def at(hms: str) -> datetime:
    return datetime.fromisoformat(f"2020-12-18T{hms}+00:00")


def test_the_visnjan_car_drive_has_its_three_stops():
    """Tests that the real Višnjan drive (Garmin eTrex, 2020-12-18) has the three stops seen on the map and in its
    timestamps: parked at the start (1 min), 2 min at the far end, and back at the start for its last 2 min;
    with the trips between them. With the default 5-minute stops it is one 2.7 km trip."""
    fixes = _gpx_positions("around-visnjan-with-car.gpx")
    assert len(fixes) == 104
    car = StopParams(radius_m=20, min_duration_s=60)
    stops = detect_stops(fixes, car)
    assert [(s.start, s.end) for s in stops] == [
        (at("06:15:50"), at("06:16:52")),
        (at("06:19:31"), at("06:21:41")),
        (at("06:22:36"), at("06:24:24")),
    ]
    assert [s.duration_s for s in stops] == [62, 130, 108]
    # The drive goes out and comes back: the first and last stops are the same place, the middle ~555 m away.
    assert haversine_m(stops[0].location, stops[2].location) < 15
    assert haversine_m(stops[0].location, stops[1].location) == pytest.approx(555, abs=10)
    trips = detect_trips(fixes, car)
    assert [(t.start, t.end, round(t.distance_m, -1)) for t in trips] == [
        (at("06:16:52"), at("06:19:31"), 2010),
        (at("06:21:41"), at("06:22:36"), 580),
    ]
    assert stops_and_trips(fixes, car) == (stops, trips)  # one filtering and clustering for both, the same answer
    assert detect_stops(fixes) == []
    [whole] = detect_trips(fixes)
    assert (whole.start, whole.end, round(whole.distance_m, -1)) == (at("06:15:50"), at("06:24:24"), 2690)


def test_parameters_refuse_nonsense():
    """Tests that a zero radius, a negative duration and a zero speed limit are refused naming the field."""
    with pytest.raises(ValueError, match="radius_m"):
        StopParams(radius_m=0)
    with pytest.raises(ValueError, match="min_duration_s"):
        StopParams(min_duration_s=-1)
    with pytest.raises(ValueError, match="max_speed_mps"):
        FilterParams(max_speed_mps=0)


@settings(max_examples=100)
@given(
    steps=st.lists(st.tuples(st.integers(1, 400), st.floats(-300, 300), st.floats(-300, 300)), min_size=2, max_size=60),
    radius_m=st.sampled_from([20.0, 100.0]),
    min_duration_s=st.sampled_from([60.0, 300.0]),
)
def test_stops_and_trips_never_overlap_and_trips_never_exceed_the_track(steps, radius_m, min_duration_s):
    """Tests, for any random walk, that stops come in time order without overlapping, each lasting at least the
    minimum, that trips lie between them, that the trips' distances add up to no more than the track's, and that
    `stops_and_trips` finds exactly these stops and trips (`stops_and_trips_of` too, from the filtered track)."""
    t, point, fixes = 0, DEPOT, []
    for dt, north, east in steps:
        t += dt
        point = offset(north, east, point)
        fixes.append(fix(t, point))
    params = StopParams(radius_m=radius_m, min_duration_s=min_duration_s)
    stops, trips = detect_stops(fixes, params), detect_trips(fixes, params)
    assert stops_and_trips(fixes, params) == (stops, trips)
    assert stops_and_trips_of(filter_fixes(fixes, params.filter).kept, params) == (stops, trips)
    for stop in stops:
        assert stop.duration_s >= min_duration_s
    periods = sorted([(s.start, s.end, "stop") for s in stops] + [(t.start, t.end, "trip") for t in trips])
    for (_, end, _), (start, _, _) in zip(periods, periods[1:], strict=False):
        assert end <= start
    kept = filter_fixes(fixes, params.filter).kept
    assert sum(t.distance_m for t in trips) <= track_distance_m(kept) + 1e-6
