"""The simulated worker's decisions: given their day, their phone's fix and `now`, what they do next."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from dispatch.clock import ManualClock
from dispatch.forms import checklist_form
from dispatch.geo import LatLon
from dispatch.orders import OrderStatus
from realtime.sim_field import (
    DayOrder,
    Memory,
    Move,
    MoveKind,
    action_items,
    clock_items,
    decide,
    parse_day,
    simulated_answers,
)
from realtime.simulator import Report
from tests.routing.network import CRUISE_TERMINAL, POST_OFFICE_CONDAMINE, POUND_FONTVIEILLE

START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
S = OrderStatus


def order(order_id: int, status: OrderStatus, site: LatLon = CRUISE_TERMINAL, service_s: float = 1800) -> DayOrder:
    return DayOrder(order_id, status, "repair", site, 50.0, service_s, 7, checklist_form("repair", CHECKLIST))


CHECKLIST = ("Fault found", "Tested after repair")


def fix(at: LatLon, speed_mps: float = 0.0, north_m: float = 0.0) -> Report:
    return Report("sim-1", START, round(at.lat + north_m / 111_195, 6), at.lon, speed_mps, 0.0, 6.0, 80.0)


def test_an_assigned_order_is_accepted_first_then_the_worker_sets_off_for_it() -> None:
    """Tests that a newly assigned order is accepted, and an accepted one is set off for (en route) and driven to."""
    move, memory = decide([order(1, S.ASSIGNED)], None, Memory(), START)
    assert move == Move(MoveKind.ACCEPT, order(1, S.ASSIGNED)) and memory == Memory()
    move, memory = decide([order(1, S.ACCEPTED)], None, memory, START)
    assert move.kind is MoveKind.SET_OFF and memory.heading_to == 1


def test_an_accepted_order_is_set_off_for_20_minutes_before_its_window_opens_on_the_offices_clock() -> None:
    """Tests that a worker given an order for later in the day sets off 20 minutes before its window opens, not at
    once, judged on the office's clock (`clock_now`, behind a sped-up demo's time): until then they drive around,
    so a day handed out ahead lasts until its windows and nobody arrives hours early."""
    later = replace(order(1, S.ACCEPTED), window_start=START + timedelta(hours=2))
    move, memory = decide([later], None, Memory(heading_to=9), START + timedelta(hours=5), clock_now=START)
    assert (move, memory) == (Move(MoveKind.WANDER), Memory())
    assert decide([later], None, memory, START + timedelta(hours=5), clock_now=START)[0] == Move(MoveKind.WAIT)
    almost = START + timedelta(hours=1, minutes=39, seconds=59)
    assert decide([later], None, memory, almost, clock_now=almost)[0] == Move(MoveKind.WAIT)
    move, memory = decide([later], None, memory, almost, clock_now=almost + timedelta(seconds=1))
    assert move == Move(MoveKind.SET_OFF, later) and memory.heading_to == 1


def test_orders_are_worked_in_route_order_not_by_id() -> None:
    """Tests that the worker takes the first open order of the day as the server lists it (the route order)."""
    day = [order(1, S.DONE), order(7, S.ASSIGNED), order(3, S.ASSIGNED)]
    assert decide(day, None, Memory(), START)[0].order == order(7, S.ASSIGNED)


def test_work_under_way_comes_before_the_next_order_in_the_list() -> None:
    """Tests that an order on site (or else en route) is finished before an earlier-listed order is started."""
    on_site = [order(1, S.ASSIGNED), order(2, S.EN_ROUTE), order(3, S.ON_SITE)]
    assert decide(on_site, None, Memory(), START)[0].order == order(3, S.ON_SITE)
    en_route = [order(1, S.ACCEPTED), order(2, S.EN_ROUTE)]
    assert decide(en_route, None, Memory(heading_to=2), START)[0].order == order(2, S.EN_ROUTE)


def test_the_worker_checks_in_only_standing_inside_the_geofence() -> None:
    """Tests that check-in waits until the phone's fix stands still within the site's geofence (GPS-verified)."""
    day = [order(1, S.EN_ROUTE, site=CRUISE_TERMINAL)]
    heading = Memory(heading_to=1)
    assert decide(day, fix(POST_OFFICE_CONDAMINE), heading, START)[0].kind is MoveKind.WAIT  # still far away
    assert decide(day, fix(CRUISE_TERMINAL, speed_mps=8.0), heading, START)[0].kind is MoveKind.WAIT  # driving through
    assert decide(day, fix(CRUISE_TERMINAL, north_m=80.0), heading, START)[0].kind is MoveKind.WAIT  # 80 m > 50 m
    move, memory = decide(day, fix(CRUISE_TERMINAL, north_m=8.0), heading, START)
    assert move.kind is MoveKind.CHECK_IN
    assert memory == Memory(heading_to=1, working=(1, START))


def test_the_worker_stays_on_site_for_the_service_duration_then_completes() -> None:
    """Tests that with a manual clock, completion comes once the order's service time has passed, not before."""
    clock = ManualClock(START)
    day = [order(1, S.ON_SITE, service_s=1800)]
    memory = Memory(heading_to=1, working=(1, clock.now()))
    clock.advance(1799)
    assert decide(day, fix(CRUISE_TERMINAL), memory, clock.now())[0].kind is MoveKind.WAIT
    clock.advance(1)
    assert decide(day, fix(CRUISE_TERMINAL), memory, clock.now())[0] == Move(MoveKind.COMPLETE, day[0])


def test_an_on_site_order_without_a_remembered_start_counts_from_now_at_its_site() -> None:
    """Tests that after a restart (or an office check-in, or the demo's seeded morning) the service time is counted
    from when the worker saw it, and they are sent to the site to stay (left wandering, they drove off and the wall
    screen said "left the site without checking out"), reporting nothing new."""
    day = [order(1, S.ON_SITE, service_s=600)]
    move, memory = decide(day, fix(CRUISE_TERMINAL), Memory(), START)
    assert move == Move(MoveKind.DRIVE, day[0]) and memory.working == (1, START)
    assert action_items(move, fix=None, at=START, new_id=lambda: "x") == []
    assert decide(day, fix(CRUISE_TERMINAL), memory, START + timedelta(seconds=1))[0].kind is MoveKind.WAIT
    assert decide(day, None, memory, START + timedelta(seconds=600))[0].kind is MoveKind.COMPLETE


def test_an_order_en_route_but_not_driven_to_is_driven_to_without_reporting_again() -> None:
    """Tests that a worker who does not remember heading to their en-route order drives there (no new action)."""
    move, memory = decide([order(1, S.EN_ROUTE)], fix(POUND_FONTVIEILLE), Memory(), START)
    assert move.kind is MoveKind.DRIVE and memory.heading_to == 1
    assert action_items(move, fix=None, at=START, new_id=lambda: "x") == []


def test_with_nothing_left_to_do_the_worker_leaves_the_site_and_drives_around() -> None:
    """Tests that after the last order (or when it is taken away) the worker wanders once, then just carries on."""
    day = [order(1, S.DONE), order(2, S.CANCELLED), order(3, S.FAILED), order(4, S.DECLINED)]
    move, memory = decide(day, None, Memory(heading_to=1, working=(1, START)), START)
    assert move == Move(MoveKind.WANDER) and memory == Memory()
    assert decide(day, None, memory, START)[0] == Move(MoveKind.WAIT)
    assert decide([], None, Memory(), START)[0] == Move(MoveKind.WAIT)


def test_actions_carry_fresh_ids_the_phone_time_and_the_check_in_fix() -> None:
    """Tests the field API actions: one id each, the given time, the fix as check-in evidence, report before check-out."""
    ids = (f"id-{n}" for n in itertools.count(1))
    at = START + timedelta(minutes=5)
    accept = action_items(Move(MoveKind.ACCEPT, order(4, S.ASSIGNED)), fix=None, at=at, new_id=lambda: next(ids))
    assert accept == [{"client_action_id": "id-1", "order_id": 4, "action": "accept", "at": at.isoformat()}]
    here = fix(CRUISE_TERMINAL, north_m=5.0)
    check_in = action_items(Move(MoveKind.CHECK_IN, order(4, S.EN_ROUTE)), fix=here, at=at, new_id=lambda: next(ids))
    assert check_in[0]["action"] == "check_in" and check_in[0]["client_action_id"] == "id-2"
    assert check_in[0]["location"] == {"lat": here.latitude, "lon": here.longitude, "accuracy_m": 6.0}
    done = action_items(Move(MoveKind.COMPLETE, order(4, S.ON_SITE)), fix=here, at=at, new_id=lambda: next(ids))
    assert [(a["action"], a["client_action_id"]) for a in done] == [("report", "id-3"), ("check_out", "id-4")]
    assert done[1]["location"] == check_in[0]["location"]
    assert (done[0]["report"]["form_id"], done[0]["report"]["form_version"]) == (7, 1)
    assert done[0]["report"]["answers"] == {"fault_found": True, "tested_after_repair": True}
    assert done[0]["report"]["text"]
    assert action_items(Move(MoveKind.WAIT, order(4, S.ON_SITE)), fix=here, at=at, new_id=lambda: next(ids)) == []


def test_parse_day_reads_the_push_link_day_and_names_a_bad_field() -> None:
    """Tests that the day endpoint's orders become DayOrders in the order given, and a malformed one is named."""
    body = {
        "orders": [
            {"id": 12, "status": "accepted", "type": "visit", "service_minutes": 20,
             "window_start": "2025-03-03T09:00:00+01:00",
             "form": {"id": 4, "version": 2, "name": "Visit", "fields": [
                 {"id": "met", "label": "Met the customer", "type": "checkbox", "required": True},
                 {"id": "mood", "label": "Mood", "type": "choice", "choices": ["good", "bad"]}]},
             "site": {"name": "x", "lat": 43.73, "lon": 7.42, "geofence_radius_m": 50.0}},
            {"id": 3, "status": "assigned", "type": "repair", "service_minutes": 45, "form": None,
             "site": {"name": "y", "lat": 43.74, "lon": 7.43, "geofence_radius_m": 75.0}},
        ]
    }  # fmt: skip
    day = parse_day(body)
    assert [(o.id, o.status, o.service_s, o.geofence_radius_m) for o in day] == [
        (12, S.ACCEPTED, 1200.0, 50.0),
        (3, S.ASSIGNED, 2700.0, 75.0),
    ]
    assert (day[0].window_start, day[1].window_start) == (START, None)
    assert day[0].site == LatLon(43.73, 7.42) and day[0].form_id == 4 and day[0].form is not None
    assert (day[0].form.version, [f.label for f in day[0].form.fields]) == (2, ["Met the customer", "Mood"])
    assert simulated_answers(day[0].form) == {"met": True, "mood": "good"} and day[1].form is None
    with pytest.raises(ValueError, match=r"orders\[1\]"):
        parse_day({"orders": [body["orders"][0], {"id": 5, "status": "assigned"}]})
    with pytest.raises(ValueError, match="orders"):
        parse_day({"error": "link expired"})


def test_the_clock_moves_of_a_worker_follow_their_shift_and_wait_for_the_visit_under_way() -> None:
    """Tests that a worker on shift and not clocked in clocks in, one off shift still clocked in clocks out unless a
    visit is under way (a visit does not hold back a clock-in), and that nothing is sent while it is not known whether they are clocked in."""
    ids = itertools.count()

    def moves(on_shift: bool, clocked_in: bool | None, busy: bool = False) -> list[str]:
        items = clock_items(on_shift=on_shift, clocked_in=clocked_in, busy=busy, fix=fix(CRUISE_TERMINAL), at=START,
                            new_id=lambda: f"c{next(ids)}")  # fmt: skip
        return [i["action"] for i in items]

    assert moves(True, False) == ["clock_in"] and moves(False, True) == ["clock_out"]
    assert moves(True, True) == moves(False, False) == moves(True, None) == []
    assert moves(False, True, busy=True) == [] and moves(True, False, busy=True) == ["clock_in"]
