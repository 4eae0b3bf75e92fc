"""Work orders and their status history, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from data.db import make_sessionmaker, session_scope
from data.orders_repo import (
    DuplicateReference,
    StatusChange,
    add_order,
    get_order,
    list_orders,
    order_by_reference,
    order_history,
    orders_of_workers,
    save_change,
    upsert_order_by_reference,
    workers_with_orders_at,
)
from data.sites_repo import add_site
from data.users_repo import create_user
from data.workers_repo import add_worker
from dispatch.access import Actor, Role
from dispatch.geo import LatLon
from dispatch.lifecycle import StatusChange as LifecycleChange
from dispatch.lifecycle import Transitioned, transition
from dispatch.orders import OrderStatus, OrderType, TimeWindow, WorkOrder
from tests.support.servers import wait_until

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
WINDOW = TimeWindow(T0, T0 + timedelta(hours=2))


def _site(session: Session) -> int:
    return add_site(session, name="Port", location=LatLon(43.735, 7.421)).id


def _dispatcher(session: Session) -> Actor:
    return create_user(session, name="disp", role=Role.DISPATCHER, now=T0)[0]


def _decide(
    session: Session,
    order_id: int,
    to: OrderStatus,
    *,
    actor: Actor,
    at: datetime = T0,
    location: LatLon | None = None,
    reason: str = "",
    worker_id: int | None = None,
) -> LifecycleChange:
    """The change the lifecycle decides for the stored order, as every product caller gets one."""
    order = get_order(session, order_id)
    assert order is not None
    result = transition(order, to, actor=actor, at=at, location=location, reason=reason, worker_id=worker_id)
    assert isinstance(result, Transitioned), result
    return result.change


def _move(session: Session, order_id: int, to: OrderStatus, *, actor: Actor, **details: Any) -> WorkOrder:
    """Decide the move with the lifecycle and store it with `save_change`."""
    return save_change(session, _decide(session, order_id, to, actor=actor, **details))


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
    dispatcher = _dispatcher(session)
    worker = add_worker(session, name="W", device_id="d")
    ids = [
        add_order(
            session, site_id=site_id, type="visit", priority=3, window=WINDOW, service_duration_s=600, created_at=T0
        ).id
        for _ in range(3)
    ]
    _move(session, ids[1], OrderStatus.ASSIGNED, actor=dispatcher, worker_id=worker.id)
    _move(session, ids[2], OrderStatus.CANCELLED, actor=dispatcher)
    assert [o.id for o in list_orders(session)] == ids
    assert [o.id for o in list_orders(session, status=OrderStatus.NEW)] == [ids[0]]
    assert [o.id for o in list_orders(session, status=[OrderStatus.ASSIGNED, OrderStatus.CANCELLED])] == ids[1:]
    assert list_orders(session, status=[]) == []


def test_saved_changes_store_the_status_and_worker_and_are_recorded(session: Session) -> None:
    """Tests that an assignment and a decline are stored as decided, with who, when, where and why in the history."""
    site_id = _site(session)
    dispatcher = _dispatcher(session)
    worker = add_worker(session, name="W", device_id="d")
    order = add_order(
        session, site_id=site_id, type="repair", priority=1, window=WINDOW, service_duration_s=60, created_at=T0
    )
    assigned = _move(session, order.id, OrderStatus.ASSIGNED, actor=dispatcher, worker_id=worker.id)
    assert (assigned.status, assigned.assigned_worker_id) == (OrderStatus.ASSIGNED, worker.id)
    here = LatLon(43.7351, 7.4211)
    declined = _move(
        session,
        order.id,
        OrderStatus.DECLINED,
        actor=dispatcher,
        at=T0 + timedelta(minutes=5),
        location=here,
        reason="van broke",
    )
    session.commit()
    session.expire_all()
    assert (declined.status, declined.assigned_worker_id) == (OrderStatus.DECLINED, None)
    assert get_order(session, order.id) == declined
    assert order_history(session, order_id=order.id) == [
        StatusChange(order.id, None, OrderStatus.NEW, T0),
        StatusChange(order.id, OrderStatus.NEW, OrderStatus.ASSIGNED, T0, dispatcher.id),
        StatusChange(
            order.id,
            OrderStatus.ASSIGNED,
            OrderStatus.DECLINED,
            T0 + timedelta(minutes=5),
            dispatcher.id,
            here,
            "van broke",
        ),
    ]


def test_a_change_decided_on_a_stale_order_is_refused_and_nothing_is_stored(session: Session) -> None:
    """Tests that when two dispatchers assign the same order at once, the second save fails naming `status`."""
    site_id = _site(session)
    dispatcher = _dispatcher(session)
    ana = add_worker(session, name="Ana", device_id="a")
    ben = add_worker(session, name="Ben", device_id="b")
    order = add_order(
        session, site_id=site_id, type="repair", priority=1, window=WINDOW, service_duration_s=60, created_at=T0
    )
    to_ana = _decide(session, order.id, OrderStatus.ASSIGNED, actor=dispatcher, worker_id=ana.id)
    to_ben = _decide(session, order.id, OrderStatus.ASSIGNED, actor=dispatcher, worker_id=ben.id)
    save_change(session, to_ana)
    with pytest.raises(ValueError, match=rf"^status: order {order.id} changed meanwhile \(it is assigned now\)"):
        save_change(session, to_ben)
    session.commit()
    session.expire_all()
    stored = get_order(session, order.id)
    assert stored is not None
    assert (stored.status, stored.assigned_worker_id) == (OrderStatus.ASSIGNED, ana.id)
    assert [h.to_status for h in order_history(session, order_id=order.id)] == [OrderStatus.NEW, OrderStatus.ASSIGNED]


def test_saving_a_change_for_an_unknown_order_names_the_order(session: Session) -> None:
    """Tests that a change for an order that no longer exists fails naming `order_id`, recording nothing."""
    site_id = _site(session)
    dispatcher = _dispatcher(session)
    order = add_order(
        session, site_id=site_id, type="visit", priority=3, window=WINDOW, service_duration_s=60, created_at=T0
    )
    change = _decide(session, order.id, OrderStatus.CANCELLED, actor=dispatcher)
    with pytest.raises(ValueError, match=r"^order_id: no order with id 999"):
        save_change(session, replace(change, order_id=999))
    assert [h.to_status for h in order_history(session, order_id=order.id)] == [OrderStatus.NEW]


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


def _waiting_on_a_lock(engine: Engine) -> bool:
    """Whether a PostgreSQL backend waits on a lock (asked on a connection of its own: the statistics views are a
    snapshot for the length of a transaction)."""
    with engine.connect() as conn:
        return bool(
            conn.exec_driver_sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'").scalar_one()
        )


def test_a_reference_another_writer_stores_between_the_check_and_the_insert_is_still_a_duplicate(db_engine) -> None:
    """Tests that when a second writer's check for the reference runs before the first writer commits it, the second
    insert is refused as DuplicateReference naming the reference (not a database error) and stores nothing."""
    if db_engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time: the second check cannot run before the first insert commits")
    sessions = make_sessionmaker(db_engine)
    with session_scope(sessions) as session:
        site_id = _site(session)
    common = {"site_id": site_id, "type": "visit", "priority": 3, "window": WINDOW, "service_duration_s": 60,
              "created_at": T0, "reference": "ERP-9"}  # fmt: skip
    outcome: list[BaseException | WorkOrder] = []

    def second_writer() -> None:
        try:
            with session_scope(sessions) as session:
                outcome.append(add_order(session, **common))
        except BaseException as exc:  # noqa: BLE001 - the test reads what it was
            outcome.append(exc)

    with sessions() as first:
        add_order(first, **common)  # flushed, not committed: the second writer's check does not see it
        writer = threading.Thread(target=second_writer)
        writer.start()
        wait_until(lambda: _waiting_on_a_lock(db_engine), 30, "the second insert waiting on the index's lock",
                   poll_s=0.01)  # fmt: skip
        first.commit()
    writer.join(timeout=60)
    assert len(outcome) == 1 and isinstance(outcome[0], DuplicateReference), outcome
    assert str(outcome[0]) == "reference: an order 'ERP-9' already exists"
    with sessions() as session:
        assert [o.reference for o in list_orders(session)] == ["ERP-9"]


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
    _move(session, first.id, OrderStatus.ASSIGNED, actor=_dispatcher(session), worker_id=worker.id)
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


def test_a_workers_orders_can_be_read_in_given_statuses_only(session):
    """Tests that `orders_of_workers` with `statuses` gives each worker's assigned orders in those statuses only
    (the geofence rules read a worker's open orders, not every done one), and all of them without."""
    from data.tables import WorkOrderRow

    site = _site(session)
    ana, bo = add_worker(session, name="Ana", device_id="a").id, add_worker(session, name="Bo", device_id="b").id
    made = {}
    for worker, status in ((ana, OrderStatus.DONE), (ana, OrderStatus.EN_ROUTE), (ana, OrderStatus.ON_SITE),
                           (bo, OrderStatus.FAILED), (bo, OrderStatus.ASSIGNED)):  # fmt: skip
        order = add_order(
            session, site_id=site, type=OrderType.VISIT, priority=3, window=WINDOW, service_duration_s=600
        )
        row = session.get(WorkOrderRow, order.id)
        assert row is not None
        row.assigned_worker_id, row.status = worker, status.value
        made[(worker, status)] = order.id
    session.flush()
    wanted = {OrderStatus.ASSIGNED, OrderStatus.EN_ROUTE, OrderStatus.ON_SITE}
    some = orders_of_workers(session, worker_ids=[ana, bo], statuses=wanted)
    assert {w: sorted(o.id for o in orders) for w, orders in some.items()} == {
        ana: sorted([made[(ana, OrderStatus.EN_ROUTE)], made[(ana, OrderStatus.ON_SITE)]]),
        bo: [made[(bo, OrderStatus.ASSIGNED)]],
    }
    every = orders_of_workers(session, worker_ids=[ana, bo])
    assert sorted(len(orders) for orders in every.values()) == [2, 3]


def _order_of(session, site_id: int, worker_id: int, status: OrderStatus) -> None:
    """An order at `site_id`, assigned to `worker_id` in `status` (written straight to its row, as a test's setting)."""
    from data.tables import WorkOrderRow

    order = add_order(session, site_id=site_id, type=OrderType.VISIT, priority=3, window=WINDOW, service_duration_s=600)
    row = session.get(WorkOrderRow, order.id)
    assert row is not None
    row.assigned_worker_id, row.status = worker_id, status.value


def test_the_workers_with_an_order_at_a_crossed_site_are_named_by_pair(session):
    """Tests that `workers_with_orders_at` names a worker only for a site where an order in the statuses is assigned
    to them (not another worker's order there, not theirs elsewhere or in another status), and nobody for no pairs."""

    port = _site(session)
    quay = add_site(session, name="Quay", location=LatLon(43.74, 7.43)).id
    ana, bo, cy = (add_worker(session, name=n, device_id=n).id for n in ("Ana", "Bo", "Cy"))
    for worker, site, status in ((ana, port, OrderStatus.EN_ROUTE), (bo, quay, OrderStatus.ON_SITE),
                                 (cy, port, OrderStatus.DONE)):  # fmt: skip
        _order_of(session, site, worker, status)
    session.flush()
    wanted = {OrderStatus.ASSIGNED, OrderStatus.EN_ROUTE, OrderStatus.ON_SITE}
    pairs = {(ana, port), (ana, quay), (bo, port), (cy, port), (bo, quay)}
    assert workers_with_orders_at(session, pairs=pairs, statuses=wanted) == {ana, bo}
    assert workers_with_orders_at(session, pairs={(bo, port), (cy, port)}, statuses=wanted) == set()
    assert workers_with_orders_at(session, pairs={(cy, port)}, statuses={OrderStatus.DONE}) == {cy}
    assert workers_with_orders_at(session, pairs=(), statuses=wanted) == set()


def test_the_workers_with_an_order_at_a_crossed_site_are_found_among_open_orders_not_every_past_one(session, db_engine):
    """Tests that on SQLite `workers_with_orders_at` reads the orders in the statuses asked through the status index,
    never every order the window's workers ever had through the worker index (over months mostly done orders, each a
    row read to look at its status: ~11 ms a window at 500 each), and still names the worker with an open order."""
    from sqlalchemy import event

    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("PostgreSQL's planner chooses by its statistics")
    port = _site(session)
    ana, bo = add_worker(session, name="Ana", device_id="a").id, add_worker(session, name="Bo", device_id="b").id
    for worker, status in [(ana, OrderStatus.DONE)] * 5 + [(bo, OrderStatus.DONE), (ana, OrderStatus.EN_ROUTE)]:
        _order_of(session, port, worker, status)
    session.flush()
    sent: list[tuple[str, Any]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        sent.append((statement, parameters))

    event.listen(db_engine, "before_cursor_execute", keep)
    try:
        found = workers_with_orders_at(session, pairs={(ana, port), (bo, port)}, statuses={OrderStatus.EN_ROUTE})
    finally:
        event.remove(db_engine, "before_cursor_execute", keep)
    assert found == {ana}
    [(statement, parameters)] = sent
    plan = [row[-1] for row in session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
    assert any(step.startswith("SEARCH work_orders USING INDEX ix_work_orders_status") for step in plan), plan
    assert not any("ix_work_orders_assigned_worker_id" in step or step.startswith("SCAN work_orders") for step in plan)
