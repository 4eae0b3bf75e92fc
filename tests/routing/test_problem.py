"""The routing input model: validation with field-naming messages, matrices from travel providers, the
road-matrix file reader, and the earliest-timing simulator used to warm-start the search."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pytest

from dispatch.geo import LatLon, haversine_m
from dispatch.road_path import RoadRoute
from routing.check import check
from routing.matrix_file import VrpFormatError, read_vrp, to_problem
from routing.plan import Plan, earliest_route
from routing.problem import (
    Announced,
    Break,
    Objective,
    Pin,
    Problem,
    StopRule,
    Visit,
    Window,
    Worker,
    required_penalty,
)
from routing.travel import StraightLine

H = 3600
SCENARIO = Path(__file__).resolve().parents[2] / "data" / "datasets" / "scenario"
MONACO = (LatLon(43.7341910, 7.4183665), LatLon(43.7375749, 7.4261692), LatLon(43.7353294, 7.4306094))


def line(n: int) -> tuple[tuple[int | None, ...], ...]:
    return tuple(tuple(600 * abs(i - j) for j in range(n)) for i in range(n))


def worker(**changes: object) -> Worker:
    base = Worker("w1", start_location=0, end_location=0, shift_start_s=8 * H, shift_end_s=17 * H)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def problem(visits: Sequence[Visit], workers: Sequence[Worker], n: int = 4, **changes: object) -> Problem:
    p = Problem(visits=tuple(visits), workers=tuple(workers), duration_s=line(n), distance_m=line(n))
    return p.replace(**changes) if changes else p


# --- validation ----------------------------------------------------------------------------------


def test_a_window_ending_before_it_starts_is_refused() -> None:
    """Tests that a window 10:00..09:00 is refused with a message naming the window."""
    with pytest.raises(ValueError, match="window"):
        Window(10 * H, 9 * H)


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"priority": 0}, "priority"), ({"service_s": -1}, "service_s"), ({"penalty": -5}, "penalty")],
)
def test_a_visit_with_a_bad_field_is_refused_naming_it(changes: dict[str, int], field: str) -> None:
    """Tests that out-of-range visit fields are refused with a message naming the field."""
    with pytest.raises(ValueError, match=field):
        Visit("v", location=1, **changes)  # type: ignore[arg-type]


def test_overlapping_windows_are_refused() -> None:
    """Tests that a visit's windows must be sorted and disjoint."""
    with pytest.raises(ValueError, match="disjoint"):
        Visit("v", location=1, windows=(Window(9 * H, 11 * H), Window(10 * H, 12 * H)))


def test_a_break_outside_the_shift_is_refused() -> None:
    """Tests that a lunch break that could run past the end of the shift is refused."""
    with pytest.raises(ValueError, match="break"):
        worker(breaks=(Break(16 * H, 17 * H, 1800),))


def test_a_problem_whose_parts_do_not_fit_is_refused() -> None:
    """Tests field-naming errors: a location outside the matrix, a duplicate id, a pin to an unknown worker,
    a ragged matrix, and matrices disagreeing on which pairs have no route."""
    with pytest.raises(ValueError, match="outside"):
        problem([Visit("v", location=9)], [worker()])
    with pytest.raises(ValueError, match="twice"):
        problem([Visit("v", location=1), Visit("v", location=2)], [worker()])
    with pytest.raises(ValueError, match="unknown worker"):
        problem([Visit("v", location=1)], [worker()], pins=(Pin("v", "nobody", 9 * H),))
    with pytest.raises(ValueError, match="square"):
        Problem(visits=(), workers=(), duration_s=((0, 1), (1,)), distance_m=((0, 1), (1, 0)))
    with pytest.raises(ValueError, match="agree"):
        Problem(visits=(), workers=(), duration_s=((0, None), (1, 0)), distance_m=((0, 1), (1, 0)))


def test_the_matrices_as_arrays_mark_no_route_and_cannot_be_changed() -> None:
    """Tests that the arrays the solvers' models read hold the matrices' values, -1 where there is no route,
    refuse writes (a problem is a value), and that a negative entry is refused naming its cell."""
    p = Problem(visits=(), workers=(), duration_s=((0, None), (7, 0)), distance_m=((0, None), (90, 0)))
    assert p.duration_array_s.tolist() == [[0, -1], [7, 0]]
    assert p.distance_array_m.tolist() == [[0, -1], [90, 0]]
    with pytest.raises(ValueError, match="read-only"):
        p.duration_array_s[0, 1] = 5
    with pytest.raises(ValueError, match=r"distance_m\[1\]\[0\] = -3 must be >= 0"):
        Problem(visits=(), workers=(), duration_s=((0, 1), (1, 0)), distance_m=((0, 1), (-3, 0)))
    with pytest.raises(ValueError, match=r"duration_s\[1\]\[1\] must be 0, not None"):
        Problem(visits=(), workers=(), duration_s=((0, 1), (1, None)), distance_m=((0, 1), (1, None)))


def test_a_stop_rule_needs_a_limit() -> None:
    """Tests that a stop rule with neither a solution count nor seconds is refused (the search would never end)."""
    with pytest.raises(ValueError, match="max_solutions"):
        StopRule()
    with pytest.raises(ValueError, match="max_seconds"):
        StopRule(max_seconds=0)


def test_taking_out_visits_and_workers_takes_their_pins_and_announcements() -> None:
    """Tests that removing a cancelled visit or a sick worker also drops the pins and announcements that name them."""
    p = problem(
        [Visit("a", location=1), Visit("b", location=2)],
        [worker(), worker(id="w2")],
        pins=(Pin("a", "w1", 9 * H),),
        announced=(Announced("b", "w2", 10 * H),),
    )
    assert p.without_visits(["a"]).pins == () and [v.id for v in p.without_visits(["a"]).visits] == ["b"]
    assert p.without_workers(["w2"]).announced == () and p.without_workers(["w1"]).pins == ()


def test_earliest_start_picks_the_next_open_window() -> None:
    """Tests that arriving between two windows means waiting for the second, and after both means never."""
    v = Visit("v", location=1, windows=(Window(8 * H, 9 * H), Window(14 * H, 15 * H)))
    assert v.earliest_start(8 * H + 60) == 8 * H + 60
    assert v.earliest_start(10 * H) == 14 * H
    assert v.earliest_start(16 * H) is None


# --- objective -----------------------------------------------------------------------------------


def test_the_objective_prices_time_distance_or_a_mix_plus_worker_rates() -> None:
    """Tests that a 600 s / 5 km leg costs 600 by time, 5000 by distance, 1100 at 1/s + 0.1/m, plus worker rates."""
    w = worker()
    assert Objective().arc_cost(w, 600, 5000) == 600
    assert Objective(per_travel_s=0, per_distance_m=1).arc_cost(w, 600, 5000) == 5000
    assert Objective(per_travel_s=1, per_distance_m=0.1).arc_cost(w, 600, 5000) == 1100
    assert Objective().arc_cost(dataclasses.replace(w, cost_per_hour=36, cost_per_km=2), 600, 5000) == 616


def test_an_objective_that_prices_nothing_is_refused() -> None:
    """Tests that zero weight on both time and distance is refused (every plan would cost the same)."""
    with pytest.raises(ValueError, match="both"):
        Objective(per_travel_s=0, per_distance_m=0)


def test_leaving_out_a_required_visit_costs_more_than_any_plans_travel() -> None:
    """Tests that the required-visit penalty exceeds the worst possible total travel, and doubles per priority step."""
    p = problem([Visit(str(k), location=1 + k % 3) for k in range(5)], [worker(), worker(id="w2")])
    worst_total = max(d for row in p.duration_s for d in row if d is not None) * (len(p.visits) + 2 * 2)
    assert required_penalty(p, 5) > worst_total
    assert required_penalty(p, 1) == 16 * required_penalty(p, 5)


def test_the_required_visit_penalty_is_sized_by_the_longest_leg_that_has_a_route() -> None:
    """Tests that pairs without a route (None) neither lower nor break the penalty: it follows the longest real leg."""
    durations = [[0, 100, None], [100, 0, 700], [None, 700, 0]]
    metres = [[0, 1000, None], [1000, 0, 9000], [None, 9000, 0]]
    p = Problem(visits=(Visit("a", location=1),), workers=(worker(),), duration_s=durations, distance_m=metres)
    legs = 1 + 2 * 1 + 1
    assert required_penalty(p, 5) == 700 * legs
    by_distance = p.replace(objective=Objective(per_travel_s=0, per_distance_m=1))
    assert required_penalty(by_distance, 5) == 9000 * legs
    assert required_penalty(by_distance, 3) == 4 * 9000 * legs


# --- matrices from providers ---------------------------------------------------------------------


def test_from_points_rounds_seconds_and_uses_the_providers_metres() -> None:
    """Tests that straight-line travel gives integer seconds and the provider's detoured metres, symmetric."""
    travel = StraightLine(speed_mps=8.0, detour_factor=1.3)
    p = Problem.from_points(MONACO, visits=[Visit("v", location=1)], workers=[worker()], travel=travel)
    assert p.duration_s[0][1] == round(travel.duration_s(MONACO[0], MONACO[1]))
    assert p.distance_m[0][1] == round(travel.distance_m(MONACO[0], MONACO[1]))
    assert p.duration_s[1][0] == p.duration_s[0][1] and p.duration_s[2][2] == 0
    assert p.points == MONACO


class HalfConnected:
    """A provider with no route between points 0 and 2 and no distance table (like a clipped road network)."""

    def duration_s(self, a: LatLon, b: LatLon) -> float | None:
        return 100.0

    def table(self, points: Sequence[LatLon]) -> list[list[float | None]]:
        return [[None if {i, j} == {0, 2} else 100.0 * abs(i - j) for j in range(3)] for i in range(3)]

    def route(self, a: LatLon, b: LatLon) -> RoadRoute | None:
        return None


def test_no_route_stays_none_in_both_matrices_and_metres_fall_back_to_great_circle() -> None:
    """Tests that a pair the provider cannot route is None for seconds and metres, and metres come from haversine."""
    p = Problem.from_points(MONACO, visits=[Visit("v", location=2)], workers=[worker()], travel=HalfConnected())
    assert p.duration_s[0][2] is None and p.distance_m[0][2] is None and p.distance_m[2][0] is None
    assert p.duration_s[0][1] == 100 and p.distance_m[0][1] == round(haversine_m(MONACO[0], MONACO[1]))


# --- road-matrix file ----------------------------------------------------------------------------


def test_the_belgium_road_matrix_file_is_read_in_file_order() -> None:
    """Tests that the 50x50 asymmetric road-time matrix, the ids 0, 55, … and Brussels as depot are read."""
    vrp = read_vrp(SCENARIO / "belgium-road-time-n50-k10.vrp")
    assert vrp.size == 50 and vrp.unit == "sec" and vrp.capacity == 125
    assert vrp.node_ids[:3] == (0, 55, 110) and vrp.names[0] == "BRUSSEL" and vrp.depot == 0
    assert vrp.matrix is not None and vrp.matrix[0][1] == pytest.approx(5194.095)
    assert vrp.matrix[1][0] == pytest.approx(5090.662)  # asymmetric: Anthisnes → Brussels is shorter
    assert vrp.points[0] == LatLon(50.8427501, 4.3515499)


def test_a_problem_from_the_road_matrix_carries_the_windows_of_the_sibling_file() -> None:
    """Tests that the road-time problem gets 49 visits with the time-windowed file's windows and service times."""
    road = read_vrp(SCENARIO / "belgium-road-time-n50-k10.vrp")
    timed = read_vrp(SCENARIO / "belgium-tw-n50-k10.vrp")
    p = to_problem(road, vehicles=10, windows_from=timed)
    assert len(p.visits) == 49 and len(p.workers) == 10
    assert p.visit("55").windows == (Window(43_200, 57_600),) and p.visit("55").service_s == 300
    assert p.workers[0].shift_start_s == 25_200 and p.duration_s[0][1] == 5194


def test_a_broken_matrix_file_names_the_line(tmp_path: Path) -> None:
    """Tests that a short edge-weight section is refused with the line where it starts."""
    bad = tmp_path / "bad.vrp"
    bad.write_text(
        "NAME: x\nDIMENSION: 2\nEDGE_WEIGHT_TYPE: EXPLICIT\nNODE_COORD_SECTION\n0 50 4 A\n1 51 4 B\n"
        "EDGE_WEIGHT_SECTION\n0 1\n2\nEOF\n"
    )
    with pytest.raises(VrpFormatError, match="line 8"):
        read_vrp(bad)


# --- earliest timing -----------------------------------------------------------------------------


def test_earliest_route_takes_the_break_where_it_fits_and_passes_the_checker() -> None:
    """Tests that the simulator places a lunch break between two visits whose windows leave a gap, checker-clean."""
    lunch = Break(12 * H, 12 * H + 1800, 1800)
    w = worker(breaks=(lunch,))
    p = problem(
        [
            Visit("a", location=1, service_s=H, windows=(Window(11 * H, 11 * H),)),
            Visit("b", location=2, service_s=H, windows=(Window(12 * H + 1800, 13 * H),)),
        ],
        [w],
    )
    route = earliest_route(p, w, ["a", "b"])
    assert route is not None
    assert [b.start_s for b in route.breaks] == [12 * H] and route.breaks[0].after_stops == 1
    assert check(p, Plan(routes=(route,))) == []


def test_earliest_route_refuses_an_order_that_misses_a_window_or_a_skill() -> None:
    """Tests that visiting b (window 09:00) after a (service until 10:00) is impossible, and so is a missing skill."""
    w = worker()
    p = problem(
        [
            Visit("a", location=1, service_s=2 * H, windows=(Window(8 * H, 8 * H + 600),)),
            Visit("b", location=2, windows=(Window(9 * H, 9 * H),)),
            Visit("c", location=3, skills=frozenset({"gas"})),
        ],
        [w],
    )
    assert earliest_route(p, w, ["a", "b"]) is None
    assert earliest_route(p, w, ["b", "a"]) is None  # a's window has closed by then too
    assert earliest_route(p, w, ["c"]) is None
