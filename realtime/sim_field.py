"""What a simulated field worker does next with their day: the pure decisions behind the demo's staff.

A worker's day is what their push-link page shows (`GET /api/v1/field/<token>/day`): their orders
in route order. They work through it as a person with the page open would: the order already on
site first, then the one they are driving to, then the first one still to accept or start, in
route order. For that order they accept, set off (en route) once it is time to leave for its window
(`SET_OFF_BEFORE` its start, on the office's clock), check in once their phone's fix
stands inside the site's geofence, stay for the order's service time, and complete it with a
short service report. With nothing left to do they drive around as the simulator always did.

`decide` is pure: the day, the phone's latest fix, the worker's memory and `now` in, the move and
the memory after it out. Times are simulated times (a sped-up demo's service times pass faster in
real time). Talking to the server is `realtime/sim_staff.py`'s job.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from dispatch.forms import FieldType, FormDefinition, Problem, parse_definition
from dispatch.geo import LatLon, haversine_m
from dispatch.orders import OrderStatus
from realtime.simulator import Report

S = OrderStatus
SET_OFF_BEFORE = timedelta(minutes=20)
"""How long before an order's window opens its worker sets off: Monaco's drives take minutes, so they arrive in
time without being flagged early (more than 30 minutes ahead), and a day planned ahead lasts until its windows."""


@dataclass(frozen=True, slots=True)
class DayOrder:
    """One order of the worker's day, as the push-link page gets it."""

    id: int
    status: OrderStatus
    type: str
    site: LatLon
    geofence_radius_m: float
    service_s: float
    form_id: int | None = None
    form: FormDefinition | None = None
    window_start: datetime | None = None
    """When the order's window opens (aware); None: whenever (the worker sets off at once)."""


def parse_day(body: Any) -> tuple[DayOrder, ...]:
    """The orders of a day answer (`{"orders": [...]}`), in the order given; ValueError naming the field."""
    items = body.get("orders") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise ValueError("orders: expected a list")
    out: list[DayOrder] = []
    for i, item in enumerate(items):
        try:
            site = item["site"]
            out.append(
                DayOrder(
                    id=int(item["id"]),
                    status=OrderStatus(item["status"]),
                    type=str(item.get("type", "")),
                    site=LatLon(float(site["lat"]), float(site["lon"])),
                    geofence_radius_m=float(site["geofence_radius_m"]),
                    service_s=float(item["service_minutes"]) * 60.0,
                    window_start=_aware(item.get("window_start")),
                    **_day_form(item.get("form"), str(item.get("type", ""))),
                )
            )
        except (TypeError, KeyError, ValueError) as exc:
            raise ValueError(f"orders[{i}]: {type(exc).__name__} {exc}") from None
    return tuple(out)


def _aware(raw: Any) -> datetime | None:
    if raw is None:
        return None
    moment = datetime.fromisoformat(str(raw))
    if moment.tzinfo is None:
        raise ValueError(f"window_start {raw!r} has no offset")
    return moment


def _day_form(raw: Any, order_type: str) -> dict[str, Any]:
    """The order's current form from the day answer, as DayOrder keywords ({} for an order without one)."""
    if not raw:
        return {}
    form = parse_definition(raw, order_type=order_type, version=int(raw["version"]))
    if isinstance(form, Problem):
        raise ValueError(f"form.{form.field}: {form.reason}")
    return {"form_id": int(raw["id"]), "form": form}


def simulated_answers(form: FormDefinition) -> dict[str, Any]:
    """What a simulated worker answers: every box ticked, the first choice, a number in bounds, a line of text.

    Photos and signatures are left out (the simulator takes none): a form requiring one refuses the report.
    """
    answers: dict[str, Any] = {}
    for f in form.fields:
        if f.type is FieldType.CHECKBOX:
            answers[f.id] = True
        elif f.type is FieldType.CHOICE:
            answers[f.id] = f.choices[0]
        elif f.type is FieldType.NUMBER:
            answers[f.id] = f.min_value if f.min_value is not None else min(0.0, f.max_value or 0.0)
        elif f.type is FieldType.TEXT:
            answers[f.id] = "simulated"
    return answers


def current_order(day: Sequence[DayOrder]) -> DayOrder | None:
    """The order to work on: the one on site, else the one driven to, else the first to accept or start."""
    for wanted in ((S.ON_SITE,), (S.EN_ROUTE,), (S.ASSIGNED, S.ACCEPTED)):
        for order in day:
            if order.status in wanted:
                return order
    return None


def arrived(fix: Report | None, order: DayOrder) -> bool:
    """Whether the phone's fix stands still inside the order site's geofence (what a GPS check-in needs)."""
    if fix is None or fix.speed_mps > 0:
        return False
    return haversine_m(LatLon(fix.latitude, fix.longitude), order.site) <= order.geofence_radius_m


class MoveKind(StrEnum):
    WAIT = "wait"
    """Carry on: drive on, work on, or keep driving around."""
    WANDER = "wander"
    """Nothing left to do: leave the last site and drive around."""
    ACCEPT = "accept"
    SET_OFF = "set_off"
    """Say "on my way" (en route) and drive to the site."""
    DRIVE = "drive"
    """Already en route or on site (e.g. after a restart), but not sent there: go there, nothing to report."""
    CHECK_IN = "check_in"
    COMPLETE = "complete"
    """Send the service report and check out (done)."""


@dataclass(frozen=True, slots=True)
class Move:
    kind: MoveKind
    order: DayOrder | None = None


@dataclass(frozen=True, slots=True)
class Memory:
    """What the worker remembers between decisions (the server's day says the rest).

    `heading_to` is the order whose site they were sent to (driving there or standing there);
    `working` is the on-site order and when work on it began.
    """

    heading_to: int | None = None
    working: tuple[int, datetime] | None = None


def decide(
    day: Sequence[DayOrder], fix: Report | None, memory: Memory, now: datetime, *, clock_now: datetime | None = None
) -> tuple[Move, Memory]:
    """The worker's next move and their memory after it, from their day, latest fix and `now`.

    An on-site order whose start the worker does not remember (the simulator restarted, or the
    office checked them in) counts from `now`, and they go to its site and stay there. `clock_now` is the
    office's time (the phone's clock: a sped-up demo's `now` runs ahead of it), against which an accepted
    order's window says when to set off; until then the worker drives around.
    """
    order = current_order(day)
    if order is None:
        if memory.heading_to is None:
            return Move(MoveKind.WAIT), memory
        return Move(MoveKind.WANDER), Memory()
    if order.status is S.ASSIGNED:
        return Move(MoveKind.ACCEPT, order), memory
    if order.status is S.ACCEPTED:
        if order.window_start is not None and (clock_now or now) < order.window_start - SET_OFF_BEFORE:
            return (Move(MoveKind.WAIT), memory) if memory.heading_to is None else (Move(MoveKind.WANDER), Memory())
        return Move(MoveKind.SET_OFF, order), Memory(heading_to=order.id)
    if order.status is S.EN_ROUTE:
        if arrived(fix, order):
            return Move(MoveKind.CHECK_IN, order), Memory(heading_to=order.id, working=(order.id, now))
        if memory.heading_to != order.id:
            return Move(MoveKind.DRIVE, order), Memory(heading_to=order.id)
        return Move(MoveKind.WAIT, order), memory
    # On site. One whose start they do not remember (the demo's seeded morning, a restart, the office's check-in) is
    # worked from now, at its site: the simulator, left to itself, would drive around and leave it (the wall screen
    # then read "left the site without checking out").
    if memory.working is None or memory.working[0] != order.id:
        return Move(MoveKind.DRIVE, order), Memory(heading_to=order.id, working=(order.id, now))
    if (now - memory.working[1]).total_seconds() >= order.service_s:
        return Move(MoveKind.COMPLETE, order), memory
    return Move(MoveKind.WAIT, order), memory


def action_items(move: Move, *, fix: Report | None, at: datetime, new_id: Callable[[], str]) -> list[dict[str, Any]]:
    """The field API actions (`POST /api/v1/field/<token>/actions`) a move sends; [] for one that sends none.

    Each gets a fresh client action id from `new_id`, so resending the same list is harmless.
    `at` is the phone's time of the action (ISO 8601, UTC). Check-in and check-out carry the fix as
    their evidence (the server verifies both against the geofence); a completion sends a short
    report (the order's form answered: `simulated_answers`) before the check-out.
    """
    order = move.order
    if order is None:
        return []
    stamp = at.isoformat()

    def item(action: str, **extra: Any) -> dict[str, Any]:
        return {"client_action_id": new_id(), "order_id": order.id, "action": action, "at": stamp, **extra}

    if move.kind is MoveKind.ACCEPT:
        return [item("accept")]
    if move.kind is MoveKind.SET_OFF:
        return [item("en_route")]
    location = None
    if fix is not None:
        location = {"lat": fix.latitude, "lon": fix.longitude, "accuracy_m": fix.accuracy_m}
    if move.kind is MoveKind.CHECK_IN:
        return [item("check_in", location=location)]
    if move.kind is MoveKind.COMPLETE:
        report: dict[str, Any] = {
            "text": f"{order.type.capitalize() or 'Job'} done; everything on the form checked (simulated).",
            "parts": [],
        }
        if order.form is not None:
            report |= {"form_id": order.form_id, "form_version": order.form.version,
                       "answers": simulated_answers(order.form)}  # fmt: skip
        return [item("report", report=report), item("check_out", location=location)]
    return []


def clock_items(
    *, on_shift: bool, clocked_in: bool | None, busy: bool, fix: Report | None, at: datetime, new_id: Callable[[], str]
) -> list[dict[str, Any]]:
    """The clock-in or clock-out a worker sends now (`POST /api/v1/field/<token>/actions`), or [] for none.

    On shift and not clocked in: clock in; off shift and still clocked in: clock out, once the visit they are `busy`
    with (on site or on their way) is over. `clocked_in` None (not known yet) sends nothing. The latest fix is the
    evidence the server verifies against the home base.
    """
    if clocked_in is None or on_shift == clocked_in or (busy and not on_shift):
        return []
    item: dict[str, Any] = {"client_action_id": new_id(), "action": "clock_in" if on_shift else "clock_out",
                            "at": at.isoformat()}  # fmt: skip
    if fix is not None:
        item["location"] = {"lat": fix.latitude, "lon": fix.longitude, "accuracy_m": fix.accuracy_m}
    return [item]
