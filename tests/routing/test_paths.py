"""Route paths: road geometry per leg, cached; straight lines with a note where roads are missing."""

from __future__ import annotations

from dispatch.geo import LatLon, haversine_m
from dispatch.road_path import RoadRoute
from routing.paths import NO_ROADS_NOTE, NO_ROUTE_NOTE, LegPaths
from routing.travel import OsrmRoads, StraightLine

CASINO = LatLon(43.7394, 7.4276)
PORT = LatLon(43.7347, 7.4214)
FONTVIEILLE = LatLon(43.7290, 7.4160)


class BendyRoads(StraightLine):
    """A fake network whose road from a to b bends through a point north of the straight line."""

    def __init__(self, missing: frozenset[tuple[LatLon, LatLon]] = frozenset()) -> None:
        super().__init__()
        object.__setattr__(self, "missing", missing)
        object.__setattr__(self, "calls", [])

    def route(self, a: LatLon, b: LatLon) -> RoadRoute | None:  # type: ignore[override]
        self.calls.append((a, b))
        if (a, b) in self.missing:
            return None
        bend = LatLon((a.lat + b.lat) / 2 + 0.002, (a.lon + b.lon) / 2)
        return RoadRoute(points=(a, bend, b), duration_s=60.0, distance_m=1000.0)


def test_a_path_follows_each_legs_road_and_asks_each_leg_once():
    """Tests that the path through three stops bends along each leg's road, and drawing it again (or a
    route sharing a leg) asks the network nothing more."""
    roads = BendyRoads()
    paths = LegPaths(roads)
    first = paths.path([CASINO, PORT, FONTVIEILLE])
    assert first.on_roads and first.note == ""
    assert len(first.points) == 5 and first.points[0] == CASINO and first.points[-1] == FONTVIEILLE
    assert first.points[1].lat > (CASINO.lat + PORT.lat) / 2 + 0.001  # the bend, not the straight line
    paths.path([CASINO, PORT, FONTVIEILLE])
    paths.path([PORT, FONTVIEILLE])
    assert len(roads.calls) == 2 and paths.asked == 2


def test_without_a_network_the_path_is_straight_and_says_so():
    """Tests that with no road network built the path joins the stops with straight lines and carries the
    note the map shows."""
    path = LegPaths(StraightLine()).path([CASINO, PORT, FONTVIEILLE])
    assert path.points == (CASINO, PORT, FONTVIEILLE)
    assert (path.on_roads, path.note) == (False, NO_ROADS_NOTE)


def test_a_leg_without_a_road_route_is_straight_and_asked_again_later():
    """Tests that a leg the network has no route for is drawn straight with its own note, the other legs
    still follow the roads, and the missing leg is not cached (a rebuilt network may have it)."""
    roads = BendyRoads(missing=frozenset({(PORT, FONTVIEILLE)}))
    paths = LegPaths(roads)
    path = paths.path([CASINO, PORT, FONTVIEILLE])
    assert (path.on_roads, path.note) == (False, NO_ROUTE_NOTE)
    assert path.points[-2:] == (PORT, FONTVIEILLE) and len(path.points) == 4
    paths.path([PORT, FONTVIEILLE])
    assert roads.calls.count((PORT, FONTVIEILLE)) == 2


def test_the_cache_keeps_the_newest_legs():
    """Tests that beyond `max_legs` the least recently drawn leg is asked again, the others not."""
    roads = BendyRoads()
    paths = LegPaths(roads, max_legs=2)
    paths.path([CASINO, PORT])
    paths.path([PORT, FONTVIEILLE])
    paths.path([CASINO, PORT])  # the newest again
    paths.path([FONTVIEILLE, CASINO])  # drops PORT → FONTVIEILLE
    paths.path([CASINO, PORT])
    assert paths.asked == 3
    paths.path([PORT, FONTVIEILLE])
    assert paths.asked == 4


def test_monaco_route_follows_the_streets(roads: OsrmRoads):
    """Tests that on the built Monaco network the Casino → Port path has many points, each near a street
    and the whole longer than the straight line (Monaco's streets wind round the harbour)."""
    path = LegPaths(roads).path([CASINO, PORT])
    assert path.on_roads and len(path.points) > 5
    length = sum(haversine_m(a, b) for a, b in zip(path.points, path.points[1:], strict=False))
    assert length > 1.2 * haversine_m(CASINO, PORT)
