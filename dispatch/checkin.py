"""Check-in verification: was the worker really at the site when they said "on site"?

The phone sends its position, the fix's accuracy and the time. The verdict is recorded next to the
ON_SITE change; it never blocks the check-in (a worker in a basement with no signal still works),
it tells the dispatcher how much to trust it:

- VERIFIED: a trustworthy fix inside the site's geofence;
- OUTSIDE_GEOFENCE: the fix is outside, by more than its own uncertainty when that is poor;
- POOR_ACCURACY: the fix is too vague to tell (accuracy worse than the limit, or not reported);
- NO_LOCATION: no fix at all, or none worth considering (invalid, a mock location, or too old);
- EARLY / LATE: a trustworthy fix inside the geofence, but at a time the order does not expect the
  worker there: more than `CheckinLimits.max_early_s` before its window opens, or after it closes
  (`max_late_s`). A check-in four hours early is not a verified visit. When the place is suspicious
  too, the place's verdict stands and its reason also says how early or late it was.

A geofence is a circle (the site's `geofence_radius_m` around its location, by default) or a
polygon (shapely), e.g. a hospital campus drawn on the map.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

import shapely
from shapely.geometry import Point, Polygon

from dispatch.geo import EARTH_RADIUS_M, LatLon, haversine_m
from dispatch.orders import TimeWindow
from dispatch.positions import Position
from dispatch.sites import Site


class CheckinKind(StrEnum):
    VERIFIED = "verified"
    OUTSIDE_GEOFENCE = "outside_geofence"
    POOR_ACCURACY = "poor_accuracy"
    NO_LOCATION = "no_location"
    EARLY = "early"
    LATE = "late"


@dataclass(frozen=True, slots=True)
class CheckinLimits:
    """How good a fix must be: accuracy (metres, 68 % radius as phones report it) and age at check-in;
    and how far from the order's window a check-in may be (seconds before it opens, after it closes)."""

    max_accuracy_m: float = 100.0
    max_fix_age_s: float = 300.0
    max_early_s: float = 1800.0
    max_late_s: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.max_early_s) and self.max_early_s >= 0):
            raise ValueError(f"max_early_s {self.max_early_s!r} must be >= 0")
        if not (math.isfinite(self.max_late_s) and self.max_late_s >= 0):
            raise ValueError(f"max_late_s {self.max_late_s!r} must be >= 0")
        if not (math.isfinite(self.max_accuracy_m) and self.max_accuracy_m > 0):
            raise ValueError(f"max_accuracy_m {self.max_accuracy_m!r} must be > 0")
        if not (self.max_fix_age_s > 0):
            raise ValueError(f"max_fix_age_s {self.max_fix_age_s!r} must be > 0")


@dataclass(frozen=True, slots=True)
class CircleFence:
    """Everything within `radius_m` of `center`."""

    center: LatLon
    radius_m: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.radius_m) and self.radius_m > 0):
            raise ValueError(f"radius_m {self.radius_m!r} must be > 0")

    def outside_by_m(self, point: LatLon) -> float:
        """How far `point` is beyond the fence; 0 inside or on it."""
        return max(0.0, haversine_m(self.center, point) - self.radius_m)


@dataclass(frozen=True, slots=True)
class PolygonFence:
    """A polygon given by its corners (at least three, in order; not closed: the first is not repeated).

    Meant for site-sized shapes (up to a few km): distances are measured on a flat projection
    around the point being checked, which is exact to well under a metre at that size.
    """

    corners: tuple[LatLon, ...]
    _polygon: Polygon = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.corners) < 3:
            raise ValueError(f"corners has {len(self.corners)} point(s); a polygon needs at least 3")
        polygon = Polygon([(c.lon, c.lat) for c in self.corners])
        if not polygon.is_valid or polygon.area == 0:
            raise ValueError(f"corners do not form a valid polygon ({shapely.is_valid_reason(polygon)})")
        object.__setattr__(self, "_polygon", polygon)

    def outside_by_m(self, point: LatLon) -> float:
        """How far `point` is beyond the polygon; 0 inside or on its edge."""
        if self._polygon.covers(Point(point.lon, point.lat)):
            return 0.0
        # Project the polygon onto metres around the point (equirectangular), then measure.
        kx = EARTH_RADIUS_M * math.cos(math.radians(point.lat)) * math.pi / 180.0
        ky = EARTH_RADIUS_M * math.pi / 180.0
        local = Polygon([((c.lon - point.lon) * kx, (c.lat - point.lat) * ky) for c in self.corners])
        return float(local.distance(Point(0.0, 0.0)))


Geofence = CircleFence | PolygonFence


@dataclass(frozen=True, slots=True)
class CheckinVerdict:
    """The verdict on one check-in and the facts behind it.

    `distance_m` is from the fix to the site's location and `outside_by_m` how far the fix is beyond
    the geofence (0 inside); both None without a usable fix. `accuracy_m` is the fix's as reported.
    `early_min` / `late_min` say by how many whole minutes the check-in fell before the window's
    start / after its end, when beyond the limits (else None).
    """

    kind: CheckinKind
    reason: str
    distance_m: float | None = None
    outside_by_m: float | None = None
    accuracy_m: float | None = None
    early_min: int | None = None
    late_min: int | None = None


def site_fence(site: Site) -> Geofence:
    """The default geofence of a site: its polygon when it has one, else its radius around its location."""
    if site.geofence_polygon is not None:
        return PolygonFence(site.geofence_polygon)
    return CircleFence(site.location, site.geofence_radius_m)


def verify_checkin(
    site: Site,
    position: Position | None,
    *,
    at: datetime | None = None,
    limits: CheckinLimits | None = None,
    geofence: Geofence | None = None,
    window: TimeWindow | None = None,
) -> CheckinVerdict:
    """Judge a check-in at `site` from the fix sent with it, and at `at` against the order's `window`.

    `at` is when the worker checked in (the action's own time, kept through offline replay); when
    given, a fix older than `limits.max_fix_age_s` before it counts as no location. `geofence`
    defaults to the site's circle. The order of checks: no usable fix → clearly outside (even a
    vague fix whose whole uncertainty circle lies outside) → too vague (or accuracy not reported:
    nothing can be concluded from it either way) → inside. With `window` and `at`, a check-in more
    than `limits.max_early_s` before the window opens is EARLY, one more than `limits.max_late_s`
    after it closes is LATE (a place verdict other than inside keeps its kind, its reason says it).
    """
    limits = limits or CheckinLimits()
    verdict = _by_place(
        site, position, at=at, limits=limits, fence=geofence if geofence is not None else site_fence(site)
    )
    return _by_time(verdict, at, window, limits) if at is not None and window is not None else verdict


def _by_time(verdict: CheckinVerdict, at: datetime, window: TimeWindow, limits: CheckinLimits) -> CheckinVerdict:
    """`verdict` with the check-in time judged against the order's window (EARLY / LATE, minutes given)."""
    early_s = (window.start - at).total_seconds()
    late_s = (at - window.end).total_seconds()
    early_min = late_min = None
    if early_s > limits.max_early_s:
        kind, early_min = CheckinKind.EARLY, math.ceil(early_s / 60)
        remark = (
            f"{early_min} min before the window opens at {window.start:%H:%M} (limit {limits.max_early_s / 60:.0f} min)"
        )
    elif late_s > limits.max_late_s:
        kind, late_min = CheckinKind.LATE, math.ceil(late_s / 60)
        remark = f"{late_min} min after the window closed at {window.end:%H:%M}"
    else:
        return verdict
    if verdict.kind is CheckinKind.VERIFIED:
        return replace(verdict, kind=kind, reason=f"checked in {remark}", early_min=early_min, late_min=late_min)
    return replace(verdict, reason=f"{verdict.reason}; and {remark}", early_min=early_min, late_min=late_min)


def _by_place(
    site: Site, position: Position | None, *, at: datetime | None, limits: CheckinLimits, fence: Geofence
) -> CheckinVerdict:
    """The verdict on where the fix puts the worker (see `verify_checkin`)."""
    if position is None:
        return CheckinVerdict(CheckinKind.NO_LOCATION, "no location was sent")
    if not position.valid:
        return CheckinVerdict(CheckinKind.NO_LOCATION, "the device marked the fix invalid")
    if position.mock:
        return CheckinVerdict(CheckinKind.NO_LOCATION, "the device reported a mock location")
    if at is not None:
        age_s = (at - position.fix_time).total_seconds()
        if age_s > limits.max_fix_age_s:
            return CheckinVerdict(
                CheckinKind.NO_LOCATION,
                f"the fix was taken {age_s / 60:.0f} min before the check-in (limit {limits.max_fix_age_s / 60:.0f} min)",
            )
    point = position.point
    distance_m = haversine_m(point, site.location)
    outside_m = fence.outside_by_m(point)
    accuracy_m = position.accuracy_m
    facts: dict[str, Any] = {"distance_m": distance_m, "outside_by_m": outside_m, "accuracy_m": accuracy_m}
    if outside_m > 0 and accuracy_m is not None and (accuracy_m <= limits.max_accuracy_m or outside_m > accuracy_m):
        return CheckinVerdict(
            CheckinKind.OUTSIDE_GEOFENCE, f"{outside_m:.0f} m outside the geofence of {site.name}", **facts
        )
    if accuracy_m is None:
        return CheckinVerdict(CheckinKind.POOR_ACCURACY, "the fix's accuracy was not reported", **facts)
    if accuracy_m > limits.max_accuracy_m:
        return CheckinVerdict(
            CheckinKind.POOR_ACCURACY,
            f"accuracy {accuracy_m:.0f} m > {limits.max_accuracy_m:.0f} m: too vague to place at {site.name}",
            **facts,
        )
    return CheckinVerdict(CheckinKind.VERIFIED, f"inside the geofence of {site.name}", **facts)
