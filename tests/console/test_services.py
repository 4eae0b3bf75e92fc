"""The console's facades on a real database: what the live map draws when it (re)loads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from data import field_repo, orders_repo, sites_repo, users_repo, workers_repo
from data.db import make_sessionmaker, session_scope
from dispatch.access import Role
from dispatch.clock import ManualClock
from dispatch.geo import LatLon
from dispatch.orders import OrderType, TimeWindow
from services.live_service import Services
from tests.factories import EVERY_DAY_7_TO_19

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)


def test_a_suspicious_check_in_is_still_flagged_on_the_map_after_a_reload(db_engine: Engine) -> None:
    """Tests that the live snapshot a (re)loaded map draws carries the flag of an order's open suspicious check-in
    alert, worded as the live push words it, while an order without one carries none."""
    sessions = make_sessionmaker(db_engine)
    with session_scope(sessions) as session:
        dispatcher, _token = users_repo.create_user(session, name="desk", role=Role.DISPATCHER)
        worker = workers_repo.add_worker(session, name="Ana", device_id="ana", shifts=(EVERY_DAY_7_TO_19,))
        site = sites_repo.add_site(session, name="Casino", location=LatLon(43.7394, 7.4276))
        window = TimeWindow(NOW, NOW + timedelta(hours=2))
        flagged, plain = (
            orders_repo.add_order(session, site_id=site.id, type=OrderType.REPAIR, priority=3, window=window,
                                  service_duration_s=1800, created_at=NOW).id
            for _ in range(2)
        )  # fmt: skip
        field_repo.raise_alert(session, type="checkin_suspicious", worker_id=worker.id, order_id=flagged, at=NOW,
                               details={"verdict": "early", "reason": "checked in 240 min before the window opens",
                                        "kind": "check_in"})  # fmt: skip
    snapshot = Services(sessions=sessions, clock=ManualClock(NOW)).live_snapshot(actor=dispatcher)
    flags = {f["properties"]["order_id"]: f["properties"].get("flag") for f in snapshot.orders["features"]}
    assert flags == {flagged: "suspicious check-in: checked in 240 min before the window opens", plain: None}
