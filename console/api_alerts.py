"""HTTP views of alerts and geofence events (issue #11; a contract other tools rely on).

- `GET /api/v1/workers/{id}/events?from=&to=` → `[{type: "enter" | "exit", site_id, at}]`
- `GET /api/v1/alerts?status=open|acknowledged|all&worker_id=` → `[{id, kind, worker_id, order_id,
  raised_at, reason, status}, ...]` (plus `severity`, `note`, `acknowledged_at`)
- `POST /api/v1/alerts/{id}/ack` with `{"note": "…"}` → 200 and the alert.

Ranges follow the positions API (ISO 8601 with a zone, default the last 24 hours, at most 31 days).
A field worker sees only their own events and alerts; office users see everyone's; dispatchers and
admins acknowledge.
"""

from __future__ import annotations

from datetime import timedelta

import flask

from console.api import _iso_arg  # the positions view's parsing of `from` / `to`, shared on purpose
from console.auth import Auth, deny
from console.request_body import MAX_ID, ignored_keys
from dispatch.access import Action, Role
from dispatch.geofences import FenceEventType
from services.alerts_service import AlertsService, alert_json, alerts_json
from services.live_service import MAX_HISTORY

_EVENT_TYPES = {FenceEventType.ENTER: "enter", FenceEventType.EXIT: "exit"}


def create_blueprint(*, auth: Auth, alerts: AlertsService) -> flask.Blueprint:
    bp = flask.Blueprint("api_alerts", __name__)

    @bp.get("/api/v1/workers/<int:worker_id>/events")
    def events(worker_id: int) -> flask.Response:
        actor = auth.require_worker(Action.VIEW_POSITIONS, worker_id)
        end = _iso_arg("to") or alerts.now()
        start = _iso_arg("from") or end - timedelta(hours=24)
        if end < start:
            deny(400, "to: is before from", "to")
        if end - start > MAX_HISTORY:
            deny(400, f"from: the range may span at most {MAX_HISTORY.days} days", "from")
        found = alerts.events(actor=actor, worker_id=worker_id, start=start, end=end)
        if found is None:
            deny(404, f"no worker with id {worker_id}")
        return flask.jsonify(
            [{"type": _EVENT_TYPES[e.type], "site_id": e.site_id, "at": e.at.isoformat()} for e in found]
        )

    @bp.get("/api/v1/alerts")
    def list_alerts() -> flask.Response:
        worker_id = _worker_arg()
        current = auth.current_actor()
        if worker_id is None and current is not None and current.role is Role.FIELD_WORKER:
            worker_id = current.worker_id  # a field worker's list is their own
        actor = auth.require(Action.VIEW_ALERTS, worker_id=worker_id)
        if worker_id is not None:
            auth.check_worker_in_scope(actor, worker_id)
        status = flask.request.args.get("status", "open")
        visible = auth.visibility(actor)
        found = alerts.list_alerts(status=status, worker_id=worker_id)
        return flask.jsonify(alerts_json([a for a in found if visible.worker(a.worker_id)]))

    @bp.post("/api/v1/alerts/<int:alert_id>/ack")
    def acknowledge(alert_id: int) -> flask.Response:
        actor = auth.require(Action.ACKNOWLEDGE_ALERTS)
        body = flask.request.get_json(silent=True)
        if not isinstance(body, dict):
            deny(400, 'body: expected a JSON object {"note": "..."}', "body")
        if not 1 <= alert_id <= MAX_ID:
            deny(404, f"no alert with id {alert_id}")
        if not auth.alert_in_scope(actor, alert_id):
            deny(404, f"no alert with id {alert_id}")
        alert = alerts.acknowledge(actor=actor, alert_id=alert_id, note=body.get("note"))
        if alert is None:
            deny(404, f"no alert with id {alert_id}")
        answer = alert_json(alert)
        if ignored := ignored_keys(body, ("note",)):
            answer["ignored"] = ignored
        return flask.jsonify(answer)

    return bp


def _worker_arg() -> int | None:
    raw = flask.request.args.get("worker_id")
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        deny(400, f"worker_id: {raw[:40]!r} is not a worker id", "worker_id")
    return int(raw)
