"""A batch of stored fixes through the per-fix alert rules and the geofence dwell machine, over arrays.

`evaluate_batch` decides what feeding every fix of the batch, worker by worker in fix-time order, through
`dispatch.alerts.fix_alerts` and `dispatch.geofences.step` decides (the reference, kept as it is), but pays
Python only for the few fixes that can matter:

- the per-fix rules: the flags (SOS, mock, low battery) and the flat-earth distance between consecutive fixes
  are array operations; only the fixes they single out (and, for a worker with an open condition a fix
  clears, those that clear it) go through `fix_alerts`;
- the dwell machine: a worker at no site whose fix is inside none, or inside the same site(s) as before
  (past the dwell) and nowhere new, changes nothing but the time of the last fix. Each worker's run of such
  fixes from the batch's start is skipped in bulk; from the first fix that can change something on, their
  fixes go through `step` one by one.

The alerts come filtered by the open alerts' keys (`wanted`): raises of alerts not open, clears of open ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from dispatch.alerts import AlertKind, AlertSettings, Clear, Decision, fix_alerts, open_key
from dispatch.geo import EARTH_RADIUS_M
from dispatch.geofences import (
    DwellParams,
    FenceState,
    FloatArray,
    GeofenceEvent,
    GeofenceIndex,
    NearPairs,
    Presence,
    SitePresence,
    step,
)
from dispatch.positions import Position

_M_PER_DEG = EARTH_RADIUS_M * math.pi / 180.0
_JUMP_SLACK = 0.8
"""The array bound singles out pairs of fixes at least 0.8 × 0.9 × `min_jump_m` apart (the rule's own cheap bound
is 0.9 ×): looser, so that rounding never hides a candidate; `fix_alerts` decides each."""

_NOWHERE: Mapping[int, float] = MappingProxyType({})

SMALL = 200
FEW_PER_WORKER = 2
"""Batches of fewer fixes, or of fewer per worker, go one by one (in process, on bench/alerts.py's day: arrays and
one by one cost about the same at 200 fixes of 200 workers; arrays save a fifth at 500, two fifths at 2,000)."""


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What a batch decided: alerts to raise or clear and geofence crossings, each in (worker, fix time) order,
    and the workers' new last fixes and dwell states (only those the batch changed)."""

    decisions: tuple[Decision, ...]
    crossings: tuple[GeofenceEvent, ...]
    last: Mapping[int, Position]
    fences: Mapping[int, FenceState]


def wanted(decisions: Sequence[Decision], open_keys: Set[str]) -> list[Decision]:
    """Raises of alerts not open, clears of open ones (the others change nothing)."""
    return [d for d in decisions if (open_key(d.kind, d.worker_id, d.order_id) in open_keys) == isinstance(d, Clear)]


def evaluate_batch(
    fixes: Sequence[Position],
    *,
    last: Mapping[int, Position],
    fences: Mapping[int, FenceState],
    index: GeofenceIndex | None,
    settings: AlertSettings,
    dwell: DwellParams,
    open_keys: Set[str],
    one_by_one: bool | None = None,
    ids: Sequence[int | None] | None = None,
) -> BatchOutcome:
    """Evaluate `fixes` (any workers, any order) after each worker's `last` fix and dwell state `fences`.

    A fix not newer than its worker's last one is skipped. Geofences come from `index` (None: no sites).
    `ids`, when given, are the fixes' stored ids (`StoredFixes`), handed to `step` beside the fix (its crossings record
    it); the last fixes returned keep the ids they came with.

    `one_by_one` (default: for fewer than `SMALL` fixes, or fewer than `FEW_PER_WORKER` per worker) takes each fix
    in turn instead: the arrays' fixed cost, a fraction of a millisecond per batch and a few µs per worker, is more
    than they would save there.
    """
    if not fixes:
        return BatchOutcome((), (), {}, {})
    if one_by_one is None:
        one_by_one = len(fixes) < SMALL or len(fixes) < FEW_PER_WORKER * len({p.worker_id for p in fixes})
    if one_by_one:
        return _one_by_one(fixes, ids, last, fences, index, settings, dwell, open_keys)
    n = len(fixes)
    w_in = np.fromiter((p.worker_id for p in fixes), np.int64, n)
    t_in = np.fromiter((p.fix_time.timestamp() for p in fixes), np.float64, n)
    order = np.lexsort((t_in, w_in))  # stable: as sorted(fixes, key=(worker, fix time))
    w_all, t_all = w_in[order], t_in[order]
    starts = _starts(w_all)
    before = np.array(
        [last[w].fix_time.timestamp() if w in last else -math.inf for w in w_all[starts].tolist()], np.float64
    )
    floor = np.repeat(before, np.diff(np.append(starts, n)))
    prev_t = np.concatenate(([-math.inf], t_all[:-1]))
    prev_t[starts] = -math.inf
    taken = np.flatnonzero(t_all > np.maximum(floor, prev_t))  # newer than the worker's last fix taken
    picked = order[taken].tolist()
    fx = [fixes[i] for i in picked]
    fx_ids = None if ids is None else [ids[i] for i in picked]
    m = len(fx)
    if not m:
        return BatchOutcome((), (), {}, {})
    w = w_all[taken]
    gs = _starts(w)
    ge = np.append(gs[1:], m)
    groups = list(zip(w[gs].tolist(), gs.tolist(), ge.tolist(), strict=True))
    lat = np.fromiter((p.latitude for p in fx), np.float64, m)
    lon = np.fromiter((p.longitude for p in fx), np.float64, m)
    decisions = _alerts(fx, w, lat, lon, groups, last, settings, open_keys)
    crossings: list[GeofenceEvent] = []
    new_fences: dict[int, FenceState] = {}
    if index is not None:
        pairs = index.near_pairs(lat, lon, dwell.hysteresis_m)
        crossings, new_fences = _dwell(fx, fx_ids, _micros(t_all[taken]), pairs, groups, fences, index, dwell)
    new_last = {wid: fx[end - 1] for wid, _, end in groups}
    return BatchOutcome(tuple(decisions), tuple(crossings), new_last, new_fences)


def _one_by_one(
    fixes: Sequence[Position],
    ids: Sequence[int | None] | None,
    last: Mapping[int, Position],
    fences: Mapping[int, FenceState],
    index: GeofenceIndex | None,
    settings: AlertSettings,
    dwell: DwellParams,
    open_keys: Set[str],
) -> BatchOutcome:
    """Each fix through `fix_alerts` and `step` in (worker, fix time) order, but those `step` would change nothing
    with (at no site and inside none)."""
    by_worker_time = sorted(range(len(fixes)), key=lambda i: (fixes[i].worker_id, fixes[i].fix_time))
    ordered = [fixes[i] for i in by_worker_time]
    near = (
        index.near_coordinates(
            np.fromiter((p.latitude for p in ordered), np.float64, len(ordered)),
            np.fromiter((p.longitude for p in ordered), np.float64, len(ordered)),
            dwell.hysteresis_m,
        )
        if index is not None
        else None
    )
    with_open = {k.split(":", 2)[1] for k in open_keys}
    decisions: list[Decision] = []
    crossings: list[GeofenceEvent] = []
    new_last: dict[int, Position] = {}
    new_fences: dict[int, FenceState] = {}
    for i, fix in enumerate(ordered):
        w = fix.worker_id
        previous = new_last.get(w) or last.get(w)
        if previous is not None and fix.fix_time <= previous.fix_time:
            continue
        new_last[w] = fix
        # Nothing of theirs open (the everyday case): only raises can matter, so no clears are built.
        found = fix_alerts(previous, fix, settings, clears=bool(with_open) and str(w) in with_open)
        if found:
            decisions.extend(wanted(found, open_keys))
        if near is None:
            continue
        here: Mapping[int, float] | None = near.get(i)
        state = new_fences.get(w) or fences.get(w)
        if here is None:
            if state is None or not state.sites:
                continue  # on the road, at no site: the state machine would change nothing
            here = _NOWHERE
        elif state is None:
            state = FenceState(w)
        if not state.sites and 0.0 not in here.values():
            continue  # only near a geofence, in none, and in none before
        state, events = step(state, fix, here, dwell, position_id=None if ids is None else ids[by_worker_time[i]])
        new_fences[w] = state
        crossings.extend(events)
    return BatchOutcome(tuple(decisions), tuple(crossings), new_last, new_fences)


def _starts(w: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
    """Where each worker's run begins in `w` (sorted by worker)."""
    return np.flatnonzero(np.concatenate(([True], w[1:] != w[:-1])))


def _alerts(
    fx: list[Position],
    w: npt.NDArray[np.int64],
    lat: npt.NDArray[np.float64],
    lon: npt.NDArray[np.float64],
    groups: list[tuple[int, int, int]],
    last: Mapping[int, Position],
    settings: AlertSettings,
    open_keys: Set[str],
) -> list[Decision]:
    m = len(fx)
    low = settings.low_battery_pct
    may_raise = np.fromiter(
        (
            p.mock
            or p.attributes.get("alarm") is not None
            or (p.battery_pct is not None and p.battery_pct < low and not p.charging)
            for p in fx
        ),
        bool,
        m,
    )
    # The fix before each: the batch's previous one of the same worker, else the worker's last (NaN: none).
    plat = np.concatenate(([math.nan], lat[:-1]))
    plon = np.concatenate(([math.nan], lon[:-1]))
    with_open = {k.split(":", 2)[1] for k in open_keys}
    clears: set[int] = set()
    for wid, start, end in groups:
        previous = last.get(wid)
        plat[start] = previous.latitude if previous is not None else math.nan
        plon[start] = previous.longitude if previous is not None else math.nan
        if str(wid) not in with_open:
            continue
        clears.add(wid)
        if open_key(AlertKind.OFFLINE, wid, None) in open_keys:
            may_raise[start:end] = True  # every fix clears it (the first stored one does)
        elif open_key(AlertKind.LOW_BATTERY, wid, None) in open_keys:
            for k in range(start, end):
                b = fx[k].battery_pct
                if fx[k].charging or (b is not None and b >= settings.battery_ok_pct):
                    may_raise[k] = True
    dy = (lat - plat) * _M_PER_DEG
    dx = (lon - plon) * _M_PER_DEG * np.cos(np.radians(lat))
    bound = _JUMP_SLACK * 0.9 * settings.min_jump_m
    with np.errstate(invalid="ignore"):
        may_jump = dx * dx + dy * dy >= bound * bound  # NaN (no fix before): False
    out: list[Decision] = []
    for k in np.flatnonzero(may_raise | may_jump).tolist():
        fix = fx[k]
        previous = fx[k - 1] if k > 0 and w[k - 1] == w[k] else last.get(fix.worker_id)
        found = fix_alerts(previous, fix, settings, clears=fix.worker_id in clears)
        if found:
            out.extend(wanted(found, open_keys))
    return out


def _micros(when: FloatArray) -> npt.NDArray[np.int64]:
    """Microseconds since the epoch, exact, from `datetime.timestamp()`s (off by less than 0.2 µs at today's dates)."""
    micros: npt.NDArray[np.int64] = np.rint(when * 1e6).astype(np.int64)
    return micros


_PASSES = 4
"""Rounds of array work at most (each takes the next fix of every worker that may change something); then one by
one with the cheap test (`_Tail`)."""

_ROUNDS_FROM = 0
"""Fixes per worker in the batch (on average) from which the rounds of array work are worth their cost."""

_STATUS = {Presence.INSIDE: 0, Presence.ENTERING: 1, Presence.LEAVING: 2}


def _dwell(
    fx: list[Position],
    fx_ids: list[int | None] | None,
    t_us: npt.NDArray[np.int64],
    pairs: NearPairs,
    groups: list[tuple[int, int, int]],
    fences: Mapping[int, FenceState],
    index: GeofenceIndex,
    dwell: DwellParams,
) -> tuple[list[GeofenceEvent], dict[int, FenceState]]:
    m = len(fx)
    h = dwell.hysteresis_m
    point, site, outside = pairs.point, pairs.site_id, pairs.outside_m
    inside_pair = outside == 0.0
    has_inside = np.bincount(point[inside_pair], minlength=m) > 0
    ignored = np.fromiter(
        (not p.valid or p.mock or (p.accuracy_m is not None and p.accuracy_m > dwell.max_accuracy_m) for p in fx),
        bool,
        m,
    )
    position = {sid: i for i, sid in enumerate(index.fences)}
    n_sites = len(position) + 1  # the last: a site of a state no longer in the index (near no fix)
    n_groups = len(groups)
    group_of = np.repeat(np.arange(n_groups), [end - start for _, start, end in groups])
    pair_key = group_of[point] * n_sites + pairs.fence
    young_pair_t = t_us[point]
    counted = np.flatnonzero(~ignored)
    bounds = np.searchsorted(point, np.arange(m + 1))
    tail = _Tail(
        fx, fx_ids, bounds.tolist(), site.tolist(), outside.tolist(), has_inside.tolist(), ignored.tolist(), dwell
    )

    states: list[FenceState | None] = [fences.get(wid) for wid, _, _ in groups]
    nxt = [start for _, start, _ in groups]
    events: list[list[GeofenceEvent]] = [[] for _ in groups]
    out: dict[int, FenceState] = {}
    active = list(range(n_groups))
    # Rounds pay for themselves only over workers with many fixes in the batch (their fixed cost is per worker).
    for _ in range(_PASSES if m >= _ROUNDS_FROM * n_groups else 0):
        if not active:
            break
        # Which fixes change nothing, each against its worker's state now: at no site, inside none; else still
        # within the margin of each site entered, inside each being entered and clear of each being left, before
        # either's dwell is up, and inside no other (or a fix `step` ignores).
        keys: list[int] = []
        status: list[int] = []
        since: list[int] = []
        need = np.zeros(n_groups, np.int64)
        leaving = np.full(n_groups, np.iinfo(np.int64).max, np.int64)
        settled = np.zeros(n_groups, bool)
        for g in active:
            state = states[g]
            if state is None or not state.sites:
                continue
            settled[g] = True
            for site_id, presence in state.sites.items():
                code = _STATUS[presence.status]
                began = round(presence.since.timestamp() * 1e6)
                keys.append(g * n_sites + position.get(site_id, n_sites - 1))
                status.append(code)
                since.append(began)
                if code == 2:
                    leaving[g] = min(int(leaving[g]), began)
                else:
                    need[g] += 1
        key_arr = np.array(keys, np.int64)
        by_key = np.argsort(key_arr)
        key_arr = key_arr[by_key]
        at = np.minimum(np.searchsorted(key_arr, pair_key), max(len(key_arr) - 1, 0))
        known = key_arr[at] == pair_key if len(key_arr) else np.zeros(len(pair_key), bool)
        code_of = np.array(status, np.int8)[by_key][at] if len(key_arr) else np.zeros(len(pair_key), np.int8)
        since_of = np.array(since, np.int64)[by_key][at] if len(key_arr) else np.zeros(len(pair_key), np.int64)
        young = (young_pair_t - since_of) / 1e6 < dwell.dwell_s
        kept = known & (((code_of == 0) & (outside <= h)) | ((code_of == 1) & inside_pair & young))
        broken = (~known & inside_pair) | (known & (code_of == 2))
        n_kept = np.bincount(point[kept], minlength=m)
        n_broken = np.bincount(point[broken], minlength=m)
        unchanged = (n_kept == need[group_of]) & (n_broken == 0) & ((t_us - leaving[group_of]) / 1e6 < dwell.dwell_s)
        inert = np.where(settled[group_of], unchanged | ignored, ~has_inside)
        # Each worker's next fix that changes something (or the end of theirs), and their last counted fix before it.
        live = np.append(np.flatnonzero(~inert), m)
        begin = np.array([nxt[g] for g in active], np.intp)
        ends = np.array([groups[g][2] for g in active], np.intp)
        first_arr = np.minimum(live[np.searchsorted(live, begin)], ends)
        before = np.searchsorted(counted, first_arr) - 1
        last_counted = np.where(before >= 0, counted[np.maximum(before, 0)], -1) if len(counted) else before
        timed = np.where(last_counted >= begin, last_counted, -1).tolist()
        still: list[int] = []
        for g, first, c in zip(active, first_arr.tolist(), timed, strict=True):
            wid, _, end = groups[g]
            state = states[g]
            if c >= 0 and state is not None and state.sites:
                # The run of fixes that change nothing but the time: the state takes the last one's.
                state = states[g] = out[wid] = FenceState(wid, fx[c].fix_time, state.sites)
            if first == end:
                continue
            states[g] = out[wid] = tail.step(first, state, wid, events[g])
            nxt[g] = first + 1
            if nxt[g] < end:
                still.append(g)
        active = still
    for g in active:  # workers changing state often in this batch: one by one from here
        wid, _, end = groups[g]
        after, changed = tail.run(nxt[g], end, states[g], wid, events[g])
        if changed and after is not None:
            out[wid] = after
    return [e for group_events in events for e in group_events], out


class _Tail:
    """The fixes of one worker, one by one: `step` for each but those it would change nothing with (cheap tests)."""

    def __init__(
        self,
        fx: list[Position],
        ids: list[int | None] | None,
        bounds: list[int],
        site: list[int],
        outside: list[float],
        has_inside: list[bool],
        ignored: list[bool],
        dwell: DwellParams,
    ) -> None:
        self.fx, self.ids, self.bounds, self.site, self.outside = fx, ids, bounds, site, outside
        self.has_inside, self.ignored, self.dwell = has_inside, ignored, dwell

    def step(self, k: int, state: FenceState | None, wid: int, events: list[GeofenceEvent]) -> FenceState:
        a, b = self.bounds[k], self.bounds[k + 1]
        here = dict(zip(self.site[a:b], self.outside[a:b], strict=True)) if a < b else _NOWHERE
        new, found = step(
            state if state is not None else FenceState(wid),
            self.fx[k],
            here,
            self.dwell,
            position_id=None if self.ids is None else self.ids[k],
        )
        events.extend(found)
        return new

    def run(
        self, start: int, end: int, state: FenceState | None, wid: int, events: list[GeofenceEvent]
    ) -> tuple[FenceState | None, bool]:
        """Fixes `start`..`end` (one worker's) from `state`: the state after them, and whether it changed."""
        changed = False
        staid: int | None = None
        for k in range(start, end):
            if state is None or not state.sites:
                if not self.has_inside[k]:
                    continue  # at no site and inside none: the state machine would change nothing
            elif self.ignored[k]:
                continue  # `step` ignores it
            elif self.unchanged_at(k, state.sites):
                staid = k
                continue
            elif staid is not None:
                state = FenceState(wid, self.fx[staid].fix_time, state.sites)
                staid = None
            state = self.step(k, state, wid, events)
            changed = True
        if staid is not None and state is not None:
            state, changed = FenceState(wid, self.fx[staid].fix_time, state.sites), True
        return state, changed

    def unchanged_at(self, k: int, sites: Mapping[int, SitePresence]) -> bool:
        """Whether `step` would change nothing but the time with fix `k` (as the arrays decide in `_dwell`)."""
        near: dict[int, float] = {}
        for j in range(self.bounds[k], self.bounds[k + 1]):
            if self.site[j] in sites:
                near[self.site[j]] = self.outside[j]
            elif self.outside[j] == 0.0:
                return False
        for site_id, presence in sites.items():
            outside_m = near.get(site_id, math.inf)
            if presence.status is Presence.INSIDE:
                if outside_m > self.dwell.hysteresis_m:
                    return False
            elif (
                outside_m != 0.0 if presence.status is Presence.ENTERING else outside_m <= self.dwell.hysteresis_m
            ) or (self.fx[k].fix_time - presence.since).total_seconds() >= self.dwell.dwell_s:
                return False
        return True
