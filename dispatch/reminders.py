"""Reminders for a field worker, the pure rules: which are due now, each once, none off shift.

Five kinds (issue #14, and the time to leave):
- `clock_in`: the shift began `clock_in_after_s` ago and the worker has not clocked in (only where the
  organisation uses clock-in);
- `near_site`: the worker's latest fix (not older than `fix_max_age_s`) is inside an accepted (or en route)
  order's geofence, or within `near_m` of the site, and the order has no check-in: "you are at …, check in?";
- `visit_overrun`: an order on site is past its planned end (the check-in plus the service time) by
  `overrun_after_s`;
- `leave_now`: the worker's next accepted visit (`next_to_leave_for`: the earliest window, while no visit is en route or
  on site) is as far as the drive from their latest fix takes (`OrderFacts.travel_s`), and it is time to set off to
  be there `leave_margin_s` before its window opens: "Time to leave for …: 12 min away, its window opens at 10:00.";
- `day_report`: the shift ends within `report_before_end_s` (or ended) and the day's report is not filed.

Each reminder has a key (kind, worker, day, order): the caller stores the keys sent and passes them back in
`WorkerDay.sent`, so a reminder is never sent twice. Nothing is due while the worker is off shift (before its
start, or more than `after_shift_s` after its end), nor when the worker switched reminders off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum

from dispatch.geo import LatLon, haversine_m
from dispatch.localtime import to_local


class ReminderKind(StrEnum):
    CLOCK_IN = "clock_in"
    NEAR_SITE = "near_site"
    VISIT_OVERRUN = "visit_overrun"
    DAY_REPORT = "day_report"
    LEAVE_NOW = "leave_now"


@dataclass(frozen=True, slots=True)
class ReminderSettings:
    clock_in_after_s: float = 5 * 60.0
    near_m: float = 150.0
    fix_max_age_s: float = 5 * 60.0
    overrun_after_s: float = 10 * 60.0
    report_before_end_s: float = 15 * 60.0
    after_shift_s: float = 15 * 60.0
    leave_margin_s: float = 5 * 60.0


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """One of the worker's orders of the day as the rules see it."""

    order_id: int
    site_name: str
    site: LatLon
    geofence_radius_m: float
    status: str  # dispatch.orders.OrderStatus value
    checked_in_at: datetime | None
    service_s: float
    window_start: datetime | None = None
    travel_s: float | None = None
    """The drive from the worker's latest fix to the site (None: not known, or no route); set for the visit
    `next_to_leave_for` names only."""
    sequence: int | None = None
    """Its place in the worker's route of the day's published plan (None: not in one)."""


@dataclass(frozen=True, slots=True)
class WorkerDay:
    """What is known about a worker now: their shift today, clock, latest fix, orders, report, reminders sent."""

    worker_id: int
    day: date
    shift: tuple[datetime, datetime] | None
    enabled: bool = True
    uses_clock_in: bool = True
    clocked_in: bool = False
    last_fix: tuple[LatLon, datetime] | None = None
    orders: tuple[OrderFacts, ...] = ()
    day_report_filed: bool = False
    sent: frozenset[str] = frozenset()
    zone: tzinfo = UTC
    """The worker's clock (their own zone, else the office's): the times a reminder names read on it."""


@dataclass(frozen=True, slots=True)
class Reminder:
    worker_id: int
    kind: ReminderKind
    key: str
    text: str
    order_id: int | None = None
    template: str = ""
    """`text` before its parts were filled in ("You are at {site}, check in?"): what a phone's language translates."""
    parts: tuple[tuple[str, str], ...] = ()


def _reminder(
    worker_id: int, kind: ReminderKind, key: str, template: str, order_id: int | None = None, **parts: str
) -> Reminder:
    return Reminder(worker_id, kind, key, template.format(**parts), order_id, template, tuple(parts.items()))


def next_to_leave_for(orders: Sequence[OrderFacts]) -> OrderFacts | None:
    """The visit a worker sets off for next, while none is en route or on site (they are on their way, or at work,
    already): of their accepted ones, the first in the published route, else the one whose window opens first (then
    the lowest id), as the phone page lists them; None when there is none."""
    if any(o.status in ("en_route", "on_site") for o in orders):
        return None
    waiting = [o for o in orders if o.status == "accepted" and o.window_start is not None]
    return min(waiting, key=lambda o: (o.sequence is None, o.sequence or 0, o.window_start, o.order_id), default=None)


def due_reminders(worker: WorkerDay, now: datetime, settings: ReminderSettings | None = None) -> list[Reminder]:
    """The reminders due for `worker` at `now` and not sent before, in the order above."""
    settings = settings or ReminderSettings()
    if not worker.enabled or worker.shift is None:
        return []
    start, end = worker.shift
    if now < start or now > end + timedelta(seconds=settings.after_shift_s):
        return []  # quiet off shift

    def key(kind: ReminderKind, order_id: int | None = None) -> str:
        return f"{kind.value}:{worker.worker_id}:{worker.day.isoformat()}:{order_id or ''}"

    def hhmm(moment: datetime) -> str:
        return to_local(moment, worker.zone).strftime("%H:%M")

    due: list[Reminder] = []
    if worker.uses_clock_in and not worker.clocked_in and now >= start + timedelta(seconds=settings.clock_in_after_s):
        due.append(_reminder(worker.worker_id, ReminderKind.CLOCK_IN, key(ReminderKind.CLOCK_IN),
                             "Your shift began at {time}: clock in?", time=hhmm(start)))  # fmt: skip
    fix = worker.last_fix
    fresh = fix is not None and (now - fix[1]).total_seconds() <= settings.fix_max_age_s
    for order in worker.orders:
        if fresh and fix is not None and order.status in ("accepted", "en_route") and order.checked_in_at is None:
            distance = haversine_m(fix[0], order.site)
            if distance <= max(order.geofence_radius_m, settings.near_m):
                due.append(_reminder(worker.worker_id, ReminderKind.NEAR_SITE, key(ReminderKind.NEAR_SITE, order.order_id),
                                     "You are at {site}, check in?", order.order_id, site=order.site_name))  # fmt: skip
        if order.status == "on_site" and order.checked_in_at is not None:
            planned_end = order.checked_in_at + timedelta(seconds=order.service_s)
            if now >= planned_end + timedelta(seconds=settings.overrun_after_s):
                due.append(_reminder(
                    worker.worker_id, ReminderKind.VISIT_OVERRUN, key(ReminderKind.VISIT_OVERRUN, order.order_id),
                    "The visit at {site} was planned to end at {time}: check out when done.", order.order_id,
                    site=order.site_name, time=hhmm(planned_end),
                ))  # fmt: skip
    going = next_to_leave_for(worker.orders)
    if (
        fresh
        and fix is not None
        and going is not None
        and going.travel_s is not None
        and going.window_start is not None
    ):
        far = haversine_m(fix[0], going.site) > max(going.geofence_radius_m, settings.near_m)
        set_off = going.window_start - timedelta(seconds=going.travel_s + settings.leave_margin_s)
        if far and now >= set_off:
            due.append(_reminder(
                worker.worker_id, ReminderKind.LEAVE_NOW, key(ReminderKind.LEAVE_NOW, going.order_id),
                "Time to leave for {site}: {minutes} min away, its window opens at {time}.", going.order_id,
                site=going.site_name, minutes=str(max(1, round(going.travel_s / 60))), time=hhmm(going.window_start),
            ))  # fmt: skip
    if not worker.day_report_filed and now >= end - timedelta(seconds=settings.report_before_end_s):
        due.append(_reminder(worker.worker_id, ReminderKind.DAY_REPORT, key(ReminderKind.DAY_REPORT),
                             "Your shift ends at {time}: file the day's report?", time=hhmm(end)))  # fmt: skip
    return [r for r in due if r.key not in worker.sent]
