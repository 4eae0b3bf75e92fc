"""Customer sites: the places where work orders are carried out."""

from __future__ import annotations

import math
from dataclasses import dataclass

from dispatch.geo import LatLon


@dataclass(frozen=True, slots=True)
class Site:
    """A place a worker travels to, with the geofence a check-in is verified against.

    `external_ref` is the key of the site in the system it was imported from (e.g. `osm:node:123`);
    an empty string means the site was created here and has none. `geofence_polygon` is the site's
    outline (corners in order, the first not repeated) when it is known; the geofence is then the
    polygon, else the circle of `geofence_radius_m` around `location`.
    """

    id: int
    name: str
    address: str
    location: LatLon
    geofence_radius_m: float = 50.0
    category: str = ""
    external_ref: str = ""
    geofence_polygon: tuple[LatLon, ...] | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("name must not be empty")
        if not (math.isfinite(self.geofence_radius_m) and self.geofence_radius_m > 0):
            raise ValueError(f"geofence_radius_m {self.geofence_radius_m!r} must be > 0")
        if self.geofence_polygon is not None and len(self.geofence_polygon) < 3:
            raise ValueError(f"geofence_polygon has {len(self.geofence_polygon)} corner(s); a polygon needs at least 3")
