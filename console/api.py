"""HTTP entry points: the JSON batch endpoint and the REST API (v1); `/osmand` is `console/osmand_wsgi.py`.

Handlers follow one shape: who is calling → parse → one service call → present. Expected failures
are `ApiError`s rendered as JSON `{"error": reason, "field": name}` with a 4xx status.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import flask

from console.auth import Auth, deny
from console.request_body import limit_body, read_body
from dispatch.access import Action, can_per_worker
from dispatch.positions import PositionLimits
from realtime.ingest import batch_items
from realtime.pipeline import BatchSummary, PositionPipeline
from services import geojson
from services.live_service import MAX_HISTORY, Services

BATCH_MAX_BYTES = 8 * 1024 * 1024
HISTORY_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
HISTORY_LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def create_blueprint(
    *, auth: Auth, services: Services, pipeline: PositionPipeline, limits: PositionLimits
) -> flask.Blueprint:
    bp = flask.Blueprint("api", __name__)

    @bp.post("/api/v1/positions")
    def positions_batch() -> tuple[flask.Response, int]:
        actor = auth.require(Action.REPORT_POSITION)
        limit_body(BATCH_MAX_BYTES)
        may_report = can_per_worker(actor, Action.REPORT_POSITION)  # for a gateway's token: one Decision for all
        summary = pipeline.ingest_batch(batch_items(read_body()), may_report=may_report)
        return flask.jsonify(_batch_summary(summary)), 200

    @bp.get("/api/v1/workers/<int:worker_id>/positions")
    def worker_positions(worker_id: int) -> flask.Response:
        actor = auth.require_worker(Action.VIEW_POSITIONS, worker_id)
        end = _iso_arg("to") or services.clock.now()
        start = _iso_arg("from") or end - timedelta(hours=24)
        if end < start:
            deny(400, "to: is before from", "to")
        if end - start > MAX_HISTORY:
            deny(400, f"from: the range may span at most {MAX_HISTORY.days} days", "from")
        positions = services.positions_between(actor=actor, worker_id=worker_id, start=start, end=end)
        if positions is None:
            deny(404, f"no worker with id {worker_id}")
        return flask.jsonify([geojson.position_to_json(p) for p in positions])

    @bp.get("/api/v1/live")
    def live() -> flask.Response:
        actor = auth.require(Action.VIEW_LIVE_MAP)
        snapshot = services.live_snapshot(actor=actor)
        return flask.jsonify({"workers": snapshot.workers, "orders": snapshot.orders})

    return bp


def iso_arg(name: str) -> datetime | None:
    """The query argument `name` as an aware UTC time; None when absent; 400 naming it when not ISO 8601 with a zone."""
    return _iso_arg(name)


def _iso_arg(name: str) -> datetime | None:
    raw = flask.request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = datetime.fromisoformat(raw.replace(" ", "+").replace("Z", "+00:00"))
    except ValueError:
        deny(400, f"{name}: {raw[:60]!r} is not an ISO 8601 time", name)
    if value.tzinfo is None:
        deny(400, f"{name}: {raw[:60]!r} has no time zone (add Z or +hh:mm)", name)
    # A range reaching past the calendar's edges (year 1 minus a day) cannot be computed with.
    if not HISTORY_EARLIEST <= value <= HISTORY_LATEST:
        deny(400, f"{name}: {raw[:60]!r} is not within years 1900..9000", name)
    return value.astimezone(UTC)


def _batch_summary(summary: BatchSummary) -> dict[str, Any]:
    """Counts, and each item not stored by index: a bad field, a clock too far ahead, or "off shift"."""
    return {
        "accepted": summary.accepted,
        "duplicates": summary.duplicates,
        "off_shift": summary.off_shift,
        "rejected": [{"index": r.index, "field": r.field, "error": r.error} for r in summary.refused],
    }
