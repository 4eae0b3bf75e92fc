"""`python -m realtime simulate`: the demo's field staff, driving Monaco's streets, a client of the public HTTP API only.

Wiring only. Everything comes from the server over HTTP with the API token the simulator is given
(`OUTFIELD_SIM_TOKEN_FILE`, a file holding it, or `OUTFIELD_SIM_TOKEN`; `./run demo` makes one with
`python -m data create-token --name simulator --replace --out var/simulator.token`): the registered
workers whose device ids start with the demo prefix, the sites of the work orders, and the road paths
between them (`realtime.sim_api`); movement comes from `realtime.simulator`, with the demo town's rush hours
(`DEMO_RUSH_HOURS`, on the office's clock); every report goes through the real `/osmand` endpoint, as a phone's would. The workers work the orders assigned to them today
through the push-link field API (`realtime.sim_staff`), with links issued to the token's user. At exit
the simulator ends its token (`DELETE /api/v1/tokens/current`). It imports neither `data` nor `routing`
(an import-linter contract in pyproject.toml says so).
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from dispatch.clock import ScaledClock, SystemClock
from dispatch.traffic import DEMO_RUSH_HOURS, Traffic
from realtime.sim_api import DEMO_PREFIX, DemoWorld, HttpRoads, OfficeApi
from realtime.sim_main import run
from realtime.sim_staff import Failure, FieldApi, StaffOptions

log = logging.getLogger("outfield.simulator")
BASE_REPORT_INTERVAL_S = 5.0
"""Simulated seconds between a worker's reports at speed 1; sped up, at most one a real second each."""
SERVER_WAIT_S = 1.0
"""Real seconds between two tries to read the demo while the server is starting."""
DAY_READ_REAL_S = 20.0
"""Real seconds between two reads of one worker's day: 30 workers make 1.5 light requests a second."""
NO_TOKEN = (
    "no API token: give the simulator one in a file (OUTFIELD_SIM_TOKEN_FILE=PATH, mode 0600) or in "
    "OUTFIELD_SIM_TOKEN; `python -m data create-token --name simulator --out PATH` makes one (`./run demo` does)"
)


@dataclass(frozen=True, slots=True)
class SimConfig:
    """The simulator's own settings, read from its environment (it shares no settings code with the server)."""

    base_url: str
    api_token: str
    speed: float
    seed: int


def config_from_env(environ: Mapping[str, str], *, url: str | None, speed: float | None) -> SimConfig | str:
    """The settings, or the reason the simulator cannot start (no token, an unreadable token file, a bad number)."""
    token = environ.get("OUTFIELD_SIM_TOKEN", "").strip()
    path = environ.get("OUTFIELD_SIM_TOKEN_FILE", "").strip()
    if not token and path:
        try:
            token = Path(path).read_text().strip()
        except OSError as exc:
            return f"OUTFIELD_SIM_TOKEN_FILE: cannot read {path}: {exc.strerror}"
        if not token:
            return f"OUTFIELD_SIM_TOKEN_FILE: {path} is empty; {NO_TOKEN}"
    if not token:
        return NO_TOKEN
    try:
        port = int(environ.get("PORT", "8050"))
        sim_speed = speed or float(environ.get("OUTFIELD_SIM_SPEED", "1"))
        seed = int(environ.get("OUTFIELD_SEED", "0"))
    except ValueError as exc:
        return f"PORT, OUTFIELD_SIM_SPEED or OUTFIELD_SEED: {exc}"
    if not sim_speed > 0:
        return f"OUTFIELD_SIM_SPEED: {sim_speed!r} must be > 0"
    return SimConfig(base_url=url or f"http://127.0.0.1:{port}", api_token=token, speed=sim_speed, seed=seed)


def main(*, url: str | None, speed: float | None) -> int:
    """`python -m realtime simulate`: 2 when it cannot start (said in one line), 1 when the server has no demo."""
    config = config_from_env(os.environ, url=url, speed=speed)
    if isinstance(config, str):
        log.error("python -m realtime simulate: refusing to start: %s", config)
        return 2
    return simulate(config)


def simulate(config: SimConfig) -> int:
    base_url, speed = config.base_url, config.speed
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    http = requests.Session()
    office = OfficeApi(http, base_url, config.api_token)
    world = _read_world(office, stop)
    try:
        if world is None:
            return 0
        if isinstance(world, Failure):
            if world.status in (401, 403):
                log.error("python -m realtime simulate: the server refused the API token (%d %s); %s",
                          world.status, world.reason, NO_TOKEN)  # fmt: skip
                return 2
            log.error("could not read the demo from the server: %s %s", world.status, world.reason)
            return 1
        if not world.workers or not world.destinations:
            log.error("no demo workers or order sites on the server: run `python -m data seed-demo` first")
            return 1
        _say_what_is_quiet(world)
        clock = ScaledClock(SystemClock(), SystemClock().now(), speed)
        staff = StaffOptions(
            api=FieldApi(http, base_url, config.api_token),
            worker_ids=world.worker_ids,
            poll_s=DAY_READ_REAL_S * speed,
            new_id=action_ids(uuid.uuid4().hex[:12]),
            on_shift=world.on_shift,
        )
        run(base_url=base_url, workers=list(world.workers), destinations=world.destinations,
            travel=HttpRoads(office.route), clock=clock, seed=config.seed, stop=stop, stamp=clock.to_base,
            session=http, report_interval_s=max(BASE_REPORT_INTERVAL_S, speed), staff=staff, on_duty=world.on_duty,
            traffic=Traffic(DEMO_RUSH_HOURS, zone=world.zone),
            **demo_alerts([w.device_id for w in world.workers]))  # fmt: skip
    finally:
        if not (isinstance(world, Failure) and world.status in (401, 403)):
            _end_token(office)
        http.close()
    return 0


def _read_world(office: OfficeApi, stop: threading.Event) -> DemoWorld | Failure | None:
    """The demo as the server shows it, waiting while the server is not up yet (no answer, or a 5xx);
    None when stopped meanwhile. Any other failure is the answer."""
    said = False
    while True:
        world = office.world(SystemClock().now())
        if not isinstance(world, Failure) or (world.status is not None and world.status < 500):
            return world
        if not said:
            log.info("waiting for the server at %s (%s %s)", office.base_url, world.status, world.reason)
            said = True
        if stop.wait(SERVER_WAIT_S):
            return None


def _end_token(office: OfficeApi) -> None:
    failure = office.revoke_token()
    if failure is None:
        log.info("the simulator's API token is ended")
    else:
        log.warning("could not end the simulator's API token (%s %s): `python -m data create-token --name "
                    "simulator --replace` ends it when making the next one", failure.status, failure.reason)  # fmt: skip


def _say_what_is_quiet(world: DemoWorld) -> None:
    now = SystemClock().now()
    off_shift = sum(1 for w in world.workers if not world.on_duty(w.device_id, now))
    if off_shift:
        log.info("%d of %d demo worker(s) are off shift now: their phones stay silent until their shift",
                 off_shift, len(world.workers))  # fmt: skip
    if not world.orders_today:
        log.info("no work orders today: the simulated staff work only today's orders; "
                 "`python -m data seed-demo` adds today's demo orders")  # fmt: skip
    log.info("simulating the %d workers whose device ids start with %r", len(world.workers), DEMO_PREFIX)


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
