"""What field workers send from their push-link page: actions (once each), check-ins, photos,
service reports; plus push-link versions (revocation) and the user row that acts for a worker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from data import alerts_repo, users_repo
from data.tables import (
    AlertRow,
    CheckinRow,
    EventRow,
    FieldActionRow,
    PhotoRow,
    PushLinkRow,
    ServiceReportRow,
    UserRow,
    WorkerRow,
)
from dispatch.access import Actor, Role
from dispatch.alerts import AlertKind, Raise, open_key
from dispatch.checkin import CheckinVerdict
from dispatch.confidence import CheckinEvidence, Confidence, Jump, PhotoEvidence, Reason, reasons_json
from dispatch.geo import LatLon
from dispatch.orders import TimeWindow


@dataclass(frozen=True, slots=True)
class Photo:
    id: int
    order_id: int
    worker_id: int
    path: str
    thumbnail_path: str
    content_type: str
    size_bytes: int
    taken_at: datetime
    watermarked_path: str | None = None
    exif_taken_at: datetime | None = None
    exif_location: LatLon | None = None


def known_action_ids(session: Session, ids: Iterable[str]) -> set[str]:
    """Which of these client action ids were already applied (or refused) before."""
    wanted = list(set(ids))
    if not wanted:
        return set()
    found: set[str] = set()
    for chunk in range(0, len(wanted), 500):
        part = wanted[chunk : chunk + 500]
        found |= set(
            session.scalars(select(FieldActionRow.client_action_id).where(FieldActionRow.client_action_id.in_(part)))
        )
    return found


def record_action(
    session: Session,
    *,
    client_action_id: str,
    worker_id: int,
    order_id: int | None,
    action: str,
    event_time: datetime,
    server_time: datetime,
    outcome: str,
    reason: str = "",
    payload: Mapping[str, Any] | None = None,
) -> None:
    """Remember an action by its client id, whatever its outcome, so a replay is recognised."""
    session.add(
        FieldActionRow(
            client_action_id=client_action_id, worker_id=worker_id, order_id=order_id, action=action,
            event_time=event_time, server_time=server_time, outcome=outcome, reason=reason, payload=dict(payload or {}),
        )
    )  # fmt: skip
    session.flush()


def add_checkin(
    session: Session,
    *,
    order_id: int,
    worker_id: int,
    kind: str,
    at: datetime,
    location: LatLon | None,
    accuracy_m: float | None,
    verdict: CheckinVerdict,
    client_action_id: str,
    confidence: Confidence | None = None,
    evidence: CheckinEvidence | None = None,
    review_status: str = "not_needed",
) -> int:
    """Store a check-in (or check-out) with its verdict and, when scored, its confidence; returns its id."""
    row = CheckinRow(
        order_id=order_id, worker_id=worker_id, kind=kind, at=at,
        latitude=location.lat if location else None, longitude=location.lon if location else None,
        accuracy_m=accuracy_m, verdict=verdict.kind.value, distance_m=verdict.distance_m,
        client_action_id=client_action_id,
        confidence_score=confidence.score if confidence else None,
        confidence_reasons=reasons_json(confidence.reasons) if confidence else None,
        confidence_evidence=evidence_json(evidence) if evidence else None, review_status=review_status,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row.id


def checkins_of(session: Session, *, order_id: int) -> list[tuple[str, str, float | None]]:
    """(kind, verdict, distance_m) of an order's check-ins and check-outs, in time order."""
    rows = session.scalars(
        select(CheckinRow).where(CheckinRow.order_id == order_id).order_by(CheckinRow.at, CheckinRow.id)
    )
    return [(r.kind, r.verdict, r.distance_m) for r in rows]


REVIEW_STATUSES = ("not_needed", "needs_review", "approved", "rejected")


@dataclass(frozen=True, slots=True)
class Checkin:
    """A stored check-in (kind "in") or check-out ("out") with its verdict, confidence and review."""

    id: int
    order_id: int
    worker_id: int
    kind: str
    at: datetime
    verdict: str
    distance_m: float | None
    score: int | None
    reasons: tuple[Reason, ...]
    review_status: str
    reviewed_by: int | None = None
    reviewed_by_name: str | None = None
    reviewed_at: datetime | None = None
    review_note: str = ""


def checkin_records(session: Session, *, order_id: int) -> list[Checkin]:
    """An order's check-ins and check-outs with confidence and review, in time order."""
    rows = session.scalars(
        select(CheckinRow).where(CheckinRow.order_id == order_id).order_by(CheckinRow.at, CheckinRow.id)
    )
    return [_checkin(session, r) for r in rows]


def get_checkin(session: Session, checkin_id: int) -> Checkin | None:
    row = session.get(CheckinRow, checkin_id)
    return _checkin(session, row) if row else None


def review_queue(session: Session, *, statuses: Iterable[str], limit: int = 200) -> list[Checkin]:
    """Check-ins in these review statuses, lowest score first, then oldest."""
    rows = session.scalars(
        select(CheckinRow)
        .where(CheckinRow.review_status.in_(list(statuses)))
        .order_by(CheckinRow.confidence_score, CheckinRow.at, CheckinRow.id)
        .limit(limit)
    )
    return [_checkin(session, r) for r in rows]


def _checkin(session: Session, row: CheckinRow) -> Checkin:
    reviewer = session.get(UserRow, row.reviewed_by) if row.reviewed_by is not None else None
    return Checkin(
        id=row.id, order_id=row.order_id, worker_id=row.worker_id, kind=row.kind, at=row.at, verdict=row.verdict,
        distance_m=row.distance_m, score=row.confidence_score,
        reasons=tuple(Reason(str(c), int(p), str(t)) for c, p, t in row.confidence_reasons or []),
        review_status=row.review_status, reviewed_by=row.reviewed_by,
        reviewed_by_name=reviewer.name if reviewer else None, reviewed_at=row.reviewed_at, review_note=row.review_note,
    )  # fmt: skip


def latest_checkin_evidence(session: Session, *, order_id: int, worker_id: int) -> tuple[int, CheckinEvidence] | None:
    """The id and stored evidence of the worker's latest scored check-in at the order (for re-scoring)."""
    row = session.scalar(
        select(CheckinRow)
        .where(
            CheckinRow.order_id == order_id, CheckinRow.worker_id == worker_id, CheckinRow.kind == "in",
            CheckinRow.confidence_evidence.is_not(None),
        )
        .order_by(CheckinRow.at.desc(), CheckinRow.id.desc())
    )  # fmt: skip
    if row is None or not row.confidence_evidence:
        return None
    return row.id, evidence_from_json(row.confidence_evidence)


def rescore_checkin(session: Session, checkin_id: int, *, confidence: Confidence, needs_review: bool) -> None:
    """Store a new score; an undecided check-in moves in or out of the review queue with it, a decided one stays."""
    row = session.get(CheckinRow, checkin_id)
    if row is None:
        raise ValueError(f"checkin_id: no check-in with id {checkin_id}")
    row.confidence_score = confidence.score
    row.confidence_reasons = reasons_json(confidence.reasons)
    if row.review_status in ("not_needed", "needs_review"):
        row.review_status = "needs_review" if needs_review else "not_needed"
    session.flush()


def decide_review(session: Session, checkin_id: int, *, status: str, note: str, actor_id: int, at: datetime) -> bool:
    """Record a manager's decision on a check-in waiting for review; False (nothing changed) when it was not waiting.

    The update is conditional on the row still waiting, so two managers deciding at once cannot both win.
    """
    if status not in ("approved", "rejected"):
        raise ValueError(f"status: {status!r} is not approved or rejected")
    result = session.execute(
        update(CheckinRow)
        .where(CheckinRow.id == checkin_id, CheckinRow.review_status == "needs_review")
        .values(review_status=status, review_note=note, reviewed_by=actor_id, reviewed_at=at)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return bool(getattr(result, "rowcount", 0) == 1)


def evidence_json(e: CheckinEvidence) -> dict[str, Any]:
    """The evidence (without photos: they are read again from their rows) as JSON-ready data."""
    return {
        "at": e.at.isoformat(), "site_name": e.site_name, "outside_by_m": e.outside_by_m, "accuracy_m": e.accuracy_m,
        "fix_age_s": e.fix_age_s, "mock": e.mock, "clock_offset_s": e.clock_offset_s,
        "window": [e.window.start.isoformat(), e.window.end.isoformat()] if e.window else None,
        "jump": [e.jump.at.isoformat(), e.jump.distance_m, e.jump.seconds, e.jump.speed_mps] if e.jump else None,
        "place": [e.place.lat, e.place.lon] if e.place else None,
    }  # fmt: skip


def evidence_from_json(d: Mapping[str, Any]) -> CheckinEvidence:
    window, jump, place = d.get("window"), d.get("jump"), d.get("place")
    return CheckinEvidence(
        at=datetime.fromisoformat(d["at"]), site_name=str(d.get("site_name", "")), outside_by_m=d.get("outside_by_m"),
        accuracy_m=d.get("accuracy_m"), fix_age_s=d.get("fix_age_s"), mock=bool(d.get("mock")),
        clock_offset_s=d.get("clock_offset_s"),
        window=TimeWindow(datetime.fromisoformat(window[0]), datetime.fromisoformat(window[1])) if window else None,
        jump=Jump(datetime.fromisoformat(jump[0]), float(jump[1]), float(jump[2]), float(jump[3])) if jump else None,
        place=LatLon(float(place[0]), float(place[1])) if place else None,
    )  # fmt: skip


def photo_evidence(session: Session, *, order_id: int, worker_id: int) -> tuple[PhotoEvidence, ...]:
    """What the EXIF of the worker's photos of the order says, in upload order."""
    rows = session.scalars(
        select(PhotoRow).where(PhotoRow.order_id == order_id, PhotoRow.worker_id == worker_id).order_by(PhotoRow.id)
    )
    return tuple(
        PhotoEvidence(
            r.id,
            r.exif_taken_at,
            LatLon(r.exif_latitude, r.exif_longitude)
            if r.exif_latitude is not None and r.exif_longitude is not None
            else None,
        )
        for r in rows
    )


def raise_alert(
    session: Session,
    *,
    type: str,
    worker_id: int | None,
    order_id: int | None,
    at: datetime,
    details: Mapping[str, Any],
) -> int:
    """Store an event and an open suspicious check-in alert for it; returns the alert id.

    While the order's suspicious check-in alert is still open, a second one raises nothing new (one
    open alert per kind, worker and order) and its id is returned.
    """
    decision = Raise(AlertKind.SUSPICIOUS_CHECK_IN, worker_id or 0, order_id, at, str(details.get("reason", "")))
    alert = alerts_repo.raise_alert(session, decision, details=dict(details), event_type=type)
    if alert is not None:
        return alert.id
    key = open_key(AlertKind.SUSPICIOUS_CHECK_IN, worker_id, order_id)
    existing = session.scalar(select(AlertRow.id).where(AlertRow.open_key == key))
    assert existing is not None
    return existing


def record_event(
    session: Session,
    *,
    type: str,
    worker_id: int | None,
    order_id: int | None,
    at: datetime,
    details: Mapping[str, Any],
) -> int:
    """Store an event in the order's (or worker's) history, with no alert; returns its id."""
    event = EventRow(type=type, worker_id=worker_id, order_id=order_id, at=at, details=dict(details))
    session.add(event)
    session.flush()
    return event.id


def order_events(
    session: Session, *, order_id: int, types: Iterable[str]
) -> list[tuple[str, datetime, dict[str, Any]]]:
    """(type, at, details) of the order's events of these types, oldest first."""
    rows = session.execute(
        select(EventRow.type, EventRow.at, EventRow.details)
        .where(EventRow.order_id == order_id, EventRow.type.in_(list(types)))
        .order_by(EventRow.at, EventRow.id)
    )
    return [(t, a, dict(d or {})) for t, a, d in rows]


def checkin_flags(session: Session, order_ids: Iterable[int]) -> dict[int, str]:
    """The flag of each order's latest suspicious check-in (or check-out) whose alert is still open, by order id.

    Worded as the live push words it ("suspicious check-in: <reason>"), so a map drawn from a snapshot
    shows what one updated live showed.
    """
    ids = list(order_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(EventRow.order_id, EventRow.details)
        .join(AlertRow, AlertRow.event_id == EventRow.id)
        .where(EventRow.type == "checkin_suspicious", AlertRow.status == "open", EventRow.order_id.in_(ids))
        .order_by(EventRow.at, EventRow.id)
    )
    flags: dict[int, str] = {}
    for order_id, details in rows:
        kind = str(details.get("kind", "check_in"))
        flags[int(order_id)] = f"suspicious check-{kind.removeprefix('check_')}: {details.get('reason', '')}"
    return flags


def add_photo(
    session: Session,
    *,
    client_action_id: str,
    order_id: int,
    worker_id: int,
    path: str,
    thumbnail_path: str,
    content_type: str,
    size_bytes: int,
    taken_at: datetime,
    created_at: datetime,
    watermarked_path: str | None = None,
    exif_taken_at: datetime | None = None,
    exif_location: LatLon | None = None,
) -> Photo:
    row = PhotoRow(
        client_action_id=client_action_id, order_id=order_id, worker_id=worker_id, path=path,
        thumbnail_path=thumbnail_path, content_type=content_type, size_bytes=size_bytes, taken_at=taken_at,
        created_at=created_at, watermarked_path=watermarked_path, exif_taken_at=exif_taken_at,
        exif_latitude=exif_location.lat if exif_location else None,
        exif_longitude=exif_location.lon if exif_location else None,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return _photo(row)


def photo_by_action(session: Session, client_action_id: str) -> Photo | None:
    row = session.scalar(select(PhotoRow).where(PhotoRow.client_action_id == client_action_id))
    return _photo(row) if row else None


def get_photo(session: Session, photo_id: int) -> Photo | None:
    row = session.get(PhotoRow, photo_id)
    return _photo(row) if row else None


def photos_of(session: Session, *, order_id: int) -> list[Photo]:
    return [
        _photo(r) for r in session.scalars(select(PhotoRow).where(PhotoRow.order_id == order_id).order_by(PhotoRow.id))
    ]


def _photo(row: PhotoRow) -> Photo:
    return Photo(
        row.id,
        row.order_id,
        row.worker_id,
        row.path,
        row.thumbnail_path,
        row.content_type,
        row.size_bytes,
        row.taken_at,
        row.watermarked_path,
        row.exif_taken_at,
        LatLon(row.exif_latitude, row.exif_longitude)
        if row.exif_latitude is not None and row.exif_longitude is not None
        else None,
    )


def add_report(
    session: Session,
    *,
    client_action_id: str,
    order_id: int,
    worker_id: int,
    text: str,
    checklist: Mapping[str, bool],
    parts: list[dict[str, Any]],
    signature_path: str | None,
    signed_by: str,
    written_at: datetime,
    created_at: datetime,
    form_id: int | None = None,
    answers: Mapping[str, Any] | None = None,
    status: str = "submitted",
) -> int:
    row = ServiceReportRow(
        client_action_id=client_action_id, order_id=order_id, worker_id=worker_id, text=text,
        checklist=dict(checklist), parts=parts, signature_path=signature_path, signed_by=signed_by,
        written_at=written_at, created_at=created_at, form_id=form_id,
        answers=dict(answers) if answers is not None else None, status=status,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row.id


def report_of(session: Session, *, order_id: int) -> dict[str, Any] | None:
    """The latest service report of an order, as plain data."""
    row = session.scalar(
        select(ServiceReportRow).where(ServiceReportRow.order_id == order_id).order_by(ServiceReportRow.id.desc())
    )
    if row is None:
        return None
    return {
        "id": row.id, "text": row.text, "checklist": row.checklist, "parts": row.parts, "signed_by": row.signed_by,
        "has_signature": row.signature_path is not None, "written_at": row.written_at.isoformat(),
        # From 0009: the form version it was filled with, the answers, and where approval stands.
        "form_id": row.form_id, "answers": row.answers, "status": row.status, "review_note": row.review_note,
        "reviewed_at": row.reviewed_at.isoformat() if row.reviewed_at else None,
    }  # fmt: skip


def link_version(session: Session, worker_id: int) -> int | None:
    """The worker's current push-link version (1 until revoked), None for an unknown worker."""
    if session.get(WorkerRow, worker_id) is None:
        return None
    row = session.get(PushLinkRow, worker_id)
    return row.version if row else 1


def revoke_links(session: Session, *, worker_id: int, at: datetime) -> int:
    """Invalidate every link issued so far for the worker; returns the new version."""
    if session.get(WorkerRow, worker_id) is None:
        raise ValueError(f"worker_id: no worker with id {worker_id}")
    row = session.get(PushLinkRow, worker_id)
    if row is None:
        row = PushLinkRow(worker_id=worker_id, version=1)
        session.add(row)
    row.version += 1
    row.revoked_at = at
    session.flush()
    return row.version


def actor_for_worker(session: Session, *, worker_id: int) -> Actor:
    """The field-worker user that acts for `worker_id` (created on first use), so history says who."""
    row = session.scalar(select(UserRow).where(UserRow.worker_id == worker_id, UserRow.role == Role.FIELD_WORKER.value))
    if row is not None:
        actor = users_repo.get_actor(session, row.id)
        assert actor is not None
        return actor
    worker = session.get(WorkerRow, worker_id)
    if worker is None:
        raise ValueError(f"worker_id: no worker with id {worker_id}")
    # No API token: this user records who acted, and nobody would hold one.
    return users_repo.add_user(session, name=f"worker-{worker_id}", role=Role.FIELD_WORKER, worker_id=worker_id)
