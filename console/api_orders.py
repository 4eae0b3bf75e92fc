"""Work-order endpoints: create, list, explain candidates, assign/override, move through the lifecycle."""

from __future__ import annotations

from typing import Any

import flask

from console.auth import Auth, deny
from console.openapi import OPENAPI
from console.request_body import id_list, ignored_keys, json_object, whole_id
from dispatch.access import Action
from dispatch.assign import AutoDispatched, ManualDispatch
from dispatch.geo import LatLon
from dispatch.lifecycle import Refused
from dispatch.orders import OrderStatus
from services.dispatch_service import DispatchService, explained_json, order_json
from services.order_input import NEW_ORDER_FIELDS, parse_new_order


def create_blueprint(*, auth: Auth, dispatch: DispatchService, list_orders: Any) -> flask.Blueprint:
    bp = flask.Blueprint("orders", __name__)

    @bp.get("/api/v1/openapi.json")
    def openapi() -> flask.Response:
        return flask.jsonify(OPENAPI)

    @bp.post("/api/v1/work-orders")
    def create() -> tuple[flask.Response, int]:
        actor = auth.require(Action.MANAGE_ORDERS)
        sent = json_object()
        created = dispatch.create_order(actor=actor, new=parse_new_order(sent))
        body = order_json(created.order)
        if ignored := ignored_keys(sent, NEW_ORDER_FIELDS):
            body["ignored"] = ignored
        decision = created.dispatch
        if isinstance(decision, AutoDispatched):
            body["dispatch"] = {"mode": "auto", "eta_s": round(decision.candidate.eta_s, 1)}
        elif isinstance(decision, ManualDispatch):
            body["dispatch"] = {"mode": "manual", "reason": decision.reason}
        else:
            body["dispatch"] = {"mode": "none", "reason": decision.reason}
        return flask.jsonify(body), 201

    @bp.get("/api/v1/work-orders")
    def index() -> flask.Response:
        actor = auth.require(Action.VIEW_ORDERS)
        raw = flask.request.args.get("status")
        try:
            statuses = [OrderStatus(s) for s in raw.split(",")] if raw else None
        except ValueError:
            deny(400, f"status: {raw!r} is not a list of {', '.join(s.value for s in OrderStatus)}", "status")
        visible = auth.visibility(actor)
        return flask.jsonify([order_json(o) for o in list_orders(statuses) if visible.order(o.assigned_worker_id)])

    @bp.get("/api/v1/work-orders/<int:order_id>")
    def show(order_id: int) -> flask.Response:
        auth.require_order(Action.VIEW_ORDERS, order_id)
        history = dispatch.history(order_id=order_id)
        orders = [o for o in list_orders(None) if o.id == order_id]
        body = order_json(orders[0])
        body["history"] = [
            {"from": h.from_status.value if h.from_status else None, "to": h.to_status.value, "at": h.at.isoformat(),
             "actor_id": h.actor_id, "reason": h.reason, "source": h.source}
            for h in history
        ]  # fmt: skip
        return flask.jsonify(body)

    @bp.get("/api/v1/work-orders/<int:order_id>/candidates")
    def candidates(order_id: int) -> flask.Response:
        actor = auth.require_order(Action.VIEW_ORDERS, order_id)
        return flask.jsonify(explained_json(dispatch.candidates(actor=actor, order_id=order_id)))

    @bp.post("/api/v1/work-orders/batch-assign")
    def batch_assign() -> flask.Response:
        actor = auth.require(Action.MANAGE_ORDERS)
        body = json_object(optional=True, known=("order_ids",))
        order_ids = id_list(body, "order_ids", reason="expected a list of order ids")
        result = dispatch.batch_assign(actor=actor, order_ids=order_ids)
        return flask.jsonify(
            {"assigned": [{"order_id": o, "worker_id": w, "eta_s": round(c, 1)} for o, w, c in result.assigned],
             "unassigned": [{"order_id": o, "reason": r} for o, r in result.unassigned],
             "total_cost_s": round(result.total_cost_s, 1)}
        )  # fmt: skip

    @bp.get("/api/v1/who-is-near")
    def near() -> flask.Response:
        actor = auth.require(Action.VIEW_ORDERS)
        args = flask.request.args
        try:
            point = LatLon(float(args.get("lat", "")), float(args.get("lon", "")))
        except ValueError as exc:
            deny(400, f"lat/lon: {exc}" if "not within" in str(exc) else "lat/lon: missing or not numbers", "lat")
        try:
            n = int(args.get("n", "5"))
        except ValueError:
            deny(400, "n: not a whole number", "n")
        if not 1 <= n <= 100:
            deny(400, "n: must be within 1..100", "n")
        skills = frozenset(s.strip().lower() for s in args.get("skills", "").split(",") if s.strip())
        found = dispatch.who_is_near(actor=actor, point=point, n=n, skills=skills)
        return flask.jsonify(
            [{"worker_id": near.worker_id, "name": name, "eta_s": round(near.eta_s, 1),
              "distance_m": round(near.distance_m, 1), "origin": near.origin_kind.value} for near, name in found]
        )  # fmt: skip

    @bp.post("/api/v1/work-orders/<int:order_id>/assign")
    def assign(order_id: int) -> tuple[flask.Response, int]:
        actor = auth.require_order(Action.MANAGE_ORDERS, order_id)
        body = json_object()
        worker_id = whole_id(body, "worker_id")
        assert worker_id is not None
        reason = body.get("reason", "")
        if not isinstance(reason, str):
            deny(400, "reason: expected text", "reason")
        moved = dispatch.assign(actor=actor, order_id=order_id, worker_id=worker_id, reason=reason)
        return _moved(moved, ignored=ignored_keys(body, ("worker_id", "reason")))

    @bp.post("/api/v1/work-orders/<int:order_id>/status")
    def move(order_id: int) -> tuple[flask.Response, int]:
        actor = auth.require_order(Action.MANAGE_ORDERS, order_id)
        body = json_object(known=("status", "reason"))
        try:
            to = OrderStatus(body.get("status"))
        except (ValueError, TypeError):
            deny(
                400, f"status: {body.get('status')!r} is not one of {', '.join(s.value for s in OrderStatus)}", "status"
            )
        if to is OrderStatus.ASSIGNED:
            deny(400, "status: use POST /api/v1/work-orders/{id}/assign to assign", "status")
        reason = body.get("reason", "")
        if not isinstance(reason, str):
            deny(400, "reason: expected text", "reason")
        return _moved(dispatch.move(actor=actor, order_id=order_id, to=to, reason=reason))

    return bp


def _moved(result: Any, ignored: list[str] | None = None) -> tuple[flask.Response, int]:
    if isinstance(result, Refused):
        field = "reason" if result.reason.startswith("reason:") else "status"
        return flask.jsonify({"error": result.reason, "field": field}), 409
    body = order_json(result)
    if ignored:
        body["ignored"] = ignored
    return flask.jsonify(body), 200
