"""The order lifecycle, enforced in one place: who may move an order to which status, and the record of it.

    new → assigned → accepted → en route → on site → done
                 ↘ declined / failed (with a reason) / cancelled, and reassigned

`transition` is the only function that changes an order's status on request (`geofence_arrival`, the
automatic arrival of a worker whose phone dwelt inside the site's geofence, is its one sibling). It is pure: it returns the new
order together with the `StatusChange` to store (who, when, where, why), or `Refused` with a message
a person can act on. The input order is never modified, so a refused move leaves nothing
half-applied, and a caller stores the order and its change together or not at all.

The allowed moves are the table `dispatch.orders.TRANSITIONS`; this module adds the rules the table
cannot say:

- moving to ASSIGNED needs the `worker_id` it is assigned to, and reassigning to the worker who
  already has the order is refused;
- DECLINED and FAILED need a reason;
- ACCEPTED, DECLINED, EN_ROUTE, ON_SITE (check-in), DONE and FAILED are reported by the assigned
  worker, or by an office user allowed to manage orders, on the worker's behalf;
- ASSIGNED and CANCELLED are set by an office user allowed to manage orders; the automatic
  dispatcher (actor None) may assign and nothing else;
- DONE and CANCELLED are final;
- a worker is on site at one order at a time: checking in (ON_SITE) at an order is refused while
  the same worker is still on site at another one (given as `worker_orders`), naming that order.

DECLINED clears the assignment (the order is free again); every other move keeps the worker it had,
so a FAILED order still shows who attempted it. `data.orders_repo.save_change` stores the result
exactly as decided here (status, worker, history row); no other code changes an order's status.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from dispatch.access import Action, Actor, Role, can
from dispatch.geo import LatLon
from dispatch.orders import FINAL_STATUSES, OFFICE_STATUSES, TRANSITIONS, OrderStatus, WorkOrder

S = OrderStatus


class LifecycleEvent(StrEnum):
    """What happened, as the history and the audit log name it (finer than the status it leads to)."""

    ASSIGNED = "assigned"
    REASSIGNED = "reassigned"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EN_ROUTE = "en_route"
    CHECKED_IN = "checked_in"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


_EVENT_OF: dict[OrderStatus, LifecycleEvent] = {
    S.ACCEPTED: LifecycleEvent.ACCEPTED,
    S.DECLINED: LifecycleEvent.DECLINED,
    S.EN_ROUTE: LifecycleEvent.EN_ROUTE,
    S.ON_SITE: LifecycleEvent.CHECKED_IN,
    S.DONE: LifecycleEvent.DONE,
    S.FAILED: LifecycleEvent.FAILED,
    S.CANCELLED: LifecycleEvent.CANCELLED,
}

NEEDS_REASON: frozenset[OrderStatus] = frozenset({S.DECLINED, S.FAILED})
"""Moves refused without a reason: a dispatcher must learn why a worker said no or gave up."""


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One recorded move of one order: who (`actor_id`, None for the automatic dispatcher), when, where.

    `at` is when it happened (for an offline action replayed later, the time on the phone, not the
    time the server heard of it). `location` is where the actor was at that moment, None when
    unknown. `worker_id` is the worker the order is assigned to after the move, `previous_worker_id`
    the one before it (they differ on an assignment, a reassignment and a decline).
    """

    order_id: int
    from_status: OrderStatus
    to_status: OrderStatus
    event: LifecycleEvent
    at: datetime
    actor_id: int | None
    location: LatLon | None
    reason: str
    worker_id: int | None
    previous_worker_id: int | None
    source: str = ""  # "geofence" for an automatic arrival; "" for a person's (or the dispatcher's) move


@dataclass(frozen=True, slots=True)
class Transitioned:
    """The move is allowed: the order as it is now, and the change to record with it."""

    order: WorkOrder
    change: StatusChange


@dataclass(frozen=True, slots=True)
class Refused:
    """The move is not allowed; `reason` says why in words a dispatcher or worker can act on."""

    reason: str


def transition(
    order: WorkOrder,
    to: OrderStatus,
    *,
    actor: Actor | None,
    at: datetime,
    location: LatLon | None = None,
    reason: str = "",
    worker_id: int | None = None,
    worker_orders: Iterable[WorkOrder] = (),
) -> Transitioned | Refused:
    """Move `order` to status `to`, or refuse with a reason; the input order is never modified.

    `actor` is who asks (None = the automatic dispatcher, which may only assign). `worker_id` is
    given exactly when moving to ASSIGNED. `reason` is required for DECLINED and FAILED and kept
    (stripped) for every other move as a note. `worker_orders` are the assigned worker's orders as
    they stand now (any status; this order among them is ignored): a check-in is refused while one
    of them is on site, because one person cannot be at two sites at once. Raises ValueError only for a naive `at` (a bug at
    the caller, not a refusal).
    """
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    to = OrderStatus(to)
    reason = reason.strip()
    refusal = (
        _refuse_move(order, to)
        or _refuse_actor(order, to, actor)
        or _refuse_details(order, to, reason=reason, worker_id=worker_id)
        or _refuse_elsewhere(order, to, worker_orders)
    )
    if refusal is not None:
        return Refused(refusal)

    previous = order.assigned_worker_id
    if to is S.ASSIGNED:
        after: int | None = worker_id
        event = LifecycleEvent.ASSIGNED if order.status is S.NEW else LifecycleEvent.REASSIGNED
    else:
        after = None if to is S.DECLINED else previous
        event = _EVENT_OF[to]
    change = StatusChange(
        order_id=order.id,
        from_status=order.status,
        to_status=to,
        event=event,
        at=at,
        actor_id=actor.id if actor is not None else None,
        location=location,
        reason=reason,
        worker_id=after,
        previous_worker_id=previous,
    )
    return Transitioned(replace(order, status=to, assigned_worker_id=after), change)


GEOFENCE_SOURCE = "geofence"


def geofence_arrival(
    order: WorkOrder, *, at: datetime, worker_orders: Iterable[WorkOrder] = ()
) -> Transitioned | Refused:
    """The assigned worker's phone dwelt inside the order's site geofence: the order becomes on site.

    The one move no person asks for: from assigned, accepted or en route (the worker may not have
    tapped "on my way") straight to on site, recorded with source "geofence", no actor and the fix
    time of the crossing. Refused for an order in any other status, without a worker, or while the
    worker is on site at another order.
    """
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    if order.status not in (S.ASSIGNED, S.ACCEPTED, S.EN_ROUTE):
        return Refused(f"order {order.id} is {_label(order.status)}; only an order on its way can arrive")
    if order.assigned_worker_id is None:
        return Refused(f"order {order.id} has no worker to arrive")
    busy = _refuse_elsewhere(replace(order, status=S.EN_ROUTE), S.ON_SITE, worker_orders)
    if busy is not None:
        return Refused(busy)
    change = StatusChange(
        order_id=order.id,
        from_status=order.status,
        to_status=S.ON_SITE,
        event=LifecycleEvent.CHECKED_IN,
        at=at,
        actor_id=None,
        location=None,
        reason="arrived: dwelt inside the site's geofence",
        worker_id=order.assigned_worker_id,
        previous_worker_id=order.assigned_worker_id,
        source=GEOFENCE_SOURCE,
    )
    return Transitioned(replace(order, status=S.ON_SITE), change)


def _label(status: OrderStatus) -> str:
    return status.value.replace("_", " ")


def _refuse_move(order: WorkOrder, to: OrderStatus) -> str | None:
    if order.status in FINAL_STATUSES:
        return f"order {order.id} is {_label(order.status)}; a {_label(order.status)} order cannot change"
    if to not in TRANSITIONS[order.status]:
        allowed = ", ".join(sorted(_label(s) for s in TRANSITIONS[order.status]))
        return f"order {order.id} is {_label(order.status)} and cannot become {_label(to)} (allowed: {allowed})"
    return None


_DOING: dict[OrderStatus, str] = {
    S.ASSIGNED: "assign order {id}",
    S.ACCEPTED: "accept order {id}",
    S.DECLINED: "decline order {id}",
    S.EN_ROUTE: "set off for order {id}",
    S.ON_SITE: "check in for order {id}",
    S.DONE: "complete order {id}",
    S.FAILED: "mark order {id} as failed",
    S.CANCELLED: "cancel order {id}",
}


def _refuse_actor(order: WorkOrder, to: OrderStatus, actor: Actor | None) -> str | None:
    doing = _DOING[to].format(id=order.id)
    if actor is None:
        return None if to is S.ASSIGNED else f"the automatic dispatcher may only assign; only a person may {doing}"
    office = can(actor, Action.MANAGE_ORDERS).allowed
    if office:
        return None
    if to in OFFICE_STATUSES:
        return f"only a dispatcher or an admin may {doing} (you are {actor.role.value})"
    if actor.worker_id is not None and actor.worker_id == order.assigned_worker_id:
        return None
    if actor.role is Role.FIELD_WORKER:  # who holds another's order is the office's to know, not a colleague's
        return f"only the worker it is assigned to or a dispatcher may {doing}"
    holder = f"worker {order.assigned_worker_id}" if order.assigned_worker_id is not None else "nobody yet"
    return f"only the assigned worker ({holder}) or a dispatcher may {doing}"


def _refuse_details(order: WorkOrder, to: OrderStatus, *, reason: str, worker_id: int | None) -> str | None:
    if to in NEEDS_REASON and not reason:
        return f"reason: say why order {order.id} is {_label(to)}"
    if to is S.ASSIGNED:
        if worker_id is None:
            return f"worker_id: say which worker order {order.id} is assigned to"
        if worker_id == order.assigned_worker_id and order.status in (S.ASSIGNED, S.ACCEPTED, S.EN_ROUTE):
            return f"order {order.id} is already assigned to worker {worker_id}"
    elif worker_id is not None:
        return f"worker_id: only given when assigning, not when marking order {order.id} as {_label(to)}"
    return None


def _refuse_elsewhere(order: WorkOrder, to: OrderStatus, worker_orders: Iterable[WorkOrder]) -> str | None:
    if to is not S.ON_SITE or order.assigned_worker_id is None:
        return None
    busy = next(
        (
            o
            for o in worker_orders
            if o.id != order.id and o.status is S.ON_SITE and o.assigned_worker_id == order.assigned_worker_id
        ),
        None,
    )
    if busy is None:
        return None
    return (
        f"worker {order.assigned_worker_id} is still on site at order {busy.id}; check out of order {busy.id}"
        f" (or mark it failed) before checking in at order {order.id}"
    )
