"""Survey answers (one per order) and `ratings_between` for reports; webhook deliveries written with their event."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select

from data import customer_repo, orders_repo, sites_repo, webhooks_repo, workers_repo
from data.db import make_sessionmaker, session_scope
from data.tables import OrderStatusHistoryRow, WebhookDeliveryRow
from dispatch.geo import LatLon
from dispatch.orders import TimeWindow
from dispatch.webhooks import EventType

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


def _order(session, site_id: int, type_: str) -> int:
    window = TimeWindow(T0, T0 + timedelta(hours=4))
    return orders_repo.add_order(
        session, site_id=site_id, type=type_, priority=3, window=window, service_duration_s=600, created_at=T0
    ).id


def test_ratings_between_gives_worker_team_and_type_and_one_answer_per_order(session):
    """Tests that answers in [from, to) come back oldest first with worker, team and order type, and a second
    answer for the same order is not stored."""
    site = sites_repo.add_site(session, name="S", location=LatLon(43.7, 7.4), geofence_radius_m=50)
    ana = workers_repo.add_worker(session, name="Ana", device_id="a", team="North")
    bo = workers_repo.add_worker(session, name="Bo", device_id="b", team="South")
    first, second, late = _order(session, site.id, "repair"), _order(session, site.id, "inspection"), _order(session, site.id, "repair")  # fmt: skip
    add = customer_repo.add_answer
    assert add(
        session, order_id=first, worker_id=ana.id, link_id="l1", rating=5, comment="", at=T0 + timedelta(hours=1)
    )
    assert add(session, order_id=second, worker_id=bo.id, link_id="l2", rating=2, comment="late", at=T0 + timedelta(hours=2))  # fmt: skip
    assert add(session, order_id=late, worker_id=bo.id, link_id="l3", rating=4, comment="", at=T0 + timedelta(days=1))
    assert add(session, order_id=first, worker_id=ana.id, link_id="l1", rating=1, comment="again", at=T0 + timedelta(hours=3)) is None  # fmt: skip
    got = customer_repo.ratings_between(session, T0, T0 + timedelta(days=1))
    assert [(r.order_id, r.worker_id, r.team, r.order_type, r.rating) for r in got] == [
        (first, ana.id, "North", "repair", 5),
        (second, bo.id, "South", "inspection", 2),
    ]


def test_an_event_and_its_deliveries_commit_together_or_not_at_all(db_engine: Engine):
    """Tests that a status change writes a delivery per subscribed webhook in its own transaction, handed to the
    enqueuer after the commit, and that a rolled-back change leaves no delivery and enqueues nothing."""
    sessions = make_sessionmaker(db_engine)
    enqueued: list[int] = []
    webhooks_repo.capture(sessions, enqueued.extend)
    with session_scope(sessions) as session:
        webhooks_repo.add_webhook(session, url="http://127.0.0.1:9/h", events=[EventType.ORDER_STATUS_CHANGED.value], secret="s" * 16, created_by=None, at=T0)  # fmt: skip
        webhooks_repo.add_webhook(session, url="http://127.0.0.1:9/s", events=[EventType.SURVEY_ANSWERED.value], secret="s" * 16, created_by=None, at=T0)  # fmt: skip
        site = sites_repo.add_site(session, name="S", location=LatLon(43.7, 7.4), geofence_radius_m=50)
        order_id = _order(session, site.id, "repair")
    assert enqueued == []  # an order's creation is no status change
    with session_scope(sessions) as session:
        session.add(OrderStatusHistoryRow(order_id=order_id, from_status="new", to_status="assigned", at=T0, reason=""))
    with session_scope(sessions) as session:
        (delivery,) = session.scalars(select(WebhookDeliveryRow)).all()
        assert enqueued == [delivery.id] and delivery.event_type == "order.status_changed"
    try:
        with session_scope(sessions) as session:
            session.add(OrderStatusHistoryRow(order_id=order_id, from_status="assigned", to_status="cancelled", at=T0, reason=""))  # fmt: skip
            session.flush()
            raise RuntimeError("the request failed after the change")
    except RuntimeError:
        pass
    with session_scope(sessions) as session:
        assert session.scalar(select(func.count()).select_from(WebhookDeliveryRow)) == 1
    assert len(enqueued) == 1


def test_a_raised_alert_is_an_alert_raised_event_once_and_without_a_position(session):
    """Tests that raising an alert writes one alert.raised delivery (kind, worker, reason; no coordinates) for a
    subscribed webhook, and raising it again while open writes none."""
    from data import alerts_repo
    from dispatch.alerts import AlertKind, Raise

    ana = workers_repo.add_worker(session, name="Ana", device_id="a-alert")
    webhooks_repo.add_webhook(session, url="http://127.0.0.1:9/a", events=[EventType.ALERT_RAISED.value], secret="s" * 16, created_by=None, at=T0)  # fmt: skip
    decision = Raise(AlertKind.LOW_BATTERY, ana.id, None, T0, "battery 9 %")
    assert alerts_repo.raise_alert(session, decision) is not None
    assert alerts_repo.raise_alert(session, decision) is None
    session.flush()
    (body,) = session.scalars(select(WebhookDeliveryRow.body).where(WebhookDeliveryRow.event_type == "alert.raised"))
    event = json.loads(body)
    assert (event["data"]["kind"], event["data"]["worker_id"], event["data"]["reason"]) == (
        "low_battery",
        ana.id,
        "battery 9 %",
    )
    assert "lat" not in body and "latitude" not in body
