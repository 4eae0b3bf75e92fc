"""The simulated staff acting out their days against a field API (an in-memory fake here; the real
server in tests/integration/test_demo_simulator.py), driven by a manual clock."""

from __future__ import annotations

import itertools
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dispatch.clock import ManualClock
from dispatch.geo import LatLon, haversine_m
from dispatch.orders import OrderStatus, can_transition
from realtime.sim_field import DayOrder
from realtime.sim_staff import Failure, FieldStaff
from realtime.simulator import Report, Simulator, SimWorker
from routing.travel import StraightLine
from tests.routing.network import CRUISE_TERMINAL, POST_OFFICE_CONDAMINE, POUND_FONTVIEILLE, SITES

START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
S = OrderStatus
ACTIONS = {"accept": S.ACCEPTED, "en_route": S.EN_ROUTE, "check_in": S.ON_SITE, "check_out": S.DONE}


@dataclass
class FakeOrder:
    id: int
    worker_id: int | None
    site: LatLon
    status: OrderStatus = S.ASSIGNED
    service_s: float = 1200


@dataclass
class FakeFieldApi:
    """The field API's rules in small: links per worker and day, days in list order, actions applied once by id
    through the lifecycle table, refused for orders not assigned to the link's worker."""

    orders: list[FakeOrder]
    actions_down: bool = False
    seen: set[str] = field(default_factory=set)
    applied: list[dict[str, Any]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    zone: tzinfo = UTC
    link_days: list[date] = field(default_factory=list)
    clocked: bool = False

    def clocked_in(self, token: str) -> bool | Failure:
        self.calls.append("attendance")
        return self.clocked

    def office_zone(self) -> tzinfo | Failure:
        self.calls.append("zone")
        return self.zone

    def issue_link(self, worker_id: int, day: date) -> str | Failure:
        self.calls.append("link")
        self.link_days.append(day)
        return f"{worker_id}:{day.isoformat()}"

    def read_day(self, token: str) -> tuple[DayOrder, ...] | Failure:
        self.calls.append("day")
        worker_id = int(token.split(":")[0])
        return tuple(
            DayOrder(o.id, o.status, "repair", o.site, 50.0, o.service_s, ("Fault found",))
            for o in self.orders
            if o.worker_id == worker_id and o.status is not S.CANCELLED
        )

    def send_actions(self, token: str, items: Sequence[dict[str, Any]]) -> list[dict[str, Any]] | Failure:
        self.calls.append("actions")
        if self.actions_down:
            return Failure(None, "server not reachable")
        worker_id = int(token.split(":")[0])
        results = []
        for item in items:
            cid = item["client_action_id"]
            if cid in self.seen:
                results.append({"client_action_id": cid, "status": "duplicate"})
                continue
            self.seen.add(cid)
            if item["action"] in ("clock_in", "clock_out"):
                self.clocked = item["action"] == "clock_in"
                self.applied.append(item)
                results.append({"client_action_id": cid, "status": "applied"})
                continue
            order = next(o for o in self.orders if o.id == item["order_id"])
            to = ACTIONS.get(item["action"])
            if order.worker_id != worker_id:
                results.append({"client_action_id": cid, "status": "refused", "error": "not assigned to you"})
            elif to is None:  # the report
                self.applied.append(item)
                results.append({"client_action_id": cid, "status": "applied"})
            elif not can_transition(order.status, to):
                results.append({"client_action_id": cid, "status": "refused", "error": f"cannot become {to.value}"})
            else:
                order.status = to
                self.applied.append(item)
                results.append({"client_action_id": cid, "status": "applied", "order_status": to.value})
        return results


class Run:
    """A simulator with its field staff, stepped by a manual clock as `sim_main.run` does each tick."""

    def __init__(
        self, api: FakeFieldApi, workers: dict[str, LatLon], seed: int = 0, poll_s: float = 60, start: datetime = START,
        on_shift: Any = None,
    ) -> None:  # fmt: skip
        self.api = api
        self.clock = ManualClock(start)
        self.sim = Simulator(
            [SimWorker(d, home) for d, home in workers.items()], SITES, StraightLine(), random.Random(seed), start
        )
        ids = itertools.count(1)
        self.staff = FieldStaff(
            api=api, simulator=self.sim, worker_ids={d: i + 1 for i, d in enumerate(workers)}, start=start,
            poll_s=poll_s, new_id=lambda: f"act-{next(ids)}", on_shift=on_shift,
        )  # fmt: skip
        self.fixes: dict[str, Report] = {}

    def tick(self, seconds: float = 5.0) -> None:
        now = self.clock.advance(seconds)
        self.fixes.update((r.device_id, r) for r in self.sim.step(now))
        self.staff.tick(now, self.fixes)

    def until(self, condition: Any, max_s: float = 4 * 3600) -> None:
        waited = 0.0
        while not condition():
            assert waited < max_s, "the simulated worker never got there"
            self.tick()
            waited += 5.0

    def applied(self) -> list[tuple[str, int]]:
        return [(a["action"], a.get("order_id")) for a in self.api.applied]


def test_a_worker_works_their_orders_in_route_order_through_the_field_api() -> None:
    """Tests that a worker accepts, sets off, checks in at the site, stays the service time and completes (with a
    report) each of their orders in the day's order, then drives around again."""
    api = FakeFieldApi([FakeOrder(8, 1, POUND_FONTVIEILLE, service_s=900), FakeOrder(5, 1, CRUISE_TERMINAL)])
    run = Run(api, {"sim-1": POST_OFFICE_CONDAMINE})
    run.until(lambda: all(o.status is S.DONE for o in api.orders))
    assert run.applied() == [
        ("accept", 8), ("en_route", 8), ("check_in", 8), ("report", 8), ("check_out", 8),
        ("accept", 5), ("en_route", 5), ("check_in", 5), ("report", 5), ("check_out", 5),
    ]  # fmt: skip
    by_action = {(a["action"], a["order_id"]): a for a in api.applied}
    for order in api.orders:
        check_in = by_action[("check_in", order.id)]
        evidence = LatLon(check_in["location"]["lat"], check_in["location"]["lon"])
        assert haversine_m(evidence, order.site) < 15.0  # GPS-verified: the fix at the site itself
        on_site_s = (
            datetime.fromisoformat(by_action[("check_out", order.id)]["at"]) - datetime.fromisoformat(check_in["at"])
        ).total_seconds()
        assert order.service_s <= on_site_s < order.service_s + 60
    assert by_action[("report", 8)]["at"] == by_action[("check_out", 8)]["at"]
    # Off again: the next drive leaves the last site.
    run.until(lambda: run.fixes["sim-1"].speed_mps > 0, max_s=3600)


def test_a_worker_clocks_in_as_the_shift_begins_and_out_once_the_visit_running_past_its_end_is_done() -> None:
    """Tests that a worker whose shift runs from 08:10 to 08:40 clocks in once at 08:10 (not before), with their fix as
    evidence, and clocks out after checking out of a 50-minute visit that runs past 08:40, not in the middle of it."""
    shift = (START.replace(minute=10), START.replace(minute=40))
    api = FakeFieldApi([FakeOrder(8, 1, POUND_FONTVIEILLE, service_s=3000)])
    run = Run(api, {"sim-1": POST_OFFICE_CONDAMINE}, on_shift=lambda device, at: shift[0] <= at < shift[1])
    run.until(lambda: api.clocked)
    clock_in = next(a for a in api.applied if a["action"] == "clock_in")
    assert shift[0] <= datetime.fromisoformat(clock_in["at"]) < shift[0] + timedelta(seconds=10)
    assert set(clock_in["location"]) == {"lat", "lon", "accuracy_m"}
    run.until(lambda: not api.clocked)
    assert [a for a, _ in run.applied()].count("clock_in") == 1
    assert run.applied()[-3:] == [("report", 8), ("check_out", 8), ("clock_out", None)]
    assert datetime.fromisoformat(api.applied[-1]["at"]) > shift[1]


def test_a_worker_drives_the_road_route_to_the_order_and_reports_on_the_way() -> None:
    """Tests that between "en route" and check-in the worker's fixes move towards the site, at driving speed."""
    api = FakeFieldApi([FakeOrder(1, 1, POUND_FONTVIEILLE)])
    run = Run(api, {"sim-1": CRUISE_TERMINAL})
    run.until(lambda: api.orders[0].status is S.EN_ROUTE)
    distances = []
    while api.orders[0].status is S.EN_ROUTE:
        run.tick()
        here = run.fixes["sim-1"]
        distances.append((haversine_m(LatLon(here.latitude, here.longitude), POUND_FONTVIEILLE), here.speed_mps))
    moving = [d for d, speed in distances if speed > 0]
    assert len(moving) > 10
    assert moving == sorted(moving, reverse=True)
    assert api.orders[0].status is S.ON_SITE


def test_a_worker_without_orders_drives_around_as_before() -> None:
    """Tests that a worker with an empty day sends no actions and moves exactly as the plain simulator does."""
    api = FakeFieldApi([])
    run = Run(api, {"sim-1": CRUISE_TERMINAL, "sim-2": POUND_FONTVIEILLE}, seed=3)
    plain = Simulator(
        [SimWorker("sim-1", CRUISE_TERMINAL), SimWorker("sim-2", POUND_FONTVIEILLE)],
        SITES, StraightLine(), random.Random(3), START,
    )  # fmt: skip
    reports: list[Report] = []
    for _ in range(360):
        run.tick()
        reports.extend(plain.step(run.clock.now()))
    assert api.applied == [] and "actions" not in api.calls
    assert run.fixes == {r.device_id: r for r in reports}
    assert api.calls.count("day") <= 2 * (360 * 5 / 60 + 1)  # one read a minute each, at most


def test_an_order_taken_away_mid_drive_is_dropped_and_the_worker_carries_on(caplog: pytest.LogCaptureFixture) -> None:
    """Tests that when the dispatcher reassigns the order a worker is driving to, their refused check-in makes them
    re-read their day, go on to their next order, and nothing raises or logs a coordinate."""
    caplog.set_level(logging.DEBUG)
    api = FakeFieldApi([FakeOrder(1, 1, POUND_FONTVIEILLE), FakeOrder(2, 1, CRUISE_TERMINAL)])
    run = Run(api, {"sim-1": POST_OFFICE_CONDAMINE}, poll_s=3600)  # no periodic re-read before arrival
    run.until(lambda: api.orders[0].status is S.EN_ROUTE)
    api.orders[0].worker_id, api.orders[0].status = 99, S.ASSIGNED  # reassigned meanwhile
    run.until(lambda: api.orders[1].status is S.DONE)
    assert ("check_in", 1) not in run.applied()
    assert run.applied()[-5:] == [("accept", 2), ("en_route", 2), ("check_in", 2), ("report", 2), ("check_out", 2)]
    assert "refused" in caplog.text and "not assigned to you" in caplog.text
    for r in run.fixes.values():
        assert f"{r.latitude:.4f}" not in caplog.text and f"{r.longitude:.4f}" not in caplog.text
    assert f"{POUND_FONTVIEILLE.lat:.4f}" not in caplog.text


def test_actions_unsent_while_the_server_is_down_go_later_with_the_same_ids_and_times() -> None:
    """Tests that an action that could not be sent is resent unchanged (id and phone time), so a replay is harmless,
    and that the worker decides nothing new until it went through."""
    api = FakeFieldApi([FakeOrder(1, 1, POUND_FONTVIEILLE)], actions_down=True)
    run = Run(api, {"sim-1": CRUISE_TERMINAL})
    for _ in range(120):  # ten minutes in which no action gets through
        run.tick()
    assert api.applied == [] and api.calls.count("actions") > 1
    api.actions_down = False
    run.until(lambda: api.orders[0].status is S.DONE)
    accept = api.applied[0]
    assert (accept["action"], accept["client_action_id"], accept["at"]) == (
        "accept",
        "act-1",
        "2025-03-03T08:00:05+00:00",
    )
    ids = [a["client_action_id"] for a in api.applied]
    assert ids == ["act-1", "act-2", "act-3", "act-4", "act-5"]


def test_a_replayed_run_sends_the_same_actions_at_the_same_times() -> None:
    """Tests that the same seed, clock steps and ids give the same actions, times and check-in fixes."""

    def actions() -> list[dict[str, Any]]:
        api = FakeFieldApi([FakeOrder(1, 1, POUND_FONTVIEILLE), FakeOrder(2, 2, CRUISE_TERMINAL)])
        run = Run(api, {"sim-1": POST_OFFICE_CONDAMINE, "sim-2": POUND_FONTVIEILLE}, seed=4)
        run.until(lambda: all(o.status is S.DONE for o in api.orders))
        return api.applied

    assert actions() == actions()


def test_links_are_asked_for_the_offices_local_day_as_the_server_names_its_zone() -> None:
    """Tests that at 22:50 UTC on 3 March (23:50 in Monaco) a worker asks for 3 March's link, and twenty minutes
    later (00:10 on 4 March in Monaco, still the 3rd in UTC) for 4 March's: the office's day, with the zone
    asked of the server once."""
    api = FakeFieldApi([], zone=ZoneInfo("Europe/Monaco"))
    run = Run(api, {"sim-1": POST_OFFICE_CONDAMINE}, start=datetime(2025, 3, 3, 22, 50, tzinfo=UTC))
    run.until(lambda: api.link_days == [date(2025, 3, 3)], max_s=120)
    run.until(lambda: len(api.link_days) == 2, max_s=1800)
    assert api.link_days == [date(2025, 3, 3), date(2025, 3, 4)]
    assert run.clock.now() < datetime(2025, 3, 4, tzinfo=UTC)
    assert api.calls.count("zone") == 1
