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
) -> BatchOutcome:
    """Evaluate `fixes` (any workers, any order) after each worker's `last` fix and dwell state `fences`.

    A fix not newer than its worker's last one is skipped. Geofences come from `index` (None: no sites).
    """
    if not fixes:
        return BatchOutcome((), (), {}, {})
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
    fx = [fixes[i] for i in order[taken].tolist()]
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
        crossings, new_fences = _dwell(fx, pairs, groups, fences, index, dwell)
    new_last = {wid: fx[end - 1] for wid, _, end in groups}
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


def _dwell(
    fx: list[Position],
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
    # Each worker's state at the batch's start: at no site (0), inside its sites past the dwell (1), else (2).
    position = {sid: i for i, sid in enumerate(index.fences)}
    n_sites = len(position) + 1
    mode = np.zeros(m, np.int8)
    need = np.zeros(m, np.int64)
    keys: list[int] = []
    group_of = np.zeros(m, np.int64)
    for g, (wid, start, end) in enumerate(groups):
        group_of[start:end] = g
        state = fences.get(wid)
        if state is None or not state.sites:
            continue
        if all(p.status is Presence.INSIDE for p in state.sites.values()):
            mode[start:end] = 1
            need[start:end] = len(state.sites)
            keys.extend(g * n_sites + position.get(s, n_sites - 1) for s in state.sites)
        else:
            mode[start:end] = 2
    # Staying: within the margin of every site they are inside of, and inside no other.
    pair_keys = group_of[point] * n_sites + np.fromiter((position[s] for s in site.tolist()), np.int64, len(site))
    known = np.isin(pair_keys, np.array(keys, np.int64))
    n_known = np.bincount(point[known & (outside <= h)], minlength=m)
    n_new = np.bincount(point[~known & inside_pair], minlength=m)
    staying = (n_known == need) & (n_new == 0)
    inert = np.where(mode == 0, ~has_inside, (mode == 1) & (staying | ignored))
    live = np.flatnonzero(~inert)
    counted = np.flatnonzero(~ignored)
    bounds = np.searchsorted(point, np.arange(m + 1))

    has_inside_l, ignored_l, bounds_l = has_inside.tolist(), ignored.tolist(), bounds.tolist()
    site_l, outside_l = site.tolist(), outside.tolist()

    def unchanged_at(k: int, sites: Mapping[int, SitePresence]) -> bool:
        """Whether `step` would change nothing but the time with fix `k`: still inside (or in the band) of each site
        entered, still inside each site being entered and still clearly out of each being left before the dwell
        completes either, and inside no other site."""
        near: dict[int, float] = {}
        for j in range(bounds_l[k], bounds_l[k + 1]):
            if site_l[j] in sites:
                near[site_l[j]] = outside_l[j]
            elif outside_l[j] == 0.0:
                return False
        for site_id, presence in sites.items():
            outside_m = near.get(site_id, math.inf)
            if presence.status is Presence.INSIDE:
                if outside_m > h:
                    return False
            elif (outside_m != 0.0 if presence.status is Presence.ENTERING else outside_m <= h) or (
                fx[k].fix_time - presence.since
            ).total_seconds() >= dwell.dwell_s:
                return False
        return True

    crossings: list[GeofenceEvent] = []
    out: dict[int, FenceState] = {}
    for wid, start, end in groups:
        at = int(np.searchsorted(live, start))
        first = int(live[at]) if at < len(live) and live[at] < end else end
        state = fences.get(wid)
        if state is not None and state.sites and first > start:
            # The run of fixes that change nothing but the time: the state takes the last one's (ignored ones aside).
            c = int(np.searchsorted(counted, first)) - 1
            if c >= 0 and counted[c] >= start:
                state = out[wid] = FenceState(wid, fx[int(counted[c])].fix_time, state.sites)
        # From the first fix that may change something: `step` for each, but for those that change nothing but the
        # time again (kept as `staid`, the time given to the state before the next step and at the end).
        staid: int | None = None
        for k in range(first, end):
            if state is None or not state.sites:
                if not has_inside_l[k]:
                    continue  # at no site and inside none: the state machine would change nothing
                current = state if state is not None else FenceState(wid)
            else:
                if ignored_l[k]:
                    continue  # `step` ignores it
                if unchanged_at(k, state.sites):
                    staid = k
                    continue
                current = state if staid is None else FenceState(wid, fx[staid].fix_time, state.sites)
                staid = None
            a, b = bounds_l[k], bounds_l[k + 1]
            here = dict(zip(site_l[a:b], outside_l[a:b], strict=True)) if a < b else _NOWHERE
            state, events = step(current, fx[k], here, dwell)
            out[wid] = state
            crossings.extend(events)
        if staid is not None and state is not None:
            out[wid] = FenceState(wid, fx[staid].fix_time, state.sites)
    return crossings, out
