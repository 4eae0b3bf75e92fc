"""The scheduled report: once per day or week, the overview per team goes to the configured webhook.

`python -m realtime worker` runs `run_report_schedule` beside the purge of old positions when
`OUTFIELD_REPORT_SCHEDULE` is daily or weekly. Each round asks whether the last whole period (yesterday,
or last Monday..Sunday) was delivered; if not, it posts the report JSON to `OUTFIELD_REPORT_WEBHOOK`
(falling back to `OUTFIELD_LINK_WEBHOOK`; none is needed) and queues it as a signed `report.delivered`
event for the webhooks subscribed to it (`POST /api/v1/webhooks`), and remembers the period in `report_deliveries`, so a
restarted worker does not send it again. A failed post is not remembered and is retried next round.
One process delivers (a Redis lock, as the purge uses). The payload holds figures and order ids, never
a position.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any

import requests
from sqlalchemy.orm import Session, sessionmaker

from data import reports_repo, webhooks_repo
from data.db import session_scope
from dispatch.clock import Clock
from dispatch.reports import Group, Period, Schedule, due_period, figures_table, table_records
from dispatch.webhooks import EventType
from realtime.bus import Bus

log = logging.getLogger(__name__)

REPORT_LOCK = "outfield:report-schedule"
CHECK_EVERY_S = 300.0


class DeliveryFailed(Exception):
    """The webhook did not take the report; the period stays undelivered."""


def webhook_poster(url: str, *, timeout_s: float = 10.0) -> Callable[[dict[str, Any]], None]:
    """POST the report as JSON to `url` (as console.notify does for push links); DeliveryFailed otherwise."""

    def post(payload: dict[str, Any]) -> None:
        try:
            response = requests.post(url, json=payload, timeout=timeout_s)
        except requests.RequestException as exc:
            raise DeliveryFailed(f"the report hook did not answer ({type(exc).__name__})") from None
        if response.status_code >= 300:
            raise DeliveryFailed(f"the report hook answered {response.status_code}")

    return post


def report_payload(
    sessions: sessionmaker[Session], period: Period, schedule: Schedule, team: str, *, now: datetime
) -> dict[str, Any]:
    """The overview per team (per worker for one team) and the visits that went wrong, as JSON values."""
    with session_scope(sessions) as session:
        sums = reports_repo.order_sums(session, period, team=team or None, now=now)
        wrong = reports_repo.visits_gone_wrong(session, period, team=team or None)
        workers = reports_repo.worker_figures(session, period, now=now, team=team or None)
    group = Group.WORKER if team else Group.TEAM
    return {
        "report": "overview",
        "schedule": schedule.value,
        "team": team or None,
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "group": group.value,
        "rows": table_records(figures_table("overview", sums, workers, group)),
        "gone_wrong": table_records(wrong),
    }


def deliver_if_due(
    *,
    sessions: sessionmaker[Session],
    clock: Clock,
    schedule: Schedule,
    team: str,
    post: Callable[[dict[str, Any]], None] | None,
    zone: tzinfo = UTC,
) -> Period | None:
    """Deliver the last whole period's report unless it was delivered; the period delivered, or None.

    It is posted to the report webhook (`post`, when one is configured) and, in the same transaction that
    remembers the period, queued as a signed `report.delivered` event for every webhook an admin subscribed
    to it (sent by the `webhooks` process, retried from the database until taken)."""
    period = due_period(clock.now(), schedule, zone)
    with session_scope(sessions) as session:
        if reports_repo.delivered(session, schedule=schedule.value, team=team, period=period):
            return None
    payload = report_payload(sessions, period, schedule, team, now=clock.now())
    if post is not None:
        post(payload)
    with session_scope(sessions) as session:
        reports_repo.record_delivery(session, schedule=schedule.value, team=team, period=period, at=clock.now())
        webhooks_repo.emit(session, EventType.REPORT_DELIVERED, payload, at=clock.now())
    log.info("scheduled %s report for %s..%s delivered", schedule.value, period.start, period.end)
    return period


def run_report_schedule(
    *,
    bus: Bus,
    holder: str,
    sessions: sessionmaker[Session],
    clock: Clock,
    schedule: Schedule,
    team: str,
    post: Callable[[dict[str, Any]], None] | None,
    stop: threading.Event,
    every_s: float = CHECK_EVERY_S,
    zone: tzinfo = UTC,
) -> None:
    """Check at once and then every `every_s` seconds until `stop`; only the lock holder delivers. Periods
    are the office's local days (`zone`)."""
    try:
        while not stop.is_set():
            if bus.hold_lock(REPORT_LOCK, holder, int(every_s * 1500)):
                try:
                    deliver_if_due(sessions=sessions, clock=clock, schedule=schedule, team=team, post=post, zone=zone)
                except Exception as exc:  # retried next round; the worker's relay must not die of it
                    log.warning("scheduled report not delivered (%s: %s); retrying in %.0f s",
                                type(exc).__name__, exc, every_s)  # fmt: skip
            if stop.wait(every_s):
                break
    finally:
        bus.release_lock(REPORT_LOCK, holder)
