"""The ingestion pipeline: parsed report → known device → on shift → filter → stored → published.

Storing comes first and is committed before anything is published or acknowledged, so an
acknowledged position is durable and a subscriber never sees a position the database lacks.
A fix taken outside the worker's shifts is dropped before the filter: neither stored nor
published (`dispatch.workers.keeps_location`), and its outcome says "off shift".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from data import positions_repo, workers_repo
from data.db import session_scope
from dispatch.access import Decision
from dispatch.clock import Clock
from dispatch.positions import Accepted, Position, PositionLimits, Rejected, accept, refuse_off_shift
from dispatch.workers import LiveStatus, Worker, worker_state
from realtime.bus import POSITIONS, Bus
from realtime.ingest import IngestError, PositionReport, to_position

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Stored:
    """The position was stored; `live` says whether it moved the worker on the live map."""

    position: Position
    live: bool


Outcome = Stored | Rejected | IngestError
MayReport = Callable[[int], Decision]


def live_message(position: Position) -> dict[str, Any]:
    """The bus/socket form of a live position, with the map state already decided."""
    state = worker_state(LiveStatus(position.fix_time, position.speed_mps), position.server_time)
    return {
        "worker_id": position.worker_id,
        "lat": round(position.latitude, 6),
        "lon": round(position.longitude, 6),
        "fix_time": position.fix_time.isoformat(),
        "speed_mps": position.speed_mps,
        "bearing_deg": position.bearing_deg,
        "accuracy_m": position.accuracy_m,
        "battery_pct": position.battery_pct,
        "state": state.value,
        "server_ms": int(position.server_time.timestamp() * 1000),
    }


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
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._bus = bus
        self._clock = clock
        self._limits = limits
        # Known devices are remembered (with their worker's shifts) for `device_cache_s`: a phone
        # pinging every few seconds then costs no lookup. Unknown ids are never cached, so a newly
        # registered phone works at once; a deactivated one is refused, and a changed shift
        # applies, within `device_cache_s`.
        self._device_cache_s = device_cache_s
        self._monotonic = monotonic
        self._devices: dict[str, tuple[Worker, float]] = {}
        self._devices_lock = threading.Lock()
        self._warned_no_shifts: set[int] = set()

    def ingest(self, report: PositionReport) -> Stored | Rejected:
        """Store one report from a device; IngestError (→ 400) for an unknown device or bad value.

        A fix taken off shift comes back as Rejected with `off_shift` set, and nothing is stored.
        """
        outcome = self.ingest_many([report], may_report=lambda _worker_id: Decision(True))[0]
        if isinstance(outcome, IngestError):
            raise outcome
        return outcome

    def ingest_many(self, reports: Sequence[PositionReport | IngestError], *, may_report: MayReport) -> list[Outcome]:
        """Store many reports in one transaction; each gets its own outcome, in order.

        A bad item does not sink the others. `may_report(worker_id)` is the caller's permission
        check (a field worker may report only for themself). Items taken off shift come back as
        Rejected with `off_shift` set.
        """
        outcomes: list[Outcome] = []
        live: list[Position] = []
        server_time = self._clock.now()
        with session_scope(self._sessions) as session:
            workers: dict[str, Worker | None] = {}
            last: dict[int, Position | None] = {}
            for report in reports:
                if isinstance(report, IngestError):
                    outcomes.append(report)
                    continue
                outcome = self._one(session, report, server_time, workers, last, may_report)
                outcomes.append(outcome)
                if isinstance(outcome, Stored) and outcome.live:
                    live.append(outcome.position)
        self._bus.publish_many(POSITIONS, [live_message(p) for p in live])
        return outcomes

    def _one(
        self,
        session: Session,
        report: PositionReport,
        server_time: Any,
        workers: dict[str, Worker | None],
        last: dict[int, Position | None],
        may_report: MayReport,
    ) -> Outcome:
        if report.device_id not in workers:
            workers[report.device_id] = self._worker(session, report.device_id)
        worker = workers[report.device_id]
        if worker is None:
            return IngestError(
                "id", f"unknown device {report.device_id!r}: register it with `python -m data add-worker`"
            )
        worker_id = worker.id
        decision = may_report(worker_id)
        if not decision.allowed:
            return IngestError("id", decision.reason)
        if worker_id not in last:
            last[worker_id] = positions_repo.last_position(session, worker_id=worker_id)
        try:
            position = to_position(report, worker_id=worker_id, server_time=server_time, last=last[worker_id])
        except IngestError as exc:
            return exc
        off_shift = refuse_off_shift(position, worker)
        if off_shift is not None:
            return off_shift
        self._warn_no_shifts(worker)
        verdict = accept(position, last[worker_id], self._limits)
        if isinstance(verdict, Rejected):
            return verdict
        assert isinstance(verdict, Accepted)
        stored = positions_repo.add_position(session, verdict.position)
        if verdict.live:
            last[worker_id] = stored
        return Stored(stored, verdict.live)

    def _worker(self, session: Session, device_id: str) -> Worker | None:
        now = self._monotonic()
        with self._devices_lock:
            cached = self._devices.get(device_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        worker = workers_repo.worker_by_device(session, device_id)
        if worker is None or not worker.active:
            return None
        with self._devices_lock:
            self._devices[device_id] = (worker, now + self._device_cache_s)
        return worker

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
