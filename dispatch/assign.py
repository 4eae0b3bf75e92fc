"""Who should take an order: the qualification rules, a ranking that explains itself, and a fast path.

Every worker is either a `Candidate` (with ETA and score) or `Excluded` with one reason. The checks
run in a fixed order and the first that fails is the reason given:

    inactive → missing skill → no location → day full (orders) → no route → on leave
             → off shift (for travel + service) → day full (hours)

A worker travels from their *origin*: the freshest fix when there is one, else their home base.
Travel starts now, or later when the order's window opens later (the worker leaves in time to
arrive at the opening); the worker must be on shift, and not on leave, from leaving until the
service ends. Arriving after the window closes is not an exclusion (an overdue order still needs
someone): the candidate carries `late_s` so the console can say so.

Ranking: by `score_s` = ETA + `workload_penalty_s` × orders already booked today (urgent orders,
i.e. emergencies or priority <= `urgent_priority`, ignore workload: nearest at once), then by ETA,
then by worker id, so ties always break the same way.

Two ways to ask:

- `rank_candidates` looks at every worker and explains every one (the dispatcher's panel);
- `nearest_qualified` finds the same best candidate among thousands without looking at all of
  them, through a `WorkerIndex` (see its docstring for why it is exact), and `who_is_near` lists
  the N nearest available workers to a point the same way.
"""

from __future__ import annotations

import heapq
import math
from bisect import insort
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Protocol

from dispatch.geo import EARTH_RADIUS_M, LatLon, haversine_m
from dispatch.lifecycle import Refused, StatusChange, transition
from dispatch.localtime import local_day
from dispatch.orders import OrderStatus, OrderType, WorkOrder
from dispatch.positions import Position
from dispatch.sites import Site
from dispatch.workers import Shift, Worker


class TravelTime(Protocol):
    """Seconds to drive from a to b, None when there is no route (`routing.travel.TravelTimes` fits)."""

    def duration_s(self, a: LatLon, b: LatLon) -> float | None: ...


@dataclass(frozen=True, slots=True)
class Leave:
    """A period a worker is away (holiday, sick leave, training): [start, end), aware datetimes."""

    worker_id: int
    start: datetime
    end: datetime
    kind: str = "leave"

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("leave start and end must be timezone-aware")
        if self.end <= self.start:
            raise ValueError("leave end must be after its start")

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """Whether the leave shares any time with [start, end] (a zero-length span counts at its instant)."""
        return self.start <= end and start < self.end


@dataclass(frozen=True, slots=True)
class Workload:
    """What a worker already has booked today: how many orders and how many seconds (travel + service)."""

    orders_today: int = 0
    booked_s: float = 0.0

    def __post_init__(self) -> None:
        if self.orders_today < 0:
            raise ValueError("orders_today must be >= 0")
        if not (math.isfinite(self.booked_s) and self.booked_s >= 0):
            raise ValueError("booked_s must be finite and >= 0")


NO_WORKLOAD = Workload()


@dataclass(frozen=True, slots=True)
class AssignParams:
    """The tunable rules of assignment.

    `max_speed_mps` is a promise about the travel-time provider: no trip is faster on average than
    this (duration_s(a, b) >= haversine_m(a, b) / max_speed_mps). The fast path relies on it and
    raises if the provider breaks it. For `routing.travel.StraightLine` the tightest value is
    `speed_mps / detour_factor`; for road times, the fastest road's speed (40 m/s = 144 km/h).
    The tighter it is, the fewer workers the fast path needs to look at. `zone` is the office's clock: the
    times in exclusion reasons ("off shift at 14:30") read on it, and "today" is its local day.
    """

    max_speed_mps: float = 40.0
    max_orders_per_day: int = 8
    max_booked_s_per_day: float = 8 * 3600.0
    workload_penalty_s: float = 120.0
    urgent_priority: int = 1
    zone: tzinfo = UTC

    def __post_init__(self) -> None:
        if not (math.isfinite(self.max_speed_mps) and self.max_speed_mps > 0):
            raise ValueError(f"max_speed_mps {self.max_speed_mps!r} must be > 0")
        if self.max_orders_per_day < 1:
            raise ValueError("max_orders_per_day must be >= 1")
        if not self.max_booked_s_per_day > 0:
            raise ValueError("max_booked_s_per_day must be > 0")
        if not (math.isfinite(self.workload_penalty_s) and self.workload_penalty_s >= 0):
            raise ValueError("workload_penalty_s must be finite and >= 0 (the fast path relies on score >= ETA)")
        if not 0 <= self.urgent_priority <= 5:
            raise ValueError("urgent_priority must be within 0..5 (0 = no order counts as urgent by priority)")


class Exclusion(StrEnum):
    """Why a worker cannot take an order (the first failing check, in this order)."""

    INACTIVE = "inactive"
    NO_SKILL = "no_skill"
    NO_LOCATION = "no_location"
    DAY_FULL = "day_full"
    NO_ROUTE = "no_route"
    ON_LEAVE = "on_leave"
    OFF_SHIFT = "off_shift"


class Origin(StrEnum):
    """Where a worker's trip starts from."""

    FIX = "fix"
    HOME_BASE = "home_base"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A worker who can take the order, with the timings that make it work.

    `eta_s` is the travel time from `origin`; `score_s` ranks (lower is better); `distance_m` is the
    straight-line distance. The worker leaves at `depart_at` (now, or later when the window opens
    later), arrives and starts work at `arrive_at`, finishes at `end_at`; `late_s` > 0 when the
    arrival is after the order's window closes.
    """

    worker_id: int
    eta_s: float
    score_s: float
    distance_m: float
    origin: LatLon
    origin_kind: Origin
    depart_at: datetime
    arrive_at: datetime
    end_at: datetime
    late_s: float

    @property
    def sort_key(self) -> tuple[float, float, int]:
        return (self.score_s, self.eta_s, self.worker_id)


@dataclass(frozen=True, slots=True)
class Excluded:
    """A worker who cannot take the order, and why ("no skill gas", "off shift at 14:30", "day full: …")."""

    worker_id: int
    kind: Exclusion
    reason: str


@dataclass(frozen=True, slots=True)
class Ranking:
    """Every worker accounted for: candidates best first, excluded workers by id."""

    candidates: tuple[Candidate, ...]
    excluded: tuple[Excluded, ...]

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


@dataclass(frozen=True, slots=True)
class NoCandidate:
    """Nobody can take the order; `reason` summarises why, `excluded` lists each worker looked at."""

    reason: str
    excluded: tuple[Excluded, ...] = ()


def origin_of(worker: Worker, positions: Mapping[int, Position]) -> tuple[LatLon, Origin] | None:
    """Where the worker's trip starts: their freshest fix, else their home base, else None."""
    fix = positions.get(worker.id)
    if fix is not None:
        return fix.point, Origin.FIX
    if worker.home_base is not None:
        return worker.home_base, Origin.HOME_BASE
    return None


def is_urgent(order: WorkOrder, params: AssignParams) -> bool:
    """Emergencies and orders at or above the urgent priority go to the nearest worker, workload aside."""
    return order.type is OrderType.EMERGENCY or order.priority <= params.urgent_priority


def evaluate(
    order: WorkOrder,
    site: Site,
    worker: Worker,
    origin: tuple[LatLon, Origin] | None,
    *,
    now: datetime,
    workload: Workload,
    leaves: Sequence[Leave],
    travel: TravelTime,
    params: AssignParams,
) -> Candidate | Excluded:
    """Check one worker against one order: a `Candidate` with timings, or `Excluded` with the first reason."""
    if not worker.active:
        return Excluded(worker.id, Exclusion.INACTIVE, "inactive")
    missing = order.required_skills - worker.skills
    if missing:
        return Excluded(worker.id, Exclusion.NO_SKILL, "no skill " + ", ".join(sorted(missing)))
    if origin is None:
        return Excluded(worker.id, Exclusion.NO_LOCATION, "no location: no fix and no home base")
    if workload.orders_today >= params.max_orders_per_day:
        return Excluded(
            worker.id,
            Exclusion.DAY_FULL,
            f"day full: {workload.orders_today} of {params.max_orders_per_day} orders booked",
        )
    point, kind = origin
    eta_s = travel.duration_s(point, site.location)
    if eta_s is None:
        return Excluded(worker.id, Exclusion.NO_ROUTE, f"no route to {site.name}")
    travel_td = timedelta(seconds=eta_s)
    start = max(now + travel_td, order.window.start)
    depart = start - travel_td
    end = start + timedelta(seconds=order.service_duration_s)
    for leave in leaves:
        if leave.overlaps(depart, end):
            return Excluded(
                worker.id, Exclusion.ON_LEAVE, f"away until {_when(leave.end, now, params.zone)} ({leave.kind})"
            )
    gap = first_gap(worker.shifts, depart, end)
    if gap is not None:
        return Excluded(worker.id, Exclusion.OFF_SHIFT, f"off shift at {_when(gap, now, params.zone)}")
    needed_s = eta_s + order.service_duration_s
    if workload.booked_s + needed_s > params.max_booked_s_per_day:
        return Excluded(
            worker.id,
            Exclusion.DAY_FULL,
            f"day full: {workload.booked_s / 3600:.1f} h booked + {needed_s / 3600:.1f} h for this order"
            f" > {params.max_booked_s_per_day / 3600:.1f} h",
        )
    penalty_s = 0.0 if is_urgent(order, params) else params.workload_penalty_s * workload.orders_today
    return Candidate(
        worker_id=worker.id,
        eta_s=eta_s,
        score_s=eta_s + penalty_s,
        distance_m=haversine_m(point, site.location),
        origin=point,
        origin_kind=kind,
        depart_at=depart,
        arrive_at=start,
        end_at=end,
        late_s=max(0.0, (start - order.window.end).total_seconds()),
    )


def first_gap(shifts: Sequence[Shift], start: datetime, end: datetime) -> datetime | None:
    """The first instant in [start, end) no shift covers, or None when the shifts cover it all.

    A zero-length span [t, t) still needs t covered. Back-to-back shifts (07–12, 12–19) chain.
    """
    t = start
    while True:
        covered_until: datetime | None = None
        for shift in shifts:
            span = shift.span_around(t)  # the end on the shift's own clock, not on t's (UTC) date
            if span is not None:
                shift_end = span[1]
                if covered_until is None or shift_end > covered_until:
                    covered_until = shift_end
        if covered_until is None:
            return t
        if covered_until >= end:
            return None
        t = covered_until


def _when(at: datetime, now: datetime, zone: tzinfo) -> str:
    """A time as people read it on the office's clock: "14:30" today, "2025-03-04 14:30" on another (local) day."""
    local = at.astimezone(zone)
    return f"{local:%H:%M}" if local.date() == local_day(now, zone) else f"{local:%Y-%m-%d %H:%M}"


def rank_candidates(
    order: WorkOrder,
    site: Site,
    workers: Iterable[Worker],
    *,
    now: datetime,
    positions: Mapping[int, Position],
    workloads: Mapping[int, Workload],
    leaves: Mapping[int, Sequence[Leave]],
    travel: TravelTime,
    params: AssignParams,
) -> Ranking:
    """Every worker as a ranked candidate or an excluded worker with a reason: the full explanation.

    `positions` holds each worker's latest accepted fix, `workloads` and `leaves` are by worker id
    (missing = none). Looks at every worker, so it asks the travel-time provider once per worker
    that passes the cheap checks; use `nearest_qualified` for the best one among thousands.
    """
    candidates: list[Candidate] = []
    excluded: list[Excluded] = []
    for worker in workers:
        result = evaluate(
            order,
            site,
            worker,
            origin_of(worker, positions),
            now=now,
            workload=workloads.get(worker.id, NO_WORKLOAD),
            leaves=leaves.get(worker.id, ()),
            travel=travel,
            params=params,
        )
        if isinstance(result, Candidate):
            candidates.append(result)
        else:
            excluded.append(result)
    candidates.sort(key=lambda c: c.sort_key)
    excluded.sort(key=lambda e: e.worker_id)
    return Ranking(tuple(candidates), tuple(excluded))


_M_PER_DEG = EARTH_RADIUS_M * math.pi / 180.0
# Distances computed along the way are rounded differently from haversine_m and from the travel
# provider; shaving this much off every lower bound keeps the stop rule safe against last-bit noise.
_BOUND_SLACK_REL = 1e-9
_BOUND_SLACK_M = 1e-3


class WorkerIndex:
    """Workers' origins on a lat/lon grid, queried nearest first: `nearest(point)` yields
    (straight-line metres, worker id) in nondecreasing distance without visiting every worker.

    Mutable on purpose (unlike the values around it): the live map moves workers every few
    seconds, so `put` and `remove` update it in O(1) instead of rebuilding.

    Why the order is exact. The grid cells are `cell_deg_lat` × `cell_deg_lon` degrees; a query
    scans rings of cells around the query's cell, ring r being the cells r steps away. After
    ring r, every worker not yet seen lies outside a lat/lon rectangle around the query, and so
    is at least as far as the nearest side of it that has workers beyond it:

    - across a parallel at latitude φ: any path changes latitude by |φ - φq|, so the distance is
      at least R·|φ - φq| (radians);
    - across a meridian at longitude difference Δ (the shorter way round the globe, which
      handles the antimeridian): the nearest point of a whole meridian is at R·asin(sin Δ·cos φq)
      for Δ <= 90°, and the nearer pole beyond that; this grows with Δ, so it bounds every
      point further round.

    Workers seen so far wait in a heap and come out once their distance is no more than that
    bound; so nothing unseen can be nearer than what is yielded. `test_assign.py` compares the
    order with sorting every worker by `haversine_m`.
    """

    def __init__(self, *, cell_m: float = 500.0, ref_lat: float = 0.0) -> None:
        if not (math.isfinite(cell_m) and cell_m > 0):
            raise ValueError(f"cell_m {cell_m!r} must be > 0")
        if not -89.0 <= ref_lat <= 89.0:
            raise ValueError(f"ref_lat {ref_lat!r} must be within -89..89")
        self.cell_m = cell_m
        self.cell_deg_lat = cell_m / _M_PER_DEG
        self.cell_deg_lon = min(360.0, cell_m / (_M_PER_DEG * math.cos(math.radians(ref_lat))))
        self._cells: dict[tuple[int, int], set[int]] = {}
        # worker id -> (cell, origin, kind, lat in radians, cos lat)
        self._where: dict[int, tuple[tuple[int, int], LatLon, Origin, float, float]] = {}
        self._box: tuple[int, int, int, int] | None = None  # min i, max i, min j, max j ever occupied

    @classmethod
    def build(
        cls,
        workers: Iterable[Worker],
        positions: Mapping[int, Position],
        *,
        cell_m: float | None = None,
        per_cell: float = 4.0,
    ) -> WorkerIndex:
        """An index of every worker with an origin (fix or home base); workers with neither are left out.

        Without `cell_m`, cells are sized so that about `per_cell` workers share one, over the
        area the workers cover (between 50 m and 50 km). The size only affects speed, not answers.
        """
        origins = [(w.id, o) for w in workers if (o := origin_of(w, positions)) is not None]
        ref_lat = sum(o[0].lat for _, o in origins) / len(origins) if origins else 0.0
        ref_lat = max(-89.0, min(89.0, ref_lat))
        if cell_m is None:
            cell_m = _cell_size_m(origins, ref_lat, per_cell)
        index = cls(cell_m=cell_m, ref_lat=ref_lat)
        for worker_id, (point, kind) in origins:
            index.put(worker_id, point, kind)
        return index

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, worker_id: object) -> bool:
        return worker_id in self._where

    def origin(self, worker_id: int) -> tuple[LatLon, Origin] | None:
        """Where the index has the worker, and whether that is a fix or the home base."""
        entry = self._where.get(worker_id)
        return (entry[1], entry[2]) if entry is not None else None

    def put(self, worker_id: int, point: LatLon, kind: Origin = Origin.FIX) -> None:
        """Place (or move) a worker at `point`."""
        self.remove(worker_id)
        cell = (math.floor(point.lat / self.cell_deg_lat), math.floor(point.lon / self.cell_deg_lon))
        self._cells.setdefault(cell, set()).add(worker_id)
        lat_rad = math.radians(point.lat)
        self._where[worker_id] = (cell, point, kind, lat_rad, math.cos(lat_rad))
        i, j = cell
        if self._box is None:
            self._box = (i, i, j, j)
        else:
            i0, i1, j0, j1 = self._box
            self._box = (min(i0, i), max(i1, i), min(j0, j), max(j1, j))

    def remove(self, worker_id: int) -> None:
        """Take a worker out (no error when absent)."""
        entry = self._where.pop(worker_id, None)
        if entry is not None:
            members = self._cells[entry[0]]
            members.discard(worker_id)
            if not members:
                del self._cells[entry[0]]

    def nearest(self, point: LatLon) -> Iterator[tuple[float, int]]:
        """(great-circle metres, worker id), nearest first; ties come out by worker id.

        Do not `put` or `remove` while iterating. The work done grows with the number of workers
        nearer than the last one taken, never beyond one pass over the occupied cells.
        """
        if self._box is None or not self._where:
            return
        i0, i1, j0, j1 = self._box
        dlat, dlon = self.cell_deg_lat, self.cell_deg_lon
        ci, cj = math.floor(point.lat / dlat), math.floor(point.lon / dlon)
        lat_q = math.radians(point.lat)
        cos_q = math.cos(lat_q)
        lon_q = point.lon
        cells, where = self._cells, self._where
        heap: list[tuple[float, int]] = []

        def push(members: Iterable[int]) -> None:
            for wid in members:
                _, p, _, lat_w, cos_w = where[wid]
                # haversine_m, inlined on precomputed radians: this loop is the hot path.
                h = math.sin((lat_q - lat_w) / 2) ** 2 + cos_w * cos_q * math.sin(math.radians(lon_q - p.lon) / 2) ** 2
                heapq.heappush(heap, (2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h))), wid))

        # Rings closer than the occupied box hold nothing: start at the first that reaches it.
        r = max(0, i0 - ci, ci - i1, j0 - cj, cj - j1)
        last_r = max(ci - i0, i1 - ci, cj - j0, j1 - cj)
        while True:
            if r <= last_r and 8 * r <= len(cells):
                for cell in _ring(ci, cj, r, i0, i1, j0, j1):
                    push(cells.get(cell, ()))
                bound = _unseen_bound_m(lat_q, cos_q, lon_q, ci, cj, r, self._box, dlat, dlon)
                r += 1
            else:
                if r <= last_r:
                    # A ring would have more cells than the index has occupied ones (sparse workers
                    # far apart, or cells too small): take every occupied cell not yet scanned at once.
                    for (i, j), members in cells.items():
                        if max(abs(i - ci), abs(j - cj)) >= r:
                            push(members)
                    r = last_r + 1
                bound = math.inf
            while heap and heap[0][0] <= bound:
                yield heapq.heappop(heap)
            if r > last_r and not heap:
                return


def _cell_size_m(origins: Sequence[tuple[int, tuple[LatLon, Origin]]], ref_lat: float, per_cell: float) -> float:
    if len(origins) < 2:
        return 500.0
    lats = [o[0].lat for _, o in origins]
    lons = [o[0].lon for _, o in origins]
    height_m = (max(lats) - min(lats)) * _M_PER_DEG
    width_m = (max(lons) - min(lons)) * _M_PER_DEG * math.cos(math.radians(ref_lat))
    area_m2 = max(height_m, 1.0) * max(width_m, 1.0)
    return min(50_000.0, max(50.0, math.sqrt(area_m2 * per_cell / len(origins))))


def _ring(ci: int, cj: int, r: int, i0: int, i1: int, j0: int, j1: int) -> Iterator[tuple[int, int]]:
    """The cells exactly r steps (Chebyshev) from (ci, cj), clipped to the occupied box."""
    if r == 0:
        yield (ci, cj)
        return
    lo_j, hi_j = max(cj - r, j0), min(cj + r, j1)
    for i in (ci - r, ci + r):
        if i0 <= i <= i1:
            for j in range(lo_j, hi_j + 1):
                yield (i, j)
    lo_i, hi_i = max(ci - r + 1, i0), min(ci + r - 1, i1)
    for j in (cj - r, cj + r):
        if j0 <= j <= j1:
            for i in range(lo_i, hi_i + 1):
                yield (i, j)


def _unseen_bound_m(
    lat_q: float,
    cos_q: float,
    lon_q: float,
    ci: int,
    cj: int,
    r: int,
    box: tuple[int, int, int, int],
    dlat: float,
    dlon: float,
) -> float:
    """A lower bound on the distance from the query to any worker outside rings 0..r (see WorkerIndex)."""
    i0, i1, j0, j1 = box
    bound = math.inf
    if i1 > ci + r:  # workers may lie north of the scanned rows
        bound = min(bound, EARTH_RADIUS_M * (math.radians((ci + r + 1) * dlat) - lat_q))
    if i0 < ci - r:  # south
        bound = min(bound, EARTH_RADIUS_M * (lat_q - math.radians((ci - r) * dlat)))
    delta_deg = math.inf
    if j0 < cj - r:  # west of the scanned columns, or round the far side of the globe
        west = lon_q - (cj - r) * dlon
        delta_deg = min(delta_deg, west, 180.0 - lon_q)
    if j1 > cj + r:  # east
        east = (cj + r + 1) * dlon - lon_q
        delta_deg = min(delta_deg, east, 180.0 + lon_q)
    if delta_deg < math.inf:
        delta = math.radians(min(90.0, max(0.0, delta_deg)))
        bound = min(bound, EARTH_RADIUS_M * math.asin(min(1.0, math.sin(delta) * cos_q)))
    if bound == math.inf:
        return bound
    return max(0.0, bound * (1 - _BOUND_SLACK_REL) - _BOUND_SLACK_M)


def _lower_bound_s(distance_m: float, params: AssignParams) -> float:
    return max(0.0, distance_m * (1 - _BOUND_SLACK_REL) - _BOUND_SLACK_M) / params.max_speed_mps


def _check_promise(eta_s: float, distance_m: float, params: AssignParams) -> None:
    if eta_s < _lower_bound_s(distance_m, params):
        raise ValueError(
            f"travel time {eta_s:.1f} s for {distance_m:.0f} m is faster than max_speed_mps "
            f"{params.max_speed_mps} m/s; raise AssignParams.max_speed_mps"
        )


def nearest_qualified(
    order: WorkOrder,
    site: Site,
    workers: Mapping[int, Worker],
    *,
    now: datetime,
    index: WorkerIndex,
    workloads: Mapping[int, Workload],
    leaves: Mapping[int, Sequence[Leave]],
    travel: TravelTime,
    params: AssignParams,
) -> Candidate | NoCandidate:
    """The best candidate for the order — the same one `rank_candidates` puts first — or NoCandidate.

    Workers are visited nearest first (straight line) through `index`, whose positions are the
    workers' origins. Why stopping early is exact: a worker at straight-line distance d needs at
    least d / max_speed_mps seconds (the promise in AssignParams) and scores at least their ETA
    (the workload penalty is >= 0). Once that bound for the next worker exceeds the best score
    found, every worker after them is at least as far, so none can score better or tie. Workers
    in `workers` but not in `index` have no location and are not considered.
    """
    best: Candidate | None = None
    excluded: list[Excluded] = []
    for distance_m, worker_id in index.nearest(site.location):
        if best is not None and _lower_bound_s(distance_m, params) > best.score_s:
            break
        worker = workers.get(worker_id)
        if worker is None:
            continue
        result = evaluate(
            order,
            site,
            worker,
            index.origin(worker_id),
            now=now,
            workload=workloads.get(worker_id, NO_WORKLOAD),
            leaves=leaves.get(worker_id, ()),
            travel=travel,
            params=params,
        )
        if isinstance(result, Excluded):
            excluded.append(result)
            continue
        _check_promise(result.eta_s, distance_m, params)
        if best is None or result.sort_key < best.sort_key:
            best = result
    if best is not None:
        return best
    return NoCandidate(summarise(excluded), tuple(sorted(excluded, key=lambda e: e.worker_id)))


_LABELS = {
    Exclusion.INACTIVE: "inactive",
    Exclusion.NO_SKILL: "missing a skill",
    Exclusion.NO_LOCATION: "without a location",
    Exclusion.DAY_FULL: "with a full day",
    Exclusion.NO_ROUTE: "without a route",
    Exclusion.ON_LEAVE: "on leave",
    Exclusion.OFF_SHIFT: "off shift",
}


def summarise(excluded: Sequence[Excluded]) -> str:
    """One line for NoCandidate: "no qualified worker among 10: 7 missing a skill (gas), 3 off shift"."""
    if not excluded:
        return "no worker with a known location"
    counts = Counter(e.kind for e in excluded)
    parts = []
    for kind in Exclusion:
        if counts[kind]:
            part = f"{counts[kind]} {_LABELS[kind]}"
            if kind is Exclusion.NO_SKILL:
                skills = sorted({e.reason.removeprefix("no skill ") for e in excluded if e.kind is kind})
                part += f" ({'; '.join(skills)})"
            parts.append(part)
    return f"no qualified worker among {len(excluded)}: " + ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Nearby:
    """An available worker near a point: travel time and straight-line distance to it."""

    worker_id: int
    eta_s: float
    distance_m: float
    origin_kind: Origin


def who_is_near(
    point: LatLon,
    workers: Mapping[int, Worker],
    *,
    now: datetime,
    index: WorkerIndex,
    travel: TravelTime,
    n: int,
    skills: frozenset[str] = frozenset(),
    leaves: Mapping[int, Sequence[Leave]] | None = None,
    params: AssignParams,
) -> tuple[Nearby, ...]:
    """The `n` available workers with the shortest travel time to `point`, nearest first.

    Available: active, holding every skill in `skills`, on shift now and not on leave now (for a
    call taken now; a full check of an order's window is `nearest_qualified`'s job). Ties break by
    worker id. Stops early by the same argument as `nearest_qualified`, against the n-th ETA.
    """
    if n < 1:
        raise ValueError("n must be >= 1")
    leaves = leaves or {}
    found: list[Nearby] = []
    for distance_m, worker_id in index.nearest(point):
        if len(found) >= n and _lower_bound_s(distance_m, params) > found[n - 1].eta_s:
            break
        worker = workers.get(worker_id)
        origin = index.origin(worker_id)
        if worker is None or origin is None or not skills <= worker.skills or not worker.on_shift(now):
            continue
        if any(leave.overlaps(now, now) for leave in leaves.get(worker_id, ())):
            continue
        eta_s = travel.duration_s(origin[0], point)
        if eta_s is None:
            continue
        _check_promise(eta_s, distance_m, params)
        nearby = Nearby(worker_id, eta_s, haversine_m(origin[0], point), origin[1])
        insort(found, nearby, key=lambda x: (x.eta_s, x.worker_id))
        del found[n:]
    return tuple(found)


@dataclass(frozen=True, slots=True)
class AutoDispatchPolicy:
    """Which order types are assigned without a dispatcher (emergencies by default)."""

    order_types: frozenset[OrderType] = frozenset({OrderType.EMERGENCY})

    def applies_to(self, order: WorkOrder) -> bool:
        """Whether the order is one this policy assigns: a new order of an auto-dispatched type."""
        return order.type in self.order_types and order.status is OrderStatus.NEW


@dataclass(frozen=True, slots=True)
class AutoDispatched:
    """The order was assigned automatically: the new order, the change to record, and to whom and why."""

    order: WorkOrder
    change: StatusChange
    candidate: Candidate


@dataclass(frozen=True, slots=True)
class ManualDispatch:
    """The order is left for a dispatcher; `reason` says why."""

    reason: str


def auto_dispatch(
    order: WorkOrder,
    site: Site,
    workers: Mapping[int, Worker],
    *,
    policy: AutoDispatchPolicy,
    now: datetime,
    index: WorkerIndex,
    workloads: Mapping[int, Workload],
    leaves: Mapping[int, Sequence[Leave]],
    travel: TravelTime,
    params: AssignParams,
) -> AutoDispatched | ManualDispatch | NoCandidate:
    """Assign a new order of an auto-dispatched type to the nearest qualified worker at once.

    Goes through `dispatch.lifecycle.transition` as the automatic dispatcher (actor None), so the
    change is recorded like any other. Orders the policy does not cover come back ManualDispatch;
    NoCandidate when nobody qualifies (the dispatcher must step in).
    """
    if not policy.applies_to(order):
        if order.type not in policy.order_types:
            return ManualDispatch(f"{order.type.value} orders are dispatched by hand")
        return ManualDispatch(f"order {order.id} is {order.status.value}; only new orders are dispatched automatically")
    best = nearest_qualified(
        order,
        site,
        workers,
        now=now,
        index=index,
        workloads=workloads,
        leaves=leaves,
        travel=travel,
        params=params,
    )
    if isinstance(best, NoCandidate):
        return best
    moved = transition(order, OrderStatus.ASSIGNED, actor=None, at=now, worker_id=best.worker_id)
    if isinstance(moved, Refused):
        return ManualDispatch(moved.reason)
    return AutoDispatched(moved.order, moved.change, best)
