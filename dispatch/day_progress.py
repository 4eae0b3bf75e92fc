"""A working day as it stands at a given moment: who did which order when, and where everyone is now.

The demo opens on a day in progress (orders done this morning, some workers on site or on their way
now, the rest later). This module decides that day from its orders, its workers and `now`, with no
storage and no wall clock: the caller passes `now` (a `Clock`'s) and gets the steps each order went
through, to record through the lifecycle, and each worker's place at `now`.

The day is worked greedily in window order, as a dispatcher planning the morning would: each order
goes to the qualified worker on shift who reaches it first (straight-line driving at `speed_mps`
with a detour factor), who sets off when free, waits for the window to open, and stays the service
time; each worker takes one 30-minute break once past the middle of their shift. Orders nobody can
reach in their window, and a share of the orders not started yet (`unassigned_later`), stay new:
the dispatcher's work. Everything random comes from the `rng` passed in.

A past day with a published plan is worked by `worked_as_planned` instead: the plan's routes, strayed from as the
field strays (`FieldRealism`). `day_track` lays either day's drives along the roads as a phone's fixes.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dispatch.geo import LatLon, haversine_m
from dispatch.orders import OrderStatus, TimeWindow
from dispatch.road_path import RoadRoute
from dispatch.traffic import Traffic
from dispatch.workers import Shift

S = OrderStatus
BREAK = timedelta(minutes=30)
PLANNED_BEFORE_SHIFT = timedelta(minutes=20)
"""The dispatcher assigns a worker's first orders this long before their shift starts."""
ACCEPTED_AFTER = timedelta(minutes=5)
"""A worker accepts an order this long after it was assigned to them."""


@dataclass(frozen=True, slots=True)
class DayWorker:
    id: int
    skills: frozenset[str]
    shift: Shift
    home: LatLon


@dataclass(frozen=True, slots=True)
class DayOrder:
    id: int
    site: LatLon
    skills: frozenset[str]
    window: TimeWindow
    service_s: int


@dataclass(frozen=True, slots=True)
class Step:
    """One status an order reached, and when."""

    status: OrderStatus
    at: datetime
    reason: str = ""
    """Why, for a status that needs one (a visit given up on site: FAILED)."""


@dataclass(frozen=True, slots=True)
class OrderProgress:
    """An order as it stands at `now`: its worker (None: still new) and the statuses it went through."""

    order_id: int
    worker_id: int | None
    steps: tuple[Step, ...]

    @property
    def status(self) -> OrderStatus:
        return self.steps[-1].status if self.steps else S.NEW


@dataclass(frozen=True, slots=True)
class Trip:
    """A worker's drive from `origin` (set off at `depart`) to an order's `site` (arrived at `arrive`), and when the
    visit there was over (`done`)."""

    worker_id: int
    depart: datetime
    arrive: datetime
    done: datetime
    origin: LatLon
    site: LatLon


@dataclass(frozen=True, slots=True)
class DayAtNow:
    """Every order's progress, and where each worker is at `now` (on site, part way, or where they stopped last);
    `trips` are the day's drives, those still ahead of `now` included, in the order they set off."""

    orders: tuple[OrderProgress, ...]
    places: dict[int, LatLon]
    trips: tuple[Trip, ...] = ()


@dataclass(slots=True)
class _Free:
    at: datetime
    place: LatLon
    shift_start: datetime
    shift_end: datetime
    break_taken: bool = False
    planned: datetime | None = None  # when the dispatcher handed this worker their day


def drive_s(a: LatLon, b: LatLon, *, speed_mps: float, detour: float) -> float:
    return haversine_m(a, b) * detour / speed_mps


def day_at(
    day: date,
    orders: Sequence[DayOrder],
    workers: Sequence[DayWorker],
    *,
    now: datetime,
    rng: random.Random,
    unassigned_later: float = 0.35,
    speed_mps: float = 7.0,
    detour: float = 1.3,
    assign_ahead: bool = False,
) -> DayAtNow:
    """The day's orders and workers as they stand at `now` (aware). Each shift is read on `day` and on the next day
    in its own zone (the office's or the worker's: 08:00 in Monaco is 07:00 UTC in winter), whatever `now`'s zone,
    so orders past midnight are worked by the next day's shifts (a round-the-clock rota's night shift); a shift to
    24:00 followed by one from 00:00 the next day runs on through midnight as one.

    With `assign_ahead` the dispatcher hands out at `now` the work they would hand out later (but for the
    `unassigned_later` share, left new): the orders are assigned for the rest of the day, none yet accepted."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    free: dict[tuple[int, int], _Free] = {}  # by worker id and the shift's occurrence (0: on `day`, 1: after)
    for w in workers:
        for n, (start, end) in enumerate(_spans(w.shift, day)):
            free[w.id, n] = _Free(start, w.home, start, end)
    by_id = {w.id: w for w in workers}
    progress: list[OrderProgress] = []
    trips: dict[int, list[Trip]] = {w.id: [] for w in workers}
    for o in sorted(orders, key=lambda o: (o.window.start, o.id)):
        best: tuple[datetime, tuple[int, int], datetime] | None = None  # arrival, worker and occurrence, departure
        for key, f in free.items():
            if not o.skills <= by_id[key[0]].skills:
                continue
            ready = f.at
            if not f.break_taken and ready >= f.shift_start + (f.shift_end - f.shift_start) / 2:
                ready += BREAK
            travel = timedelta(seconds=drive_s(f.place, o.site, speed_mps=speed_mps, detour=detour))
            depart = max(ready, o.window.start - travel)
            arrive = depart + travel
            if arrive > o.window.end or arrive + timedelta(seconds=o.service_s) > f.shift_end:
                continue
            if best is None or (arrive, key) < (best[0], best[1]):
                best = (arrive, key, depart)
        if best is None:
            progress.append(OrderProgress(o.id, None, ()))
            continue
        arrive, key, depart = best
        wid, f = key[0], free[key]
        assigned = f.shift_start - PLANNED_BEFORE_SHIFT if depart <= f.shift_start + timedelta(hours=4) else None
        if assigned is None:
            # Later work is handed out during the day, an hour or two before the worker sets off; some is not yet.
            assigned = depart - timedelta(minutes=rng.choice((60, 90, 120)))
            if assigned > now and rng.random() < unassigned_later:
                progress.append(OrderProgress(o.id, None, ()))
                continue
        if assigned > now:
            if not assign_ahead:
                progress.append(OrderProgress(o.id, None, ()))
                continue
            assigned = now
        done = arrive + timedelta(seconds=o.service_s)
        timeline = (
            Step(S.ASSIGNED, assigned),
            Step(S.ACCEPTED, min(assigned + ACCEPTED_AFTER, depart)),
            Step(S.EN_ROUTE, depart),
            Step(S.ON_SITE, arrive),
            Step(S.DONE, done),
        )
        progress.append(OrderProgress(o.id, wid, tuple(s for s in timeline if s.at <= now)))
        if not f.break_taken and f.at >= f.shift_start + (f.shift_end - f.shift_start) / 2:
            f.break_taken = True  # the 30 minutes were added before this departure
        trips[wid].append(Trip(wid, depart, arrive, done, f.place, o.site))
        f.at, f.place = done, o.site
    drives = sorted((t for legs in trips.values() for t in legs), key=lambda t: (t.depart, t.worker_id))
    return DayAtNow(tuple(sorted(progress, key=lambda p: p.order_id)), _places(trips, workers, now), tuple(drives))


@dataclass(frozen=True, slots=True)
class RouteStop:
    """A visit of a published route: the order, where and when it may be served, and what the plan gave it (the drive
    there from the place before, the service time, the planned arrival)."""

    order_id: int
    site: LatLon
    window: TimeWindow
    drive: timedelta
    service: timedelta
    arrive: datetime


@dataclass(frozen=True, slots=True)
class RouteToWork:
    """A worker's published route of the day: from `home` at `depart`, the `stops` in order, and the plan's break
    (30 minutes) after `break_after` of them, planned to begin at `break_at` (None: the route has no break)."""

    worker_id: int
    home: LatLon
    depart: datetime
    shift_end: datetime
    stops: tuple[RouteStop, ...]
    break_after: int | None = None
    break_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FieldRealism:
    """How a day worked in the field strays from its plan (`worked_as_planned`).

    A drive takes the plan's time times a log-normal factor (`drive_spread`, drawn around `drive_bias`: traffic is
    slower than the road network's free flow); a service the plan's time times another (`service_spread`); a share of
    the workers set off late by a few minutes (`late_start_share`, up to `late_start_s`); a share of the visits is
    given up on site (`fail_share`, after a few minutes, with one of `fail_reasons`); a worker stops taking visits they
    could not reach before their shift's end plus `overtime` (those stay theirs, undone). With `traffic`, a drive also
    takes the slowdown of the hour it sets off in (the town's rush hours), which the plan did not know."""

    drive_bias: float = 0.08
    drive_spread: float = 0.2
    service_spread: float = 0.25
    late_start_share: float = 0.15
    late_start_s: int = 1200
    fail_share: float = 0.03
    fail_reasons: tuple[str, ...] = ("customer not at home", "part not in the van", "site closed on arrival")
    overtime: timedelta = timedelta(minutes=30)
    traffic: Traffic | None = None


FIELD_REALISM = FieldRealism()
"""How the demo's past days stray from their plans."""

LUNCH_EARLY = timedelta(minutes=15)
"""A worker free before the plan's break begins takes it no earlier than this before."""


def worked_as_planned(
    routes: Sequence[RouteToWork],
    *,
    assigned_at: datetime,
    rng: random.Random,
    realism: FieldRealism = FIELD_REALISM,
) -> DayAtNow:
    """The day as the field worked its published `routes`, to their end: every visit assigned at `assigned_at` (when
    the plan was published) and accepted a few minutes later, then driven to, served and checked out in the route's
    order, the drives and services taking longer or shorter than planned (`realism`, drawn from `rng`), so some
    visits are late and some routes run over. A worker there before the window opens checks in (ON_SITE) when it
    does; their trip's `arrive` is when they got there. A worker sets off for each visit when the plan has them leave (not
    before), takes the break where the plan has it, and gives up a few visits on site (FAILED, with a reason). A
    visit they could not reach before their shift's end plus `realism.overtime` is left assigned and undone."""
    progress: list[OrderProgress] = []
    trips: list[Trip] = []
    places: dict[int, LatLon] = {}
    accepted = assigned_at + ACCEPTED_AFTER
    for route in routes:
        free, place = route.depart, route.home
        if rng.random() < realism.late_start_share:
            free += timedelta(seconds=rng.randint(60, realism.late_start_s))
        for n, stop in enumerate(route.stops):
            if route.break_after == n and route.break_at is not None:
                free = max(free, route.break_at - LUNCH_EARLY) + BREAK
            drive = stop.drive * rng.lognormvariate(realism.drive_bias, realism.drive_spread)
            depart = max(free, stop.arrive - stop.drive)
            if realism.traffic is not None:
                drive *= realism.traffic.slowdown_at(depart)
            arrive = depart + drive
            if arrive > route.shift_end + realism.overtime:  # this one and the rest are left for another day
                progress.extend(
                    OrderProgress(
                        s.order_id, route.worker_id, (Step(S.ASSIGNED, assigned_at), Step(S.ACCEPTED, accepted))
                    )
                    for s in route.stops[n:]
                )
                break
            service = max(timedelta(minutes=5), stop.service * rng.lognormvariate(0.0, realism.service_spread))
            begun = max(arrive, stop.window.start)
            end, reason = begun + service, ""
            if rng.random() < realism.fail_share:
                end, reason = begun + timedelta(minutes=rng.randint(3, 10)), rng.choice(realism.fail_reasons)
            steps = (
                Step(S.ASSIGNED, assigned_at),
                Step(S.ACCEPTED, accepted),
                Step(S.EN_ROUTE, depart),
                Step(S.ON_SITE, begun),  # there early, they check in when the window opens
                Step(S.FAILED, end, reason) if reason else Step(S.DONE, end),
            )
            progress.append(OrderProgress(stop.order_id, route.worker_id, steps))
            trips.append(Trip(route.worker_id, depart, arrive, end, place, stop.site))
            free, place = end, stop.site
        places[route.worker_id] = place
    drives = sorted(trips, key=lambda t: (t.depart, t.worker_id))
    return DayAtNow(tuple(sorted(progress, key=lambda p: p.order_id)), places, tuple(drives))


ANSWER_SHARE = 0.35
"""The share of customers who rate a visit done (`customer_rating`)."""
RATINGS = (5, 4, 3, 2, 1)
ON_TIME_WEIGHTS = (55, 30, 10, 3, 2)
LATE_WEIGHTS = (15, 25, 30, 18, 12)


def customer_rating(late_s: float, rng: random.Random) -> int | None:
    """The rating (1-5) a customer gives a visit begun `late_s` after its window closed (0: within it), or None for the
    customers who do not answer (most). A late visit is rated lower."""
    if rng.random() >= ANSWER_SHARE:
        return None
    return rng.choices(RATINGS, weights=LATE_WEIGHTS if late_s > 0 else ON_TIME_WEIGHTS)[0]


CLOCK_LATE_S = 300
"""The seeded day's staff clock in (and out) within this many seconds after their shift starts (and ends)."""


@dataclass(frozen=True, slots=True)
class ClockMark:
    """A clock-in ("in") or clock-out ("out") of a worker's shift, at `at`."""

    worker_id: int
    kind: str
    at: datetime


HOME_AGAIN = timedelta(minutes=20)
"""A worker whose last visit ran past their shift's end clocks out this long after it (back at home)."""


def clock_marks(
    day: date, workers: Sequence[DayWorker], *, now: datetime, rng: random.Random, trips: Sequence[Trip] = ()
) -> list[ClockMark]:
    """The clock-ins and clock-outs of the shifts on `day` (and their run into the next, `_spans`) up to `now`: each
    worker clocks in a few minutes after their shift starts and out a few minutes after it ends, or after they are
    home from a last visit of `trips` that ran past the end (overtime)."""
    marks: list[ClockMark] = []
    for w in workers:
        for start, end in _spans(w.shift, day):
            done = [t.done for t in trips if t.worker_id == w.id and start <= t.depart < end]
            out = max([end, *(d + HOME_AGAIN for d in done)])
            for kind, at in (("in", start), ("out", out)):
                moment = at + timedelta(seconds=rng.uniform(0, CLOCK_LATE_S))
                if moment <= now:
                    marks.append(ClockMark(w.id, kind, moment))
    return sorted(marks, key=lambda m: (m.at, m.worker_id))


def _spans(shift: Shift, day: date) -> list[tuple[datetime, datetime]]:
    """`[start, end)` in UTC of the shift on `day` and on the next day (when it works those weekdays), the two as
    one when they meet (00:00-24:00 on both)."""
    spans: list[tuple[datetime, datetime]] = []
    for d in (day, day + timedelta(days=1)):
        if d.weekday() not in shift.weekdays:
            continue
        start, end = shift.span_on(d)
        if spans and spans[-1][1] == start:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def could_serve(shift: Shift, window: TimeWindow, service_s: int, *, travel: timedelta) -> bool:
    """Whether a worker on `shift` could serve an order with this window: setting off from home when some occurrence of
    the shift starts (or later), `travel` to the site, arriving within the window, and done before the shift ends."""
    day = window.start.astimezone(shift.zone).date()
    for d in (day - timedelta(days=1), day, day + timedelta(days=1)):
        if d.weekday() not in shift.weekdays:
            continue
        start, end = shift.span_on(d)
        arrive = max(window.start, start + travel)
        if arrive <= window.end and arrive + timedelta(seconds=service_s) <= end:
            return True
    return False


def _places(trips: dict[int, list[Trip]], workers: Sequence[DayWorker], now: datetime) -> dict[int, LatLon]:
    places: dict[int, LatLon] = {}
    for w in workers:
        here = w.home
        for t in sorted(trips.get(w.id, []), key=lambda t: t.depart):
            depart, arrive, origin, site = t.depart, t.arrive, t.origin, t.site
            if now < depart:
                break
            if now >= arrive:
                here = site
                continue
            share = (now - depart) / (arrive - depart) if arrive > depart else 1.0
            here = LatLon(origin.lat + (site.lat - origin.lat) * share, origin.lon + (site.lon - origin.lon) * share)
            break
        places[w.id] = here
    return places


@dataclass(frozen=True, slots=True)
class TrackFix:
    """One fix of a worker's phone on a day worked by `day_at`: where, when, and how fast (m/s)."""

    worker_id: int
    at: datetime
    point: LatLon
    speed_mps: float
    bearing_deg: float


HOME_AFTER = timedelta(minutes=5)
"""A worker sets off home this long after their last visit is over."""


def day_track(
    worker: DayWorker,
    trips: Sequence[Trip],
    span: tuple[datetime, datetime],
    route_of: Callable[[LatLon, LatLon], RoadRoute],
    *,
    rng: random.Random,
    still_every_s: float = 120.0,
    drive_every_s: float = 15.0,
) -> list[TrackFix]:
    """The fixes a worker's phone took over their shift `span`, worked as `trips` (theirs, in order) say.

    They stand at home from the shift's start, drive each trip along `route_of(origin, site)` (the road route, its
    time stretched to the trip's), stand at the site until the next, and drive home after the last visit; a fix every
    `drive_every_s` while driving and every `still_every_s` while standing (a few metres of GPS noise from `rng`).
    """
    start, end = span
    # Each leg's road route is asked for once, and only for the legs begun before `end`.
    legs: list[tuple[datetime, datetime, LatLon, LatLon, RoadRoute | None]] = [
        (t.depart, t.arrive, t.origin, t.site, None) for t in trips
    ]
    if trips and trips[-1].site != worker.home:
        last = trips[-1]
        home = route_of(last.site, worker.home)  # its length says when they are home
        leave = max(last.done, last.arrive) + HOME_AFTER
        legs.append((leave, leave + timedelta(seconds=home.duration_s), last.site, worker.home, home))
    fixes: list[TrackFix] = []
    place, t = worker.home, start
    for depart, arrive, origin, site, known in legs:
        fixes.extend(_standing(worker.id, place, t, min(depart, end), still_every_s, rng))
        if depart >= end:
            return fixes
        route = known or route_of(origin, site)
        fixes.extend(_driving(worker.id, route, depart, min(arrive, end), arrive, drive_every_s))
        place, t = site, arrive
    fixes.extend(_standing(worker.id, place, t, end, still_every_s, rng))
    return fixes


def _standing(
    worker_id: int, place: LatLon, start: datetime, end: datetime, every_s: float, rng: random.Random
) -> list[TrackFix]:
    out = []
    t = start
    while t < end:
        noise = LatLon(place.lat + rng.gauss(0, 2e-5), place.lon + rng.gauss(0, 3e-5))  # about 2-3 m
        out.append(TrackFix(worker_id, t, noise, 0.0, 0.0))
        t += timedelta(seconds=every_s)
    return out


def _driving(
    worker_id: int, route: RoadRoute, depart: datetime, until: datetime, arrive: datetime, every_s: float
) -> list[TrackFix]:
    out = []
    took_s = max(1.0, (arrive - depart).total_seconds())
    scale = route.duration_s / took_s  # the road route's own time against the trip's
    speed = route.distance_m / took_s
    t = depart
    while t < until:
        point, bearing, _ = route.position_at((t - depart).total_seconds() * scale)
        out.append(TrackFix(worker_id, t, point, speed, bearing))
        t += timedelta(seconds=every_s)
    return out
