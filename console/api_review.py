"""The check-in review queue over HTTP: list (`GET /api/v1/checkins/review`) and decide (`POST .../{id}/review`)."""

from __future__ import annotations

import flask

from console.auth import Auth, deny
from console.request_body import json_object
from dispatch.access import Action
from services.review_service import ReviewService, parse_review, parse_status


def create_blueprint(*, auth: Auth, reviews: ReviewService) -> flask.Blueprint:
    bp = flask.Blueprint("review", __name__)

    @bp.get("/api/v1/checkins/review")
    def queue() -> flask.Response:
        actor = auth.require(Action.REVIEW_CHECKINS)
        status = parse_status(flask.request.args.get("status"))
        return flask.jsonify({"status": status, "threshold": reviews.threshold,
                              "checkins": reviews.queue(actor=actor, status=status)})  # fmt: skip

    @bp.post("/api/v1/checkins/<int:checkin_id>/review")
    def decide(checkin_id: int) -> flask.Response:
        actor = auth.require(Action.REVIEW_CHECKINS)
        if not auth.checkin_in_scope(actor, checkin_id):
            deny(404, f"no check-in with id {checkin_id}")
        request = parse_review(json_object())
        return flask.jsonify(reviews.decide(actor=actor, checkin_id=checkin_id, request=request))

    return bp
