"""The routing input model: visits, workers, travel matrices and what a plan should cost.

Everything is an integer in seconds (times of day count from midnight) and metres, as the solvers
work in integers. A `Problem` knows nothing about OR-Tools, PyVRP, the database or the clock; the
caller turns datetimes into seconds and back. Locations are indices into the two matrices, so two
visits at the same site share a location.

`None` in a matrix means "no route between these two points": a normal outcome (an off-network
point, a clipped road network), never an exception. A visit that no qualified worker can reach
comes back unplanned with the reason "no route".
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from dispatch.geo import LatLon, haversine_m
from routing.travel import TravelTimes

DAY_S = 86_400

PRIORITIES = range(1, 6)
"""1 = most urgent … 5 = least, as `dispatch.orders.WorkOrder.priority`."""

Matrix = tuple[tuple[int | None, ...], ...]


@dataclass(frozen=True, slots=True)
class Window:
    """When service may start: from `start_s` to `end_s` inclusive (service may end later)."""

    start_s: int
    end_s: int

    def __post_init__(self) -> None:
        if not 0 <= self.start_s <= self.end_s:
            raise ValueError(f"window {self.start_s}..{self.end_s} must satisfy 0 <= start_s <= end_s")

    def contains(self, t_s: int) -> bool:
        """Whether service may start at `t_s` (both ends included)."""
        return self.start_s <= t_s <= self.end_s


@dataclass(frozen=True, slots=True)
class Visit:
    """A job at one location.

    `windows` are the allowed service starts, sorted and disjoint (empty: any time in a shift).
    `skills` must all be held by the worker (a hard constraint). `penalty` None makes the visit
    required: it is left out only when it cannot be served, in which case higher priorities are
    kept first. A number makes it optional: the plan may leave it out at that cost (in cost units,
    see `Objective`).
    """

    id: str
    location: int
    service_s: int = 0
    windows: tuple[Window, ...] = ()
    skills: frozenset[str] = frozenset()
    priority: int = 3
    demand: int = 0
    penalty: int | None = None

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("visit id must not be empty")
        if self.location < 0:
            raise ValueError(f"visit {self.id}: location {self.location} must be >= 0")
        if self.service_s < 0:
            raise ValueError(f"visit {self.id}: service_s {self.service_s} must be >= 0")
        if self.priority not in PRIORITIES:
            raise ValueError(f"visit {self.id}: priority {self.priority} must be within 1..5 (1 = most urgent)")
        if self.demand < 0:
            raise ValueError(f"visit {self.id}: demand {self.demand} must be >= 0")
        if self.penalty is not None and self.penalty < 0:
            raise ValueError(f"visit {self.id}: penalty {self.penalty} must be >= 0 (None = required)")
        for a, b in zip(self.windows, self.windows[1:], strict=False):
            if b.start_s <= a.end_s:
                raise ValueError(f"visit {self.id}: windows must be sorted and disjoint")

    @property
    def required(self) -> bool:
        """True when the visit has no penalty: left out only when it cannot be served."""
        return self.penalty is None

    def window_at(self, t_s: int) -> Window | None:
        """The window service may start in at `t_s` (None: outside every window)."""
        if not self.windows:
            return Window(0, max(t_s, 0))
        return next((w for w in self.windows if w.contains(t_s)), None)

    def earliest_start(self, arrival_s: int) -> int | None:
        """The first allowed service start at or after `arrival_s` (None: all windows have closed)."""
        if not self.windows:
            return arrival_s
        for w in self.windows:
            if arrival_s <= w.end_s:
                return max(arrival_s, w.start_s)
        return None


@dataclass(frozen=True, slots=True)
class Break:
    """A rest of `duration_s` that must start between `earliest_start_s` and `latest_start_s`.

    It never overlaps a visit's service; it may interrupt a drive, use waiting time, or fall after
    the worker's last visit.
    """

    earliest_start_s: int
    latest_start_s: int
    duration_s: int

    def __post_init__(self) -> None:
        if not 0 <= self.earliest_start_s <= self.latest_start_s:
            raise ValueError(
                f"break start {self.earliest_start_s}..{self.latest_start_s} must satisfy 0 <= earliest <= latest"
            )
        if self.duration_s <= 0:
            raise ValueError(f"break duration_s {self.duration_s} must be > 0")


def breaks_ahead(rules: Sequence[Break], now_s: int, begun: Sequence[tuple[int, int]] = ()) -> tuple[Break, ...]:
    """What a plan made at `now_s` may place of a worker's breaks `rules`, given those `begun` before now.

    A plan never places a break in the past: there is no record of the rests a worker took, and a rest placed
    before now would shorten what is ahead of them by a rest they may never have had.
    * A rule matched by a begun break (the one whose window holds its start, else the first whose window had
      opened by then) is taken: dropped, or, while the rest is still on at `now_s`, what is left of it, from now.
    * A rule whose window closed before `now_s` is dropped: taken or missed, it is no longer the plan's to place.
    * Any other may start no earlier than `now_s`.
    """
    ahead: list[Break] = []
    open_rules = sorted(rules, key=lambda b: b.earliest_start_s)
    taken: dict[int, tuple[int, int]] = {}
    for start, end in sorted(b for b in begun if b[0] < now_s):
        free = [k for k in range(len(open_rules)) if k not in taken]
        k = next((k for k in free if open_rules[k].earliest_start_s <= start <= open_rules[k].latest_start_s), None)
        if k is None:
            k = next((k for k in free if open_rules[k].earliest_start_s <= start), None)
        if k is not None:
            taken[k] = (start, end)
    for k, rule in enumerate(open_rules):
        if k in taken:
            end = taken[k][1]
            if end > now_s:
                ahead.append(Break(now_s, now_s, end - now_s))
        elif rule.latest_start_s >= now_s:
            ahead.append(Break(max(rule.earliest_start_s, now_s), rule.latest_start_s, rule.duration_s))
    return tuple(ahead)


@dataclass(frozen=True, slots=True)
class Worker:
    """A worker (or vehicle) and the limits of their day.

    The route leaves `start_location` no earlier than `shift_start_s` and reaches `end_location` no
    later than `shift_end_s`; `max_work_s` bounds that span, breaks and waiting included.
    `cost_per_hour` and `cost_per_km` are added per hour driven and per km driven, in cost units.
    `capacity` None means unlimited.
    """

    id: str
    start_location: int
    end_location: int
    shift_start_s: int
    shift_end_s: int
    breaks: tuple[Break, ...] = ()
    max_work_s: int | None = None
    skills: frozenset[str] = frozenset()
    capacity: int | None = None
    cost_per_hour: float = 0.0
    cost_per_km: float = 0.0

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("worker id must not be empty")
        if min(self.start_location, self.end_location) < 0:
            raise ValueError(f"worker {self.id}: start_location and end_location must be >= 0")
        if not 0 <= self.shift_start_s <= self.shift_end_s:
            raise ValueError(f"worker {self.id}: shift {self.shift_start_s}..{self.shift_end_s} is not a valid day")
        if self.max_work_s is not None and self.max_work_s <= 0:
            raise ValueError(f"worker {self.id}: max_work_s {self.max_work_s} must be > 0")
        if self.capacity is not None and self.capacity < 0:
            raise ValueError(f"worker {self.id}: capacity {self.capacity} must be >= 0")
        if self.cost_per_hour < 0 or self.cost_per_km < 0:
            raise ValueError(f"worker {self.id}: cost_per_hour and cost_per_km must be >= 0")
        for b in self.breaks:
            if b.earliest_start_s < self.shift_start_s or b.latest_start_s + b.duration_s > self.shift_end_s:
                raise ValueError(f"worker {self.id}: a break must lie within the shift")

    def from_now(self, now_s: int, begun: Sequence[tuple[int, int]] = ()) -> Worker:
        """This worker as a plan made at `now_s` sees them: their breaks cut to what lies ahead (`breaks_ahead`,
        given those `begun` before now); the same worker when none had opened yet."""
        if not self.breaks or now_s <= min(b.earliest_start_s for b in self.breaks):
            return self
        return dataclasses.replace(self, breaks=breaks_ahead(self.breaks, now_s, begun))

    def qualified_for(self, visit: Visit) -> bool:
        """Whether the worker holds every skill the visit needs."""
        return visit.skills <= self.skills


@dataclass(frozen=True, slots=True)
class Objective:
    """What a plan costs, in cost units (1 unit = 1 second of travel at the default weights).

    Travel is priced at `per_travel_s` per second plus `per_distance_m` per metre: time only
    (the default), distance only (`Objective(0, 1)`), or a weighted mix. Left-out visits cost their
    penalty (optional) or far more than any route (required), so required visits are kept whenever
    they fit and higher priorities first. `balance_per_s` prices each second of the largest
    workload (service + driving) of any worker (0: no workload balancing; OR-Tools only). `change_penalty` is charged per announced visit given to another
    worker, and `retime_penalty_per_s` per second an announced visit starts more than
    `retime_tolerance_s` away from its announced time (see `Announced`).
    """

    per_travel_s: float = 1.0
    per_distance_m: float = 0.0
    balance_per_s: float = 0.0
    change_penalty: int = 0
    retime_penalty_per_s: int = 0
    retime_tolerance_s: int = 900

    def __post_init__(self) -> None:
        for name in ("per_travel_s", "per_distance_m", "balance_per_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} {value!r} must be finite and >= 0")
        if self.per_travel_s == 0 and self.per_distance_m == 0:
            raise ValueError("per_travel_s and per_distance_m must not both be 0")
        if min(self.change_penalty, self.retime_penalty_per_s, self.retime_tolerance_s) < 0:
            raise ValueError("change_penalty, retime_penalty_per_s and retime_tolerance_s must be >= 0")

    def arc_cost(self, worker: Worker, duration_s: int, distance_m: int) -> int:
        """Cost units for `worker` driving one leg."""
        cost = (self.per_travel_s + worker.cost_per_hour / 3600) * duration_s
        cost += (self.per_distance_m + worker.cost_per_km / 1000) * distance_m
        return round(cost)


@dataclass(frozen=True, slots=True)
class StopRule:
    """When the search stops: after `max_solutions` solutions or `max_seconds`, whichever comes first.

    Tests use `max_solutions` only, so results do not depend on machine speed; the console and the
    benchmarks use `max_seconds`. For OR-Tools a solution is each improving or accepted neighbour
    (`solution_limit`); for PyVRP it is one iteration of its local search. A count-only OR-Tools
    search also ends once it has gone `routing.solve.IDLE_CHECKS` checks without a new solution,
    which keeps it repeatable and finite when there is nothing left to find.
    """

    max_solutions: int | None = None
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.max_solutions is None and self.max_seconds is None:
            raise ValueError("StopRule needs max_solutions or max_seconds (or both)")
        if self.max_solutions is not None and self.max_solutions <= 0:
            raise ValueError(f"max_solutions {self.max_solutions} must be > 0")
        if self.max_seconds is not None and not (math.isfinite(self.max_seconds) and self.max_seconds > 0):
            raise ValueError(f"max_seconds {self.max_seconds!r} must be > 0")


@dataclass(frozen=True, slots=True)
class Pin:
    """A visit done or in progress: it stays with `worker_id`, starting at `start_s`.

    A worker's pins are the first stops of their route, in the order of `start_s`.
    """

    visit_id: str
    worker_id: str
    start_s: int


@dataclass(frozen=True, slots=True)
class Announced:
    """A visit a worker has been told about; moving or retiming it costs (see `Objective`)."""

    visit_id: str
    worker_id: str
    start_s: int


@runtime_checkable
class DistanceTable(Protocol):
    """A travel provider that also knows road metres (StraightLine and OsrmRoads do)."""

    def distance_table_m(self, points: Sequence[LatLon]) -> list[list[float | None]]: ...


@dataclass(frozen=True, slots=True)
class Problem:
    """Visits, workers and the travel matrices between their locations.

    `duration_s[i][j]` and `distance_m[i][j]` are integer seconds and metres from location i to j,
    None where there is no route. `pins` are facts (visits done or in progress) and `now_s`, when
    set, is the earliest time any other visit may start: both come from `replan`. Raises
    ValueError naming the field when the parts do not fit together.
    """

    visits: tuple[Visit, ...]
    workers: tuple[Worker, ...]
    duration_s: Matrix
    distance_m: Matrix
    objective: Objective = Objective()
    pins: tuple[Pin, ...] = ()
    announced: tuple[Announced, ...] = ()
    now_s: int | None = None
    points: tuple[LatLon, ...] | None = None
    _visit_index: dict[str, int] = field(init=False, repr=False, compare=False)
    _worker_index: dict[str, int] = field(init=False, repr=False, compare=False)
    _durations: NDArray[np.int64] = field(init=False, repr=False, compare=False)
    _distances: NDArray[np.int64] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.duration_s)
        arrays = []
        for name, matrix in (("duration_s", self.duration_s), ("distance_m", self.distance_m)):
            if len(matrix) != n or any(len(row) != n for row in matrix):
                raise ValueError(f"{name} must be a square {n}x{n} matrix like duration_s")
            array = _matrix_array(matrix, n)
            if array is None:
                i, j = (int(k) for k in np.argwhere(_negative(matrix, n))[0])
                raise ValueError(f"{name}[{i}][{j}] = {matrix[i][j]} must be >= 0 or None")
            arrays.append(array)
        durations, distances = arrays
        no_self = np.flatnonzero(np.diagonal(durations) < 0)
        if no_self.size:
            raise ValueError(f"duration_s[{int(no_self[0])}][{int(no_self[0])}] must be 0, not None")
        if not np.array_equal(durations < 0, distances < 0):
            raise ValueError("duration_s and distance_m must agree on which pairs have no route")
        if self.points is not None and len(self.points) != n:
            raise ValueError(f"points has {len(self.points)} entries for {n} locations")
        visit_index: dict[str, int] = {}
        for k, v in enumerate(self.visits):
            if v.id in visit_index:
                raise ValueError(f"visit id {v.id!r} appears twice")
            if v.location >= n:
                raise ValueError(f"visit {v.id}: location {v.location} is outside the {n}x{n} matrix")
            visit_index[v.id] = k
        worker_index: dict[str, int] = {}
        for k, w in enumerate(self.workers):
            if w.id in worker_index:
                raise ValueError(f"worker id {w.id!r} appears twice")
            if max(w.start_location, w.end_location) >= n:
                raise ValueError(f"worker {w.id}: a location is outside the {n}x{n} matrix")
            worker_index[w.id] = k
        pinned: set[str] = set()
        for p in self.pins:
            if p.visit_id not in visit_index:
                raise ValueError(f"pin: unknown visit {p.visit_id!r}")
            if p.worker_id not in worker_index:
                raise ValueError(f"pin of visit {p.visit_id}: unknown worker {p.worker_id!r}")
            if p.visit_id in pinned:
                raise ValueError(f"pin: visit {p.visit_id} is pinned twice")
            pinned.add(p.visit_id)
        for note in self.announced:
            if note.visit_id not in visit_index or note.worker_id not in worker_index:
                raise ValueError(f"announced: unknown visit {note.visit_id!r} or worker {note.worker_id!r}")
        if self.now_s is not None and self.now_s < 0:
            raise ValueError(f"now_s {self.now_s} must be >= 0")
        object.__setattr__(self, "_visit_index", visit_index)
        object.__setattr__(self, "_worker_index", worker_index)
        object.__setattr__(self, "_durations", durations)
        object.__setattr__(self, "_distances", distances)

    @property
    def duration_array_s(self) -> NDArray[np.int64]:
        """`duration_s` as a read-only n x n array, -1 where there is no route (for the solvers' models)."""
        return self._durations

    @property
    def distance_array_m(self) -> NDArray[np.int64]:
        """`distance_m` as a read-only n x n array, -1 where there is no route (the same pairs as durations)."""
        return self._distances

    @property
    def horizon_s(self) -> int:
        """A time after every shift end and window: no plan runs past it."""
        ends = [w.shift_end_s for w in self.workers] + [w.end_s for v in self.visits for w in v.windows]
        ends += [p.start_s + self.visit(p.visit_id).service_s for p in self.pins]
        return max(ends, default=0) + 1

    @property
    def size(self) -> int:
        """Number of locations."""
        return len(self.duration_s)

    def visit(self, visit_id: str) -> Visit:
        """The visit with this id (KeyError if there is none)."""
        return self.visits[self._visit_index[visit_id]]

    def worker(self, worker_id: str) -> Worker:
        """The worker with this id (KeyError if there is none)."""
        return self.workers[self._worker_index[worker_id]]

    def has_visit(self, visit_id: str) -> bool:
        """Whether a visit with this id is in the problem."""
        return visit_id in self._visit_index

    def has_worker(self, worker_id: str) -> bool:
        """Whether a worker with this id is in the problem."""
        return worker_id in self._worker_index

    def pins_of(self, worker_id: str) -> tuple[Pin, ...]:
        """The worker's pinned visits in route order."""
        return tuple(sorted((p for p in self.pins if p.worker_id == worker_id), key=lambda p: p.start_s))

    def pin_of(self, visit_id: str) -> Pin | None:
        """The visit's pin, None when it is not pinned."""
        return next((p for p in self.pins if p.visit_id == visit_id), None)

    def replace(self, **changes: object) -> Problem:
        """A copy with some fields changed (validated again)."""
        fields = {
            "visits": self.visits,
            "workers": self.workers,
            "duration_s": self.duration_s,
            "distance_m": self.distance_m,
            "objective": self.objective,
            "pins": self.pins,
            "announced": self.announced,
            "now_s": self.now_s,
            "points": self.points,
        }
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError(f"unknown Problem fields: {sorted(unknown)}")
        fields.update(changes)
        return Problem(**fields)  # type: ignore[arg-type]

    def from_now(self, now_s: int, begun: Mapping[str, Sequence[tuple[int, int]]] | None = None) -> Problem:
        """The day as a plan made at `now_s` sees it: `now_s` set, each worker's breaks cut to what lies ahead.

        `begun` maps a worker id to the (start, end) seconds of their breaks already begun before `now_s` (as the
        plan being re-planned or edited had them); see `breaks_ahead`.
        """
        known = begun or {}
        workers = tuple(w.from_now(now_s, known.get(w.id, ())) for w in self.workers)
        if now_s == self.now_s and all(a is b for a, b in zip(workers, self.workers, strict=True)):
            return self
        return self.replace(now_s=now_s, workers=workers)

    def without_visits(self, visit_ids: Iterable[str]) -> Problem:
        """The same problem with some visits (e.g. cancelled orders) taken out."""
        gone = set(visit_ids)
        return self.replace(
            visits=tuple(v for v in self.visits if v.id not in gone),
            pins=tuple(p for p in self.pins if p.visit_id not in gone),
            announced=tuple(a for a in self.announced if a.visit_id not in gone),
        )

    def without_workers(self, worker_ids: Iterable[str]) -> Problem:
        """The same problem with some workers (e.g. off sick) taken out, with their pins and announcements."""
        gone = set(worker_ids)
        return self.replace(
            workers=tuple(w for w in self.workers if w.id not in gone),
            pins=tuple(p for p in self.pins if p.worker_id not in gone),
            announced=tuple(a for a in self.announced if a.worker_id not in gone),
        )

    def with_visit(self, visit: Visit) -> Problem:
        """The same problem with one more visit (e.g. an urgent order at an existing location)."""
        return self.replace(visits=(*self.visits, visit))

    @classmethod
    def from_points(
        cls,
        points: Sequence[LatLon],
        *,
        visits: Sequence[Visit],
        workers: Sequence[Worker],
        travel: TravelTimes,
        objective: Objective = Objective(),
    ) -> Problem:
        """Build the matrices from a travel-time provider; `points[i]` is location i.

        Seconds are rounded to whole seconds. Metres come from the provider's `distance_table_m`
        when it has one, otherwise from the great-circle distance. A pair the provider cannot
        route stays None in both matrices.
        """
        durations = travel.table(points)
        if isinstance(travel, DistanceTable):
            distances = travel.distance_table_m(points)
        else:
            distances = [[haversine_m(a, b) for b in points] for a in points]
        return cls.from_matrices(
            durations, distances, visits=visits, workers=workers, objective=objective, points=tuple(points)
        )

    @classmethod
    def from_matrices(
        cls,
        durations_s: Sequence[Sequence[float | None]],
        distances_m: Sequence[Sequence[float | None]],
        *,
        visits: Sequence[Visit],
        workers: Sequence[Worker],
        objective: Objective = Objective(),
        points: tuple[LatLon, ...] | None = None,
        rounding: Callable[[float], int] = round,
    ) -> Problem:
        """Build a problem from float matrices (None = no route), rounding each entry with `rounding`."""
        n = len(durations_s)
        dur: list[tuple[int | None, ...]] = []
        dist: list[tuple[int | None, ...]] = []
        for i in range(n):
            drow: list[int | None] = []
            mrow: list[int | None] = []
            for j in range(n):
                d = 0.0 if i == j else durations_s[i][j]
                m = 0.0 if i == j else distances_m[i][j]
                if d is None or m is None or not (math.isfinite(d) and math.isfinite(m)):
                    drow.append(None)
                    mrow.append(None)
                else:
                    drow.append(rounding(d))
                    mrow.append(rounding(m))
            dur.append(tuple(drow))
            dist.append(tuple(mrow))
        return cls(
            visits=tuple(visits),
            workers=tuple(workers),
            duration_s=tuple(dur),
            distance_m=tuple(dist),
            objective=objective,
            points=points,
        )


def _matrix_array(matrix: Matrix, n: int) -> NDArray[np.int64] | None:
    """`matrix` (square, n x n) as a read-only int64 array with -1 for None; None when a value is negative.

    numpy reads a matrix of integers in one pass (18 ms for 1,001 x 1,001 locations, against 35 ms for a
    Python pass replacing None, bench/routing_overhead.py); one with None is read as objects first.
    """
    raw = np.array(matrix).reshape(n, n)
    if raw.dtype == object:
        missing: NDArray[np.bool_] = raw == None  # noqa: E711 (numpy compares each element)
        raw = np.where(missing, 0, raw).astype(np.float64)
    else:
        missing = np.zeros((n, n), dtype=bool)
    if (raw < 0).any():
        return None
    array = raw.astype(np.int64)
    array[missing] = -1
    array.flags.writeable = False
    return array


def _negative(matrix: Matrix, n: int) -> NDArray[np.bool_]:
    """Where `matrix` holds a negative number (None is not negative)."""
    return np.array([[value is not None and value < 0 for value in row] for row in matrix], dtype=bool).reshape(n, n)


def required_penalty(problem: Problem, priority: int) -> int:
    """The cost of leaving out a required visit of `priority`: more than any plan's travel.

    The bound is the most expensive leg times (visits + 2 × workers + 1), i.e. more than all the
    travel of any plan, scaled so that a priority-1 visit outweighs several priority-5 ones.
    """
    # From the arrays (-1: no route), not the lists: a scan of the 1,003 x 1,003 lists of the city day took 20 ms,
    # five per plan priced (`routing.solve.routes_plan`), twice in a 10-second plan and again in its repair reserve.
    longest_s = int(problem.duration_array_s.max(initial=0))
    longest_m = int(problem.distance_array_m.max(initial=0))
    worst_leg = max((problem.objective.arc_cost(w, longest_s, longest_m) for w in problem.workers), default=0)
    worst_leg = max(worst_leg, 1)
    base = worst_leg * (len(problem.visits) + 2 * len(problem.workers) + 1)
    return int(base * 2 ** (5 - priority))


def visit_penalty(problem: Problem, visit: Visit, *, required_base: Mapping[int, int] | None = None) -> int:
    """What leaving `visit` out costs in the objective."""
    if visit.penalty is not None:
        return visit.penalty
    if required_base is not None:
        return required_base[visit.priority]
    return required_penalty(problem, visit.priority)
