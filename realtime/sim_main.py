"""The demo simulator's loop: step the simulation each tick and send its reports like Traccar Client does.

Reports go as OsmAnd-protocol requests (`POST {base_url}/osmand?id=...&lat=...`), so the server
cannot tell the simulated phones from real ones. With `staff` options the workers also work their
orders through the push-link field API (`realtime/sim_staff.py`), after each tick's reports are sent. While the server is unreachable the reports wait
in a bounded queue per worker and go out, oldest first, once it answers. Coordinates are never logged.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import requests

from dispatch.clock import Clock
from dispatch.geo import LatLon
from dispatch.traffic import Traffic
from realtime.sim_roads import Roads
from realtime.sim_staff import FieldStaff, StaffOptions
from realtime.simulator import Report, Simulator, SimWorker

log = logging.getLogger(__name__)

MPS_TO_KNOTS = 1.943844
QUEUE_LIMIT = 500
"""Reports kept per worker while the server is unreachable; older ones are dropped beyond this."""

REQUEST_TIMEOUT_S = 5.0


def osmand_params(report: Report) -> dict[str, str]:
    """The OsmAnd query parameters for one report (speed in knots, time in unix seconds)."""
    return {
        "id": report.device_id,
        "timestamp": str(int(report.fix_time.timestamp())),
        "lat": f"{report.latitude:.6f}",
        "lon": f"{report.longitude:.6f}",
        "speed": f"{report.speed_mps * MPS_TO_KNOTS:.2f}",
        "bearing": f"{report.bearing_deg:.1f}",
        "accuracy": f"{report.accuracy_m:.1f}",
        "batt": f"{report.battery_pct:.1f}",
        **({"alarm": report.alarm} if report.alarm else {}),
    }


@dataclass(slots=True)
class Outbox:
    """Reports waiting to be sent, one bounded queue per device, sent oldest first."""

    limit: int = QUEUE_LIMIT
    queues: dict[str, deque[Report]] = field(default_factory=dict)
    dropped: int = 0

    def add(self, reports: Sequence[Report]) -> None:
        for report in reports:
            queue = self.queues.setdefault(report.device_id, deque(maxlen=self.limit))
            if len(queue) == queue.maxlen:
                self.dropped += 1
            queue.append(report)

    def __len__(self) -> int:
        return sum(len(q) for q in self.queues.values())

    def send(self, session: requests.Session, url: str) -> int:
        """POST queued reports until done or the server is unreachable; returns how many were accepted.

        A connection error or timeout stops this round and keeps the report for the next one. A 5xx
        answer keeps that device's reports for the next round; a 4xx answer drops the report, since
        sending it again would be refused again.
        """
        sent = 0
        for device_id, queue in self.queues.items():
            while queue:
                report = queue[0]
                try:
                    answer = session.post(url, params=osmand_params(report), timeout=REQUEST_TIMEOUT_S)
                except (requests.ConnectionError, requests.Timeout) as e:
                    log.info(
                        "server not reachable (%s); %d report(s) kept for the next tick", type(e).__name__, len(self)
                    )
                    return sent
                if answer.status_code >= 500:
                    log.warning("server answered %d for device %s; retrying next tick", answer.status_code, device_id)
                    break
                queue.popleft()
                if answer.status_code >= 400:
                    log.warning("server refused a report of device %s with %d; dropped", device_id, answer.status_code)
                else:
                    sent += 1
        return sent


def run(
    *,
    base_url: str,
    workers: list[SimWorker],
    destinations: Sequence[LatLon],
    travel: Roads,
    clock: Clock,
    seed: int,
    tick_s: float = 1.0,
    stop: threading.Event | None = None,
    session: requests.Session | None = None,
    report_interval_s: float = 5.0,
    stamp: Callable[[datetime], datetime] | None = None,
    staff: StaffOptions | None = None,
    sos: tuple[str, float] | None = None,
    low_battery_device: str | None = None,
    on_duty: Callable[[str, datetime], bool] | None = None,
    traffic: Traffic | None = None,
) -> Simulator:
    """Simulate `workers` from `clock.now()` on and post their reports to `{base_url}/osmand` each tick.

    Runs until `stop` is set (forever without one), waiting `tick_s` real seconds between ticks.
    `clock` sets the simulated time (a ScaledClock speeds the demo up); `seed` makes the movements
    repeatable. `stamp` maps simulated fix times to the times sent (e.g. `ScaledClock.to_base`).
    With `staff`, the workers also act out the orders assigned to them (`FieldStaff`), their action
    times stamped the same way. `sos` and `low_battery_device` make the demo's alerts, `traffic` its rush hours
    (see `Simulator`).
    `on_duty(device_id, fix_time)` (the time sent) says whether that phone is switched on: a worker off
    shift sends nothing, as a phone whose tracking is off.
    Returns the simulator when stopped, for inspection in tests.
    """
    # urllib3 logs each request line, query string and so coordinates included, at DEBUG.
    quiet_http_log = logging.getLogger("urllib3.connectionpool")
    if quiet_http_log.getEffectiveLevel() < logging.INFO:
        quiet_http_log.setLevel(logging.INFO)
    stop = stop or threading.Event()
    own_session = session is None
    http = session or requests.Session()
    url = base_url.rstrip("/") + "/osmand"
    simulator = Simulator(
        workers, destinations, travel, random.Random(seed), clock.now(), report_interval_s=report_interval_s,
        sos=sos, low_battery_device=low_battery_device, traffic=traffic,
    )  # fmt: skip
    outbox = Outbox()
    field_staff = None
    if staff is not None:
        field_staff = FieldStaff(
            api=staff.api, simulator=simulator, worker_ids=staff.worker_ids, start=simulator.now,
            poll_s=staff.poll_s, new_id=staff.new_id, stamp=stamp, on_shift=staff.on_shift,
        )  # fmt: skip
    fixes: dict[str, Report] = {}
    log.info("simulating %d worker(s) over %d destination(s), posting to %s", len(workers), len(destinations), url)
    try:
        while not stop.is_set():
            dropped_before = outbox.dropped
            now = clock.now()
            reports = simulator.step(now)
            fixes.update((r.device_id, r) for r in reports)  # oldest first, so each device keeps its latest
            if stamp is not None:  # a sped-up demo reports in server time, or fixes would be "in the future"
                reports = [replace(r, fix_time=stamp(r.fix_time)) for r in reports]
            if on_duty is not None:
                reports = [r for r in reports if on_duty(r.device_id, r.fix_time)]
            outbox.add(reports)
            outbox.send(http, url)
            if outbox.dropped > dropped_before:
                log.warning("report queue full: %d oldest report(s) dropped so far", outbox.dropped)
            if field_staff is not None:
                field_staff.tick(now, fixes)
            stop.wait(tick_s)
    finally:
        if own_session:
            http.close()
    return simulator
