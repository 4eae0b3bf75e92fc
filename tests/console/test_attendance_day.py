"""A worker's whole day through the push link and the managers' API (in-process app, real SQLite, fakeredis):
clocked in, two visits (one check-in missed and entered late, approved), the day's report, clocked out →
the expected timesheet; the webhooks reach a local receiver once each, signed."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import fakeredis
import pytest

from console.app import create_app
from console.webhook_worker import DeliveryContext, deliver
from data import orders_repo, positions_repo, sites_repo, users_repo, webhooks_repo, workers_repo
from data.db import make_engine, make_sessionmaker, session_scope
from data.migrate import migrate
from data.settings import Settings
from dispatch.access import Role
from dispatch.clock import ManualClock
from dispatch.geo import LatLon
from dispatch.lifecycle import transition
from dispatch.orders import OrderStatus, TimeWindow
from dispatch.positions import Position
from dispatch.reminders import ReminderSettings
from dispatch.webhooks import SIGNATURE_HEADER, verify
from dispatch.workers import Shift
from realtime.reminders import remind_once
from tests.support.field_day import A, B, H, offset

DAY = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday; the shift is 08:00-16:00 UTC
SECRET = "attendance-secret-0123456789"
EVENTS = ["late_entry.recorded", "late_entry.decided", "timesheet.approved"]


def at(hh: int, mm: int = 0) -> datetime:
    return DAY.replace(hour=hh, minute=mm)


class Receiver:
    """A local HTTP receiver recording every POST."""

    def __init__(self) -> None:
        self.requests: list[tuple[bytes, dict[str, str]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                receiver.requests.append((self.rfile.read(int(self.headers["Content-Length"])), dict(self.headers)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def day(tmp_path: Path):
    settings = replace(
        Settings.from_env(
            {"OUTFIELD_VAR": str(tmp_path), "SECRET_KEY": "test", "OUTFIELD_OSRM_DIR": str(tmp_path / "none"),
             "OUTFIELD_CLOCK_IN": "required"}
        ),
        redis_url="redis://127.0.0.1:9/0",
    )  # fmt: skip
    migrate(settings.database_url)
    clock = ManualClock(at(7, 0))
    outfield = create_app(settings, clock=clock)
    outfield.bus._redis = fakeredis.FakeRedis()  # noqa: SLF001 - unit test: no Redis server needed for this edge
    sessions = make_sessionmaker(make_engine(settings.database_url))
    receiver = Receiver()
    with session_scope(sessions) as session:
        worker = workers_repo.add_worker(
            session, name="Ana Day", device_id="ana-day", team="Centre", home_base=H,
            shifts=[Shift((0, 1, 2, 3, 4), time(8), time(16))],
        )  # fmt: skip
        orders = {}
        for letter, place, hour in (("A", A, 8), ("B", B, 10)):
            site = sites_repo.add_site(session, name=f"Site {letter}", location=place, geofence_radius_m=60)
            order = orders_repo.add_order(
                session, site_id=site.id, type="repair", priority=3, window=TimeWindow(at(hour), at(hour + 2)),
                service_duration_s=3600, created_at=at(6),
            )  # fmt: skip
            moved = transition(order, OrderStatus.ASSIGNED, actor=None, at=at(6), worker_id=worker.id)
            orders[letter] = orders_repo.save_change(session, moved.change).id  # type: ignore[union-attr]
        _, manager = users_repo.create_user(session, name="mia", role=Role.MANAGER)
        _, dispatcher = users_repo.create_user(session, name="dan", role=Role.DISPATCHER)
        webhooks_repo.add_webhook(session, url=receiver.url, events=EVENTS, secret=SECRET, created_by=None, at=at(6))
    client = outfield.server.test_client()
    link = client.post(
        f"/api/v1/workers/{worker.id}/push-link", json={"day": "2026-03-02"},
        headers={"Authorization": f"Bearer {dispatcher}"},
    ).get_json()  # fmt: skip
    yield {
        "client": client, "clock": clock, "sessions": sessions, "receiver": receiver, "worker_id": worker.id,
        "orders": orders, "token": link["token"], "manager": {"Authorization": f"Bearer {manager}"},
    }  # fmt: skip
    receiver.server.shutdown()


class FakeBus:
    def publish(self, channel: str, message: dict[str, Any]) -> None:
        pass


def act(d: dict[str, Any], action: str, *, order_id: int | None = None, **extra: Any) -> dict[str, Any]:
    """Send one action from the page's queue at the clock's time; its result."""
    item = {"client_action_id": f"{action}-{order_id}-{d['clock'].now().isoformat()}", "action": action,
            "order_id": order_id, "at": d["clock"].now().isoformat(), **extra}  # fmt: skip
    answer = d["client"].post(f"/api/v1/field/{d['token']}/actions", json={"actions": [item]})
    assert answer.status_code == 200, answer.get_json()
    (result,) = answer.get_json()["results"]
    return result


def fix(place: LatLon, when: datetime) -> dict[str, Any]:
    return {"lat": place.lat, "lon": place.lon, "accuracy_m": 8.0, "at": when.isoformat()}


def move_to(d: dict[str, Any], when: datetime) -> None:
    d["clock"].advance((when - d["clock"].now()).total_seconds())


def visit_a(d: dict[str, Any], a: int) -> None:
    """Order `a` accepted and set off for, checked in at A at 08:30 and out at 09:30 on the phone."""
    for step in ("accept", "en_route"):
        assert act(d, step, order_id=a)["status"] == "applied"
    move_to(d, at(8, 30))
    assert act(d, "check_in", order_id=a, location=fix(A, at(8, 30)))["order_status"] == "on_site"
    move_to(d, at(9, 30))
    assert act(d, "check_out", order_id=a, location=fix(A, at(9, 30)))["order_status"] == "done"


def timesheet(d: dict[str, Any]) -> dict[str, Any]:
    answer = d["client"].get("/api/v1/timesheets?from=2026-03-02&to=2026-03-02&format=json", headers=d["manager"])
    assert answer.status_code == 200, answer.get_json()
    (row,) = answer.get_json()["rows"]
    return row


def test_a_whole_day_gives_the_expected_timesheet_and_each_webhook_once(day: dict[str, Any]) -> None:
    """Tests the day: reminded at 08:05 that the shift began without a clock-in, clocked in 08:05 at home (verified), A checked in 08:30 and out 09:30 on the phone, B's
    check-in missed and entered late (10:00, with a reason) at 11:00 then checked out at 11:00, the day's report,
    clocked out 16:30. Before the manager approves the late entry B's hour does not count (60 min on site, one
    pending); after it: planned 480, worked 505 (08:05-16:30), on site 120, late start 5, overtime 25, no early
    leave; the timesheet is approved once (a second approval is 409) and the receiver got late_entry.recorded,
    late_entry.decided and timesheet.approved once each, every signature valid."""
    a, b = day["orders"]["A"], day["orders"]["B"]
    move_to(day, at(8, 5))
    bus = FakeBus()
    reminded = remind_once(sessions=day["sessions"], clock=day["clock"], bus=bus, settings=ReminderSettings(),  # type: ignore[arg-type]
                           uses_clock_in=True)  # fmt: skip
    assert [(m["kind"], m["text"]) for m in reminded] == [("clock_in", "Your shift began at 08:00: clock in?")]
    page = day["client"].get(f"/api/v1/field/{day['token']}/attendance").get_json()
    assert [r["text"] for r in page["reminders"]] == ["Your shift began at 08:00: clock in?"]
    clocked = act(day, "clock_in", location=fix(H, at(8, 5)))
    assert (clocked["status"], clocked["verdict"]) == ("applied", "verified")
    visit_a(day, a)
    for step in ("accept", "en_route"):
        assert act(day, step, order_id=b)["status"] == "applied"
    move_to(day, at(11, 0))
    late = act(day, "late_entry", order_id=b, kind="in", reason="no signal in the basement",
               **{"at": at(10, 0).isoformat()})  # fmt: skip
    assert (late["status"], late["order_status"]) == ("applied", "on_site")
    assert act(day, "check_out", order_id=b, location=fix(B, at(11, 0)))["order_status"] == "done"
    record = day["client"].get(f"/api/v1/work-orders/{b}/field-record", headers=day["manager"]).get_json()
    assert [(e["kind"], e["at"], e["status"]) for e in record["late_entries"]] == [
        ("in", at(10).isoformat(), "pending")
    ]
    history = day["client"].get(f"/api/v1/work-orders/{b}", headers=day["manager"]).get_json()["history"]
    assert [(h["to"], h["at"], h["source"]) for h in history if h["to"] == "on_site"] == [
        ("on_site", at(10).isoformat(), "late_entry")
    ]

    state = day["client"].get(f"/api/v1/field/{day['token']}/attendance").get_json()
    assert state["clock_in"] == "required" and state["clocked_in"]
    assert state["day_report_prefill"]["done"] == f"Site A (#{a})\nSite B (#{b})"
    assert [(e["kind"], e["status"], e["late_entry"]) for e in state["late_entries"]] == [("in", "pending", True)]

    move_to(day, at(16, 30))
    report = {"done": state["day_report_prefill"]["done"], "problems": "", "km": 4.5, "notes": "van tyre low"}
    assert act(day, "day_report", day_report=report)["status"] == "applied"
    assert act(day, "clock_out", location=fix(H, at(16, 30)))["status"] == "applied"

    move_to(day, at(18, 0))
    before = timesheet(day)
    assert (before["on_site_min"], before["late_entries_pending"], before["approved"]) == (60.0, 1, False)
    queue = day["client"].get("/api/v1/late-entries", headers=day["manager"]).get_json()["late_entries"]
    (entry,) = queue
    assert (entry["reason"], entry["site_name"], entry["order_id"]) == ("no signal in the basement", "Site B", b)
    detail = day["client"].get(f"/api/v1/late-entries/{entry['id']}", headers=day["manager"]).get_json()
    assert detail["site"]["name"] == "Site B" and detail["track"] == []
    decided = day["client"].post(f"/api/v1/late-entries/{entry['id']}/decision", headers=day["manager"],
                                 json={"decision": "approve", "note": "basement, known"})  # fmt: skip
    assert decided.status_code == 200 and decided.get_json()["status"] == "approved"
    again = day["client"].post(f"/api/v1/late-entries/{entry['id']}/decision", headers=day["manager"],
                               json={"decision": "approve"})  # fmt: skip
    assert again.status_code == 409

    reports = day["client"].get("/api/v1/day-reports?from=2026-03-02&to=2026-03-02&team=Centre",
                                headers=day["manager"]).get_json()["day_reports"]  # fmt: skip
    assert [(r["worker"], r["km"], r["notes"], r["order_ids"]) for r in reports] == [
        ("Ana Day", 4.5, "van tyre low", [a, b])
    ]

    move_to(day, at(23, 0) + timedelta(hours=2))  # the next day: the day is over and may be approved
    row = timesheet(day)
    expected = {"planned_min": 480.0, "worked_min": 505.0, "on_site_min": 120.0, "travel_min": 0.0,
                "break_min": 0.0, "overtime_min": 25.0, "late_start_min": 5.0, "early_leave_min": 0.0,
                "missing_clock_out": False, "visits": 2, "late_entries_pending": 0, "clock_check": "", "approved": False,
                "started_at": at(8, 5).isoformat(), "ended_at": at(16, 30).isoformat()}  # fmt: skip
    assert {k: row[k] for k in expected} == expected
    approve = {"worker_id": day["worker_id"], "day": "2026-03-02"}
    approved = day["client"].post("/api/v1/timesheets/approve", json=approve, headers=day["manager"])
    assert approved.status_code == 201 and approved.get_json()["approved_by"] == "mia"
    assert day["client"].post("/api/v1/timesheets/approve", json=approve, headers=day["manager"]).status_code == 409
    assert timesheet(day) == approved.get_json()
    # A clock-out sent afterwards for that day does not move the approved figures.
    assert act(day, "clock_out", **{"at": at(17, 0).isoformat()})["status"] == "applied"
    assert timesheet(day)["worked_min"] == 505.0

    context = DeliveryContext(sessions=day["sessions"], clock=day["clock"], queue=None, retry_base_s=30)  # type: ignore[arg-type]
    with session_scope(day["sessions"]) as session:
        pending = [i for i, _ in webhooks_repo.pending(session)]
    for delivery_id in pending * 2:  # every job run twice (a redelivered job): sent once
        deliver(context, delivery_id)
    received = day["receiver"].requests
    assert all(verify(SECRET, body, headers[SIGNATURE_HEADER]) for body, headers in received)
    events = [json.loads(body) for body, _ in received]
    assert sorted(e["type"] for e in events) == sorted(EVENTS)
    approved_event = next(e for e in events if e["type"] == "timesheet.approved")
    assert (approved_event["data"]["worked_min"], approved_event["data"]["worker_id"]) == (505.0, day["worker_id"])


def stand(d: dict[str, Any], place: LatLon, start: datetime, end: datetime) -> None:
    """The worker's phone reports `place` every minute from `start` to `end` (its track stands there)."""
    with session_scope(d["sessions"]) as session:
        when = start
        while when <= end:
            positions_repo.add_position(session, Position(d["worker_id"], "ana-day", when, when, when, place.lat,
                                                          place.lon, accuracy_m=8.0))  # fmt: skip
            when += timedelta(minutes=1)


def test_waiting_at_the_visits_site_is_worked_and_the_break_is_the_rest_away_from_it(day: dict[str, Any]) -> None:
    """Tests a day on the 08:00-16:00 shift (break window 10:40-13:20): clocked in 08:00 at home, A checked in 08:30
    and out 09:30, then standing at A until 12:50 (waiting there: on duty), a 15-min coffee 400 m away from every site
    at 13:00, home from 13:25 (after the window) until the clock-out at 16:00. The break is the coffee's 15 min, not
    30 min of the wait at A (a rest going on when the window opened); worked 8 h less 15 min. Before, every stop off a
    visit was a break: 200 min at A, the coffee, the afternoon at home."""
    a = day["orders"]["A"]
    cafe = offset(A, north_m=400)
    stand(day, H, at(8), at(8, 20))
    stand(day, A, at(8, 25), at(12, 50))
    stand(day, cafe, at(13), at(13, 15))
    stand(day, H, at(13, 25), at(16))
    move_to(day, at(8))
    assert act(day, "clock_in", location=fix(H, at(8)))["status"] == "applied"
    visit_a(day, a)
    move_to(day, at(16))
    assert act(day, "clock_out", location=fix(H, at(16)))["status"] == "applied"
    move_to(day, at(23, 0) + timedelta(hours=2))
    row = timesheet(day)
    assert (row["break_min"], row["worked_min"], row["on_site_min"]) == (15.0, 465.0, 60.0)


def test_csv_and_xlsx_timesheets_download_and_bad_input_is_refused_with_the_field(day: dict[str, Any]) -> None:
    """Tests the contract's formats (CSV header, XLSX zip), 4xx answers naming the field for each new endpoint,
    invalid attendance actions refused naming theirs (nothing stored), and a check-in before the required
    clock-in refused."""
    client, manager = day["client"], day["manager"]
    csv = client.get("/api/v1/timesheets?from=2026-03-02&to=2026-03-02&format=csv", headers=manager)
    assert csv.status_code == 200 and csv.data.decode().startswith("worker_id,worker,team,day,planned_min")
    xlsx = client.get("/api/v1/timesheets?from=2026-03-02&to=2026-03-02&format=xlsx", headers=manager)
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    bad = [
        ("get", "/api/v1/timesheets?from=2026-03-02", None, 400, "to"),
        ("get", "/api/v1/timesheets?from=2026-03-05&to=2026-03-02", None, 400, "to"),
        ("get", "/api/v1/timesheets?from=2026-03-02&to=2026-03-02&format=pdf", None, 400, "format"),
        ("get", "/api/v1/timesheets?from=2026-03-02&to=2026-03-02&worker_id=x", None, 400, "worker_id"),
        ("get", "/api/v1/late-entries?status=maybe", None, 400, "status"),
        ("get", "/api/v1/day-reports?from=2026-03-02&to=yesterday", None, 400, "to"),
        ("post", "/api/v1/late-entries/1/decision", {"decision": "perhaps"}, 400, "decision"),
        ("post", "/api/v1/late-entries/1/decision", {"decision": "reject", "note": " "}, 400, "note"),
        ("post", "/api/v1/timesheets/approve", {"worker_id": "one", "day": "2026-03-02"}, 400, "worker_id"),
        ("post", "/api/v1/timesheets/approve", {"worker_id": day["worker_id"], "day": "2026-13-01"}, 400, "day"),
        ("post", "/api/v1/timesheets/approve", {"worker_id": day["worker_id"], "day": "2026-03-02"}, 400, "day"),
    ]
    for method, url, body, status, field in bad:
        answer = getattr(client, method)(url, json=body, headers=manager)
        assert (answer.status_code, answer.get_json()["field"]) == (status, field), url
    assert client.get("/api/v1/late-entries/99", headers=manager).status_code == 404
    assert client.get("/api/v1/timesheets?from=2026-03-02&to=2026-03-02").status_code == 401

    a = day["orders"]["A"]
    refused = [
        (dict(action="late_entry", order_id=a, kind="in", reason=""), "reason"),
        (dict(action="late_entry", order_id=a, kind="in", reason="forgot", at="2026-03-02T09:00:00"), "at"),
        (dict(action="late_entry", order_id=a, kind="sideways", reason="forgot"), "kind"),
        (dict(action="day_report", day_report={"done": "", "problems": "", "notes": ""}), "done"),
        (dict(action="day_report", day_report={"done": "x", "km": -3}), "km"),
        (dict(action="day_report", day_report={"done": "x", "note": "the van's tyre"}), "day_report.note"),
        (dict(action="clock_in", location={"lat": "north"}), "location"),
        (dict(action="clock_in", location={"lat": 10**400, "lon": 7.42}), "location"),  # was "body"
        (dict(action="clock_in", location={"lat": 43.73, "lon": 7.42, "accuracy_m": "NaN"}), "location"),
    ]
    for extra, field in refused:
        result = act(day, **extra)  # type: ignore[arg-type]
        assert (result["status"], result["field"]) == ("invalid", field), extra
    state = client.get(f"/api/v1/field/{day['token']}/attendance").get_json()
    assert state["late_entries"] == [] and state["day_report"] is None and state["clock_events"] == []

    # The reminder switch and the phone's Web Push subscription.
    base = f"/api/v1/field/{day['token']}"
    assert client.post(f"{base}/reminders", json={"enabled": "no"}).get_json()["field"] == "enabled"
    assert client.post(f"{base}/reminders", json={"enabled": False}).status_code == 200
    assert client.get(f"{base}/attendance").get_json()["reminders_enabled"] is False
    key = client.get(f"{base}/push-key").get_json()["public_key"]
    assert len(key) == 87 and client.get(f"{base}/push-key").get_json()["public_key"] == key  # made once
    subscription = {"endpoint": "https://push.example/abc", "keys": {"p256dh": "BNc", "auth": "xyz"}}
    assert (
        client.post(f"{base}/push-subscription", json={**subscription, "endpoint": "http://x/1"}).get_json()["field"]
        == "endpoint"
    )
    assert client.post(f"{base}/push-subscription", json={**subscription, "keys": {}}).get_json()["field"] == "keys"
    refused = client.post(f"{base}/push-subscription", json={**subscription, "language": "fr"})
    assert refused.status_code == 400 and refused.get_json()["field"] == "language"
    assert client.post(f"{base}/push-subscription", json=subscription).status_code == 201
    assert client.post(f"{base}/push-subscription", json=subscription).status_code == 200

    # Clock-in is required here: a check-in before it is refused with the reason, and the order stays en route.
    day["clock"].advance(3600)
    for step in ("accept", "en_route"):
        assert act(day, step, order_id=a)["status"] == "applied"
    refused_check_in = act(day, "check_in", order_id=a, location=fix(A, day["clock"].now()))
    assert (refused_check_in["status"], refused_check_in["error"]) == (
        "refused", "clock in first: your organisation counts the shift from the clock-in",
    )  # fmt: skip
    # A clock-in 500 m from the home base (the Casino) is kept, and the timesheet says what was doubtful.
    assert act(day, "clock_in", location=fix(A, day["clock"].now()))["verdict"] == "outside_geofence"
    assert timesheet(day)["clock_check"].startswith("clock-in: ")
