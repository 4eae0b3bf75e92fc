"""Attendance over HTTP (issue #14): the worker's attendance state on the push link, the managers' late-entry
queue, day reports, timesheets (`GET /api/v1/timesheets?from=&to=&format=json|csv|xlsx&worker_id=&team=`) and
their approval, and the managers' page `/attendance/` (plain HTML and JS in `attendance/`, fed by this API)."""

from __future__ import annotations

import re
from pathlib import Path

import flask

from console.api_reports import date_arg, download, format_arg
from console.auth import Auth
from console.i18n import _, message_page, plain_page, reason
from console.request_body import json_object
from dispatch.access import Action, can
from dispatch.errors import MAX_ID, deny
from services.attendance_service import AttendanceService
from services.field_service import FieldService
from services.reports_service import export

PAGE_DIR = Path(__file__).resolve().parent / "attendance"
STATUSES = ("pending", "approved", "rejected", "all")
MAX_TEAM_CHARS = 100


def create_blueprint(*, auth: Auth, attendance: AttendanceService, field: FieldService) -> flask.Blueprint:
    bp = flask.Blueprint("attendance", __name__)

    @bp.get("/api/v1/field/<token>/attendance")
    def field_state(token: str) -> flask.Response:
        state = attendance.field_state(field.open(token))
        for reminder in state.get("reminders") or []:
            reminder["text"] = reason(reminder["text"])
        for clock in state.get("clock_events") or []:  # the verdict's reason, as the phone shows it
            if isinstance(clock.get("verdict_reason"), str):
                clock["verdict_reason"] = reason(clock["verdict_reason"])
        return flask.jsonify(state)

    @bp.post("/api/v1/field/<token>/reminders")
    def reminders(token: str) -> flask.Response:
        return flask.jsonify(attendance.set_reminders(field.open(token), json_object()))

    @bp.get("/api/v1/field/<token>/push-key")
    def push_key(token: str) -> flask.Response:
        field.open(token)
        return flask.jsonify(attendance.push_key())

    @bp.post("/api/v1/field/<token>/push-subscription")
    def push_subscription(token: str) -> tuple[flask.Response, int]:
        created = attendance.subscribe(field.open(token), json_object())
        return flask.jsonify({"subscribed": True}), 201 if created else 200

    @bp.get("/api/v1/late-entries")
    def late_entries() -> flask.Response:
        actor = auth.require(Action.APPROVE_LATE_ENTRIES)
        status = flask.request.args.get("status", "pending")
        if status not in STATUSES:
            deny(400, f"status: {status[:40]!r} is not one of {', '.join(STATUSES)}", "status")
        entries = attendance.late_entries(status=status, visible=auth.visibility(actor).worker)
        return flask.jsonify({"status": status, "late_entries": entries})

    @bp.get("/api/v1/late-entries/<int:entry_id>")
    def late_entry(entry_id: int) -> flask.Response:
        actor = auth.require(Action.APPROVE_LATE_ENTRIES)
        return flask.jsonify(
            attendance.late_entry(actor=actor, entry_id=_id(entry_id), visible=auth.visibility(actor).worker)
        )

    @bp.post("/api/v1/late-entries/<int:entry_id>/decision")
    def decide(entry_id: int) -> flask.Response:
        actor = auth.require(Action.APPROVE_LATE_ENTRIES)
        visible = auth.visibility(actor).worker
        return flask.jsonify(
            attendance.decide(actor=actor, entry_id=_id(entry_id), body=json_object(), visible=visible)
        )

    @bp.get("/api/v1/day-reports")
    def day_reports() -> flask.Response:
        actor = auth.require(Action.VIEW_DAY_REPORTS)
        start, end = date_arg("from"), date_arg("to")
        if end < start:
            deny(400, "to: before from", "to")
        team = _team()
        reports = attendance.day_reports(start=start, end=end, team=team, visible=auth.visibility(actor).worker)
        return flask.jsonify({"from": start.isoformat(), "to": end.isoformat(), "team": team, "day_reports": reports})

    @bp.get("/api/v1/timesheets")
    def timesheets() -> flask.Response:
        actor = auth.require(Action.VIEW_TIMESHEETS)
        start, end, fmt = date_arg("from"), date_arg("to"), format_arg()
        raw_worker = flask.request.args.get("worker_id")
        worker_id = None
        if raw_worker:
            if not raw_worker.isdigit() or not 1 <= int(raw_worker) <= MAX_ID:
                deny(400, f"worker_id: {raw_worker[:40]!r} is not a worker id", "worker_id")
            worker_id = int(raw_worker)
        rows = attendance.timesheets(
            start=start, end=end, worker_id=worker_id, team=_team(), visible=auth.visibility(actor).worker
        )
        if fmt == "json":  # what the page shows: its clock check in the reader's language (the files keep it raw)
            shown = [{**row, "clock_check": clock_check_text(row.get("clock_check") or "")} for row in rows]
            return flask.jsonify({"from": start.isoformat(), "to": end.isoformat(), "rows": shown})
        name = f"timesheets-{start.isoformat()}-{end.isoformat()}"
        return download(export(attendance.timesheet_table(rows), fmt=fmt, basename=name))

    @bp.post("/api/v1/timesheets/approve")
    def approve() -> tuple[flask.Response, int]:
        actor = auth.require(Action.APPROVE_TIMESHEETS)
        visible = auth.visibility(actor).worker
        return flask.jsonify(attendance.approve_timesheet(actor=actor, body=json_object(), visible=visible)), 201

    @bp.get("/attendance/")
    def page() -> flask.Response:
        decision = can(auth.current_actor(), Action.VIEW_TIMESHEETS)
        if not decision.allowed:  # a page, not JSON: a person opened it (signed out: sent to sign in before this)
            body = message_page(_("Your role may not see timesheets (managers and admins do)."))
            return flask.Response(body, status=403, mimetype="text/html")
        return flask.Response(plain_page(PAGE_DIR / "index.html", next_path="/attendance/"), mimetype="text/html")

    @bp.get("/attendance/static/<path:name>")
    def static(name: str) -> flask.Response:
        return flask.send_from_directory(PAGE_DIR, name, max_age=0)

    return bp


def _id(value: int) -> int:
    if not 1 <= value <= MAX_ID:
        deny(404, f"no late entry with id {value}")
    return value


def _team() -> str | None:
    team = flask.request.args.get("team")
    if team is not None and len(team) > MAX_TEAM_CHARS:
        deny(400, f"team: at most {MAX_TEAM_CHARS} characters", "team")
    return team or None


def clock_check_text(text: str) -> str:
    """A timesheet's clock check ("clock-in: 120 m outside the geofence of Casino; clock-out: …") in the reader's
    language: each clock's name and the verdict's reason (unchanged for an English reader)."""
    if not text:
        return text
    parts = (part.partition(": ") for part in re.split(r"; (?=clock-(?:in|out): )", text))
    return "; ".join(f"{reason(head)}: {reason(rest)}" if sep else reason(head) for head, sep, rest in parts)
