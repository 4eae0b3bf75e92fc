from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.geo import LatLon, haversine_m
from dispatch.road_path import RoadRoute
from routing.travel import OsrmRoads, StraightLine, make_travel_times
from tests.routing.network import (
    CRUISE_TERMINAL,
    NICE_PORT,
    PHARMACY_DES_ANGLAIS,
    POST_OFFICE_CONDAMINE,
    POUND_FONTVIEILLE,
    THEATRE_PRINCESSE_GRACE,
    distance_to_polyline_m,
)

ORIGIN = LatLon(43.7300, 7.4200)
ONE_KM_NORTH = LatLon(43.7300 + 1000 / 111_195.0, 7.4200)


# --- straight line ---------------------------------------------------------------------------


def test_straight_line_time_is_detoured_distance_over_speed() -> None:
    """Tests that 1 km as the crow flies at 8 m/s with a 1.3 detour takes 162.5 seconds."""
    travel = StraightLine(speed_mps=8.0, detour_factor=1.3)
    assert haversine_m(ORIGIN, ONE_KM_NORTH) == pytest.approx(1000.0, abs=0.5)
    assert travel.duration_s(ORIGIN, ONE_KM_NORTH) == pytest.approx(162.5, abs=0.1)
    assert travel.distance_m(ORIGIN, ONE_KM_NORTH) == pytest.approx(1300.0, abs=1.0)


def test_straight_line_table_is_symmetric_with_zero_diagonal() -> None:
    """Tests that the straight-line table has one row per source, zeros on the diagonal and a == b both ways."""
    points = [ORIGIN, ONE_KM_NORTH, CRUISE_TERMINAL]
    table = StraightLine().table(points)
    assert len(table) == 3 and all(len(row) == 3 for row in table)
    for i in range(3):
        assert table[i][i] == 0.0
        for j in range(3):
            assert table[i][j] == pytest.approx(table[j][i])
    assert table[0][1] == pytest.approx(StraightLine().duration_s(ORIGIN, ONE_KM_NORTH))


def test_straight_line_route_is_the_two_point_line() -> None:
    """Tests that a straight-line route goes directly from a to b with the estimated distance and time."""
    route = StraightLine().route(ORIGIN, ONE_KM_NORTH)
    assert route.points == (ORIGIN, ONE_KM_NORTH)
    assert route.duration_s == pytest.approx(162.5, abs=0.1)
    assert route.distance_m == pytest.approx(1300.0, abs=1.0)


def test_straight_line_refuses_a_speed_of_zero() -> None:
    """Tests that a zero speed is refused with a message naming the field."""
    with pytest.raises(ValueError, match="speed_mps"):
        StraightLine(speed_mps=0.0)


# --- RoadRoute.position_at -------------------------------------------------------------------

# An L: 1 km north, then 1 km east (approximately), driven in 200 s.
CORNER = ONE_KM_NORTH
EAST_END = LatLon(CORNER.lat, CORNER.lon + 1000 / (111_195.0 * math.cos(math.radians(CORNER.lat))))
L_ROUTE = RoadRoute(points=(ORIGIN, CORNER, EAST_END), duration_s=200.0, distance_m=2000.0)


def test_position_at_follows_the_legs_in_proportion_to_length() -> None:
    """Tests that a vehicle is halfway up the first leg after a quarter of the time, heading north at 10 m/s."""
    point, bearing, speed = L_ROUTE.position_at(50.0)
    assert haversine_m(point, ORIGIN) == pytest.approx(500.0, abs=2.0)
    assert bearing == pytest.approx(0.0, abs=0.5)
    assert speed == pytest.approx(10.0)
    point, bearing, _ = L_ROUTE.position_at(150.0)
    assert haversine_m(point, CORNER) == pytest.approx(500.0, abs=2.0)
    assert bearing == pytest.approx(90.0, abs=0.5)


def test_position_at_stops_at_both_ends() -> None:
    """Tests that before the start a vehicle waits at the start and after the duration it stands at the end, speed 0."""
    assert L_ROUTE.position_at(-5.0)[0] == ORIGIN
    assert L_ROUTE.position_at(-5.0)[2] == 0.0
    assert L_ROUTE.position_at(200.0)[0] == EAST_END
    assert L_ROUTE.position_at(10_000.0)[2] == 0.0


@given(st.lists(st.floats(min_value=0.0, max_value=200.0), min_size=2, max_size=20))
def test_position_at_never_goes_back(times: list[float]) -> None:
    """Tests that later times are never closer to the start along the route than earlier ones."""

    def along_m(t: float) -> float:
        point = L_ROUTE.position_at(t)[0]
        if t * 10.0 <= 1000.0:  # on the first leg
            return haversine_m(ORIGIN, point)
        return 1000.0 + haversine_m(CORNER, point)

    ordered = sorted(times)
    distances = [along_m(t) for t in ordered]
    assert all(b >= a - 1e-6 for a, b in zip(distances, distances[1:], strict=False))


def test_road_route_needs_two_points() -> None:
    """Tests that a one-point route is refused with a message naming the field."""
    with pytest.raises(ValueError, match="points"):
        RoadRoute(points=(ORIGIN,), duration_s=0.0, distance_m=0.0)


# --- OSRM on the Monaco network --------------------------------------------------------------


def test_osrm_gives_a_finite_plausible_duration_between_two_monaco_sites(roads: OsrmRoads) -> None:
    """Tests that driving from the Condamine post office to the Princesse Grace theatre takes between 1 and 15 minutes."""
    duration = roads.duration_s(POST_OFFICE_CONDAMINE, THEATRE_PRINCESSE_GRACE)
    assert duration is not None and math.isfinite(duration)
    assert 60.0 < duration < 900.0


def test_osrm_route_follows_roads_from_near_the_start_to_near_the_end(roads: OsrmRoads) -> None:
    """Tests that the road route has many points, starts and ends within 30 m of the sites, and is longer than the crow flies."""
    route = roads.route(POST_OFFICE_CONDAMINE, THEATRE_PRINCESSE_GRACE)
    assert route is not None
    assert len(route.points) > 10
    assert haversine_m(route.start, POST_OFFICE_CONDAMINE) < 30.0
    assert haversine_m(route.end, THEATRE_PRINCESSE_GRACE) < 30.0
    assert route.distance_m > haversine_m(POST_OFFICE_CONDAMINE, THEATRE_PRINCESSE_GRACE)
    assert route.length_m == pytest.approx(route.distance_m, rel=0.05)
    duration = roads.duration_s(POST_OFFICE_CONDAMINE, THEATRE_PRINCESSE_GRACE)
    assert duration is not None
    assert route.duration_s == pytest.approx(duration, abs=5.0)


def test_position_at_walks_the_road_route_from_start_to_end(roads: OsrmRoads) -> None:
    """Tests that sampled positions stay on the road, never jump or turn back, and cover the route exactly once."""
    route = roads.route(POUND_FONTVIEILLE, PHARMACY_DES_ANGLAIS)
    assert route is not None
    samples = [route.position_at(route.duration_s * k / 400) for k in range(401)]
    points = [p for p, _, _ in samples]
    assert points[0] == route.start and points[-1] == route.end
    step_limit_m = route.length_m / 400 + 0.5
    travelled_m = 0.0
    for a, b in zip(points, points[1:], strict=False):
        step_m = haversine_m(a, b)
        assert step_m <= step_limit_m
        travelled_m += step_m
    # Turning back anywhere would make the walk longer than the route (corners cut by samples make it shorter).
    assert route.length_m * 0.97 <= travelled_m <= route.length_m + 1.0
    assert max(distance_to_polyline_m(p, route.points) for p in points) < 1.0
    odd = [(k, speed) for k, (_, _, speed) in enumerate(samples[:-1]) if not 0 < speed < 40]
    assert not odd, f"samples (index, m/s) outside 0-40 m/s: {odd[:10]} of a {route.duration_s:.1f} s route"


def test_osrm_table_has_a_row_per_source_and_differs_by_direction(roads: OsrmRoads) -> None:
    """Tests that the road table is n x n with zero diagonal, finite entries, and one-way streets show as asymmetry."""
    points = [POST_OFFICE_CONDAMINE, THEATRE_PRINCESSE_GRACE, CRUISE_TERMINAL, POUND_FONTVIEILLE]
    table = roads.table(points)
    assert len(table) == 4 and all(len(row) == 4 for row in table)
    for i in range(4):
        assert table[i][i] == 0.0
        for j in range(4):
            value = table[i][j]
            assert value is not None and math.isfinite(value)
    assert any(table[i][j] != table[j][i] for i in range(4) for j in range(4) if i != j)
    distances = roads.distance_table_m(points)
    assert all(d is not None and d > 0 for i, row in enumerate(distances) for j, d in enumerate(row) if i != j)


def test_a_point_far_off_the_network_has_no_route(roads: OsrmRoads) -> None:
    """Tests that a point in Nice, outside the Monaco extract, gets None instead of a route from the nearest Monaco road."""
    assert roads.duration_s(POST_OFFICE_CONDAMINE, NICE_PORT) is None
    assert roads.route(POST_OFFICE_CONDAMINE, NICE_PORT) is None
    table = roads.table([POST_OFFICE_CONDAMINE, NICE_PORT, CRUISE_TERMINAL])
    assert table[0][1] is None and table[1][2] is None and table[2][1] is None
    assert table[0][2] is not None and table[1][1] == 0.0


class _UnroutableEngine:
    """Answers like OSRM does for two points on unconnected pieces of road."""

    def Route(self, params: Any) -> Any:  # noqa: N802 (OSRM's method name)
        raise RuntimeError("NoRoute - Impossible route between points")

    def Table(self, params: Any) -> Any:  # noqa: N802
        return {
            "durations": [[0.0, None], [None, 0.0]],
            "distances": [[0.0, None], [None, 0.0]],
            "sources": [{"distance": 1.0}, {"distance": 1.0}],
        }


def test_osrm_no_route_comes_back_as_none_not_an_error(roads: OsrmRoads, monaco_osrm: Path) -> None:
    """Tests that OSRM's 'NoRoute' error and null table entries become None for the caller."""
    unroutable = OsrmRoads(monaco_osrm)
    unroutable._engine = _UnroutableEngine()
    assert unroutable.route(POST_OFFICE_CONDAMINE, CRUISE_TERMINAL) is None
    assert unroutable.duration_s(POST_OFFICE_CONDAMINE, CRUISE_TERMINAL) is None
    assert unroutable.table([POST_OFFICE_CONDAMINE, CRUISE_TERMINAL]) == [[0.0, None], [None, 0.0]]


# --- choosing an implementation --------------------------------------------------------------


def test_make_travel_times_uses_roads_when_the_network_is_built(monaco_osrm: Path) -> None:
    """Tests that a built network gives road travel times."""
    assert isinstance(make_travel_times(monaco_osrm.parent), OsrmRoads)


def test_make_travel_times_falls_back_to_straight_lines_without_a_network(tmp_path: Path) -> None:
    """Tests that an empty folder gives straight-line travel times rather than an error."""
    assert isinstance(make_travel_times(tmp_path / "nowhere"), StraightLine)


def test_make_travel_times_falls_back_when_the_network_is_corrupt(tmp_path: Path) -> None:
    """Tests that unreadable network files give straight-line travel times rather than a crash."""
    for suffix in (".fileIndex", ".properties", ".partition", ".cells", ".mldgr", ".cell_metrics"):
        (tmp_path / f"monaco.osrm{suffix}").write_text("not an OSRM file")
    assert isinstance(make_travel_times(tmp_path), StraightLine)


def test_two_fixes_on_one_road_segment_are_never_a_negative_distance_apart(roads: OsrmRoads) -> None:
    """Tests that two points a few metres apart on one segment, where OSRM's table answers -0.5 m, come out as
    0 (a routing problem refuses negative entries, so one such pair failed a whole day's plan)."""
    a, b = LatLon(43.745939449391564, 7.426693629679574), LatLon(43.74596790826415, 7.426630810932752)
    distances = roads.distance_table_m([a, b])
    durations = roads.table([a, b])
    assert all(v is not None and v >= 0 for row in (*distances, *durations) for v in row), (distances, durations)


def test_many_to_one_durations_are_the_pairwise_durations_with_none_off_the_network(roads: OsrmRoads) -> None:
    """Tests that ranking workers by road time gives the same ETAs when asked for all at once: `durations_to`
    equals `duration_s` pair by pair, with None for an origin outside the extract, and all None for a
    destination outside it."""
    origins = [POST_OFFICE_CONDAMINE, CRUISE_TERMINAL, NICE_PORT, PHARMACY_DES_ANGLAIS, POUND_FONTVIEILLE]
    at_once = roads.durations_to(origins, THEATRE_PRINCESSE_GRACE)
    assert at_once == [roads.duration_s(a, THEATRE_PRINCESSE_GRACE) for a in origins]
    assert at_once[2] is None and all(d is not None and d > 0 for i, d in enumerate(at_once) if i != 2)
    assert roads.durations_to(origins[:2], NICE_PORT) == [None, None]
    assert roads.durations_to([], NICE_PORT) == []


def test_straight_line_many_to_one_durations_are_the_pairwise_durations() -> None:
    """Tests that the straight-line fallback answers `durations_to` exactly as `duration_s` one pair at a time."""
    line = StraightLine()
    assert line.durations_to([ORIGIN, ONE_KM_NORTH], ORIGIN) == [0.0, line.duration_s(ONE_KM_NORTH, ORIGIN)]


def test_a_road_distance_that_cannot_be_the_routes_gives_way_to_its_geometry(roads: OsrmRoads, caplog) -> None:
    """Tests that a route whose engine distance is eight times the road drawn (seen twice in full runs) is given the
    drawn road's length, so a vehicle on it moves at a speed a car can drive, and that it is logged."""
    route = roads.route(POUND_FONTVIEILLE, PHARMACY_DES_ANGLAIS)
    assert route is not None

    class Engine:
        def Route(self, _params):  # noqa: N802 - the binding's name
            coordinates = [[p.lon, p.lat] for p in route.points]
            return {"code": "Ok", "waypoints": [{"distance": 1.0}, {"distance": 1.0}],
                    "routes": [{"duration": route.duration_s, "distance": route.length_m * 8,
                                "geometry": {"coordinates": coordinates}}]}  # fmt: skip

    odd = OsrmRoads.__new__(OsrmRoads)
    odd.__dict__.update(roads.__dict__)
    odd._engine = Engine()  # noqa: SLF001 - the engine's answer is what is under test
    with caplog.at_level("WARNING", logger="routing.travel"):
        fixed = odd.route(POUND_FONTVIEILLE, PHARMACY_DES_ANGLAIS)
    assert fixed is not None and fixed.distance_m == pytest.approx(route.length_m)
    assert 0 < fixed.position_at(route.duration_s / 2)[2] < 40
    assert "using the geometry's" in caplog.text
    assert roads.route(POUND_FONTVIEILLE, PHARMACY_DES_ANGLAIS).distance_m == route.distance_m  # a sound one is kept


HELD_BY_A_THREAD = """
import sys, threading
from pathlib import Path
from dispatch.geo import LatLon
from routing.travel import OsrmRoads
roads = OsrmRoads(Path(sys.argv[1]))
assert roads.duration_s(LatLon(43.7341910, 7.4183665), LatLon(43.7375749, 7.4261692)) is not None
threading.Thread(target=lambda held, stop: stop.wait(), args=(roads, threading.Event()), daemon=True).start()
"""


def test_a_process_that_ends_with_the_roads_still_held_frees_them_and_logs_no_leak(monaco_osrm: Path) -> None:
    """Tests that a process whose road network is still held when it ends (by a daemon thread, as the web workers'
    are) frees the engine on the way out: nanobind wrote "leaked 1 instances! leaked 27 types!" and a list of
    functions into the log at every stop of the server."""
    done = subprocess.run(
        [sys.executable, "-c", HELD_BY_A_THREAD, str(monaco_osrm)],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "leaked" not in done.stderr


def test_closed_roads_answer_no_more_queries(monaco_osrm: Path) -> None:
    """Tests that a closed road network refuses a query with an error, not an answer of "no route"."""
    roads = OsrmRoads(monaco_osrm)
    roads.close()
    with pytest.raises(RuntimeError, match="closed"):
        roads.duration_s(POST_OFFICE_CONDAMINE, THEATRE_PRINCESSE_GRACE)
