"""Three months and a half of orders (January 10 to April 20, 2026) for the report sums kept per month."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from data.tables import CheckinRow, SiteRow, SurveyAnswerRow, WorkerRow, WorkOrderRow

T0 = datetime(2026, 1, 10, 6, 0, tzinfo=UTC)
STATUSES = ("assigned", "on_site", "done", "done", "done", "failed", "cancelled")
VERDICTS = ("verified", "verified", "verified", "outside_geofence", "late")
TYPES = ("repair", "visit", "inspection")


def seed_months(session: Session) -> None:
    """Orders from January into April: unassigned, unfinished, failed, with and without check-ins and ratings."""
    rng = random.Random(11)
    session.add(SiteRow(id=1, name="Port", address="", latitude=43.73, longitude=7.42, geofence_radius_m=50))
    for w in (1, 2, 3):
        session.add(WorkerRow(id=w, name=f"W{w}", device_id=f"d{w}", team="North" if w < 3 else "South"))
    session.flush()
    for i in range(1, 241):
        start = T0 + timedelta(minutes=rng.randrange(0, 100 * 24 * 60))
        created = start - timedelta(hours=rng.randrange(1, 48))
        status = rng.choice(STATUSES)
        worker = None if rng.random() < 0.1 else rng.choice((1, 2, 3))
        status = "new" if worker is None else status
        assigned = created + timedelta(seconds=rng.randrange(10, 3000)) if worker else None
        on_site = start + timedelta(minutes=rng.randrange(0, 180)) if worker and status != "assigned" else None
        ended = on_site + timedelta(minutes=rng.randrange(5, 90)) if on_site and status in ("done", "failed") else None
        session.add(
            WorkOrderRow(id=i, site_id=1, type=rng.choice(TYPES), priority=3, window_start=start,
                         window_end=start + timedelta(hours=2), service_duration_s=1800, status=status,
                         assigned_worker_id=worker, created_at=created, assigned_at=assigned, on_site_at=on_site,
                         ended_at=ended, failed_once=status == "failed" or rng.random() < 0.1)
        )  # fmt: skip
        session.flush()
        if on_site and worker:
            for kind in ["in"] * rng.randrange(1, 3) + (["out"] if ended else []):
                session.add(
                    CheckinRow(order_id=i, worker_id=worker, kind=kind, at=on_site, verdict=rng.choice(VERDICTS))
                )
        if ended and rng.random() < 0.5:
            session.add(SurveyAnswerRow(order_id=i, worker_id=worker, link_id=f"l{i}", rating=rng.randrange(1, 6),
                                        answered_at=ended))  # fmt: skip
    session.commit()
