"""Service-report forms per order type and the approval of reports, for the API and the /forms/ page.

A manager (or an admin) saves a form as a new version of its order type (`Action.MANAGE_FORMS`,
audited); the phone gets each order's current version with its day and submits answers against
the version it had (`submit_report`, called inside the field sync). A form that needs approval
makes a submitted report `pending_approval`; a manager approves it or returns it with a note
(`Action.APPROVE_REPORTS`, audited). Each step is an order event (`report_submitted`,
`report_returned`, `report_resubmitted`, `report_approved`) with who and when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from data import audit_repo, field_repo, forms_repo, orders_repo, scope_repo, sites_repo, workers_repo
from data.db import session_scope
from dispatch.access import Actor, Visibility
from dispatch.clock import Clock
from dispatch.errors import AppError
from dispatch.fields import FieldError, refuse_unknown
from dispatch.forms import (
    DEFINITION_KEYS,
    FieldType,
    FormDefinition,
    Problem,
    Refusal,
    ReportStatus,
    ReviewDecision,
    check_answers,
    parse_definition,
    review_report,
    status_on_submit,
)
from dispatch.orders import OrderType

MAX_NOTE_CHARS = 2000
REPORT_STEPS = ("report_submitted", "report_returned", "report_resubmitted", "report_approved")


class FormsError(AppError):
    """An expected refusal: HTTP status, the reason and the field at fault (if any)."""


@dataclass(frozen=True, slots=True)
class ReviewRequest:
    decision: ReviewDecision
    note: str


def parse_order_type(raw: Any, field: str = "order_type") -> str:
    try:
        return OrderType(str(raw)).value
    except ValueError:
        raise FormsError(400, f"{field}: {str(raw)[:40]!r} is not one of {', '.join(OrderType)}", field) from None


def parse_review(body: dict[str, Any]) -> ReviewRequest:
    """`{"decision": "approve"|"return", "note": "..."}`; FormsError 400 naming the field otherwise."""
    _refuse_unknown(body, ("decision", "note"))
    try:
        decision = ReviewDecision(str(body.get("decision")))
    except ValueError:
        raise FormsError(
            400, f"decision: {str(body.get('decision'))[:40]!r} is not approve or return", "decision"
        ) from None
    note = body.get("note") or ""
    if not isinstance(note, str):
        raise FormsError(400, "note: expected text", "note")
    if len(note) > MAX_NOTE_CHARS:
        raise FormsError(400, f"note: longer than {MAX_NOTE_CHARS} characters", "note")
    if decision is ReviewDecision.RETURN and not note.strip():
        raise FormsError(400, "note: required to return a report (say what to change)", "note")
    return ReviewRequest(decision, note.strip())


def _refuse_unknown(body: dict[str, Any], known: tuple[str, ...]) -> None:
    try:
        refuse_unknown(body, known)
    except FieldError as exc:
        raise FormsError(400, str(exc), exc.field) from None


def form_json(stored: forms_repo.StoredForm) -> dict[str, Any]:
    f = stored.form
    return {
        "id": stored.id, "order_type": f.order_type, "version": f.version, "name": f.name,
        "needs_approval": f.needs_approval, "fields": [forms_repo.field_json(x) for x in f.fields],
        "created_at": stored.created_at.isoformat(),
    }  # fmt: skip


class FormsService:
    def __init__(self, *, sessions: sessionmaker[Session], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    def forms(self, *, order_type: str | None) -> list[dict[str, Any]]:
        """Every version (of one order type), newest first."""
        with session_scope(self._sessions) as session:
            return [form_json(s) for s in forms_repo.versions(session, order_type=order_type)]

    def form(self, form_id: int) -> dict[str, Any]:
        with session_scope(self._sessions) as session:
            stored = forms_repo.get_form(session, form_id)
        if stored is None:
            raise FormsError(404, f"no form with id {form_id}")
        return form_json(stored)

    def save_form(self, *, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
        """Store `body` as the next version of its order type's form; FormsError 400 naming the field."""
        _refuse_unknown(body, ("order_type", *DEFINITION_KEYS))
        order_type = parse_order_type(body.get("order_type"))
        now = self._clock.now()
        with session_scope(self._sessions) as session:
            parsed = parse_definition(body, order_type=order_type, version=forms_repo.next_version(session, order_type))
            if isinstance(parsed, Problem):
                raise FormsError(400, f"{parsed.field}: {parsed.reason}", parsed.field)
            stored = forms_repo.add_form(session, parsed, created_by=actor.id, at=now)
            audit_repo.record(
                session, actor_id=actor.id, action="save-form", subject_type="form", subject_id=stored.id,
                at=now, details={"order_type": order_type, "version": parsed.version, "fields": len(parsed.fields)},
            )  # fmt: skip
        return form_json(stored)

    def approval_queue(self, *, actor: Actor) -> list[dict[str, Any]]:
        """Reports waiting for approval, oldest first, with order, site, worker, form, answers and photos."""
        with session_scope(self._sessions) as session:
            visible = Visibility(actor, scope_repo.teams_by_worker(session))
            items = [
                self._queue_item(session, r)
                for r in forms_repo.reports_in(session, status=ReportStatus.PENDING_APPROVAL)
                if visible.worker(r.worker_id)
            ]
            audit_repo.record(
                session, actor_id=actor.id, action="view-report-approvals", subject_type="order", subject_id=None,
                at=self._clock.now(), details={"count": len(items)},
            )  # fmt: skip
        return items

    def review(self, *, actor: Actor, order_id: int, request: ReviewRequest) -> dict[str, Any]:
        """Approve or return the order's pending report; FormsError 404, or 409 when nothing is pending."""
        now = self._clock.now()
        with session_scope(self._sessions) as session:
            order = orders_repo.get_order(session, order_id)
            visible = Visibility(actor, scope_repo.teams_by_worker(session))
            if order is None or not visible.order(order.assigned_worker_id):
                raise FormsError(404, f"no order with id {order_id}")
            report = forms_repo.latest_report(session, order_id=order_id)
            if report is None:
                raise FormsError(409, f"order {order_id} has no report to review")
            moved = review_report(report.status, request.decision, request.note)
            if isinstance(moved, Refusal):
                raise FormsError(409, f"order {order_id}: {moved.reason}")
            if not forms_repo.decide_report(
                session, report.id, status=moved, note=request.note, actor_id=actor.id, at=now
            ):
                raise FormsError(409, f"order {order_id}: the report was decided meanwhile")
            step = "report_approved" if moved is ReportStatus.APPROVED else "report_returned"
            field_repo.record_event(
                session, type=step, worker_id=report.worker_id, order_id=order_id, at=now,
                details={"report_id": report.id, "note": request.note, "by_id": actor.id, "by": actor.name},
            )  # fmt: skip
            audit_repo.record(
                session, actor_id=actor.id, action="review-report", subject_type="order", subject_id=order_id,
                at=now, details={"decision": request.decision.value, "report_id": report.id},
            )  # fmt: skip
        return {"order_id": order_id, "report_id": report.id, "status": moved.value, "note": request.note,
                "by": actor.name, "at": now.isoformat()}  # fmt: skip

    def _queue_item(self, session: Session, r: forms_repo.StoredReport) -> dict[str, Any]:
        order = orders_repo.get_order(session, r.order_id)
        site = sites_repo.get_site(session, order.site_id) if order else None
        worker = workers_repo.get_worker(session, r.worker_id)
        stored = forms_repo.get_form(session, r.form_id) if r.form_id is not None else None
        return {
            "order_id": r.order_id,
            "report_id": r.id,
            "worker": {"id": r.worker_id, "name": worker.name if worker else None},
            "site": {"name": site.name, "address": site.address} if site else None,
            "form": form_json(stored) if stored else None,
            "report": field_repo.report_of(session, order_id=r.order_id),
            "photos": forms_repo.photo_urls(session, order_id=r.order_id),
            "steps": report_steps(session, order_id=r.order_id),
        }


def report_steps(session: Session, *, order_id: int) -> list[dict[str, Any]]:
    """The order's report history: submitted, returned (note), resubmitted, approved, with who and when."""
    return [
        {"step": t.removeprefix("report_"), "at": at.isoformat(), "by": d.get("by"), "note": d.get("note", "")}
        for t, at, d in field_repo.order_events(session, order_id=order_id, types=REPORT_STEPS)
    ]


@dataclass(frozen=True, slots=True)
class Submission:
    """A report's form answers accepted against the version the phone had."""

    form_id: int
    form: FormDefinition
    answers: dict[str, Any]
    status: ReportStatus


def check_submission(
    session: Session, *, order_type: str, order_id: int, report: dict[str, Any]
) -> Submission | Problem | None:
    """The report's `form_id`, `form_version` and `answers` checked against that stored version.

    None for a report without a form (an old phone page sending the fixed checklist). A phone that
    was offline while a manager saved a new version still submits against the version it had.
    """
    if report.get("form_id") is None:
        return None
    form_id, version = report.get("form_id"), report.get("form_version")
    if isinstance(form_id, bool) or not isinstance(form_id, int):
        return Problem("report.form_id", "expected a whole number")
    stored = forms_repo.get_form(session, form_id)
    if stored is None or stored.form.order_type != order_type:
        return Problem("report.form_id", f"no {order_type} form with id {form_id}")
    if version != stored.form.version:
        return Problem("report.form_version", f"form {form_id} is version {stored.form.version}, not {version!r}")
    answers = report.get("answers")
    problems = check_answers(
        stored.form, answers, uploaded_photos=frozenset(forms_repo.photo_actions(session, order_id=order_id))
    )
    if problems:
        first = problems[0]
        return Problem(f"report.{first.field}", first.reason)
    assert isinstance(answers, dict)
    return Submission(stored.id, stored.form, dict(answers), status_on_submit(stored.form))


def signature_fields(form: FormDefinition) -> list[str]:
    return [f.id for f in form.fields if f.type is FieldType.SIGNATURE]


def submitted_step(session: Session, *, order_id: int) -> str:
    """`report_resubmitted` after a manager returned the order's report, `report_submitted` otherwise."""
    previous = forms_repo.latest_report(session, order_id=order_id)
    return "report_resubmitted" if previous and previous.status is ReportStatus.RETURNED else "report_submitted"


def record_submitted(
    session: Session, *, step: str, order_id: int, worker_id: int, worker_name: str, report_id: int,
    status: ReportStatus, at: datetime, written_at: datetime,
) -> None:  # fmt: skip
    """The submission step, at the time it reached the office (after any return it answers), written when the phone says."""
    field_repo.record_event(
        session, type=step, worker_id=worker_id, order_id=order_id, at=at,
        details={"report_id": report_id, "status": status.value, "by": worker_name, "note": "",
                 "written_at": written_at.isoformat()},
    )  # fmt: skip
