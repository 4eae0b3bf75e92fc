"""The batch path (`evaluate_batch`) decides exactly what feeding every fix through `fix_alerts` and `step` one by one
decides: the same alerts, the same geofence crossings, the same states, for random tracks across circle and polygon
geofences with jitter at their boundaries, duplicates and late fixes, untrusted fixes, flags and jumps."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch import batch_events, geofences
from dispatch.alerts import AlertKind, AlertSettings, Decision, fix_alerts, open_key
from dispatch.batch_events import evaluate_batch, wanted
from dispatch.geo import EARTH_RADIUS_M, LatLon, haversine_m
from dispatch.geofences import (
    NO_ID,
    CircleFence,
    DwellParams,
    FenceState,
    FenceTable,
    Geofence,
    GeofenceEvent,
    GeofenceIndex,
    PolygonFence,
    Presence,
    SitePresence,
    step,
)
from dispatch.positions import Position, StoredFixes

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
CENTRE = LatLon(43.7394, 7.4276)
M_PER_DEG_LAT = EARTH_RADIUS_M * math.pi / 180.0
DWELL = DwellParams(dwell_s=60.0, hysteresis_m=20.0)
ALERTS = AlertSettings()


def offset(origin: LatLon, north_m: float, east_m: float) -> LatLon:
    return LatLon(
        origin.lat + north_m / M_PER_DEG_LAT,
        origin.lon + east_m / (M_PER_DEG_LAT * math.cos(math.radians(origin.lat))),
    )


def fences(rng: random.Random) -> dict[int, Geofence]:
    """A few circles and polygons, some overlapping, within 600 m of the centre."""
    out: dict[int, Geofence] = {}
    for site_id in range(1, rng.randint(2, 7) + 1):
        c = offset(CENTRE, rng.uniform(-600, 600), rng.uniform(-600, 600))
        size = rng.uniform(30, 150)
        if rng.random() < 0.5:
            out[site_id] = CircleFence(c, size)
        else:
            out[site_id] = PolygonFence(
                (c, offset(c, size, 0), offset(c, size, size * rng.uniform(0.5, 1.5)), offset(c, 0, size * 0.8))
            )
    return out


def near_boundary(rng: random.Random, fence: Geofence) -> LatLon:
    """A point within ±30 m of the fence's edge (across the band), or well inside it."""
    if isinstance(fence, CircleFence):
        bearing = rng.uniform(0, 2 * math.pi)
        r = fence.radius_m + rng.choice([rng.uniform(-30, 30), -fence.radius_m * rng.random(), 20.0, 0.0])
        return offset(fence.center, r * math.cos(bearing), r * math.sin(bearing))
    a, b = rng.sample(fence.corners, 2)
    f = rng.random()
    edge = LatLon(a.lat + (b.lat - a.lat) * f, a.lon + (b.lon - a.lon) * f)
    return offset(edge, rng.uniform(-30, 30), rng.uniform(-30, 30))


def well_inside(rng: random.Random, fence: Geofence) -> LatLon:
    if isinstance(fence, CircleFence):
        return offset(fence.center, rng.uniform(-0.5, 0.5) * fence.radius_m, rng.uniform(-0.5, 0.5) * fence.radius_m)
    corners = fence.corners
    return LatLon(sum(c.lat for c in corners) / len(corners), sum(c.lon for c in corners) / len(corners))


def track(rng: random.Random, worker_id: int, sites: dict[int, Geofence], n: int) -> list[Position]:
    """A worker's fixes: stays at a site's edge, walks between sites, an odd far jump; 5-20 s apart, some repeated."""
    out: list[Position] = []
    t = float(rng.randint(0, 30))
    fence = rng.choice(list(sites.values()))
    for i in range(n):
        r = rng.random()
        if r < 0.05:
            fence = rng.choice(list(sites.values()))
        if r < 0.03:
            point = offset(CENTRE, rng.choice([-1, 1]) * rng.uniform(3000, 9000), rng.uniform(-9000, 9000))
        elif r < 0.10:
            point = offset(CENTRE, rng.uniform(-900, 900), rng.uniform(-900, 900))
        elif r < 0.55:
            point = well_inside(rng, fence)
        else:
            point = near_boundary(rng, fence)
        t += (
            rng.choice([0.0, rng.uniform(-30, 0)])
            if rng.random() < 0.12
            else rng.choice([10.0, 15.0, rng.uniform(5, 20)])
        )
        battery = rng.choice([None, 80.0, 9.0, 20.0, 30.0])
        out.append(
            Position(
                worker_id=worker_id,
                device_id=f"dev-{worker_id}",
                fix_time=T0 + timedelta(seconds=t),
                device_time=T0,
                server_time=T0,
                latitude=point.lat,
                longitude=point.lon,
                accuracy_m=rng.choice([None, 5.0, 5.0, 150.0]),
                battery_pct=battery,
                charging=rng.choice([None, False, True]) if battery is not None else None,
                mock=rng.random() < 0.04,
                valid=rng.random() > 0.04,
                attributes={"alarm": "sos"} if rng.random() < 0.02 else {},
                id=worker_id * 10_000 + i,
            )
        )
    return out


def reference(
    fixes: list[Position],
    last: dict[int, Position],
    states: dict[int, FenceState],
    index: GeofenceIndex,
    open_keys: set[str],
    dwell: DwellParams = DWELL,
) -> tuple[list[Decision], list[GeofenceEvent]]:
    """The reference: each fix in (worker, fix time) order through `fix_alerts` and `step` (no shortcut)."""
    decisions: list[Decision] = []
    crossings: list[GeofenceEvent] = []
    for fix in sorted(fixes, key=lambda p: (p.worker_id, p.fix_time)):
        previous = last.get(fix.worker_id)
        if previous is not None and fix.fix_time <= previous.fix_time:
            continue
        last[fix.worker_id] = fix
        decisions.extend(wanted(fix_alerts(previous, fix, ALERTS), open_keys))
        state = states.get(fix.worker_id, FenceState(fix.worker_id))
        states[fix.worker_id], events = step(state, fix, index.near(fix.point, dwell.hysteresis_m), dwell)
        crossings.extend(events)
    return decisions, crossings


def presence(states: Mapping[int, FenceState]) -> dict[int, dict[int, object]]:
    return {w: dict(s.sites) for w, s in states.items() if s.sites}


def check_same(
    seed: int,
    workers: int,
    fixes_each: int,
    batches: int,
    one_by_one: bool = False,
    ids_beside: bool = False,
    times_beside: bool = False,
    workers_beside: bool = False,
    as_states: bool = False,
    plain: bool = False,
) -> tuple[int, int]:
    """`ids_beside`: each batch is given as fixes without their ids and the ids beside them (`StoredFixes`);
    `times_beside`: with the fixes' times in microseconds beside them (`StoredFixes.fix_us`); `workers_beside`: with
    their worker ids as an array beside them (as the evaluator reads them once). The dwell states go from batch to
    batch as the evaluator keeps them (the `FenceTable` a batch returns, and each worker's last fix time beside the
    last fixes), or with `as_states` as a `FenceState` per worker, updated with the states a batch changed. `plain`:
    every fix plain (no attributes, not mock, valid, charging unknown), and the batch said to be (`StoredFixes.plain`)."""
    rng = random.Random(seed)
    sites = fences(rng)
    index = GeofenceIndex(sites)
    fixes = [p for w in range(1, workers + 1) for p in track(rng, w, sites, fixes_each)]
    if plain:
        fixes = [replace(p, attributes=MappingProxyType({}), mock=False, valid=True, charging=None) for p in fixes]
    open_keys = {
        open_key(kind, w, None)
        for w in range(1, workers + 1)
        for kind in (AlertKind.OFFLINE, AlertKind.LOW_BATTERY, AlertKind.SOS, AlertKind.IMPOSSIBLE_JUMP)
        if rng.random() < 0.15
    }
    cuts = sorted(rng.sample(range(1, len(fixes)), min(batches, len(fixes)) - 1)) if len(fixes) > 1 else []
    rng.shuffle(fixes)  # a batch brings any workers' fixes in any order
    ref_last: dict[int, Position] = {}
    ref_states: dict[int, FenceState] = {}
    last: dict[int, Position] = {}
    last_t: dict[int, float] = {}
    states: dict[int, FenceState] = {}
    table = FenceTable.empty()
    seen = [0, 0]
    for batch in np.split(np.arange(len(fixes)), cuts):
        chunk = [fixes[i] for i in batch.tolist()]
        want_decisions, want_crossings = reference(chunk, ref_last, ref_states, index, open_keys)
        given = StoredFixes([replace(p, id=None) for p in chunk], [p.id for p in chunk]) if ids_beside else None
        got = evaluate_batch(
            given.positions if given is not None else chunk,
            ids=given.ids if given is not None else None,
            fix_us=[(p.fix_time - EPOCH) // MICROSECOND for p in chunk] if times_beside else None,
            worker_ids=np.array([p.worker_id for p in chunk], np.int64) if workers_beside else None,
            last=last,
            last_t=None if as_states else last_t,
            fences=states if as_states else table,
            index=index,
            settings=ALERTS,
            dwell=DWELL,
            open_keys=open_keys,
            one_by_one=one_by_one,
            plain=plain,
        )
        last.update(got.last)
        last_t.update(got.last_t)
        changed = got.fences
        states.update(changed)
        table = got.table
        assert set(changed) == set(got.changed)
        for w, state in changed.items():  # a state the batch changed: as `step` left it
            assert dict(state.sites) == dict(ref_states[w].sites)
        if not as_states:
            assert presence(table.states(ref_states)) == presence(ref_states)
        assert last_t == {w: p.fix_time.timestamp() for w, p in ref_last.items()}
        assert list(got.crossings) == want_crossings
        assert list(got.decisions) == want_decisions
        assert last == (ref_last if not ids_beside else {w: replace(p, id=None) for w, p in ref_last.items()})
        assert presence(states) == presence(ref_states)
        seen[0] += len(want_crossings)
        seen[1] += len(want_decisions)
    return seen[0], seen[1]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    workers=st.integers(1, 6),
    fixes_each=st.integers(1, 60),
    batches=st.integers(1, 4),
    one_by_one=st.booleans(),
    as_states=st.booleans(),
)
def test_a_batch_decides_what_each_fix_through_step_and_fix_alerts_decides(
    seed: int, workers: int, fixes_each: int, batches: int, one_by_one: bool, as_states: bool
) -> None:
    """Over arrays, and one by one as a small batch goes; the dwell states kept between batches as a table (as the
    evaluator keeps them) or as a `FenceState` per worker."""
    check_same(seed, workers, fixes_each, batches, one_by_one, as_states=as_states)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    workers=st.integers(1, 6),
    fixes_each=st.integers(1, 60),
    batches=st.integers(1, 4),
    one_by_one=st.booleans(),
)
def test_fixes_handed_with_their_ids_beside_them_cross_with_those_ids(
    seed: int, workers: int, fixes_each: int, batches: int, one_by_one: bool
) -> None:
    """Tests that fixes handed without their ids, the stored ids beside them (as the batch endpoint hands them on),
    decide the same, and that each crossing records the id of the fix that made it."""
    check_same(seed, workers, fixes_each, batches, one_by_one, ids_beside=True)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    workers=st.integers(1, 6),
    fixes_each=st.integers(1, 60),
    batches=st.integers(1, 4),
    one_by_one=st.booleans(),
    ids_beside=st.booleans(),
    workers_beside=st.booleans(),
)
def test_fixes_handed_with_their_times_beside_them_decide_the_same(
    seed: int, workers: int, fixes_each: int, batches: int, one_by_one: bool, ids_beside: bool, workers_beside: bool
) -> None:
    """Tests that fixes handed with their times in microseconds beside them (as the batch endpoint read them), and
    their worker ids (as the evaluator reads them once), decide what each fix through `step` and `fix_alerts` decides:
    the same order, dwell, jumps and crossings."""
    check_same(
        seed,
        workers,
        fixes_each,
        batches,
        one_by_one,
        ids_beside=ids_beside,
        times_beside=True,
        workers_beside=workers_beside,
    )


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    workers=st.integers(1, 6),
    fixes_each=st.integers(1, 60),
    batches=st.integers(1, 4),
    one_by_one=st.booleans(),
    times_beside=st.booleans(),
)
def test_plain_fixes_said_plain_decide_what_each_fix_through_step_and_fix_alerts_decides(
    seed: int, workers: int, fixes_each: int, batches: int, one_by_one: bool, times_beside: bool
) -> None:
    """Tests that a batch said to be plain (`StoredFixes.plain`: the evaluator then reads no attributes, mock, valid or
    charging) decides what each of its fixes through `step` and `fix_alerts` decides: the low battery, jumps, accuracy
    and dwell all as before."""
    check_same(seed, workers, fixes_each, batches, one_by_one, times_beside=times_beside, plain=True)


def test_plain_random_tracks_still_cross_and_alert() -> None:
    crossings = decisions = 0
    for seed in range(20):
        c, d = check_same(seed, 5, 80, 3, plain=True)
        crossings, decisions = crossings + c, decisions + d
    assert crossings > 50
    assert decisions > 50


def test_the_random_tracks_cross_and_alert_so_the_comparison_means_something() -> None:
    crossings = decisions = 0
    for seed in range(20):
        c, d = check_same(seed, 5, 80, 3)
        crossings, decisions = crossings + c, decisions + d
    assert crossings > 50
    assert decisions > 50


def test_a_jump_at_the_limits_is_raised_as_fix_alerts_raises_it_in_any_direction_at_any_latitude() -> None:
    """Tests that a jump just past both limits (distance and speed) is raised over arrays, and one just short of either
    is not, whichever way it goes and wherever on the globe (a degree of longitude long or short, across the date
    line): the arrays single out the fixes by a bound of the distance, and must not miss one `fix_alerts` raises."""
    fixes: list[Position] = []
    worker = 0
    for lat, lon in ((0.0, 7.0), (43.7, 7.4), (69.0, 18.9), (-55.0, -68.3), (10.0, 179.9999)):
        for bearing in range(0, 360, 30):
            for metres in (ALERTS.min_jump_m - 0.01, ALERTS.min_jump_m + 0.01, 3 * ALERTS.min_jump_m):
                for speed in (ALERTS.max_speed_mps * (1 - 1e-4), ALERTS.max_speed_mps * (1 + 1e-4)):
                    worker += 1
                    a = LatLon(lat, lon)
                    north, east = math.cos(math.radians(bearing)), math.sin(math.radians(bearing))

                    def away(m: float, a: LatLon = a, north: float = north, east: float = east) -> LatLon:
                        """`m` metres from `a` along the bearing, on the flat (longitude wrapped at the date line)."""
                        there = a.lon + east * m / (M_PER_DEG_LAT * math.cos(math.radians(a.lat)))
                        return LatLon(a.lat + north * m / M_PER_DEG_LAT, (there + 180.0) % 360.0 - 180.0)

                    b = away(metres * metres / haversine_m(a, away(metres)))  # the sphere's distance made `metres`
                    dt_s = haversine_m(a, b) / speed
                    for point, at in ((a, T0), (b, T0 + timedelta(seconds=dt_s))):
                        fixes.append(
                            Position(worker, f"dev-{worker}", at, at, at, point.lat, point.lon, accuracy_m=5.0)
                        )
    index = GeofenceIndex({1: CircleFence(LatLon(-80.0, 0.0), 50.0)})
    want, _ = reference(list(fixes), {}, {}, index, set())
    got = evaluate_batch(
        fixes, last={}, fences={}, index=index, settings=ALERTS, dwell=DWELL, open_keys=set(), one_by_one=False
    )
    assert list(got.decisions) == want
    raised = [d.worker_id for d in want if d.kind is AlertKind.IMPOSSIBLE_JUMP]
    assert len(raised) == 5 * 12 * 2  # past both limits: the jump just over 500 m and the long one, at the higher speed


@pytest.fixture(params=["cells in a table", "cells searched"])
def grid_cells(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The grid's cells read from a table of every cell (a small grid) or searched among those holding a box."""
    if request.param == "cells searched":
        monkeypatch.setattr(geofences, "DENSE_CELLS", 0)


def test_near_pairs_finds_the_pairs_and_verdicts_near_finds(grid_cells: None) -> None:
    rng = random.Random(7)
    index = GeofenceIndex(fences(rng) | {90: CircleFence(CENTRE, 50.0)})
    points = [near_boundary(rng, rng.choice(list(index.fences.values()))) for _ in range(3000)]
    # Points a circle's radius and its margin away along a meridian: on the edge and on the margin, to rounding.
    points += [offset(CENTRE, r + d, 0.0) for r in (50.0, 70.0) for d in (-1e-9, 0.0, 1e-9)]
    pairs = index.near_pairs(np.array([p.lat for p in points]), np.array([p.lon for p in points]), DWELL.hysteresis_m)
    got: dict[int, dict[int, float]] = {}
    for i, site_id, outside_m in zip(
        pairs.point.tolist(), pairs.site_id.tolist(), pairs.outside_m.tolist(), strict=True
    ):
        got.setdefault(i, {})[site_id] = outside_m
    for i, point in enumerate(points):
        want = index.near(point, DWELL.hysteresis_m)
        assert set(got.get(i, {})) == set(want), i
        for site_id, outside_m in want.items():
            assert (got[i][site_id] == 0.0) == (outside_m == 0.0)
            assert got[i][site_id] == outside_m or 0.0 < abs(got[i][site_id] - outside_m) < 1e-9


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    workers=st.integers(1, 8),
    fixes_each=st.integers(1, 250),
    batches=st.integers(1, 6),
    dwell_s=st.sampled_from([0.0, 10.0, 30.0, 60.0, 300.0]),
    hysteresis_m=st.sampled_from([0.5, 5.0, 20.0, 60.0]),
)
def test_the_arrays_decide_what_step_decides_over_long_tracks_any_dwell_and_sites_gone_from_the_index(
    seed: int, workers: int, fixes_each: int, batches: int, dwell_s: float, hysteresis_m: float
) -> None:
    """Tests that every crossing (type, worker, site, `at`, `confirmed_at`, fix id) and every worker's presence at each
    site (phase, since, fix id) after each batch are those of `step` one fix at a time, for long tracks cut into
    batches anywhere (a worker entering or leaving when a batch ends), any dwell (none at all included) and margin,
    and sites removed from the index between batches while workers are entering, inside or leaving them."""
    rng = random.Random(seed)
    dwell = DwellParams(dwell_s=dwell_s, hysteresis_m=hysteresis_m)
    sites = fences(rng)
    fixes = [p for w in range(1, workers + 1) for p in track(rng, w, sites, fixes_each)]
    cuts = sorted(rng.sample(range(1, len(fixes)), min(batches, len(fixes)) - 1)) if len(fixes) > 1 else []
    rng.shuffle(fixes)
    gone = set(rng.sample(sorted(sites), rng.randint(0, len(sites) - 1)))
    ref_last: dict[int, Position] = {}
    ref_states: dict[int, FenceState] = {}
    last: dict[int, Position] = {}
    table = FenceTable.empty()
    for n, batch in enumerate(np.split(np.arange(len(fixes)), cuts)):
        index = GeofenceIndex(sites if n == 0 else {s: f for s, f in sites.items() if s not in gone})
        chunk = [fixes[i] for i in batch.tolist()]
        _, want_crossings = reference(chunk, ref_last, ref_states, index, set(), dwell)
        got = evaluate_batch(
            chunk,
            last=last,
            fences=table,
            index=index,
            settings=ALERTS,
            dwell=dwell,
            open_keys=set(),
            one_by_one=False,
        )
        last.update(got.last)
        table = got.table
        assert list(got.crossings) == want_crossings
        assert presence(table.states(ref_states)) == presence(ref_states)
        assert sorted(table.workers()) == sorted(w for w, s in ref_states.items() if s.sites)


def test_near_pairs_finds_what_near_finds_beside_a_polygon_kilometres_wide_and_for_points_far_off(
    grid_cells: None,
) -> None:
    """Tests the grid `near_pairs` looks points up on: a polygon 12 km across among 40 m circles (the grid's cells grow
    to an eighth of it), points on every side of all of them and kilometres away, and an index of no site at all."""
    rng = random.Random(11)
    sites: dict[int, Geofence] = {
        i: CircleFence(offset(CENTRE, rng.uniform(-3000, 3000), rng.uniform(-3000, 3000)), 40.0) for i in range(1, 60)
    }
    sites[99] = PolygonFence((offset(CENTRE, -6000, -6000), offset(CENTRE, 6000, -5000), offset(CENTRE, 0, 6000)))
    index = GeofenceIndex(sites)
    points = [offset(CENTRE, rng.uniform(-9000, 9000), rng.uniform(-9000, 9000)) for _ in range(3000)]
    points += [near_boundary(rng, rng.choice(list(sites.values()))) for _ in range(2000)]
    points += [offset(CENTRE, 0, 200_000), offset(CENTRE, -200_000, 0), LatLon(-89.0, -179.0), LatLon(89.0, 179.0)]
    pairs = index.near_pairs(np.array([p.lat for p in points]), np.array([p.lon for p in points]), DWELL.hysteresis_m)
    assert np.all(np.diff(pairs.point) >= 0)
    got: dict[int, set[int]] = {}
    for i, site_id in zip(pairs.point.tolist(), pairs.site_id.tolist(), strict=True):
        got.setdefault(i, set()).add(site_id)
    assert got == {i: set(want) for i, p in enumerate(points) if (want := index.near(p, DWELL.hysteresis_m))}
    assert sum(99 in s for s in got.values()) > 1000
    assert len(GeofenceIndex({}).near_pairs(np.array([CENTRE.lat]), np.array([CENTRE.lon]), 20.0).point) == 0


def test_a_batch_beyond_the_arrays_limit_goes_one_by_one_and_decides_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that a batch whose (worker, site) pairs × fixes pass `MAX_ENTRIES` (a long backlog through many sites) is
    taken one by one, with the same crossings, alerts and states."""
    calls: list[int] = []
    one_by_one = batch_events._one_by_one

    def counted(fixes: list[Position], *args: Any) -> batch_events.BatchOutcome:
        calls.append(len(fixes))
        return one_by_one(fixes, *args)

    monkeypatch.setattr(batch_events, "MAX_ENTRIES", -(10**9))
    monkeypatch.setattr(batch_events, "_one_by_one", counted)
    crossings, decisions = check_same(3, 5, 80, 3)
    assert calls and crossings > 0 and decisions > 0


def test_a_table_of_states_gives_back_each_state_and_replaces_only_the_workers_updated() -> None:
    """Tests the columns the evaluator keeps each worker's dwell state in: every presence (phase, since to the
    microsecond, fix id or none) comes back as it went in, whatever order the sites came in; updating some workers
    replaces their sites (more, fewer, none left) and leaves the others' as they were; a worker at no site has no
    rows, and reads back as a state without sites."""
    t = T0 + timedelta(microseconds=123_457)
    states = {
        9: FenceState(9, None, {30: SitePresence(Presence.LEAVING, t, None), 4: SitePresence(Presence.INSIDE, t, 77)}),
        2: FenceState(2, t, {5: SitePresence(Presence.ENTERING, t + timedelta(seconds=1), 78)}),
        5: FenceState(5, t),
        7: FenceState(7, None, {4: SitePresence(Presence.INSIDE, T0, 2**40)}),
    }
    table = FenceTable.of(states)
    assert len(table) == 4 and table.workers() == [2, 7, 9]
    assert list(table.worker) == [2, 7, 9, 9]
    assert {w: dict(s.sites) for w, s in table.states([2, 5, 7, 9]).items()} == {
        w: dict(s.sites) for w, s in states.items()
    }
    assert table.state(5) is None and table.state(8) is None
    assert list(table.states([9])[9].sites) == [4, 30]
    assert table.since_id[table.site == 30].tolist() == [NO_ID]
    later = table.updated(
        {
            2: FenceState(
                2, None, {5: SitePresence(Presence.INSIDE, t, 78), 6: SitePresence(Presence.ENTERING, t, 80)}
            ),
            9: FenceState(9, None),
            1: FenceState(1, None, {4: SitePresence(Presence.ENTERING, T0, None)}),
        }
    )
    assert later.workers() == [1, 2, 7]
    assert np.all(np.diff(later.worker) >= 0)
    assert dict(later.states([2])[2].sites) == {
        5: SitePresence(Presence.INSIDE, t, 78),
        6: SitePresence(Presence.ENTERING, t, 80),
    }
    assert later.states([7]) == table.states([7])
    assert dict(later.states([9])[9].sites) == {}
    assert table.states([9])[9].sites.keys() == {4, 30}  # the table updated is a new value; the old one unchanged
    with pytest.raises(ValueError, match="read-only"):
        table.phase[0] = 1  # a value: its columns are not written in place
