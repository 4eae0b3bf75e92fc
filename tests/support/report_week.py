"""A small known week for history and report tests: two teams, a good visit, a failed one, a late one.

Rows are written straight through `data.tables` (as a year of history would have been stored), with
the visit's fixes for the record's track.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy.orm import Session

from data.tables import (
    CheckinRow,
    CustomerRow,
    OrderStatusHistoryRow,
    PositionRow,
    SiteRow,
    UserRow,
    WorkerRow,
    WorkerShiftRow,
    WorkOrderRow,
)

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in the week: day 0 is Monday 2 March 2026."""
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


@dataclass(frozen=True)
class Week:
    ana: int
    ben: int
    good: int
    failed: int
    late: int
    site: int


def seed_week(session: Session, *, dispatcher_id: int | None = None) -> Week:
    """Ana (north) does a verified visit on time at Harbour Ltd's pump room and a late one at the
    bakery; Ben (south) fails a repair at the bakery after a check-in outside the geofence."""
    harbour = CustomerRow(name="Harbour Ltd")
    bakery_co = CustomerRow(name="Bakery Rossi")
    session.add_all([harbour, bakery_co])
    session.flush()
    pump = SiteRow(name="Pump room", customer_id=harbour.id, address="1 Quai", latitude=43.7350, longitude=7.4210)
    bakery = SiteRow(name="Bakery", customer_id=bakery_co.id, address="2 Rue", latitude=43.7400, longitude=7.4250)
    ana = WorkerRow(name="Ana Rossi", device_id="dev-ana", skills=[], team="north")
    ben = WorkerRow(name="Ben Okafor", device_id="dev-ben", skills=[], team="south")
    session.add_all([pump, bakery, ana, ben])
    session.flush()
    for w in (ana, ben):
        session.add(WorkerShiftRow(worker_id=w.id, weekdays=[0, 1, 2, 3, 4], start_time=time(8), end_time=time(16)))
    if dispatcher_id is None:
        dora = UserRow(name="dora-week", role="dispatcher", password_hash=None)
        session.add(dora)
        session.flush()
        dispatcher_id = dora.id

    def order(site: SiteRow, worker: WorkerRow, status: str, day: int, start_h: int, ref: str, kind: str) -> int:
        row = WorkOrderRow(
            reference=ref, site_id=site.id, type=kind, priority=3, required_skills=[], window_start=at(day, start_h),
            window_end=at(day, start_h + 2), service_duration_s=1800, status=status, assigned_worker_id=worker.id,
            notes=f"{kind} at {site.name}", created_at=at(day, 6),
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row.id

    def moves(order_id: int, steps: list[tuple[str, datetime]], by: int | None) -> None:
        """The history rows, and the milestones `orders_repo.save_change` keeps on the order beside them."""
        row = session.get(WorkOrderRow, order_id)
        assert row is not None
        row.assigned_at = next((w for to, w in steps if to == "assigned"), None)
        row.on_site_at = next((w for to, w in steps if to == "on_site"), None)
        row.ended_at = max((w for to, w in steps if to in ("done", "failed")), default=None)
        row.failed_once = any(to == "failed" for to, _ in steps)
        previous = "new"
        session.add(OrderStatusHistoryRow(order_id=order_id, from_status=None, to_status="new", at=at(0, 6)))
        for to, when in steps:
            session.add(
                OrderStatusHistoryRow(
                    order_id=order_id, from_status=previous, to_status=to, at=when,
                    actor_id=dispatcher_id if to == "assigned" else by, latitude=43.735 if to == "on_site" else None,
                    longitude=7.421 if to == "on_site" else None,
                )
            )  # fmt: skip
            previous = to

    good = order(pump, ana, "done", 0, 9, "W-GOOD", "repair")
    moves(good, [("assigned", at(0, 7)), ("accepted", at(0, 8)), ("en_route", at(0, 9)),
                 ("on_site", at(0, 9, 30)), ("done", at(0, 10, 30))], None)  # fmt: skip
    late = order(bakery, ana, "done", 1, 9, "W-LATE", "visit")
    moves(late, [("assigned", at(1, 7)), ("en_route", at(1, 10)), ("on_site", at(1, 11, 30)),
                 ("done", at(1, 12))], None)  # fmt: skip
    failed = order(bakery, ben, "failed", 2, 9, "W-FAIL", "repair")
    moves(failed, [("assigned", at(2, 7)), ("en_route", at(2, 9)), ("on_site", at(2, 9, 15)),
                   ("failed", at(2, 10))], None)  # fmt: skip
    checkins = [(good, ana, at(0, 9, 30), "verified"), (late, ana, at(1, 11, 30), "late"),
                (failed, ben, at(2, 9, 15), "outside_geofence")]  # fmt: skip
    for i, (order_id, worker, when, verdict) in enumerate(checkins):
        session.add(CheckinRow(order_id=order_id, worker_id=worker.id, kind="in", at=when, latitude=43.735,
                               longitude=7.421, accuracy_m=8.0, verdict=verdict, distance_m=12.0,
                               client_action_id=f"week-{i}"))  # fmt: skip
    # Ana drives 0.01° north (about 1.1 km) in ten one-minute hops to the pump room, then waits there.
    for minute in range(0, 31):
        lat = 43.7250 + 0.001 * min(minute, 10)
        session.add(
            PositionRow(
                worker_id=ana.id, device_id="dev-ana", fix_time=at(0, 9, minute), device_time=at(0, 9, minute),
                server_time=at(0, 9, minute), latitude=lat, longitude=7.4210, attributes={},
            )
        )  # fmt: skip
    session.flush()
    return Week(ana=ana.id, ben=ben.id, good=good, failed=failed, late=late, site=pump.id)
