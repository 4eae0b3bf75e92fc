"""Where a route is drawn: the road geometry of each leg between consecutive stops, cached per leg.

A plan knows its stops' order, not the streets between them. `LegPaths.path` asks the travel times
(`routing.travel`) for each leg's road geometry once and keeps it (a bounded cache keyed by the
leg's end points), so redrawing a plan, or another plan over the same sites, costs lookups only.
Where no road network is built, or the network has no route for a leg, that leg is a straight line
and the path says so (`on_roads` False and a `note` for the person looking at the map).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from shapely.geometry import LineString

from dispatch.geo import LatLon
from routing.travel import TravelTimes

METRES_PER_DEGREE = 111_320.0
NO_ROADS_NOTE = "roads are not built: routes are drawn as straight lines between stops"
NO_ROUTE_NOTE = "some legs have no road route: they are drawn as straight lines"


@dataclass(frozen=True, slots=True)
class RoutePath:
    """The line to draw through a route's stops, and whether every leg of it follows the roads."""

    points: tuple[LatLon, ...]
    on_roads: bool
    note: str = ""

    def as_json(self) -> dict[str, object]:
        """`{"points": [[lat, lon], ...], "on_roads": bool, "note": str}` for pages and the field API."""
        return {"points": [[p.lat, p.lon] for p in self.points], "on_roads": self.on_roads, "note": self.note}


class LegPaths:
    """Road geometry of legs, asked once per leg and kept (thread-safe; the oldest legs are dropped first).

    `tolerance_m` simplifies each leg's line (Douglas-Peucker) so a day's routes stay small to send.
    """

    def __init__(self, travel: TravelTimes, *, max_legs: int = 20_000, tolerance_m: float = 2.0) -> None:
        if max_legs < 1:
            raise ValueError(f"max_legs {max_legs} must be >= 1")
        self._travel = travel
        self._max_legs = max_legs
        self._tolerance_deg = tolerance_m / METRES_PER_DEGREE
        self._legs: OrderedDict[tuple[float, float, float, float], tuple[tuple[LatLon, ...], bool]] = OrderedDict()
        self._lock = threading.Lock()
        self.asked = 0
        """How many legs were asked of the travel times (the rest came from the cache)."""

    def path(self, stops: Sequence[LatLon]) -> RoutePath:
        """The line through `stops` in order (a single stop or none: those points, nothing to join)."""
        if len(stops) < 2:
            return RoutePath(points=tuple(stops), on_roads=True)
        points: list[LatLon] = [stops[0]]
        straight_legs = 0
        network = True
        for a, b in zip(stops, stops[1:], strict=False):
            leg, on_roads, has_network = self._leg(a, b)
            points.extend(leg[1:])
            if not on_roads:
                straight_legs += 1
                network = network and has_network
        if not straight_legs:
            return RoutePath(points=tuple(points), on_roads=True)
        return RoutePath(points=tuple(points), on_roads=False, note=NO_ROADS_NOTE if not network else NO_ROUTE_NOTE)

    def _leg(self, a: LatLon, b: LatLon) -> tuple[tuple[LatLon, ...], bool, bool]:
        """(the leg's points from a to b, whether it follows roads, whether a road network answered)."""
        if a == b:
            return (a, b), True, True
        key = (round(a.lat, 6), round(a.lon, 6), round(b.lat, 6), round(b.lon, 6))
        with self._lock:
            known = self._legs.get(key)
            if known is not None:
                self._legs.move_to_end(key)
                return known[0], known[1], True
        route = self._travel.route(a, b)
        self.asked += 1
        if route is None:  # a network without a route between them: straight, and not kept (it may be built)
            return (a, b), False, True
        if not route.on_roads:
            return (a, b), False, False
        line = LineString([(p.lon, p.lat) for p in route.points]).simplify(self._tolerance_deg)
        leg = (a, *(LatLon(lat, lon) for lon, lat in list(line.coords)[1:-1]), b)
        with self._lock:
            self._legs[key] = (leg, True)
            while len(self._legs) > self._max_legs:
                self._legs.popitem(last=False)
        return leg, True, True
