"""Work orders and their status history, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from data.orders_repo import (
    StatusChange,
    add_order,
    change_status,
    get_order,
    list_orders,
    order_by_reference,
    order_history,
    upsert_order_by_reference,
)
from data.sites_repo import add_site
from data.users_repo import create_user
from data.workers_repo import add_worker
from dispatch.access import Role
from dispatch.geo import LatLon
from dispatch.orders import OrderStatus, OrderType, TimeWindow, WorkOrder

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
WINDOW = TimeWindow(T0, T0 + timedelta(hours=2))


def _site(session: Session) -> int:
    return add_site(session, name="Port", location=LatLon(43.735, 7.421)).id


def test_order_round_trips_and_its_first_status_is_recorded(session: Session) -> None:
    """Tests that every field of an order comes back equal and the history starts with NEW at created_at."""
    site_id = _site(session)
    actor, _ = create_user(session, name="disp", role=Role.DISPATCHER, now=T0)
    order = add_order(
        session,
        site_id=site_id,
        type=OrderType.REPAIR,
        priority=2,
        window=WINDOW,
        service_duration_s=1800,
        required_skills=("gas", "plumbing"),
        notes="boiler leaks",
        reference="WO-1",
        created_at=T0 - timedelta(hours=1),
        actor_id=actor.id,
    )
    session.commit()
    session.expire_all()
    expected = WorkOrder(
        id=order.id,
        site_id=site_id,
        type=OrderType.REPAIR,
        priority=2,
        required_skills=frozenset({"gas", "plumbing"}),
        window=WINDOW,
        service_duration_s=1800,
        status=OrderStatus.NEW,
        notes="boiler leaks",
        reference="WO-1",
    )
    assert order == expected
    assert get_order(session, order.id) == expected
    assert order_by_reference(session, "WO-1") == expected
    assert order_history(session, order_id=order.id) == [
        StatusChange(order.id, None, OrderStatus.NEW, T0 - timedelta(hours=1), actor.id)
    ]


def test_list_orders_filters_by_one_or_several_statuses(session: Session) -> None:
    """Tests that list_orders returns all orders by id, or only those in the requested statuses."""
    site_id = _site(session)
    worker = add_worker(session, name="W", device_id="d")
    ids = [
        add_order(
            session, site_id=site_id, type="visit", priority=3, window=WINDOW, service_duration_s=600, created_at=T0
        ).id
        for _ in range(3)
    ]
    change_status(session, order_id=ids[1], to=OrderStatus.ASSIGNED, at=T0, worker_id=worker.id)
    change_status(session, order_id=ids[2], to=OrderStatus.CANCELLED, at=T0)
    assert [o.id for o in list_orders(session)] == ids
    assert [o.id for o in list_orders(session, status=OrderStatus.NEW)] == [ids[0]]
    assert [o.id for o in list_orders(session, status=[OrderStatus.ASSIGNED, OrderStatus.CANCELLED])] == ids[1:]
    assert list_orders(session, status=[]) == []


def test_status_changes_follow_the_transition_table_and_are_recorded(session: Session) -> None:
    """Tests assignment, an illegal move naming `to`, and the history with location and reason."""
    site_id = _site(session)
    worker = add_worker(session, name="W", device_id="d")
    order = add_order(
        session, site_id=site_id, type="repair", priority=1, window=WINDOW, service_duration_s=60, created_at=T0
    )
    with pytest.raises(ValueError, match=r"^worker_id: required to assign"):
        change_status(session, order_id=order.id, to=OrderStatus.ASSIGNED, at=T0)
    with pytest.raises(ValueError, match=r"^to: order \d+ is new and cannot become done"):
        change_status(session, order_id=order.id, to=OrderStatus.DONE, at=T0)
    assigned = change_status(session, order_id=order.id, to=OrderStatus.ASSIGNED, at=T0, worker_id=worker.id)
    assert (assigned.status, assigned.assigned_worker_id) == (OrderStatus.ASSIGNED, worker.id)
    here = LatLon(43.7351, 7.4211)
    declined = change_status(
        session,
        order_id=order.id,
        to=OrderStatus.DECLINED,
        at=T0 + timedelta(minutes=5),
        location=here,
        reason="van broke",
    )
    assert (declined.status, declined.assigned_worker_id) == (OrderStatus.DECLINED, None)
    history = order_history(session, order_id=order.id)
    assert [(h.from_status, h.to_status) for h in history] == [
        (None, OrderStatus.NEW),
        (OrderStatus.NEW, OrderStatus.ASSIGNED),
        (OrderStatus.ASSIGNED, OrderStatus.DECLINED),
    ]
    assert (history[-1].location, history[-1].reason) == (here, "van broke")


def test_bad_order_fields_are_refused_naming_the_field(session: Session) -> None:
    """Tests that unknown site/type, priority out of range and a duplicate reference each name their field."""
    site_id = _site(session)
    common = {"window": WINDOW, "service_duration_s": 60, "created_at": T0}
    with pytest.raises(ValueError, match=r"^site_id: no site with id 999"):
        add_order(session, site_id=999, type="visit", priority=3, **common)
    with pytest.raises(ValueError, match=r"^type: 'foo' is not one of visit, repair, inspection, delivery, emergency"):
        add_order(session, site_id=site_id, type="foo", priority=3, **common)
    with pytest.raises(ValueError, match=r"^priority: 9 is not within 1..5"):
        add_order(session, site_id=site_id, type="visit", priority=9, **common)
    add_order(session, site_id=site_id, type="visit", priority=3, reference="R", **common)
    with pytest.raises(ValueError, match=r"^reference: an order 'R' already exists"):
        add_order(session, site_id=site_id, type="visit", priority=3, reference="R", **common)
    assert len(list_orders(session)) == 1


def test_upsert_by_reference_updates_details_but_keeps_status_and_assignment(session: Session) -> None:
    """Tests that re-importing an order changes its details, not the dispatching already done."""
    site_id = _site(session)
    worker = add_worker(session, name="W", device_id="d")
    first, created = upsert_order_by_reference(
        session,
        reference="R1",
        site_id=site_id,
        type="visit",
        priority=3,
        window=WINDOW,
        service_duration_s=60,
        created_at=T0,
    )
    change_status(session, order_id=first.id, to=OrderStatus.ASSIGNED, at=T0, worker_id=worker.id)
    later = TimeWindow(T0 + timedelta(hours=3), T0 + timedelta(hours=4))
    second, created_again = upsert_order_by_reference(
        session,
        reference="R1",
        site_id=site_id,
        type="repair",
        priority=1,
        window=later,
        service_duration_s=900,
        notes="n",
    )
    assert (created, created_again) == (True, False)
    assert second.id == first.id
    assert (second.type, second.priority, second.window, second.service_duration_s, second.notes) == (
        OrderType.REPAIR,
        1,
        later,
        900,
        "n",
    )
    assert (second.status, second.assigned_worker_id) == (OrderStatus.ASSIGNED, worker.id)
    assert len(list_orders(session)) == 1
    assert len(order_history(session, order_id=first.id)) == 2
