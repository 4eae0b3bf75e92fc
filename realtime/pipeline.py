"""The ingestion pipeline: parsed report → known device → on shift → filter → stored → published.

Storing comes first and is committed before anything is published or acknowledged, so an
acknowledged position is durable and a subscriber never sees a position the database lacks.
A fix taken outside the worker's shifts is dropped before the filter: neither stored nor
published (`dispatch.workers.keeps_location`), and its outcome says "off shift".

The hot path reads nothing from the database: devices and each worker's last fix are cached in
the process (the last fix updated on every commit; it is only the filter's hint, the unique
(worker, fix time) constraint is the real guard against storing a fix twice, also across
processes). Accepted fixes of concurrent requests are written together by the process's group
committer, and publishing to Redis is the bus's background work, so no request waits on Redis.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, cast

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from data import positions_repo, privacy_repo, workers_repo
from data.db import WriteTurn, session_scope
from data.positions_repo import PlainHistory, SqliteRow, SqliteRows
from dispatch.access import Decision
from dispatch.clock import Clock
from dispatch.positions import (
    OFF_SHIFT,
    Accepted,
    NetworkReport,
    Position,
    PositionLimits,
    Rejected,
    StoredFixes,
    accept,
    checked_position,
    epoch_micros,
    fix_time_refusal,
    live_or_duplicate_at,
    refuse_fix_time,
    refuse_off_shift,
)
from dispatch.privacy import ConsentState, consent_refusal
from dispatch.workers import Worker, WorkerState, fix_state, kept_span
from realtime.bus import POSITIONS, Bus
from realtime.group_commit import CommitFailed, GroupCommitter
from realtime.ingest import IngestError, PlainFix, PositionReport, check_fix_times, parse_item, plain_fix, to_position

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Stored:
    """The position was stored; `live` says whether it moved the worker on the live map.

    A network-only report (no coordinates, no earlier fix) is stored too, never live.
    """

    position: Position | NetworkReport
    live: bool


DUPLICATE = "duplicate of a stored fix"
"""The outcome of a resend: the worker already has a fix with that time (answered 200, stored once)."""


class StoreUnavailable(Exception):
    """Nothing of the request was stored (the database failed or did not commit in time): retry later."""


@dataclass(frozen=True, slots=True)
class ItemRefused:
    """A batch item that was not stored, by its index in the batch; `error` is `"<field>: <reason>"`
    for a bad item, the reason alone for a fix time refused by the filter (field `timestamp`)."""

    index: int
    field: str
    error: str


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """What became of a batch: counts, and each item not stored (duplicates aside) by index.

    Off-shift items are counted in `off_shift` and listed in `refused` with the reason "off shift".
    """

    accepted: int
    duplicates: int
    off_shift: int
    refused: tuple[ItemRefused, ...]


Outcome = Stored | Rejected | IngestError
_UNKNOWN = object()
MayReport = Callable[[int], Decision]
_ALLOWED = Decision(True)


def _anyone(_worker_id: int) -> Decision:
    """`/osmand`'s permission: the device id is the protocol's credential, so whoever it names may report."""
    return _ALLOWED


Storable = Position | NetworkReport


_STATE_TEXT = {state: state.value for state in WorkerState}


def _round6(degrees: float) -> float:
    """`round(degrees, 6)`, cheaply for what phones send (at most 6 decimals, where it is `degrees` itself):
    when `n / 1e6` (correctly rounded) gives `degrees` back, `degrees` is the double of a 6-decimal number."""
    n = round(degrees * 1e6)
    return degrees if n / 1e6 == degrees else round(degrees, 6)


def live_message(position: Position) -> dict[str, Any]:
    """The bus/socket form of a live position, with the map state already decided."""
    return live_messages([position])[0]


def live_messages(positions: Sequence[Position]) -> list[dict[str, Any]]:
    """`live_message` of each position, cheaply: a batch shares its server time, turned into ms once."""
    out: list[dict[str, Any]] = []
    server_ms: dict[datetime, int] = {}
    for position in positions:
        ms = server_ms.get(position.server_time)
        if ms is None:
            ms = server_ms[position.server_time] = int(position.server_time.timestamp() * 1000)
        out.append(
            {
                "worker_id": position.worker_id,
                "lat": _round6(position.latitude),
                "lon": _round6(position.longitude),
                "fix_time": position.fix_time.isoformat(),
                "speed_mps": position.speed_mps,
                "bearing_deg": position.bearing_deg,
                "accuracy_m": position.accuracy_m,
                "battery_pct": position.battery_pct,
                "state": _STATE_TEXT[fix_state(position.fix_time, position.speed_mps, position.server_time)],
                "server_ms": ms,
            }
        )
    return out


class PositionPipeline:
    """Ingests position reports for the HTTP endpoints (OsmAnd and batch)."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        bus: Bus,
        clock: Clock,
        limits: PositionLimits,
        device_cache_s: float = 30.0,
        commit_timeout_s: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
        write: Callable[[list[Storable]], list[int | None]] | None = None,
        after_store: Callable[[Sequence[Position]], None] | None = None,
        consent_required: bool = True,
    ) -> None:
        self._sessions = sessions
        self._bus = bus
        self._clock = clock
        self._limits = limits
        # Known devices are remembered (with their worker's shifts) for `device_cache_s`: a phone
        # pinging every few seconds then costs no lookup. Unknown ids are never cached, so a newly
        # registered phone works at once; a deactivated one is refused, and a changed shift
        # applies, within `device_cache_s` (and the moment one thread takes to read them again: meanwhile the
        # other requests use the entries it replaces, not wait for it).
        self._device_cache_s = device_cache_s
        self._monotonic = monotonic
        self._devices: dict[str, tuple[Worker, float]] = {}
        self._devices_lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._devices_fresh_until = float("-inf")
        self._warned_no_shifts: set[int] = set()
        # Each known worker's consent state, read with the devices (and at once on a change made here):
        # a fix of a worker whose consent is withdrawn (or, when required, never given) is not kept.
        self._consent_required = consent_required
        self._consent: dict[int, ConsentState] = {}
        # Each worker's latest live fix (None: none stored), read once per worker and process,
        # then kept current by our own commits.
        self._last: dict[int, Position | None] = {}
        self._last_lock = threading.Lock()
        # The shift span each worker's latest fix fell in (with the Worker it was computed for).
        self._spans: dict[int, tuple[Worker, datetime, datetime]] = {}
        self._commit_timeout_s = commit_timeout_s
        # Every process's committer takes turns writing the SQLite file (see WriteTurn: no busy-wait sleeps).
        self._write_turn = WriteTurn.for_sessions(sessions)
        # The committer's own connection (one per process, opened by its first write after the fork): a group
        # costs its statement and its durable commit, without a session and a pool checkout each time.
        bind = sessions.kw.get("bind")
        self._writer = positions_repo.PositionWriter(bind) if isinstance(bind, Engine) else None
        # Told of each request's newly stored live fixes, after the commit (geofence events and alerts).
        self._after_store = after_store
        # On SQLite each request puts its rows in storage form in its own thread (`_store`), and the committer takes
        # the writers' turn and then everything queued meanwhile (see GroupCommitter), so a group is as large as the
        # other processes' commits let it be and the turn holds only the statements and the commit.
        self._rows_first = write is None and self._writer is not None and self._writer.sqlite
        self._committer: GroupCommitter[Storable | SqliteRow, int | None] = GroupCommitter(
            write or self._insert,  # type: ignore[arg-type]  # a given `write` is handed Storable items only
            name="outfield-group-commit",
            on_idle=self._writer.close if write is None and self._writer is not None else None,
            turn=self._write_turn if write is None else None,
        )

    def ingest(self, report: PositionReport) -> Stored | Rejected:
        """Store one report from a device; IngestError (→ 400) for an unknown device or bad value.

        A fix taken off shift comes back as Rejected with `off_shift` set, and nothing is stored;
        a resend of a stored fix as Rejected with `duplicate` set. StoreUnavailable when the
        database could not store it (→ 503, the phone retries).
        """
        outcome = self.ingest_many([report], may_report=lambda _worker_id: Decision(True))[0]
        if isinstance(outcome, IngestError):
            raise outcome
        return outcome

    def ingest_plain(self, plain: PlainFix) -> int | Rejected:
        """`ingest` of a report `realtime.ingest.plain_query_fix` read (what phones send most to `/osmand`): the
        stored row's id, or Rejected (off shift, no consent, a resend), through the checks and outcomes `ingest`
        applies, in the same order (`_decide_plain`, the batch path's; a test holds the stored rows equal), without
        a PositionReport, its copies and a copy of the stored fix to carry its id.

        Raises IngestError (→ 400) for a fix time outside the window (`timestamp`) or an unknown device (`id`), and
        StoreUnavailable, with nothing stored, when the database fails.
        """
        server_time, window = self._now_and_window()
        decided = self._decide_plain(plain, server_time, window, {}, _anyone)
        if isinstance(decided, IngestError):
            raise decided
        if isinstance(decided, Rejected):
            return decided
        item, live = decided
        (new_id,) = self._store((item,))
        if new_id is None:
            return Rejected(DUPLICATE, duplicate=True)
        if live and isinstance(item, Position):
            self._remember([item])
            self._bus.publish_many(POSITIONS, live_messages([item]))
            if self._after_store is not None:
                # The id and the time as read beside the fix, as the batch path hands them.
                self._after_store(
                    StoredFixes(
                        [item], [new_id], [epoch_micros(item.fix_time) if plain[9] is None else plain[9]], plain=True
                    )
                )
        return new_id

    def _now_and_window(self) -> tuple[datetime, tuple[datetime, datetime]]:
        """The server time of a request and the fix times it accepts. Plain fixes' `Position`s are built without
        `Position`'s own checks (`checked_position`), so the server time is checked here, once per request."""
        server_time = self._clock.now()
        if server_time.tzinfo is None:
            raise ValueError("server_time must be timezone-aware")
        return server_time, (
            server_time - timedelta(seconds=self._limits.max_age_s),
            server_time + timedelta(seconds=self._limits.max_future_s),
        )

    def ingest_many(self, reports: Sequence[PositionReport | IngestError], *, may_report: MayReport) -> list[Outcome]:
        """Store many reports in one transaction; each gets its own outcome, in order.

        A bad item does not sink the others. `may_report(worker_id)` is the caller's permission
        check (a field worker may report only for themself). Items taken off shift come back as
        Rejected with `off_shift` set. Raises StoreUnavailable, with nothing stored, when the
        database fails.
        """
        server_time = self._clock.now()
        outcomes: list[Outcome | None] = []  # None: decided when its group is committed
        to_store: list[tuple[int, Storable, bool]] = []  # (index in outcomes, item, live)
        last: dict[int, Position | None] = {}  # this request's view: the cache, then its own accepted fixes
        for report in reports:
            if isinstance(report, IngestError):
                outcomes.append(report)
                continue
            decided = self._decide(report, server_time, last, may_report)
            if isinstance(decided, tuple):
                to_store.append((len(outcomes), *decided))
            outcomes.append(None if isinstance(decided, tuple) else decided)
        ids = self._store([item for _, item, _ in to_store])
        live: list[Position] = []
        for (index, item, is_live), new_id in zip(to_store, ids, strict=True):
            if new_id is None:
                outcomes[index] = Rejected(DUPLICATE, duplicate=True)
                continue
            stored = replace(item, id=new_id)
            outcomes[index] = Stored(stored, is_live)
            if is_live and isinstance(stored, Position):
                live.append(stored)
        self._remember(live)
        self._bus.publish_many(POSITIONS, live_messages(live))
        if self._after_store is not None and live:
            self._after_store(live)
        return [o for o in outcomes if o is not None]

    def ingest_batch(self, items: Sequence[object], *, may_report: MayReport) -> BatchSummary:
        """Store a batch endpoint's decoded items (`realtime.ingest.batch_items`) in one group commit.

        The same rules and outcomes as `ingest_many` over `parse_item` of each item, at a fraction of
        the cost per fix: a common item (`plain_fix`) becomes one Position without intermediate
        values, the fix time window is two comparisons, a worker's shift is looked up once per shift
        (`kept_span`) and `may_report` once per worker. Anything else takes `ingest_many`'s path.
        Raises StoreUnavailable, with nothing stored, when the database fails.
        """
        server_time, window = self._now_and_window()
        decisions: dict[int, Decision] = {}

        def allowed(worker_id: int) -> Decision:
            decision = decisions.get(worker_id)
            if decision is None:
                decision = decisions[worker_id] = may_report(worker_id)
            return decision

        refused: list[ItemRefused] = []
        duplicates = off_shift = 0
        to_store: list[Storable | PlainHistory] = []
        live: list[bool] = []
        read_us: list[int] = []  # each stored item's fix time in µs since the epoch, as `plain_fix` read it if it did
        server_us = epoch_micros(server_time)  # the time of a plain item without one
        last: dict[int, Position | None] = {}
        # On SQLite a plain fix older than its worker's last is stored as a row without a `Position` made of it.
        history_rows = self._rows_first
        every_plain = (
            True  # every item took the plain path: its fixes built by `checked_position` (`StoredFixes.plain`)
        )
        for index, item in enumerate(items):
            plain = plain_fix(item) if item.__class__ is dict else None  # type: ignore[arg-type]
            decided: tuple[Storable | PlainHistory, bool] | Rejected | IngestError
            if plain is not None:
                decided = self._decide_plain(plain, server_time, window, last, allowed, history_rows)
            else:
                every_plain = False
                (report,) = check_fix_times([parse_item(item)], now=server_time, limits=self._limits)
                if isinstance(report, IngestError):
                    decided = report
                else:
                    decided = self._decide(report, server_time, last, allowed)
            if isinstance(decided, tuple):
                to_store.append(decided[0])
                live.append(decided[1])
                if plain is not None:
                    read_us.append(server_us if plain[9] is None else plain[9])
                else:
                    read_us.append(epoch_micros(cast(Storable, decided[0]).fix_time))
            elif isinstance(decided, IngestError):
                refused.append(ItemRefused(index, decided.field, str(decided)))
            elif decided.duplicate:
                duplicates += 1
            else:
                off_shift += decided.off_shift
                refused.append(ItemRefused(index, "consent" if decided.no_consent else "timestamp", decided.reason))
        ids = self._store(to_store, read_us)
        fresh: list[Position] = []
        fresh_ids: list[int] = []
        fresh_us: list[int] = []
        for item, is_live, new_id, us in zip(to_store, live, ids, read_us, strict=True):
            if new_id is None:
                duplicates += 1
            elif is_live and isinstance(item, Position):
                fresh.append(item)
                fresh_ids.append(new_id)
                fresh_us.append(us)
        self._remember(fresh)
        self._bus.publish_many(POSITIONS, live_messages(fresh))
        if self._after_store is not None and fresh:
            # The stored rows, each given its id only when read (a crossing records its fix's id): no copy per fix;
            # their times in microseconds beside them, as read (the evaluator's arrays).
            self._after_store(StoredFixes(fresh, fresh_ids, fresh_us, plain=every_plain))
        accepted = len(to_store) - sum(1 for new_id in ids if new_id is None)
        return BatchSummary(accepted, duplicates, off_shift, tuple(refused))

    def _decide_plain(
        self,
        plain: PlainFix,
        server_time: datetime,
        window: tuple[datetime, datetime],
        last: dict[int, Position | None],
        may_report: MayReport,
        history_rows: bool = False,
    ) -> tuple[Storable | PlainHistory, bool] | Rejected | IngestError:
        """`_decide` for a common item (`plain_fix`), in the same order of checks. With `history_rows` a fix older than
        the worker's last (history, never live) comes back as its row's values (`PlainHistory`), no `Position` made."""
        device_id, fix_time, latitude, longitude, accuracy_m, speed_mps, bearing_deg, altitude_m, battery_pct, _ = plain
        if fix_time is None:
            fix_time = server_time
        elif not window[0] <= fix_time <= window[1]:
            refusal = fix_time_refusal(fix_time, server_time, self._limits)
            if refusal is not None:
                return IngestError("timestamp", refusal)
        worker = self._worker(device_id)
        if worker is None:
            return IngestError("id", f"unknown device {device_id!r}: register it with `python -m data add-worker`")
        if worker.id not in last:
            # A worker's first fix of the request: the permission and the consent are asked here, once per worker and
            # request (a worker enters `last` only past both, here and in `_decide`); their later fixes skip them.
            refused = self._refusal(worker.id, may_report)
            if refused is not None:
                return refused
            known = self._last.get(worker.id, _UNKNOWN)  # a dict read is atomic: the lock only for a miss
            last[worker.id] = self._last_fix(worker.id) if known is _UNKNOWN else known  # type: ignore[assignment]
        if not self._keeps(worker, fix_time):
            return Rejected(OFF_SHIFT, off_shift=True)
        self._warn_no_shifts(worker)
        live = live_or_duplicate_at(fix_time, latitude, longitude, last[worker.id])  # the time is within the window
        if live.__class__ is Rejected:
            return live  # type: ignore[return-value]
        if history_rows and not live:
            return (
                worker.id, device_id, server_time, latitude, longitude, accuracy_m, speed_mps, bearing_deg, altitude_m,
                battery_pct,
            ), False  # fmt: skip
        # `plain_fix` checked the values as Position would, and the batch's server time is aware (`ingest_batch`).
        position = checked_position(
            worker.id, device_id, fix_time, server_time, latitude, longitude, accuracy_m, speed_mps, bearing_deg,
            altitude_m, battery_pct,
        )  # fmt: skip
        if live:
            last[worker.id] = position
        return position, live  # type: ignore[return-value]

    def consent_changed(self, worker_id: int, state: ConsentState) -> None:
        """A consent given or withdrawn (or a worker anonymised) through this process: applies to the next fix."""
        self._consent[worker_id] = state

    def _refusal(self, worker_id: int, may_report: MayReport) -> IngestError | Rejected | None:
        """Why the caller may not report `worker_id`'s fixes (4xx naming `id`), or why they are not kept (no consent)."""
        decision = may_report(worker_id)
        if not decision.allowed:
            return IngestError("id", decision.reason)
        reason = consent_refusal(self._consent.get(worker_id, ConsentState.NONE), required=self._consent_required)
        return Rejected(reason, no_consent=True) if reason is not None else None

    def _keeps(self, worker: Worker, at: datetime) -> bool:
        """`keeps_location(worker, at)`, asking the calendar once per shift and worker (`kept_span`)."""
        cached = self._spans.get(worker.id)
        if cached is not None and cached[0] is worker and cached[1] <= at < cached[2]:
            return True
        span = kept_span(worker, at)
        if span is None:
            return False
        self._spans[worker.id] = (worker, *span)  # a dict write is atomic; a race only costs a lookup
        return True

    def _decide(
        self,
        report: PositionReport,
        server_time: datetime,
        last: dict[int, Position | None],
        may_report: MayReport,
    ) -> tuple[Storable, bool] | Rejected | IngestError:
        """What to store for one report (and whether it is live), or why nothing is stored."""
        worker = self._worker(report.device_id)
        if worker is None:
            return IngestError(
                "id", f"unknown device {report.device_id!r}: register it with `python -m data add-worker`"
            )
        refused = self._refusal(worker.id, may_report)
        if refused is not None:
            return refused
        if worker.id not in last:
            last[worker.id] = self._last_fix(worker.id)
        previous = last[worker.id]
        if report.latitude is None and previous is None:
            return self._network_only(report, worker, server_time)
        try:
            position = to_position(report, worker_id=worker.id, server_time=server_time, last=previous)
        except IngestError as exc:
            return exc
        if not self._keeps(worker, position.fix_time):  # `refuse_off_shift`, the calendar asked once per shift
            return Rejected(OFF_SHIFT, off_shift=True)
        self._warn_no_shifts(worker)
        verdict = accept(position, previous, self._limits)
        if isinstance(verdict, Rejected):
            return verdict
        assert isinstance(verdict, Accepted)
        if verdict.live:
            last[worker.id] = verdict.position
        return verdict.position, verdict.live

    def _network_only(
        self, report: PositionReport, worker: Worker, server_time: datetime
    ) -> tuple[Storable, bool] | Rejected:
        """A report without coordinates and no earlier fix to carry over: kept as network data, never live."""
        attributes = {k: v for k, v in report.attributes.items() if k != "outdated"}
        if report.hdop is not None:
            attributes["hdop"] = report.hdop
        item = NetworkReport(
            worker_id=worker.id,
            device_id=report.device_id,
            fix_time=report.fix_time if report.fix_time is not None else server_time,
            server_time=server_time,
            battery_pct=report.battery_pct,
            charging=report.charging,
            attributes=MappingProxyType(attributes),
        )
        refused = refuse_off_shift(item, worker) or refuse_fix_time(item, self._limits)
        if refused is not None:
            return refused
        self._warn_no_shifts(worker)
        return item, False

    def _store(self, items: Sequence[Storable | PlainHistory], fix_us: Sequence[int] | None = None) -> list[int | None]:
        """Each item's new id (None: a resend already stored) once the committer has committed them; StoreUnavailable
        (→ 503) when it did not. On SQLite the rows are made here, in the request's thread, not in the committer's;
        `fix_us`, each item's fix time in µs since the epoch when the caller has them, makes their texts in one go
        (and is required with `PlainHistory` items, which only the SQLite rows path is given)."""
        try:
            if self._rows_first and items:  # a SQLite writer (`_rows_first`): the rows in storage form
                rows: Sequence[Storable | SqliteRow] = SqliteRows.of(items, fix_us).rows
                return self._committer.write(rows, timeout_s=self._commit_timeout_s)
            return self._committer.write(cast(Sequence[Storable], items), timeout_s=self._commit_timeout_s)
        except CommitFailed as exc:
            raise StoreUnavailable(str(exc)) from None

    def _insert(self, items: list[Storable | SqliteRow]) -> list[int | None]:
        """The committer's write of a whole group in one transaction, inside this process's turn to write (the
        committer holds it); on SQLite the items are rows in storage form (`_store`)."""
        if self._writer is not None:
            if self._rows_first:
                return self._writer.write(SqliteRows(cast(list[SqliteRow], items)))
            return self._writer(cast(list[Storable], items))
        with session_scope(self._sessions) as session:
            return positions_repo.insert_positions(session, cast(list[Storable], items))

    def _last_fix(self, worker_id: int) -> Position | None:
        with self._last_lock:
            if worker_id in self._last:
                return self._last[worker_id]
        with session_scope(self._sessions) as session:
            found = positions_repo.last_position(session, worker_id=worker_id)
        with self._last_lock:
            return self._last.setdefault(worker_id, found)

    def _remember(self, live: list[Position]) -> None:
        """Keep each worker's newest committed live fix as their last one."""
        if not live:
            return
        with self._last_lock:
            for position in live:
                known = self._last.get(position.worker_id)
                if known is None or position.fix_time >= known.fix_time:
                    self._last[position.worker_id] = position

    def _worker(self, device_id: str) -> Worker | None:
        now = self._monotonic()
        cached = self._devices.get(device_id)  # a dict read is atomic; writes take the lock
        if cached is not None and cached[1] > now:
            return cached[0]
        if now >= self._devices_fresh_until:  # one query for every device instead of one per device
            loaded = self._load_devices(wait=cached is None)
            if not loaded and cached is not None:
                # Another thread is reading them this moment: a known device keeps its entry until the new ones are
                # in, instead of every request of the process waiting for that read (a stall every `device_cache_s`).
                return cached[0]
            cached = self._devices.get(device_id)
            if cached is not None and cached[1] > now:
                return cached[0]
        with session_scope(self._sessions) as session:
            worker = workers_repo.worker_by_device(session, device_id)
            latest = privacy_repo.latest_consent(session, worker.id) if worker is not None else None
        if worker is None or not worker.active:
            return None
        self._consent[worker.id] = latest.state if latest is not None else ConsentState.NONE
        with self._devices_lock:
            self._devices[device_id] = (worker, now + self._device_cache_s)
        return worker

    def _load_devices(self, *, wait: bool = True) -> bool:
        """Remember every active worker's device, all at once (one thread loads; the others wait for it, or with
        `wait` false go on at once: False when another thread is loading them)."""
        if not self._load_lock.acquire(blocking=wait):
            return False
        try:
            now = self._monotonic()
            if now < self._devices_fresh_until:
                return True  # another thread just loaded them
            first = self._devices_fresh_until == float("-inf")
            with session_scope(self._sessions) as session:
                workers = workers_repo.list_workers(session)
                consents = privacy_repo.consent_states(session)
                # The first load also reads every active worker's last fix, in one query: a process that
                # starts under load otherwise reads them one query per worker, at each one's first fix.
                active = [w.id for w in workers if w.active]
                last = positions_repo.last_positions(session, active) if first else {}
            if first:
                with self._last_lock:
                    for worker_id in active:
                        self._last.setdefault(worker_id, last.get(worker_id))
            self._consent = consents
            until = now + self._device_cache_s
            with self._devices_lock:
                self._devices = {w.device_id: (w, until) for w in workers if w.active}
            self._devices_fresh_until = until
            return True
        finally:
            self._load_lock.release()

    def _warn_no_shifts(self, worker: Worker) -> None:
        """Say once per process that a worker has no shift calendar, so every fix is kept (ids only)."""
        if worker.shifts:  # the hot path: most workers have a calendar, so no lock for them
            return
        with self._devices_lock:
            if worker.id in self._warned_no_shifts:
                return
            self._warned_no_shifts.add(worker.id)
        log.warning(
            "worker %d has no shifts: their positions are kept whenever the phone sends; give them a shift", worker.id
        )
