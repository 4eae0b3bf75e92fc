"""Reminders for field workers, evaluated by `python -m realtime worker` every `every_s` seconds.

Each round (one process at a time, a Redis lock as the scheduled report uses) reads what is stored about each
worker on shift today, asks `dispatch.reminders.due_reminders` what is due, stores each due reminder once
(its key is unique: a second process or round finds it stored and sends nothing) and delivers it:
- on the push-link page: published on the bus (`REMINDERS`), which the relay sends to the worker's open pages
  as a `reminder` event; the page also lists the day's reminders from `/api/v1/field/{token}/attendance`;
- by Web Push to the phone's subscriptions (`realtime.web_push`), or, when it has none or the push service
  refuses, to the configured link webhook (`OUTFIELD_LINK_WEBHOOK`) as the fallback channel.
The channels used are kept with the reminder. Payloads carry words and ids, never a position.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from data import attendance_repo, orders_repo, plans_repo, positions_repo, reminders_repo, sites_repo, workers_repo
from data.db import session_scope
from dispatch.clock import Clock
from dispatch.geo import LatLon
from dispatch.hours import planned_intervals
from dispatch.localtime import day_bounds, day_zone, local_day, spans_day
from dispatch.reminders import OrderFacts, Reminder, ReminderSettings, WorkerDay, due_reminders, next_to_leave_for
from realtime.bus import REMINDERS, Bus
from realtime.web_push import WebPush

log = logging.getLogger(__name__)

REMINDER_LOCK = "outfield:reminders"
EVERY_S = 30.0
ACTIVE = ("accepted", "en_route", "on_site")


def worker_days(
    sessions: sessionmaker[Session],
    *,
    now: datetime,
    uses_clock_in: bool,
    worker_id: int | None = None,
    zone: tzinfo = UTC,
    travel: Callable[[LatLon, LatLon], float | None] | None = None,
) -> list[WorkerDay]:
    """What the rules need about every active worker with a shift today (or the one asked for). "Today" is the
    worker's local day (their own zone, else the office's `zone`). With `travel` (seconds from a point to another,
    None: no route), the drive from the worker's latest fix to the visit they set off for next."""
    out = []
    with session_scope(sessions) as session:
        workers = [w for w in workers_repo.list_workers(session) if w.active and w.id == (worker_id or w.id)]
        disabled = reminders_repo.disabled_workers(session)
        # Keys name their day: two days back covers every worker's local midnight, whatever their zone.
        sent = reminders_repo.sent_keys(session, worker_ids=[w.id for w in workers], since=now - timedelta(days=2))
        sites = {s.id: s for s in sites_repo.list_sites(session)}
        for worker in workers:
            tz = day_zone(worker.zone, zone)
            day = local_day(now, tz)
            start = day_bounds(day, tz)[0]
            spans = planned_intervals(worker.shifts, day)
            if not spans:
                continue
            clocks = attendance_repo.clock_events(session, worker_id=worker.id, start=start, end=now + timedelta(1))
            checks = attendance_repo.counted_checks(session, worker_id=worker.id, start=start, end=now + timedelta(1))
            fix = positions_repo.last_position(session, worker_id=worker.id)
            route = plans_repo.published_sequence(session, day=day, worker_id=worker.id)
            orders = []
            for order in orders_repo.orders_of_worker(session, worker_id=worker.id):
                site = sites.get(order.site_id)
                if (
                    site is None
                    or order.status.value not in ACTIVE
                    or not spans_day(order.window.start, order.window.end, day, tz)
                ):
                    continue
                checked_in = next((c.at for c in checks if c.order_id == order.id and c.kind == "in"), None)
                orders.append(OrderFacts(order.id, site.name, site.location, site.geofence_radius_m, order.status.value,
                                         checked_in, float(order.service_duration_s), order.window.start,
                                         sequence=route.get(order.id)))  # fmt: skip
            going = next_to_leave_for(orders)
            if travel is not None and going is not None and fix is not None and fix.valid:
                orders[orders.index(going)] = replace(going, travel_s=travel(fix.point, going.site))
            out.append(WorkerDay(
                worker_id=worker.id, day=day, shift=(spans[0][0], spans[-1][1]), enabled=worker.id not in disabled,
                uses_clock_in=uses_clock_in, clocked_in=bool(clocks) and clocks[-1].kind == "in",
                last_fix=(fix.point, fix.fix_time) if fix is not None and fix.valid else None, orders=tuple(orders),
                day_report_filed=bool(attendance_repo.day_reports(session, start=day, end=day, worker_id=worker.id)),
                sent=sent.get(worker.id, frozenset()), zone=tz,
            ))  # fmt: skip
    return out


def remind_once(
    *, sessions: sessionmaker[Session], clock: Clock, bus: Bus, settings: ReminderSettings, uses_clock_in: bool,
    push: WebPush | None = None, fallback: Callable[[dict[str, Any]], None] | None = None, worker_id: int | None = None,
    zone: tzinfo = UTC, travel: Callable[[LatLon, LatLon], float | None] | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """One round: the reminders sent now (stored once each, then delivered), as their messages. `travel` is
    `worker_days`' (without it, no `leave_now`)."""
    now = clock.now()
    sent = []
    days = worker_days(sessions, now=now, uses_clock_in=uses_clock_in, worker_id=worker_id, zone=zone, travel=travel)
    for worker in days:
        for reminder in due_reminders(worker, now, settings):
            message = _store(sessions, reminder, now)
            if message is not None:
                _deliver(sessions, bus, push, fallback, message)
                sent.append(message)
    return sent


def _store(sessions: sessionmaker[Session], reminder: Reminder, now: datetime) -> dict[str, Any] | None:
    with session_scope(sessions) as session:
        reminder_id = reminders_repo.add_reminder(
            session, worker_id=reminder.worker_id, kind=reminder.kind.value, key=reminder.key,
            order_id=reminder.order_id, text=reminder.text, at=now,
        )  # fmt: skip
    if reminder_id is None:
        return None  # another process sent it
    return {"id": reminder_id, "worker_id": reminder.worker_id, "kind": reminder.kind.value, "text": reminder.text,
            "order_id": reminder.order_id, "at": now.isoformat(), "template": reminder.template,
            "parts": dict(reminder.parts)}  # fmt: skip


def _deliver(
    sessions: sessionmaker[Session], bus: Bus, push: WebPush | None,
    fallback: Callable[[dict[str, Any]], None] | None, message: dict[str, Any],
) -> None:  # fmt: skip
    bus.publish(REMINDERS, message)
    channels = ["page"]
    payload = {"title": "Outfield", "body": message["text"], "tag": f"reminder-{message['id']}"}
    if push is not None and push.push(message["worker_id"], payload, template=message.get("template") or None,
                                      parts=message.get("parts") or {}):  # fmt: skip
        channels.append("web_push")
    elif fallback is not None:
        try:
            fallback({"reminder": message})
            channels.append("webhook")
        except Exception as exc:  # the page has it; the next channel failing must not stop the round
            log.warning("reminder %s not posted to the webhook (%s)", message["id"], type(exc).__name__)
    with session_scope(sessions) as session:
        reminders_repo.set_channels(session, message["id"], channels)


def run_reminders(*, bus: Bus, holder: str, stop: threading.Event, every_s: float = EVERY_S, **round_args: Any) -> None:
    """Evaluate every `every_s` seconds until `stop`; only the lock holder sends."""
    try:
        while not stop.is_set():
            if bus.hold_lock(REMINDER_LOCK, holder, int(every_s * 1500)):
                try:
                    remind_once(bus=bus, **round_args)
                except Exception:  # the next round tries again; the worker's relay must not die of it
                    log.exception("reminder round failed")
            if stop.wait(every_s):
                break
    finally:
        bus.release_lock(REMINDER_LOCK, holder)
