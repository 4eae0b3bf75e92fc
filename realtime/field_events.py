"""Field truth from stored fixes: geofence enter/exit events, auto-arrival, and alerts, stored and pushed live.

`FieldEvents.submit(fixes)` is called once per stored batch by the ingestion pipeline (a separate,
small call after the commit): it only queues the fixes, so a phone's answer never waits for it. The
process's evaluator thread takes everything queued at once and `evaluate`s it: decided in memory over the batch's
arrays (`dispatch.batch_events`: only the few fixes that can raise, clear or cross go through the per-fix rules and
the dwell state machine one by one), written in one transaction, and only when something happened
(a geofence crossing, an alert to raise, an open alert to clear). Which alerts are open is cached
(refreshed every few seconds), so the everyday fix that changes nothing costs no query. Failures are
logged and never fail the ingestion: the fixes are stored. Alerts follow their fix within the time
the thread needs to catch up (milliseconds; bench/alerts.py).

Where a worker stands with each site survives a restart: the first fix of a worker seen by a process
loads the sites their last stored crossings left them inside (`alerts_repo.sites_inside_many`: one query
for all the workers a batch brings).

`run_periodic` runs the time-based kinds (offline, late risk, off route, long stop) in the
`python -m realtime worker` process; its step, `FieldEvents.evaluate_periodic(now)`, is a plain call.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from operator import attrgetter
from types import MappingProxyType
from typing import Any

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from data import alerts_repo, orders_repo, plans_repo, positions_repo, sites_repo, workers_repo
from data.db import session_scope
from data.settings import Settings
from dispatch import localtime
from dispatch.alerts import (
    ARRIVES_FROM,
    Alert,
    AlertSettings,
    Clear,
    Decision,
    NextVisit,
    Raise,
    WorkerWatch,
    auto_arrival,
    break_taken,
    left_site,
    long_stop_s,
    may_be_on_break,
    open_key,
    open_key_workers,
    out_on_route,
    periodic_alerts,
)
from dispatch.batch_events import evaluate_batch
from dispatch.clock import Clock
from dispatch.geo import LatLon
from dispatch.geofences import (
    DwellParams,
    FenceState,
    FenceTable,
    GeofenceEvent,
    GeofenceIndex,
    Presence,
    SitePresence,
)
from dispatch.lifecycle import Transitioned
from dispatch.localtime import local_day
from dispatch.orders import OrderStatus, OrderType, WorkOrder
from dispatch.positions import Position, StoredFixes, epoch_micros
from dispatch.sites import Site
from dispatch.workers import break_window
from realtime.bus import ALERTS, Bus

log = logging.getLogger(__name__)

_FIX_TIME = attrgetter("fix_time")

OrderChanged = Callable[[WorkOrder, Site], None]
"""Told of an order moved by a geofence arrival (the console pushes it to the map as any other change)."""

Travel = Callable[[LatLon, LatLon], float | None]
"""Seconds of travel between two points (None: no route)."""

AT_SITE_RULES_READ = ARRIVES_FROM | {OrderStatus.ON_SITE}
"""The only orders `auto_arrival` and `left_site` look at (an arrival, another order still on site, the order on
site left): a crossing reads these, not a worker's every done order."""

MAX_BATCH = 5000
"""Fixes evaluated together at most (one transaction for whatever they raise)."""


def alert_message(alert: Alert) -> dict[str, Any]:
    """The bus/socket form of an alert (also the API's, plus `severity` and `note`)."""
    return {
        "id": alert.id,
        "kind": alert.kind.value,
        "worker_id": alert.worker_id,
        "order_id": alert.order_id,
        "raised_at": alert.raised_at.isoformat(),
        "reason": alert.reason,
        "status": alert.status.value,
        "severity": alert.severity,
        "note": alert.note,
    }


@dataclass
class _Cache:
    """What evaluation keeps between batches (guarded by FieldEvents' lock)."""

    fences: FenceTable = field(default_factory=FenceTable.empty)
    """Every worker's presence at the sites they are entering, inside of or leaving (`dispatch.batch_events` reads and
    writes its columns as they are: no `FenceState` built per window)."""
    seen: set[int] = field(default_factory=set)
    """The workers whose presence was loaded (`_load_presence`)."""
    last: dict[int, Position] = field(default_factory=dict)
    last_t: dict[int, float] = field(default_factory=dict)
    """The `timestamp()` of each worker's `last` fix (for every worker of `last` that the evaluator set)."""
    open_keys: set[str] = field(default_factory=set)
    keys_fresh_until: float = float("-inf")
    index: GeofenceIndex | None = None
    sites: dict[int, Site] = field(default_factory=dict)
    index_fresh_until: float = float("-inf")
    rests: dict[int, tuple[datetime, datetime | None, float]] = field(default_factory=dict)
    """Each worker's break looked up (`_rested_until`): their window's opening, when the break they took ended (None:
    none yet), and when it was looked up (monotonic seconds)."""


REST_RECHECK_S = 300.0
"""How long a look-up that found no break taken stands before the fixes are read again: a worker on their break is
looked up every few minutes, not every round (a break found stands for the rest of the window)."""


class FieldEvents:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        bus: Bus,
        clock: Clock,
        settings: AlertSettings | None = None,
        dwell: DwellParams | None = None,
        auto_arrival_types: frozenset[OrderType] = frozenset(OrderType),
        order_changed: OrderChanged | None = None,
        travel: Travel | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        keys_refresh_s: float = 5.0,
        sites_refresh_s: float = 60.0,
        background: bool = False,
        queue_size: int = 10_000,
        gather_s: float = 0.1,
        max_gather_s: float = 0.5,
        zone: tzinfo = UTC,
    ) -> None:
        self._sessions = sessions
        self._zone = zone  # the office's: the published route followed is that of its local day
        self._bus = bus
        self._clock = clock
        self._settings = settings or AlertSettings()
        self._dwell = dwell or DwellParams()
        self._auto_types = auto_arrival_types
        self._order_changed = order_changed
        self._travel = travel
        self._monotonic = monotonic
        self._sleep = sleep
        self._keys_refresh_s = keys_refresh_s
        self._sites_refresh_s = sites_refresh_s
        self._cache = _Cache()
        self._lock = threading.Lock()
        # SimpleQueue (C, no condition variables): a put and a get cost ~0.1 µs, where `queue.Queue`'s cost ~1.7 µs
        # together, paid per request (a single /osmand fix: 2.4 µs per fix in the evaluator thread alone).
        self._queue: queue.SimpleQueue[Sequence[Position]] = queue.SimpleQueue()
        self._queue_size = queue_size
        self._dropped = 0
        self._gather_s = gather_s
        self._max_gather_s = max_gather_s
        self._busy = False
        self._thread: threading.Thread | None = None
        self._thread_pid = 0
        self._start_lock = threading.Lock()
        if background:
            self._ensure_thread()  # now, not in a request: a request during shutdown could not start a thread

    # --- the pipeline's hook ---------------------------------------------------------------------

    def submit(self, fixes: Sequence[Position]) -> None:
        """Queue freshly stored live fixes for the evaluator thread; never blocks, never raises."""
        if not fixes:
            return
        self._ensure_thread()
        if self._queue.qsize() >= self._queue_size:
            self._dropped += 1
            if self._dropped == 1 or self._dropped % 1000 == 0:
                log.warning("alert evaluation is behind: %d batches of fixes not evaluated", self._dropped)
            return
        self._queue.put(fixes)

    def _ensure_thread(self) -> None:
        # Started with the owner and again in a forked child (a thread does not survive a fork).
        if self._thread is not None and self._thread_pid == os.getpid() and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or self._thread_pid != os.getpid() or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="outfield-field-events", daemon=True)
                self._thread_pid = os.getpid()
                self._thread.start()

    def _run(self) -> None:
        while True:
            # The window is no local of this loop: its fixes are freed as soon as it is evaluated, not kept (and
            # walked by the collector as the other threads allocate) while the thread waits for the next one.
            self.evaluate(self._window(self._next()))
            self._busy = False

    def _next(self) -> Sequence[Position]:
        """The next batch submitted, waiting for it (the thread is idle meanwhile: every window before is evaluated)."""
        return self._queue.get()

    def _window(self, first: Sequence[Position]) -> StoredFixes:
        """The fixes of `first` and of what the gathering brings after it, with their ids and times beside them."""
        self._busy = True
        positions: list[Position] = []
        ids: list[int | None] = []
        fix_us: list[int] = []
        plain = _add(first, positions, ids, fix_us)
        plain &= self._gather(positions, ids, fix_us)
        return StoredFixes(positions, ids, fix_us, plain=plain)

    def _gather(self, positions: list[Position], ids: list[int | None], fix_us: list[int]) -> bool:
        """Add to `batch` what comes within `gather_s`, and again while each `gather_s` brings more (a burst of
        batch uploads), up to `MAX_BATCH` fixes or `max_gather_s` in all.

        One transaction (one fsync) for a whole window's crossings and alerts instead of one per request, and a
        window's fixed cost (its arrays, each worker's state) shared by more fixes. Alerts still follow their fix
        within a second. Sleeping rather than waiting on the queue: no wake-up (and GIL hand-over) per request.
        Whether every batch added was plain (`StoredFixes.plain`).
        """
        until = self._monotonic() + self._max_gather_s
        plain = True
        while True:
            self._sleep(self._gather_s)
            before = len(positions)
            while len(positions) < MAX_BATCH:
                try:
                    plain &= _add(self._queue.get_nowait(), positions, ids, fix_us)
                except queue.Empty:
                    break
            if len(positions) == before or len(positions) >= MAX_BATCH or self._monotonic() >= until:
                return plain

    def idle(self) -> bool:
        """Whether every submitted fix has been evaluated (for benchmarks)."""
        return self._queue.empty() and not self._busy

    # --- per stored batch ------------------------------------------------------------------------

    def evaluate(self, fixes: Sequence[Position]) -> None:
        """Evaluate stored live fixes now (any workers, any order), in the caller's thread; never raises."""
        if not fixes:
            return
        try:
            self._evaluate(fixes)
        except Exception:  # the fixes are stored; an alert lost here is raised by the next fix or run
            log.exception("evaluating %d stored fixes for geofence events and alerts failed", len(fixes))

    def _evaluate(self, fixes: Sequence[Position]) -> None:
        self._refresh()
        # Stored fixes come with their ids and times beside them (`StoredFixes`): read as they are, the ids given only
        # to the fixes that cross.
        ids = fix_us = None
        plain = False
        if isinstance(fixes, StoredFixes):
            ids, fix_us, plain, fixes = fixes.ids, fixes.fix_us, fixes.plain, fixes.positions
        # Each fix's worker read once, for the workers not met yet and for the batch's arrays.
        worker_ids = np.fromiter((p.worker_id for p in fixes), np.int64, len(fixes))
        unseen = set(worker_ids.tolist()).difference(self._cache.seen)  # (a set of the list: half `np.unique`'s CPU)
        if unseen:
            self._load_presence(unseen, min(p.fix_time for p in fixes))
        cache = self._cache
        with self._lock:
            # Decided over the batch's arrays; only the few fixes that can raise, clear or cross go one by one.
            outcome = evaluate_batch(
                fixes,
                ids=ids,
                fix_us=fix_us,
                worker_ids=worker_ids,
                last=cache.last,
                last_t=cache.last_t,
                fences=cache.fences,
                index=cache.index,
                settings=self._settings,
                dwell=self._dwell,
                open_keys=cache.open_keys,
                plain=plain,
            )
            cache.last.update(outcome.last)
            cache.last_t.update(outcome.last_t)
            cache.fences = outcome.table
        decisions, crossings = list(outcome.decisions), list(outcome.crossings)
        if decisions or crossings:
            self._store(decisions, crossings)

    def _wanted(self, decisions: Iterable[Decision], with_open: set[int] | None = None) -> list[Decision]:
        """Raises of alerts not known open, clears of alerts known open (caller holds the lock)."""
        keys = self._cache.open_keys
        if with_open is None:
            with_open = open_key_workers(keys)
        out: list[Decision] = []
        for d in decisions:
            if isinstance(d, Clear) and d.worker_id not in with_open:
                continue  # the everyday case: nothing of theirs is open, nothing to clear (no key to format)
            if (open_key(d.kind, d.worker_id, d.order_id) in keys) == isinstance(d, Clear):
                out.append(d)
        return out

    def _store(self, decisions: list[Decision], crossings: list[GeofenceEvent]) -> None:
        changed: list[tuple[WorkOrder, Site]] = []
        alerts: list[Alert] = []
        with session_scope(self._sessions) as session:
            stored = alerts_repo.add_fence_events(session, crossings)
            # The rules read only a worker's orders at the crossed site (and, for an arrival there, their others):
            # whole orders are read only for the workers who have one at a site they crossed.
            readers = orders_repo.workers_with_orders_at(
                session, pairs={(e.worker_id, e.site_id) for e in stored}, statuses=AT_SITE_RULES_READ
            )
            by_worker = orders_repo.orders_of_workers(session, worker_ids=readers, statuses=AT_SITE_RULES_READ)
            for event in stored:
                if event.worker_id not in readers:
                    continue  # no order of theirs at this site: neither rule moves or flags anything
                orders = by_worker[event.worker_id]
                decisions.extend(left_site(event, orders))
                moved = auto_arrival(event, orders, self._auto_types)
                if isinstance(moved, Transitioned):
                    try:
                        order = orders_repo.save_change(session, moved.change)
                    except ValueError as exc:  # moved meanwhile by someone else: their move stands
                        log.info("no geofence arrival for order %d: %s", moved.order.id, exc)
                        continue
                    by_worker[event.worker_id] = [order if o.id == order.id else o for o in orders]
                    site = self._cache.sites.get(order.site_id) or sites_repo.get_site(session, order.site_id)
                    if site is not None:
                        changed.append((order, site))
            alerts = self._apply(session, decisions)
        self._publish(alerts, changed)

    def _apply(self, session: Session, decisions: Iterable[Decision]) -> list[Alert]:
        out: list[Alert] = []
        for decision in decisions:
            key = open_key(decision.kind, decision.worker_id, decision.order_id)
            if isinstance(decision, Raise):
                alert = alerts_repo.raise_alert(session, decision)
                with self._lock:
                    self._cache.open_keys.add(key)
            else:
                alert = alerts_repo.clear_alert(session, decision)
                with self._lock:
                    self._cache.open_keys.discard(key)
            if alert is not None:
                out.append(alert)
        return out

    def _publish(self, alerts: Iterable[Alert], changed: Iterable[tuple[WorkOrder, Site]]) -> None:
        for order, site in changed:
            if self._order_changed is not None:
                self._order_changed(order, site)
        messages = [alert_message(a) for a in alerts]
        if messages:
            self._bus.publish_many(ALERTS, messages)

    def _refresh(self) -> None:
        """Re-read the open alerts' keys and the sites when they are stale (one thread reads; others go on)."""
        now = self._monotonic()
        cache = self._cache
        if now < cache.keys_fresh_until and now < cache.index_fresh_until:
            return
        with session_scope(self._sessions) as session:
            if now >= cache.keys_fresh_until:
                keys = alerts_repo.open_keys(session)
                with self._lock:
                    cache.open_keys, cache.keys_fresh_until = keys, now + self._keys_refresh_s
            if now >= cache.index_fresh_until:
                sites = {s.id: s for s in sites_repo.list_sites(session)}
                # Built again only when a site changed (500 sites: ~4 ms, and the index's lookup grid on first use).
                same = sites == cache.sites and cache.index is not None
                index = cache.index if same else GeofenceIndex.of_sites(sites.values()) if sites else None
                with self._lock:
                    cache.sites, cache.index = sites, index
                    cache.index_fresh_until = now + self._sites_refresh_s

    def _load_presence(self, worker_ids: Iterable[int], before: datetime) -> None:
        """Where each newly seen worker stands with each site, from their last stored crossings."""
        since = before - timedelta(days=1)
        with session_scope(self._sessions) as session:
            inside = alerts_repo.sites_inside_many(session, worker_ids=worker_ids, since=since)
        with self._lock:
            loaded = {
                worker_id: FenceState(
                    worker_id, None, MappingProxyType({s: SitePresence(Presence.INSIDE, at) for s, at in sites.items()})
                )
                for worker_id, sites in inside.items()
                if worker_id not in self._cache.seen
            }
            self._cache.seen.update(loaded)
            self._cache.fences = self._cache.fences.updated(loaded)

    # --- time-based kinds ------------------------------------------------------------------------

    def evaluate_periodic(self, now: datetime | None = None) -> list[Alert]:
        """Raise and clear the time-based alerts of every active worker at `now` (default the clock's)."""
        now = now or self._clock.now()
        self._refresh()
        settings = self._settings
        watches: list[WorkerWatch] = []
        with session_scope(self._sessions) as session:
            latest = positions_repo.latest_positions(session)
            for worker in workers_repo.list_workers(session):
                if not worker.active:
                    continue
                last = latest.get(worker.id)
                shift = worker.shift_at(now)
                rest = None if shift is None else break_window(*shift)
                # As far back as the rules look: a stop in the break window is judged over the break too.
                look_back = timedelta(seconds=max(settings.off_route_after_s, long_stop_s(now, rest, settings)) + 60)
                recent: tuple[Position, ...] = ()
                if last is not None and (now - last.fix_time) < look_back:
                    recent = tuple(
                        positions_repo.positions_between(session, worker_id=worker.id, start=now - look_back, end=now)
                    )
                orders = orders_repo.orders_of_worker(session, worker_id=worker.id)
                route, on_route = self._route(session, worker.id, now, worker.home_base, orders)
                watch = WorkerWatch(
                    worker_id=worker.id,
                    on_shift=shift is not None,
                    last_fix=last,
                    recent=recent,
                    next_visit=self._next_visit(orders, last),
                    route=route,
                    on_route=on_route,
                    at_site=last is not None and self._at_site(last),
                    break_window=rest,
                    home=worker.home_base,
                    shift_start=None if shift is None else shift[0],
                )
                if rest is not None and may_be_on_break(now, watch, settings):
                    # Still as long as a long stop, in the break window: a break unless they had it already.
                    watch = replace(watch, rested_until=self._rested_until(session, worker.id, rest[0], now))
                watches.append(watch)
            with self._lock:
                wanted = self._wanted(periodic_alerts(now, watches, settings))
            alerts = self._apply(session, wanted)
        self._publish(alerts, ())
        return alerts

    def _rested_until(self, session: Session, worker_id: int, opened: datetime, now: datetime) -> datetime | None:
        """When the break the worker took since their window `opened` ended (`dispatch.alerts.break_taken`, over their
        fixes since then); a break found is kept for the window, a look-up finding none for `REST_RECHECK_S`."""
        known = self._cache.rests.get(worker_id)
        if (
            known is not None
            and known[0] == opened
            and (known[1] is not None or self._monotonic() - known[2] < REST_RECHECK_S)
        ):
            return known[1]
        since = positions_repo.positions_between(session, worker_id=worker_id, start=opened, end=now)
        found = break_taken(since, self._settings, on_site=self._at_place)
        self._cache.rests[worker_id] = (opened, found, self._monotonic())
        return found

    def _next_visit(self, orders: Sequence[WorkOrder], last: Position | None) -> NextVisit | None:
        if last is None or self._travel is None:
            return None
        pending = [o for o in orders if o.status in (OrderStatus.ASSIGNED, OrderStatus.ACCEPTED, OrderStatus.EN_ROUTE)]
        if not pending or any(o.status is OrderStatus.ON_SITE for o in orders):
            return None
        order = min(pending, key=lambda o: (o.window.start, o.id))
        site = self._cache.sites.get(order.site_id)
        if site is None:
            return None
        eta_s = self._travel(last.point, site.location)
        return None if eta_s is None else NextVisit(order.id, order.window.end, eta_s)

    def _route(
        self, session: Session, worker_id: int, now: datetime, start: LatLon | None, orders: Sequence[WorkOrder]
    ) -> tuple[tuple[LatLon, ...], bool]:
        """The worker's published route for the day (their start point, then each planned stop's site), and whether
        they are out on it (`WorkerWatch.on_route`, from their `orders`' statuses)."""
        sequence = plans_repo.published_sequence(session, day=local_day(now, self._zone), worker_id=worker_id)
        if not sequence:
            return (), False
        stops: list[LatLon] = [start] if start is not None else []
        for order_id in sorted(sequence, key=lambda o: sequence[o]):
            order = orders_repo.get_order(session, order_id)
            site = self._cache.sites.get(order.site_id) if order is not None else None
            if site is not None:
                stops.append(site.location)
        return tuple(stops), out_on_route([o.status for o in orders if o.id in sequence])

    def _at_site(self, fix: Position) -> bool:
        return self._at_place(fix.point)

    def _at_place(self, point: LatLon) -> bool:
        index = self._cache.index
        return index is not None and bool(index.containing(point))


def _add(fixes: Sequence[Position], positions: list[Position], ids: list[int | None], fix_us: list[int]) -> bool:
    """Append a submitted batch's fixes, their ids and their times (`StoredFixes` as they are: no copy per fix; the
    times read from the fixes when they came without); whether its fixes are all plain (`StoredFixes.plain`)."""
    if isinstance(fixes, StoredFixes):
        positions.extend(fixes.positions)
        ids.extend(fixes.ids)
        fix_us.extend(map(epoch_micros, map(_FIX_TIME, fixes.positions)) if fixes.fix_us is None else fixes.fix_us)
        return fixes.plain
    positions.extend(fixes)
    ids.extend(p.id for p in fixes)
    fix_us.extend(map(epoch_micros, map(_FIX_TIME, fixes)))
    return False


def run_periodic(field_events: FieldEvents, *, every_s: float, stop: threading.Event) -> None:
    """Evaluate the time-based alerts every `every_s` seconds until `stop` (one failed run is logged, not fatal)."""
    while not stop.wait(every_s):
        try:
            field_events.evaluate_periodic()
        except Exception:
            log.exception("the periodic alert evaluation failed; trying again in %.0f s", every_s)


def alert_settings(settings: Settings) -> AlertSettings:
    """The alert thresholds the settings give (minutes and km/h there; seconds and m/s here)."""
    return AlertSettings(
        max_speed_mps=settings.alert_max_speed_kmh / 3.6,
        low_battery_pct=settings.alert_low_battery_pct,
        battery_ok_pct=max(AlertSettings().battery_ok_pct, settings.alert_low_battery_pct),
        offline_after_s=settings.alert_offline_min * 60.0,
        off_route_m=settings.alert_off_route_m,
        off_route_after_s=settings.alert_off_route_min * 60.0,
        long_stop_after_s=settings.alert_long_stop_min * 60.0,
    )


def auto_arrival_types(types: Iterable[str]) -> frozenset[OrderType]:
    """The order types arriving by geofence; an unknown name stops the process with a clear message."""
    names = tuple(types)
    try:
        return frozenset(OrderType(t) for t in names)
    except ValueError:
        known = ", ".join(t.value for t in OrderType)
        raise ValueError(f"OUTFIELD_AUTO_ARRIVAL={','.join(names)!r}: use order types from {known}") from None


def make_field_events(
    settings: Settings,
    *,
    sessions: sessionmaker[Session],
    bus: Bus,
    clock: Clock,
    order_changed: OrderChanged | None = None,
    travel: Travel | None = None,
    background: bool = True,
) -> FieldEvents:
    """`background`: start the evaluator thread now (a web process: its pipeline submits fixes)."""
    return FieldEvents(
        sessions=sessions,
        bus=bus,
        clock=clock,
        settings=alert_settings(settings),
        dwell=DwellParams(dwell_s=settings.geofence_dwell_s),
        auto_arrival_types=auto_arrival_types(settings.auto_arrival_types),
        order_changed=order_changed,
        travel=travel,
        background=background,
        zone=localtime.zone(settings.timezone),
    )
