"""Offline action queues: replays never duplicate, and the phone's event times are kept."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.access import Actor, Role
from dispatch.geo import LatLon
from dispatch.orders import OrderStatus, OrderType, TimeWindow, WorkOrder
from dispatch.sync import QueuedAction, apply_actions, replay
from tests.factories import at

T0 = at("2025-03-03T08:00:00Z")
ANA = Actor(id=20, name="Ana", role=Role.FIELD_WORKER, worker_id=1)
YARD = LatLon(43.735, 7.423)


def action(client_id: str, minute: int, to: OrderStatus = OrderStatus.ACCEPTED, **kw) -> QueuedAction:
    return QueuedAction(client_id, kw.pop("order_id", 7), to, T0 + timedelta(minutes=minute), **kw)


def assigned_order(**kw) -> WorkOrder:
    values = {
        "id": 7,
        "site_id": 3,
        "type": OrderType.REPAIR,
        "priority": 3,
        "required_skills": frozenset({"gas"}),
        "window": TimeWindow(T0, T0 + timedelta(hours=4)),
        "service_duration_s": 1800,
        "status": OrderStatus.ASSIGNED,
        "assigned_worker_id": 1,
    }
    values.update(kw)
    return WorkOrder(**values)


def test_actions_already_applied_are_duplicates():
    """Tests that a queue replayed after a lost answer applies only the actions the server has not seen."""
    queue = [action("a1", 0), action("a2", 5), action("a3", 9)]
    new, duplicates = apply_actions({"a1", "a2"}, queue)
    assert [a.client_action_id for a in new] == ["a3"]
    assert [a.client_action_id for a in duplicates] == ["a1", "a2"]


def test_a_repeat_within_one_upload_counts_once_and_the_first_wins():
    """Tests that the same id twice in one upload (two tabs) is applied once, as first queued."""
    first, again = action("a1", 0), action("a1", 3, OrderStatus.EN_ROUTE)
    new, duplicates = apply_actions(set(), [first, again])
    assert (new, duplicates) == ((first,), (again,))


def test_new_actions_come_in_event_order_with_their_original_times():
    """Tests that actions uploaded out of order are applied oldest first, keeping the phone's times untouched,
    and equal times keep the order they were queued in."""
    queue = [action("c", 20), action("a", 5), action("b2", 10), action("b1", 10)]
    new, _ = apply_actions(frozenset(), queue)
    assert [a.client_action_id for a in new] == ["a", "b2", "b1", "c"]
    assert [a.occurred_at for a in new] == [T0 + timedelta(minutes=m) for m in (5, 10, 10, 20)]


@given(
    st.sets(st.sampled_from("abcdef")),
    st.lists(st.tuples(st.sampled_from("abcdefgh"), st.integers(0, 60)), max_size=20),
)
def test_every_action_is_either_new_once_or_a_duplicate(known, uploads):
    """Tests that nothing is lost or doubled: new ids are unique and unseen, and new + duplicates is the upload."""
    queue = [action(client_id, minute) for client_id, minute in uploads]
    new, duplicates = apply_actions(known, queue)
    ids = [a.client_action_id for a in new]
    assert len(ids) == len(set(ids)) and not set(ids) & known
    assert Counter(map(id, [*new, *duplicates])) == Counter(map(id, queue))
    assert [a.occurred_at for a in new] == sorted(a.occurred_at for a in new)
    assert set(ids) == {a.client_action_id for a in queue} - known


def test_replaying_a_queue_moves_the_order_and_records_the_phone_times():
    """Tests that accepted → en route → on site, queued offline, are recorded at the times they happened, each
    paired with its client id, with the check-in's location."""
    queue = [
        action("a1", 1),
        action("a2", 4, OrderStatus.EN_ROUTE),
        action("a3", 30, OrderStatus.ON_SITE, location=YARD, accuracy_m=8.0),
    ]
    result = replay(assigned_order(), apply_actions(set(), queue).new, actor=ANA)
    assert result.order.status is OrderStatus.ON_SITE
    assert [(cid, c.to_status, c.at) for cid, c in result.changes] == [
        ("a1", OrderStatus.ACCEPTED, T0 + timedelta(minutes=1)),
        ("a2", OrderStatus.EN_ROUTE, T0 + timedelta(minutes=4)),
        ("a3", OrderStatus.ON_SITE, T0 + timedelta(minutes=30)),
    ]
    assert result.changes[-1][1].location == YARD
    assert result.refused == ()


def test_actions_the_lifecycle_refuses_are_skipped_with_the_reason():
    """Tests that when the office cancelled the order while the phone was offline, the queued actions are refused
    with why, and actions for another order are refused too."""
    cancelled = assigned_order(status=OrderStatus.CANCELLED)
    queue = [action("a1", 1), action("x", 2, order_id=8)]
    result = replay(cancelled, queue, actor=ANA)
    assert result.order == cancelled and result.changes == ()
    assert [(a.client_action_id, reason) for a, reason in result.refused] == [
        ("a1", "order 7 is cancelled; a cancelled order cannot change"),
        ("x", "action is for order 8, not order 7"),
    ]


def test_a_queued_action_needs_an_id_and_an_aware_time():
    """Tests that an action without a client id or with a naive time is refused at the door."""
    with pytest.raises(ValueError, match="client_action_id"):
        action(" ", 0)
    with pytest.raises(ValueError, match="occurred_at"):
        QueuedAction("a", 7, OrderStatus.ACCEPTED, T0.replace(tzinfo=None))
