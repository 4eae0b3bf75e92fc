"""Form versions and report approval as stored by data/forms_repo.py, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from data import field_repo, forms_repo, orders_repo, sites_repo, users_repo, workers_repo
from dispatch.access import Role
from dispatch.forms import FieldType, FormDefinition, FormField, ReportStatus
from dispatch.geo import LatLon
from dispatch.orders import OrderType, TimeWindow

AT = datetime(2026, 12, 4, 9, 10, tzinfo=UTC)
CASINO = LatLon(43.7394, 7.4276)
METER = FormDefinition(
    "inspection", 2, "Meter inspection",
    (FormField("outcome", "Outcome", FieldType.CHOICE, True, ("ok", "fault")),
     FormField("reading", "Reading", FieldType.NUMBER, True, (), 0.0, 99999.0)),
    needs_approval=True,
)  # fmt: skip


def test_the_migration_seeds_each_order_types_checklist_as_version_1(session: Session) -> None:
    """Tests that every order type starts with its old checklist as version 1 (optional checkboxes, no approval)."""
    seeded = {s.form.order_type: s.form for s in forms_repo.versions(session)}
    assert sorted(seeded) == sorted(t.value for t in OrderType)
    repair = seeded["repair"]
    assert (repair.version, repair.needs_approval) == (1, False)
    assert [(f.id, f.label, f.type, f.required) for f in repair.fields][:2] == [
        ("fault_found", "Fault found", FieldType.CHECKBOX, False),
        ("part_replaced_or_fixed", "Part replaced or fixed", FieldType.CHECKBOX, False),
    ]


def test_a_new_version_is_current_and_the_old_one_keeps_reading(session: Session) -> None:
    """Tests that a saved form round-trips, becomes the current version, and version 1 stays as it was."""
    assert forms_repo.next_version(session, "inspection") == 2
    stored = forms_repo.add_form(session, METER, created_by=None, at=AT)
    session.commit()
    session.expire_all()
    assert forms_repo.get_form(session, stored.id) == forms_repo.StoredForm(stored.id, METER, AT, None)
    current = forms_repo.current_form(session, "inspection")
    assert current is not None and current.form == METER
    assert [s.form.version for s in forms_repo.versions(session, order_type="inspection")] == [2, 1]


def test_a_pending_report_is_decided_once(session: Session) -> None:
    """Tests that the approval queue lists an order's latest pending report and a decision is taken only once."""
    form = forms_repo.add_form(session, METER, created_by=None, at=AT)
    site = sites_repo.add_site(session, name="Casino", location=CASINO)
    worker = workers_repo.add_worker(session, name="Ines", device_id="ines-1", home_base=CASINO)
    order = orders_repo.add_order(
        session, site_id=site.id, type=OrderType.INSPECTION, priority=3, window=TimeWindow(AT, AT + timedelta(hours=2)),
        service_duration_s=1800, created_at=AT,
    )  # fmt: skip
    report_id = field_repo.add_report(
        session, client_action_id="r-1", order_id=order.id, worker_id=worker.id, text="", checklist={}, parts=[],
        signature_path=None, signed_by="", written_at=AT, created_at=AT, form_id=form.id,
        answers={"outcome": "ok", "reading": 12}, status=ReportStatus.PENDING_APPROVAL.value,
    )  # fmt: skip
    (pending,) = forms_repo.reports_in(session, status=ReportStatus.PENDING_APPROVAL)
    assert (pending.id, pending.order_id, pending.form_id) == (report_id, order.id, form.id)
    manager, _ = users_repo.create_user(session, name="Mona", role=Role.MANAGER)
    assert forms_repo.decide_report(
        session, report_id, status=ReportStatus.RETURNED, note="again", actor_id=manager.id, at=AT
    )
    assert not forms_repo.decide_report(
        session, report_id, status=ReportStatus.APPROVED, note="", actor_id=manager.id, at=AT
    )
    session.commit()
    latest = forms_repo.latest_report(session, order_id=order.id)
    assert latest is not None
    assert (latest.status, latest.review_note, latest.reviewed_by_name) == (ReportStatus.RETURNED, "again", "Mona")
    assert forms_repo.reports_in(session, status=ReportStatus.PENDING_APPROVAL) == []
    assert field_repo.report_of(session, order_id=order.id)["answers"] == {"outcome": "ok", "reading": 12}
