"""The customer's link (`/c/{token}` page, `GET /api/v1/track/{token}`, the survey) and the admin's webhooks API."""

from __future__ import annotations

from pathlib import Path

import flask

from console.auth import Auth, deny
from console.i18n import plain_page
from console.request_body import MAX_ID, json_object
from dispatch.access import Action
from services.customer_service import CustomerService
from services.webhooks_service import WebhookService

CUSTOMER_DIR = Path(__file__).resolve().parent / "customer"


def create_blueprint(*, auth: Auth, customers: CustomerService, webhooks: WebhookService) -> flask.Blueprint:
    bp = flask.Blueprint("customer", __name__)

    @bp.post("/api/v1/work-orders/<int:order_id>/customer-link")
    def issue(order_id: int) -> tuple[flask.Response, int]:
        actor = auth.require(Action.MANAGE_ORDERS)
        _check_id(order_id)
        auth.check_order_in_scope(actor, order_id)
        body = json_object(optional=True, known=("send",))
        send = body.get("send", False)
        if not isinstance(send, bool):
            deny(400, "send: true or false", "send")
        link = customers.issue_link(actor=actor, order_id=order_id, send=send)
        return flask.jsonify(
            {"order_id": link.order_id, "url": link.url, "token": link.token, "expires_at": link.expires_at.isoformat()}
        ), 201

    @bp.post("/api/v1/work-orders/<int:order_id>/customer-link/revoke")
    def revoke(order_id: int) -> flask.Response:
        actor = auth.require(Action.MANAGE_ORDERS)
        _check_id(order_id)
        auth.check_order_in_scope(actor, order_id)
        return flask.jsonify({"order_id": order_id, "revoked": customers.revoke_links(actor=actor, order_id=order_id)})

    @bp.get("/api/v1/track/<token>")
    def track(token: str) -> flask.Response:
        response = flask.jsonify(customers.track(token))
        response.headers["Cache-Control"] = "no-store"
        return response

    @bp.post("/api/v1/track/<token>/survey")
    def survey(token: str) -> tuple[flask.Response, int]:
        return flask.jsonify(customers.answer(token, json_object())), 201

    @bp.get("/c/<token>")
    def page(token: str) -> flask.Response:
        response = flask.Response(
            plain_page(CUSTOMER_DIR / "index.html", next_path=f"/c/{token}"), mimetype="text/html"
        )
        response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the path
        return response

    @bp.get("/c/static/<path:name>")
    def static(name: str) -> flask.Response:
        return flask.send_from_directory(CUSTOMER_DIR, name, max_age=0)

    # --- outgoing webhooks (admin) ---

    @bp.post("/api/v1/webhooks")
    def add_webhook() -> tuple[flask.Response, int]:
        actor = auth.require(Action.MANAGE_WEBHOOKS)
        return flask.jsonify(webhooks.add(actor=actor, body=json_object())), 201

    @bp.get("/api/v1/webhooks")
    def list_webhooks() -> flask.Response:
        auth.require(Action.MANAGE_WEBHOOKS)
        return flask.jsonify(webhooks.list())

    @bp.delete("/api/v1/webhooks/<int:webhook_id>")
    def delete_webhook(webhook_id: int) -> tuple[str, int]:
        actor = auth.require(Action.MANAGE_WEBHOOKS)
        _check_id(webhook_id)
        webhooks.delete(actor=actor, webhook_id=webhook_id)
        return "", 204

    @bp.get("/api/v1/webhooks/<int:webhook_id>/deliveries")
    def deliveries(webhook_id: int) -> flask.Response:
        auth.require(Action.MANAGE_WEBHOOKS)
        _check_id(webhook_id)
        return flask.jsonify(webhooks.deliveries(webhook_id=webhook_id))

    @bp.post("/api/v1/webhook-deliveries/<int:delivery_id>/replay")
    def replay(delivery_id: int) -> tuple[flask.Response, int]:
        actor = auth.require(Action.MANAGE_WEBHOOKS)
        _check_id(delivery_id)
        return flask.jsonify(webhooks.replay(actor=actor, delivery_id=delivery_id)), 202

    return bp


def _check_id(value: int) -> None:
    if not 1 <= value <= MAX_ID:
        deny(404, f"no record with id {value}")
