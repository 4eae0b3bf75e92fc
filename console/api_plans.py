"""Route-plan endpoints: start an optimisation, watch it, stop it early."""

from __future__ import annotations

from datetime import date
from typing import Any

import flask

from console.auth import Auth, deny
from console.request_body import id_list, ignored_keys, json_object, whole_id
from dispatch.access import Action
from services.plan_jobs import PlanJobs
from services.plan_review import compare_with_published
from services.plan_views import comparison_json, violation_json

PLAN_FIELDS = ("date", "seconds", "minimise", "balance_workload", "worker_ids", "order_ids")
"""The keys of a new plan's body (`POST /api/v1/plans`)."""


def create_blueprint(*, auth: Auth, jobs: PlanJobs, apply_plan: Any) -> flask.Blueprint:
    bp = flask.Blueprint("plans", __name__)

    @bp.post("/api/v1/plans")
    def start() -> tuple[flask.Response, int]:
        actor = auth.require(Action.PLAN_ROUTES)
        body = json_object()
        try:
            day = date.fromisoformat(str(body.get("date", "")))
        except ValueError:
            deny(400, f"date: {body.get('date')!r} is not a date (YYYY-MM-DD)", "date")
        seconds = body.get("seconds", 10)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            deny(400, "seconds: expected a number", "seconds")
        minimise = body.get("minimise", "time")
        if not isinstance(minimise, str):
            deny(400, "minimise: expected one of time, distance, mix", "minimise")
        balance = body.get("balance_workload", False)
        if not isinstance(balance, bool):
            deny(400, "balance_workload: expected true or false", "balance_workload")
        plan_id = jobs.start(
            actor=actor,
            day=day,
            worker_ids=_ids(body, "worker_ids"),
            order_ids=_ids(body, "order_ids"),
            seconds=float(seconds),
            minimise=minimise,
            balance_workload=balance,
        )
        answer: dict[str, Any] = {"id": plan_id, "status": "queued"}
        if ignored := ignored_keys(body, PLAN_FIELDS):
            answer["ignored"] = ignored
        return flask.jsonify(answer), 202

    @bp.get("/api/v1/plans/<int:plan_id>")
    def show(plan_id: int) -> flask.Response:
        auth.require(Action.PLAN_ROUTES)
        document = jobs.status_json(plan_id)
        if document is None:
            deny(404, f"no plan with id {plan_id}")
        return flask.jsonify(document)

    @bp.post("/api/v1/plans/<int:plan_id>/stop")
    def stop(plan_id: int) -> flask.Response:
        auth.require(Action.PLAN_ROUTES)
        if jobs.status_json(plan_id) is None:
            deny(404, f"no plan with id {plan_id}")
        return flask.jsonify({"id": plan_id, "stopping": jobs.stop(plan_id)})

    @bp.post("/api/v1/plans/<int:plan_id>/replan")
    def replan(plan_id: int) -> tuple[flask.Response, int]:
        actor = auth.require(Action.PLAN_ROUTES)
        body = json_object(optional=True, known=("seconds",))
        seconds = body.get("seconds", 5)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            deny(400, "seconds: expected a number", "seconds")
        try:
            new_id = jobs.replan(actor=actor, plan_id=plan_id, seconds=float(seconds))
        except LookupError as exc:
            deny(404, str(exc).strip("'"))
        return flask.jsonify({"id": new_id, "status": "queued", "replan_of": plan_id}), 202

    @bp.post("/api/v1/plans/<int:plan_id>/move")
    def move(plan_id: int) -> tuple[flask.Response, int]:
        actor = auth.require(Action.PLAN_ROUTES)
        body = json_object(optional=True, known=("order_id", "worker_id"))
        ids = {name: whole_id(body, name) for name in ("order_id", "worker_id")}
        try:
            moved = jobs.move(actor=actor, plan_id=plan_id, **ids)
        except LookupError as exc:
            deny(404, str(exc).strip("'"))
        document = jobs.status_json(moved.id) or {}
        return flask.jsonify({"id": moved.id, "edited_from": moved.edited_from, "plan": document.get("plan"),
                              "violations": [violation_json(v) for v in moved.violations]}), 201  # fmt: skip

    @bp.get("/api/v1/plans/<int:plan_id>/compare")
    def compare(plan_id: int) -> flask.Response:
        auth.require(Action.PLAN_ROUTES)
        status = jobs.status(plan_id)
        if status is None:
            deny(404, f"no plan with id {plan_id}")
        comparison = compare_with_published(jobs, status)
        return flask.jsonify(comparison_json(comparison) if comparison is not None else {"published_id": None})

    @bp.post("/api/v1/plans/<int:plan_id>/publish")
    def publish(plan_id: int) -> flask.Response:
        actor = auth.require(Action.PLAN_ROUTES)
        try:
            result = jobs.publish(
                actor=actor, plan_id=plan_id, apply=lambda pairs: apply_plan(actor=actor, assignments=pairs)
            )
        except LookupError as exc:
            deny(404, str(exc).strip("'"))
        return flask.jsonify(result)

    return bp


def _ids(body: dict[str, Any], name: str) -> list[int] | None:
    return id_list(body, name, reason="expected a list of ids")
