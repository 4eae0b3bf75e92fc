"""The order lifecycle: every allowed move, every refusal, and what each change records."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.access import Actor, Role
from dispatch.geo import LatLon
from dispatch.lifecycle import LifecycleEvent, Refused, Transitioned, transition
from dispatch.orders import FINAL_STATUSES, TRANSITIONS, OrderStatus, OrderType, TimeWindow, WorkOrder
from tests.factories import at

S = OrderStatus
T0 = at("2025-03-03T08:00:00Z")
HERE = LatLon(43.7384, 7.4246)
DISPATCHER = Actor(id=10, name="Dora", role=Role.DISPATCHER)
ADMIN = Actor(id=11, name="Adam", role=Role.ADMIN)
MANAGER = Actor(id=12, name="Mia", role=Role.MANAGER)
ANA = Actor(id=20, name="Ana", role=Role.FIELD_WORKER, worker_id=1)
BEN = Actor(id=21, name="Ben", role=Role.FIELD_WORKER, worker_id=2)


def make_order(**overrides: Any) -> WorkOrder:
    values: dict[str, Any] = {
        "id": 7,
        "site_id": 3,
        "type": OrderType.REPAIR,
        "priority": 3,
        "required_skills": frozenset({"gas"}),
        "window": TimeWindow(T0, T0 + timedelta(hours=4)),
        "service_duration_s": 1800,
    }
    values.update(overrides)
    return WorkOrder(**values)


def moved(result: Transitioned | Refused) -> Transitioned:
    assert isinstance(result, Transitioned), result
    return result


def refused(result: Transitioned | Refused) -> str:
    assert isinstance(result, Refused), result
    return result.reason


def test_happy_path_records_who_when_and_where_at_every_step():
    """Tests that new → assigned → accepted → en route → on site → done records actor, time, place and worker each time."""
    order = make_order()
    steps = [
        (S.ASSIGNED, DISPATCHER, {"worker_id": 1}, LifecycleEvent.ASSIGNED),
        (S.ACCEPTED, ANA, {}, LifecycleEvent.ACCEPTED),
        (S.EN_ROUTE, ANA, {}, LifecycleEvent.EN_ROUTE),
        (S.ON_SITE, ANA, {}, LifecycleEvent.CHECKED_IN),
        (S.DONE, ANA, {"reason": "replaced valve"}, LifecycleEvent.DONE),
    ]
    for minute, (to, actor, extra, event) in enumerate(steps):
        when = T0 + timedelta(minutes=minute)
        result = moved(transition(order, to, actor=actor, at=when, location=HERE, **extra))
        change = result.change
        assert (change.from_status, change.to_status, change.event) == (order.status, to, event)
        assert (change.actor_id, change.at, change.location, change.worker_id) == (actor.id, when, HERE, 1)
        assert change.order_id == 7
        assert result.order == replace(order, status=to, assigned_worker_id=1)
        order = result.order
    assert change.reason == "replaced valve"


ALL_MOVES = list(itertools.product(OrderStatus, OrderStatus))
ILLEGAL = [(a, b) for a, b in ALL_MOVES if b not in TRANSITIONS[a]]


@pytest.mark.parametrize(("current", "to"), ILLEGAL)
def test_every_move_outside_the_table_is_refused_with_both_statuses_named(current: OrderStatus, to: OrderStatus):
    """Tests that a move the table does not allow is refused, naming the order's status, and the order is untouched."""
    order = make_order(status=current, assigned_worker_id=None if current is S.NEW else 1)
    before = replace(order)
    reason = refused(transition(order, to, actor=ADMIN, at=T0, reason="x", worker_id=2 if to is S.ASSIGNED else None))
    assert f"order 7 is {current.value.replace('_', ' ')}" in reason
    assert order == before


@pytest.mark.parametrize("final", sorted(FINAL_STATUSES))
def test_done_and_cancelled_are_final(final: OrderStatus):
    """Tests that a done or cancelled order refuses every move, even an admin's, saying it cannot change."""
    order = make_order(status=final, assigned_worker_id=1)
    for to in OrderStatus:
        reason = refused(
            transition(order, to, actor=ADMIN, at=T0, reason="x", worker_id=2 if to is S.ASSIGNED else None)
        )
        assert reason == f"order 7 is {final.value}; a {final.value} order cannot change"


@pytest.mark.parametrize(
    ("current", "to"),
    [(S.ASSIGNED, S.DECLINED), (S.ACCEPTED, S.DECLINED), (S.EN_ROUTE, S.FAILED), (S.ON_SITE, S.FAILED)],
)
def test_decline_and_fail_need_a_reason(current: OrderStatus, to: OrderStatus):
    """Tests that declining or failing without a reason (or with only spaces) is refused, and with one it is kept."""
    order = make_order(status=current, assigned_worker_id=1)
    for blank in ("", "   "):
        assert (
            refused(transition(order, to, actor=ANA, at=T0, reason=blank)) == f"reason: say why order 7 is {to.value}"
        )
    assert moved(transition(order, to, actor=ANA, at=T0, reason="  no parts  ")).change.reason == "no parts"


def test_assigning_needs_a_worker_id():
    """Tests that assigning without saying to whom is refused, naming the field."""
    assert refused(transition(make_order(), S.ASSIGNED, actor=DISPATCHER, at=T0)) == (
        "worker_id: say which worker order 7 is assigned to"
    )


def test_worker_id_is_refused_on_moves_other_than_assigning():
    """Tests that passing a worker id when accepting is refused rather than silently reassigning."""
    order = make_order(status=S.ASSIGNED, assigned_worker_id=1)
    assert refused(transition(order, S.ACCEPTED, actor=ANA, at=T0, worker_id=2)).startswith("worker_id: only given")


@pytest.mark.parametrize("current", [S.ASSIGNED, S.ACCEPTED, S.EN_ROUTE])
def test_reassigning_moves_the_order_and_records_both_workers(current: OrderStatus):
    """Tests that reassigning an assigned, accepted or en-route order sets the new worker and records the old one."""
    order = make_order(status=current, assigned_worker_id=1)
    result = moved(transition(order, S.ASSIGNED, actor=DISPATCHER, at=T0, worker_id=2, reason="Ana's van broke"))
    assert (result.order.status, result.order.assigned_worker_id) == (S.ASSIGNED, 2)
    assert (result.change.event, result.change.previous_worker_id, result.change.worker_id) == (
        LifecycleEvent.REASSIGNED,
        1,
        2,
    )


def test_reassigning_to_the_same_worker_is_refused():
    """Tests that "reassigning" an order to the worker who already has it is refused as a no-op."""
    order = make_order(status=S.ACCEPTED, assigned_worker_id=1)
    assert refused(transition(order, S.ASSIGNED, actor=DISPATCHER, at=T0, worker_id=1)) == (
        "order 7 is already assigned to worker 1"
    )


def test_declining_frees_the_order_and_it_can_be_assigned_again():
    """Tests that a decline clears the worker, and the next assignment is recorded as a reassignment."""
    order = make_order(status=S.ASSIGNED, assigned_worker_id=1)
    declined = moved(transition(order, S.DECLINED, actor=ANA, at=T0, reason="off sick"))
    assert declined.order.assigned_worker_id is None
    assert (declined.change.previous_worker_id, declined.change.worker_id) == (1, None)
    again = moved(transition(declined.order, S.ASSIGNED, actor=DISPATCHER, at=T0, worker_id=2))
    assert (again.order.assigned_worker_id, again.change.event) == (2, LifecycleEvent.REASSIGNED)


def test_a_failed_order_keeps_who_attempted_it_and_can_go_to_them_again():
    """Tests that FAILED keeps the worker on the order, and a second attempt may go to the same worker."""
    order = make_order(status=S.ON_SITE, assigned_worker_id=1)
    failed = moved(transition(order, S.FAILED, actor=ANA, at=T0, location=HERE, reason="customer absent"))
    assert (failed.order.status, failed.order.assigned_worker_id, failed.change.location) == (S.FAILED, 1, HERE)
    retry = moved(transition(failed.order, S.ASSIGNED, actor=DISPATCHER, at=T0 + timedelta(days=1), worker_id=1))
    assert retry.order.assigned_worker_id == 1


@pytest.mark.parametrize(
    ("current", "to"),
    [
        (S.ASSIGNED, S.ACCEPTED),
        (S.ASSIGNED, S.DECLINED),
        (S.ACCEPTED, S.EN_ROUTE),
        (S.EN_ROUTE, S.ON_SITE),
        (S.ON_SITE, S.DONE),
        (S.ON_SITE, S.FAILED),
    ],
)
def test_only_the_assigned_worker_or_the_office_may_report_progress(current: OrderStatus, to: OrderStatus):
    """Tests that another field worker and a manager are refused, while the assigned worker, a dispatcher and an admin
    may; the manager is told who holds the order, the other field worker is not."""
    order = make_order(status=current, assigned_worker_id=1)
    reason = refused(transition(order, to, actor=MANAGER, at=T0, reason="r"))
    assert reason.startswith("only the assigned worker (worker 1) or a dispatcher may ")
    reason = refused(transition(order, to, actor=BEN, at=T0, reason="r"))
    assert reason.startswith("only the worker it is assigned to or a dispatcher may ") and "worker 1" not in reason
    for insider in (ANA, DISPATCHER, ADMIN):
        assert moved(transition(order, to, actor=insider, at=T0, reason="r")).change.actor_id == insider.id


@pytest.mark.parametrize(("current", "to"), [(S.NEW, S.ASSIGNED), (S.NEW, S.CANCELLED), (S.ACCEPTED, S.CANCELLED)])
def test_field_workers_may_not_assign_or_cancel(current: OrderStatus, to: OrderStatus):
    """Tests that even the assigned worker cannot assign or cancel: those are the office's decisions."""
    order = make_order(status=current, assigned_worker_id=None if current is S.NEW else 1)
    reason = refused(transition(order, to, actor=ANA, at=T0, worker_id=1 if to is S.ASSIGNED else None))
    assert reason.startswith("only a dispatcher or an admin may ") and reason.endswith("(you are field_worker)")


def test_the_automatic_dispatcher_may_assign_and_nothing_else():
    """Tests that actor None (auto-dispatch) assigns with no actor id recorded, but cannot cancel or accept."""
    result = moved(transition(make_order(), S.ASSIGNED, actor=None, at=T0, worker_id=1))
    assert (result.change.actor_id, result.change.event) == (None, LifecycleEvent.ASSIGNED)
    assert refused(transition(make_order(), S.CANCELLED, actor=None, at=T0)).startswith("the automatic dispatcher")
    assert refused(transition(result.order, S.ACCEPTED, actor=None, at=T0)).startswith("the automatic dispatcher")


def test_a_naive_time_is_a_programming_error():
    """Tests that a time without a zone raises instead of recording an ambiguous moment."""
    with pytest.raises(ValueError, match="at must be timezone-aware"):
        transition(make_order(), S.CANCELLED, actor=DISPATCHER, at=T0.replace(tzinfo=None))


ACTORS = st.sampled_from([None, DISPATCHER, ADMIN, MANAGER, ANA, BEN])
STEPS = st.lists(
    st.tuples(st.sampled_from(list(OrderStatus)), ACTORS, st.sampled_from(["", "why"]), st.sampled_from([None, 1, 2])),
    max_size=12,
)


@given(STEPS)
def test_any_sequence_of_requests_follows_the_table_and_never_leaves_a_final_status(steps):
    """Tests that, whatever is asked in whatever order, each applied move is in the table, a refused one changes
    nothing, and once done or cancelled the order stays so."""
    order = make_order()
    for to, actor, reason, worker_id in steps:
        result = transition(order, to, actor=actor, at=T0, reason=reason, worker_id=worker_id)
        if isinstance(result, Refused):
            assert result.reason
            continue
        assert order.status not in FINAL_STATUSES
        assert to in TRANSITIONS[order.status]
        assert result.change.from_status is order.status and result.order.status is to
        if to is S.ASSIGNED:
            assert result.order.assigned_worker_id == worker_id is not None
        order = result.order


def test_a_worker_on_site_at_one_order_cannot_check_in_at_another():
    """Tests that Ana, still on site at order 7, is refused checking in at order 8 with a reason naming order 7
    (for her or a dispatcher on her behalf); once order 7 is done, or when only Ben is on site elsewhere, the
    check-in goes through."""
    here = make_order(id=7, status=S.ON_SITE, assigned_worker_id=1)
    there = make_order(id=8, status=S.EN_ROUTE, assigned_worker_id=1)
    for actor in (ANA, DISPATCHER):
        refused = transition(there, S.ON_SITE, actor=actor, at=T0, worker_orders=[here, there])
        assert isinstance(refused, Refused)
        assert refused.reason == (
            "worker 1 is still on site at order 7; check out of order 7 (or mark it failed) before checking in at order 8"
        )
    done = replace(here, status=S.DONE)
    assert isinstance(transition(there, S.ON_SITE, actor=ANA, at=T0, worker_orders=[done, there]), Transitioned)
    bens = replace(here, assigned_worker_id=2)
    assert isinstance(transition(there, S.ON_SITE, actor=ANA, at=T0, worker_orders=[bens]), Transitioned)
