"""Customer sites: the places where work orders are carried out."""

from __future__ import annotations

import math
from dataclasses import dataclass

from dispatch.geo import LatLon


@dataclass(frozen=True, slots=True)
class Site:
    """A place a worker travels to, with the circular geofence a check-in is verified against.

    `external_ref` is the key of the site in the system it was imported from (e.g. `osm:node:123`);
    an empty string means the site was created here and has none.
    """

    id: int
    name: str
    address: str
    location: LatLon
    geofence_radius_m: float = 50.0
    category: str = ""
    external_ref: str = ""

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("name must not be empty")
        if not (math.isfinite(self.geofence_radius_m) and self.geofence_radius_m > 0):
            raise ValueError(f"geofence_radius_m {self.geofence_radius_m!r} must be > 0")
