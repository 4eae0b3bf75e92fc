"""A reminder round against a real database: near an accepted order's site without a check-in, the worker is
reminded once, on the page (the bus), by Web Push (encrypted for the phone's keys, read back here as the phone
would) or, without a subscription, by the webhook; not again next round, not when switched off."""

from __future__ import annotations

import base64
import json
import os
import threading
from datetime import UTC, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from data import field_repo, orders_repo, plans_repo, positions_repo, reminders_repo, sites_repo, workers_repo
from data.db import make_sessionmaker, session_scope
from dispatch.clock import ManualClock
from dispatch.geo import LatLon
from dispatch.lifecycle import transition
from dispatch.localtime import zone
from dispatch.orders import OrderStatus, TimeWindow
from dispatch.positions import Position
from dispatch.reminders import ReminderSettings
from dispatch.workers import Shift
from realtime.reminders import remind_once, worker_days
from realtime.web_push import WebPush, vapid_keys

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CASINO = LatLon(43.7394, 7.4276)


class FakeBus:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []

    def publish(self, channel: str, message: dict[str, Any]) -> None:
        self.published.append((channel, message))


class PushService:
    """A push service on localhost keeping what it is sent; `phone_key`/`auth` decrypt it as the phone would."""

    def __init__(self) -> None:
        self.phone_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.bodies: list[tuple[bytes, dict[str, str]]] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                service.bodies.append(
                    (
                        self.rfile.read(int(self.headers["Content-Length"])),
                        {k.lower(): v for k, v in self.headers.items()},
                    )
                )
                self.send_response(201)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def subscription(self) -> dict[str, Any]:
        def b64(raw: bytes) -> str:
            return base64.urlsafe_b64encode(raw).decode().rstrip("=")

        point = self.phone_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return {"endpoint": f"http://127.0.0.1:{self.server.server_address[1]}/push/1",
                "keys": {"p256dh": b64(point), "auth": b64(self.auth)}}  # fmt: skip

    def read(self, body: bytes) -> dict[str, Any]:
        return json.loads(
            http_ece.decrypt(body, private_key=self.phone_key, auth_secret=self.auth, version="aes128gcm")
        )


def phone_in_chinese(sessions: Any, worker_id: int) -> PushService:
    """A push service for a phone of `worker_id` subscribed from a page in Chinese (shut it down when done)."""
    chinese = PushService()
    with session_scope(sessions) as session:
        reminders_repo.add_subscription(session, worker_id=worker_id, at=NOW,
                                        subscription={**chinese.subscription(), "language": "zh_CN"})  # fmt: skip
    return chinese


@pytest.fixture
def world(db_engine):
    sessions = make_sessionmaker(db_engine)
    with session_scope(sessions) as session:
        site = sites_repo.add_site(session, name="Casino de Monte-Carlo", location=CASINO, geofence_radius_m=60)
        ids = {}
        for name in ("Ana", "Ben"):
            worker = workers_repo.add_worker(session, name=name, device_id=f"r-{name}",
                                             shifts=[Shift((0, 1, 2, 3, 4), time(8), time(16))])  # fmt: skip
            order = orders_repo.add_order(
                session, site_id=site.id, type="repair", priority=3, service_duration_s=1800, created_at=NOW,
                window=TimeWindow(NOW, NOW + timedelta(hours=2)),
            )  # fmt: skip
            for to in (OrderStatus.ASSIGNED, OrderStatus.ACCEPTED):
                moved = transition(order, to, actor=None if to is OrderStatus.ASSIGNED else field_repo.actor_for_worker(session, worker_id=worker.id),
                                   at=NOW - timedelta(hours=1), worker_id=worker.id if to is OrderStatus.ASSIGNED else None)  # fmt: skip
                order = orders_repo.save_change(session, moved.change)  # type: ignore[union-attr]
            positions_repo.add_position(session, Position(worker.id, f"r-{name}", NOW - timedelta(minutes=1),
                                                          NOW, NOW, CASINO.lat + 0.0003, CASINO.lon, accuracy_m=8.0))  # fmt: skip
            ids[name] = worker.id
    service = PushService()
    with session_scope(sessions) as session:
        reminders_repo.add_subscription(session, worker_id=ids["Ana"], subscription=service.subscription(), at=NOW)
    yield sessions, ids, service
    service.server.shutdown()


def test_a_worker_near_the_site_is_reminded_once_on_the_page_and_by_web_push_or_webhook(world):
    """Tests one round at 10:00 (both on shift, clocked in not required, 33 m from the Casino, order accepted):
    Ana's reminder goes to her page and her phone's push service (which decrypts "You are at Casino de
    Monte-Carlo, check in?"), Ben's (no subscription) to the webhook; the next round sends nothing; with Ben's
    switch off at a later visit nothing is sent either; the channels are kept with each reminder."""
    sessions, ids, service = world
    bus, posted, clock = FakeBus(), [], ManualClock(NOW)
    push = WebPush(sessions=sessions, clock=clock)
    sent = remind_once(sessions=sessions, clock=clock, bus=bus, settings=ReminderSettings(), uses_clock_in=False,  # type: ignore[arg-type]
                       push=push, fallback=posted.append)  # fmt: skip
    text = "You are at Casino de Monte-Carlo, check in?"
    assert sorted((m["worker_id"], m["kind"], m["text"]) for m in sent) == [
        (ids["Ana"], "near_site", text), (ids["Ben"], "near_site", text),
    ]  # fmt: skip
    assert [(c, m["worker_id"]) for c, m in bus.published] == [("outfield:reminders", m["worker_id"]) for m in sent]
    ((body, headers),) = service.bodies
    assert service.read(body)["body"] == text
    assert (
        headers["authorization"].startswith("vapid t=") and vapid_keys(sessions, clock)[1] in headers["authorization"]
    )
    assert [p["reminder"]["worker_id"] for p in posted] == [ids["Ben"]]
    with session_scope(sessions) as session:
        channels = {w: reminders_repo.reminders_of(session, worker_id=w, since=NOW)[0].channels for w in ids.values()}
    assert channels == {ids["Ana"]: ("page", "web_push"), ids["Ben"]: ("page", "webhook")}

    clock.advance(60)
    again = remind_once(sessions=sessions, clock=clock, bus=bus, settings=ReminderSettings(), uses_clock_in=False,  # type: ignore[arg-type]
                        push=push, fallback=posted.append)  # fmt: skip
    assert again == [] and len(service.bodies) == 1 and len(posted) == 1
    with session_scope(sessions) as session:
        reminders_repo.set_enabled(session, ids["Ben"], False)
    clock.advance(6 * 3600)  # 16:01: the day's report is due, for Ana only
    late = remind_once(sessions=sessions, clock=clock, bus=bus, settings=ReminderSettings(), uses_clock_in=False,  # type: ignore[arg-type]
                       push=push, fallback=posted.append)  # fmt: skip
    assert [(m["worker_id"], m["kind"]) for m in late] == [(ids["Ana"], "day_report")]


def test_a_phone_whose_page_is_in_chinese_gets_its_notification_in_chinese(world):
    """Tests that a phone subscribed from a page in Chinese (`language: zh_CN`) gets the near-site reminder's
    notification in Chinese, the site's name kept, while the page and the stored reminder keep the English."""
    sessions, ids, service = world
    chinese = phone_in_chinese(sessions, ids["Ben"])
    try:
        push = WebPush(sessions=sessions, clock=ManualClock(NOW))
        sent = remind_once(sessions=sessions, clock=ManualClock(NOW), bus=FakeBus(), settings=ReminderSettings(),  # type: ignore[arg-type]
                           uses_clock_in=False, push=push, worker_id=ids["Ben"])  # fmt: skip
        assert [m["text"] for m in sent] == ["You are at Casino de Monte-Carlo, check in?"]
        ((body, _headers),) = chinese.bodies
        assert chinese.read(body)["body"] == "您已到达 Casino de Monte-Carlo，要签到吗？"
    finally:
        chinese.server.shutdown()


def test_a_worker_far_from_the_next_visit_is_told_to_leave_by_the_drive_from_their_last_fix(world):
    """Tests that at 09:43, Ana's phone 2 km from the Casino (her accepted visit's window opens at 10:00) and the
    road times saying 12 min from there, she is told to leave, in English on the page and in Chinese on a phone
    subscribed in Chinese; the drive asked is from her last fix to the Casino; at 09:42 she is not; without road
    times no round says it."""
    sessions, ids, _service = world
    away = LatLon(CASINO.lat + 2000 / 111_320, CASINO.lon)
    with session_scope(sessions) as session:
        positions_repo.purge_positions(session, before=NOW)  # the fixture's fixes by the Casino
        positions_repo.add_position(session, Position(ids["Ana"], "r-Ana", NOW - timedelta(minutes=19),
                                                      NOW, NOW, away.lat, away.lon, accuracy_m=8.0))  # fmt: skip
    asked: list[tuple[LatLon, LatLon]] = []

    def drive(a: LatLon, b: LatLon) -> float:
        asked.append((a, b))
        return 12 * 60.0

    def round_at(minute: int, **kw: Any) -> list[dict[str, Any]]:
        clock = ManualClock(NOW - timedelta(minutes=60 - minute))
        return remind_once(sessions=sessions, clock=clock, bus=FakeBus(), settings=ReminderSettings(),  # type: ignore[arg-type]
                           uses_clock_in=False, worker_id=ids["Ana"], **kw)  # fmt: skip

    assert round_at(43) == []
    assert round_at(42, travel=drive) == [] and asked == [(away, CASINO)]
    chinese = phone_in_chinese(sessions, ids["Ana"])
    try:
        push = WebPush(sessions=sessions, clock=ManualClock(NOW))
        (sent,) = round_at(43, travel=drive, push=push)
        assert (sent["kind"], sent["text"]) == (
            "leave_now", "Time to leave for Casino de Monte-Carlo: 12 min away, its window opens at 10:00.",
        )  # fmt: skip
        ((body, _headers),) = chinese.bodies
        assert (
            chinese.read(body)["body"] == "该出发前往 Casino de Monte-Carlo 了：车程 12 分钟，其服务时段 10:00 开始。"
        )
    finally:
        chinese.server.shutdown()


def test_the_time_to_leave_is_for_the_first_visit_of_the_published_route(world):
    """Tests that with the day's published plan taking Ana to the port (window from 11:00) before the Casino (window
    from 10:00), at 10:43 she is told to leave for the port, the route's first visit, not for the Casino."""
    sessions, ids, _service = world
    port = LatLon(43.7347, 7.4214)
    with session_scope(sessions) as session:
        positions_repo.purge_positions(session, before=NOW + timedelta(hours=1))
        positions_repo.add_position(session, Position(ids["Ana"], "r-Ana", NOW + timedelta(minutes=41), NOW, NOW,
                                                      port.lat + 0.02, port.lon, accuracy_m=8.0))  # fmt: skip
        site = sites_repo.add_site(session, name="Port Hercule", location=port, geofence_radius_m=60)
        order = orders_repo.add_order(
            session, site_id=site.id, type="repair", priority=3, service_duration_s=1800, created_at=NOW,
            window=TimeWindow(NOW + timedelta(hours=1), NOW + timedelta(hours=3)),
        )  # fmt: skip
        for to in (OrderStatus.ASSIGNED, OrderStatus.ACCEPTED):
            actor = None if to is OrderStatus.ASSIGNED else field_repo.actor_for_worker(session, worker_id=ids["Ana"])
            moved = transition(
                order, to, actor=actor, at=NOW, worker_id=ids["Ana"] if to is OrderStatus.ASSIGNED else None
            )
            order = orders_repo.save_change(session, moved.change)  # type: ignore[union-attr]
        casino = next(o.id for o in orders_repo.orders_of_worker(session, worker_id=ids["Ana"]) if o.id != order.id)
        plan = plans_repo.create_plan(session, day=NOW.date(), created_at=NOW - timedelta(hours=3), payload={})
        times = (NOW + timedelta(hours=1), NOW + timedelta(hours=1), NOW + timedelta(minutes=90))
        plans_repo.publish_plan(session, plan_id=plan, stops=[(ids["Ana"], order.id, 0, *times),
                                                              (ids["Ana"], casino, 1, *times)])  # fmt: skip
    sent = remind_once(sessions=sessions, clock=ManualClock(NOW + timedelta(minutes=43)), bus=FakeBus(),  # type: ignore[arg-type]
                       settings=ReminderSettings(), uses_clock_in=False, worker_id=ids["Ana"],
                       travel=lambda _a, _b: 12 * 60.0)  # fmt: skip
    assert [(m["kind"], m["order_id"], m["text"]) for m in sent] == [
        ("leave_now", order.id, "Time to leave for Port Hercule: 12 min away, its window opens at 11:00.")
    ]


def test_the_vapid_key_is_made_once(world):
    """Tests the first call makes and stores a key pair and every later call returns the same one."""
    sessions, _, _ = world
    first = vapid_keys(sessions, ManualClock(NOW))
    assert first == vapid_keys(sessions, ManualClock(NOW)) and len(first[1]) == 87  # 65 bytes, base64url


def test_a_monaco_workers_shift_today_is_their_local_day_on_their_own_clock(db_engine):
    """Tests that at 23:30 UTC on Monday 2 March (00:30 Tuesday in Monaco) a Monaco worker's "today" is Tuesday
    and their 07:00-15:00 shift, which the shift-start and day's-report reminders are timed by, is 06:00-14:00 UTC
    that Tuesday (not Monday's shift read as 07:00 UTC); the order of the night (00:30 local) is today's."""
    sessions = make_sessionmaker(db_engine)
    tuesday_0030 = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    with session_scope(sessions) as session:
        site = sites_repo.add_site(session, name="Casino de Monte-Carlo", location=CASINO, geofence_radius_m=60)
        worker = workers_repo.add_worker(session, name="Ana", device_id="r-monaco", timezone="Europe/Monaco",
                                         shifts=[Shift((0, 1, 2, 3, 4), time(7), time(15))])  # fmt: skip
        order = orders_repo.add_order(
            session, site_id=site.id, type="repair", priority=3, service_duration_s=1800, created_at=tuesday_0030,
            window=TimeWindow(tuesday_0030, tuesday_0030 + timedelta(hours=2)),
        )  # fmt: skip
        for to in (OrderStatus.ASSIGNED, OrderStatus.ACCEPTED):
            actor = None if to is OrderStatus.ASSIGNED else field_repo.actor_for_worker(session, worker_id=worker.id)
            moved = transition(order, to, actor=actor, at=tuesday_0030,
                               worker_id=worker.id if to is OrderStatus.ASSIGNED else None)  # fmt: skip
            order = orders_repo.save_change(session, moved.change)  # type: ignore[union-attr]
    (day,) = worker_days(sessions, now=tuesday_0030, uses_clock_in=True, zone=zone("Europe/Monaco"))
    assert day.day.isoformat() == "2026-03-03"
    assert day.shift == (datetime(2026, 3, 3, 6, tzinfo=UTC), datetime(2026, 3, 3, 14, tzinfo=UTC))
    assert [o.order_id for o in day.orders] == [order.id]
