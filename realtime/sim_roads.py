"""The roads the demo's simulated staff drive, as the simulator sees them: paths it follows, pure.

A path comes from the server (`GET /api/v1/roads/route`, `realtime/sim_api.py`), or is the straight
line the simulator drives when there is none; the simulator never loads the road network itself.
`Roads` is what it asks for a path: `realtime.sim_api.HttpRoads`, or in tests and the benchmarks any
object with the same `route` method (`routing.travel`'s travel times fit, their `RoadRoute`, the same `dispatch.road_path.RoadRoute` as the API's paths).
"""

from __future__ import annotations

from typing import Protocol

from dispatch.geo import LatLon
from dispatch.road_path import RoadRoute

__all__ = ["RoadRoute", "Roads", "Route"]


class Route(Protocol):
    """A drivable path: how long it takes, and where a vehicle on it is after a while."""

    @property
    def duration_s(self) -> float: ...

    def position_at(self, elapsed_s: float) -> tuple[LatLon, float, float]: ...


class Roads(Protocol):
    """Where the roads go: the path from a to b, or None when there is none."""

    def route(self, a: LatLon, b: LatLon) -> Route | None: ...
