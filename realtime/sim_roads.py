"""The roads the demo's simulated staff drive, as the simulator sees them: paths it follows, pure.

A path comes from the server (`GET /api/v1/roads/route`, `realtime/sim_api.py`), or is the straight
line the simulator drives when there is none; the simulator never loads the road network itself.
`Roads` is what it asks for a path: `realtime.sim_api.HttpRoads`, or in tests and the benchmarks any
object with the same `route` method (`routing.travel`'s travel times fit, their `RoadRoute` being a `Route`).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Protocol

from dispatch.geo import LatLon, bearing_deg, haversine_m, interpolate


class Route(Protocol):
    """A drivable path: how long it takes, and where a vehicle on it is after a while."""

    @property
    def duration_s(self) -> float: ...

    def position_at(self, elapsed_s: float) -> tuple[LatLon, float, float]: ...


class Roads(Protocol):
    """Where the roads go: the path from a to b, or None when there is none."""

    def route(self, a: LatLon, b: LatLon) -> Route | None: ...


@dataclass(frozen=True, slots=True)
class RoadPath:
    """A path of at least two points driven at one speed (`distance_m / duration_s`) from start to end."""

    points: tuple[LatLon, ...]
    duration_s: float
    distance_m: float
    _cumulative_m: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.points) < 2:
            raise ValueError(f"points has {len(self.points)} point(s); a path needs at least 2")
        if not (math.isfinite(self.duration_s) and self.duration_s >= 0):
            raise ValueError(f"duration_s {self.duration_s!r} must be finite and >= 0")
        if not (math.isfinite(self.distance_m) and self.distance_m >= 0):
            raise ValueError(f"distance_m {self.distance_m!r} must be finite and >= 0")
        cumulative = [0.0]
        for a, b in zip(self.points, self.points[1:], strict=False):
            cumulative.append(cumulative[-1] + haversine_m(a, b))
        object.__setattr__(self, "_cumulative_m", tuple(cumulative))

    def position_at(self, elapsed_s: float) -> tuple[LatLon, float, float]:
        """(point, bearing_deg, speed_mps) `elapsed_s` after setting off: waiting at the start before it
        (speed 0), arrived at the end from `duration_s` on (speed 0), else on the leg reached by then."""
        if elapsed_s >= self.duration_s or self.duration_s <= 0:
            return self.points[-1], self._bearing_of_leg(len(self.points) - 2), 0.0
        if elapsed_s < 0:
            return self.points[0], self._bearing_of_leg(0), 0.0
        speed_mps = self.distance_m / self.duration_s
        total_m = self._cumulative_m[-1]
        if total_m <= 0:
            return self.points[0], 0.0, speed_mps
        along_m = total_m * (elapsed_s / self.duration_s)
        leg = min(bisect.bisect_right(self._cumulative_m, along_m) - 1, len(self.points) - 2)
        leg_m = self._cumulative_m[leg + 1] - self._cumulative_m[leg]
        fraction = 0.0 if leg_m <= 0 else (along_m - self._cumulative_m[leg]) / leg_m
        return interpolate(self.points[leg], self.points[leg + 1], fraction), self._bearing_of_leg(leg), speed_mps

    def _bearing_of_leg(self, leg: int) -> float:
        """Bearing of leg `leg`, or of the nearest leg of non-zero length (0.0 if there is none)."""
        last_leg = len(self.points) - 2
        for offset in range(last_leg + 1):
            for i in (leg - offset, leg + offset):
                if 0 <= i <= last_leg and self.points[i] != self.points[i + 1]:
                    return bearing_deg(self.points[i], self.points[i + 1])
        return 0.0
