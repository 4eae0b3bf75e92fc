"""Customer sites: the places where work orders are carried out."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dispatch.fields import FieldError, number, point, refuse_unknown, text
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


SITE_FIELDS = ("name", "address", "location", "geofence_radius_m", "geofence_polygon", "category", "customer")
MAX_RADIUS_M = 10_000.0
"""The widest circle a site's geofence may have: beyond that it is a district, not a site."""


@dataclass(frozen=True, slots=True)
class SiteInput:
    """A site's fields as an administrator sent them; `given` names those present (an update changes only them).

    `geofence_polygon` is the outline's corners (None: no outline, the circle is used); `customer` a
    customer's name ("" for none).
    """

    given: frozenset[str]
    name: str = ""
    address: str = ""
    location: LatLon | None = None
    geofence_radius_m: float = 50.0
    geofence_polygon: tuple[LatLon, ...] | None = None
    category: str = ""
    customer: str = ""


def site_input(body: Mapping[str, Any], *, creating: bool) -> SiteInput:
    """Read a site's fields from `body` (a JSON object); FieldError naming the first bad one.

    Creating needs `name` and `location` (`{"lat", "lon"}`, e.g. clicked on the map). The geofence is
    a circle of `geofence_radius_m` (0 < r <= 10 km) around the location, or the `geofence_polygon`
    (GeoJSON Polygon, as an object or text, or WKT; checked by shapely: closed, not crossing itself).
    """
    from dispatch.geofences import parse_polygon  # geofences builds on Site: imported here, not at the top

    refuse_unknown(body, SITE_FIELDS)
    if creating:
        for required in ("name", "location"):
            if body.get(required) is None:
                raise FieldError(required, "is required")
    values: dict[str, Any] = {}
    if "name" in body:
        values["name"] = text(body, "name", max_len=200, required=True)
    for name, max_len in (("address", 500), ("category", 100), ("customer", 200)):
        if name in body:
            values[name] = text(body, name, max_len=max_len, empty_ok=True)
    if "location" in body:
        location = point(body, "location")
        if location is None:
            raise FieldError("location", "is required: a site has a place")
        values["location"] = location
    if "geofence_radius_m" in body:
        radius = number(body, "geofence_radius_m", low=0.0, high=MAX_RADIUS_M)
        if radius <= 0:
            raise FieldError("geofence_radius_m", "must be more than 0")
        values["geofence_radius_m"] = radius
    if "geofence_polygon" in body:
        raw = body["geofence_polygon"]
        if raw is None or raw == "":
            values["geofence_polygon"] = None
        elif isinstance(raw, str | Mapping):
            text_value = raw if isinstance(raw, str) else json.dumps(raw)
            if len(text_value) > 100_000:
                raise FieldError("geofence_polygon", "is larger than 100,000 characters")
            try:
                values["geofence_polygon"] = parse_polygon(text_value)
            except ValueError as exc:
                raise FieldError("geofence_polygon", str(exc).removeprefix("polygon: ")) from None
        else:
            raise FieldError("geofence_polygon", "must be a GeoJSON Polygon (object or text), WKT, or null")
    return SiteInput(given=frozenset(values), **values)
