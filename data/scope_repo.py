"""What team scopes are decided from: each worker's team, and whom an order (or its evidence) belongs to.

The rule itself is `dispatch.access` (`sees_worker`, `sees_order`, `Visibility`); these queries only
feed it stored values.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.tables import AlertRow, CheckinRow, PhotoRow, WorkerRow, WorkOrderRow


def teams_by_worker(session: Session) -> dict[int, str]:
    """{worker id: team} of every worker ("" for no team)."""
    return {wid: team or "" for wid, team in session.execute(select(WorkerRow.id, WorkerRow.team))}


def worker_team(session: Session, worker_id: int) -> str | None:
    """The worker's team ("" for none), or None when there is no such worker."""
    row = session.get(WorkerRow, worker_id)
    return (row.team or "") if row is not None else None


def order_owner(session: Session, order_id: int) -> tuple[bool, str | None]:
    """(whether the order exists, the team of its assigned worker or None when unassigned)."""
    row = session.get(WorkOrderRow, order_id)
    if row is None:
        return False, None
    if row.assigned_worker_id is None:
        return True, None
    return True, worker_team(session, row.assigned_worker_id) or ""


def photo_worker(session: Session, photo_id: int) -> int | None:
    return session.scalar(select(PhotoRow.worker_id).where(PhotoRow.id == photo_id))


def checkin_worker(session: Session, checkin_id: int) -> int | None:
    return session.scalar(select(CheckinRow.worker_id).where(CheckinRow.id == checkin_id))


def alert_worker(session: Session, alert_id: int) -> tuple[bool, int | None]:
    row = session.get(AlertRow, alert_id)
    return (row is not None, row.worker_id if row is not None else None)
