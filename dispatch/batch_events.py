"""A batch of stored fixes through the per-fix alert rules and the geofence dwell machine, over arrays.

`evaluate_batch` decides what feeding every fix of the batch, worker by worker in fix-time order, through
`dispatch.alerts.fix_alerts` and `dispatch.geofences.step` decides (the reference, kept as it is), but pays
Python only for what happens:

- the per-fix rules: the flags (SOS, mock, low battery not yet open) and an impossible jump (the distance and speed
  between consecutive fixes) are array operations; only the fixes they single out (and, for a worker with an open
  condition a fix clears, those that clear it) go through `fix_alerts`;
- the dwell machine, over arrays of (worker, site) pairs: `step` treats each site on its own (a site's presence
  depends only on that site's distances and the fix times), and a site's machine enters at the first fix of a run
  of consecutive fixes inside it that lasts the dwell, and leaves at the first fix of a run of fixes clearly outside
  that lasts it (`_dwell`). Each pair's crossings are those runs' first completing fixes, taken alternately (an entry,
  then an exit, ...), and its state after the batch follows from its last run; only crossings and the states that
  changed are built as values.

The alerts come filtered by the open alerts' keys (`wanted`): raises of alerts not open, clears of open ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from dispatch.alerts import AlertKind, AlertSettings, Clear, Decision, fix_alerts, open_key, open_key_workers
from dispatch.geo import EARTH_RADIUS_M
from dispatch.geofences import (
    NO_ID,
    PHASE_CODES,
    DwellParams,
    FenceEventType,
    FenceState,
    FenceTable,
    FloatArray,
    GeofenceEvent,
    GeofenceIndex,
    NearPairs,
    Presence,
    fence_event,
    step,
)
from dispatch.positions import Position

_NOWHERE: Mapping[int, float] = MappingProxyType({})
_NO_TIMES: Mapping[int, float] = MappingProxyType({})

SMALL = 4
"""Batches of fewer fixes go one by one (the arrays' fixed cost, some 20 µs per batch, is more than they save there;
in process on bench/alerts.py's day, one fix per worker: 22 µs per fix over arrays against 21 one by one for single
fixes, 8.8 against 10.0 for 3, 1.0 against 3.5 for 100)."""

_SLACK = 1e-6
"""The arrays single out an impossible jump by a relative margin this loose (their bound of the distance and float seconds
against `impossible_jump`'s arithmetic): more candidates, never fewer; `fix_alerts` decides each."""

_M_PER_DEGREE_OF_ARC = EARTH_RADIUS_M * math.pi / 180.0
"""Metres per degree of a great circle. Two fixes `dlat` and `dlon` degrees apart are at most `(|dlat| + |dlon|)` times
this apart on the sphere (along the meridian, then along the parallel, which is no longer than its degrees of a
great circle): a bound of `haversine_m` from two differences, their sizes, a sum and a product, where the sphere's
formula takes a dozen array operations, five of them trigonometry (bench/README.md, "Alerts", thirteenth session)."""

_ATTRIBUTES = attrgetter("attributes")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What a batch decided: alerts to raise or clear and geofence crossings, each in (worker, fix time) order,
    the workers' new last fixes (`last`, and their `timestamp()`s, `last_t`: only those the batch changed), and every
    worker's dwell state after it (`table`; `changed`: the workers whose state the batch changed)."""

    decisions: tuple[Decision, ...]
    crossings: tuple[GeofenceEvent, ...]
    last: Mapping[int, Position]
    table: FenceTable
    changed: tuple[int, ...] = ()
    last_t: Mapping[int, float] = _NO_TIMES

    @property
    def fences(self) -> dict[int, FenceState]:
        """The dwell states the batch changed, built from `table` (a worker now at no site: a state without sites)."""
        return self.table.states(self.changed)


def wanted(decisions: Sequence[Decision], open_keys: Set[str]) -> list[Decision]:
    """Raises of alerts not open, clears of open ones (the others change nothing), and every SOS.

    `open_keys` may be seconds old (each process re-reads them now and then): an SOS acknowledged meanwhile, in this
    process or another, would still look open and a second press be swallowed. So an SOS always goes on to the
    store, which raises it unless the database holds it open (a press is rare; the look-up costs one query).
    """
    return [
        d
        for d in decisions
        if (open_key(d.kind, d.worker_id, d.order_id) in open_keys) == isinstance(d, Clear)
        or (d.kind is AlertKind.SOS and not isinstance(d, Clear))
    ]


def evaluate_batch(
    fixes: Sequence[Position],
    *,
    last: Mapping[int, Position],
    fences: Mapping[int, FenceState] | FenceTable,
    index: GeofenceIndex | None,
    settings: AlertSettings,
    dwell: DwellParams,
    open_keys: Set[str],
    one_by_one: bool | None = None,
    ids: Sequence[int | None] | None = None,
    fix_us: Sequence[int] | None = None,
    worker_ids: npt.NDArray[np.int64] | None = None,
    last_t: Mapping[int, float] | None = None,
    plain: bool = False,
) -> BatchOutcome:
    """Evaluate `fixes` (any workers, any order) after each worker's `last` fix and dwell state `fences` (a
    `FenceTable`, as the evaluator keeps them; or a `FenceState` per worker).

    A fix not newer than its worker's last one is skipped. Geofences come from `index` (None: no sites).
    `ids`, when given, are the fixes' stored ids (`StoredFixes`), handed to `step` beside the fix (its crossings record
    it); the last fixes returned keep the ids they came with. `fix_us`, when given, are the fixes' times in
    microseconds since the epoch (`StoredFixes.fix_us`), read instead of each `fix_time`. `worker_ids`, when given,
    are the fixes' worker ids (an int64 array the caller read already), read instead of each `worker_id`. `last_t`,
    when given, holds the `timestamp()` of the workers' `last` fixes (as `BatchOutcome.last_t` gave them), read
    instead of each (a worker missing from it: read from `last`). `plain`, when true, says every fix is plain
    (`StoredFixes.plain`: no attributes, not mock, valid, charging unknown), so those fields are not read.

    `one_by_one` (default: for fewer than `SMALL` fixes) takes each fix in turn instead.
    """
    table = fences if isinstance(fences, FenceTable) else FenceTable.of(fences)
    if not fixes:
        return BatchOutcome((), (), {}, table)
    if one_by_one is None:
        one_by_one = len(fixes) < SMALL
    if one_by_one:
        return _one_by_one(fixes, ids, last, table, index, settings, dwell, open_keys)
    n = len(fixes)
    w_in = np.fromiter((p.worker_id for p in fixes), np.int64, n) if worker_ids is None else worker_ids
    if fix_us is None:
        t_in = np.fromiter((p.fix_time.timestamp() for p in fixes), np.float64, n)
        us_in = _micros(t_in)
    else:
        us_in = np.fromiter(fix_us, np.int64, n)
        t_in = us_in / 1e6  # `timestamp()`'s value: both the quotient correctly rounded
    order = np.lexsort((t_in, w_in))  # stable: as sorted(fixes, key=(worker, fix time))
    w_all, t_all = w_in[order], t_in[order]
    starts = _starts(w_all)
    workers = w_all[starts]
    # Each worker's last fix before the batch (None: none), read once: its time here, where it was in `_alerts`.
    worker_list = workers.tolist()
    prev = [last.get(w) for w in worker_list]
    times = _NO_TIMES if last_t is None else last_t
    prev_last_t = np.array(
        [
            t if (t := times.get(w)) is not None else math.nan if p is None else p.fix_time.timestamp()
            for w, p in zip(worker_list, prev, strict=True)
        ],
        np.float64,
    )
    before = np.where(np.isnan(prev_last_t), -math.inf, prev_last_t)
    floor = np.repeat(before, np.diff(np.append(starts, n)))
    prev_t = np.concatenate(([-math.inf], t_all[:-1]))
    prev_t[starts] = -math.inf
    taken = np.flatnonzero(t_all > np.maximum(floor, prev_t))  # newer than the worker's last fix taken
    picked = order[taken].tolist()
    fx = [fixes[i] for i in picked]
    m = len(fx)
    if not m:
        return BatchOutcome((), (), {}, table)
    w = w_all[taken]
    gs = _starts(w)
    ge = np.append(gs[1:], m)
    groups = list(zip(w[gs].tolist(), gs.tolist(), ge.tolist(), strict=True))
    group_of = np.repeat(np.arange(len(groups)), ge - gs)
    t_s = t_all[taken]
    t_us = us_in[order[taken]]
    lat = np.fromiter((p.latitude for p in fx), np.float64, m)
    lon = np.fromiter((p.longitude for p in fx), np.float64, m)
    mock = np.zeros(m, bool) if plain else _flags(fx, "mock")
    crossings: list[GeofenceEvent] = []
    new_table: FenceTable = table
    changed: tuple[int, ...] = ()
    g_worker = w[gs]
    if index is not None:
        pairs = index.near_pairs(lat, lon, dwell.hysteresis_m)
        accuracy = np.array([p.accuracy_m for p in fx], np.float64)  # None: NaN, never above the limit
        ignored = accuracy > dwell.max_accuracy_m
        if not plain:
            ignored |= mock | ~_flags(fx, "valid", default=True)
        dwelt = _dwell(fx, ids, picked, t_us, ignored, pairs, g_worker, group_of, table, index, dwell)
        if dwelt is None:
            return _one_by_one(fixes, ids, last, table, index, settings, dwell, open_keys)
        crossings, new_table, changed = dwelt
    # The workers of the fixes taken, by their place in `workers` (both ascending): their last fix before the batch.
    at = np.searchsorted(workers, g_worker)
    decisions = _alerts(
        fx,
        t_s,
        lat,
        lon,
        mock,
        groups,
        gs,
        w,
        last,
        [prev[k] for k in at.tolist()],
        prev_last_t[at],
        settings,
        open_keys,
        plain=plain,
    )
    g_list = g_worker.tolist()
    new_last = {wid: fx[end - 1] for wid, _, end in groups}
    new_t = dict(zip(g_list, t_s[ge - 1].tolist(), strict=True))
    return BatchOutcome(tuple(decisions), tuple(crossings), new_last, new_table, changed, new_t)


def _one_by_one(
    fixes: Sequence[Position],
    ids: Sequence[int | None] | None,
    last: Mapping[int, Position],
    table: FenceTable,
    index: GeofenceIndex | None,
    settings: AlertSettings,
    dwell: DwellParams,
    open_keys: Set[str],
) -> BatchOutcome:
    """Each fix through `fix_alerts` and `step` in (worker, fix time) order, but those `step` would change nothing
    with (at no site and inside none); the states read from `table` and written back to it."""
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
    with_open = open_key_workers(open_keys)
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
        found = fix_alerts(previous, fix, settings, clears=w in with_open)
        if found:
            decisions.extend(wanted(found, open_keys))
        if near is None:
            continue
        here: Mapping[int, float] | None = near.get(i)
        state = new_fences.get(w) or table.state(w)
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
    new_t = {w: p.fix_time.timestamp() for w, p in new_last.items()}
    changed = tuple(sorted(new_fences))
    return BatchOutcome(tuple(decisions), tuple(crossings), new_last, table.updated(new_fences), changed, new_t)


def _starts(w: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
    """Where each worker's run begins in `w` (sorted by worker)."""
    return np.flatnonzero(np.concatenate(([True], w[1:] != w[:-1])))


def _flags(fx: list[Position], name: str, *, default: bool = False) -> npt.NDArray[np.bool_]:
    """A boolean field of every fix; one pass in C when all are `default` (nearly always)."""
    get = attrgetter(name)
    if all(map(get, fx)) if default else not any(map(get, fx)):
        return np.full(len(fx), default, bool)
    return np.fromiter(map(bool, map(get, fx)), bool, len(fx))


def _alerts(
    fx: list[Position],
    t_s: FloatArray,
    lat: FloatArray,
    lon: FloatArray,
    mock: npt.NDArray[np.bool_],
    groups: list[tuple[int, int, int]],
    starts: npt.NDArray[np.intp],
    worker: npt.NDArray[np.int64],
    last: Mapping[int, Position],
    before: list[Position | None],
    before_t: FloatArray,
    settings: AlertSettings,
    open_keys: Set[str],
    *,
    plain: bool = False,
) -> list[Decision]:
    """The decisions of the fixes that can raise what is not open or clear what is, through `fix_alerts` (`starts`:
    where each group begins; `worker`: each fix's worker; `before`: each group's worker's `last` fix, None for none;
    `before_t`: its `timestamp()`,
    NaN for none; `plain`: every fix plain, no alarm among them and none charging-known)."""
    m = len(fx)
    may = mock.copy()
    if not plain and any(
        map(_ATTRIBUTES, fx)
    ):  # nearly never: one pass in C over the (empty) attributes, not a count of each
        for k in np.flatnonzero(np.fromiter(map(len, map(_ATTRIBUTES, fx)), np.intp, m)).tolist():
            may[k] |= fx[k].attributes.get("alarm") is not None
    battery = np.array([p.battery_pct for p in fx], np.float64)  # None: NaN, neither low nor back
    with_open = open_key_workers(open_keys)
    # A low battery fix (not charging) raises unless its worker's low battery alert is open: each worker with something
    # open looked up once (their key formatted once), the others' fixes all marked at once.
    low = np.flatnonzero(battery < settings.low_battery_pct)
    if len(low) and not plain:
        low = low[[not fx[k].charging for k in low.tolist()]]
    if len(low):
        low_worker = worker[low]
        raises = np.ones(len(low), bool)
        for wid in with_open.intersection(low_worker.tolist()):
            if open_key(AlertKind.LOW_BATTERY, wid, None) in open_keys:
                raises[low_worker == wid] = False
        may[low[raises]] = True
    clears: set[int] = set()
    for wid, start, end in groups:
        if wid not in with_open:
            continue
        clears.add(wid)
        if open_key(AlertKind.OFFLINE, wid, None) in open_keys:
            may[start:end] = True  # every fix clears it (the first stored one does)
        elif open_key(AlertKind.LOW_BATTERY, wid, None) in open_keys:
            for k in range(start, end):
                b = fx[k].battery_pct
                if fx[k].charging or (b is not None and b >= settings.battery_ok_pct):
                    may[k] = True
    # The fix before each: the batch's previous one of the same worker, else the worker's last (NaN: none).
    plat = np.concatenate(([math.nan], lat[:-1]))
    plon = np.concatenate(([math.nan], lon[:-1]))
    pt = np.concatenate(([math.nan], t_s[:-1]))
    plat[starts] = [math.nan if p is None else p.latitude for p in before]
    plon[starts] = [math.nan if p is None else p.longitude for p in before]
    pt[starts] = before_t
    # Not the sphere's distance but a bound never below it (`_M_PER_DEGREE_OF_ARC`): a fix a jump can be is one this
    # far from the fix before, and `fix_alerts` measures the few it singles out.
    bound_m = (np.abs(lat - plat) + np.abs(lon - plon)) * _M_PER_DEGREE_OF_ARC
    with np.errstate(invalid="ignore"):  # NaN (no fix before): False
        may_jump = (bound_m >= settings.min_jump_m * (1 - _SLACK)) & (
            bound_m >= settings.max_speed_mps * (t_s - pt) * (1 - _SLACK)
        )
    out: list[Decision] = []
    for k in np.flatnonzero(may | may_jump).tolist():
        fix = fx[k]
        previous = fx[k - 1] if k > 0 and fx[k - 1].worker_id == fix.worker_id else last.get(fix.worker_id)
        found = fix_alerts(previous, fix, settings, clears=fix.worker_id in clears)
        if found:
            out.extend(wanted(found, open_keys))
    return out


def _micros(when: FloatArray) -> npt.NDArray[np.int64]:
    """Microseconds since the epoch, exact, from `datetime.timestamp()`s (off by less than 0.25 µs until 2038)."""
    micros: npt.NDArray[np.int64] = np.rint(when * 1e6).astype(np.int64)
    return micros


# The dwell machine over (worker, site) pairs -----------------------------------------------------------------------

_ENTERING, _INSIDE, _LEAVING = (PHASE_CODES[p] for p in (Presence.ENTERING, Presence.INSIDE, Presence.LEAVING))
_KINDS = (FenceEventType.EXIT, FenceEventType.ENTER)
"""A crossing's type by whether it enters."""


MAX_ENTRIES = 200_000
"""(worker, site) pairs × their fixes the arrays of `_dwell` take at most, besides 40 per fix of the batch (a worker's
fixes from the first inside a site on; some 120 bytes each): beyond, the batch goes one by one (a backlog of thousands
of fixes of one worker passing hundreds of sites)."""


def _dwell(
    fx: list[Position],
    ids: Sequence[int | None] | None,
    picked: list[int],
    t_us: npt.NDArray[np.int64],
    ignored: npt.NDArray[np.bool_],
    pairs: NearPairs,
    g_worker: npt.NDArray[np.int64],
    group_of: npt.NDArray[np.intp],
    table: FenceTable,
    index: GeofenceIndex,
    dwell: DwellParams,
) -> tuple[list[GeofenceEvent], FenceTable, tuple[int, ...]] | None:
    """`step` over each worker's fixes (`fx`, in (worker, fix time) order; `g_worker`: the worker of each group of
    them) from their state in `table`: the crossings in (worker, fix time, site) order, the table after, and the
    workers whose presence at some site changed (None: more than `MAX_ENTRIES`). The stored id of `fx[k]`, when `ids`
    are given beside the batch, is `ids[picked[k]]` (read only for the few fixes a crossing or a phase records).

    `step` decides each site on its own: a fix `ignored` changes nothing; otherwise the worker's presence at a site
    goes (inside: 0 m beyond its edge; out: farther than the margin, or not near at all)

    - from nothing to *entering* at a fix inside, and back to nothing at a fix not inside;
    - from *entering* to *inside*, with an enter event, at a fix inside the dwell after the entering began;
    - from *inside* to *leaving* at a fix out; from *leaving* back to *inside* (since then) at a fix not out;
    - from *leaving* to nothing, with an exit event, at a fix out the dwell after the leaving began.

    So, per (worker, site) pair over the worker's counted fixes: the entry made is the first fix of a run of
    consecutive fixes inside that is the dwell past the run's start (the start carried over from an *entering*
    state when the run begins the batch), the exit the same for runs of fixes out, and a pair's crossings
    alternate from the state it had: each pair's runs are measured at once here, over arrays of its fixes.
    """
    keep = ~ignored
    counted = np.flatnonzero(keep)
    if not len(counted):
        return [], table, ()
    n_groups = len(g_worker)
    rank = np.cumsum(keep) - 1  # a counted fix's place among the counted ones
    c_group = group_of[counted]
    c_t = t_us[counted]
    g_first = np.searchsorted(c_group, np.arange(n_groups), "left")
    g_end = np.searchsorted(c_group, np.arange(n_groups), "right")

    # The states' pairs of the batch's workers, read from the table's columns as they are (`init_*`), their sites by
    # their position in the index (`NearPairs.fence`), those the index no longer holds numbered on from there.
    init_g, rows = table.rows_of(g_worker)
    init_f, site_ids = index.fence_positions(table.site[rows])
    n_sites = len(site_ids)
    init_code, init_since, init_id = table.phase[rows], table.since_us[rows], table.since_id[rows]
    i_key = init_g * n_sites + init_f

    # The counted fixes near a site, by (counted fix, site) key: metres beyond its edge.
    near_counted = np.flatnonzero(keep[pairs.point])
    near_key = rank[pairs.point[near_counted]] * n_sites + pairs.fence[near_counted]
    by_key = np.argsort(near_key, kind="stable")
    near_key, near_out = near_key[by_key], pairs.outside_m[near_counted[by_key]]
    inside = np.flatnonzero(near_out == 0.0)
    in_c = near_key[inside] // n_sites

    # The pairs that can change: each worker's sites, and any site a counted fix is inside. A pair's fixes run from
    # its worker's first counted fix (a site of their state) or from the first fix inside (nothing before).
    # A state's pair begins at its worker's first counted fix, so no later than a fix inside it: sorted (stably) by key
    # then beginning, a pair's first entry is its state's row when it had one (`src`: which; -1 none).
    key = np.concatenate((i_key, c_group[in_c] * n_sites + near_key[inside] % n_sites))
    begin = np.concatenate((g_first[init_g], in_c))
    src = np.concatenate((np.arange(len(i_key)), np.full(len(in_c), -1)))
    by_pair = np.lexsort((begin, key))
    key, begin, src = key[by_pair], begin[by_pair], src[by_pair]
    head = np.concatenate(([True], key[1:] != key[:-1])) if len(key) else np.zeros(0, bool)
    p_g, p_f = np.divmod(key[head], n_sites)
    p_begin, p_src = begin[head], src[head]
    p_len = g_end[p_g] - p_begin
    has = np.flatnonzero(p_len > 0)  # a worker with no counted fix in the batch keeps their state
    p_begin, p_g, p_f, p_len, p_src = p_begin[has], p_g[has], p_f[has], p_len[has], p_src[has]
    n_pairs = len(p_len)
    if not n_pairs:
        return [], table, ()
    # What each pair's state said.
    was = p_src >= 0
    at_init = np.maximum(p_src, 0)
    if len(i_key):
        p_code = np.where(was, init_code[at_init], 0)
        p_since = np.where(was, init_since[at_init], 0)
    else:
        p_code, p_since = np.zeros(n_pairs, np.int8), np.zeros(n_pairs, np.int64)

    # Each pair's fixes as entries: pair, counted fix, time, and where the fix stands (inside, within the margin, out).
    offset = np.cumsum(p_len) - p_len
    n_entries = int(p_len.sum())
    if n_entries > MAX_ENTRIES + 40 * len(fx):
        return None
    e_pair = np.repeat(np.arange(n_pairs), p_len)
    e_c = np.arange(n_entries) + np.repeat(p_begin - offset, p_len)
    e_t = c_t[e_c]
    e_key = e_c * n_sites + p_f[e_pair]
    if len(near_key):
        at = np.minimum(np.searchsorted(near_key, e_key), len(near_key) - 1)
        near = near_key[at] == e_key
        beyond = np.where(near, near_out[at], math.inf)
    else:
        beyond = np.full(n_entries, math.inf)
    is_in = beyond == 0.0
    is_out = beyond > dwell.hysteresis_m
    first = np.zeros(n_entries, bool)
    first[offset] = True
    entry = np.arange(n_entries)
    e_code = p_code[e_pair]

    def runs(
        member: npt.NDArray[np.bool_], carried: int
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """For runs of consecutive `member` entries of a pair: each entry's run start, whether that start is the
        state's `carried` phase (begun before the batch), and the first entry of each run the dwell past its start."""
        begins = member & (first | ~np.concatenate(([False], member[:-1])))
        start = np.maximum.accumulate(np.where(begins, entry, 0))
        carried_over = begins & first & (e_code == carried)
        since = np.where(carried_over, p_since[e_pair], e_t)[start]
        done = member & ((e_t - since) / 1e6 >= dwell.dwell_s)
        first_done = done & (begins | ~np.concatenate(([False], done[:-1])))
        return start, carried_over[start], first_done

    in_start, in_carried, enters = runs(is_in, _ENTERING)
    out_start, out_carried, exits = runs(is_out, _LEAVING)

    # The crossings: each pair's candidates alternate, starting with what its state allows (entered: an exit first).
    entered_before = (p_code == _INSIDE) | (p_code == _LEAVING)
    cand = np.flatnonzero(enters | exits)
    is_enter = enters[cand]
    c_pair = e_pair[cand]
    c_head = np.concatenate(([True], c_pair[1:] != c_pair[:-1])) if len(cand) else np.zeros(0, bool)
    previous = np.concatenate(([False], is_enter[:-1]))
    previous[c_head] = entered_before[c_pair[c_head]]
    made = is_enter != previous
    k_entry, k_enter, k_pair = cand[made], is_enter[made], c_pair[made]

    def fix_id(k: int) -> int | None:
        given = None if ids is None else ids[picked[k]]
        return fx[k].id if given is None else given

    events: list[GeofenceEvent] = []
    if len(k_entry):
        sort = np.lexsort((site_ids[p_f[k_pair]], e_c[k_entry]))
        k_entry, k_enter, k_pair = k_entry[sort], k_enter[sort], k_pair[sort]
        began = np.where(k_enter, in_start[k_entry], out_start[k_entry])
        carried = np.where(k_enter, in_carried[k_entry], out_carried[k_entry])
        began_fix = np.where(carried, -1, counted[e_c[began]])
        # A crossing whose phase began before the batch: its start and fix as the state's row said (read as lists here,
        # not as numpy scalars in the loop).
        had = at_init[k_pair]
        had_us = init_since[had].tolist() if len(rows) else [0] * len(had)
        had_id = init_id[had].tolist() if len(rows) else [NO_ID] * len(had)
        for entering, k, b, wid, site, since_us, since_id in zip(
            k_enter.tolist(),
            counted[e_c[k_entry]].tolist(),
            began_fix.tolist(),
            g_worker[p_g[k_pair]].tolist(),
            site_ids[p_f[k_pair]].tolist(),
            had_us,
            had_id,
            strict=True,
        ):
            if b < 0:  # begun before the batch: as the state said
                at = _EPOCH + since_us * _MICROSECOND
                began_id = None if since_id == NO_ID else since_id
            else:
                began = fx[b]
                at, began_id = began.fix_time, None if ids is None else ids[picked[b]]
                if began_id is None:
                    began_id = began.id
            events.append(fence_event(_KINDS[entering], wid, site, at, fx[k].fix_time, began_id))

    # Each pair's state after the batch: its phase, and since which entry (-1: since what its state said).
    last_made = np.full(n_pairs, -1, np.intp)
    last_enter = np.zeros(n_pairs, bool)
    if len(k_entry):
        tail = np.concatenate((k_pair[1:] != k_pair[:-1], [True]))
        last_made[k_pair[tail]] = k_entry[tail]
        last_enter[k_pair[tail]] = k_enter[tail]
    entered = np.where(last_made >= 0, last_enter, entered_before)
    end = offset + p_len - 1
    code = np.zeros(n_pairs, np.int8)
    since_entry = np.full(n_pairs, -1, np.intp)
    # Not entered: entering while the last run of fixes inside goes on.
    entering = ~entered & is_in[end]
    code[entering] = _ENTERING
    since_entry[entering] = np.where(in_carried[end], -1, in_start[end])[entering]
    # Entered and out at the end: leaving since that run of fixes out began.
    leaving = entered & is_out[end]
    code[leaving] = _LEAVING
    since_entry[leaving] = np.where(out_carried[end], -1, out_start[end])[leaving]
    # Entered and not out: inside since the entry made here, else since the last fix back from out (a fix out
    # before the run, or a state leaving), else as the state was.
    staying = entered & ~is_out[end]
    code[staying] = _INSIDE
    back = np.maximum.accumulate(np.where(~is_out & (first | np.concatenate(([False], is_out[:-1]))), entry, 0))[end]
    made_here = (last_made >= 0) & (back <= last_made)
    from_made = np.where(in_carried[np.maximum(last_made, 0)], -1, in_start[np.maximum(last_made, 0)])
    from_back = np.where((back > offset) | (p_code == _LEAVING), back, -1)
    since_entry[staying] = np.where(made_here, from_made, from_back)[staying]

    changed = (code != p_code) | (since_entry >= 0)
    if not changed.any():
        return events, table, ()
    # The rows of the workers with a pair changed, in place of theirs: each of their pairs still entering, inside or
    # leaving (pairs in ascending order of worker, as the table's rows).
    worker_changed = np.zeros(n_groups, bool)
    worker_changed[p_g[changed]] = True
    shown = np.flatnonzero(worker_changed[p_g] & (code != 0))
    since_fix = np.where(since_entry[shown] >= 0, counted[e_c[np.maximum(since_entry[shown], 0)]], -1)
    new_since = np.where(since_fix >= 0, t_us[np.maximum(since_fix, 0)], init_since[at_init[shown]] if len(rows) else 0)
    new_id = init_id[at_init[shown]] if len(rows) else np.full(len(shown), NO_ID, np.int64)
    begun = np.flatnonzero(since_fix >= 0)
    if len(begun):
        began_ids = [fix_id(k) for k in since_fix[begun].tolist()]
        new_id[begun] = [NO_ID if i is None else i for i in began_ids]
    after = table.replaced(
        rows[worker_changed[init_g]], g_worker[p_g[shown]], site_ids[p_f[shown]], code[shown], new_since, new_id
    )
    return events, after, tuple(g_worker[worker_changed].tolist())
