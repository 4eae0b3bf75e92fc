"""The check-in review queue: doubtful check-ins (scored under the threshold) wait for a manager's decision.

A manager (or an admin) approves or rejects one with a note (required to reject); the decision is
kept on the check-in, written to the order's events (`checkin_reviewed`: who, when, the note) and to
the audit log. A check-in is decided once: a second decision gets 409, as does one that never
needed review. Who may review is `dispatch.access.Action.REVIEW_CHECKINS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from data import audit_repo, field_repo, orders_repo, scope_repo, sites_repo, workers_repo
from data.db import session_scope
from dispatch.access import Actor, Visibility
from dispatch.clock import Clock
from dispatch.errors import AppError
from dispatch.fields import FieldError, refuse_unknown
from services.field_service import checkin_json

QUEUE_STATUSES: dict[str, tuple[str, ...]] = {
    "pending": ("needs_review",),
    "approved": ("approved",),
    "rejected": ("rejected",),
    "all": ("needs_review", "approved", "rejected"),
}
DECISIONS = {"approve": "approved", "reject": "rejected"}
MAX_NOTE_CHARS = 2000


class ReviewError(AppError):
    """An expected refusal: HTTP status, the reason and the field at fault (if any)."""


@dataclass(frozen=True, slots=True)
class ReviewRequest:
    decision: str  # "approved" | "rejected"
    note: str


def parse_review(body: dict[str, Any]) -> ReviewRequest:
    """`{"decision": "approve"|"reject", "note": "..."}`; ReviewError 400 naming the field otherwise."""
    try:
        refuse_unknown(body, ("decision", "note"))
    except FieldError as exc:
        raise ReviewError(400, str(exc), exc.field) from None
    decision = body.get("decision")
    if not isinstance(decision, str) or decision not in DECISIONS:
        raise ReviewError(400, f"decision: {str(decision)[:40]!r} is not approve or reject", "decision")
    note = body.get("note", "")
    if note is None:
        note = ""
    if not isinstance(note, str):
        raise ReviewError(400, "note: expected text", "note")
    note = note.strip()
    if len(note) > MAX_NOTE_CHARS:
        raise ReviewError(400, f"note: longer than {MAX_NOTE_CHARS} characters", "note")
    if decision == "reject" and not note:
        raise ReviewError(400, "note: required to reject a check-in (say why)", "note")
    return ReviewRequest(DECISIONS[decision], note)


def parse_status(raw: object) -> str:
    status = raw or "pending"
    if not isinstance(status, str) or status not in QUEUE_STATUSES:
        raise ReviewError(400, f"status: {str(status)[:40]!r} is not one of {', '.join(QUEUE_STATUSES)}", "status")
    return status


class ReviewService:
    def __init__(self, *, sessions: sessionmaker[Session], clock: Clock, threshold: int) -> None:
        self._sessions = sessions
        self._clock = clock
        self.threshold = threshold

    def queue(self, *, actor: Actor, status: str) -> list[dict[str, Any]]:
        """Check-ins in the review `status` (pending first by lowest score), with order, site, worker, photos."""
        with session_scope(self._sessions) as session:
            visible = Visibility(actor, scope_repo.teams_by_worker(session))
            checkins = [
                c
                for c in field_repo.review_queue(session, statuses=QUEUE_STATUSES[status])
                if visible.worker(c.worker_id)
            ]
            items = [self._item(session, c) for c in checkins]
            audit_repo.record(
                session, actor_id=actor.id, action="view-checkin-reviews", subject_type="checkin", subject_id=None,
                at=self._clock.now(), details={"status": status, "count": len(items)},
            )  # fmt: skip
        return items

    def decide(self, *, actor: Actor, checkin_id: int, request: ReviewRequest) -> dict[str, Any]:
        """Approve or reject a check-in waiting for review; ReviewError 404 / 409 with the reason."""
        now = self._clock.now()
        with session_scope(self._sessions) as session:
            checkin = field_repo.get_checkin(session, checkin_id)
            visible = Visibility(actor, scope_repo.teams_by_worker(session))
            if checkin is None or not visible.worker(checkin.worker_id):
                raise ReviewError(404, f"no check-in with id {checkin_id}")
            if checkin.review_status != "needs_review" or not field_repo.decide_review(
                session, checkin_id, status=request.decision, note=request.note, actor_id=actor.id, at=now
            ):
                raise ReviewError(
                    409, _not_waiting(field_repo.get_checkin(session, checkin_id) or checkin, self.threshold)
                )
            field_repo.record_event(
                session, type="checkin_reviewed", worker_id=checkin.worker_id, order_id=checkin.order_id, at=now,
                details={"checkin_id": checkin_id, "decision": request.decision, "note": request.note,
                         "by_id": actor.id, "by": actor.name, "score": checkin.score},
            )  # fmt: skip
            audit_repo.record(
                session, actor_id=actor.id, action="review-checkin", subject_type="checkin", subject_id=checkin_id,
                at=now, details={"decision": request.decision, "order_id": checkin.order_id},
            )  # fmt: skip
            decided = field_repo.get_checkin(session, checkin_id)
            assert decided is not None
            return self._item(session, decided)

    def _item(self, session: Session, c: field_repo.Checkin) -> dict[str, Any]:
        order = orders_repo.get_order(session, c.order_id)
        site = sites_repo.get_site(session, order.site_id) if order else None
        worker = workers_repo.get_worker(session, c.worker_id)
        photos = field_repo.photos_of(session, order_id=c.order_id)
        return {
            **checkin_json(c),
            "order_id": c.order_id,
            "worker": {"id": c.worker_id, "name": worker.name if worker else None},
            "site": {"id": site.id, "name": site.name, "address": site.address} if site else None,
            "photos": [
                {
                    "photo_id": p.id,
                    "url": f"/api/v1/photos/{p.id}/watermarked"
                    if p.watermarked_path
                    else f"/api/v1/photos/{p.id}/thumbnail",
                }
                for p in photos
            ],  # fmt: skip
        }


def _not_waiting(c: field_repo.Checkin, threshold: int) -> str:
    if c.review_status in ("approved", "rejected"):
        when = f" at {c.reviewed_at:%Y-%m-%d %H:%M} UTC" if c.reviewed_at else ""
        return f"check-in {c.id} was already {c.review_status} by {c.reviewed_by_name or 'someone'}{when}"
    return f"check-in {c.id} scored {c.score}, not under the review threshold {threshold}: nothing to review"
