"""The office's calendar day (Europe/Monaco), not UTC's, through the API of an in-process app (real SQLite,
fakeredis): a day's route plan and a worker's day page hold the orders of the local day, and timesheets count
local days, 23 and 25 hours long on the days the clocks change; times in the answers stay ISO 8601 with offsets."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import fakeredis
import pytest

from console.app import create_app
from data import attendance_repo, orders_repo, sites_repo, users_repo, workers_repo
from data.db import make_engine, make_sessionmaker, session_scope
from data.migrate import migrate
from data.settings import Settings
from dispatch.access import Role
from dispatch.clock import ManualClock
from dispatch.localtime import zone
from dispatch.orders import TimeWindow
from dispatch.workers import Shift
from tests.support.field_day import A, B, H
from tests.support.servers import wait_until

MONACO = zone("Europe/Monaco")


def local(day: date, hh: int, mm: int = 0) -> datetime:
    """A wall-clock time in Monaco as the UTC instant the database stores."""
    return datetime.combine(day, time(hh, mm), tzinfo=MONACO).astimezone(UTC)


@pytest.fixture
def office(tmp_path: Path) -> dict[str, Any]:
    settings = replace(
        Settings.from_env(
            {"OUTFIELD_VAR": str(tmp_path), "SECRET_KEY": "test", "OUTFIELD_OSRM_DIR": str(tmp_path / "none"),
             "OUTFIELD_TIMEZONE": "Europe/Monaco"}
        ),
        redis_url="redis://127.0.0.1:9/0",  # nothing listens there: plans run in this process
    )  # fmt: skip
    migrate(settings.database_url)
    clock = ManualClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    outfield = create_app(settings, clock=clock)
    outfield.bus._redis = fakeredis.FakeRedis()  # noqa: SLF001 - no Redis server needed for these edges
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with session_scope(sessions) as session:
        _, manager = users_repo.create_user(session, name="mia", role=Role.MANAGER, password="manager-pw")
    return {"client": outfield.server.test_client(), "sessions": sessions, "clock": clock,
            "manager": {"Authorization": f"Bearer {manager}"}}  # fmt: skip


def test_an_order_at_half_past_midnight_local_is_in_that_local_days_plan_and_day_page(office: dict[str, Any]) -> None:
    """Tests that an order whose window opens at 00:30 in Monaco (23:30 UTC the day before) is planned on its
    local day, not the UTC one, and shows on the worker's day page of that day once the plan is published; an
    order at 00:30 the next local day (still the same UTC day) is not in the plan."""
    tuesday, wednesday = date(2026, 3, 3), date(2026, 3, 4)
    with session_scope(office["sessions"]) as session:
        worker = workers_repo.add_worker(
            session, name="Nina Night", device_id="nina-night", home_base=H, timezone="Europe/Monaco",
            shifts=[Shift((1, 2), time(0), time(8))],
        )  # fmt: skip
        ids = []
        for name, place, day in (("Early", A, tuesday), ("Next day", B, wednesday)):
            site = sites_repo.add_site(session, name=name, location=place, geofence_radius_m=60)
            ids.append(orders_repo.add_order(
                session, site_id=site.id, type="repair", priority=3, service_duration_s=1800,
                window=TimeWindow(local(day, 0, 30), local(day, 3, 0)), created_at=office["clock"].now(),
            ).id)  # fmt: skip
    early, next_day = ids
    client, manager = office["client"], office["manager"]
    started = client.post("/api/v1/plans", json={"date": "2026-03-03", "seconds": 1}, headers=manager)
    assert started.status_code == 202, started.get_json()
    plan_id = started.get_json()["id"]
    wait_until(
        lambda: client.get(f"/api/v1/plans/{plan_id}", headers=manager).get_json()["status"] in ("done", "failed"),
        60, "the plan of 3 March to finish",
    )  # fmt: skip
    plan = client.get(f"/api/v1/plans/{plan_id}", headers=manager).get_json()
    assert plan["status"] == "done", plan["error"]
    (route,) = plan["plan"]["routes"]
    assert [s["order_id"] for s in route["stops"]] == [early]
    assert all(u["order_id"] != next_day for u in plan["plan"]["unplanned"])
    # ISO 8601 with the offset; 00:30 in Monaco (CET) is 23:30 UTC the day before, the shift starts at 23:00 UTC.
    assert route["stops"][0]["start"] == "2026-03-02T23:30:00+00:00"
    assert route["shift_start"] == "2026-03-02T23:00:00+00:00"
    assert plan["plan"]["timezone"] == "Europe/Monaco"
    published = client.post(f"/api/v1/plans/{plan_id}/publish", headers=manager)
    assert published.status_code == 200, published.get_json()
    day_page = client.get(f"/api/v1/workers/{worker.id}/plan-vs-actual?date=2026-03-03", headers=manager).get_json()
    assert day_page["plan_id"] == plan_id
    assert [v["order_id"] for v in day_page["visits"]] == [early]


def clock_event(session: Any, worker_id: int, kind: str, at: datetime) -> None:
    attendance_repo.add_clock_event(
        session, client_action_id=f"{kind}-{at.isoformat()}", worker_id=worker_id, kind=kind, at=at, location=None,
        accuracy_m=None, verdict="not_checked", verdict_reason="", created_at=at,
    )  # fmt: skip


def test_timesheets_count_local_days_and_the_real_hours_of_the_daylight_saving_sundays(office: dict[str, Any]) -> None:
    """Tests that a Monaco worker's Sunday shift 00:30-08:30 on the days the clocks change counts the hours that
    really pass (7 in March, 9 in October), planned and worked, and that `from`/`to` name local days: the clock-in
    at 00:30 local (22:30 or 23:30 UTC on Saturday) makes no Saturday row."""
    march, october = date(2026, 3, 29), date(2026, 10, 25)
    with session_scope(office["sessions"]) as session:
        worker = workers_repo.add_worker(
            session, name="Sam Sunday", device_id="sam-sunday", home_base=H, timezone="Europe/Monaco",
            shifts=[Shift((6,), time(0, 30), time(8, 30))],
        )  # fmt: skip
        for day in (march, october):
            clock_event(session, worker.id, "in", local(day, 0, 30))
            clock_event(session, worker.id, "out", local(day, 8, 30))
    client, manager = office["client"], office["manager"]

    def rows(start: str, end: str) -> list[dict[str, Any]]:
        answer = client.get(f"/api/v1/timesheets?from={start}&to={end}&format=json", headers=manager)
        assert answer.status_code == 200, answer.get_json()
        return [r for r in answer.get_json()["rows"] if r["worker_id"] == worker.id]

    (spring,) = rows("2026-03-28", "2026-03-29")
    assert (spring["day"], spring["planned_min"], spring["worked_min"]) == ("2026-03-29", 420.0, 420.0)
    assert spring["overtime_min"] == 0.0 and spring["late_start_min"] == 0.0
    assert spring["started_at"] == "2026-03-28T23:30:00+00:00"
    (autumn,) = rows("2026-10-24", "2026-10-25")
    assert (autumn["day"], autumn["planned_min"], autumn["worked_min"]) == ("2026-10-25", 540.0, 540.0)
    assert autumn["started_at"] == "2026-10-24T22:30:00+00:00" and autumn["ended_at"] == "2026-10-25T07:30:00+00:00"


def test_a_periods_timesheets_are_its_days_timesheets_with_events_on_the_local_midnights(
    office: dict[str, Any],
) -> None:
    """Tests that the timesheets of three days read together are the three days read one at a time, for an evening
    worker whose clock-out falls on local midnight (it starts the next day) and the day the clocks go forward in
    the middle: the period's clock events are read once and shared out by local day, as each day reads its own."""
    days = [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)]
    with session_scope(office["sessions"]) as session:
        worker = workers_repo.add_worker(
            session, name="Eve Evening", device_id="eve-evening", home_base=H, timezone="Europe/Monaco",
            shifts=[Shift(tuple(range(7)), time(16), time(23, 59))],
        )  # fmt: skip
        clock_event(session, worker.id, "in", local(days[0], 16))
        clock_event(session, worker.id, "out", local(days[1], 0))  # midnight: the 29th's
        clock_event(session, worker.id, "in", local(days[1], 16, 5))
        clock_event(session, worker.id, "out", local(days[1], 23, 59))
        clock_event(session, worker.id, "in", local(days[2], 15, 55))
        clock_event(session, worker.id, "out", local(days[2], 22))
    client, manager = office["client"], office["manager"]
    office["clock"].advance(31 * 86_400)  # 2 April: the three days are over

    def rows(start: date, end: date) -> list[dict[str, Any]]:
        answer = client.get(f"/api/v1/timesheets?from={start}&to={end}&format=json", headers=manager)
        assert answer.status_code == 200, answer.get_json()
        return [r for r in answer.get_json()["rows"] if r["worker_id"] == worker.id]

    period = rows(days[0], days[2])
    assert period == [row for day in days for row in rows(day, day)]
    assert [(r["day"], r["missing_clock_out"]) for r in period] == [
        ("2026-03-28", True), ("2026-03-29", False), ("2026-03-30", False)
    ]  # fmt: skip
    assert period[2]["worked_min"] == 365.0 and period[2]["late_start_min"] == 0.0


def test_the_day_page_and_the_plan_page_open_on_the_offices_today_after_utc_midnight_differs(
    office: dict[str, Any],
) -> None:
    """Tests that at 23:30 UTC on 2 March (00:30 on 3 March in Monaco) the day page opens on 3 March and the plan
    page, with nothing open to plan, on 4 March (tomorrow in Monaco), not on the UTC dates."""
    office["clock"].advance(11.5 * 3600)  # 23:30 UTC
    client = office["client"]
    assert client.post("/login", data={"name": "mia", "password": "manager-pw", "next": "/day/"}).status_code == 302
    assert picked_date(client.get("/day/_dash-layout").get_json(), "day-date") == "2026-03-03"
    assert picked_date(client.get("/plans/_dash-layout").get_json(), "plan-date") == "2026-03-04"


def picked_date(node: Any, picker_id: str) -> str | None:
    """The `date` of the date picker `picker_id` in a Dash layout (JSON), or None when there is none."""
    if isinstance(node, dict):
        props = node.get("props", {})
        if isinstance(props, dict) and props.get("id") == picker_id:
            return props.get("date")
        children = list(node.values())
    elif isinstance(node, list):
        children = node
    else:
        return None
    return next((d for d in (picked_date(c, picker_id) for c in children) if d is not None), None)


def test_a_full_day_or_a_leave_counts_only_for_orders_on_that_local_day(office: dict[str, Any]) -> None:
    """Tests that a worker with eight orders booked today (the most a day takes) is still a candidate for tomorrow's
    order and gets it in a batch while today's new order cannot go to them, and that a leave tomorrow excludes a worker
    from tomorrow's order only. Before, every open order of any day counted as today's ("day full: 11 of 8 orders
    booked" on the demo at night) and only today's leaves were read."""
    monday, tuesday = date(2026, 3, 2), date(2026, 3, 3)  # the clock: Monday 2 March, 13:00 in Monaco
    with session_scope(office["sessions"]) as session:
        _, admin = users_repo.create_user(session, name="ada", role=Role.ADMIN, password="admin-pw")
        shifts = [Shift(tuple(range(7)), time(0), time(23, 59))]
        busy = workers_repo.add_worker(session, name="Bea Busy", device_id="bea", home_base=H, shifts=shifts)
        away = workers_repo.add_worker(session, name="Ole Away", device_id="ole", home_base=H, shifts=shifts)
        workers_repo.add_leave(session, worker_id=away.id, start=tuesday, end=tuesday, reason="holiday")
        site = sites_repo.add_site(session, name="Casino", location=A, geofence_radius_m=60)

        def order(day: date, hh: int) -> int:
            return orders_repo.add_order(
                session, site_id=site.id, type="repair", priority=3, service_duration_s=600,
                window=TimeWindow(local(day, hh), local(day, hh + 1)), created_at=office["clock"].now(),
            ).id  # fmt: skip

        booked = [order(monday, 14 + k // 4) for k in range(8)]
        today, tomorrow = order(monday, 20), order(tuesday, 10)
    client, headers = office["client"], {"Authorization": f"Bearer {admin}"}
    for order_id in booked:
        r = client.post(f"/api/v1/work-orders/{order_id}/assign", json={"worker_id": busy.id, "reason": "booked"},
                        headers=headers)  # fmt: skip
        assert r.status_code == 200, r.get_json()

    def ranked(order_id: int) -> tuple[list[str], dict[str, str]]:
        body = client.get(f"/api/v1/work-orders/{order_id}/candidates", headers=headers).get_json()
        return [c["name"] for c in body["candidates"]], {e["name"]: e["reason"] for e in body["excluded"]}

    candidates, excluded = ranked(today)
    assert candidates == ["Ole Away"] and excluded == {"Bea Busy": "day full: 8 of 8 orders booked"}
    candidates, excluded = ranked(tomorrow)
    assert candidates == ["Bea Busy"] and excluded["Ole Away"] == "away until 2026-03-04 00:00 (holiday)"

    r = client.post("/api/v1/work-orders/batch-assign", json={"order_ids": [today, tomorrow]}, headers=headers)
    assert r.status_code == 200, r.get_json()
    assigned = {a["order_id"]: a["worker_id"] for a in r.get_json()["assigned"]}
    assert assigned == {today: away.id, tomorrow: busy.id}


def test_history_and_reports_open_on_the_last_seven_days_today_included(office: dict[str, Any]) -> None:
    """Tests that the history and reports open on the office's last seven days, today included (Tuesday 24 February to
    Monday 2 March on the clock's Monday), so today's orders are there on opening; before, they opened on the last
    whole week, empty on a day's orders until the dates were changed."""
    layout = office["client"].get("/reports/_dash-layout", headers=office["manager"]).get_json()
    dates: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("props", {})
            if isinstance(props, dict) and props.get("id") in ("hist-from", "hist-to", "rep-from", "rep-to"):
                dates[props["id"]] = props["value"]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(layout)
    assert dates == {
        "hist-from": "2026-02-24",
        "hist-to": "2026-03-02",
        "rep-from": "2026-02-24",
        "rep-to": "2026-03-02",
    }
