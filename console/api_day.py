"""HTTP view of a worker's day against its plan: `GET /api/v1/workers/{id}/plan-vs-actual?date=YYYY-MM-DD`.

`date` is a local day (the worker's own zone, else the office's: plans are made per local day); it is
required. A day with no published plan is answered 200 with `has_plan: false`, `plan_id: null`, no visits, `planned_distance_m: null`, and the
actual part (every stop unplanned, the distance driven), so a tool reads one shape either way.
Same access as the other track views: a field worker sees only their own day; each read is audited
as `view-plan-vs-actual`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import flask

from console.auth import Auth, deny
from dispatch.access import Action
from dispatch.fields import outside_calendar
from dispatch.plan_actual import VisitActual
from services.day_service import DayService, WorkerDay


def create_blueprint(*, auth: Auth, days: DayService) -> flask.Blueprint:
    bp = flask.Blueprint("api_day", __name__)

    @bp.get("/api/v1/workers/<int:worker_id>/plan-vs-actual")
    def plan_vs_actual(worker_id: int) -> flask.Response:
        actor = auth.require_worker(Action.VIEW_POSITIONS, worker_id)
        day = parse_day(flask.request.args.get("date"))
        found = days.worker_day(actor=actor, worker_id=worker_id, day=day)
        if found is None:
            deny(404, f"no worker with id {worker_id}")
        return flask.jsonify(plan_vs_actual_json(found))

    return bp


def parse_day(raw: str | None) -> date:
    """`YYYY-MM-DD`, or ApiError 400 naming `date`."""
    if not raw:
        deny(400, "date: is required (YYYY-MM-DD)", "date")
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        day = date.fromisoformat(raw)
    except ValueError:
        deny(400, f"date: {raw[:40]!r} is not a day (YYYY-MM-DD)", "date")
    if (why := outside_calendar(day)) is not None:
        deny(400, f"date: {why}", "date")
    return day


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def visit_json(v: VisitActual, site_name: str) -> dict[str, Any]:
    return {
        "order_id": v.visit.order_id,
        "seq": v.visit.seq,
        "site_id": v.visit.site_id,
        "site_name": site_name,
        "window_start": v.visit.window_start.isoformat(),
        "window_end": v.visit.window_end.isoformat(),
        "planned_arrival": v.visit.planned_arrival.isoformat(),
        "planned_start": v.visit.starts.isoformat(),
        "planned_departure": v.visit.planned_departure.isoformat(),
        "actual_arrival": _iso(v.arrival),
        "arrival_source": v.arrival_source.value if v.arrival_source else None,
        "actual_departure": _iso(v.departure),
        "departure_source": v.departure_source.value if v.departure_source else None,
        "status": v.status.value,
        "late_by_window_s": v.late_by_window_s,
        "vs_plan_s": v.vs_plan_s,
    }


def plan_vs_actual_json(day: WorkerDay) -> dict[str, Any]:
    c = day.comparison
    return {
        "worker_id": day.worker_id,
        "date": day.day.isoformat(),
        "has_plan": c.plan_id is not None,
        "plan_id": c.plan_id,
        "visits": [visit_json(v, day.sites[v.visit.site_id].name) for v in c.visits],
        "missed": [v.visit.order_id for v in c.missed],
        "late": [v.visit.order_id for v in c.late],
        "unplanned_stops": [
            {
                "start": s.start.isoformat(),
                "end": s.end.isoformat(),
                "latitude": s.location.lat,
                "longitude": s.location.lon,
                "duration_s": s.duration_s,
            }
            for s in c.unplanned_stops
        ],
        "planned_distance_m": c.planned_distance_m,
        "actual_distance_m": round(c.actual_distance_m, 1),
    }
