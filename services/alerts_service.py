"""Alerts and geofence events for the API and the wall map: listed, acknowledged, pushed live, audited.

Geofence events say where a worker was as positions do, so each read of them is audited like a
positions read (`view-events`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from data import alerts_repo, audit_repo, workers_repo
from data.db import session_scope
from dispatch.access import Actor, sees_worker
from dispatch.alerts import Alert, AlertStatus, panel_order
from dispatch.clock import Clock
from dispatch.errors import InputError
from dispatch.geofences import GeofenceEvent
from dispatch.orders import WorkOrder
from dispatch.sites import Site
from realtime.bus import ALERTS, ORDERS, Bus
from realtime.field_events import alert_message
from services import geojson

STATUS_FILTERS: dict[str, tuple[AlertStatus, ...] | None] = {
    "open": (AlertStatus.OPEN,),
    "acknowledged": (AlertStatus.ACKNOWLEDGED,),
    "all": None,
}
MAX_NOTE = 2000


class AlertInputError(InputError):
    """A field of an alerts request is unusable (400)."""


def order_changed(bus: Bus) -> Any:
    """The console's push of an order moved by a geofence arrival (the same message as any order change)."""

    def publish(order: WorkOrder, site: Site) -> None:
        feature = geojson.order_feature(order, site)
        lon, lat = feature["geometry"]["coordinates"]
        bus.publish(ORDERS, {"order": {**feature["properties"], "lat": lat, "lon": lon}, "previous_worker_id": None})

    return publish


class AlertsService:
    def __init__(self, *, sessions: sessionmaker[Session], clock: Clock, bus: Bus) -> None:
        self._sessions = sessions
        self._clock = clock
        self._bus = bus

    def now(self) -> datetime:
        return self._clock.now()

    def list_alerts(self, *, status: str, worker_id: int | None) -> list[Alert]:
        """Alerts newest first; `status` is open, acknowledged or all (anything else: AlertInputError)."""
        if status not in STATUS_FILTERS:
            raise AlertInputError("status", f"{status[:40]!r} is not one of {', '.join(STATUS_FILTERS)}")
        with session_scope(self._sessions) as session:
            return alerts_repo.list_alerts(session, statuses=STATUS_FILTERS[status], worker_id=worker_id)

    def panel(self) -> list[Alert]:
        """The open alerts as the exceptions panel lists them: most severe first, then newest."""
        with session_scope(self._sessions) as session:
            return panel_order(alerts_repo.list_alerts(session, statuses=(AlertStatus.OPEN,)))

    def acknowledge(self, *, actor: Actor, alert_id: int, note: Any) -> Alert | None:
        """Acknowledge an open alert with a note (pushed to every console); None for an unknown alert."""
        if not isinstance(note, str) or not note.strip():
            raise AlertInputError("note", "say what was done about the alert (a non-empty text)")
        if len(note) > MAX_NOTE:
            raise AlertInputError("note", f"longer than {MAX_NOTE} characters")
        with session_scope(self._sessions) as session:
            alert = alerts_repo.acknowledge(
                session, alert_id, user_id=actor.id, note=note.strip(), at=self._clock.now()
            )
            if alert is not None:
                audit_repo.record(
                    session, actor_id=actor.id, action="acknowledge-alert", subject_type="alert",
                    subject_id=alert_id, at=self._clock.now(), details={"kind": alert.kind.value},
                )  # fmt: skip
        if alert is not None:
            self._bus.publish(ALERTS, alert_message(alert))
        return alert

    def events(self, *, actor: Actor, worker_id: int, start: datetime, end: datetime) -> list[GeofenceEvent] | None:
        """The worker's geofence crossings in [start, end], oldest first; None for an unknown worker. Audited."""
        with session_scope(self._sessions) as session:
            worker = workers_repo.get_worker(session, worker_id)
            if worker is None or not sees_worker(actor, worker.team):
                return None
            found = alerts_repo.fence_events(session, worker_id=worker_id, start=start, end=end)
            audit_repo.record(
                session, actor_id=actor.id, action="view-events", subject_type="worker", subject_id=worker_id,
                at=self._clock.now(), details={"from": start.isoformat(), "to": end.isoformat(), "count": len(found)},
            )  # fmt: skip
        return found


def alert_json(alert: Alert) -> dict[str, Any]:
    """The API's form of an alert: the contract's fields, plus severity, note and when it was acknowledged."""
    out = alert_message(alert)
    out["acknowledged_at"] = alert.acknowledged_at.isoformat() if alert.acknowledged_at else None
    return out


def alerts_json(alerts: Iterable[Alert]) -> list[dict[str, Any]]:
    return [alert_json(a) for a in alerts]
