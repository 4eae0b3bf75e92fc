"""A day's plan as JSON: with the day's problem each route carries its worker's shift and start/end points,
and a plan read back from either shape is the same plan."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from dispatch.geo import LatLon
from dispatch.localtime import zone
from dispatch.orders import OrderType, TimeWindow, WorkOrder
from dispatch.sites import Site
from dispatch.workers import Shift
from routing.day import (
    PLAN_SCHEMA_VERSION,
    DayProblem,
    day_problem,
    objective_for,
    plan_from_json,
    plan_json,
    seconds_of,
)
from routing.plan import Plan, Unplanned, UnplannedReason, earliest_route
from routing.problem import Objective
from routing.travel import StraightLine
from tests.factories import MONACO_CASINO, make_worker

DAY = date(2025, 3, 3)  # a Monday
FONTVIEILLE = LatLon(43.7267, 7.4169)
LARVOTTO = LatLon(43.7456, 7.4297)
CONDAMINE = LatLon(43.7342, 7.4184)
EIGHT_TO_FOUR = Shift(weekdays=(0, 1, 2, 3, 4), start=time(8), end=time(16, 30))
NAMES = {1: "Ana Rossi", 2: "Bo Lind"}
ROUTE_KEYS = {"worker_id", "name", "start", "end", "travel_s", "distance_m", "wait_s", "stops", "breaks"}


def at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(DAY, time(hour, minute), tzinfo=UTC)


def order(order_id: int, site_id: int) -> WorkOrder:
    return WorkOrder(
        id=order_id,
        site_id=site_id,
        type=OrderType.REPAIR,
        priority=3,
        required_skills=frozenset({"gas"}),
        window=TimeWindow(at(9), at(12)),
        service_duration_s=1800,
    )


def monday(objective: Objective | None = None) -> DayProblem:
    """Ana starts from her last fix in Fontvieille and goes home to the casino; Bo starts and ends at Larvotto."""
    sites = {
        1: Site(1, "Condamine", "Rue Grimaldi", CONDAMINE),
        2: Site(2, "Larvotto", "Av. Princesse Grace", LARVOTTO),
    }
    workers = [
        make_worker(id=1, name="Ana Rossi", shifts=(EIGHT_TO_FOUR,), home_base=MONACO_CASINO),
        make_worker(id=2, name="Bo Lind", device_id="dev-2", shifts=(EIGHT_TO_FOUR,), home_base=LARVOTTO),
    ]
    return day_problem(DAY, [order(10, 1), order(11, 2)], sites, workers, {1: FONTVIEILLE}, StraightLine(), objective)


def planned(day: DayProblem) -> Plan:
    """Ana does both visits; Bo has none."""
    route = earliest_route(day.problem, day.problem.worker("1"), ["10", "11"])
    assert route is not None
    return Plan(routes=(route,), engine="test")


def test_with_the_problem_each_route_carries_the_shift_and_its_start_and_end_points() -> None:
    """Tests that Ana's route says her shift is 08:00-16:30 and that it starts at her fix and ends at home."""
    day = monday()
    route = plan_json(planned(day), DAY, NAMES, problem=day)["routes"][0]
    assert route["name"] == "Ana Rossi"
    assert route["shift_start"] == "2025-03-03T08:00:00+00:00"
    assert route["shift_end"] == "2025-03-03T16:30:00+00:00"
    assert route["start_location"] == {"lat": FONTVIEILLE.lat, "lon": FONTVIEILLE.lon}
    assert route["end_location"] == {"lat": MONACO_CASINO.lat, "lon": MONACO_CASINO.lon}


def test_without_the_problem_the_json_is_the_original_shape() -> None:
    """Tests that leaving out `problem` gives the routes exactly the original keys, and otherwise the same JSON."""
    day = monday()
    plan = planned(day)
    plain = plan_json(plan, DAY, NAMES)
    assert [set(r) for r in plain["routes"]] == [ROUTE_KEYS]
    rich = plan_json(plan, DAY, NAMES, problem=day)
    extra = ("shift_start", "shift_end", "start_location", "end_location")
    rich["routes"] = [{k: v for k, v in r.items() if k not in extra} for r in rich["routes"]]
    assert rich == plain


def test_a_route_of_a_worker_missing_from_the_problem_gets_no_shift() -> None:
    """Tests that a published route of a worker no longer in the day's problem keeps the original shape."""
    day = monday()
    plan = planned(day)
    gone = day.problem.without_workers(["1"])
    route = plan_json(plan, DAY, NAMES, problem=DayProblem(gone, DAY, day.points))["routes"][0]
    assert set(route) == ROUTE_KEYS


def test_a_problem_of_another_day_is_refused() -> None:
    """Tests that passing Tuesday's problem for Monday's plan is a ValueError naming `problem`."""
    day = monday()
    tuesday = DayProblem(day.problem, date(2025, 3, 4), day.points)
    with pytest.raises(ValueError, match="problem"):
        plan_json(planned(day), DAY, NAMES, problem=tuesday)


def test_a_plan_reads_back_the_same_from_either_shape() -> None:
    """Tests that `plan_from_json` gives the same routes, stops, breaks and unplanned from both shapes, each route
    with its leg back to its end location, so the plan read back drives as far and as long as the plan."""
    day = monday()
    plan = planned(day)
    plan = Plan(routes=plan.routes, unplanned=(Unplanned("12", UnplannedReason.NO_TIME),), engine="test")
    plain = plan_from_json(plan_json(plan, DAY, NAMES), DAY)
    rich = plan_from_json(plan_json(plan, DAY, NAMES, problem=day), DAY)
    assert rich == plain
    assert [r.stops for r in rich.routes] == [r.stops for r in plan.routes]
    assert [r.breaks for r in rich.routes] == [r.breaks for r in plan.routes]
    assert rich.unplanned == plan.unplanned
    # Each route whole, its leg back included: the plan read back drives what was planned.
    assert any(r.return_travel_s > 0 and r.return_distance_m > 0 for r in plan.routes)
    assert rich.routes == plan.routes
    assert (rich.travel_s, rich.distance_m) == (plan.travel_s, plan.distance_m)


def test_a_plan_says_its_schema_version_and_one_stored_before_versions_reads_the_same() -> None:
    """Tests that a plan document carries `schema_version` 2, and that the same document without the key (a plan
    stored before versions) reads back as the same plan."""
    day = monday()
    document = plan_json(planned(day), DAY, NAMES, problem=day)
    assert document["schema_version"] == PLAN_SCHEMA_VERSION == 2
    older = {k: v for k, v in document.items() if k != "schema_version"}
    assert plan_from_json(older, DAY) == plan_from_json(document, DAY)
    assert [r.stops for r in plan_from_json(older, DAY).routes] == [r.stops for r in planned(day).routes]


@pytest.mark.parametrize("version", [3, 0, "2", None])
def test_a_plan_of_a_version_this_server_does_not_know_is_refused_naming_the_field(version: object) -> None:
    """Tests that a document of a newer (or nonsense) schema version is refused naming `schema_version`, not misread."""
    document = {**plan_json(planned(monday()), DAY, NAMES), "schema_version": version}
    with pytest.raises(ValueError, match=r"^schema_version: .* not a plan version this server reads \(1\.\.2\)"):
        plan_from_json(document, DAY)


def test_the_manager_picks_what_to_minimise() -> None:
    """Tests that time, distance and their mix set the travel weights, balancing prices the busiest day, and an unknown goal is refused naming `minimise`."""
    assert (objective_for("time").per_travel_s, objective_for("time").per_distance_m) == (1.0, 0.0)
    assert (objective_for("distance").per_travel_s, objective_for("distance").per_distance_m) == (0.0, 1.0)
    assert (objective_for("mix").per_travel_s, objective_for("mix").per_distance_m) == (1.0, 0.1)
    assert objective_for("time").balance_per_s == 0 and objective_for("time", balance_workload=True).balance_per_s > 0
    with pytest.raises(ValueError, match="^minimise: 'fuel' is not one of time, distance, mix"):
        objective_for("fuel")
    assert monday(objective_for("distance")).problem.objective == objective_for("distance")
    assert monday().problem.objective == Objective()


MONACO = zone("Europe/Monaco")


def monaco_sunday(day: date) -> DayProblem:
    """One Monaco worker on shift 07:00-15:00 local that Sunday; one order 00:30-09:00 local."""
    shift = Shift(weekdays=(6,), start=time(7), end=time(15), zone=MONACO)
    worker = make_worker(id=1, name="Ana Rossi", shifts=(shift,), home_base=MONACO_CASINO)
    window = TimeWindow(
        datetime.combine(day, time(0, 30), tzinfo=MONACO), datetime.combine(day, time(9), tzinfo=MONACO)
    )
    early = WorkOrder(id=10, site_id=1, type=OrderType.REPAIR, priority=3, required_skills=frozenset({"gas"}),
                      window=window, service_duration_s=1800)  # fmt: skip
    sites = {1: Site(1, "Condamine", "Rue Grimaldi", CONDAMINE)}
    return day_problem(day, [early], sites, [worker], {}, StraightLine(), tz=MONACO)


def test_a_monaco_day_counts_real_seconds_from_local_midnight_on_the_days_the_clocks_change() -> None:
    """Tests that on 29 March 2026 (23 h) a 07:00 local shift starts 6 h after Monaco's midnight and on 25 October
    (25 h) 8 h after, an order from 00:30 local opens 30 min in, and 23:30 local on 25 October is 24.5 h in,
    not cut at 24 h."""
    spring, autumn = monaco_sunday(date(2026, 3, 29)), monaco_sunday(date(2026, 10, 25))
    assert (spring.problem.worker("1").shift_start_s, spring.problem.worker("1").shift_end_s) == (6 * 3600, 14 * 3600)
    assert (autumn.problem.worker("1").shift_start_s, autumn.problem.worker("1").shift_end_s) == (8 * 3600, 16 * 3600)
    assert spring.problem.visits[0].windows[0].start_s == 1800
    late = datetime.combine(date(2026, 10, 25), time(23, 30), tzinfo=MONACO)
    assert seconds_of(date(2026, 10, 25), late, MONACO) == 24 * 3600 + 1800


def test_a_local_days_plan_names_its_zone_writes_utc_offsets_and_reads_back_the_same() -> None:
    """Tests that a plan of a Monaco day says `timezone: Europe/Monaco`, its times are ISO 8601 with +00:00, and
    reading it back (by its own zone, or the office's) gives the same plan."""
    day = monaco_sunday(date(2026, 3, 29))
    route = earliest_route(day.problem, day.problem.worker("1"), ["10"])
    plan = Plan(routes=(route,), engine="test")
    document = plan_json(plan, day.day, NAMES, problem=day)
    assert document["timezone"] == "Europe/Monaco"
    assert document["routes"][0]["shift_start"] == "2026-03-29T05:00:00+00:00"
    for read in (plan_from_json(document, day.day), plan_from_json(document, day.day, MONACO)):
        assert [(r.start_s, r.stops, r.breaks) for r in read.routes] == [(route.start_s, route.stops, route.breaks)]
