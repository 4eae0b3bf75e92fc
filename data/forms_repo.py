"""Form versions per order type (`dispatch.forms.FormDefinition`) and the approval state of service reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.tables import FormRow, PhotoRow, ServiceReportRow, UserRow
from dispatch.forms import FieldType, FormDefinition, FormField, ReportStatus


@dataclass(frozen=True, slots=True)
class StoredForm:
    id: int
    form: FormDefinition
    created_at: datetime
    created_by: int | None


@dataclass(frozen=True, slots=True)
class StoredReport:
    """The latest report of an order, as the approval queue and the review need it."""

    id: int
    order_id: int
    worker_id: int
    form_id: int | None
    status: ReportStatus
    review_note: str
    reviewed_by_name: str | None
    reviewed_at: datetime | None


def add_form(session: Session, form: FormDefinition, *, created_by: int | None, at: datetime) -> StoredForm:
    row = FormRow(
        order_type=form.order_type, version=form.version, name=form.name, fields=[field_json(f) for f in form.fields],
        needs_approval=form.needs_approval, created_by=created_by, created_at=at,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return _stored(row)


def next_version(session: Session, order_type: str) -> int:
    latest = session.scalar(select(func.max(FormRow.version)).where(FormRow.order_type == order_type))
    return int(latest or 0) + 1


def get_form(session: Session, form_id: int) -> StoredForm | None:
    row = session.get(FormRow, form_id)
    return _stored(row) if row else None


def current_form(session: Session, order_type: str) -> StoredForm | None:
    """The newest version of the order type's form."""
    row = session.scalar(
        select(FormRow).where(FormRow.order_type == order_type).order_by(FormRow.version.desc()).limit(1)
    )
    return _stored(row) if row else None


def versions(session: Session, *, order_type: str | None = None) -> list[StoredForm]:
    """Every version (of one order type), by order type then newest first."""
    query = select(FormRow).order_by(FormRow.order_type, FormRow.version.desc())
    if order_type is not None:
        query = query.where(FormRow.order_type == order_type)
    return [_stored(r) for r in session.scalars(query)]


def latest_report(session: Session, *, order_id: int) -> StoredReport | None:
    row = session.scalar(
        select(ServiceReportRow).where(ServiceReportRow.order_id == order_id).order_by(ServiceReportRow.id.desc())
    )
    return _report(session, row) if row else None


def reports_in(session: Session, *, status: ReportStatus) -> list[StoredReport]:
    """Each order's latest report when it is in `status`, oldest first."""
    latest = select(func.max(ServiceReportRow.id)).group_by(ServiceReportRow.order_id).scalar_subquery()
    rows = session.scalars(
        select(ServiceReportRow)
        .where(ServiceReportRow.id.in_(latest), ServiceReportRow.status == status.value)
        .order_by(ServiceReportRow.created_at, ServiceReportRow.id)
    )
    return [_report(session, r) for r in rows]


def decide_report(
    session: Session, report_id: int, *, status: ReportStatus, note: str, actor_id: int, at: datetime
) -> bool:
    """Record a manager's decision on a report still pending; False when it no longer is (decided meanwhile)."""
    row = session.get(ServiceReportRow, report_id, with_for_update=True)
    if row is None or row.status != ReportStatus.PENDING_APPROVAL.value:
        return False
    row.status, row.review_note, row.reviewed_by, row.reviewed_at = status.value, note, actor_id, at
    session.flush()
    return True


def field_json(f: FormField) -> dict[str, Any]:
    out: dict[str, Any] = {"id": f.id, "label": f.label, "type": f.type.value, "required": f.required}
    if f.choices:
        out["choices"] = list(f.choices)
    if f.min_value is not None:
        out["min"] = f.min_value
    if f.max_value is not None:
        out["max"] = f.max_value
    return out


def _field(raw: dict[str, Any]) -> FormField:
    return FormField(
        str(raw["id"]), str(raw["label"]), FieldType(raw["type"]), bool(raw.get("required")),
        tuple(raw.get("choices") or ()), raw.get("min"), raw.get("max"),
    )  # fmt: skip


def _stored(row: FormRow) -> StoredForm:
    form = FormDefinition(
        row.order_type, row.version, row.name, tuple(_field(f) for f in row.fields), row.needs_approval
    )
    return StoredForm(row.id, form, row.created_at, row.created_by)


def _report(session: Session, row: ServiceReportRow) -> StoredReport:
    reviewer = session.get(UserRow, row.reviewed_by) if row.reviewed_by is not None else None
    return StoredReport(
        row.id, row.order_id, row.worker_id, row.form_id, ReportStatus(row.status), row.review_note,
        reviewer.name if reviewer else None, row.reviewed_at,
    )  # fmt: skip


def photo_actions(session: Session, *, order_id: int) -> list[str]:
    """The phone's ids (client_action_id) of the order's uploaded photos: what a photo answer refers to."""
    return list(session.scalars(select(PhotoRow.client_action_id).where(PhotoRow.order_id == order_id)))


def photo_urls(session: Session, *, order_id: int) -> dict[str, str]:
    """{the phone's photo id: the URL of its stamped copy (or thumbnail)} for the order's photos."""
    rows = session.execute(
        select(PhotoRow.id, PhotoRow.client_action_id, PhotoRow.watermarked_path).where(PhotoRow.order_id == order_id)
    )
    return {
        cid: f"/api/v1/photos/{pid}/watermarked" if stamped else f"/api/v1/photos/{pid}/thumbnail"
        for pid, cid, stamped in rows
    }
