"""Travel times learned from the fleet's own trips: a time-of-day factor on the road times.

The road network knows free-flow times; the fleet's trips know the town at 8:00 on a weekday. For
each hour of the day (in the organisation's time zone) `fit_factors` takes the median of
observed ÷ road seconds over the trips that started in that hour; an hour with too few trips takes
the median of all of them. With too few trips in all, nothing is learned (None) and the road times
are used unchanged. `LearnedTravel` multiplies the road times by the factor of the hour it is asked
about (its clock's now, or a fixed moment for a plan of a future day); `eta_errors` measures the
estimate on trips it was not fitted on.

Pure: the trips come in as values (`TripObservation`), the road times as a `TravelTimes`.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from dispatch.geo import LatLon
from dispatch.road_path import RoadRoute
from dispatch.trajectory import Trip
from routing.travel import TravelTimes

MIN_TRIP_S = 60.0
"""Shorter trips (a car moved across a car park) say more about GPS than about traffic."""
MIN_RATIO, MAX_RATIO = 0.3, 4.0
"""Observed ÷ road outside this range is a detour, a stop mid-trip or a wrong match: left out."""


@dataclass(frozen=True, slots=True)
class TripObservation:
    """One driven trip: from where to where, when it left and how long it took."""

    origin: LatLon
    destination: LatLon
    departed_at: datetime
    duration_s: float


@dataclass(frozen=True, slots=True)
class TimeOfDayFactors:
    """Observed ÷ road time per local hour of the day (24 values) and how many trips each is fitted on."""

    by_hour: tuple[float, ...]
    trips_by_hour: tuple[int, ...]
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if len(self.by_hour) != 24 or len(self.trips_by_hour) != 24:
            raise ValueError("by_hour and trips_by_hour need one value per hour (24)")
        if not all(math.isfinite(f) and f > 0 for f in self.by_hour):
            raise ValueError("every factor must be finite and > 0")
        ZoneInfo(self.timezone)  # an unknown zone fails here, not at the first lookup

    def at(self, moment: datetime) -> float:
        """The factor for a departure at `moment` (aware)."""
        return self.by_hour[moment.astimezone(ZoneInfo(self.timezone)).hour]

    @property
    def trips(self) -> int:
        return sum(self.trips_by_hour)


def observations(trips: Iterable[Trip]) -> list[TripObservation]:
    """Detected trips (`dispatch.trajectory.detect_trips`) as observations; trips without end points are left out."""
    return [
        TripObservation(t.origin, t.destination, t.start, t.duration_s)
        for t in trips
        if t.origin is not None and t.destination is not None
    ]


def _ratios(trips: Iterable[TripObservation], base: TravelTimes) -> list[tuple[TripObservation, float]]:
    out = []
    for trip in trips:
        if trip.duration_s < MIN_TRIP_S:
            continue
        road_s = base.duration_s(trip.origin, trip.destination)
        if road_s is None or road_s < 1.0:
            continue
        ratio = trip.duration_s / road_s
        if MIN_RATIO <= ratio <= MAX_RATIO:
            out.append((trip, ratio))
    return out


def fit_factors(
    trips: Sequence[TripObservation],
    base: TravelTimes,
    *,
    timezone: str = "UTC",
    min_trips: int = 30,
    min_trips_per_hour: int = 5,
) -> TimeOfDayFactors | None:
    """Factors from `trips` against `base`, or None with fewer than `min_trips` usable trips."""
    zone = ZoneInfo(timezone)
    usable = _ratios(trips, base)
    if len(usable) < min_trips:
        return None
    overall = statistics.median(r for _, r in usable)
    per_hour: list[list[float]] = [[] for _ in range(24)]
    for trip, ratio in usable:
        per_hour[trip.departed_at.astimezone(zone).hour].append(ratio)
    by_hour = tuple(statistics.median(r) if len(r) >= min_trips_per_hour else overall for r in per_hour)
    return TimeOfDayFactors(by_hour=by_hour, trips_by_hour=tuple(len(r) for r in per_hour), timezone=timezone)


class LearnedTravel:
    """Road times × the learned factor of the hour: at `when()` (a clock's now), or a fixed moment (`at`)."""

    def __init__(self, base: TravelTimes, factors: TimeOfDayFactors, when: Callable[[], datetime]) -> None:
        self.base = base
        self.factors = factors
        self._when = when

    def at(self, moment: datetime) -> LearnedTravel:
        """The same travel times for departures around `moment` (e.g. a plan's day at the shifts' start)."""
        return LearnedTravel(self.base, self.factors, lambda: moment)

    def factor(self) -> float:
        return self.factors.at(self._when())

    def duration_s(self, a: LatLon, b: LatLon) -> float | None:
        seconds = self.base.duration_s(a, b)
        return None if seconds is None else seconds * self.factor()

    def table(self, points: Sequence[LatLon]) -> list[list[float | None]]:
        f = self.factor()
        return [[None if s is None else s * f for s in row] for row in self.base.table(points)]

    def route(self, a: LatLon, b: LatLon) -> RoadRoute | None:
        route = self.base.route(a, b)
        return None if route is None else replace(route, duration_s=route.duration_s * self.factor())


@dataclass(frozen=True, slots=True)
class EtaError:
    """How far estimates were from the driven times: mean absolute error and mean absolute percentage."""

    trips: int
    mae_s: float
    mape: float


def eta_errors(trips: Sequence[TripObservation], estimate: Callable[[TripObservation], float | None]) -> EtaError:
    """The error of `estimate` on `trips` (the usable ones: long enough, with an estimate)."""
    errors = [
        (abs(e - t.duration_s), abs(e - t.duration_s) / t.duration_s)
        for t in trips
        if t.duration_s >= MIN_TRIP_S and (e := estimate(t)) is not None
    ]
    if not errors:
        return EtaError(0, math.nan, math.nan)
    return EtaError(len(errors), statistics.fmean(a for a, _ in errors), statistics.fmean(p for _, p in errors))


def road_estimate(base: TravelTimes) -> Callable[[TripObservation], float | None]:
    """Estimate a trip by the road times alone."""
    return lambda t: base.duration_s(t.origin, t.destination)


def learned_estimate(base: TravelTimes, factors: TimeOfDayFactors) -> Callable[[TripObservation], float | None]:
    """Estimate a trip by the road times × the factor of its departure hour."""

    def estimate(t: TripObservation) -> float | None:
        seconds = base.duration_s(t.origin, t.destination)
        return None if seconds is None else seconds * factors.at(t.departed_at)

    return estimate
