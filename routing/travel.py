"""Travel times and road routes between points: one protocol, a straight-line estimate and OSRM roads.

Everything here is in seconds and metres. `None` means "no route" (a point off the road network, or
two points on unconnected pieces of it): an expected outcome that callers handle, never an exception.
"""

from __future__ import annotations

import atexit
import logging
import math
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from dispatch.geo import LatLon, haversine_m
from dispatch.road_path import RoadRoute

log = logging.getLogger(__name__)

NETWORK_NAME = "monaco"
"""Base name of the built road network: `<osrm_dir>/monaco.osrm.*`."""

OSRM_REQUIRED_SUFFIXES = (".fileIndex", ".properties", ".partition", ".cells", ".mldgr", ".cell_metrics")
"""Files an MLD network needs; `.cell_metrics` and `.mldgr` are written last (by customize)."""


class TravelTimes(Protocol):
    """How long it takes to drive between points, and along which roads."""

    def duration_s(self, a: LatLon, b: LatLon) -> float | None:
        """Seconds to drive from a to b, or None when there is no route."""
        ...

    def table(self, points: Sequence[LatLon]) -> list[list[float | None]]:
        """Seconds between every pair: `table[i][j]` is from points[i] to points[j] (None = no route)."""
        ...

    def route(self, a: LatLon, b: LatLon) -> RoadRoute | None:
        """The road path from a to b, or None when there is no route."""
        ...


@dataclass(frozen=True, slots=True)
class StraightLine:
    """Travel estimated as the crow flies: haversine × `detour_factor` ÷ `speed_mps`.

    Always finds a route, and is symmetric. The estimate used when no road network is built.
    """

    speed_mps: float = 8.0
    detour_factor: float = 1.3

    def __post_init__(self) -> None:
        if not (math.isfinite(self.speed_mps) and self.speed_mps > 0):
            raise ValueError(f"speed_mps {self.speed_mps!r} must be > 0")
        if not (math.isfinite(self.detour_factor) and self.detour_factor >= 1):
            raise ValueError(f"detour_factor {self.detour_factor!r} must be >= 1")

    def distance_m(self, a: LatLon, b: LatLon) -> float:
        """Estimated road distance: the great-circle distance stretched by the detour factor."""
        return haversine_m(a, b) * self.detour_factor

    def duration_s(self, a: LatLon, b: LatLon) -> float:
        return self.distance_m(a, b) / self.speed_mps

    def table(self, points: Sequence[LatLon]) -> list[list[float | None]]:
        return [[self.duration_s(a, b) for b in points] for a in points]

    def durations_to(self, origins: Sequence[LatLon], destination: LatLon) -> list[float | None]:
        """Seconds from each origin to one destination, as `duration_s` gives them one at a time."""
        return [self.duration_s(a, destination) for a in origins]

    def distance_table_m(self, points: Sequence[LatLon]) -> list[list[float | None]]:
        """Estimated road metres between every pair, laid out like `table`."""
        return [[self.distance_m(a, b) for b in points] for a in points]

    def route(self, a: LatLon, b: LatLon) -> RoadRoute:
        """A two-point line from a to b, with the estimated road distance and duration."""
        return RoadRoute(
            points=(a, b), duration_s=self.duration_s(a, b), distance_m=self.distance_m(a, b), on_roads=False
        )


class OsrmRoads:
    """Road travel times from a built OSRM network (MLD), queried in-process — no server, no port.

    `osrm_path` is the network's base path, e.g. `var/osrm/monaco.osrm` (files `monaco.osrm.*`).
    OSRM snaps every coordinate to the nearest road however far it is, so a point more than
    `max_snap_m` from any road counts as having no route (None) instead of a route from elsewhere.
    Raises RuntimeError when the network cannot be loaded (missing, partial or corrupt files).
    """

    def __init__(self, osrm_path: Path, *, max_snap_m: float = 1_000.0) -> None:
        import osrm  # the compiled engine is only needed when a network is used

        if not max_snap_m > 0:
            raise ValueError(f"max_snap_m {max_snap_m!r} must be > 0")
        self._osrm: Any = osrm
        self.osrm_path = Path(osrm_path)
        self.max_snap_m = max_snap_m
        # The engine's thread safety is not documented for these bindings; one query at a time.
        self._lock = threading.Lock()
        self._engine: Any = osrm.OSRM(algorithm="MLD", storage_config=str(self.osrm_path), use_shared_memory=False)
        _OPEN.add(self)

    def close(self) -> None:
        """Free the engine (and the network it holds in memory); queries afterwards raise RuntimeError."""
        with self._lock:
            self._engine = _Closed()

    def duration_s(self, a: LatLon, b: LatLon) -> float | None:
        return self.table([a, b])[0][1]

    def table(self, points: Sequence[LatLon]) -> list[list[float | None]]:
        return self._tables(points)[0]

    def distance_table_m(self, points: Sequence[LatLon]) -> list[list[float | None]]:
        """Road metres between every pair, laid out like `table` (None = no route)."""
        return self._tables(points)[1]

    def durations_to(self, origins: Sequence[LatLon], destination: LatLon) -> list[float | None]:
        """Seconds from each origin to one destination (None = no route), in one many-to-one query.

        The same answers as `duration_s` for each pair, at a fraction of the cost: ranking 500 workers
        for an order asks once instead of 500 times.
        """
        if not origins:
            return []
        params = self._osrm.TableParameters(
            coordinates=[*(_lonlat(p) for p in origins), _lonlat(destination)],
            sources=list(range(len(origins))),
            destinations=[len(origins)],
            annotations=["duration"],
        )
        try:
            with self._lock:
                result = self._engine.Table(params)
        except RuntimeError as e:
            if _is_no_route(e):
                return [None] * len(origins)
            raise
        if float(result["destinations"][0]["distance"]) > self.max_snap_m:
            return [None] * len(origins)
        out: list[float | None] = []
        for source, row in zip(result["sources"], result["durations"], strict=True):
            value = row[0]
            if value is None or float(source["distance"]) > self.max_snap_m:
                out.append(None)
            else:
                out.append(max(0.0, float(value)))
        return out

    def route(self, a: LatLon, b: LatLon) -> RoadRoute | None:
        params = self._osrm.RouteParameters(
            coordinates=[_lonlat(a), _lonlat(b)], geometries="geojson", overview="full", steps=False
        )
        try:
            with self._lock:
                result = self._engine.Route(params)
        except RuntimeError as e:
            if _is_no_route(e):
                return None
            raise
        if result["code"] != "Ok" or len(result["routes"]) == 0:
            return None
        if any(float(w["distance"]) > self.max_snap_m for w in result["waypoints"]):
            return None
        best = result["routes"][0]
        points = tuple(LatLon(float(c[1]), float(c[0])) for c in best["geometry"]["coordinates"])
        if len(points) == 1:
            points = points * 2
        route = RoadRoute(points=points, duration_s=float(best["duration"]), distance_m=float(best["distance"]))
        return _with_plausible_distance(route)

    def _tables(self, points: Sequence[LatLon]) -> tuple[list[list[float | None]], list[list[float | None]]]:
        n = len(points)
        if n == 0:
            return [], []
        if n == 1:
            return [[0.0]], [[0.0]]
        params = self._osrm.TableParameters(
            coordinates=[_lonlat(p) for p in points], annotations=["duration", "distance"]
        )
        try:
            with self._lock:
                result = self._engine.Table(params)
        except RuntimeError as e:
            if _is_no_route(e):
                nothing: list[list[float | None]] = [[0.0 if i == j else None for j in range(n)] for i in range(n)]
                return nothing, [row[:] for row in nothing]
            raise
        off_road = [float(s["distance"]) > self.max_snap_m for s in result["sources"]]
        durations = _matrix(result["durations"], off_road)
        distances = _matrix(result["distances"], off_road)
        return durations, distances


def _with_plausible_distance(route: RoadRoute) -> RoadRoute:
    """`route` with the engine's distance, or with its own geometry's length where the engine's distance cannot be
    that route's: more than twice or under half the length of the road drawn (and 100 m apart).

    Twice in about ten full test runs a route's distance came back ~8 times its geometry's (23.7 km for a
    3 km drive in Monaco, at a plausible duration). The cause was a network built on two threads
    (`routing.roads.BUILD_THREADS`), which now builds on one; a network built before may still have it. The
    geometry is what the vehicle drives, so its length stands in, and the anomaly is logged (without the route's
    points).
    """
    length_m, engine_m = route.length_m, route.distance_m
    if abs(engine_m - length_m) <= 100.0 or length_m / 2 <= engine_m <= length_m * 2:
        return route
    log.warning(
        "OSRM gave a route's distance as %.0f m for %.0f m of geometry; using the geometry's", engine_m, length_m
    )
    return replace(route, distance_m=length_m)


def _matrix(raw: Any, off_road: list[bool]) -> list[list[float | None]]:
    n = len(off_road)
    out: list[list[float | None]] = []
    for i in range(n):
        row: list[float | None] = []
        for j in range(n):
            value = raw[i][j]
            if i == j:
                row.append(0.0)
            elif value is None or off_road[i] or off_road[j]:
                row.append(None)
            else:
                # OSRM's table can answer a few negative metres/seconds between two points snapped to
                # one road segment (the second behind the first): they are next to each other, i.e. 0.
                row.append(max(0.0, float(value)))
        out.append(row)
    return out


def _lonlat(p: LatLon) -> tuple[float, float]:
    """OSRM takes (longitude, latitude), the GeoJSON order."""
    return (p.lon, p.lat)


def _is_no_route(error: RuntimeError) -> bool:
    """OSRM reports an unroutable request as RuntimeError('NoRoute - ...') or ('NoSegment - ...')."""
    return str(error).startswith(("NoRoute", "NoSegment"))


def osrm_files_present(osrm_dir: Path, name: str = NETWORK_NAME) -> bool:
    """Whether `osrm_dir` holds a complete-looking MLD network called `name` (non-empty files)."""
    base = Path(osrm_dir) / f"{name}.osrm"
    for suffix in OSRM_REQUIRED_SUFFIXES:
        path = base.with_name(base.name + suffix)
        if not path.is_file() or path.stat().st_size == 0:
            return False
    return True


def make_travel_times(osrm_dir: Path) -> TravelTimes:
    """Road travel times when `osrm_dir/monaco.osrm.*` is built and loads; otherwise straight lines.

    Logs which one was chosen and why, so a demo without the road network is not a silent surprise.
    """
    osrm_dir = Path(osrm_dir)
    if not osrm_files_present(osrm_dir):
        log.warning(
            "no road network in %s; using straight-line travel times (run: python -m routing build-roads)", osrm_dir
        )
        return StraightLine()
    try:
        roads = OsrmRoads(osrm_dir / f"{NETWORK_NAME}.osrm")
    except (RuntimeError, ImportError) as e:
        log.warning("road network in %s did not load (%s); using straight-line travel times", osrm_dir, e)
        return StraightLine()
    log.info("road travel times from %s", roads.osrm_path)
    return roads


class _Closed:
    """What a closed `OsrmRoads` queries: nothing."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("the road network was closed")


_OPEN: weakref.WeakSet[OsrmRoads] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """Free every engine still open before the interpreter shuts down. An engine kept alive past it (by a daemon
    thread's frame, as in the web workers) made nanobind report it as leaked, 27 types and 180 functions with it,
    in the log of every stop."""
    for roads in list(_OPEN):
        roads.close()
