"""HTTP views of a worker's history: stops, trips and the track as GPX or GeoJSON (`/api/v1/workers/{id}/...`).

Same rules as the positions view: the range is `from`/`to` (ISO 8601 with a zone; default the last
24 hours, at most `MAX_HISTORY`), a field worker sees only their own, every read is audited.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import flask
import gpxpy.gpx
from sqlalchemy.orm import Session, sessionmaker

from console.api import _iso_arg  # the positions view's parsing of `from` / `to`, shared on purpose
from console.auth import Auth, deny
from dispatch.access import Action
from dispatch.clock import Clock
from dispatch.positions import Position
from dispatch.trajectory import StopParams, filter_fixes, stops_and_trips_of
from services.live_service import MAX_HISTORY
from services.tracks_service import TrackService


def create_blueprint(*, auth: Auth, sessions: sessionmaker[Session], clock: Clock) -> flask.Blueprint:
    tracks = TrackService(sessions=sessions, clock=clock)
    bp = flask.Blueprint("api_tracks", __name__)

    @bp.get("/api/v1/workers/<int:worker_id>/stops")
    def stops(worker_id: int) -> flask.Response:
        actor = auth.require_worker(Action.VIEW_POSITIONS, worker_id)
        start, end = _range(tracks)
        found = _known(tracks.stops(actor=actor, worker_id=worker_id, start=start, end=end), worker_id)
        return flask.jsonify(
            [
                {
                    "start": s.start.isoformat(),
                    "end": s.end.isoformat(),
                    "latitude": s.location.lat,
                    "longitude": s.location.lon,
                    "duration_s": s.duration_s,
                }
                for s in found
            ]
        )

    @bp.get("/api/v1/workers/<int:worker_id>/trips")
    def trips(worker_id: int) -> flask.Response:
        actor = auth.require_worker(Action.VIEW_POSITIONS, worker_id)
        start, end = _range(tracks)
        found = _known(tracks.trips(actor=actor, worker_id=worker_id, start=start, end=end), worker_id)
        return flask.jsonify(
            [
                {
                    "start": t.start.isoformat(),
                    "end": t.end.isoformat(),
                    "distance_m": round(t.distance_m, 1),
                    "duration_s": t.duration_s,
                }
                for t in found
            ]
        )

    @bp.get("/api/v1/workers/<int:worker_id>/track.gpx")
    def track_gpx(worker_id: int) -> flask.Response:
        actor = auth.require_worker(Action.VIEW_POSITIONS, worker_id)
        start, end = _range(tracks)
        fixes = _known(tracks.track(actor=actor, worker_id=worker_id, start=start, end=end), worker_id)
        response = flask.Response(gpx_document(worker_id, fixes), mimetype="application/gpx+xml")
        response.headers["Content-Disposition"] = f'attachment; filename="worker-{worker_id}.gpx"'
        return response

    @bp.get("/api/v1/workers/<int:worker_id>/track.geojson")
    def track_geojson(worker_id: int) -> flask.Response:
        actor = auth.require_worker(Action.VIEW_POSITIONS, worker_id)
        start, end = _range(tracks)
        fixes = _known(tracks.track(actor=actor, worker_id=worker_id, start=start, end=end), worker_id)
        response = flask.Response(
            json.dumps(geojson_document(worker_id, fixes, tracks.params)), mimetype="application/geo+json"
        )
        response.headers["Content-Disposition"] = f'attachment; filename="worker-{worker_id}.geojson"'
        return response

    return bp


def _range(tracks: TrackService) -> tuple[datetime, datetime]:
    end = _iso_arg("to") or tracks.clock.now()
    start = _iso_arg("from") or end - timedelta(hours=24)
    if end < start:
        deny(400, "to: is before from", "to")
    if end - start > MAX_HISTORY:
        deny(400, f"from: the range may span at most {MAX_HISTORY.days} days", "from")
    return start, end


def _known[T](found: list[T] | None, worker_id: int) -> list[T]:
    if found is None:
        deny(404, f"no worker with id {worker_id}")
    return found


def gpx_document(worker_id: int, fixes: Sequence[Position]) -> str:
    """GPX 1.1 with one track of every fix, in order; times in UTC (`Z`), elevation when known."""
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "Outfield"
    track = gpxpy.gpx.GPXTrack(name=f"worker {worker_id}")
    segment = gpxpy.gpx.GPXTrackSegment()
    track.segments.append(segment)
    gpx.tracks.append(track)
    for fix in fixes:
        segment.points.append(
            gpxpy.gpx.GPXTrackPoint(
                fix.latitude, fix.longitude, elevation=fix.altitude_m, time=fix.fix_time.astimezone(UTC)
            )
        )
    return str(gpx.to_xml(version="1.1"))


def geojson_document(worker_id: int, fixes: Sequence[Position], params: StopParams) -> dict[str, Any]:
    """A FeatureCollection of the range: the filtered track as a LineString (`times`: each vertex's fix time),
    each stop a Point (start, end, duration_s) and each trip a LineString (start, end, distance_m, duration_s).

    Coordinates are [longitude, latitude] (RFC 7946); times ISO 8601 in UTC. A track of one fix is a Point.
    """
    kept = filter_fixes(fixes, params.filter).kept
    features: list[dict[str, Any]] = []
    if kept:
        features.append(
            _feature(
                _line(kept),
                kind="track",
                worker_id=worker_id,
                times=[_utc(p.fix_time) for p in kept],
                fixes=len(kept),
                dropped=len(fixes) - len(kept),
            )
        )
    stops, trips = stops_and_trips_of(kept, params)
    for stop in stops:
        point = {"type": "Point", "coordinates": [stop.location.lon, stop.location.lat]}
        features.append(
            _feature(point, kind="stop", start=_utc(stop.start), end=_utc(stop.end), duration_s=stop.duration_s)
        )
    for trip in trips:
        along = [p for p in kept if trip.start <= p.fix_time <= trip.end]
        features.append(
            _feature(
                _line(along),
                kind="trip",
                start=_utc(trip.start),
                end=_utc(trip.end),
                distance_m=round(trip.distance_m, 1),
                duration_s=trip.duration_s,
            )
        )
    return {"type": "FeatureCollection", "features": features}


def _line(fixes: Sequence[Position]) -> dict[str, Any]:
    coordinates = [[p.longitude, p.latitude] for p in fixes]
    if len(coordinates) == 1:
        return {"type": "Point", "coordinates": coordinates[0]}
    return {"type": "LineString", "coordinates": coordinates}


def _feature(geometry: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()
