"""HTTP views of a worker's history: stops, trips and the track as GPX (`/api/v1/workers/{id}/...`).

Same rules as the positions view: the range is `from`/`to` (ISO 8601 with a zone; default the last
24 hours, at most `MAX_HISTORY`), a field worker sees only their own, every read is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import flask
import gpxpy.gpx
from sqlalchemy.orm import Session, sessionmaker

from console.api import _iso_arg  # the positions view's parsing of `from` / `to`, shared on purpose
from console.auth import ApiError, Auth, deny
from console.services import MAX_HISTORY
from console.tracks_service import TrackService
from dispatch.access import Action
from dispatch.clock import Clock
from dispatch.positions import Position


def create_blueprint(*, auth: Auth, sessions: sessionmaker[Session], clock: Clock) -> flask.Blueprint:
    tracks = TrackService(sessions=sessions, clock=clock)
    bp = flask.Blueprint("api_tracks", __name__)

    @bp.errorhandler(ApiError)
    def api_error(exc: ApiError) -> tuple[flask.Response, int]:
        return flask.jsonify(exc.body()), exc.status

    @bp.get("/api/v1/workers/<int:worker_id>/stops")
    def stops(worker_id: int) -> flask.Response:
        actor = auth.require(Action.VIEW_POSITIONS, worker_id=worker_id)
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
        actor = auth.require(Action.VIEW_POSITIONS, worker_id=worker_id)
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
        actor = auth.require(Action.VIEW_POSITIONS, worker_id=worker_id)
        start, end = _range(tracks)
        fixes = _known(tracks.track(actor=actor, worker_id=worker_id, start=start, end=end), worker_id)
        response = flask.Response(gpx_document(worker_id, fixes), mimetype="application/gpx+xml")
        response.headers["Content-Disposition"] = f'attachment; filename="worker-{worker_id}.gpx"'
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
