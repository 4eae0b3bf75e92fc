"""Geofences of sites: which contain a fix (through a spatial index), and enter/exit events.

A site's geofence is its polygon when it has one, else the circle of its radius around its
location (`CircleFence` / `PolygonFence`, shared with check-in verification).

Events come from a small state machine per (worker, site), kept by the caller as a value
(`FenceState`): a worker *enters* after `DwellParams.dwell_s` of fixes inside, and *exits* after
`dwell_s` of fixes more than `DwellParams.hysteresis_m` beyond the boundary. A fix in the band
between the boundary and the margin does not count as leaving, and an entry is only begun by a fix
inside and kept up only by fixes inside, so a worker standing on the boundary, whose fixes jitter
in and out, makes at most one event, not a storm. Events carry fix times, never the time of receipt:
`at` when the worker crossed (the first fix inside, or the first fix clearly outside), `confirmed_at`
the fix that completed the dwell.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely import STRtree, wkt
from shapely.errors import ShapelyError
from shapely.geometry import Polygon

from dispatch.checkin import CircleFence, Geofence, PolygonFence, site_fence
from dispatch.geo import EARTH_RADIUS_M, LatLon
from dispatch.positions import Position
from dispatch.sites import Site

__all__ = [
    "CircleFence",
    "DwellParams",
    "FenceEventType",
    "FenceState",
    "FenceTable",
    "Geofence",
    "GeofenceEvent",
    "GeofenceIndex",
    "NO_ID",
    "NearPairs",
    "PHASE_CODES",
    "PolygonFence",
    "Presence",
    "SitePresence",
    "parse_polygon",
    "polygon_geojson",
    "site_geofence",
    "step",
    "track_geofences",
]

_M_PER_DEG_LAT = EARTH_RADIUS_M * math.pi / 180.0


def site_geofence(site: Site) -> Geofence:
    """The site's geofence: its polygon when it has one, else its radius around its location."""
    return site_fence(site)


# Polygons as text --------------------------------------------------------------------------------


def parse_polygon(text: str) -> tuple[LatLon, ...]:
    """A polygon's corners from GeoJSON (a Polygon, or a Feature holding one) or WKT (`POLYGON ((lon lat, ...))`).

    Coordinates are longitude first, as both formats have them. The closing corner (a repeat of the
    first) is dropped. Raises ValueError with the reason for anything else: another geometry type,
    holes, fewer than three corners, or a shape that crosses itself.
    """
    raw = text.strip()
    if not raw:
        raise ValueError("polygon: is empty")
    ring = _geojson_ring(raw) if raw.startswith("{") else _wkt_ring(raw)
    if len(ring) > 1 and ring[0] == ring[-1]:
        ring = ring[:-1]
    try:
        corners = tuple(LatLon(lat, lon) for lon, lat in ring)
    except ValueError as exc:
        raise ValueError(f"polygon: {exc}") from None
    try:
        PolygonFence(corners)
    except ValueError as exc:
        raise ValueError(f"polygon: {exc}") from None
    return corners


def _geojson_ring(raw: str) -> list[tuple[float, float]]:
    try:
        doc: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"polygon: not valid JSON ({exc.msg})") from None
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = doc.get("geometry")
    if not isinstance(doc, dict) or doc.get("type") != "Polygon":
        kind = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        raise ValueError(f"polygon: a GeoJSON Polygon is needed, not {kind!r}")
    rings = doc.get("coordinates")
    if not isinstance(rings, list) or not rings:
        raise ValueError("polygon: GeoJSON coordinates must be a list of rings")
    if len(rings) > 1:
        raise ValueError("polygon: holes are not supported (give the outer ring only)")
    ring = rings[0]
    if not isinstance(ring, list):
        raise ValueError("polygon: GeoJSON coordinates must be a list of rings")
    out: list[tuple[float, float]] = []
    for corner in ring:
        if (
            not isinstance(corner, list)
            or len(corner) < 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in corner[:2])
        ):
            raise ValueError(f"polygon: {corner!r} is not a [longitude, latitude] pair")
        out.append((float(corner[0]), float(corner[1])))
    return out


def _wkt_ring(raw: str) -> list[tuple[float, float]]:
    try:
        geometry = wkt.loads(raw)
    except (ShapelyError, ValueError) as exc:
        raise ValueError(f"polygon: neither GeoJSON nor WKT ({exc})") from None
    if geometry.geom_type != "Polygon":
        raise ValueError(f"polygon: a POLYGON is needed, not {geometry.geom_type.upper()}")
    if len(geometry.interiors) > 0:
        raise ValueError("polygon: holes are not supported (give the outer ring only)")
    return [(float(x), float(y)) for x, y, *_ in geometry.exterior.coords]


def polygon_geojson(corners: Iterable[LatLon]) -> str:
    """The GeoJSON Polygon text of `corners` (closed, longitude first), as sites store it."""
    ring = [[c.lon, c.lat] for c in corners]
    return json.dumps({"type": "Polygon", "coordinates": [[*ring, ring[0]]]}, separators=(",", ":"))


# The spatial index -------------------------------------------------------------------------------


def _envelope(fence: Geofence) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) enclosing the fence, in degrees."""
    if isinstance(fence, CircleFence):
        dlat = fence.radius_m / _M_PER_DEG_LAT
        dlon = fence.radius_m / (_M_PER_DEG_LAT * max(1e-6, math.cos(math.radians(fence.center.lat))))
        # A little slack: the circle is measured on the sphere, the box in degrees.
        dlat, dlon = dlat * 1.01, dlon * 1.01
        return (fence.center.lon - dlon, fence.center.lat - dlat, fence.center.lon + dlon, fence.center.lat + dlat)
    lons = [c.lon for c in fence.corners]
    lats = [c.lat for c in fence.corners]
    return (min(lons), min(lats), max(lons), max(lats))


@dataclass(frozen=True, slots=True)
class _PreparedPolygon:
    """A polygon fence ready for fast tests: prepared in degrees (inside?), and in metres on a flat projection
    around its first corner (how far outside?), exact to millimetres at site size."""

    degrees: Polygon
    metres: Polygon
    origin: LatLon
    m_per_deg_lon: float

    @classmethod
    def of(cls, fence: PolygonFence) -> _PreparedPolygon:
        origin = fence.corners[0]
        kx = _M_PER_DEG_LAT * math.cos(math.radians(origin.lat))
        degrees = Polygon([(c.lon, c.lat) for c in fence.corners])
        metres = Polygon([((c.lon - origin.lon) * kx, (c.lat - origin.lat) * _M_PER_DEG_LAT) for c in fence.corners])
        shapely.prepare(degrees)
        shapely.prepare(metres)
        return cls(degrees, metres, origin, kx)

    def covers(self, point: LatLon) -> bool:
        return bool(shapely.intersects_xy(self.degrees, point.lon, point.lat))

    def outside_by_m(self, point: LatLon) -> float:
        x = (point.lon - self.origin.lon) * self.m_per_deg_lon
        y = (point.lat - self.origin.lat) * _M_PER_DEG_LAT
        return float(shapely.distance(self.metres, shapely.Point(x, y)))


def _prepared(fence: Geofence) -> _PreparedPolygon | None:
    return _PreparedPolygon.of(fence) if isinstance(fence, PolygonFence) else None


FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class NearPairs:
    """Points near geofences as three aligned arrays, ordered by point: which point, which site, metres beyond
    its edge (0 = inside)."""

    point: npt.NDArray[np.intp]
    site_id: npt.NDArray[np.int64]
    outside_m: FloatArray
    fence: npt.NDArray[np.intp]
    """The geofence's position in `GeofenceIndex.fences` (its order), from 0."""


@dataclass(frozen=True, slots=True)
class _FenceColumns:
    """An index's fences as arrays (by their position in the R-tree), for measuring many points at once."""

    fences: tuple[Geofence, ...]
    site_ids: npt.NDArray[np.int64]
    circle: npt.NDArray[np.bool_]
    centre_lat: FloatArray
    centre_lon: FloatArray
    radius_m: FloatArray
    degrees: npt.NDArray[np.object_]
    metres: npt.NDArray[np.object_]
    origin_lat: FloatArray
    origin_lon: FloatArray
    m_per_deg_lon: FloatArray
    envelopes: FloatArray
    """(min lon, min lat, max lon, max lat) of each fence: its box in the R-tree."""
    bounds: FloatArray
    """`envelopes` by bound: four contiguous rows (min lon, min lat, max lon, max lat), each taken for many fences at
    once (a row of the (n, 4) array taken, then read with a stride, cost more)."""
    grids: dict[float, _Grid]
    """The boxes widened by a margin on a grid, by margin: a point inside one may be that near (filled on first use)."""

    @classmethod
    def of(
        cls, ids: Sequence[int], fences: Sequence[Geofence], polygons: Sequence[_PreparedPolygon | None]
    ) -> _FenceColumns:
        n = len(ids)
        circle = np.array([isinstance(f, CircleFence) for f in fences], dtype=bool).reshape(n)
        centres = [f.center if isinstance(f, CircleFence) else LatLon(0.0, 0.0) for f in fences]
        degrees = np.empty(n, dtype=object)
        metres = np.empty(n, dtype=object)
        for i, polygon in enumerate(polygons):
            degrees[i] = polygon.degrees if polygon is not None else None
            metres[i] = polygon.metres if polygon is not None else None
        envelopes = np.array([_envelope(f) for f in fences], dtype=np.float64).reshape(n, 4)
        return cls(
            fences=tuple(fences),
            site_ids=np.array(ids, dtype=np.int64).reshape(n),
            circle=circle,
            centre_lat=np.array([c.lat for c in centres], dtype=np.float64).reshape(n),
            centre_lon=np.array([c.lon for c in centres], dtype=np.float64).reshape(n),
            radius_m=np.array([f.radius_m if isinstance(f, CircleFence) else 0.0 for f in fences]).reshape(n),
            degrees=degrees,
            metres=metres,
            origin_lat=np.array([p.origin.lat if p else 0.0 for p in polygons], dtype=np.float64).reshape(n),
            origin_lon=np.array([p.origin.lon if p else 0.0 for p in polygons], dtype=np.float64).reshape(n),
            m_per_deg_lon=np.array([p.m_per_deg_lon if p else 0.0 for p in polygons], dtype=np.float64).reshape(n),
            envelopes=envelopes,
            bounds=np.ascontiguousarray(envelopes.T),
            grids={},
        )

    def grid(self, margin_m: float) -> _Grid:
        """The boxes widened by `margin_m` (at the latitude farthest from the equator they reach) on a grid: every
        point whose own box of that margin meets a fence's box is inside the fence's widened box."""
        grid = self.grids.get(margin_m)
        if grid is None:
            dlat = margin_m / _M_PER_DEG_LAT
            env = self.envelopes
            far = np.maximum(np.abs(env[:, 1] - dlat), np.abs(env[:, 3] + dlat))
            dlon = 1.000001 * margin_m / (_M_PER_DEG_LAT * np.maximum(1e-6, np.cos(np.radians(np.minimum(far, 90.0)))))
            widened = np.stack(
                (env[:, 0] - dlon, env[:, 1] - 1.000001 * dlat, env[:, 2] + dlon, env[:, 3] + 1.000001 * dlat), axis=1
            )
            grid = self.grids[margin_m] = _Grid.of(widened)
        return grid


DENSE_CELLS = 1 << 18
"""A `_Grid` of at most this many cells (its columns up to the last holding a box) keeps a table of every cell (2 × 8
bytes each)."""


@dataclass(frozen=True, slots=True)
class _Grid:
    """Boxes (degrees) on a grid of square cells, each cell listing the boxes that reach into it: the boxes a point
    may be inside of are those of its cell, found for many points at once with numpy (no geometry per point, as an
    R-tree query needs). The cells are the size of a typical box, and at least an eighth of the largest one (a large
    polygon spans at most 9 × 9 cells)."""

    lon0: float
    lat0: float
    size: float
    rows: int
    keys: npt.NDArray[np.int64]
    """The cells holding a box (column × `rows` + row), ascending."""
    first: npt.NDArray[np.intp]
    count: npt.NDArray[np.intp]
    boxes: npt.NDArray[np.intp]
    """The boxes of each cell of `keys`: `boxes[first[i]:first[i] + count[i]]`."""
    dense_first: npt.NDArray[np.intp] | None = None
    dense_count: npt.NDArray[np.intp] | None = None
    """`first` and `count` of every cell of the columns up to the last holding a box (0 boxes for a cell holding none),
    when there are at most `DENSE_CELLS` of them: a point's cell read directly, with no search among `keys`."""

    @classmethod
    def of(cls, boxes: FloatArray) -> _Grid:
        """`boxes`: (min lon, min lat, max lon, max lat) rows."""
        extent = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
        size = max(
            float(np.sort(extent)[len(extent) // 2]), float(extent.max()) / 8, 1e-9
        )  # (np.median imports numpy.ma)
        lon0, lat0 = float(boxes[:, 0].min()), float(boxes[:, 1].min())
        x0 = np.floor((boxes[:, 0] - lon0) / size).astype(np.int64)
        x1 = np.floor((boxes[:, 2] - lon0) / size).astype(np.int64)
        y0 = np.floor((boxes[:, 1] - lat0) / size).astype(np.int64)
        y1 = np.floor((boxes[:, 3] - lat0) / size).astype(np.int64)
        rows = int(y1.max()) + 1
        keys: list[int] = []
        owner: list[int] = []
        for i, (a, b, c, d) in enumerate(zip(x0.tolist(), x1.tolist(), y0.tolist(), y1.tolist(), strict=True)):
            for column in range(a, b + 1):
                keys.extend(range(column * rows + c, column * rows + d + 1))
                owner.extend([i] * (d - c + 1))
        key_arr = np.array(keys, np.int64)
        order = np.argsort(key_arr, kind="stable")
        cells, first, count = np.unique(key_arr[order], return_index=True, return_counts=True)
        dense_first = dense_count = None
        n_cells = (int(cells[-1]) // rows + 1) * rows  # every cell of the columns up to the last holding a box
        if n_cells <= DENSE_CELLS:
            dense_first, dense_count = np.zeros(n_cells, np.intp), np.zeros(n_cells, np.intp)
            dense_first[cells], dense_count[cells] = first, count
        return cls(
            lon0, lat0, size, rows, cells, first, count, np.array(owner, np.intp)[order], dense_first, dense_count
        )

    def candidates(self, lats: FloatArray, lons: FloatArray) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """(point, box) pairs, by point, of every box each point (`lats[i]`, `lons[i]`) may be inside of."""
        column = np.floor((lons - self.lon0) / self.size)
        row = np.floor((lats - self.lat0) / self.size)
        on = np.flatnonzero((column >= 0) & (row >= 0) & (row < self.rows) & (column <= self.keys[-1] // self.rows))
        key = column[on].astype(np.int64) * self.rows + row[on].astype(np.int64)
        if self.dense_count is not None and self.dense_first is not None:
            # Every cell a point `on` can be in is in the tables: one in an empty cell counts 0 boxes.
            points, count, first = on, self.dense_count[key], self.dense_first[key]
        else:
            at = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
            hit = self.keys[at] == key
            points, at = on[hit], at[hit]
            count, first = self.count[at], self.first[at]
        total = int(count.sum())
        start = np.repeat(first - (np.cumsum(count) - count), count)
        return np.repeat(points, count), self.boxes[start + np.arange(total)]


_ROUNDING_M = 1e-6
"""How far numpy's haversine may be from `haversine_m` at most, with a wide margin (they differ by ~1e-13 m)."""


def _circle_outside_m(
    cols: _FenceColumns, fence: npt.NDArray[np.intp], lat: FloatArray, lon: FloatArray, margin_m: float
) -> FloatArray:
    """`CircleFence.outside_by_m` for many (fence, point) pairs; near the edge or the margin, by the fence itself."""
    phi1, phi2 = np.radians(cols.centre_lat[fence]), np.radians(lat)
    dphi = phi2 - phi1
    dlmb = np.radians(lon - cols.centre_lon[fence])
    h = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2) ** 2
    beyond = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h))) - cols.radius_m[fence]
    out: FloatArray = np.maximum(0.0, beyond)
    close = np.flatnonzero((np.abs(beyond) <= _ROUNDING_M) | (np.abs(beyond - margin_m) <= _ROUNDING_M))
    for k in close.tolist():
        out[k] = cols.fences[int(fence[k])].outside_by_m(LatLon(float(lat[k]), float(lon[k])))
    return out


@dataclass(frozen=True, slots=True)
class GeofenceIndex:
    """Many sites' geofences behind an R-tree (shapely's STRtree) of their bounding boxes.

    A lookup asks the tree for the few boxes near the fix and measures only those exactly, so it
    costs about the same for 10 or 10,000 sites (bench/geofence.py).
    """

    fences: Mapping[int, Geofence]
    _ids: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _polygons: tuple[_PreparedPolygon | None, ...] = field(init=False, repr=False, compare=False)
    _tree: STRtree = field(init=False, repr=False, compare=False)
    _columns: _FenceColumns = field(init=False, repr=False, compare=False)
    positions: Mapping[int, int] = field(init=False, repr=False, compare=False)
    """Each site's position in `fences` (the `NearPairs.fence` of its pairs), built once per index, not per batch."""
    site_ids: npt.NDArray[np.int64] = field(init=False, repr=False, compare=False)
    """The sites' ids by position (`positions`' inverse; read only)."""
    _by_id: npt.NDArray[np.intp] = field(init=False, repr=False, compare=False)
    """The positions in ascending order of their site ids (`site_ids[_by_id]` is sorted), for `fence_positions`."""

    def __post_init__(self) -> None:
        fences = MappingProxyType(dict(self.fences))
        ids = tuple(fences)
        boxes = [shapely.box(*_envelope(fences[i])) for i in ids]
        # Polygons prepared once: "is the fix inside" in degrees, "how far outside" in metres.
        polygons = tuple(_prepared(fences[i]) for i in ids)
        object.__setattr__(self, "fences", fences)
        object.__setattr__(self, "_ids", ids)
        object.__setattr__(self, "_polygons", polygons)
        object.__setattr__(self, "_tree", STRtree(boxes))
        object.__setattr__(self, "_columns", _FenceColumns.of(ids, [fences[i] for i in ids], polygons))
        object.__setattr__(self, "positions", MappingProxyType({site_id: k for k, site_id in enumerate(ids)}))
        object.__setattr__(self, "site_ids", self._columns.site_ids)
        object.__setattr__(self, "_by_id", np.argsort(self._columns.site_ids, kind="stable"))

    def fence_positions(self, site_ids: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Each of `site_ids`' position in `fences` (`positions`, for many at once), the sites the index does not hold
        numbered on from `len(fences)` in ascending order of id; and every site's id by those positions (`site_ids`,
        then those gone)."""
        n = len(self.site_ids)
        if n:
            ordered = self.site_ids[self._by_id]
            at = np.minimum(np.searchsorted(ordered, site_ids), n - 1)
            found = ordered[at] == site_ids
            out = np.where(found, self._by_id[at], -1).astype(np.int64)
        else:
            found, out = np.zeros(len(site_ids), bool), np.full(len(site_ids), -1, np.int64)
        if found.all():
            return out, self.site_ids
        gone = np.unique(site_ids[~found])
        out[~found] = n + np.searchsorted(gone, site_ids[~found])
        return out, np.concatenate((self.site_ids, gone))

    @classmethod
    def of_sites(cls, sites: Iterable[Site]) -> GeofenceIndex:
        return cls({site.id: site_geofence(site) for site in sites})

    def near(self, point: LatLon, margin_m: float = 0.0) -> dict[int, float]:
        """How far `point` is beyond each geofence it is inside of or within `margin_m` of (0 = inside), by site id."""
        if not margin_m >= 0:
            raise ValueError(f"margin_m {margin_m!r} must be >= 0")
        dlat = margin_m / _M_PER_DEG_LAT
        dlon = margin_m / (_M_PER_DEG_LAT * max(1e-6, math.cos(math.radians(point.lat))))
        if margin_m > 0:
            probe = shapely.box(point.lon - dlon, point.lat - dlat, point.lon + dlon, point.lat + dlat)
        else:
            probe = shapely.Point(point.lon, point.lat)
        out: dict[int, float] = {}
        for index in self._tree.query(probe):
            site_id, polygon = self._ids[int(index)], self._polygons[int(index)]
            if polygon is None:
                outside_m = self.fences[site_id].outside_by_m(point)
            elif polygon.covers(point):  # inside or on the edge
                outside_m = 0.0
            elif margin_m > 0:
                outside_m = polygon.outside_by_m(point)
            else:
                continue
            if outside_m <= margin_m:
                out[site_id] = outside_m
        return out

    def near_many(self, points: Sequence[LatLon], margin_m: float) -> list[dict[int, float]]:
        """`near(point, margin_m)` for many points at once: one R-tree query for all of them (a batch of fixes)."""
        if not margin_m > 0:
            return [self.near(p, margin_m) for p in points]
        lats = np.fromiter((p.lat for p in points), dtype=float, count=len(points))
        lons = np.fromiter((p.lon for p in points), dtype=float, count=len(points))
        found = self.near_coordinates(lats, lons, margin_m)
        return [found.get(i, {}) for i in range(len(points))]

    def near_coordinates(self, lats: np.ndarray, lons: np.ndarray, margin_m: float) -> dict[int, dict[int, float]]:
        """`near` for each point (`lats[i]`, `lons[i]`, degrees) within `margin_m` > 0, only for the points that have
        a geofence near: {point index: {site id: metres outside}}. One R-tree query; no value built per point
        that has none (most of a batch's fixes are on the road)."""
        if not margin_m > 0:
            raise ValueError(f"margin_m {margin_m!r} must be > 0")
        out: dict[int, dict[int, float]] = {}
        if not len(lats):
            return out
        dlat = margin_m / _M_PER_DEG_LAT
        dlon = margin_m / (_M_PER_DEG_LAT * np.maximum(1e-6, np.cos(np.radians(lats))))
        probes = shapely.box(lons - dlon, lats - dlat, lons + dlon, lats + dlat)
        which, found = self._tree.query(probes)
        for i, index in zip(which.tolist(), found.tolist(), strict=True):
            point, site_id, polygon = LatLon(float(lats[i]), float(lons[i])), self._ids[index], self._polygons[index]
            if polygon is None:
                outside_m = self.fences[site_id].outside_by_m(point)
            elif polygon.covers(point):
                outside_m = 0.0
            else:
                outside_m = polygon.outside_by_m(point)
            if outside_m <= margin_m:
                out.setdefault(i, {})[site_id] = outside_m
        return out

    def near_pairs(self, lats: FloatArray, lons: FloatArray, margin_m: float) -> NearPairs:
        """`near` for many points (`lats[i]`, `lons[i]`, degrees) within `margin_m` > 0 as arrays, with no value built
        per point: the points looked up at once on a grid of the fences' widened boxes (`_Grid`), the circles measured
        with numpy, the polygons with shapely's array functions.

        The same pairs and the same verdicts as `near` (inside: exactly 0; within the margin or not); a circle's
        metres beyond its edge may differ from `near`'s in the last bits (numpy's trigonometry), except within a
        micrometre of the edge or of the margin, where `near`'s own arithmetic decides.
        """
        if not margin_m > 0:
            raise ValueError(f"margin_m {margin_m!r} must be > 0")
        cols = self._columns
        if not len(lats) or not cols.fences:
            return NearPairs(np.empty(0, np.intp), np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0, np.intp))
        dlat = margin_m / _M_PER_DEG_LAT
        dlon = margin_m / (_M_PER_DEG_LAT * np.maximum(1e-6, np.cos(np.radians(lats))))
        # The fixes in a cell a widened box reaches, then those whose own box (as `near` draws it) meets the fence's box.
        which, found = cols.grid(margin_m).candidates(lats, lons)
        plat, plon, pdlon = lats[which], lons[which], dlon[which]
        min_lon, min_lat, max_lon, max_lat = cols.bounds
        meets = (
            (plon - pdlon <= max_lon[found])
            & (plon + pdlon >= min_lon[found])
            & (plat - dlat <= max_lat[found])
            & (plat + dlat >= min_lat[found])
        )
        sel = np.flatnonzero(meets)  # the positions once, not a boolean mask counted again for each column
        which, found, plat, plon = which[sel], found[sel], plat[sel], plon[sel]
        outside = np.zeros(len(which), np.float64)
        circle = cols.circle[found]
        c = np.flatnonzero(circle)
        if len(c):
            f = found[c]
            outside[c] = _circle_outside_m(cols, f, plat[c], plon[c], margin_m)
        p = np.flatnonzero(~circle)
        if len(p):
            f = found[p]
            covered = shapely.intersects_xy(cols.degrees[f], plon[p], plat[p])
            away = p[~covered]
            if len(away):
                fa = found[away]
                x = (plon[away] - cols.origin_lon[fa]) * cols.m_per_deg_lon[fa]
                y = (plat[away] - cols.origin_lat[fa]) * _M_PER_DEG_LAT
                outside[away] = shapely.distance(cols.metres[fa], shapely.points(x, y))
        keep = np.flatnonzero(outside <= margin_m)
        kept = found[keep].astype(np.intp)
        return NearPairs(which[keep].astype(np.intp), cols.site_ids[kept], outside[keep], kept)

    def containing(self, point: LatLon) -> list[int]:
        """The ids of the sites whose geofence contains `point` (on the edge counts as inside), ascending."""
        return sorted(site_id for site_id, outside_m in self.near(point).items() if outside_m == 0.0)


# Dwell and hysteresis ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DwellParams:
    """How long a worker must be inside (or clearly outside) before it counts, and how far is clearly.

    Fixes vaguer than `max_accuracy_m`, invalid or mock fixes are ignored: they say nothing reliable
    about which side of a boundary the worker is on.
    """

    dwell_s: float = 60.0
    hysteresis_m: float = 20.0
    max_accuracy_m: float = 100.0

    def __post_init__(self) -> None:
        for name in ("dwell_s", "hysteresis_m"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} {value!r} must be >= 0")
        if not (math.isfinite(self.max_accuracy_m) and self.max_accuracy_m > 0):
            raise ValueError(f"max_accuracy_m {self.max_accuracy_m!r} must be > 0")


class Presence(StrEnum):
    ENTERING = "entering"  # inside, not yet for dwell_s: no event yet
    INSIDE = "inside"  # entered (an enter event was made)
    LEAVING = "leaving"  # entered, now clearly outside, not yet for dwell_s


class FenceEventType(StrEnum):
    ENTER = "geofence_enter"
    EXIT = "geofence_exit"


@dataclass(frozen=True, slots=True)
class SitePresence:
    """Where a worker stands with one site; `since` is the fix time the current phase began at."""

    status: Presence
    since: datetime
    position_id: int | None = None


@dataclass(frozen=True, slots=True)
class GeofenceEvent:
    """A worker entered or left a site's geofence.

    `at` is the fix time of the crossing (the first fix inside, or the first clearly outside),
    `confirmed_at` the fix time of the fix that completed the dwell; `position_id` is the crossing fix's.
    """

    type: FenceEventType
    worker_id: int
    site_id: int
    at: datetime
    confirmed_at: datetime
    position_id: int | None = None


@dataclass(frozen=True, slots=True)
class FenceState:
    """One worker's presence at every site they are entering, inside of or leaving; the caller keeps it."""

    worker_id: int
    last_fix_time: datetime | None = None
    sites: Mapping[int, SitePresence] = field(default_factory=lambda: MappingProxyType({}))

    def inside(self) -> frozenset[int]:
        """The sites the worker has entered and not yet left (as events reported)."""
        return frozenset(sid for sid, p in self.sites.items() if p.status in (Presence.INSIDE, Presence.LEAVING))


# The dwell machine over arrays (`dispatch.batch_events`) builds a state per worker whose presence changed and a
# presence per site of theirs, hundreds per window of fixes: a frozen dataclass's `__init__` writes each field through
# `object.__setattr__` (1.3-1.6 µs each on the bench's host), these write the slots directly (half that). They take
# what the dataclass takes and check nothing, as it checks nothing.
_new = object.__new__
_presence_status, _presence_since, _presence_id = (
    SitePresence.__dict__[name].__set__ for name in ("status", "since", "position_id")
)
_state_worker, _state_last, _state_sites = (
    FenceState.__dict__[name].__set__ for name in ("worker_id", "last_fix_time", "sites")
)
_event_type, _event_worker, _event_site, _event_at, _event_confirmed, _event_id = (
    GeofenceEvent.__dict__[name].__set__
    for name in ("type", "worker_id", "site_id", "at", "confirmed_at", "position_id")
)


def site_presence(status: Presence, since: datetime, position_id: int | None) -> SitePresence:
    """`SitePresence(status, since, position_id)`, built without the dataclass's `__init__`."""
    made: SitePresence = _new(SitePresence)
    _presence_status(made, status)
    _presence_since(made, since)
    _presence_id(made, position_id)
    return made


def fence_state(worker_id: int, last_fix_time: datetime | None, sites: Mapping[int, SitePresence]) -> FenceState:
    """`FenceState(worker_id, last_fix_time, sites)`, built without the dataclass's `__init__`."""
    made: FenceState = _new(FenceState)
    _state_worker(made, worker_id)
    _state_last(made, last_fix_time)
    _state_sites(made, sites)
    return made


def fence_event(
    kind: FenceEventType,
    worker_id: int,
    site_id: int,
    at: datetime,
    confirmed_at: datetime,
    position_id: int | None,
) -> GeofenceEvent:
    """`GeofenceEvent(kind, worker_id, site_id, at, confirmed_at, position_id)`, built without the dataclass's
    `__init__`."""
    made: GeofenceEvent = _new(GeofenceEvent)
    _event_type(made, kind)
    _event_worker(made, worker_id)
    _event_site(made, site_id)
    _event_at(made, at)
    _event_confirmed(made, confirmed_at)
    _event_id(made, position_id)
    return made


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

PHASE_CODES: Mapping[Presence, int] = MappingProxyType({Presence.ENTERING: 1, Presence.INSIDE: 2, Presence.LEAVING: 3})
"""`FenceTable.phase`'s codes (0: no presence, a pair not kept)."""
_PHASE_OF: Mapping[int, Presence] = MappingProxyType({code: phase for phase, code in PHASE_CODES.items()})

NO_ID = int(np.iinfo(np.int64).min)
"""`FenceTable.since_id` of a presence begun by a fix without an id."""


@dataclass(frozen=True, slots=True, eq=False)
class FenceTable:
    """Every worker's presence at each site they are entering, inside of or leaving, as columns: one row per (worker,
    site) pair, the rows of a worker together and the workers in ascending order (`worker`). The same facts as a
    `FenceState` per worker (`state`, `states`, `of`), kept this way between batches by the alert evaluator: the
    dwell machine over arrays (`dispatch.batch_events`) reads and writes the columns directly, where decoding each
    worker's `FenceState` before a batch and building it again after cost ~0.3 ms a window (bench/README.md, "Alerts").

    `since_us` is the fix time the phase began at in microseconds since the epoch (a `FenceState` built from the table
    has it in UTC), `since_id` that fix's id (`NO_ID`: none). A state's `last_fix_time` is not kept (None here): the
    evaluator skips a fix not newer than the worker's last one before a state sees it.
    """

    worker: npt.NDArray[np.int64]
    site: npt.NDArray[np.int64]
    phase: npt.NDArray[np.int8]
    since_us: npt.NDArray[np.int64]
    since_id: npt.NDArray[np.int64]

    def __post_init__(self) -> None:
        for column in (self.worker, self.site, self.phase, self.since_us, self.since_id):
            column.flags.writeable = False  # a value: changed only by making another (`replaced`, `updated`)

    @classmethod
    def empty(cls) -> FenceTable:
        return cls(
            np.empty(0, np.int64),
            np.empty(0, np.int64),
            np.empty(0, np.int8),
            np.empty(0, np.int64),
            np.empty(0, np.int64),
        )

    @classmethod
    def of(cls, states: Mapping[int, FenceState]) -> FenceTable:
        """The table of `states` (by worker id; a state without sites has no rows)."""
        rows = [
            (
                w,
                site,
                PHASE_CODES[p.status],
                (p.since - _EPOCH) // _MICROSECOND,
                NO_ID if p.position_id is None else p.position_id,
            )
            for w in sorted(states)
            for site, p in states[w].sites.items()
        ]
        if not rows:
            return cls.empty()
        worker, site, phase, since_us, since_id = zip(*rows, strict=True)
        return cls(
            np.array(worker, np.int64),
            np.array(site, np.int64),
            np.array(phase, np.int8),
            np.array(since_us, np.int64),
            np.array(since_id, np.int64),
        )

    def __len__(self) -> int:
        """The (worker, site) pairs."""
        return len(self.worker)

    def rows_of(self, workers: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """The rows of `workers` (ascending ids): for each row, which of `workers` it is of, and the row."""
        lo = np.searchsorted(self.worker, workers, "left")
        count = np.searchsorted(self.worker, workers, "right") - lo
        total = int(count.sum())
        of = np.repeat(np.arange(len(workers)), count)
        return of, np.arange(total) + np.repeat(lo - (np.cumsum(count) - count), count)

    def state(self, worker_id: int) -> FenceState | None:
        """The worker's `FenceState` (sites in ascending order of id; None: at no site)."""
        lo, hi = np.searchsorted(self.worker, [worker_id, worker_id + 1]).tolist()
        if lo == hi:
            return None
        return fence_state(worker_id, None, MappingProxyType(self._sites(lo, hi)))

    def states(self, workers: Iterable[int]) -> dict[int, FenceState]:
        """The `FenceState` of each of `workers`, with no sites for one at none."""
        out: dict[int, FenceState] = {}
        for w in workers:
            lo, hi = np.searchsorted(self.worker, [w, w + 1]).tolist()
            out[w] = fence_state(w, None, MappingProxyType(self._sites(lo, hi)))
        return out

    def workers(self) -> list[int]:
        """The workers at some site, ascending."""
        workers: list[int] = np.unique(self.worker).tolist()
        return workers

    def _sites(self, lo: int, hi: int) -> dict[int, SitePresence]:
        sites: dict[int, SitePresence] = {}
        for site, phase, us, fix_id in sorted(
            zip(
                self.site[lo:hi].tolist(),
                self.phase[lo:hi].tolist(),
                self.since_us[lo:hi].tolist(),
                self.since_id[lo:hi].tolist(),
                strict=True,
            )
        ):
            sites[site] = site_presence(
                _PHASE_OF[phase], _EPOCH + us * _MICROSECOND, None if fix_id == NO_ID else fix_id
            )
        return sites

    def replaced(
        self,
        dropped: npt.NDArray[np.intp],
        worker: npt.NDArray[np.int64],
        site: npt.NDArray[np.int64],
        phase: npt.NDArray[np.int8],
        since_us: npt.NDArray[np.int64],
        since_id: npt.NDArray[np.int64],
    ) -> FenceTable:
        """The table without the rows `dropped`, with the rows given (ascending workers: a worker's rows together)."""
        keep = np.ones(len(self.worker), bool)
        keep[dropped] = False
        if not len(worker):
            if keep.all():
                return self
            return FenceTable(
                self.worker[keep], self.site[keep], self.phase[keep], self.since_us[keep], self.since_id[keep]
            )
        all_workers = np.concatenate((self.worker[keep], worker))
        order = np.argsort(all_workers, kind="stable")  # two ascending runs merged
        return FenceTable(
            all_workers[order],
            np.concatenate((self.site[keep], site))[order],
            np.concatenate((self.phase[keep], phase))[order],
            np.concatenate((self.since_us[keep], since_us))[order],
            np.concatenate((self.since_id[keep], since_id))[order],
        )

    def updated(self, states: Mapping[int, FenceState]) -> FenceTable:
        """The table with each worker of `states` at the sites of their state (and no others)."""
        if not states:
            return self
        _, dropped = self.rows_of(np.array(sorted(states), np.int64))
        new = FenceTable.of(states)
        return self.replaced(dropped, new.worker, new.site, new.phase, new.since_us, new.since_id)


def _ignored(position: Position, params: DwellParams) -> bool:
    if not position.valid or position.mock:
        return True
    return position.accuracy_m is not None and position.accuracy_m > params.max_accuracy_m


def _staying(state: FenceState, nearby: Mapping[int, float], params: DwellParams) -> bool:
    """Whether a fix changes nothing of `state` but its time: every site is INSIDE and the fix is not clearly
    outside it, and the fix is inside no other site (what `step`'s loop would conclude, without its copies)."""
    sites = state.sites
    for site_id, presence in sites.items():
        if presence.status is not Presence.INSIDE or nearby.get(site_id, math.inf) > params.hysteresis_m:
            return False
    return all(site_id in sites for site_id, outside_m in nearby.items() if outside_m == 0.0)


def step(
    state: FenceState,
    position: Position,
    nearby: Mapping[int, float],
    params: DwellParams | None = None,
    *,
    position_id: int | None = None,
) -> tuple[FenceState, list[GeofenceEvent]]:
    """Advance `state` by one fix; returns the new state and the events it completes (ordered by site id).

    `nearby` is how far the fix is beyond each geofence within `params.hysteresis_m` of it (0 =
    inside), as `GeofenceIndex.near(point, params.hysteresis_m)` gives; a site missing from it is
    clearly outside. A fix not newer than the last one taken, or not trustworthy, changes nothing.
    `position_id`, when given, is the fix's stored id (for a fix handed on without it, `StoredFixes`).
    """
    params = params or DwellParams()
    fix_id = position.id if position_id is None else position_id
    if position.worker_id != state.worker_id:
        raise ValueError(f"worker: a fix of worker {position.worker_id} given to the state of {state.worker_id}")
    t = position.fix_time
    if (state.last_fix_time is not None and t <= state.last_fix_time) or _ignored(position, params):
        return state, []
    if _staying(state, nearby, params):  # the common case at a site: still inside each, nowhere new
        return FenceState(state.worker_id, t, state.sites), []
    sites: dict[int, SitePresence] = {}
    events: list[GeofenceEvent] = []
    for site_id in sorted(set(state.sites) | {sid for sid, out in nearby.items() if out == 0.0}):
        outside_m = nearby.get(site_id, math.inf)
        inside, clearly_out = outside_m == 0.0, outside_m > params.hysteresis_m
        begun = SitePresence(Presence.ENTERING, t, fix_id)
        current = state.sites.get(site_id)
        if current is None:
            sites[site_id] = begun  # a fix inside begins an entry
            current = begun
        elif current.status is Presence.ENTERING and not inside:
            continue  # the entry did not hold: back to outside (no state kept)
        elif current.status is Presence.INSIDE:
            if not clearly_out:
                sites[site_id] = current  # inside, or in the band within the margin: still there
                continue
            current = sites[site_id] = replace(begun, status=Presence.LEAVING)
        elif current.status is Presence.LEAVING and not clearly_out:
            sites[site_id] = SitePresence(Presence.INSIDE, t, fix_id)  # back within the margin
            continue
        else:
            sites[site_id] = current
        if (t - current.since).total_seconds() < params.dwell_s:
            continue
        kind = FenceEventType.ENTER if current.status is Presence.ENTERING else FenceEventType.EXIT
        events.append(GeofenceEvent(kind, state.worker_id, site_id, current.since, t, current.position_id))
        if kind is FenceEventType.ENTER:
            sites[site_id] = SitePresence(Presence.INSIDE, current.since, current.position_id)
        else:
            del sites[site_id]
    return FenceState(state.worker_id, t, MappingProxyType(sites)), events


def track_geofences(
    state: FenceState, position: Position, index: GeofenceIndex, params: DwellParams | None = None
) -> tuple[FenceState, list[GeofenceEvent]]:
    """`step` with the nearby geofences looked up in `index`."""
    params = params or DwellParams()
    return step(state, position, index.near(position.point, params.hysteresis_m), params)
