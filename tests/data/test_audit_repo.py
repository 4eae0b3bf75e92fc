"""The audit log, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from data.audit_repo import AuditEntry, list_audit, record
from data.users_repo import create_user
from dispatch.access import Role

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


def test_recorded_entries_round_trip_and_filter_by_subject(session: Session) -> None:
    """Tests that entries come back equal, oldest first, and narrowed by subject type and id."""
    actor, _ = create_user(session, name="mgr", role=Role.MANAGER, now=T0)
    viewed = record(
        session,
        actor_id=actor.id,
        action="view-positions",
        subject_type="worker",
        subject_id=7,
        at=T0 + timedelta(minutes=5),
        details={"from": "2025-03-03T07:00:00Z", "count": 12},
    )
    earlier = record(session, actor_id=None, action="import", subject_type="worker", subject_id=None, at=T0)
    other = record(session, actor_id=actor.id, action="assign", subject_type="order", subject_id=7, at=T0)
    session.commit()
    session.expire_all()
    assert viewed == AuditEntry(
        viewed.id, actor.id, "view-positions", "worker", 7, T0 + timedelta(minutes=5), viewed.details
    )
    assert dict(viewed.details) == {"from": "2025-03-03T07:00:00Z", "count": 12}
    assert list_audit(session) == [earlier, other, viewed]
    assert list_audit(session, subject_type="worker") == [earlier, viewed]
    assert list_audit(session, subject_type="worker", subject_id=7) == [viewed]
    assert list_audit(session, actor_id=actor.id) == [other, viewed]


def test_bad_audit_fields_are_refused_naming_the_field(session: Session) -> None:
    """Tests that an empty action and a naive timestamp are refused by field name."""
    with pytest.raises(ValueError, match=r"^action: must not be empty"):
        record(session, actor_id=None, action="", subject_type="worker", subject_id=1, at=T0)
    with pytest.raises(ValueError, match=r"^at: must be timezone-aware"):
        record(session, actor_id=None, action="x", subject_type="worker", subject_id=1, at=datetime(2025, 3, 3))
    assert list_audit(session) == []
