"""Trajectories: filter a worker's raw fixes, then find where they stopped and the trips between.

Raw fixes stay stored as they came; this module only derives. Three things are filtered out of
the track before deriving anything (each dropped fix comes back with its reason):

- a fix the device marked invalid or as a mock location;
- a fix vaguer than `FilterParams.max_accuracy_m`;
- an impossible jump: reaching the fix from the last kept one would need more than
  `FilterParams.max_speed_mps` (a GPS spike). The speed is judged against the last *kept* fix, so
  a run of bad fixes is dropped whole; should the last kept fix itself be the bad one, the fixes
  after it are let through again once the time since it makes the jump possible.

Jitter while standing (a phone on a table wanders a few metres) does two things it must not: it
adds distance to a trip, and it could split a stop. Distances along the track therefore advance
only once the fix has moved more than `FilterParams.jitter_m` from the last counted point, and a
stop is a cluster of fixes around its moving centroid (not around its first fix), where a short
excursion (a few fixes out of the radius, then back) is absorbed.

A stop: the worker stayed within `StopParams.radius_m` for at least `StopParams.min_duration_s`.
Gaps in the data inside a stop (a phone that sleeps while standing) do not break it: the stop lasts
from its first to its last fix. A trip: the movement between two stops, and before the first and
after the last stop when the track moves there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dispatch.geo import LatLon, haversine_deg_m


class Fix(Protocol):
    """What stops and trips read of a fix: a `dispatch.positions.Position`, or a narrower row read for that alone
    (`data.positions_repo.track_between`)."""

    @property
    def fix_time(self) -> datetime: ...
    @property
    def latitude(self) -> float: ...
    @property
    def longitude(self) -> float: ...
    @property
    def accuracy_m(self) -> float | None: ...
    @property
    def valid(self) -> bool: ...
    @property
    def mock(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class FilterParams:
    """Which fixes are trusted for stops and trips."""

    max_accuracy_m: float = 100.0
    max_speed_mps: float = 70.0  # 250 km/h: faster than any field worker's vehicle
    jitter_m: float = 10.0

    def __post_init__(self) -> None:
        for name in ("max_accuracy_m", "max_speed_mps"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} {value!r} must be > 0")
        if not (math.isfinite(self.jitter_m) and self.jitter_m >= 0):
            raise ValueError(f"jitter_m {self.jitter_m!r} must be >= 0")


@dataclass(frozen=True, slots=True)
class StopParams:
    """What counts as a stop: staying within `radius_m` for at least `min_duration_s`.

    `max_excursion_s`: fixes outside the radius for at most this long, after which the track is
    back within the radius of the stop, are GPS jitter and do not end the stop.
    """

    radius_m: float = 100.0
    min_duration_s: float = 300.0
    max_excursion_s: float = 60.0
    filter: FilterParams = FilterParams()

    def __post_init__(self) -> None:
        if not (math.isfinite(self.radius_m) and self.radius_m > 0):
            raise ValueError(f"radius_m {self.radius_m!r} must be > 0")
        for name in ("min_duration_s", "max_excursion_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} {value!r} must be >= 0")


@dataclass(frozen=True, slots=True)
class DroppedFix[F: Fix]:
    """A raw fix left out of the filtered track, and why."""

    position: F
    reason: str


@dataclass(frozen=True, slots=True)
class FilteredTrack[F: Fix]:
    """The fixes kept for deriving stops and trips (oldest first) and those dropped, with reasons."""

    kept: tuple[F, ...]
    dropped: tuple[DroppedFix[F], ...]


@dataclass(frozen=True, slots=True)
class Stop:
    """The worker stayed around `location` (the mean of the stop's fixes) from `start` to `end`."""

    start: datetime
    end: datetime
    location: LatLon
    fix_count: int

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True, slots=True)
class Trip:
    """Movement from `start` to `end`, `distance_m` along the filtered track."""

    start: datetime
    end: datetime
    distance_m: float
    origin: LatLon | None = None
    """Where the trip left from (its first fix) and arrived (its last fix): what travel times are learned from."""
    destination: LatLon | None = None

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def average_speed_mps(self) -> float:
        return self.distance_m / self.duration_s if self.duration_s > 0 else 0.0


def filter_fixes[F: Fix](positions: Sequence[F], params: FilterParams | None = None) -> FilteredTrack[F]:
    """Keep the fixes worth deriving from; `positions` in any order (they are sorted by fix time).

    A second fix with the fix time of a kept one is dropped as a duplicate.
    """
    params = params or FilterParams()
    kept: list[F] = []
    dropped: list[DroppedFix[F]] = []
    for position in sorted(positions, key=lambda p: p.fix_time):
        reason = _drop_reason(position, kept[-1] if kept else None, params)
        if reason is None:
            kept.append(position)
        else:
            dropped.append(DroppedFix(position, reason))
    return FilteredTrack(tuple(kept), tuple(dropped))


def _drop_reason(position: Fix, last: Fix | None, params: FilterParams) -> str | None:
    if not position.valid:
        return "invalid fix"
    if position.mock:
        return "mock location"
    if position.accuracy_m is not None and position.accuracy_m > params.max_accuracy_m:
        return f"accuracy {position.accuracy_m:.0f} m > {params.max_accuracy_m:.0f} m"
    if last is None:
        return None
    elapsed_s = (position.fix_time - last.fix_time).total_seconds()
    if elapsed_s <= 0:
        return "duplicate fix time"
    speed_mps = haversine_deg_m(last.latitude, last.longitude, position.latitude, position.longitude) / elapsed_s
    if speed_mps > params.max_speed_mps:
        return f"impossible jump: {speed_mps:.0f} m/s from the previous fix (limit {params.max_speed_mps:.0f} m/s)"
    return None


def track_distance_m(fixes: Sequence[Fix], jitter_m: float = 0.0) -> float:
    """Length of the track through `fixes` (in order), ignoring wandering within `jitter_m` of the last counted point."""
    if not fixes:
        return 0.0
    total = 0.0
    lat, lon = fixes[0].latitude, fixes[0].longitude
    for fix in fixes[1:]:
        step = haversine_deg_m(lat, lon, fix.latitude, fix.longitude)
        if step > jitter_m:
            total += step
            lat, lon = fix.latitude, fix.longitude
    return total


@dataclass(slots=True)
class _Cluster:
    first: int
    last: int
    lat_sum: float
    lon_sum: float
    count: int

    @property
    def centroid(self) -> LatLon:
        return LatLon(self.lat_sum / self.count, self.lon_sum / self.count)

    def add(self, index: int, fix: Fix) -> None:
        self.last = index
        self.lat_sum += fix.latitude
        self.lon_sum += fix.longitude
        self.count += 1

    def within(self, fix: Fix, radius_m: float) -> bool:
        """Whether `fix` lies within `radius_m` of the running centroid."""
        count = self.count
        return haversine_deg_m(self.lat_sum / count, self.lon_sum / count, fix.latitude, fix.longitude) <= radius_m


def _clusters(fixes: Sequence[Fix], params: StopParams) -> list[_Cluster]:
    """Runs of fixes within the radius of their running centroid, short excursions absorbed."""
    clusters: list[_Cluster] = []
    i = 0
    while i < len(fixes):
        cluster = _Cluster(i, i, fixes[i].latitude, fixes[i].longitude, 1)
        j = i + 1
        while j < len(fixes):
            if cluster.within(fixes[j], params.radius_m):
                cluster.add(j, fixes[j])
                j += 1
                continue
            back = _return_within(fixes, j, cluster, params)
            if back is None:
                break
            cluster.add(back, fixes[back])  # the excursion's fixes are left out of the centroid
            j = back + 1
        clusters.append(cluster)
        i = cluster.last + 1
    return clusters


def _return_within(fixes: Sequence[Fix], start: int, cluster: _Cluster, params: StopParams) -> int | None:
    """The index of the first fix after `start` back within the radius, if the excursion is short enough."""
    left_at = fixes[cluster.last].fix_time
    for k in range(start + 1, len(fixes)):
        if (fixes[k].fix_time - left_at).total_seconds() > params.max_excursion_s:
            return None
        if cluster.within(fixes[k], params.radius_m):
            return k
    return None


def _stop_clusters(fixes: Sequence[Fix], params: StopParams) -> list[_Cluster]:
    return [
        c
        for c in _clusters(fixes, params)
        if (fixes[c.last].fix_time - fixes[c.first].fix_time).total_seconds() >= params.min_duration_s
    ]


def detect_stops(positions: Sequence[Fix], params: StopParams | None = None) -> list[Stop]:
    """The stops of a track, oldest first, after filtering its fixes with `params.filter`."""
    params = params or StopParams()
    fixes = filter_fixes(positions, params.filter).kept
    return _stops(fixes, _stop_clusters(fixes, params))


def _stops(fixes: Sequence[Fix], clusters: Sequence[_Cluster]) -> list[Stop]:
    return [Stop(fixes[c.first].fix_time, fixes[c.last].fix_time, c.centroid, c.count) for c in clusters]


def stops_and_trips(positions: Sequence[Fix], params: StopParams | None = None) -> tuple[list[Stop], list[Trip]]:
    """`detect_stops` and `detect_trips` of one track, its fixes filtered and clustered once for both."""
    params = params or StopParams()
    return stops_and_trips_of(filter_fixes(positions, params.filter).kept, params)


def stops_and_trips_of(kept: Sequence[Fix], params: StopParams) -> tuple[list[Stop], list[Trip]]:
    """`stops_and_trips` of a track already filtered with `params.filter` (`filter_fixes(...).kept`), for a caller
    that has it."""
    clusters = _stop_clusters(kept, params)
    return _stops(kept, clusters), _trips(kept, clusters, params)


def detect_trips(positions: Sequence[Fix], params: StopParams | None = None) -> list[Trip]:
    """The trips of a track, oldest first: between consecutive stops, and before the first and after
    the last stop when the track moves there (a track without stops is one trip).

    A trip runs from the last fix of one stop to the first fix of the next; its distance is along
    the filtered track with standing jitter ignored. Ends of the track that do not move beyond the
    jitter are not trips.
    """
    params = params or StopParams()
    fixes = filter_fixes(positions, params.filter).kept
    return _trips(fixes, _stop_clusters(fixes, params), params)


def _trips(fixes: Sequence[Fix], clusters: Sequence[_Cluster], params: StopParams) -> list[Trip]:
    if len(fixes) < 2:
        return []
    bounds = [(-1, 0)] + [(c.first, c.last) for c in clusters] + [(len(fixes) - 1, len(fixes))]
    trips: list[Trip] = []
    for (_, leave), (arrive, _) in zip(bounds, bounds[1:], strict=False):
        if arrive <= leave:
            continue
        segment = fixes[leave : arrive + 1]
        distance_m = track_distance_m(segment, params.filter.jitter_m)
        if distance_m > 0:
            first, last = segment[0], segment[-1]
            trips.append(
                Trip(first.fix_time, last.fix_time, distance_m, LatLon(first.latitude, first.longitude),
                     LatLon(last.latitude, last.longitude))
            )  # fmt: skip
    return trips
