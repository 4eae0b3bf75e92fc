"""Attendance rows: clock events, late entries, day reports, timesheet approvals (0013). Rows in, values out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.tables import (
    CheckinRow,
    ClockEventRow,
    DayReportRow,
    LateEntryRow,
    SiteRow,
    TimesheetApprovalRow,
    UserRow,
    WorkerRow,
    WorkOrderRow,
)
from dispatch.geo import LatLon


@dataclass(frozen=True, slots=True)
class ClockEvent:
    id: int
    worker_id: int
    kind: str  # "in" | "out"
    at: datetime
    verdict: str
    verdict_reason: str


@dataclass(frozen=True, slots=True)
class LateEntry:
    """A late entry with what the approval queue shows: the worker, the order's site and the decision."""

    id: int
    worker_id: int
    worker_name: str
    order_id: int
    site_name: str
    site: LatLon
    site_radius_m: float
    kind: str  # "in" | "out"
    at: datetime
    reason: str
    recorded_at: datetime
    status: str  # pending | approved | rejected
    decided_by: str | None
    decided_at: datetime | None
    note: str


@dataclass(frozen=True, slots=True)
class DayReport:
    id: int
    worker_id: int
    worker_name: str
    team: str
    day: date
    done: str
    problems: str
    km: float | None
    notes: str
    order_ids: tuple[int, ...]
    written_at: datetime


@dataclass(frozen=True, slots=True)
class CountedCheck:
    """A check-in/out that counts for hours: a phone's (not rejected in review) or an approved late entry."""

    order_id: int
    kind: str
    at: datetime
    late_entry: bool


def add_clock_event(
    session: Session, *, client_action_id: str, worker_id: int, kind: str, at: datetime, location: LatLon | None,
    accuracy_m: float | None, verdict: str, verdict_reason: str, created_at: datetime,
) -> ClockEvent:  # fmt: skip
    row = ClockEventRow(
        client_action_id=client_action_id, worker_id=worker_id, kind=kind, at=at,
        latitude=location.lat if location else None, longitude=location.lon if location else None,
        accuracy_m=accuracy_m, verdict=verdict, verdict_reason=verdict_reason, created_at=created_at,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return _clock(row)


def clock_events(session: Session, *, worker_id: int, start: datetime, end: datetime) -> list[ClockEvent]:
    """The worker's clock events in [start, end), oldest first."""
    rows = session.scalars(
        select(ClockEventRow)
        .where(ClockEventRow.worker_id == worker_id, ClockEventRow.at >= start, ClockEventRow.at < end)
        .order_by(ClockEventRow.at, ClockEventRow.id)
    )
    return [_clock(r) for r in rows]


def _clock(row: ClockEventRow) -> ClockEvent:
    return ClockEvent(row.id, row.worker_id, row.kind, row.at, row.verdict, row.verdict_reason)


def add_late_entry(
    session: Session, *, client_action_id: str, worker_id: int, order_id: int, kind: str, at: datetime, reason: str,
    recorded_at: datetime,
) -> LateEntry:  # fmt: skip
    row = LateEntryRow(
        client_action_id=client_action_id, worker_id=worker_id, order_id=order_id, kind=kind, at=at,
        reason=reason, recorded_at=recorded_at, status="pending", note="",
    )  # fmt: skip
    session.add(row)
    session.flush()
    entry = get_late_entry(session, row.id)
    assert entry is not None
    return entry


def get_late_entry(session: Session, entry_id: int) -> LateEntry | None:
    found = late_entries(session, entry_id=entry_id)
    return found[0] if found else None


def late_entries(
    session: Session, *, status: str | None = None, worker_id: int | None = None, order_id: int | None = None,
    entry_id: int | None = None,
) -> list[LateEntry]:  # fmt: skip
    """Late entries, oldest first, filtered by status, worker, order or id."""
    query = (
        select(LateEntryRow, WorkerRow.name, SiteRow, UserRow.name)
        .join(WorkerRow, WorkerRow.id == LateEntryRow.worker_id)
        .join(WorkOrderRow, WorkOrderRow.id == LateEntryRow.order_id)
        .join(SiteRow, SiteRow.id == WorkOrderRow.site_id)
        .outerjoin(UserRow, UserRow.id == LateEntryRow.decided_by)
        .order_by(LateEntryRow.recorded_at, LateEntryRow.id)
    )
    if status is not None:
        query = query.where(LateEntryRow.status == status)
    if worker_id is not None:
        query = query.where(LateEntryRow.worker_id == worker_id)
    if order_id is not None:
        query = query.where(LateEntryRow.order_id == order_id)
    if entry_id is not None:
        query = query.where(LateEntryRow.id == entry_id)
    return [
        LateEntry(
            id=row.id,
            worker_id=row.worker_id,
            worker_name=worker_name,
            order_id=row.order_id,
            site_name=site.name,
            site=LatLon(site.latitude, site.longitude),
            site_radius_m=site.geofence_radius_m,
            kind=row.kind,
            at=row.at,
            reason=row.reason,
            recorded_at=row.recorded_at,
            status=row.status,
            decided_by=by,
            decided_at=row.decided_at,
            note=row.note,
        )  # fmt: skip
        for row, worker_name, site, by in session.execute(query)
    ]


def decide_late_entry(session: Session, entry_id: int, *, approve: bool, by: int, at: datetime, note: str) -> bool:
    """Approve or reject a pending late entry; False when it is not pending (decided already)."""
    row = session.get(LateEntryRow, entry_id)
    if row is None or row.status != "pending":
        return False
    row.status = "approved" if approve else "rejected"
    row.decided_by, row.decided_at, row.note = by, at, note
    session.flush()
    return True


def counted_checks(session: Session, *, worker_id: int, start: datetime, end: datetime) -> list[CountedCheck]:
    """Check-ins/outs in [start, end) that count for hours: the phone's (unless rejected in review) and approved
    late entries; oldest first."""
    phone = session.execute(
        select(CheckinRow.order_id, CheckinRow.kind, CheckinRow.at).where(
            CheckinRow.worker_id == worker_id, CheckinRow.at >= start, CheckinRow.at < end,
            CheckinRow.review_status != "rejected",
        ).order_by(CheckinRow.at, CheckinRow.id)
    )  # fmt: skip
    late = session.execute(
        select(LateEntryRow.order_id, LateEntryRow.kind, LateEntryRow.at).where(
            LateEntryRow.worker_id == worker_id, LateEntryRow.at >= start, LateEntryRow.at < end,
            LateEntryRow.status == "approved",
        ).order_by(LateEntryRow.at, LateEntryRow.id)
    )  # fmt: skip
    checks = [CountedCheck(o, k, a, False) for o, k, a in phone] + [CountedCheck(o, k, a, True) for o, k, a in late]
    return sorted(checks, key=lambda c: c.at)


def save_day_report(
    session: Session, *, client_action_id: str, worker_id: int, day: date, done: str, problems: str,
    km: float | None, notes: str, order_ids: list[int], written_at: datetime, created_at: datetime,
) -> DayReport:  # fmt: skip
    """Store the worker's report of `day`; a second one for the same day replaces the first."""
    row = session.scalar(select(DayReportRow).where(DayReportRow.worker_id == worker_id, DayReportRow.day == day))
    if row is None:
        row = DayReportRow(worker_id=worker_id, day=day)
        session.add(row)
    row.client_action_id, row.done, row.problems, row.km, row.notes = client_action_id, done, problems, km, notes
    row.order_ids, row.written_at, row.created_at = order_ids, written_at, created_at
    session.flush()
    found = day_reports(session, start=day, end=day, worker_id=worker_id)
    return found[0]


def day_reports(
    session: Session, *, start: date, end: date, team: str | None = None, worker_id: int | None = None
) -> list[DayReport]:
    """Day reports of [start, end], by team then worker then day."""
    query = (
        select(DayReportRow, WorkerRow.name, WorkerRow.team)
        .join(WorkerRow, WorkerRow.id == DayReportRow.worker_id)
        .where(DayReportRow.day >= start, DayReportRow.day <= end)
        .order_by(WorkerRow.team, WorkerRow.name, DayReportRow.day)
    )
    if team is not None:
        query = query.where(WorkerRow.team == team)
    if worker_id is not None:
        query = query.where(DayReportRow.worker_id == worker_id)
    return [
        DayReport(
            id=r.id,
            worker_id=r.worker_id,
            worker_name=name,
            team=team_name,
            day=r.day,
            done=r.done,
            problems=r.problems,
            km=r.km,
            notes=r.notes,
            order_ids=tuple(r.order_ids or ()),
            written_at=r.written_at,
        )  # fmt: skip
        for r, name, team_name in session.execute(query)
    ]


def approve_timesheet(
    session: Session, *, worker_id: int, day: date, by: int, at: datetime, figures: dict[str, Any]
) -> bool:
    """Record a manager's approval of a worker's day; False when it was approved already."""
    if session.get(TimesheetApprovalRow, (worker_id, day)) is not None:
        return False
    session.add(TimesheetApprovalRow(worker_id=worker_id, day=day, approved_by=by, approved_at=at, figures=figures))
    session.flush()
    return True


def timesheet_approvals(
    session: Session, *, start: date, end: date
) -> dict[tuple[int, date], tuple[str, datetime, dict[str, Any]]]:
    """(worker id, day) → (approver's name, when, the figures approved) for the approved days of [start, end]."""
    rows = session.execute(
        select(TimesheetApprovalRow, UserRow.name)
        .outerjoin(UserRow, UserRow.id == TimesheetApprovalRow.approved_by)
        .where(TimesheetApprovalRow.day >= start, TimesheetApprovalRow.day <= end)
    )
    return {(r.worker_id, r.day): (name or "", r.approved_at, dict(r.figures)) for r, name in rows}
