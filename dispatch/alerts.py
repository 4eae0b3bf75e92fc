"""Alerts a dispatcher must see on the wall map: which to raise, which to clear, and auto-arrival.

Rules are pure functions of values (fixes, the worker's next visit, geofence events, `now`) and
return `Raise` / `Clear` decisions; storing them (one open alert per kind, worker and order,
enforced by the database) and pushing them live is the caller's part.

Two sorts of kinds:

- *conditions* (`low_battery`, `offline`, `late_risk`, `off_route`, `long_stop`) clear by themselves
  when the condition ends (a charged phone, a new fix, a reachable window, back on the route, moving);
- *incidents* (`sos`, `mock_location`, `impossible_jump`, `suspicious_check_in`,
  `left_site_without_check_out`) stay open until a dispatcher acknowledges them with a note.

Per-fix kinds are decided by `fix_alerts` as each fix is stored; the time-based ones by
`periodic_alerts`, run by the worker process every few seconds with the time passed in.
Reasons name the figure and the threshold, never a position (positions are personal data).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from dispatch.geo import LatLon, haversine_m
from dispatch.geofences import FenceEventType, GeofenceEvent
from dispatch.lifecycle import Refused, Transitioned, geofence_arrival
from dispatch.orders import OrderStatus, OrderType, WorkOrder
from dispatch.positions import Position
from dispatch.trajectory import Stop, StopParams, detect_stops
from dispatch.workers import BREAK_S

_M_PER_DEG = 111_195.0  # metres per degree of latitude (and of longitude at the equator)


class AlertKind(StrEnum):
    SOS = "sos"
    MOCK_LOCATION = "mock_location"
    IMPOSSIBLE_JUMP = "impossible_jump"
    LOW_BATTERY = "low_battery"
    OFFLINE = "offline"
    LATE_RISK = "late_risk"
    OFF_ROUTE = "off_route"
    LONG_STOP = "long_stop"
    SUSPICIOUS_CHECK_IN = "suspicious_check_in"
    LEFT_SITE_WITHOUT_CHECK_OUT = "left_site_without_check_out"


SEVERITY: dict[AlertKind, int] = {
    AlertKind.SOS: 1,
    AlertKind.LEFT_SITE_WITHOUT_CHECK_OUT: 2,
    AlertKind.MOCK_LOCATION: 2,
    AlertKind.IMPOSSIBLE_JUMP: 2,
    AlertKind.SUSPICIOUS_CHECK_IN: 2,
    AlertKind.LATE_RISK: 3,
    AlertKind.OFFLINE: 3,
    AlertKind.OFF_ROUTE: 3,
    AlertKind.LONG_STOP: 4,
    AlertKind.LOW_BATTERY: 4,
}
"""1 is the most severe; the exceptions panel lists the most severe first, then the newest."""

CONDITIONS: frozenset[AlertKind] = frozenset(
    {AlertKind.LOW_BATTERY, AlertKind.OFFLINE, AlertKind.LATE_RISK, AlertKind.OFF_ROUTE, AlertKind.LONG_STOP}
)
"""Kinds that clear by themselves when the condition ends; the others wait for an acknowledgement."""


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """Thresholds of every rule (built from `data.settings.Settings` at the edge)."""

    max_speed_mps: float = 70.0  # 252 km/h between two fixes: no van does that
    min_jump_m: float = 500.0  # shorter jumps are GPS noise, however fast they look
    low_battery_pct: float = 15.0
    battery_ok_pct: float = 25.0  # a low-battery alert clears at this level (or when charging)
    offline_after_s: float = 600.0
    late_risk_margin_s: float = 0.0  # raise when the ETA passes the window's end by more than this
    off_route_m: float = 500.0
    off_route_after_s: float = 300.0
    long_stop_after_s: float = 1200.0
    long_stop_radius_m: float = 60.0
    home_radius_m: float = 150.0  # within this of their home base a worker is at base, not stopped somewhere

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} {value!r} must be a finite number >= 0")
        if self.battery_ok_pct < self.low_battery_pct:
            raise ValueError(f"battery_ok_pct {self.battery_ok_pct} must be >= low_battery_pct {self.low_battery_pct}")


@dataclass(frozen=True, slots=True)
class Raise:
    """Open an alert of `kind` for the worker (and order), unless one is open already. `at` is a fix time
    for fix-driven kinds, the evaluation time for time-based ones."""

    kind: AlertKind
    worker_id: int
    order_id: int | None
    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Clear:
    """Close the open alert of `kind` for the worker (and order), if there is one: the condition ended."""

    kind: AlertKind
    worker_id: int
    order_id: int | None
    at: datetime
    reason: str


Decision = Raise | Clear


# Per fix -----------------------------------------------------------------------------------------


def fix_alerts(
    previous: Position | None, current: Position, settings: AlertSettings, *, clears: bool = True
) -> list[Decision]:
    """What one stored live fix raises or clears; `previous` is the worker's live fix before it.

    `clears=False` leaves the clears out: the caller knows the worker has no open alert to clear (the
    everyday fix of an evaluated batch, which then builds no decision at all).
    """
    battery = current.battery_pct
    alarm = current.attributes.get("alarm")
    if (
        not clears
        and alarm is None
        and not current.mock
        and (battery is None or battery >= settings.low_battery_pct or current.charging)
        and not _may_jump(previous, current, settings)
    ):
        return []  # the everyday fix of a worker with nothing open: nothing to raise, nothing to clear
    w, t = current.worker_id, current.fix_time
    out: list[Decision] = []
    if alarm is not None and str(alarm).lower() == "sos":
        out.append(Raise(AlertKind.SOS, w, None, t, "the phone sent an SOS alarm"))
    if current.mock:
        out.append(Raise(AlertKind.MOCK_LOCATION, w, None, t, "the phone reports a mock (simulated) location"))
    jump = impossible_jump(previous, current, settings)
    if jump is not None:
        out.append(jump)
    if battery is not None:
        if battery < settings.low_battery_pct and not current.charging:
            out.append(
                Raise(
                    AlertKind.LOW_BATTERY,
                    w,
                    None,
                    t,
                    f"battery at {battery:.0f} % (alert below {settings.low_battery_pct:.0f} %)",
                )
            )
        elif clears and (current.charging or battery >= settings.battery_ok_pct):
            why = "charging" if current.charging else f"battery back at {battery:.0f} %"
            out.append(Clear(AlertKind.LOW_BATTERY, w, None, t, why))
    if clears:
        out.append(Clear(AlertKind.OFFLINE, w, None, t, "a fix arrived"))
    return out


def _may_jump(previous: Position | None, current: Position, settings: AlertSettings) -> bool:
    """Whether `impossible_jump` could raise: the flat-earth distance alone (no time, no sphere) says no for
    the fixes a few metres apart that nearly every fix is."""
    if previous is None:
        return False
    dy = (current.latitude - previous.latitude) * _M_PER_DEG
    dx = (current.longitude - previous.longitude) * _M_PER_DEG * math.cos(math.radians(current.latitude))
    return dx * dx + dy * dy >= (0.9 * settings.min_jump_m) ** 2


def impossible_jump(previous: Position | None, current: Position, settings: AlertSettings) -> Raise | None:
    """A `Raise` when the worker moved between two fixes faster than any vehicle could."""
    if previous is None or previous.mock or current.mock:
        return None
    dt_s = (current.fix_time - previous.fix_time).total_seconds()
    if dt_s <= 0:
        return None
    # A cheap flat-earth bound first (most fixes are a few metres apart); the sphere only for real candidates.
    dy = (current.latitude - previous.latitude) * _M_PER_DEG
    dx = (current.longitude - previous.longitude) * _M_PER_DEG * math.cos(math.radians(current.latitude))
    if math.hypot(dx, dy) < 0.9 * settings.min_jump_m:
        return None
    distance_m = haversine_m(previous.point, current.point)
    if distance_m < settings.min_jump_m:
        return None
    speed = distance_m / dt_s
    if speed <= settings.max_speed_mps:
        return None
    reason = (
        f"moved {distance_m / 1000:.1f} km in {dt_s:.0f} s ({speed * 3.6:.0f} km/h; "
        f"limit {settings.max_speed_mps * 3.6:.0f} km/h)"
    )
    return Raise(AlertKind.IMPOSSIBLE_JUMP, current.worker_id, None, current.fix_time, reason)


# Time-based ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NextVisit:
    """The worker's next unfinished order, with the travel time from their last fix to its site."""

    order_id: int
    window_end: datetime
    eta_s: float


@dataclass(frozen=True, slots=True)
class WorkerWatch:
    """What the periodic rules look at for one worker.

    `recent` are the worker's fixes of the last `max(off_route_after_s, long_stop_after_s)` seconds,
    oldest first (the last fix of all is `last_fix`). `route` is the worker's planned stops for the
    day in order (their start point first); empty when they have no plan. `on_route` says whether they are out
    on it: they set off for one of its visits (en route, on site, done or failed) and have not finished them all.
    `at_site` says whether the last fix is inside any site's geofence. `break_window` is when their break may start
    today (`dispatch.workers.break_window`; None: no break). `home` is their home base, where their day starts.
    `shift_start` is when the shift they are on began (None: not known). `rested_until` is when the break they took
    earlier in today's break window ended (`break_taken`; None: not taken, or not looked up): the window's allowance
    covers one break, so a later stop is a long stop as at any other hour.
    """

    worker_id: int
    on_shift: bool
    last_fix: Position | None
    recent: tuple[Position, ...] = ()
    next_visit: NextVisit | None = None
    route: tuple[LatLon, ...] = ()
    on_route: bool = False
    at_site: bool = False
    break_window: tuple[datetime, datetime] | None = None
    home: LatLon | None = None
    shift_start: datetime | None = None
    rested_until: datetime | None = None


def periodic_alerts(now: datetime, watches: Iterable[WorkerWatch], settings: AlertSettings) -> list[Decision]:
    """What the time-based rules raise or clear at `now` for every watched worker."""
    out: list[Decision] = []
    for watch in watches:
        out.extend(offline(now, watch, settings))
        out.extend(late_risk(now, watch, settings))
        out.extend(off_route(now, watch, settings))
        out.extend(long_stop(now, watch, settings))
    return out


def offline(now: datetime, watch: WorkerWatch, settings: AlertSettings) -> list[Decision]:
    """On shift with no fix for `offline_after_s`: raised; a worker off shift or reporting clears it.

    Only the silence on shift counts: a phone last heard of yesterday evening is not offline a minute into the
    morning's shift (`WorkerWatch.shift_start`), only once the shift has gone `offline_after_s` without a fix.
    """
    w = watch.worker_id
    if not watch.on_shift:
        return [Clear(AlertKind.OFFLINE, w, None, now, "off shift")]
    last = watch.last_fix
    if last is None:
        return []  # never reported: nothing to compare with (their day may not have begun)
    silent_since = max(last.fix_time, watch.shift_start) if watch.shift_start is not None else last.fix_time
    silent_s = (now - silent_since).total_seconds()
    if silent_s > settings.offline_after_s:
        return [
            Raise(
                AlertKind.OFFLINE, w, None, now,
                f"no fix for {silent_s / 60:.0f} min on shift (alert after {settings.offline_after_s / 60:.0f} min)",
            )
        ]  # fmt: skip
    return [Clear(AlertKind.OFFLINE, w, None, now, "reporting again")]


def late_risk(now: datetime, watch: WorkerWatch, settings: AlertSettings) -> list[Decision]:
    """The ETA from the last fix to the next visit passes its window's end: raised; reachable again: cleared."""
    visit = watch.next_visit
    if visit is None:
        return []
    w = watch.worker_id
    arrival_s = visit.eta_s
    late_s = (now - visit.window_end).total_seconds() + arrival_s
    if late_s > settings.late_risk_margin_s:
        reason = f"arrives about {late_s / 60:.0f} min after the window ends ({visit.eta_s / 60:.0f} min away)"
        return [Raise(AlertKind.LATE_RISK, w, visit.order_id, now, reason)]
    return [Clear(AlertKind.LATE_RISK, w, visit.order_id, now, "the window can be reached")]


def distance_to_route_m(point: LatLon, route: Sequence[LatLon]) -> float:
    """How far `point` is from the polyline through `route` (straight legs between stops), in metres."""
    if not route:
        return math.inf
    if len(route) == 1:
        return haversine_m(point, route[0])
    best = math.inf
    kx = math.cos(math.radians(point.lat))
    for a, b in zip(route, route[1:], strict=False):
        # A local flat projection around `point`: exact enough for legs of a few kilometres.
        ax, ay = (a.lon - point.lon) * kx, a.lat - point.lat
        bx, by = (b.lon - point.lon) * kx, b.lat - point.lat
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        f = 0.0 if length2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length2))
        nearest = LatLon(point.lat + ay + f * dy, point.lon + (ax + f * dx) / kx)
        best = min(best, haversine_m(point, nearest))
    return best


SET_OFF = frozenset({OrderStatus.EN_ROUTE, OrderStatus.ON_SITE, OrderStatus.DONE, OrderStatus.FAILED})
"""A worker with a visit of their route in one of these has set off on it."""
FINISHED = frozenset({OrderStatus.DONE, OrderStatus.FAILED, OrderStatus.CANCELLED})
"""A worker whose route's visits are all in these is through with it."""


def out_on_route(statuses: Iterable[OrderStatus]) -> bool:
    """Whether a worker whose route's visits (those still theirs) are in `statuses` is out on it (`on_route`)."""
    seen = list(statuses)
    return any(s in SET_OFF for s in seen) and not all(s in FINISHED for s in seen)


def off_route(now: datetime, watch: WorkerWatch, settings: AlertSettings) -> list[Decision]:
    """Every fix of the last `off_route_after_s` farther than `off_route_m` from the planned route: raised.

    Only while the worker is out on the route (`WorkerWatch.on_route`): before setting off for its first visit they
    may be anywhere (lateness is `late_risk`'s), and after its last one they are on their way home.
    """
    if not watch.route or watch.last_fix is None:
        return []
    w = watch.worker_id
    if not watch.on_shift:
        return [Clear(AlertKind.OFF_ROUTE, w, None, now, "off shift")]
    if not watch.on_route:
        return [Clear(AlertKind.OFF_ROUTE, w, None, now, "not out on the route")]
    if _silent(now, watch, settings):
        return []  # no recent fix: `offline` says so; where they are now is not known
    last_m = distance_to_route_m(watch.last_fix.point, watch.route)
    if last_m <= settings.off_route_m:
        return [Clear(AlertKind.OFF_ROUTE, w, None, now, "back on the planned route")]
    window = _span(watch.recent, now, settings.off_route_after_s)
    if window is None or any(distance_to_route_m(p.point, watch.route) <= settings.off_route_m for p in window):
        return []
    reason = (
        f"{last_m / 1000:.1f} km from the planned route for {settings.off_route_after_s / 60:.0f} min "
        f"(alert beyond {settings.off_route_m:.0f} m)"
    )
    return [Raise(AlertKind.OFF_ROUTE, w, None, now, reason)]


def long_stop(now: datetime, watch: WorkerWatch, settings: AlertSettings) -> list[Decision]:
    """Stopped (within `long_stop_radius_m`) away from every site and from home for `long_stop_after_s`: raised;
    moving, at a site or at home (within `home_radius_m` of their home base) clears.

    A worker with a published route is watched only while out on it (`WorkerWatch.on_route`): waiting at home for a
    first visit later in the morning, or home after the last one, is no exception. Without one, all shift long.
    Within their break window a stop may last the break too (`long_stop_s`): a lunch break is no exception.
    """
    if watch.last_fix is None:
        return []
    w = watch.worker_id
    if not watch.on_shift:
        return [Clear(AlertKind.LONG_STOP, w, None, now, "off shift")]
    if watch.route and not watch.on_route:
        return [Clear(AlertKind.LONG_STOP, w, None, now, "not out on the route")]
    if _silent(now, watch, settings):
        return []  # no recent fix: `offline` says so; a silent phone is not a stopped worker
    after_s = long_stop_s(now, watch.break_window, settings, rested=watch.rested_until is not None)
    last = watch.last_fix.point
    moved = any(
        haversine_m(p.point, last) > settings.long_stop_radius_m
        for p in watch.recent
        if (now - p.fix_time).total_seconds() <= after_s
    )
    at_home = watch.home is not None and haversine_m(last, watch.home) <= settings.home_radius_m
    if watch.at_site or at_home or moved:
        reason = "at a site" if watch.at_site else "at their home base" if at_home else "moving again"
        return [Clear(AlertKind.LONG_STOP, w, None, now, reason)]
    if _span(watch.recent, now, after_s) is None:
        return []  # still, but not seen for `after_s` yet (e.g. a stop begun before the break window opened)
    reason = f"stopped away from any site or home for over {after_s / 60:.0f} min"
    if after_s > settings.long_stop_after_s:
        reason += f" (in the break window: {BREAK_S / 60:.0f} min of break allowed)"
    return [Raise(AlertKind.LONG_STOP, w, None, now, reason)]


def long_stop_s(
    now: datetime, break_window: tuple[datetime, datetime] | None, settings: AlertSettings, *, rested: bool = False
) -> float:
    """How long a worker may stand still away from sites at `now` before `long_stop` is raised: `long_stop_after_s`,
    plus the break (`BREAK_S`) from when their break window opens until a break begun at its latest start would
    have become a long stop (a 07:00-19:00 shift, 20 min: 50 min from 11:00 to 15:50), unless they `rested` already
    (`break_taken`)."""
    if break_window is None or rested:
        return settings.long_stop_after_s
    opens, latest = break_window
    if opens <= now <= latest + timedelta(seconds=BREAK_S + settings.long_stop_after_s):
        return settings.long_stop_after_s + BREAK_S
    return settings.long_stop_after_s


def may_be_on_break(now: datetime, watch: WorkerWatch, settings: AlertSettings) -> bool:
    """Whether `long_stop` at `now` hangs on `break_taken`: a worker on shift, in the break's allowance, still away from
    sites and home for over `long_stop_after_s` (what would be a long stop at any other hour). Only then does the
    evaluator read the fixes since the window opened; otherwise the verdict is the same either way."""
    last = watch.last_fix
    if last is None or not watch.on_shift or watch.at_site or watch.rested_until is not None:
        return False
    if long_stop_s(now, watch.break_window, settings) <= settings.long_stop_after_s or _silent(now, watch, settings):
        return False
    if watch.home is not None and haversine_m(last.point, watch.home) <= settings.home_radius_m:
        return False
    span = _span(watch.recent, now, settings.long_stop_after_s)
    return span is not None and all(haversine_m(p.point, last.point) <= settings.long_stop_radius_m for p in span)


REST_FIX_EVERY_S = 30.0
"""`rests` looks at a fix every this many seconds (and the last): a stop of 20 minutes shows as well, and a phone
reporting every 5 s costs a sixth of the work (5 h of 5-second fixes, a throwaway loop on a busy machine: 37-100 ms
with every fix, 7-9 ms thinned, the same break found)."""


def rests(fixes: Sequence[Position], settings: AlertSettings, *, on_site: Callable[[LatLon], bool]) -> list[Stop]:
    """The rests in a worker's fixes (oldest first): stops (`dispatch.trajectory.detect_stops`, within
    `long_stop_radius_m`, over a fix every `REST_FIX_EVERY_S`) of `long_stop_after_s` or more away from every site (a
    visit is work). In the break window only its allowance lets a worker stand still that long, so such a stop there
    is their break; one at home counts (lunch at home). The last may be going on (it ends at the last fix)."""
    params = StopParams(radius_m=settings.long_stop_radius_m, min_duration_s=settings.long_stop_after_s)
    return [s for s in detect_stops(_thinned(fixes, REST_FIX_EVERY_S), params) if not on_site(s.location)]


def _thinned(fixes: Sequence[Position], every_s: float) -> list[Position]:
    """A fix at least every `every_s` after the one kept before it, and the last."""
    kept: list[Position] = []
    for i, fix in enumerate(fixes):
        if not kept or (fix.fix_time - kept[-1].fix_time).total_seconds() >= every_s or i == len(fixes) - 1:
            kept.append(fix)
    return kept


def break_taken(
    fixes: Sequence[Position], settings: AlertSettings, *, on_site: Callable[[LatLon], bool]
) -> datetime | None:
    """When the break a worker took before the stop they are in now ended, from their fixes since the break window
    opened (oldest first): the first of their `rests` that is over (not the one going on at the last fix, which may be
    the break itself); None when they took none."""
    over = [r for r in rests(fixes, settings, on_site=on_site) if fixes and r.end < fixes[-1].fix_time]
    return over[0].end if over else None


def break_begun(
    fixes: Sequence[Position], settings: AlertSettings, *, on_site: Callable[[LatLon], bool]
) -> tuple[datetime, datetime] | None:
    """The break a worker began, from their fixes since their break window opened (oldest first): the first of their
    `rests`, from its first fix to its last; one still going on at the last fix lasts the break (`BREAK_S`) at least.
    None when no rest shows (a plan then keeps the break ahead of them)."""
    found = rests(fixes, settings, on_site=on_site)
    if not found:
        return None
    rest = found[0]
    going_on = rest.end >= fixes[-1].fix_time
    return rest.start, max(rest.end, rest.start + timedelta(seconds=BREAK_S)) if going_on else rest.end


def _silent(now: datetime, watch: WorkerWatch, settings: AlertSettings) -> bool:
    last = watch.last_fix
    return last is None or (now - last.fix_time).total_seconds() > settings.offline_after_s


def _span(recent: Sequence[Position], now: datetime, seconds: float) -> list[Position] | None:
    """The fixes of the last `seconds` before `now`, or None when they do not cover that long."""
    if not recent or (now - recent[0].fix_time).total_seconds() < seconds:
        return None
    return [p for p in recent if (now - p.fix_time).total_seconds() <= seconds]


# Geofence events: auto-arrival and leaving without checking out -----------------------------------


ARRIVES_FROM: frozenset[OrderStatus] = frozenset({OrderStatus.ASSIGNED, OrderStatus.ACCEPTED, OrderStatus.EN_ROUTE})


ARRIVAL_LEAD = timedelta(hours=1)
"""How long before its window opens an order not yet set off for can arrive by the geofence (`auto_arrival`)."""


def auto_arrival(
    event: GeofenceEvent, worker_orders: Sequence[WorkOrder], auto_types: frozenset[OrderType]
) -> Transitioned | Refused | None:
    """The order that becomes on site when the worker entered `event.site_id`'s geofence, or None.

    The order is the worker's assigned, accepted or en-route order at that site of a type in
    `auto_types`, earliest window first; one they have not set off for (assigned, accepted) only from
    `ARRIVAL_LEAD` before its window opens: a worker passing a site in the morning, or waiting at home next to it,
    has not arrived for its afternoon visit. Refused when the worker is still on site at another order.
    The change (`dispatch.lifecycle.geofence_arrival`) records source "geofence" and the crossing's fix time.
    """
    if event.type is not FenceEventType.ENTER:
        return None
    here = [
        o
        for o in worker_orders
        if o.site_id == event.site_id
        and o.assigned_worker_id == event.worker_id
        and o.status in ARRIVES_FROM
        and o.type in auto_types
        and (o.status is OrderStatus.EN_ROUTE or event.at >= o.window.start - ARRIVAL_LEAD)
    ]
    if not here:
        return None
    order = min(here, key=lambda o: (o.window.start, o.id))
    return geofence_arrival(order, at=event.at, worker_orders=worker_orders)


def left_site(event: GeofenceEvent, worker_orders: Sequence[WorkOrder]) -> list[Raise]:
    """A `Raise` for each order the worker is on site at when they leave its site's geofence."""
    if event.type is not FenceEventType.EXIT:
        return []
    return [
        Raise(
            AlertKind.LEFT_SITE_WITHOUT_CHECK_OUT,
            event.worker_id,
            o.id,
            event.at,
            f"left the site of order {o.id} while on site, without checking out",
        )
        for o in worker_orders
        if o.site_id == event.site_id and o.status is OrderStatus.ON_SITE and o.assigned_worker_id == event.worker_id
    ]


# Stored alerts -----------------------------------------------------------------------------------


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"  # the condition ended by itself (a condition kind only)


def open_key(kind: AlertKind, worker_id: int | None, order_id: int | None) -> str:
    """The key only one open alert may hold at a time: one per kind, worker and order."""
    return f"{kind.value}:{worker_id or 0}:{order_id or 0}"


def open_key_workers(open_keys: Iterable[str]) -> set[int]:
    """The workers named by these `open_key`s (a key that names no worker id is left out)."""
    out: set[int] = set()
    for key in open_keys:
        try:
            out.add(int(key.split(":", 2)[1]))
        except (IndexError, ValueError):
            continue
    return out


@dataclass(frozen=True, slots=True)
class Alert:
    """A stored alert, as the API and the exceptions panel show it."""

    id: int
    kind: AlertKind
    worker_id: int | None
    order_id: int | None
    raised_at: datetime
    reason: str
    status: AlertStatus
    note: str = ""
    acknowledged_by: int | None = None
    acknowledged_at: datetime | None = None
    cleared_at: datetime | None = None

    @property
    def severity(self) -> int:
        return SEVERITY[self.kind]


def panel_order(alerts: Iterable[Alert]) -> list[Alert]:
    """Most severe first, then newest first (then highest id, so the order is total)."""
    return sorted(alerts, key=lambda a: (a.severity, -a.raised_at.timestamp(), -a.id))
