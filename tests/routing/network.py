"""The Monaco road network and places in it, shared by the routing and simulator tests."""

from __future__ import annotations

import math
from pathlib import Path

from dispatch.geo import EARTH_RADIUS_M, LatLon
from routing.roads import DEFAULT_PBF, RoadsBuildFailed, build_roads
from routing.travel import NETWORK_NAME

# Monaco points of interest that lie within a few metres of a road (OpenStreetMap, ODbL).
POST_OFFICE_CONDAMINE = LatLon(43.7341910, 7.4183665)
THEATRE_PRINCESSE_GRACE = LatLon(43.7375749, 7.4261692)
CRUISE_TERMINAL = LatLon(43.7353294, 7.4306094)
POUND_FONTVIEILLE = LatLon(43.7267081, 7.4169089)
PHARMACY_DES_ANGLAIS = LatLon(43.7456537, 7.4296640)
SITES = (POST_OFFICE_CONDAMINE, THEATRE_PRINCESSE_GRACE, CRUISE_TERMINAL, POUND_FONTVIEILLE, PHARMACY_DES_ANGLAIS)

NICE_PORT = LatLon(43.6960, 7.2860)
"""About 12 km west of the extract's edge: OSRM would snap it to the nearest Monaco road."""


def build_monaco(out_dir: Path) -> Path:
    """Build the OSRM network from the shipped extract into `out_dir`; returns the `monaco.osrm` base path."""
    result = build_roads(DEFAULT_PBF, out_dir)
    if isinstance(result, RoadsBuildFailed):
        raise RuntimeError(f"building the Monaco road network failed at {result.step}: {result.reason}")
    return out_dir / f"{NETWORK_NAME}.osrm"


def distance_to_polyline_m(point: LatLon, polyline: tuple[LatLon, ...] | list[LatLon]) -> float:
    """Shortest distance in metres from `point` to the polyline (local flat-earth approximation)."""
    cos_lat = math.cos(math.radians(point.lat))

    def xy(p: LatLon) -> tuple[float, float]:
        return (
            math.radians(p.lon - point.lon) * EARTH_RADIUS_M * cos_lat,
            math.radians(p.lat - point.lat) * EARTH_RADIUS_M,
        )

    best = math.inf
    coords = [xy(p) for p in polyline]
    for (ax, ay), (bx, by) in zip(coords, coords[1:], strict=False):
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length2))
        best = min(best, math.hypot(ax + t * dx, ay + t * dy))
    return best
