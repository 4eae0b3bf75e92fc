"""Learned travel times: a time-of-day factor fitted from trips, and the ETA error it saves."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from dispatch.geo import LatLon
from routing.learned import (
    LearnedTravel,
    TimeOfDayFactors,
    TripObservation,
    eta_errors,
    fit_factors,
    learned_estimate,
    road_estimate,
)
from routing.travel import StraightLine

ROADS = StraightLine()
DAY = datetime(2026, 3, 2, tzinfo=UTC)


def town_trips(n: int, *, seed: int, rush: float = 1.6) -> list[TripObservation]:
    """Trips of 1 to 3 km across a town: `rush` times slower than the road times from 7:00 to 9:59, as fast otherwise,
    each with ±10 % noise."""
    rng = random.Random(seed)
    trips = []
    for i in range(n):
        a = LatLon(43.72 + rng.random() * 0.03, 7.40 + rng.random() * 0.04)
        b = LatLon(a.lat + rng.choice((-1, 1)) * rng.uniform(0.008, 0.02), a.lon + rng.uniform(-0.02, 0.02))
        departed = DAY + timedelta(days=i % 5, hours=rng.choice([7, 8, 9, 11, 14, 16]), minutes=rng.randrange(60))
        slow = rush if 7 <= departed.hour <= 9 else 1.0
        trips.append(TripObservation(a, b, departed, ROADS.duration_s(a, b) * slow * rng.uniform(0.9, 1.1)))
    return trips


def test_the_factors_find_the_morning_rush_hour():
    """Tests that fitted on trips 1.6× slower in the morning, the factors say about 1.6 for 7–9 h and 1.0
    at midday, and hours without trips take the overall median."""
    factors = fit_factors(town_trips(400, seed=1), ROADS)
    assert factors is not None and factors.trips == 400
    assert all(factors.by_hour[h] == pytest.approx(1.6, abs=0.08) for h in (7, 8, 9))
    assert all(factors.by_hour[h] == pytest.approx(1.0, abs=0.05) for h in (11, 14, 16))
    assert factors.trips_by_hour[3] == 0 and 1.0 <= factors.by_hour[3] <= 1.6


def test_learned_times_cut_the_eta_error_on_held_out_trips():
    """Tests that on trips not fitted on, road times × the factors err far less than the road times alone."""
    factors = fit_factors(town_trips(300, seed=2), ROADS)
    assert factors is not None
    held_out = town_trips(100, seed=3)
    before, after = eta_errors(held_out, road_estimate(ROADS)), eta_errors(held_out, learned_estimate(ROADS, factors))
    assert before.trips == after.trips == 100
    assert after.mape < 0.08 < 0.2 < before.mape


def test_without_enough_trips_nothing_is_learned():
    """Tests that a handful of trips (or trips too short to say anything) learn nothing: road times stay."""
    assert fit_factors(town_trips(10, seed=4), ROADS) is None
    short = [TripObservation(LatLon(43.73, 7.42), LatLon(43.7301, 7.4201), DAY, 30.0)] * 100
    assert fit_factors(short, ROADS) is None


def test_learned_travel_scales_road_times_by_the_hour_it_is_asked_at():
    """Tests that the learned travel times multiply durations, tables and routes by the factor of the hour
    of their clock, and `at` fixes the hour (a plan for tomorrow morning)."""
    factors = TimeOfDayFactors(by_hour=tuple(2.0 if h == 8 else 1.0 for h in range(24)), trips_by_hour=(10,) * 24)
    now = DAY + timedelta(hours=12)
    travel = LearnedTravel(ROADS, factors, lambda: now)
    a, b = LatLon(43.73, 7.42), LatLon(43.74, 7.43)
    assert travel.duration_s(a, b) == pytest.approx(ROADS.duration_s(a, b))
    morning = travel.at(DAY + timedelta(hours=8, minutes=30))
    assert morning.duration_s(a, b) == pytest.approx(2 * ROADS.duration_s(a, b))
    assert morning.table([a, b])[0][1] == pytest.approx(2 * ROADS.duration_s(a, b))
    assert morning.route(a, b).duration_s == pytest.approx(2 * ROADS.duration_s(a, b))


def test_hours_are_the_organisations_local_hours():
    """Tests that in Asia/Shanghai the rush at 8:00 local (0:00 UTC) is found at hour 8."""
    trips = [
        TripObservation(t.origin, t.destination, t.departed_at - timedelta(hours=8), t.duration_s)
        for t in town_trips(300, seed=5)
    ]  # the same local times, for a town 8 hours ahead of UTC
    factors = fit_factors(trips, ROADS, timezone="Asia/Shanghai")
    assert factors is not None and factors.by_hour[8] == pytest.approx(1.6, abs=0.08)
    assert factors.at(DAY.replace(hour=0, minute=30)) == factors.by_hour[8]


def test_bad_factors_are_refused():
    with pytest.raises(ValueError, match="24"):
        TimeOfDayFactors(by_hour=(1.0,) * 23, trips_by_hour=(0,) * 23)
    with pytest.raises(ValueError, match="> 0"):
        TimeOfDayFactors(by_hour=(0.0,) * 24, trips_by_hour=(0,) * 24)
