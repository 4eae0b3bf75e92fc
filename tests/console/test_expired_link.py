"""An expired push link at the HTTP edge, with the clock injected (in-process app, fakeredis bus)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import fakeredis
import pytest

from console.app import create_app
from data import orders_repo, sites_repo, users_repo, workers_repo
from data.db import make_engine, make_sessionmaker, session_scope
from data.migrate import migrate
from data.settings import Settings
from dispatch.access import Role
from dispatch.clock import ManualClock
from dispatch.geo import LatLon
from dispatch.orders import OrderStatus, OrderType, TimeWindow
from tests.factories import EVERY_DAY_7_TO_19

START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


@pytest.fixture
def app_and_clock(tmp_path: Path):
    settings = replace(
        Settings.from_env(
            {"OUTFIELD_VAR": str(tmp_path), "SECRET_KEY": "test", "OUTFIELD_OSRM_DIR": str(tmp_path / "none")}
        ),
        redis_url="redis://fake:6379/0",
    )
    migrate(settings.database_url)
    clock = ManualClock(START)
    app = create_app(settings, clock=clock)
    app.bus._redis = fakeredis.FakeRedis()  # noqa: SLF001 - unit test: no Redis server needed for this edge
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with session_scope(sessions) as session:
        _, token = users_repo.create_user(session, name="desk", role=Role.DISPATCHER)
        worker = workers_repo.add_worker(session, name="Ana", device_id="a1", skills=("gas",), shifts=(EVERY_DAY_7_TO_19,),
                                         home_base=LatLon(43.739, 7.427))  # fmt: skip
        site = sites_repo.add_site(session, name="Casino", location=LatLon(43.7394, 7.4276))
        window = TimeWindow(datetime.combine(START.date(), time(9), UTC), datetime.combine(START.date(), time(11), UTC))
        order = orders_repo.add_order(session, site_id=site.id, type=OrderType.REPAIR, priority=3, window=window,
                                      service_duration_s=1800, required_skills=("gas",), created_at=START)  # fmt: skip
    client = app.server.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert (
        client.post(
            f"/api/v1/work-orders/{order.id}/assign", json={"worker_id": worker.id}, headers=headers
        ).status_code
        == 200
    )
    return client, clock, headers, worker.id, order.id, sessions


def test_an_expired_link_is_refused_with_the_reason_and_changes_nothing(app_and_clock):
    """Tests that the day after (plus the grace period) a link answers 410 'expired' and an uploaded accept is not applied."""
    client, clock, headers, worker_id, order_id, sessions = app_and_clock
    token = client.post(f"/api/v1/workers/{worker_id}/push-link", json={}, headers=headers).get_json()["token"]
    assert client.get(f"/api/v1/field/{token}/day").status_code == 200

    clock.advance(timedelta(days=1, hours=7).total_seconds())  # past midnight + the 6 h grace
    r = client.get(f"/api/v1/field/{token}/day")
    assert r.status_code == 410 and "expired" in r.get_json()["error"]
    accept = {"client_action_id": "late-1", "order_id": order_id, "action": "accept", "at": clock.now().isoformat()}
    r = client.post(f"/api/v1/field/{token}/actions", json={"actions": [accept]})
    assert r.status_code == 410
    with session_scope(sessions) as session:
        assert orders_repo.get_order(session, order_id).status is OrderStatus.ASSIGNED
