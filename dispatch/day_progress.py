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
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from dispatch.geo import LatLon, haversine_m
from dispatch.orders import OrderStatus, TimeWindow
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
class DayAtNow:
    """Every order's progress, and where each worker is at `now` (on site, part way, or where they stopped last)."""

    orders: tuple[OrderProgress, ...]
    places: dict[int, LatLon]


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
    """The day's orders and workers as they stand at `now` (aware). Each shift is read on `day` in its own zone
    (the office's or the worker's: 08:00 in Monaco is 07:00 UTC in winter), whatever `now`'s zone; a shift to
    24:00 followed by one from 00:00 the next day runs on through midnight (orders after it may be worked).

    With `assign_ahead` the dispatcher hands out at `now` the work they would hand out later (but for the
    `unassigned_later` share, left new): the orders are assigned for the rest of the day, none yet accepted."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    free: dict[int, _Free] = {}
    for w in workers:
        if day.weekday() not in w.shift.weekdays:
            continue
        start, end = w.shift.span_on(day)
        if w.shift.ends_at_midnight and w.shift.start == time(0) and (day.weekday() + 1) % 7 in w.shift.weekdays:
            end = w.shift.span_on(day + timedelta(days=1))[1]
        free[w.id] = _Free(start, w.home, start, end)
    by_id = {w.id: w for w in workers}
    progress: list[OrderProgress] = []
    trips: dict[int, list[tuple[datetime, datetime, LatLon, LatLon]]] = {w: [] for w in free}
    for o in sorted(orders, key=lambda o: (o.window.start, o.id)):
        best: tuple[datetime, int, datetime] | None = None  # arrival, worker id, departure
        for wid, f in free.items():
            if not o.skills <= by_id[wid].skills:
                continue
            ready = f.at
            if not f.break_taken and ready >= f.shift_start + (f.shift_end - f.shift_start) / 2:
                ready += BREAK
            travel = timedelta(seconds=drive_s(f.place, o.site, speed_mps=speed_mps, detour=detour))
            depart = max(ready, o.window.start - travel)
            arrive = depart + travel
            if arrive > o.window.end or arrive + timedelta(seconds=o.service_s) > f.shift_end:
                continue
            if best is None or (arrive, wid) < (best[0], best[1]):
                best = (arrive, wid, depart)
        if best is None:
            progress.append(OrderProgress(o.id, None, ()))
            continue
        arrive, wid, depart = best
        f = free[wid]
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
        trips[wid].append((depart, arrive, f.place, o.site))
        f.at, f.place = done, o.site
    return DayAtNow(tuple(sorted(progress, key=lambda p: p.order_id)), _places(trips, workers, now))


def _places(
    trips: dict[int, list[tuple[datetime, datetime, LatLon, LatLon]]], workers: Sequence[DayWorker], now: datetime
) -> dict[int, LatLon]:
    places: dict[int, LatLon] = {}
    for w in workers:
        here = w.home
        for depart, arrive, origin, site in trips.get(w.id, []):
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
