"""A drivable path along roads, pure: its geometry, how long it takes, and where a vehicle on it is after a while.

`routing.travel` builds these from the road network (OSRM) or as straight lines; the simulator gets them from
the server's API (`realtime/sim_api.py`) and drives its staff along them. Seconds and metres throughout.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

from dispatch.geo import LatLon, bearing_deg, haversine_m, interpolate


@dataclass(frozen=True, slots=True)
class RoadRoute:
    """A drivable path: its geometry, how long it takes and how long it is.

    `points` is the road geometry from start to end (at least two points; both may coincide for a
    route of zero length). The duration is spread over the legs in proportion to their length, so a
    vehicle moves at `distance_m / duration_s` all the way.
    """

    points: tuple[LatLon, ...]
    duration_s: float
    distance_m: float
    on_roads: bool = True
    """False for a straight line drawn where no road network is built (`StraightLine.route`)."""
    _cumulative_m: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.points) < 2:
            raise ValueError(f"points has {len(self.points)} point(s); a route needs at least 2")
        if not (math.isfinite(self.duration_s) and self.duration_s >= 0):
            raise ValueError(f"duration_s {self.duration_s!r} must be finite and >= 0")
        if not (math.isfinite(self.distance_m) and self.distance_m >= 0):
            raise ValueError(f"distance_m {self.distance_m!r} must be finite and >= 0")
        cumulative = [0.0]
        for a, b in zip(self.points, self.points[1:], strict=False):
            cumulative.append(cumulative[-1] + haversine_m(a, b))
        object.__setattr__(self, "_cumulative_m", tuple(cumulative))

    @property
    def length_m(self) -> float:
        """Length of the geometry itself (may differ slightly from the engine's `distance_m`)."""
        return self._cumulative_m[-1]

    @property
    def start(self) -> LatLon:
        return self.points[0]

    @property
    def end(self) -> LatLon:
        return self.points[-1]

    def position_at(self, elapsed_s: float) -> tuple[LatLon, float, float]:
        """Where a vehicle that set off `elapsed_s` seconds ago is: (point, bearing_deg, speed_mps).

        Before the start (elapsed_s < 0) it waits at the first point, and from `duration_s` on it has
        arrived at the last point; in both cases the speed is 0. While moving, the bearing is that of
        the leg being driven (0 = north) and the speed is `distance_m / duration_s`.
        """
        total_m = self._cumulative_m[-1]
        if elapsed_s >= self.duration_s or self.duration_s <= 0:
            return self.points[-1], self._bearing_of_leg(len(self.points) - 2), 0.0
        if elapsed_s < 0:
            return self.points[0], self._bearing_of_leg(0), 0.0
        speed_mps = self.distance_m / self.duration_s
        if total_m <= 0:
            return self.points[0], 0.0, speed_mps
        along_m = total_m * (elapsed_s / self.duration_s)
        # The leg i runs from points[i] to points[i+1], i.e. cumulative[i] <= along < cumulative[i+1].
        leg = min(bisect.bisect_right(self._cumulative_m, along_m) - 1, len(self.points) - 2)
        leg_m = self._cumulative_m[leg + 1] - self._cumulative_m[leg]
        fraction = 0.0 if leg_m <= 0 else (along_m - self._cumulative_m[leg]) / leg_m
        point = interpolate(self.points[leg], self.points[leg + 1], fraction)
        return point, self._bearing_of_leg(leg), speed_mps

    def _bearing_of_leg(self, leg: int) -> float:
        """Bearing of leg `leg`, or of the nearest leg of non-zero length (0.0 if there is none)."""
        last_leg = len(self.points) - 2
        for offset in range(last_leg + 1):
            for i in (leg - offset, leg + offset):
                if 0 <= i <= last_leg and self.points[i] != self.points[i + 1]:
                    return bearing_deg(self.points[i], self.points[i + 1])
        return 0.0
