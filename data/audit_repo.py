"""The audit log: who did what to which record, and when (e.g. who viewed whose location).

Entries are append-only. `at` comes from the caller (its clock), never from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from data.tables import AuditRow, UserRow


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit record. `actor_id` is None for the system itself; `subject_id` None for a whole kind."""

    id: int
    actor_id: int | None
    action: str
    subject_type: str
    subject_id: int | None
    at: datetime
    details: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


def _to_domain(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        actor_id=row.actor_id,
        action=row.action,
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        at=row.at,
        details=MappingProxyType(dict(row.details or {})),
    )


def recorded_since(session: Session, *, actor_id: int | None, action: str, since: datetime) -> bool:
    """Whether `actor_id` has an entry of `action` after `since`."""
    query = select(AuditRow.id).where(AuditRow.action == action, AuditRow.at > since).limit(1)
    query = query.where(AuditRow.actor_id.is_(None) if actor_id is None else AuditRow.actor_id == actor_id)
    return session.scalar(query) is not None


def record(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: int | None,
    at: datetime,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry and return it with its id; `details` must be JSON-serialisable.

    Raises ValueError naming the field for an empty `action` or `subject_type` or a naive `at`.
    """
    if not action.strip():
        raise ValueError("action: must not be empty")
    if not subject_type.strip():
        raise ValueError("subject_type: must not be empty")
    if at.tzinfo is None:
        raise ValueError("at: must be timezone-aware")
    row = AuditRow(
        actor_id=actor_id,
        action=action.strip(),
        subject_type=subject_type.strip(),
        subject_id=subject_id,
        at=at,
        details=dict(details or {}),
    )
    session.add(row)
    session.flush()
    return _to_domain(row)


def list_audit(
    session: Session, *, subject_type: str | None = None, subject_id: int | None = None, actor_id: int | None = None
) -> list[AuditEntry]:
    """Entries oldest first, narrowed to a subject kind, one subject, or one actor when given."""
    query = select(AuditRow).order_by(AuditRow.at, AuditRow.id)
    if subject_type is not None:
        query = query.where(AuditRow.subject_type == subject_type)
    if subject_id is not None:
        query = query.where(AuditRow.subject_id == subject_id)
    if actor_id is not None:
        query = query.where(AuditRow.actor_id == actor_id)
    return [_to_domain(row) for row in session.scalars(query)]


LOCATION_SUBJECTS = ("worker", "fleet")
"""A `view-…` entry about one of these is a look at someone's location (a worker's, or the whole fleet's map)."""


def search_audit(
    session: Session,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    actor_id: int | None = None,
    action: str | None = None,
    worker_id: int | None = None,
    location_views_only: bool = False,
    limit: int = 1000,
) -> list[AuditEntry]:
    """Entries newest first, narrowed by time [start, end), actor, action, subject worker.

    `worker_id` matches entries about that worker; `location_views_only` keeps the looks at
    locations (a `view-…` action about a worker or the fleet), which managers may read.
    """
    query = select(AuditRow).order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
    if start is not None:
        query = query.where(AuditRow.at >= start)
    if end is not None:
        query = query.where(AuditRow.at < end)
    if actor_id is not None:
        query = query.where(AuditRow.actor_id == actor_id)
    if action:
        query = query.where(AuditRow.action == action)
    if worker_id is not None:
        # A fleet-wide look (the live map) shows every worker, this one too.
        query = query.where(
            or_(
                (AuditRow.subject_type == "worker") & (AuditRow.subject_id == worker_id),
                AuditRow.subject_type == "fleet",
            )
            if location_views_only
            else (AuditRow.subject_type == "worker") & (AuditRow.subject_id == worker_id)
        )
    if location_views_only:
        query = query.where(AuditRow.action.startswith("view-"), AuditRow.subject_type.in_(LOCATION_SUBJECTS))
    return [_to_domain(row) for row in session.scalars(query)]


def user_names(session: Session) -> dict[int, str]:
    """Every user's name by id (for showing who an entry's actor is)."""
    return {user_id: name for user_id, name in session.execute(select(UserRow.id, UserRow.name))}
