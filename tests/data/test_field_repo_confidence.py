"""Check-in confidence and review as stored by data/field_repo.py, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from data import field_repo, orders_repo, sites_repo, users_repo, workers_repo
from dispatch.access import Role
from dispatch.checkin import CheckinKind, CheckinVerdict
from dispatch.confidence import CheckinEvidence, Confidence, Jump, PhotoEvidence, Reason
from dispatch.geo import LatLon
from dispatch.orders import OrderType, TimeWindow

AT = datetime(2026, 12, 4, 9, 10, tzinfo=UTC)
CASINO = LatLon(43.7394, 7.4276)
EVIDENCE = CheckinEvidence(
    at=AT,
    site_name="Casino",
    outside_by_m=950.0,
    accuracy_m=15.0,
    fix_age_s=42.0,
    window=TimeWindow(AT - timedelta(hours=1), AT + timedelta(hours=1)),
    mock=True,
    jump=Jump(AT - timedelta(seconds=20), 5000.0, 20.0, 249.0),
    clock_offset_s=-600.0,
    place=CASINO,
)
LOW = Confidence(40, (Reason("outside_geofence", 45, "the fix is 950 m outside"), Reason("clock_offset", 15, "slow")))


def stored_checkin(session: Session, *, review_status: str = "needs_review") -> tuple[int, int, int]:
    """(checkin id, order id, worker id) of a check-in scored LOW."""
    site = sites_repo.add_site(session, name="Casino", location=CASINO)
    worker = workers_repo.add_worker(session, name="Cleo", device_id="cleo-1", home_base=CASINO)
    order = orders_repo.add_order(
        session, site_id=site.id, type=OrderType.REPAIR, priority=3, window=EVIDENCE.window, service_duration_s=1800,
        created_at=AT,
    )  # fmt: skip
    checkin_id = field_repo.add_checkin(
        session, order_id=order.id, worker_id=worker.id, kind="in", at=AT, location=CASINO, accuracy_m=15.0,
        verdict=CheckinVerdict(CheckinKind.OUTSIDE_GEOFENCE, "far"), client_action_id="a-1", confidence=LOW,
        evidence=EVIDENCE, review_status=review_status,
    )  # fmt: skip
    session.commit()
    return checkin_id, order.id, worker.id


def test_a_checkins_score_reasons_and_evidence_round_trip(session: Session) -> None:
    """Tests that the stored score and reasons come back as stored, and the evidence rebuilds equal (photos apart)."""
    checkin_id, order_id, worker_id = stored_checkin(session)
    session.expire_all()
    (checkin,) = field_repo.checkin_records(session, order_id=order_id)
    assert (checkin.id, checkin.score, checkin.reasons, checkin.review_status) == (
        checkin_id,
        40,
        LOW.reasons,
        "needs_review",
    )
    found = field_repo.latest_checkin_evidence(session, order_id=order_id, worker_id=worker_id)
    assert found == (checkin_id, EVIDENCE)


def test_a_rescore_moves_an_undecided_checkin_but_never_a_decided_one(session: Session) -> None:
    """Tests that a better score takes a waiting check-in out of the queue, and that after a decision a new score
    leaves the decision standing; a second decision changes nothing."""
    checkin_id, _, _ = stored_checkin(session)
    field_repo.rescore_checkin(session, checkin_id, confidence=Confidence(80, ()), needs_review=False)
    assert field_repo.review_queue(session, statuses=["needs_review"]) == []
    field_repo.rescore_checkin(session, checkin_id, confidence=LOW, needs_review=True)
    (waiting,) = field_repo.review_queue(session, statuses=["needs_review"])
    manager, _ = users_repo.create_user(session, name="Mona", role=Role.MANAGER)
    assert field_repo.decide_review(session, checkin_id, status="rejected", note="home", actor_id=manager.id, at=AT)
    assert not field_repo.decide_review(session, checkin_id, status="approved", note="", actor_id=manager.id, at=AT)
    field_repo.rescore_checkin(session, checkin_id, confidence=Confidence(95, ()), needs_review=False)
    decided = field_repo.get_checkin(session, checkin_id)
    assert decided is not None
    assert (decided.review_status, decided.review_note, decided.reviewed_by_name, decided.score) == (
        "rejected",
        "home",
        "Mona",
        95,
    )


def test_photo_evidence_reads_exif_time_and_place(session: Session) -> None:
    """Tests that a photo's stored EXIF time and GPS come back as the scorer's evidence, and none as None."""
    _, order_id, worker_id = stored_checkin(session)
    common = {"order_id": order_id, "worker_id": worker_id, "thumbnail_path": "t", "content_type": "image/jpeg",
              "size_bytes": 10, "taken_at": AT, "created_at": AT}  # fmt: skip
    a = field_repo.add_photo(
        session, client_action_id="p-1", path="a", exif_taken_at=AT, exif_location=CASINO, **common
    )
    b = field_repo.add_photo(session, client_action_id="p-2", path="b", **common)
    assert field_repo.photo_evidence(session, order_id=order_id, worker_id=worker_id) == (
        PhotoEvidence(a.id, AT, CASINO),
        PhotoEvidence(b.id, None, None),
    )
