"""The audit log: who did what to which record, and when (e.g. who viewed whose location).

Entries are append-only. `at` comes from the caller (its clock), never from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.tables import AuditRow


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
