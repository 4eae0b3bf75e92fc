"""`python -m realtime simulate`: the demo's field staff, driving Monaco's streets.

Wiring only: the registered workers (whose device ids start with the demo prefix) and the sites of
the day's work orders come from the database; movement comes from `realtime.simulator`; every
report goes through the real `/osmand` endpoint over HTTP, as a phone's would. The workers work
the orders assigned to them today through the push-link field API (`realtime.sim_staff`), with
links issued to the demo's `simulator` user, whose API token is minted here at start (tokens are
stored hashed, so none can be read back) and revoked at exit.
"""

from __future__ import annotations

import itertools
import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests

from data import orders_repo, sites_repo, users_repo, workers_repo
from data.db import make_engine, make_sessionmaker, session_scope
from data.scenario import simulator_token
from data.settings import Settings
from dispatch import localtime
from dispatch.clock import ScaledClock, SystemClock
from dispatch.geo import LatLon
from dispatch.orders import OrderStatus
from dispatch.workers import keeps_location
from realtime.sim_main import run
from realtime.sim_staff import FieldApi, StaffOptions
from realtime.simulator import SimWorker
from routing.travel import make_travel_times

log = logging.getLogger("outfield.simulator")
DEMO_PREFIX = "demo-"
BASE_REPORT_INTERVAL_S = 5.0
"""Simulated seconds between a worker's reports at speed 1; sped up, at most one a real second each."""
DAY_READ_REAL_S = 20.0
"""Real seconds between two reads of one worker's day: 30 workers make 1.5 light requests a second."""


def simulate(settings: Settings, *, url: str | None, speed: float | None) -> int:
    base_url = url or f"http://127.0.0.1:{settings.port}"
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with session_scope(sessions) as session:
        demo = [w for w in workers_repo.list_workers(session) if w.device_id.startswith(DEMO_PREFIX)]
        sites = {s.id: s for s in sites_repo.list_sites(session)}
        orders = orders_repo.list_orders(session)
        # A day in progress (`seed-demo`): a worker on site starts there, everyone else at home.
        on_site = {o.assigned_worker_id: sites[o.site_id].location for o in orders if o.status is OrderStatus.ON_SITE}
        workers = [SimWorker(w.device_id, on_site.get(w.id, w.home_base)) for w in demo if w.home_base is not None]
        order_sites = {o.site_id for o in orders}
    destinations: list[LatLon] = [sites[i].location for i in sorted(order_sites) if i in sites]
    if not workers or not destinations:
        log.error("no demo workers or order sites in the database: run `python -m data seed-demo` first")
        return 1
    by_device = {w.device_id: w for w in demo}
    off_shift = sum(1 for w in demo if not keeps_location(w, SystemClock().now()))
    if off_shift:
        log.info(
            "%d of %d demo worker(s) are off shift now: their phones stay silent until their shift",
            off_shift,
            len(demo),
        )
    zone = localtime.zone(settings.timezone)
    today = localtime.local_day(SystemClock().now(), zone)
    if not any(localtime.spans_day(o.window.start, o.window.end, today, zone) for o in orders):
        log.info(
            "no work orders on %s: the simulated staff work only today's orders; "
            "`python -m data seed-demo` adds today's demo orders",
            today.isoformat(),
        )
    travel = make_travel_times(settings.osrm_dir)
    log.info("road times: %s", type(travel).__name__)
    _wait_for_server(base_url)
    with session_scope(sessions) as session:
        api_token = simulator_token(session, now=SystemClock().now())
    speed = speed or settings.sim_speed
    clock = ScaledClock(SystemClock(), SystemClock().now(), speed)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    http = requests.Session()
    staff = StaffOptions(
        api=FieldApi(http, base_url, api_token),
        worker_ids={w.device_id: w.id for w in demo if w.home_base is not None},
        poll_s=DAY_READ_REAL_S * speed,
        new_id=action_ids(uuid.uuid4().hex[:12]),
    )
    try:
        run(base_url=base_url, workers=workers, destinations=destinations, travel=travel, clock=clock,
            seed=settings.seed, stop=stop, stamp=clock.to_base, session=http,
            report_interval_s=max(BASE_REPORT_INTERVAL_S, speed), staff=staff,
            on_duty=lambda device, at: keeps_location(by_device[device], at),
            **demo_alerts([w.device_id for w in workers]))  # fmt: skip
    finally:
        http.close()
        with session_scope(sessions) as session:
            users_repo.revoke_token(session, token=api_token, now=SystemClock().now())
    return 0


DEMO_SOS_AFTER_S = 120.0
"""Simulated seconds into the demo when its second phone sends an SOS, so the exceptions panel has one to show."""


def demo_alerts(device_ids: list[str]) -> dict[str, Any]:
    """The demo's alerts: the second phone sends one SOS after two minutes, the first one's battery runs low."""
    if len(device_ids) < 2:
        return {}
    return {"sos": (device_ids[1], DEMO_SOS_AFTER_S), "low_battery_device": device_ids[0]}


def action_ids(run_id: str) -> Callable[[], str]:
    """Client action ids `sim-<run_id>-1`, `-2`, ...: repeatable within a run, and a new `run_id`
    per run keeps them unique across runs (the server treats an id it has seen as a replay)."""
    counter = itertools.count(1)
    return lambda: f"sim-{run_id}-{next(counter)}"


def _wait_for_server(base_url: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base_url}/healthz", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    log.warning("server at %s not answering yet; reports will queue until it does", base_url)
