"""Geometry on the earth's surface, in metres and degrees."""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True, slots=True)
class LatLon:
    """A WGS84 point in decimal degrees."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        check_lat_lon(self.lat, self.lon)


def check_lat_lon(lat: float, lon: float) -> None:
    """Raise ValueError unless `lat`, `lon` are a WGS84 point (what `LatLon` checks, without building one)."""
    if not -90.0 <= lat <= 90.0:  # False for NaN too; infinities are outside
        raise ValueError(f"latitude {lat!r} is not within -90..90")
    if not -180.0 <= lon <= 180.0:
        raise ValueError(f"longitude {lon!r} is not within -180..180")


def haversine_m(a: LatLon, b: LatLon) -> float:
    """Great-circle distance between two points, in metres."""
    return haversine_deg_m(a.lat, a.lon, b.lat, b.lon)


def haversine_deg_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """`haversine_m` of two points given as degrees, for loops over a track's fixes: no `LatLon` is built (and
    checked) per fix."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bearing_deg(a: LatLon, b: LatLon) -> float:
    """Initial compass bearing from a to b, 0..360 degrees (0 = north)."""
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dlmb = math.radians(b.lon - a.lon)
    y = math.sin(dlmb) * math.cos(phi2)
    x = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dlmb)
    return (math.degrees(math.atan2(y, x)) + 360.0) % 360.0


def interpolate(a: LatLon, b: LatLon, fraction: float) -> LatLon:
    """The point `fraction` (0..1) of the way from a to b; linear in degrees, fine below a few km."""
    f = min(1.0, max(0.0, fraction))
    return LatLon(a.lat + (b.lat - a.lat) * f, a.lon + (b.lon - a.lon) * f)
