"""Simulated field staff for the demo: workers driving real roads between sites and working on site.

Pure step logic: time comes in as `now` arguments and randomness from the `rng` given, so the same
seed and the same times always give the same reports. Sending the reports is `realtime/sim_main.py`'s job;
deciding where a worker with work orders goes is `realtime/sim_field.py`'s, and `realtime/sim_staff.py`
steers them with `Simulator.go_to` and lets them drive around again with `Simulator.wander`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

from dispatch.geo import EARTH_RADIUS_M, LatLon, haversine_m
from dispatch.road_path import RoadRoute
from dispatch.traffic import Traffic
from realtime.sim_roads import Roads, Route

FALLBACK_SPEED_MPS = 8.0
"""Speed of the straight line driven when the road network finds no route."""

DWELL_JITTER_M = 3.0
"""Standard deviation of the GPS scatter while a worker stands still on site."""

_MAX_JITTER_M = 10.0

MIN_TRIP_M = 50.0
"""Destinations closer than this to where a worker stands are not picked as its next trip."""

_UNTIL_RELEASED = datetime.max.replace(tzinfo=UTC)
"""The end of a stay at a site a worker was sent to: they stay until `wander` or the next `go_to`."""


@dataclass(frozen=True, slots=True)
class SimWorker:
    """A simulated worker's phone: the device id it reports as and where its day starts."""

    device_id: str
    home: LatLon


@dataclass(frozen=True, slots=True)
class Report:
    """One location report as a phone would send it (Traccar Client / OsmAnd fields), aware UTC time."""

    device_id: str
    fix_time: datetime
    latitude: float
    longitude: float
    speed_mps: float
    bearing_deg: float
    accuracy_m: float
    battery_pct: float
    alarm: str = ""  # "sos" when the phone's alarm button was pressed (Traccar Client's `alarm=sos`)


DEMO_LOW_BATTERY_PCT = 17.0
"""Where the demo's low-battery phone starts: it drains below the 15 % alert within the first half hour."""


class _Phase(Enum):
    DWELL = "dwell"
    DRIVE = "drive"


@dataclass(slots=True)
class _WorkerState:
    """The mutable state of one simulated worker; private to the simulator."""

    worker: SimWorker
    rng: random.Random
    next_report_at: datetime
    battery_start_pct: float
    battery_drain_pct_per_h: float
    phase: _Phase
    phase_start: datetime
    phase_end: datetime
    site: LatLon
    route: Route | None = None
    destination: LatLon | None = None
    bearing_deg: float = 0.0
    slowdown: float = 1.0
    """The current drive's time over its road route's (`Traffic` at the hour it set off)."""
    sent: bool = False
    """Driving to (or standing at) a place given by `go_to`, rather than one picked at random."""


class Simulator:
    """Moves `workers` between `destinations` over the roads of `travel` (`sim_roads.Roads`), starting at `start`.

    Each worker waits at home for a random while (so workers do not move in lockstep), then cycles:
    pick a random destination, drive the road route there (a straight line at 8 m/s when there is
    no route), stay at the destination itself (not the road point the route ends at) for a random
    time within `dwell_s` (seconds), reporting speed 0 with a few metres of GPS scatter, and go on.
    Every worker reports every `report_interval_s` seconds of simulated time, at its own offset.

    Each worker draws from its own generator, seeded from `rng` at construction, so the reports do
    not depend on how the calls to `step` divide up the time.

    `go_to` sends one worker somewhere (a work order's site): they drive there from wherever they
    are and stay, working, until `wander` lets them pick random destinations again.

    With `traffic`, a drive takes its road route's time times the slowdown of the hour it sets off in, along the
    same roads (its fixes spread over the longer time, its speeds lower); without, the route's time.
    """

    def __init__(
        self,
        workers: Sequence[SimWorker],
        destinations: Sequence[LatLon],
        travel: Roads,
        rng: random.Random,
        start: datetime,
        report_interval_s: float = 5.0,
        dwell_s: tuple[float, float] = (300, 900),
        sos: tuple[str, float] | None = None,
        low_battery_device: str | None = None,
        traffic: Traffic | None = None,
    ) -> None:
        """`sos` = (device id, seconds after `start`): that phone sends one SOS alarm then (the demo's alerts);
        `low_battery_device` starts at `DEMO_LOW_BATTERY_PCT`."""
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if not destinations:
            raise ValueError("destinations is empty: workers need somewhere to go")
        if not (math.isfinite(report_interval_s) and report_interval_s > 0):
            raise ValueError(f"report_interval_s {report_interval_s!r} must be > 0")
        if not (0 <= dwell_s[0] <= dwell_s[1]):
            raise ValueError(f"dwell_s {dwell_s!r} must be (low, high) with 0 <= low <= high")
        ids = [w.device_id for w in workers]
        if len(set(ids)) != len(ids):
            raise ValueError("device_id values of workers must be unique")
        self._destinations = tuple(destinations)
        self._travel = travel
        self._interval = timedelta(seconds=report_interval_s)
        self._dwell_s = dwell_s
        self._traffic = traffic
        self._now = start
        self._sos = sos
        self._sos_sent = False
        self._states: list[_WorkerState] = []
        for worker in workers:
            wrng = random.Random(rng.getrandbits(64))
            first_report = start + self._interval * wrng.random()
            head_start_s = wrng.uniform(0.0, dwell_s[1])
            self._states.append(
                _WorkerState(
                    worker=worker,
                    rng=wrng,
                    next_report_at=first_report,
                    battery_start_pct=(
                        DEMO_LOW_BATTERY_PCT if worker.device_id == low_battery_device else wrng.uniform(60.0, 100.0)
                    ),
                    battery_drain_pct_per_h=wrng.uniform(3.0, 8.0),
                    phase=_Phase.DWELL,
                    phase_start=start,
                    phase_end=start + timedelta(seconds=head_start_s),
                    site=worker.home,
                )
            )
        self._start = start

    @property
    def now(self) -> datetime:
        """The simulated time the last `step` reached (`start` before the first)."""
        return self._now

    def step(self, now: datetime) -> list[Report]:
        """All reports due after the previous step, up to and including `now`, oldest first.

        A `now` earlier than the previous one yields no reports (simulated time does not go back).
        """
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        if now > self._now:
            self._now = now
        due: list[Report] = []
        for state in self._states:
            while state.next_report_at <= now:
                due.append(self._report(state, state.next_report_at))
                state.next_report_at += self._interval
        due.sort(key=lambda r: r.fix_time)
        return due

    def go_to(self, device_id: str, destination: LatLon, at: datetime) -> None:
        """Send the worker from where they are at `at` (mid-drive too) to `destination` by road.

        They stay at `destination` itself from their arrival on, reporting speed 0, until the next
        `go_to` or `wander`. Call it with the `now` of the last `step`.
        """
        state = self._state_of(device_id)
        at = max(at, state.phase_start)
        self._advance(state, at)
        here = self._point(state, at)
        self._start_drive(state, at, origin=here, destination=destination)
        state.sent = True

    def wander(self, device_id: str, at: datetime) -> None:
        """Let a worker sent somewhere with `go_to` pick random destinations again, starting at `at`.

        A worker still driving to where they were sent gets there first; one standing there sets off
        at once. A worker already wandering is left as they are.
        """
        state = self._state_of(device_id)
        if not state.sent:
            return
        at = max(at, state.phase_start)
        self._advance(state, at)
        state.sent = False
        if state.phase is _Phase.DWELL:
            state.phase_end = at

    def _state_of(self, device_id: str) -> _WorkerState:
        for state in self._states:
            if state.worker.device_id == device_id:
                return state
        raise ValueError(f"device_id: no simulated worker {device_id!r}")

    def _point(self, state: _WorkerState, at: datetime) -> LatLon:
        """Where the worker is at `at` (the phase containing `at` already reached), without GPS error."""
        if state.phase is _Phase.DRIVE and state.route is not None:
            return state.route.position_at((at - state.phase_start).total_seconds() / state.slowdown)[0]
        return state.site

    def _report(self, state: _WorkerState, at: datetime) -> Report:
        self._advance(state, at)
        rng = state.rng
        if state.phase is _Phase.DRIVE and state.route is not None:
            elapsed_s = (at - state.phase_start).total_seconds()
            point, bearing, road_speed_mps = state.route.position_at(elapsed_s / state.slowdown)
            speed_mps = road_speed_mps / state.slowdown
            state.bearing_deg = bearing
        else:
            point, speed_mps = _jitter(state.site, rng), 0.0
        hours = (at - self._start).total_seconds() / 3600.0
        battery = max(5.0, state.battery_start_pct - state.battery_drain_pct_per_h * hours)
        return Report(
            device_id=state.worker.device_id,
            fix_time=at,
            latitude=round(point.lat, 6),
            longitude=round(point.lon, 6),
            speed_mps=round(speed_mps, 2),
            bearing_deg=round(state.bearing_deg, 1),
            accuracy_m=round(rng.uniform(3.0, 15.0), 1),
            battery_pct=round(battery, 1),
            alarm=self._alarm(state, at),
        )

    def _alarm(self, state: _WorkerState, at: datetime) -> str:
        if self._sos is None or self._sos_sent or state.worker.device_id != self._sos[0]:
            return ""
        if (at - self._start).total_seconds() < self._sos[1]:
            return ""
        self._sos_sent = True
        return "sos"

    def _advance(self, state: _WorkerState, at: datetime) -> None:
        """Run the worker's dwell/drive cycle forward until the phase that contains `at`."""
        while state.phase_end <= at:
            if state.phase is _Phase.DWELL:
                self._start_drive(state, state.phase_end)
            else:
                # The car is parked where the road route ends; the worker works at the address itself.
                assert state.destination is not None
                state.site = state.destination
                state.phase = _Phase.DWELL
                state.phase_start = state.phase_end
                if state.sent:
                    state.phase_end = _UNTIL_RELEASED
                else:
                    state.phase_end = state.phase_start + timedelta(seconds=state.rng.uniform(*self._dwell_s))

    def _start_drive(
        self, state: _WorkerState, at: datetime, *, origin: LatLon | None = None, destination: LatLon | None = None
    ) -> None:
        """Drive from `origin` (default: the site the worker stands at) to `destination` (default: a random one)."""
        origin = origin or state.site
        if destination is None:
            destination = self._destinations[_pick(state.rng, self._destinations, origin)]
        route: Route | None = self._travel.route(origin, destination)
        if route is None:
            distance_m = haversine_m(origin, destination)
            route = RoadRoute(
                points=(origin, destination), duration_s=distance_m / FALLBACK_SPEED_MPS, distance_m=distance_m
            )
        state.route = route
        state.destination = destination
        state.slowdown = self._traffic.slowdown_at(at) if self._traffic is not None else 1.0
        state.phase = _Phase.DRIVE
        state.phase_start = at
        # A zero-length drive still ends after a moment, so the cycle always moves time forward.
        state.phase_end = at + timedelta(seconds=max(route.duration_s * state.slowdown, 1.0))


def _pick(rng: random.Random, destinations: Sequence[LatLon], here: LatLon) -> int:
    """The index of a random destination more than MIN_TRIP_M away from `here` (any one if none is)."""
    away = [i for i, d in enumerate(destinations) if haversine_m(here, d) > MIN_TRIP_M]
    return rng.choice(away) if away else rng.randrange(len(destinations))


def _jitter(point: LatLon, rng: random.Random) -> LatLon:
    """`point` moved by a small random GPS error (Gaussian, capped at _MAX_JITTER_M per axis)."""
    north_m = max(-_MAX_JITTER_M, min(_MAX_JITTER_M, rng.gauss(0.0, DWELL_JITTER_M)))
    east_m = max(-_MAX_JITTER_M, min(_MAX_JITTER_M, rng.gauss(0.0, DWELL_JITTER_M)))
    dlat = math.degrees(north_m / EARTH_RADIUS_M)
    dlon = math.degrees(east_m / (EARTH_RADIUS_M * max(0.01, math.cos(math.radians(point.lat)))))
    return LatLon(max(-90.0, min(90.0, point.lat + dlat)), ((point.lon + dlon + 180.0) % 360.0) - 180.0)
