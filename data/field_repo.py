"""What field workers send from their push-link page: actions (once each), check-ins, photos,
service reports; plus push-link versions (revocation) and the user row that acts for a worker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
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
from dispatch.geo import LatLon


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
) -> None:
    session.add(
        CheckinRow(
            order_id=order_id, worker_id=worker_id, kind=kind, at=at,
            latitude=location.lat if location else None, longitude=location.lon if location else None,
            accuracy_m=accuracy_m, verdict=verdict.kind.value, distance_m=verdict.distance_m,
            client_action_id=client_action_id,
        )
    )  # fmt: skip
    session.flush()


def checkins_of(session: Session, *, order_id: int) -> list[tuple[str, str, float | None]]:
    """(kind, verdict, distance_m) of an order's check-ins and check-outs, in time order."""
    rows = session.scalars(
        select(CheckinRow).where(CheckinRow.order_id == order_id).order_by(CheckinRow.at, CheckinRow.id)
    )
    return [(r.kind, r.verdict, r.distance_m) for r in rows]


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
) -> Photo:
    row = PhotoRow(
        client_action_id=client_action_id, order_id=order_id, worker_id=worker_id, path=path,
        thumbnail_path=thumbnail_path, content_type=content_type, size_bytes=size_bytes, taken_at=taken_at,
        created_at=created_at,
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
) -> None:
    session.add(
        ServiceReportRow(
            client_action_id=client_action_id, order_id=order_id, worker_id=worker_id, text=text,
            checklist=dict(checklist), parts=parts, signature_path=signature_path, signed_by=signed_by,
            written_at=written_at, created_at=created_at,
        )
    )  # fmt: skip
    session.flush()


def report_of(session: Session, *, order_id: int) -> dict[str, Any] | None:
    """The latest service report of an order, as plain data."""
    row = session.scalar(
        select(ServiceReportRow).where(ServiceReportRow.order_id == order_id).order_by(ServiceReportRow.id.desc())
    )
    if row is None:
        return None
    return {
        "text": row.text, "checklist": row.checklist, "parts": row.parts, "signed_by": row.signed_by,
        "has_signature": row.signature_path is not None, "written_at": row.written_at.isoformat(),
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
    actor, _token = users_repo.create_user(
        session, name=f"worker-{worker_id}", role=Role.FIELD_WORKER, worker_id=worker_id
    )
    return actor
