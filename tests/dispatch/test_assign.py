"""Assignment: who qualifies and why not, how candidates rank, and the fast paths agreeing with the full scan."""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.assign import (
    AssignParams,
    AutoDispatched,
    AutoDispatchPolicy,
    Candidate,
    Exclusion,
    Leave,
    ManualDispatch,
    NoCandidate,
    Origin,
    WorkerIndex,
    Workload,
    auto_dispatch,
    first_gap,
    nearest_qualified,
    rank_candidates,
    who_is_near,
)
from dispatch.geo import LatLon, haversine_m
from dispatch.lifecycle import LifecycleEvent
from dispatch.orders import OrderStatus, OrderType, TimeWindow, WorkOrder
from dispatch.positions import Position
from dispatch.sites import Site
from dispatch.workers import Shift, Worker
from tests.factories import at, make_position, make_worker

NOW = at("2025-03-03T10:00:00Z")  # a Monday
SITE = Site(id=3, name="Port Hercule", address="Quai Antoine 1er", location=LatLon(43.7350, 7.4230))
DAY_7_19 = Shift(weekdays=tuple(range(7)), start=time(7), end=time(19))
SPEED_MPS = 10.0
PARAMS = AssignParams(max_speed_mps=SPEED_MPS)


@dataclass(frozen=True)
class Crow:
    """Straight-line travel at a fixed speed; points in `no_route_from` have no route."""

    speed_mps: float = SPEED_MPS
    no_route_from: frozenset[LatLon] = frozenset()

    def duration_s(self, a: LatLon, b: LatLon) -> float | None:
        if a in self.no_route_from:
            return None
        return haversine_m(a, b) / self.speed_mps


@dataclass(frozen=True)
class Winding:
    """Road-like travel: straight line stretched by a detour of 1..3 that depends on the start point, never faster
    than SPEED_MPS; about one start in ten has no route. Ranks workers differently from their straight-line order."""

    def duration_s(self, a: LatLon, b: LatLon) -> float | None:
        h = hash((a.lat, a.lon)) % 1000
        if h < 100:
            return None
        return haversine_m(a, b) * (1 + 2 * h / 1000) / SPEED_MPS


def north_of(point: LatLon, metres: float) -> LatLon:
    return LatLon(point.lat + metres / 111_195.0, point.lon)


def make_order(**overrides: Any) -> WorkOrder:
    values: dict[str, Any] = {
        "id": 7,
        "site_id": SITE.id,
        "type": OrderType.REPAIR,
        "priority": 3,
        "required_skills": frozenset({"gas"}),
        "window": TimeWindow(NOW, NOW + timedelta(hours=4)),
        "service_duration_s": 3600,
    }
    values.update(overrides)
    return WorkOrder(**values)


def worker_at(worker_id: int, metres_north: float, **overrides: Any) -> Worker:
    values: dict[str, Any] = {
        "id": worker_id,
        "name": f"W{worker_id}",
        "device_id": f"dev-{worker_id}",
        "shifts": (DAY_7_19,),
        "home_base": north_of(SITE.location, metres_north),
    }
    values.update(overrides)
    return make_worker(**values)


def rank(workers: list[Worker], order: WorkOrder | None = None, **kw: Any):
    args: dict[str, Any] = {
        "now": NOW,
        "positions": {},
        "workloads": {},
        "leaves": {},
        "travel": Crow(),
        "params": PARAMS,
    }
    args.update(kw)
    return rank_candidates(order or make_order(), SITE, workers, **args)


def only_exclusion(workers: list[Worker], order: WorkOrder | None = None, **kw: Any):
    ranking = rank(workers, order, **kw)
    assert ranking.candidates == ()
    assert len(ranking.excluded) == 1
    return ranking.excluded[0]


# --- every exclusion reason ---------------------------------------------------------------------------------


def test_a_worker_without_the_skill_is_excluded_naming_it():
    """Tests that a plumber is excluded from a gas job with "no skill gas", listing every missing skill."""
    plumber = worker_at(1, 100, skills=frozenset({"water"}))
    excluded = only_exclusion([plumber], make_order(required_skills=frozenset({"gas", "electric"})))
    assert (excluded.kind, excluded.reason) == (Exclusion.NO_SKILL, "no skill electric, gas")


def test_a_worker_whose_shift_ends_during_the_job_is_excluded_at_that_time():
    """Tests that a worker off at 14:30 cannot take a 2 h job starting 13:00: "off shift at 14:30"."""
    early = worker_at(1, 0, shifts=(Shift(weekdays=(0,), start=time(7), end=time(14, 30)),))
    order = make_order(
        window=TimeWindow(at("2025-03-03T13:00:00Z"), at("2025-03-03T15:00:00Z")), service_duration_s=7200
    )
    excluded = only_exclusion([early], order)
    assert (excluded.kind, excluded.reason) == (Exclusion.OFF_SHIFT, "off shift at 14:30")


def test_travel_counts_towards_the_shift():
    """Tests that a worker whose shift starts at 10:05 cannot set off at 10:00 for a job that opens now."""
    late_starter = worker_at(1, 3000, shifts=(Shift(weekdays=(0,), start=time(10, 5), end=time(18)),))
    excluded = only_exclusion([late_starter])
    assert (excluded.kind, excluded.reason) == (Exclusion.OFF_SHIFT, "off shift at 10:00")


def test_an_order_on_another_day_names_the_date_when_off_shift():
    """Tests that a gap on another day is reported with its date, not just a time."""
    weekdays = worker_at(1, 0, shifts=(Shift(weekdays=(0, 1, 2, 3, 4), start=time(7), end=time(19)),))
    saturday = at("2025-03-08T09:00:00Z")
    excluded = only_exclusion([weekdays], make_order(window=TimeWindow(saturday, saturday + timedelta(hours=2))))
    assert excluded.reason == "off shift at 2025-03-08 09:00"


def test_a_worker_on_leave_during_the_job_is_excluded_until_when():
    """Tests that leave overlapping travel or service excludes the worker, saying until when."""
    ana = worker_at(1, 100)
    leave = Leave(1, at("2025-03-03T10:30:00Z"), at("2025-03-05T00:00:00Z"), kind="training")
    excluded = only_exclusion([ana], leaves={1: [leave]})
    assert (excluded.kind, excluded.reason) == (Exclusion.ON_LEAVE, "away until 2025-03-05 00:00 (training)")


def test_leave_after_the_job_does_not_exclude():
    """Tests that leave starting when the job is over leaves the worker a candidate."""
    leave = Leave(1, at("2025-03-03T11:30:00Z"), at("2025-03-03T12:00:00Z"))
    assert rank([worker_at(1, 0)], leaves={1: [leave]}).best is not None


def test_a_worker_with_a_full_day_is_excluded_by_order_count_or_by_hours():
    """Tests "day full" both for the number of orders booked and for the hours the job would add."""
    params = AssignParams(max_speed_mps=SPEED_MPS, max_orders_per_day=5, max_booked_s_per_day=8 * 3600)
    by_count = only_exclusion([worker_at(1, 0)], workloads={1: Workload(orders_today=5)}, params=params)
    assert (by_count.kind, by_count.reason) == (Exclusion.DAY_FULL, "day full: 5 of 5 orders booked")
    by_hours = only_exclusion(
        [worker_at(1, 0)], workloads={1: Workload(orders_today=2, booked_s=7.5 * 3600)}, params=params
    )
    assert (by_hours.kind, by_hours.reason) == (
        Exclusion.DAY_FULL,
        "day full: 7.5 h booked + 1.0 h for this order > 8.0 h",
    )


def test_inactive_unlocated_and_unroutable_workers_are_excluded_with_reasons():
    """Tests the remaining reasons: deactivated, no fix and no home base, and no route from where they are."""
    stuck = worker_at(3, 500)
    workers = [worker_at(1, 0, active=False), worker_at(2, 0, home_base=None), stuck]
    ranking = rank(workers, travel=Crow(no_route_from=frozenset({stuck.home_base})))
    assert ranking.candidates == ()
    assert [(e.worker_id, e.kind, e.reason) for e in ranking.excluded] == [
        (1, Exclusion.INACTIVE, "inactive"),
        (2, Exclusion.NO_LOCATION, "no location: no fix and no home base"),
        (3, Exclusion.NO_ROUTE, "no route to Port Hercule"),
    ]


def test_every_worker_is_explained_once():
    """Tests that a ranking accounts for every worker exactly once, candidates best first, excluded by id."""
    workers = [worker_at(i, 300 * i, skills=frozenset({"gas"} if i % 2 else {"water"})) for i in range(1, 9)]
    ranking = rank(workers)
    assert sorted([c.worker_id for c in ranking.candidates] + [e.worker_id for e in ranking.excluded]) == list(
        range(1, 9)
    )
    assert [c.worker_id for c in ranking.candidates] == [1, 3, 5, 7]
    assert [e.worker_id for e in ranking.excluded] == [2, 4, 6, 8]


# --- ranking --------------------------------------------------------------------------------------------------


def test_candidates_are_ranked_by_travel_time_from_the_freshest_fix():
    """Tests that a worker whose fix puts them next to the site beats one whose home base is nearer."""
    far_home = worker_at(1, 5000)
    near_home = worker_at(2, 1000)
    fix = make_position(lat=SITE.location.lat, lon=SITE.location.lon + 0.001, worker_id=1)
    ranking = rank([far_home, near_home], positions={1: fix})
    assert [c.worker_id for c in ranking.candidates] == [1, 2]
    assert ranking.candidates[0].origin_kind is Origin.FIX
    assert ranking.candidates[1].origin_kind is Origin.HOME_BASE
    assert ranking.candidates[0].eta_s == pytest.approx(haversine_m(fix.point, SITE.location) / SPEED_MPS)


def test_timings_follow_travel_and_the_window():
    """Tests that a job opening later has the worker leave in time to arrive at the opening, and late_s is 0."""
    order = make_order(window=TimeWindow(NOW + timedelta(hours=2), NOW + timedelta(hours=3)), service_duration_s=1800)
    best = rank([worker_at(1, 6000)], order).best
    assert best is not None
    assert best.eta_s == pytest.approx(600.0, rel=1e-3)
    assert best.arrive_at == NOW + timedelta(hours=2)
    assert best.depart_at == best.arrive_at - timedelta(seconds=best.eta_s)
    assert best.end_at == NOW + timedelta(hours=2, minutes=30)
    assert best.late_s == 0.0


def test_an_overdue_order_still_gets_candidates_marked_late():
    """Tests that an order whose window has closed is not unassignable: the candidate says how late."""
    order = make_order(window=TimeWindow(NOW - timedelta(hours=2), NOW - timedelta(hours=1)))
    best = rank([worker_at(1, 6000)], order).best
    assert best is not None and best.late_s == pytest.approx(3600 + 600, rel=1e-3)


def test_workload_breaks_near_ties_but_not_for_emergencies():
    """Tests that a worker 60 s nearer with two more orders booked loses a routine job but wins an emergency."""
    busy_near, free_far = worker_at(1, 1000), worker_at(2, 1600)
    workloads = {1: Workload(orders_today=2), 2: Workload(orders_today=0)}
    routine = rank([busy_near, free_far], workloads=workloads)
    assert [c.worker_id for c in routine.candidates] == [2, 1]
    assert routine.candidates[1].score_s == pytest.approx(100 + 2 * PARAMS.workload_penalty_s, rel=1e-3)
    emergency = rank([busy_near, free_far], make_order(type=OrderType.EMERGENCY), workloads=workloads)
    assert [c.worker_id for c in emergency.candidates] == [1, 2]
    urgent = rank([busy_near, free_far], make_order(priority=1), workloads=workloads)
    assert [c.worker_id for c in urgent.candidates] == [1, 2]


def test_ties_break_by_worker_id_whatever_the_input_order():
    """Tests that workers at the same spot with the same load come out by id, however they are passed in."""
    workers = [worker_at(i, 800) for i in (5, 2, 9, 1)]
    for shuffled in (workers, workers[::-1]):
        assert [c.worker_id for c in rank(shuffled).candidates] == [1, 2, 5, 9]


def test_back_to_back_shifts_cover_a_job_across_the_change():
    """Tests that 07–12 and 12–19 shifts together cover a job from 11:30 to 12:30, with a gap only at 19:00."""
    split = (Shift(weekdays=(0,), start=time(7), end=time(12)), Shift(weekdays=(0,), start=time(12), end=time(19)))
    assert first_gap(split, at("2025-03-03T11:30:00Z"), at("2025-03-03T12:30:00Z")) is None
    assert first_gap(split, at("2025-03-03T18:00:00Z"), at("2025-03-03T20:00:00Z")) == at("2025-03-03T19:00:00Z")
    assert first_gap((), NOW, NOW) == NOW


# --- the spatial index ------------------------------------------------------------------------------------------

POINTS = st.builds(
    LatLon,
    st.floats(-90, 90, allow_nan=False),
    st.floats(-180, 180, allow_nan=False),
)
CITY = st.builds(
    LatLon,
    st.floats(43.70, 43.78, allow_nan=False),
    st.floats(7.38, 7.48, allow_nan=False),
)


def near(center: LatLon, dlat: float, dlon: float) -> LatLon:
    """A point offset from `center` in degrees, latitude clamped and longitude wrapped round the antimeridian."""
    return LatLon(max(-90.0, min(90.0, center.lat + dlat)), (center.lon + dlon + 180.0) % 360.0 - 180.0)


def assert_nearest_first(index: WorkerIndex, points: dict[int, LatLon], query: LatLon) -> None:
    got = list(index.nearest(query))
    want = sorted((haversine_m(p, query), w) for w, p in points.items())
    assert sorted(w for _, w in got) == sorted(points)
    assert [d for d, _ in got] == pytest.approx([d for d, _ in want], abs=1e-6)


OFFSETS = st.tuples(st.floats(-1, 1), st.floats(-1, 1))


@given(
    POINTS,
    st.sampled_from([0.001, 0.05, 1.0, 30.0]),
    st.lists(OFFSETS, max_size=40),
    OFFSETS,
    st.sampled_from([20.0, 500.0, 20_000.0, 2_000_000.0]),
    st.floats(-80, 80),
)
def test_index_yields_every_worker_nearest_first_like_sorting_them_all(centre, spread, offsets, q, cell_m, ref_lat):
    """Tests that the grid index yields exactly the workers, in the order a full sort by haversine_m gives, for
    clusters of any size anywhere on the globe (poles and the antimeridian included) and any cell size."""
    index = WorkerIndex(cell_m=cell_m, ref_lat=ref_lat)
    points = {w: near(centre, dy * spread, dx * spread * 3) for w, (dy, dx) in enumerate(offsets)}
    for worker_id, point in points.items():
        index.put(worker_id, point)
    assert_nearest_first(index, points, near(centre, q[0] * spread, q[1] * spread))


@pytest.mark.parametrize("seed", range(60))
def test_index_order_matches_a_full_sort_on_seeded_clusters(seed: int):
    """Tests the same on 60 seeded clusters of 80 workers, some at the poles, some astride the antimeridian,
    with duplicated positions."""
    rng = random.Random(seed)
    centre = LatLon(
        rng.choice([0.0, 43.7, 70.0, 89.9, -89.9, rng.uniform(-90, 90)]), rng.choice([179.99, -179.99, 7.4])
    )
    spread = rng.choice([0.001, 0.05, 1.0, 20.0])
    index = WorkerIndex(cell_m=rng.choice([100.0, 1000.0, 20_000.0, 300_000.0]), ref_lat=rng.uniform(-89, 89))
    points: dict[int, LatLon] = {}
    for worker_id in range(80):
        if points and rng.random() < 0.1:
            points[worker_id] = points[rng.randrange(worker_id)]
        else:
            points[worker_id] = near(centre, rng.uniform(-spread, spread), rng.uniform(-3 * spread, 3 * spread))
        index.put(worker_id, points[worker_id])
    for _ in range(5):
        assert_nearest_first(index, points, near(centre, rng.uniform(-spread, spread), rng.uniform(-spread, spread)))


def test_index_follows_moves_and_removals():
    """Tests that moving a worker changes who is nearest, and a removed worker is no longer found."""
    index = WorkerIndex(cell_m=200)
    index.put(1, north_of(SITE.location, 100))
    index.put(2, north_of(SITE.location, 900))
    assert [w for _, w in index.nearest(SITE.location)] == [1, 2]
    index.put(2, north_of(SITE.location, 10))
    assert [w for _, w in index.nearest(SITE.location)] == [2, 1]
    index.remove(2)
    index.remove(42)
    assert [w for _, w in index.nearest(SITE.location)] == [1]
    assert (len(index), 2 in index, index.origin(2)) == (1, False, None)


def test_index_built_from_workers_uses_fixes_then_home_bases():
    """Tests that build() places a worker at their fix when known, else at home, and skips those with neither."""
    workers = [worker_at(1, 100), worker_at(2, 200), worker_at(3, 0, home_base=None)]
    fix = make_position(lat=43.75, lon=7.43, worker_id=2)
    index = WorkerIndex.build(workers, {2: fix})
    assert index.origin(1) == (north_of(SITE.location, 100), Origin.HOME_BASE)
    assert index.origin(2) == (fix.point, Origin.FIX)
    assert 3 not in index and len(index) == 2


# --- the fast path agrees with the full scan ---------------------------------------------------------------------

SKILL_SETS = [frozenset({"gas"}), frozenset({"water"}), frozenset({"gas", "electric"}), frozenset()]
SHIFTS = [
    (DAY_7_19,),
    (Shift(weekdays=(0,), start=time(7), end=time(11)),),
    (Shift(weekdays=(1, 2), start=time(7), end=time(19)),),
]
DAY_7_19_ONLY = SHIFTS[0]
WORKER_ROWS = st.lists(
    st.tuples(
        CITY,  # home base
        st.one_of(st.none(), CITY),  # fix
        st.sampled_from([*SKILL_SETS, SKILL_SETS[0], SKILL_SETS[2]]),
        st.sampled_from([*SHIFTS, DAY_7_19_ONLY]),
        st.integers(0, 9),  # orders today
        st.sampled_from([False, False, False, True]),  # on leave now
        st.sampled_from([True, True, True, False]),  # active
    ),
    max_size=30,
)
ORDERS = st.builds(
    make_order,
    type=st.sampled_from(list(OrderType)),
    priority=st.integers(1, 5),
    required_skills=st.sampled_from(SKILL_SETS),
    service_duration_s=st.sampled_from([0, 1800, 3600]),
)


def instance(rows):
    workers: dict[int, Worker] = {}
    positions: dict[int, Position] = {}
    workloads: dict[int, Workload] = {}
    leaves: dict[int, list[Leave]] = {}
    for worker_id, (home, fix, skills, shifts, orders_today, on_leave, active) in enumerate(rows, start=1):
        workers[worker_id] = worker_at(worker_id, 0, home_base=home, skills=skills, shifts=shifts, active=active)
        if fix is not None:
            positions[worker_id] = make_position(lat=fix.lat, lon=fix.lon, worker_id=worker_id)
        workloads[worker_id] = Workload(orders_today=orders_today, booked_s=orders_today * 2400.0)
        if on_leave:
            leaves[worker_id] = [Leave(worker_id, NOW - timedelta(hours=1), NOW + timedelta(minutes=30))]
    return workers, positions, workloads, leaves


@given(WORKER_ROWS, ORDERS, st.sampled_from([Crow(), Winding()]), st.sampled_from([None, 100.0, 3000.0]))
def test_nearest_qualified_picks_the_full_scans_best_and_it_is_always_qualified(rows, order, travel, cell_m):
    """Tests that the indexed fast path returns the very candidate the full ranking puts first (or nobody when it
    has none), and that the chosen worker has every skill, is active, not on leave, and on shift from leaving
    until the job ends."""
    workers, positions, workloads, leaves = instance(rows)
    index = WorkerIndex.build(workers.values(), positions, cell_m=cell_m)
    full = rank(list(workers.values()), order, positions=positions, workloads=workloads, leaves=leaves, travel=travel)
    fast = nearest_qualified(
        order, SITE, workers, now=NOW, index=index, workloads=workloads, leaves=leaves, travel=travel, params=PARAMS
    )
    if full.best is None:
        assert isinstance(fast, NoCandidate)
        return
    assert fast == full.best
    assert isinstance(fast, Candidate)
    chosen = workers[fast.worker_id]
    assert chosen.active and order.required_skills <= chosen.skills
    assert first_gap(chosen.shifts, fast.depart_at, fast.end_at) is None
    assert not any(leave.overlaps(fast.depart_at, fast.end_at) for leave in leaves.get(fast.worker_id, ()))
    assert workloads[fast.worker_id].orders_today < PARAMS.max_orders_per_day


@pytest.mark.parametrize("seed", range(40))
def test_nearest_qualified_agrees_with_the_full_scan_on_seeded_cities(seed: int):
    """Tests, on 40 seeded towns of 150 workers each (mixed skills, shifts, leave, workloads, fixes and winding
    roads), that the fast path and the full ranking choose the same candidate."""
    rng = random.Random(seed)
    rows = [
        (
            LatLon(rng.uniform(43.70, 43.78), rng.uniform(7.38, 7.48)),
            LatLon(rng.uniform(43.70, 43.78), rng.uniform(7.38, 7.48)) if rng.random() < 0.6 else None,
            rng.choice([*SKILL_SETS, SKILL_SETS[0]]),
            rng.choice([*SHIFTS, DAY_7_19_ONLY]),
            rng.randint(0, 9),
            rng.random() < 0.2,
            rng.random() < 0.9,
        )
        for _ in range(150)
    ]
    workers, positions, workloads, leaves = instance(rows)
    order = make_order(
        type=rng.choice(list(OrderType)),
        priority=rng.randint(1, 5),
        required_skills=rng.choice(SKILL_SETS),
        service_duration_s=rng.choice([0, 1800, 3600]),
    )
    travel = rng.choice([Crow(), Winding()])
    index = WorkerIndex.build(workers.values(), positions, cell_m=rng.choice([None, 150.0, 1000.0]))
    full = rank(list(workers.values()), order, positions=positions, workloads=workloads, leaves=leaves, travel=travel)
    fast = nearest_qualified(
        order, SITE, workers, now=NOW, index=index, workloads=workloads, leaves=leaves, travel=travel, params=PARAMS
    )
    assert full.best is not None
    assert fast == full.best


def test_nearest_qualified_looks_at_few_workers_among_many():
    """Tests that among 2,000 workers spread over a city the fast path asks for travel times of only a handful."""
    rng = random.Random(0)
    workers = {
        i: worker_at(i, 0, home_base=LatLon(rng.uniform(43.6, 43.9), rng.uniform(7.2, 7.6)), skills=frozenset({"gas"}))
        for i in range(1, 2001)
    }
    calls: list[LatLon] = []

    class Counting(Crow):
        def duration_s(self, a: LatLon, b: LatLon) -> float | None:
            calls.append(a)
            return super().duration_s(a, b)

    index = WorkerIndex.build(workers.values(), {})
    best = nearest_qualified(
        make_order(type=OrderType.EMERGENCY),
        SITE,
        workers,
        now=NOW,
        index=index,
        workloads={},
        leaves={},
        travel=Counting(),
        params=PARAMS,
    )
    nearest = min(workers.values(), key=lambda w: (haversine_m(w.home_base, SITE.location), w.id))  # type: ignore[arg-type]
    assert isinstance(best, Candidate) and best.worker_id == nearest.id
    assert len(calls) <= 5


def test_nothing_qualified_comes_back_as_no_candidate_with_a_summary():
    """Tests that when nobody fits, the answer counts the reasons and lists each worker looked at."""
    workers = {
        1: worker_at(1, 100, skills=frozenset({"water"})),
        2: worker_at(2, 200, skills=frozenset({"water"})),
        3: worker_at(3, 300, shifts=(Shift(weekdays=(2,), start=time(7), end=time(19)),)),
    }
    result = nearest_qualified(
        make_order(),
        SITE,
        workers,
        now=NOW,
        index=WorkerIndex.build(workers.values(), {}),
        workloads={},
        leaves={},
        travel=Crow(),
        params=PARAMS,
    )
    assert isinstance(result, NoCandidate)
    assert result.reason == "no qualified worker among 3: 2 missing a skill (gas), 1 off shift"
    assert [e.worker_id for e in result.excluded] == [1, 2, 3]


def test_an_empty_index_says_no_worker_has_a_location():
    """Tests that with nobody located the answer says so rather than blaming skills or shifts."""
    result = nearest_qualified(
        make_order(), SITE, {}, now=NOW, index=WorkerIndex(), workloads={}, leaves={}, travel=Crow(), params=PARAMS
    )
    assert result == NoCandidate("no worker with a known location")


def test_a_travel_provider_faster_than_promised_is_caught():
    """Tests that travel times below distance / max_speed_mps raise instead of silently missing a better worker."""
    workers = {1: worker_at(1, 5000)}
    with pytest.raises(ValueError, match="faster than max_speed_mps"):
        nearest_qualified(
            make_order(),
            SITE,
            workers,
            now=NOW,
            index=WorkerIndex.build(workers.values(), {}),
            workloads={},
            leaves={},
            travel=Crow(speed_mps=50.0),
            params=PARAMS,
        )


# --- who is near --------------------------------------------------------------------------------------------------


def who_is_near_by_scan(point, workers, positions, leaves, travel, n, skills):
    found = []
    for worker in workers.values():
        fix = positions.get(worker.id)
        origin = fix.point if fix is not None else worker.home_base
        if origin is None or not skills <= worker.skills or not worker.on_shift(NOW):
            continue
        if any(leave.overlaps(NOW, NOW) for leave in leaves.get(worker.id, ())):
            continue
        eta = travel.duration_s(origin, point)
        if eta is not None:
            found.append((eta, worker.id))
    return sorted(found)[:n]


@given(WORKER_ROWS, CITY, st.integers(1, 6), st.sampled_from(SKILL_SETS), st.sampled_from([Crow(), Winding()]))
def test_who_is_near_matches_a_full_scan(rows, point, n, skills, travel):
    """Tests that the N nearest available workers by ETA are those a scan of everyone finds, in the same order."""
    workers, positions, _, leaves = instance(rows)
    index = WorkerIndex.build(workers.values(), positions, cell_m=300.0)
    got = who_is_near(
        point, workers, now=NOW, index=index, travel=travel, n=n, skills=skills, leaves=leaves, params=PARAMS
    )
    want = who_is_near_by_scan(point, workers, positions, leaves, travel, n, skills)
    assert [(g.eta_s, g.worker_id) for g in got] == want


def test_who_is_near_lists_available_qualified_workers_with_etas():
    """Tests that off-shift, unskilled and absent workers are skipped and the rest come nearest first with ETAs."""
    workers = {
        1: worker_at(1, 2000),
        2: worker_at(2, 1000),
        3: worker_at(3, 500, skills=frozenset({"water"})),
        4: worker_at(4, 100, shifts=(Shift(weekdays=(3,), start=time(7), end=time(19)),)),
        5: worker_at(5, 300),
    }
    leaves = {5: [Leave(5, NOW - timedelta(days=1), NOW + timedelta(days=1))]}
    near = who_is_near(
        SITE.location,
        workers,
        now=NOW,
        index=WorkerIndex.build(workers.values(), {}),
        travel=Crow(),
        n=5,
        skills=frozenset({"gas"}),
        leaves=leaves,
        params=PARAMS,
    )
    assert [(x.worker_id, round(x.eta_s)) for x in near] == [(2, 100), (1, 200)]
    assert near[0].distance_m == pytest.approx(1000, rel=1e-3)


# --- auto-dispatch ----------------------------------------------------------------------------------------------


def auto(order: WorkOrder, workers: dict[int, Worker], policy: AutoDispatchPolicy | None = None):
    return auto_dispatch(
        order,
        SITE,
        workers,
        policy=policy or AutoDispatchPolicy(),
        now=NOW,
        index=WorkerIndex.build(workers.values(), {}),
        workloads={2: Workload(orders_today=7)},
        leaves={},
        travel=Crow(),
        params=PARAMS,
    )


def test_an_emergency_goes_to_the_nearest_qualified_worker_at_once():
    """Tests that a new emergency is assigned without a dispatcher to the nearest qualified worker, busy or not,
    and the change is recorded as the automatic dispatcher's."""
    workers = {1: worker_at(1, 3000), 2: worker_at(2, 400), 3: worker_at(3, 50, skills=frozenset({"water"}))}
    result = auto(make_order(type=OrderType.EMERGENCY), workers)
    assert isinstance(result, AutoDispatched)
    assert (result.order.status, result.order.assigned_worker_id) == (OrderStatus.ASSIGNED, 2)
    assert (result.change.actor_id, result.change.event, result.change.at) == (None, LifecycleEvent.ASSIGNED, NOW)
    assert result.candidate.worker_id == 2


def test_order_types_outside_the_policy_wait_for_a_dispatcher():
    """Tests that a repair is left for a dispatcher unless the policy lists repairs, and only new orders go out."""
    workers = {1: worker_at(1, 300)}
    assert auto(make_order(), workers) == ManualDispatch("repair orders are dispatched by hand")
    policy = AutoDispatchPolicy(frozenset({OrderType.REPAIR}))
    assert isinstance(auto(make_order(), workers, policy), AutoDispatched)
    declined = make_order(type=OrderType.EMERGENCY, status=OrderStatus.DECLINED)
    assert auto(declined, workers) == ManualDispatch(
        "order 7 is declined; only new orders are dispatched automatically"
    )


def test_an_emergency_nobody_can_take_is_handed_back_with_the_reason():
    """Tests that auto-dispatch with no qualified worker returns NoCandidate with the summary, assigning nobody."""
    result = auto(make_order(type=OrderType.EMERGENCY), {1: worker_at(1, 300, skills=frozenset())})
    assert result == NoCandidate(
        "no qualified worker among 1: 1 missing a skill (gas)", (rank([worker_at(1, 300, skills=frozenset())]).excluded)
    )


# --- values -----------------------------------------------------------------------------------------------------


def test_values_refuse_nonsense_naming_the_field():
    """Tests that inverted leave, negative workload and a non-positive speed promise are refused at construction."""
    with pytest.raises(ValueError, match="leave end must be after"):
        Leave(1, NOW, NOW)
    with pytest.raises(ValueError, match="orders_today"):
        Workload(orders_today=-1)
    with pytest.raises(ValueError, match="max_speed_mps"):
        AssignParams(max_speed_mps=0)
    with pytest.raises(ValueError, match="workload_penalty_s"):
        AssignParams(workload_penalty_s=-1)
    with pytest.raises(ValueError, match="cell_m"):
        WorkerIndex(cell_m=math.nan)


def test_leave_needs_aware_times():
    """Tests that a leave with a naive datetime is refused."""
    with pytest.raises(ValueError, match="timezone-aware"):
        Leave(1, datetime(2025, 3, 3), NOW)


def test_a_monaco_shift_covers_a_window_up_to_its_local_end_not_to_that_hour_in_utc() -> None:
    """Tests that a 08:00-17:00 Monaco shift (16:00 UTC in winter) leaves 16:00 UTC uncovered, and covers
    07:30-15:30 UTC, where reading its end as 17:00 UTC said the reverse."""
    monaco = ZoneInfo("Europe/Monaco")
    shifts = [Shift((0, 1, 2, 3, 4), time(8), time(17), zone=monaco)]
    assert first_gap(shifts, at("2025-03-03T07:30:00Z"), at("2025-03-03T15:30:00Z")) is None
    assert first_gap(shifts, at("2025-03-03T15:00:00Z"), at("2025-03-03T16:30:00Z")) == at("2025-03-03T16:00:00Z")


def test_the_off_shift_time_reads_on_the_offices_clock_and_its_day():
    """Tests that in a Monaco office a worker whose 08:00-17:00 Monaco shift ends during a job is "off shift at
    17:00" (16:00 UTC), and a gap at 00:30 Monaco on the next local day (23:30 UTC today) names that date."""
    monaco = ZoneInfo("Europe/Monaco")
    params = dataclasses.replace(PARAMS, zone=monaco)
    office = worker_at(1, 0, shifts=(Shift((0, 1, 2, 3, 4), time(8), time(17), zone=monaco),))
    order = make_order(
        window=TimeWindow(at("2025-03-03T15:00:00Z"), at("2025-03-03T17:00:00Z")), service_duration_s=7200
    )
    assert only_exclusion([office], order, params=params).reason == "off shift at 17:00"
    night = at("2025-03-03T23:30:00Z")
    order = make_order(window=TimeWindow(night, night + timedelta(hours=1)), service_duration_s=1800)
    assert only_exclusion([office], order, params=params).reason == "off shift at 2025-03-04 00:30"
