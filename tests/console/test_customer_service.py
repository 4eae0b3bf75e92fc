"""The customer link's life: good until its expiry, refused after it, when revoked, or when not ours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from console.auth import ApiError
from data import orders_repo, sites_repo, users_repo
from data.db import make_sessionmaker, session_scope
from dispatch.access import Role
from dispatch.clock import ManualClock
from dispatch.geo import LatLon
from dispatch.orders import TimeWindow
from routing.travel import StraightLine
from services.customer_service import CustomerService

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


@pytest.fixture
def world(db_engine):
    sessions = make_sessionmaker(db_engine)
    clock = ManualClock(T0)
    with session_scope(sessions) as session:
        actor, _token = users_repo.create_user(session, name="dispatcher", role=Role.DISPATCHER, now=T0)
        site = sites_repo.add_site(session, name="S", location=LatLon(43.7, 7.4), geofence_radius_m=50)
        order = orders_repo.add_order(
            session, site_id=site.id, type="repair", priority=3, window=TimeWindow(T0, T0 + timedelta(hours=2)),
            service_duration_s=600, created_at=T0,
        )  # fmt: skip
    service = CustomerService(
        sessions=sessions, clock=clock, secret="s3cret", travel=StraightLine(), public_url="https://outfield.example/",
        link_days=7, low_rating=2,
    )  # fmt: skip
    return service, clock, order.id, actor


def refusal(call) -> tuple[int, str | None]:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value.status, caught.value.field


def test_a_link_works_until_days_after_the_window_and_is_refused_after(world):
    """Tests that the link expires `link_days` after the order's window ends, and then answers 410 naming the link."""
    service, clock, order_id, dispatcher = world
    issued = service.issue_link(actor=dispatcher, order_id=order_id)
    assert issued.url == f"https://outfield.example/c/{issued.token}"
    assert issued.expires_at == T0 + timedelta(hours=2, days=7)
    assert service.track(issued.token)["status"] == "new"
    clock.advance(timedelta(hours=2, days=7).total_seconds() - 1)
    assert service.track(issued.token)["position"] is None
    clock.advance(1)
    assert refusal(lambda: service.track(issued.token)) == (410, "link")


def test_a_revoked_or_forged_link_is_refused(world):
    """Tests that a revoked link answers 410 and a token signed with another secret 404."""
    service, _clock, order_id, dispatcher = world
    issued = service.issue_link(actor=dispatcher, order_id=order_id)
    assert service.revoke_links(actor=dispatcher, order_id=order_id) == 1
    assert refusal(lambda: service.track(issued.token)) == (410, "link")
    forged = issued.token[:-3] + ("AAA" if not issued.token.endswith("AAA") else "BBB")
    assert refusal(lambda: service.track(forged)) == (404, "link")


def test_sending_without_a_hook_is_refused_and_nothing_is_issued(world):
    """Tests that asking to send with no notification hook configured is 400 naming `send`."""
    service, _clock, order_id, dispatcher = world
    assert refusal(lambda: service.issue_link(actor=dispatcher, order_id=order_id, send=True)) == (400, "send")
