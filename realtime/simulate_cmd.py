"""`python -m realtime simulate`: the demo's field staff, driving Monaco's streets.

Wiring only: the registered workers (whose device ids start with the demo prefix) and the sites of
the day's work orders come from the database; movement comes from `realtime.simulator`; every
report goes through the real `/osmand` endpoint over HTTP, as a phone's would.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

import requests

from data import orders_repo, sites_repo, workers_repo
from data.db import make_engine, make_sessionmaker, session_scope
from data.settings import Settings
from dispatch.clock import ScaledClock, SystemClock
from dispatch.geo import LatLon
from dispatch.workers import keeps_location
from realtime.sim_main import run
from realtime.simulator import SimWorker
from routing.travel import make_travel_times

log = logging.getLogger("outfield.simulator")
DEMO_PREFIX = "demo-"


def simulate(settings: Settings, *, url: str | None, speed: float | None) -> int:
    base_url = url or f"http://127.0.0.1:{settings.port}"
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with session_scope(sessions) as session:
        demo = [w for w in workers_repo.list_workers(session) if w.device_id.startswith(DEMO_PREFIX)]
        workers = [SimWorker(w.device_id, w.home_base) for w in demo if w.home_base is not None]
        sites = {s.id: s for s in sites_repo.list_sites(session)}
        order_sites = {o.site_id for o in orders_repo.list_orders(session)}
    destinations: list[LatLon] = [sites[i].location for i in sorted(order_sites) if i in sites]
    if not workers or not destinations:
        log.error("no demo workers or order sites in the database: run `python -m data seed-demo` first")
        return 1
    off_shift = sum(1 for w in demo if not keeps_location(w, SystemClock().now()))
    if off_shift:  # a demo seeded before demo shifts covered the whole day
        log.warning(
            "%d demo worker(s) are off shift now, so their positions will not be kept: "
            "run `python -m data seed-demo` to give them the demo's all-day shift",
            off_shift,
        )
    travel = make_travel_times(settings.osrm_dir)
    log.info("road times: %s", type(travel).__name__)
    _wait_for_server(base_url)
    clock = ScaledClock(SystemClock(), SystemClock().now(), speed or settings.sim_speed)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    run(base_url=base_url, workers=workers, destinations=destinations, travel=travel, clock=clock,
        seed=settings.seed, stop=stop, stamp=clock.to_base)  # fmt: skip
    return 0


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
