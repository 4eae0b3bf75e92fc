"""Forms per order type and report approval over HTTP.

`GET /api/v1/forms?order_type=` lists versions (office roles), `POST /api/v1/forms` saves a new
version of an order type's form and `POST /api/v1/orders/{id}/report/review` approves or returns a
pending report (managers and admins); `GET /api/v1/service-reports/pending` is the approval queue.
"""

from __future__ import annotations

import flask

from console.auth import Auth
from console.request_body import json_object
from dispatch.access import Action
from services.forms_service import FormsService, parse_order_type, parse_review


def create_blueprint(*, auth: Auth, forms: FormsService) -> flask.Blueprint:
    bp = flask.Blueprint("forms", __name__)

    @bp.get("/api/v1/forms")
    def list_forms() -> flask.Response:
        auth.require(Action.VIEW_ORDERS)
        raw = flask.request.args.get("order_type")
        order_type = parse_order_type(raw) if raw else None
        return flask.jsonify({"forms": forms.forms(order_type=order_type)})

    @bp.post("/api/v1/forms")
    def save_form() -> tuple[flask.Response, int]:
        actor = auth.require(Action.MANAGE_FORMS)
        return flask.jsonify(forms.save_form(actor=actor, body=json_object())), 201

    @bp.get("/api/v1/forms/<int:form_id>")
    def get_form(form_id: int) -> flask.Response:
        auth.require(Action.VIEW_ORDERS)
        return flask.jsonify(forms.form(form_id))

    @bp.get("/api/v1/service-reports/pending")
    def pending() -> flask.Response:
        actor = auth.require(Action.APPROVE_REPORTS)
        return flask.jsonify({"reports": forms.approval_queue(actor=actor)})

    @bp.post("/api/v1/orders/<int:order_id>/report/review")
    def review(order_id: int) -> flask.Response:
        actor = auth.require_order(Action.APPROVE_REPORTS, order_id)
        return flask.jsonify(forms.review(actor=actor, order_id=order_id, request=parse_review(json_object())))

    return bp
