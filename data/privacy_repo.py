"""Personal data by worker and by age: consents, the retention purge, anonymising a leaver, the export.

Files (photos, signatures) are not touched here: functions that drop rows naming files return those
paths, and the caller removes the files after the commit (`realtime.retention.remove_files`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, exists, false, or_, select, update
from sqlalchemy.orm import Session

from data import positions_repo
from data.tables import (
    AlertRow,
    AuditRow,
    CheckinRow,
    ClockEventRow,
    DayReportRow,
    EventRow,
    FenceCrossingRow,
    FieldActionRow,
    LateEntryRow,
    OrderStatusHistoryRow,
    PhotoRow,
    PositionRow,
    PushSubscriptionRow,
    ReminderRow,
    ReminderSettingRow,
    ServiceReportRow,
    SurveyAnswerRow,
    TimesheetApprovalRow,
    UserRow,
    WorkerConsentRow,
    WorkerRow,
    WorkOrderRow,
)
from dispatch.privacy import Consent, ConsentSource, ConsentState, RetentionDays, anonymised_name

# --- consents ---------------------------------------------------------------------------------------


def _consent(row: WorkerConsentRow) -> Consent:
    return Consent(
        id=row.id, worker_id=row.worker_id, text_version=row.text_version, given_at=row.given_at,
        source=ConsentSource(row.source), given_by=row.given_by, withdrawn_at=row.withdrawn_at,
        withdrawn_by=row.withdrawn_by,
    )  # fmt: skip


def latest_consent(session: Session, worker_id: int) -> Consent | None:
    row = session.scalar(
        select(WorkerConsentRow)
        .where(WorkerConsentRow.worker_id == worker_id)
        .order_by(WorkerConsentRow.given_at.desc(), WorkerConsentRow.id.desc())
        .limit(1)
    )
    return _consent(row) if row is not None else None


def consents_of(session: Session, worker_id: int) -> list[Consent]:
    rows = session.scalars(
        select(WorkerConsentRow).where(WorkerConsentRow.worker_id == worker_id).order_by(WorkerConsentRow.id)
    )
    return [_consent(r) for r in rows]


def consent_states(session: Session) -> dict[int, ConsentState]:
    """Every worker's consent state (workers without a consent row: NONE)."""
    states = {wid: ConsentState.NONE for wid in session.scalars(select(WorkerRow.id))}
    # Oldest first, so each worker's newest row is the one left; plain values (every look at an order's
    # candidates reads them all, and ORM objects cost four times the query).
    rows = session.execute(
        select(WorkerConsentRow.worker_id, WorkerConsentRow.withdrawn_at).order_by(
            WorkerConsentRow.given_at, WorkerConsentRow.id
        )
    )
    for worker_id, withdrawn_at in rows:
        states[worker_id] = ConsentState.WITHDRAWN if withdrawn_at is not None else ConsentState.GIVEN
    return states


def give_consent(
    session: Session, *, worker_id: int, text_version: str, at: datetime, source: ConsentSource, by: int | None
) -> Consent:
    """Record a consent (a new row, so every version agreed to stays on record); ValueError for an unknown worker."""
    if session.get(WorkerRow, worker_id) is None:
        raise ValueError(f"worker_id: no worker with id {worker_id}")
    row = WorkerConsentRow(
        worker_id=worker_id, text_version=text_version, given_at=at, source=source.value, given_by=by
    )
    session.add(row)
    session.flush()
    return _consent(row)


def withdraw_consent(session: Session, *, worker_id: int, at: datetime, by: int | None) -> Consent | None:
    """Withdraw the worker's current consent; None when there is none to withdraw."""
    row = session.scalar(
        select(WorkerConsentRow)
        .where(WorkerConsentRow.worker_id == worker_id)
        .order_by(WorkerConsentRow.given_at.desc(), WorkerConsentRow.id.desc())
        .limit(1)
    )
    if row is None or row.withdrawn_at is not None:
        return None
    row.withdrawn_at = at
    row.withdrawn_by = by
    session.flush()
    return _consent(row)


# --- retention --------------------------------------------------------------------------------------

ORDER_RECORD_EVENTS = (
    "checkin_reviewed", "report_submitted", "report_returned", "report_resubmitted", "report_approved",
)  # fmt: skip
"""Order events that are the order's business record (who reviewed or approved what, when; no location):
kept with the order, not purged with the location-derived events (geofence crossings, alerts)."""


CROSSINGS_PURGED_AT_MOST = 50_000
"""Geofence crossings one purge deletes at most (the rest go in the next, an hour later): the keys read are held in
memory; a retention's first purge of a year of crossings is the only one that meets more."""


def _expired_crossings(session: Session, *, before: datetime) -> list[dict[str, Any]]:
    """The keys of the geofence crossings older than `before` (at most `CROSSINGS_PURGED_AT_MOST`).

    `fence_crossings` has no index on time (its key starts with the worker, migration 0022), so this reads the table
    whole: ~65 ms of CPU for 504,000 crossings, 100 workers' 180 days (bench/crossings_table.py), once per purge
    (hourly), rather than every stored crossing paying a second b-tree on the evaluator's path (bench/README.md,
    "Alerts", thirteenth session). Asked first in the purge's transaction: SQLite's driver begins a transaction only at
    its first write, so on SQLite this read takes no write lock and ingestion goes on meanwhile; the crossings are then
    deleted by their key, one seek each (`_delete_crossings`).
    """
    row = FenceCrossingRow
    found = session.execute(
        select(row.worker_id, row.site_id, row.at, row.type).where(row.at < before).limit(CROSSINGS_PURGED_AT_MOST)
    )
    return [{"w": w, "s": s, "at": at, "type": kind} for w, s, at, kind in found]


def _delete_crossings(session: Session, keys: list[dict[str, Any]]) -> int:
    if not keys:
        return 0
    table = FenceCrossingRow.__table__
    by_key = delete(table).where(
        table.c.worker_id == bindparam("w"), table.c.site_id == bindparam("s"), table.c.at == bindparam("at"),
        table.c.type == bindparam("type"),
    )  # fmt: skip
    return _count(session.execute(by_key, keys))


@dataclass(frozen=True, slots=True)
class Purged:
    """What one purge removed, per kind (rows deleted or cleared), and the files to remove after the commit."""

    counts: dict[str, int]
    files: list[str] = field(default_factory=list)


def _count(result: Any) -> int:
    return int(result.rowcount or 0)


def purge(session: Session, *, now: datetime, retention: RetentionDays) -> Purged:
    """Delete or clear every kind of personal data older than its retention at `now`, in this transaction."""
    cut = retention.cutoffs(now)
    counts: dict[str, int] = {}
    # Read before this transaction's first write, so SQLite's whole-table read holds no write lock (see below).
    expired_crossings = _expired_crossings(session, before=cut["events"])
    counts["positions"] = positions_repo.purge_positions(session, before=cut["positions"])
    # Events go with their alerts, except those behind an alert still open (someone has to act on it).
    old_events = select(EventRow.id).where(
        EventRow.at < cut["events"],
        EventRow.type.not_in(ORDER_RECORD_EVENTS),
        ~exists().where(and_(AlertRow.event_id == EventRow.id, AlertRow.status == "open")),
    )
    counts["alerts"] = _count(
        session.execute(
            delete(AlertRow).where(AlertRow.event_id.in_(old_events)).execution_options(synchronize_session=False)
        )
    )
    counts["events"] = _count(
        session.execute(
            delete(EventRow).where(EventRow.id.in_(old_events)).execution_options(synchronize_session=False)
        )
    )
    counts["fence_crossings"] = _delete_crossings(session, expired_crossings)
    counts["checkin_locations"] = _count(
        session.execute(
            update(CheckinRow)
            .where(CheckinRow.at < cut["checkins"], or_(CheckinRow.latitude.is_not(None), CheckinRow.confidence_evidence.is_not(None)))
            .values(latitude=None, longitude=None, accuracy_m=None, confidence_evidence=None)
        )
    )  # fmt: skip
    counts["clock_locations"] = _count(
        session.execute(
            update(ClockEventRow)
            .where(ClockEventRow.at < cut["checkins"], ClockEventRow.latitude.is_not(None))
            .values(latitude=None, longitude=None, accuracy_m=None)
        )
    )
    counts["status_locations"] = _count(
        session.execute(
            update(OrderStatusHistoryRow)
            .where(OrderStatusHistoryRow.at < cut["status_locations"], OrderStatusHistoryRow.latitude.is_not(None))
            .values(latitude=None, longitude=None)
        )
    )
    files: list[str] = []
    photos = list(session.scalars(select(PhotoRow).where(PhotoRow.created_at < cut["photos"])))
    files += [p for row in photos for p in (row.path, row.thumbnail_path, row.watermarked_path) if p]
    counts["photos"] = _count(session.execute(delete(PhotoRow).where(PhotoRow.id.in_([r.id for r in photos]))))
    signed = list(
        session.scalars(
            select(ServiceReportRow).where(
                ServiceReportRow.written_at < cut["signatures"],
                or_(ServiceReportRow.signature_path.is_not(None), ServiceReportRow.signed_by != ""),
            )
        )
    )
    for row in signed:
        if row.signature_path:
            files.append(row.signature_path)
        row.signature_path = None
        row.signed_by = ""
    counts["signatures"] = len(signed)
    counts["field_actions"] = _count(
        session.execute(delete(FieldActionRow).where(FieldActionRow.server_time < cut["field_actions"]))
    )
    counts["reminders"] = _count(session.execute(delete(ReminderRow).where(ReminderRow.at < cut["field_actions"])))
    counts["survey_comments"] = _count(
        session.execute(
            update(SurveyAnswerRow)
            .where(SurveyAnswerRow.answered_at < cut["surveys"], SurveyAnswerRow.comment != "")
            .values(comment="")
        )
    )
    counts["late_entry_reasons"] = _count(
        session.execute(
            update(LateEntryRow)
            .where(LateEntryRow.recorded_at < cut["attendance_notes"], LateEntryRow.status != "pending",
                   or_(LateEntryRow.reason != "", LateEntryRow.note != ""))
            .values(reason="", note="")
        )
    )  # fmt: skip
    counts["day_report_texts"] = _count(
        session.execute(
            update(DayReportRow)
            .where(DayReportRow.written_at < cut["attendance_notes"],
                   or_(DayReportRow.done != "", DayReportRow.problems != "", DayReportRow.notes != ""))
            .values(done="", problems="", notes="")
        )
    )  # fmt: skip
    inactive = select(WorkerRow.id).where(WorkerRow.active.is_(False))
    counts["push_subscriptions"] = _count(
        session.execute(
            delete(PushSubscriptionRow)
            .where(PushSubscriptionRow.worker_id.in_(inactive))
            .execution_options(synchronize_session=False)
        )
    )
    counts["audit"] = _count(session.execute(delete(AuditRow).where(AuditRow.at < cut["audit"])))
    session.flush()
    return Purged(counts, files)


# --- anonymising a leaver ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Anonymised:
    worker_id: int
    counts: dict[str, int]
    files: list[str]


def anonymised_at(session: Session, worker_id: int) -> tuple[bool, datetime | None]:
    """(whether the worker exists, when they were anonymised or None)."""
    row = session.get(WorkerRow, worker_id)
    if row is None:
        return False, None
    return True, row.anonymised_at


def anonymise(session: Session, *, worker_id: int, at: datetime) -> Anonymised:
    """Remove a leaver's personal fields and location history; orders, reports and km aggregates stay.

    Name → "Former worker #id", device id → "anonymised-<id>" (it must stay unique), home base, skills
    and shifts' tie to a person stay only as the row; positions, geofence events and their alerts,
    field actions, consents and photos are deleted; check-in and status-change coordinates, report
    signatures and survey comments about them are cleared; their login (if any) is deactivated and
    unlinked. Attendance: clock-event positions and what they wrote (late-entry reasons and notes, day reports'
    text) are cleared, reminders and push subscriptions deleted; hours figures stay for payroll (approved
    timesheets under the new name). ValueError when the worker is unknown or already anonymised.
    """
    row = session.get(WorkerRow, worker_id)
    if row is None:
        raise ValueError(f"worker_id: no worker with id {worker_id}")
    if row.anonymised_at is not None:
        raise ValueError(f"worker_id: worker {worker_id} was already anonymised at {row.anonymised_at.isoformat()}")
    counts: dict[str, int] = {}
    row.name = anonymised_name(worker_id)
    row.device_id = f"anonymised-{worker_id}"
    row.home_lat = row.home_lon = None
    row.active = False
    row.anonymised_at = at
    counts["positions"] = _count(session.execute(delete(PositionRow).where(PositionRow.worker_id == worker_id)))
    events = select(EventRow.id).where(EventRow.worker_id == worker_id)
    counts["alerts"] = _count(
        session.execute(
            delete(AlertRow)
            .where(or_(AlertRow.worker_id == worker_id, AlertRow.event_id.in_(events)))
            .execution_options(synchronize_session=False)
        )
    )
    counts["events"] = _count(session.execute(delete(EventRow).where(EventRow.worker_id == worker_id)))
    counts["fence_crossings"] = _count(
        session.execute(delete(FenceCrossingRow).where(FenceCrossingRow.worker_id == worker_id))
    )
    counts["field_actions"] = _count(
        session.execute(delete(FieldActionRow).where(FieldActionRow.worker_id == worker_id))
    )
    counts["consents"] = _count(
        session.execute(delete(WorkerConsentRow).where(WorkerConsentRow.worker_id == worker_id))
    )
    counts["checkin_locations"] = _count(
        session.execute(
            update(CheckinRow)
            .where(CheckinRow.worker_id == worker_id)
            .values(latitude=None, longitude=None, accuracy_m=None, confidence_evidence=None)
        )
    )
    their_orders = select(WorkOrderRow.id).where(WorkOrderRow.assigned_worker_id == worker_id)
    counts["status_locations"] = _count(
        session.execute(
            update(OrderStatusHistoryRow)
            .where(OrderStatusHistoryRow.order_id.in_(their_orders), OrderStatusHistoryRow.latitude.is_not(None))
            .values(latitude=None, longitude=None)
            .execution_options(synchronize_session=False)
        )
    )
    photos = list(session.scalars(select(PhotoRow).where(PhotoRow.worker_id == worker_id)))
    files = [p for r in photos for p in (r.path, r.thumbnail_path, r.watermarked_path) if p]
    counts["photos"] = _count(session.execute(delete(PhotoRow).where(PhotoRow.worker_id == worker_id)))
    reports = list(session.scalars(select(ServiceReportRow).where(ServiceReportRow.worker_id == worker_id)))
    for report in reports:
        if report.signature_path:
            files.append(report.signature_path)
        report.signature_path = None
        report.signed_by = ""
    counts["signatures"] = len(reports)
    counts["survey_comments"] = _count(
        session.execute(update(SurveyAnswerRow).where(SurveyAnswerRow.worker_id == worker_id).values(comment=""))
    )
    counts.update(_anonymise_attendance(session, worker_id, anonymised_name(worker_id)))
    for user in session.scalars(select(UserRow).where(UserRow.worker_id == worker_id)):
        user.active = False
        user.worker_id = None
        user.session_version += 1
    session.flush()
    return Anonymised(worker_id, counts, files)


def _anonymise_attendance(session: Session, worker_id: int, name: str) -> dict[str, int]:
    """A leaver's attendance: clock-event positions, what they wrote (late-entry reasons and the managers' notes on
    them, day reports' free text) are cleared; reminders, the reminder switch and push subscriptions deleted; the
    hours (clock times, decisions, km, approved timesheets' figures) stay for payroll, under the new name."""
    counts = {
        "clock_locations": _count(
            session.execute(
                update(ClockEventRow)
                .where(ClockEventRow.worker_id == worker_id)
                .values(latitude=None, longitude=None, accuracy_m=None)
            )
        ),
        "late_entry_reasons": _count(
            session.execute(update(LateEntryRow).where(LateEntryRow.worker_id == worker_id).values(reason="", note=""))
        ),
        "day_report_texts": _count(
            session.execute(
                update(DayReportRow).where(DayReportRow.worker_id == worker_id).values(done="", problems="", notes="")
            )
        ),
    }
    for table, key in ((ReminderRow, "reminders"), (ReminderSettingRow, "reminder_settings"),
                       (PushSubscriptionRow, "push_subscriptions")):  # fmt: skip
        counts[key] = _count(session.execute(delete(table).where(table.worker_id == worker_id)))
    approvals = list(session.scalars(select(TimesheetApprovalRow).where(TimesheetApprovalRow.worker_id == worker_id)))
    for approval in approvals:
        approval.figures = {**approval.figures, "worker": name}
    counts["timesheet_names"] = len(approvals)
    return counts


def delete_push_subscriptions(session: Session, *, worker_id: int) -> int:
    """Forget every Web Push subscription of the worker (deactivated: no reminders reach them any more)."""
    return _count(session.execute(delete(PushSubscriptionRow).where(PushSubscriptionRow.worker_id == worker_id)))


# --- export -----------------------------------------------------------------------------------------


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _rows(session: Session, table: Any, *where: Any, order: Any = None) -> list[dict[str, Any]]:
    query = select(table).where(*where)
    if order is not None:
        query = query.order_by(order)
    out = []
    for row in session.scalars(query):
        out.append({c.key: _iso(getattr(row, c.key)) for c in table.__table__.columns})
    return out


def export_data(session: Session, *, worker_id: int) -> dict[str, list[dict[str, Any]]] | None:
    """Everything held about a worker, table by table (rows as JSON-ready dicts); None for an unknown worker.

    Audit entries are those about the worker (subject) and those the worker's own login made.
    """
    if session.get(WorkerRow, worker_id) is None:
        return None
    user_ids = list(session.scalars(select(UserRow.id).where(UserRow.worker_id == worker_id)))
    orders = select(WorkOrderRow.id).where(WorkOrderRow.assigned_worker_id == worker_id)
    users = [{k: v for k, v in u.items() if k != "password_hash"}
             for u in _rows(session, UserRow, UserRow.worker_id == worker_id)]  # fmt: skip
    return {
        "profile": _rows(session, WorkerRow, WorkerRow.id == worker_id),
        "users": users,
        "consents": _rows(
            session, WorkerConsentRow, WorkerConsentRow.worker_id == worker_id, order=WorkerConsentRow.id
        ),
        "positions": _rows(session, PositionRow, PositionRow.worker_id == worker_id, order=PositionRow.fix_time),
        "checkins": _rows(session, CheckinRow, CheckinRow.worker_id == worker_id, order=CheckinRow.at),
        "orders": _rows(session, WorkOrderRow, WorkOrderRow.id.in_(orders), order=WorkOrderRow.id),
        "status_history": _rows(
            session, OrderStatusHistoryRow, OrderStatusHistoryRow.order_id.in_(orders), order=OrderStatusHistoryRow.id
        ),
        "service_reports": _rows(
            session, ServiceReportRow, ServiceReportRow.worker_id == worker_id, order=ServiceReportRow.id
        ),  # fmt: skip
        "photos": _rows(session, PhotoRow, PhotoRow.worker_id == worker_id, order=PhotoRow.id),
        "field_actions": _rows(session, FieldActionRow, FieldActionRow.worker_id == worker_id, order=FieldActionRow.id),
        "events": _rows(session, EventRow, EventRow.worker_id == worker_id, order=EventRow.id),
        "fence_crossings": _rows(
            session, FenceCrossingRow, FenceCrossingRow.worker_id == worker_id, order=FenceCrossingRow.at
        ),
        "alerts": _rows(session, AlertRow, AlertRow.worker_id == worker_id, order=AlertRow.id),
        "survey_answers": _rows(
            session, SurveyAnswerRow, SurveyAnswerRow.worker_id == worker_id, order=SurveyAnswerRow.id
        ),  # fmt: skip
        "clock_events": _rows(session, ClockEventRow, ClockEventRow.worker_id == worker_id, order=ClockEventRow.at),
        "late_entries": _rows(session, LateEntryRow, LateEntryRow.worker_id == worker_id, order=LateEntryRow.id),
        "day_reports": _rows(session, DayReportRow, DayReportRow.worker_id == worker_id, order=DayReportRow.day),
        "timesheets": _rows(
            session, TimesheetApprovalRow, TimesheetApprovalRow.worker_id == worker_id, order=TimesheetApprovalRow.day
        ),
        "reminders": _rows(session, ReminderRow, ReminderRow.worker_id == worker_id, order=ReminderRow.at),
        "reminder_settings": _rows(session, ReminderSettingRow, ReminderSettingRow.worker_id == worker_id),
        # Which push services reach their phones, without the subscriptions' keys (secrets, no data about them).
        "push_subscriptions": [
            {"id": r["id"], "endpoint": (r["subscription"] or {}).get("endpoint"), "created_at": r["created_at"]}
            for r in _rows(session, PushSubscriptionRow, PushSubscriptionRow.worker_id == worker_id)
        ],
        "audit": _rows(
            session,
            AuditRow,
            or_(
                and_(AuditRow.subject_type == "worker", AuditRow.subject_id == worker_id),
                AuditRow.actor_id.in_(user_ids) if user_ids else false(),
            ),
            order=AuditRow.id,
        ),  # fmt: skip
    }


def workers_named(session: Session, ids: Iterable[int]) -> dict[int, str]:
    return dict(session.execute(select(WorkerRow.id, WorkerRow.name).where(WorkerRow.id.in_(list(ids)))).all())
