"""The demo simulator's calls to the office API, over HTTP with the bearer token it was given.

What it needs of the office, it asks as any client of the public API would: the demo's workers
(`GET /api/v1/workers`), the sites (`GET /api/v1/sites`), the work orders (`GET /api/v1/work-orders`),
the office's time zone (`/i18n/catalogue.json`), the road path between two points
(`GET /api/v1/roads/route`), and at its exit the end of its own token (`DELETE /api/v1/tokens/current`).
It never reads the database and never loads the road network. Reading the answers into the demo's
world is pure (`demo_world`); failures are `Failure` values. Coordinates are never logged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import Any

import requests

from dispatch import localtime
from dispatch.geo import LatLon
from dispatch.orders import OrderStatus
from dispatch.road_path import RoadRoute
from dispatch.workers import Worker, keeps_location, parse_shift
from realtime.sim_staff import Failure, call_api
from realtime.simulator import SimWorker

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 10.0
DEMO_PREFIX = "demo-"
"""The device ids of the demo's phones: the simulator drives these workers only."""


@dataclass(frozen=True, slots=True)
class DemoWorld:
    """What the simulator starts from: its phones, where they may drive, and who is who.

    `workers` start at their home base, or at the site of the order they are on site at (a day in progress);
    `worker_ids` maps device ids to worker ids (for their push links); `calendars` are the workers
    themselves, to judge whether a phone is on (`on_duty`); `destinations` are the sites of the orders.
    """

    workers: tuple[SimWorker, ...]
    worker_ids: Mapping[str, int]
    calendars: Mapping[str, Worker]
    destinations: tuple[LatLon, ...]
    orders_today: int
    zone: tzinfo = UTC
    """The office's time zone: the one the demo's shifts and rush hours are read in."""

    def on_duty(self, device_id: str, at: datetime) -> bool:
        """Whether that phone sends at `at`: only on shift (± the grace the server keeps fixes in), as a real one."""
        return keeps_location(self.calendars[device_id], at)

    def on_shift(self, device_id: str, at: datetime) -> bool:
        """Whether that worker's shift holds `at` (without the grace): when they are clocked in."""
        return self.calendars[device_id].on_shift(at)


def demo_world(workers: Any, sites: Any, orders: Any, *, zone: tzinfo, today_at: datetime) -> DemoWorld:
    """The demo's world from the API's answers (workers, sites, work orders) in the office's `zone`.

    Shifts are read on the office's clock (the API gives a worker's shifts, not their own zone; the demo's
    workers all work on it). ValueError naming the answer and field when one is not as documented.
    """
    try:
        places = {int(s["id"]): _point(s["location"]) for s in sites}
    except (TypeError, KeyError, ValueError) as exc:
        raise ValueError(f"sites: {type(exc).__name__} {exc}") from None
    try:
        calendars = {
            w["device_id"]: Worker(
                id=int(w["id"]),
                name=str(w["name"]),
                device_id=str(w["device_id"]),
                home_base=_point(w["home_base"]),
                shifts=tuple(replace(parse_shift(s), zone=zone) for s in w["shifts"]),
                active=bool(w["active"]),
            )  # fmt: skip
            for w in workers
            if str(w["device_id"]).startswith(DEMO_PREFIX) and w["home_base"] is not None and w["active"]
        }
        on_site: dict[int, LatLon] = {}
        order_sites: set[int] = set()
        today = 0
        day = localtime.local_day(today_at, zone)
        for o in orders:
            order_sites.add(int(o["site_id"]))
            if o["status"] == OrderStatus.ON_SITE.value and o["assigned_worker_id"] is not None:
                on_site[int(o["assigned_worker_id"])] = places[int(o["site_id"])]
            start, end = datetime.fromisoformat(o["window_start"]), datetime.fromisoformat(o["window_end"])
            today += localtime.spans_day(start, end, day, zone)
    except (TypeError, KeyError, ValueError) as exc:
        raise ValueError(f"workers or work-orders: {type(exc).__name__} {exc}") from None
    demo = sorted(calendars.values(), key=lambda w: w.device_id)
    return DemoWorld(
        workers=tuple(SimWorker(w.device_id, on_site.get(w.id, w.home_base or LatLon(0, 0))) for w in demo),
        worker_ids={w.device_id: w.id for w in demo},
        calendars=calendars,
        destinations=tuple(places[i] for i in sorted(order_sites) if i in places),
        orders_today=today,
        zone=zone,
    )


def _point(raw: Any) -> LatLon:
    return LatLon(float(raw["lat"]), float(raw["lon"]))


class OfficeApi:
    """The office API as the simulator's user (`Authorization: Bearer <token>`)."""

    def __init__(self, session: requests.Session, base_url: str, api_token: str) -> None:
        self._http = session
        self._base = base_url.rstrip("/")
        self._auth = {"Authorization": f"Bearer {api_token}"}

    @property
    def base_url(self) -> str:
        return self._base

    def world(self, now: datetime) -> DemoWorld | Failure:
        """The demo's world as the API shows it now (see `demo_world`)."""
        answers: list[Any] = []
        for path in ("/i18n/catalogue.json", "/api/v1/workers", "/api/v1/sites", "/api/v1/work-orders"):
            answer = self._call("get", path)
            if isinstance(answer, Failure):
                return Failure(answer.status, f"{path}: {answer.reason}")
            answers.append(answer)
        catalogue, workers, sites, orders = answers
        try:
            zone = localtime.zone(str(catalogue.get("timezone") if isinstance(catalogue, dict) else None))
            return demo_world(workers, sites, orders, zone=zone, today_at=now)
        except ValueError as exc:
            return Failure(None, f"unreadable answer: {exc}")

    def revoke_token(self) -> Failure | None:
        """End the token this client was given (`DELETE /api/v1/tokens/current`); None when it was ended."""
        answer = self._call("delete", "/api/v1/tokens/current")
        return answer if isinstance(answer, Failure) else None

    def route(self, a: LatLon, b: LatLon) -> RoadRoute | Failure:
        """The server's road path from a to b (`GET /api/v1/roads/route`)."""
        params = {"from_lat": a.lat, "from_lon": a.lon, "to_lat": b.lat, "to_lon": b.lon}
        answer = self._call("get", "/api/v1/roads/route", params=params)
        if isinstance(answer, Failure):
            return answer
        try:
            return RoadRoute(
                points=tuple(LatLon(float(lat), float(lon)) for lat, lon in answer["points"]),
                duration_s=float(answer["duration_s"]),
                distance_m=float(answer["distance_m"]),
            )
        except (TypeError, KeyError, ValueError) as exc:
            return Failure(None, f"unreadable road route: {type(exc).__name__} {exc}")

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return call_api(self._http, method, self._base + path, headers=self._auth, **kwargs)


class HttpRoads:
    """`sim_roads.Roads` over the API: each path asked once and kept (the demo drives between a few hundred
    sites). No path (none on the network, or the server did not answer) is None: the simulator then drives
    a straight line; only the server's "no route" is kept, a failure to answer is asked again next time."""

    def __init__(self, route: Callable[[LatLon, LatLon], RoadRoute | Failure], *, max_paths: int = 20_000) -> None:
        self._route = route
        self._max_paths = max_paths
        self._paths: dict[tuple[LatLon, LatLon], RoadRoute | None] = {}
        self._lock = threading.Lock()
        self._warned = False
        self.asked = 0
        """How many paths were asked of the server (the rest came from memory)."""

    def route(self, a: LatLon, b: LatLon) -> RoadRoute | None:
        with self._lock:
            if (a, b) in self._paths:
                return self._paths[(a, b)]
        self.asked += 1
        path = self._route(a, b)
        if isinstance(path, Failure):
            if path.status != 404:
                if not self._warned:
                    log.warning("road routes: %s %s; driving straight lines meanwhile", path.status, path.reason)
                    self._warned = True
                return None
            path_or_none: RoadRoute | None = None
        else:
            path_or_none = path
        with self._lock:
            if len(self._paths) >= self._max_paths:
                self._paths.pop(next(iter(self._paths)))
            self._paths[(a, b)] = path_or_none
        return path_or_none
