"""Import a worker's history from a GPX file (tracks, routes and waypoints) as stored positions.

Every point with a time becomes a position of the worker (fix and device time: the point's time in
UTC; a time without a zone is UTC, as the GPX schema prescribes); server time is when it was
imported. A point is skipped, and counted under its reason, when it has no time (or one GPX
readers cannot parse), has coordinates out of range, repeats the time of an earlier point of the
file, has the time of a position already stored for the worker, lies outside the worker's shifts
(the same rule as live positions) or is in the future. All or nothing: the points are stored in one
transaction. Imported history is not published to live consoles.

Positions are personal data: nothing here logs them.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import gpxpy
import gpxpy.gpx
from sqlalchemy.orm import Session

from data.positions_repo import add_position, positions_between
from data.workers_repo import get_worker
from dispatch.positions import OFF_SHIFT, Position, PositionLimits, refuse_off_shift

NO_TIME = "no time"
BAD_COORDINATES = "coordinates out of range"
DUPLICATE_TIME = "duplicate time"
ALREADY_STORED = "already stored"
IN_THE_FUTURE = "in the future"


class NotGpx(Exception):
    """The file cannot be read as GPX; the message says why in one line."""


@dataclass(frozen=True, slots=True)
class GpxPoint:
    """One point of a GPX file as read: `time` None when it has none."""

    latitude: float
    longitude: float
    time: datetime | None
    elevation_m: float | None = None
    speed_mps: float | None = None


@dataclass(frozen=True, slots=True)
class GpxImportSummary:
    """What an import did: how many points were stored, how many skipped by reason, and the stored range."""

    worker_id: int
    stored: int
    skipped: dict[str, int]
    first: datetime | None
    last: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "worker_id": self.worker_id,
            "stored": self.stored,
            "skipped": dict(sorted(self.skipped.items())),
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
        }


def read_gpx(data: bytes) -> list[GpxPoint]:
    """Every track, route and waypoint point of a GPX document, in file order.

    Raises NotGpx when the bytes are not well-formed XML or the document is not GPX.
    """
    if not data.strip():
        raise NotGpx("not a GPX file: it is empty")
    try:
        _, root = next(ET.iterparse(io.BytesIO(data), events=("start",)))
    except (ET.ParseError, StopIteration) as exc:
        raise NotGpx(f"not a GPX file: not readable as XML ({exc})") from None
    tag = root.tag.rpartition("}")[2]
    if tag != "gpx":
        raise NotGpx(f"not a GPX file: the document is <{tag}>, not <gpx>")
    try:
        gpx = gpxpy.parse(data)
    except gpxpy.gpx.GPXXMLSyntaxException as exc:
        raise NotGpx(f"not a GPX file: not readable as XML ({str(exc).removeprefix('Error parsing XML: ')})") from None
    except gpxpy.gpx.GPXException as exc:
        raise NotGpx(f"not a GPX file: {exc}") from None
    return list(_points(gpx))


def _points(gpx: gpxpy.gpx.GPX) -> Iterator[GpxPoint]:
    for track in gpx.tracks:
        for segment in track.segments:
            for p in segment.points:
                yield GpxPoint(p.latitude, p.longitude, _utc(p.time), p.elevation, p.speed)
    for route in gpx.routes:
        for rp in route.points:
            yield GpxPoint(rp.latitude, rp.longitude, _utc(rp.time), rp.elevation)
    for w in gpx.waypoints:
        yield GpxPoint(w.latitude, w.longitude, _utc(w.time), w.elevation)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)  # GPX times are UTC unless they say otherwise
    return value.astimezone(UTC)


def import_gpx(
    session: Session,
    *,
    worker_id: int,
    points: list[GpxPoint],
    now: datetime,
    source: str = "",
    limits: PositionLimits | None = None,
) -> GpxImportSummary:
    """Store the worker's points (see the module's description); returns what was stored and skipped.

    Raises ValueError("worker_id: ...") for an unknown worker. `source` (e.g. the file's name) is
    kept in each position's attributes.
    """
    limits = limits or PositionLimits()
    worker = get_worker(session, worker_id)
    if worker is None:
        raise ValueError(f"worker_id: no worker with id {worker_id}")
    skipped: Counter[str] = Counter()
    candidates: dict[datetime, Position] = {}
    attributes = MappingProxyType({"source": "gpx", **({"file": source} if source else {})})
    for point in sorted(points, key=lambda p: (p.time is None, p.time or now)):
        if point.time is None:
            skipped[NO_TIME] += 1
            continue
        if point.time in candidates:
            skipped[DUPLICATE_TIME] += 1
            continue
        if point.time - now > timedelta(seconds=limits.max_future_s):
            skipped[IN_THE_FUTURE] += 1
            continue
        try:
            position = Position(
                worker_id=worker.id,
                device_id=worker.device_id,
                fix_time=point.time,
                device_time=point.time,
                server_time=now,
                latitude=point.latitude,
                longitude=point.longitude,
                altitude_m=point.elevation_m,
                speed_mps=point.speed_mps if point.speed_mps is not None and point.speed_mps >= 0 else None,
                attributes=attributes,
            )
        except ValueError:
            skipped[BAD_COORDINATES] += 1
            continue
        if refuse_off_shift(position, worker) is not None:
            skipped[OFF_SHIFT] += 1
            continue
        candidates[point.time] = position
    if candidates:
        times = sorted(candidates)
        stored_times = {
            p.fix_time for p in positions_between(session, worker_id=worker.id, start=times[0], end=times[-1])
        }
        for t in stored_times & set(candidates):
            del candidates[t]
            skipped[ALREADY_STORED] += 1
    for position in candidates.values():
        add_position(session, position)
    times = sorted(candidates)
    return GpxImportSummary(
        worker_id=worker.id,
        stored=len(times),
        skipped=dict(skipped),
        first=times[0] if times else None,
        last=times[-1] if times else None,
    )
