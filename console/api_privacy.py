"""Privacy endpoints: a user's team scope, a worker's consent (the office's and the worker's own link),
anonymising a leaver, and the export of everything held about a worker."""

from __future__ import annotations

from typing import Any

import flask

from console.auth import Auth, deny
from console.request_body import json_object
from dispatch.access import Action, Role, TeamScope
from dispatch.fields import refuse_unknown
from dispatch.privacy import ConsentSource, check_text_version
from services.field_service import FieldService
from services.privacy_service import PrivacyService

MAX_TEAMS = 100


def create_blueprint(*, auth: Auth, privacy: PrivacyService, field: FieldService) -> flask.Blueprint:
    bp = flask.Blueprint("api_privacy", __name__)

    @bp.put("/api/v1/users/<int:user_id>/scope")
    def set_scope(user_id: int) -> flask.Response:
        actor = auth.require(Action.MANAGE_USERS)
        changed = privacy.set_scope(actor=actor, user_id=user_id, scope=parse_scope(json_object()))
        return flask.jsonify(scope_json(changed.id, changed.scope))

    @bp.get("/api/v1/workers/<int:worker_id>/consent")
    def consent(worker_id: int) -> flask.Response:
        auth.require_worker(Action.VIEW_POSITIONS, worker_id)
        return flask.jsonify(_known(privacy.consent(worker_id), worker_id))

    @bp.post("/api/v1/workers/<int:worker_id>/consent")
    def record_consent(worker_id: int) -> flask.Response:
        actor = auth.require(Action.MANAGE_PRIVACY)
        given, version = parse_consent(json_object(), privacy.text_version)
        return flask.jsonify(privacy.record_consent(
            worker_id=worker_id, given=given, text_version=version, source=ConsentSource.PAPER, actor=actor
        ))  # fmt: skip

    @bp.get("/api/v1/field/<token>/consent")
    def own_consent(token: str) -> flask.Response:
        claims = field.open(token)
        return flask.jsonify(_known(privacy.consent(claims.worker_id), claims.worker_id))

    @bp.post("/api/v1/field/<token>/consent")
    def give_own_consent(token: str) -> flask.Response:
        claims = field.open(token)
        given, version = parse_consent(json_object(), privacy.text_version)
        return flask.jsonify(privacy.record_consent(
            worker_id=claims.worker_id, given=given, text_version=version, source=ConsentSource.LINK, actor=None
        ))  # fmt: skip

    @bp.post("/api/v1/workers/<int:worker_id>/anonymise")
    def anonymise(worker_id: int) -> flask.Response:
        actor = auth.require(Action.MANAGE_PRIVACY)
        body = json_object(known=("confirm",))
        if body.get("confirm") is not True:
            deny(
                400, "confirm: anonymising removes the worker's personal data for good; send true to confirm", "confirm"
            )
        return flask.jsonify(privacy.anonymise(actor=actor, worker_id=worker_id))

    @bp.get("/api/v1/workers/<int:worker_id>/export")
    def export(worker_id: int) -> flask.Response:
        actor = auth.current_actor()
        if actor is not None and actor.role is Role.FIELD_WORKER:
            auth.require(Action.EXPORT_OWN_DATA, worker_id=worker_id)  # their own record only
        else:
            actor = auth.require(Action.MANAGE_PRIVACY)
        return _zip(privacy.export(actor=actor, worker_id=worker_id), worker_id)

    @bp.get("/api/v1/field/<token>/export")
    def own_export(token: str) -> flask.Response:
        claims = field.open(token)
        return _zip(privacy.export(actor=None, worker_id=claims.worker_id), claims.worker_id)

    return bp


def _known(found: dict[str, Any] | None, worker_id: int) -> dict[str, Any]:
    if found is None:
        deny(404, f"no worker with id {worker_id}")
    return found


def _zip(body: bytes | None, worker_id: int) -> flask.Response:
    if body is None:
        deny(404, f"no worker with id {worker_id}")
    response = flask.Response(body, mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="worker-{worker_id}-data.zip"'
    response.headers["Cache-Control"] = "no-store"
    return response


def parse_scope(body: dict[str, Any]) -> TeamScope:
    """`{"all_teams": bool, "teams": [name, ...]}` → TeamScope; 400 naming the field otherwise."""
    refuse_unknown(body, ("all_teams", "teams"))
    all_teams = body.get("all_teams", False)
    if not isinstance(all_teams, bool):
        deny(400, "all_teams: true or false", "all_teams")
    teams = body.get("teams", [])
    if not isinstance(teams, list) or len(teams) > MAX_TEAMS:
        deny(400, f"teams: a list of at most {MAX_TEAMS} team names", "teams")
    for i, team in enumerate(teams):
        if not isinstance(team, str) or not team.strip() or len(team) > 100:
            deny(400, f"teams[{i}]: a team name of 1 to 100 characters", f"teams[{i}]")
    if not all_teams and not teams:
        deny(400, "teams: name at least one team, or set all_teams", "teams")
    return TeamScope(all_teams=all_teams, teams=frozenset(t.strip() for t in teams))


def scope_json(user_id: int, scope: TeamScope) -> dict[str, Any]:
    return {"user_id": user_id, "all_teams": scope.all_teams, "teams": sorted(scope.teams)}


def parse_consent(body: dict[str, Any], current_version: str) -> tuple[bool, str]:
    """`{"given": bool, "text_version": "..."}`: the version is required to give consent (and must be the
    current text's); 400 naming the field otherwise."""
    refuse_unknown(body, ("given", "text_version"))
    given = body.get("given")
    if not isinstance(given, bool):
        deny(400, "given: true to give consent, false to withdraw it", "given")
    if not given:
        return False, current_version
    try:
        version = check_text_version(body.get("text_version"))
    except ValueError as exc:
        deny(400, str(exc), "text_version")
    if version != current_version:
        deny(400, f"text_version: {version[:50]!r} is not the current consent text ({current_version})", "text_version")
    return True, version
