"""Administration over HTTP: workers (with leave), sites, users, teams, and the audit log.

`POST /api/v1/workers` with `{name, device_id, skills, ...}` answers 201 with the worker: a contract
other tools rely on. Every handler: who is calling and may they, read the body, one service call,
answer; refusals are 4xx `{"error", "field"}` (`dispatch.errors.AppError`, answered by `http_errors`), and nothing of a refused request is kept.
`GET /api/v1/workers` (any office role) keeps its keys `id, name, device_id, skills, team` and adds
`team_id, home_base, shifts, active`.
"""

from __future__ import annotations

import re
from pathlib import Path

import flask

from console.api import iso_arg
from console.auth import Auth
from console.i18n import plain_page
from console.request_body import json_object
from dispatch.access import Action, can
from dispatch.errors import MAX_ID, deny
from services.admin_service import AdminService, audit_csv

AUDIT_FORMATS = ("json", "csv")
ADMIN_DIR = Path(__file__).resolve().parent / "admin"
"""The administration screens: one static page and its script, calling the API below."""


def create_blueprint(*, auth: Auth, admin: AdminService) -> flask.Blueprint:
    bp = flask.Blueprint("admin", __name__)

    # --- the screens (sign-in is required by the app for every path outside its public ones) ---

    @bp.get("/admin/")
    def page() -> flask.Response:
        actor = auth.current_actor()
        role = actor.role.value if actor is not None else ""  # a Role value: safe inside the attribute
        html = plain_page(
            ADMIN_DIR / "index.html", next_path="/admin/", replacements={'data-role=""': f'data-role="{role}"'}
        )
        return flask.Response(html, mimetype="text/html")

    @bp.get("/admin/static/<path:name>")
    def static(name: str) -> flask.Response:
        return flask.send_from_directory(ADMIN_DIR, name, max_age=0)

    # --- workers ---

    @bp.get("/api/v1/workers")
    def workers() -> flask.Response:
        actor = auth.require(Action.VIEW_LIVE_MAP)
        return flask.jsonify(admin.workers(actor))

    @bp.post("/api/v1/workers")
    def create_worker() -> tuple[flask.Response, int]:
        actor = auth.require(Action.MANAGE_WORKERS)
        return flask.jsonify(admin.create_worker(actor=actor, body=json_object())), 201

    @bp.get("/api/v1/workers/<int:worker_id>")
    def get_worker(worker_id: int) -> flask.Response:
        actor = auth.require(Action.MANAGE_WORKERS)
        return flask.jsonify(admin.worker(worker_id, actor))

    @bp.patch("/api/v1/workers/<int:worker_id>")
    def update_worker(worker_id: int) -> flask.Response:
        actor = auth.require(Action.MANAGE_WORKERS)
        return flask.jsonify(admin.update_worker(actor=actor, worker_id=worker_id, body=json_object()))

    @bp.get("/api/v1/workers/<int:worker_id>/leaves")
    def leaves(worker_id: int) -> flask.Response:
        actor = auth.require(Action.MANAGE_WORKERS)
        return flask.jsonify(admin.leaves(worker_id, actor))

    @bp.post("/api/v1/workers/<int:worker_id>/leaves")
    def add_leave(worker_id: int) -> tuple[flask.Response, int]:
        actor = auth.require(Action.MANAGE_WORKERS)
        return flask.jsonify(admin.add_leave(actor=actor, worker_id=worker_id, body=json_object())), 201

    @bp.delete("/api/v1/workers/<int:worker_id>/leaves/<int:leave_id>")
    def delete_leave(worker_id: int, leave_id: int) -> tuple[str, int]:
        actor = auth.require(Action.MANAGE_WORKERS)
        admin.delete_leave(actor=actor, worker_id=worker_id, leave_id=leave_id)
        return "", 204

    # --- sites ---

    @bp.get("/api/v1/sites")
    def sites() -> flask.Response:
        auth.require(Action.VIEW_ORDERS)
        return flask.jsonify(admin.sites())

    @bp.post("/api/v1/sites")
    def create_site() -> tuple[flask.Response, int]:
        actor = auth.require(Action.MANAGE_SITES)
        return flask.jsonify(admin.create_site(actor=actor, body=json_object())), 201

    @bp.get("/api/v1/sites/<int:site_id>")
    def get_site(site_id: int) -> flask.Response:
        auth.require(Action.VIEW_ORDERS)
        return flask.jsonify(admin.site(site_id))

    @bp.patch("/api/v1/sites/<int:site_id>")
    def update_site(site_id: int) -> flask.Response:
        actor = auth.require(Action.MANAGE_SITES)
        return flask.jsonify(admin.update_site(actor=actor, site_id=site_id, body=json_object()))

    # --- users ---

    @bp.get("/api/v1/users")
    def users() -> flask.Response:
        auth.require(Action.MANAGE_USERS)
        return flask.jsonify(admin.users())

    @bp.post("/api/v1/users")
    def create_user() -> tuple[flask.Response, int]:
        actor = auth.require(Action.MANAGE_USERS)
        return flask.jsonify(admin.create_user(actor=actor, body=json_object())), 201

    @bp.patch("/api/v1/users/<int:user_id>")
    def update_user(user_id: int) -> flask.Response:
        actor = auth.require(Action.MANAGE_USERS)
        return flask.jsonify(admin.update_user(actor=actor, user_id=user_id, body=json_object()))

    @bp.post("/api/v1/users/<int:user_id>/password-reset")
    def reset_password(user_id: int) -> flask.Response:
        actor = auth.require(Action.MANAGE_USERS)
        return flask.jsonify(admin.reset_password(actor=actor, user_id=user_id, body=json_object(optional=True)))

    @bp.delete("/api/v1/tokens/current")
    def revoke_current_token() -> tuple[str, int]:
        actor = auth.require(Action.REVOKE_OWN_TOKEN)
        token = auth.bearer_token()
        if token is None:  # signed in with a browser session: there is no token to end (sign out instead)
            deny(400, "Authorization: this call ends the bearer token it is made with; none was sent", "Authorization")
        admin.revoke_own_token(actor=actor, token=token)
        return "", 204

    # --- teams ---

    @bp.get("/api/v1/teams")
    def teams() -> flask.Response:
        auth.require(Action.VIEW_LIVE_MAP)
        return flask.jsonify(admin.teams())

    @bp.post("/api/v1/teams")
    def create_team() -> tuple[flask.Response, int]:
        actor = auth.require(Action.MANAGE_TEAMS)
        return flask.jsonify(admin.create_team(actor=actor, body=json_object())), 201

    @bp.patch("/api/v1/teams/<int:team_id>")
    def update_team(team_id: int) -> flask.Response:
        actor = auth.require(Action.MANAGE_TEAMS)
        return flask.jsonify(admin.update_team(actor=actor, team_id=team_id, body=json_object()))

    @bp.delete("/api/v1/teams/<int:team_id>")
    def delete_team(team_id: int) -> tuple[str, int]:
        actor = auth.require(Action.MANAGE_TEAMS)
        admin.delete_team(actor=actor, team_id=team_id)
        return "", 204

    # --- the audit log ---

    @bp.get("/api/v1/audit")
    def audit() -> flask.Response:
        actor = auth.require(Action.VIEW_LOCATION_AUDIT)
        args = flask.request.args
        fmt = args.get("format") or "json"
        if fmt not in AUDIT_FORMATS:
            deny(400, f"format: {fmt[:20]!r} is not one of json, csv", "format")
        start, end = iso_arg("from"), iso_arg("to")
        if start is not None and end is not None and end < start:
            deny(400, "to: is before from", "to")
        worker_raw = args.get("worker_id") or None
        if worker_raw is not None and (
            not re.fullmatch(r"[0-9]{1,19}", worker_raw) or not 1 <= int(worker_raw) <= MAX_ID
        ):
            deny(400, f"worker_id: {worker_raw[:30]!r} is not an id", "worker_id")
        entries = admin.audit(
            actor=actor,
            location_views_only=not can(actor, Action.VIEW_AUDIT).allowed,
            start=start,
            end=end,
            actor_name=(args.get("actor") or "").strip()[:100] or None,
            action=(args.get("action") or "").strip()[:100] or None,
            worker_id=int(worker_raw) if worker_raw is not None else None,
        )
        if entries is None:
            deny(404, f"actor: no user named {args.get('actor', '')[:100]!r}", "actor")
        if fmt == "csv":
            response = flask.Response(audit_csv(entries), mimetype="text/csv")
            response.headers["Content-Disposition"] = 'attachment; filename="outfield-audit.csv"'
            return response
        return flask.jsonify({"entries": entries})

    return bp
