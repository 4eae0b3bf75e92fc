"""Work orders and their status history, as `dispatch.orders.WorkOrder` values.

Every status an order takes, including the first, is written to `order_status_history` with who
and when, so a dispatcher can replay an order's day. This module decides no status rule:
`dispatch.lifecycle.transition` does, and `save_change` stores what it decided.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from data.tables import OrderStatusHistoryRow, SiteRow, WorkOrderRow
from dispatch.clock import SystemClock
from dispatch.geo import LatLon
from dispatch.lifecycle import StatusChange as LifecycleChange
from dispatch.orders import OrderStatus, OrderType, TimeWindow, WorkOrder


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One entry of an order's history; `from_status` is None for the status it was created in."""

    order_id: int
    from_status: OrderStatus | None
    to_status: OrderStatus
    at: datetime
    actor_id: int | None = None
    location: LatLon | None = None
    reason: str = ""
    source: str = ""  # "geofence" for an automatic arrival


def _to_domain(row: WorkOrderRow) -> WorkOrder:
    return WorkOrder(
        id=row.id,
        site_id=row.site_id,
        type=OrderType(row.type),
        priority=row.priority,
        required_skills=frozenset(row.required_skills),
        window=TimeWindow(row.window_start, row.window_end),
        service_duration_s=row.service_duration_s,
        status=OrderStatus(row.status),
        assigned_worker_id=row.assigned_worker_id,
        notes=row.notes,
        reference=row.reference or "",
    )


def _order_type(value: OrderType | str) -> OrderType:
    try:
        return OrderType(value)
    except ValueError:
        raise ValueError(f"type: {value!r} is not one of {', '.join(t.value for t in OrderType)}") from None


def _write(
    session: Session,
    row: WorkOrderRow,
    *,
    site_id: int,
    type: OrderType | str,
    priority: int,
    window: TimeWindow,
    service_duration_s: int,
    required_skills: Iterable[str],
    notes: str,
) -> None:
    order_type = _order_type(type)
    if not 1 <= priority <= 5:
        raise ValueError(f"priority: {priority} is not within 1..5 (1 = most urgent)")
    if service_duration_s < 0:
        raise ValueError(f"service_duration_s: {service_duration_s} must be >= 0")
    if session.get(SiteRow, site_id) is None:
        raise ValueError(f"site_id: no site with id {site_id}")
    row.site_id = site_id
    row.type = order_type.value
    row.priority = priority
    row.window_start = window.start
    row.window_end = window.end
    row.service_duration_s = service_duration_s
    row.required_skills = sorted({s.strip() for s in required_skills if s.strip()})
    row.notes = notes


def _record(
    session: Session,
    *,
    order_id: int,
    from_status: OrderStatus | None,
    to_status: OrderStatus,
    at: datetime,
    actor_id: int | None,
    location: LatLon | None = None,
    reason: str = "",
    source: str = "",
) -> None:
    session.add(
        OrderStatusHistoryRow(
            order_id=order_id,
            from_status=from_status.value if from_status is not None else None,
            to_status=to_status.value,
            at=at,
            actor_id=actor_id,
            latitude=location.lat if location is not None else None,
            longitude=location.lon if location is not None else None,
            reason=reason,
            source=source,
        )
    )


def _milestone(row: WorkOrderRow, to: OrderStatus, at: datetime) -> None:
    """Keep the order's milestones (what reports read) in step with its history."""
    if to is OrderStatus.ASSIGNED and row.assigned_at is None:
        row.assigned_at = at
    elif to is OrderStatus.ON_SITE and row.on_site_at is None:
        row.on_site_at = at
    elif to in (OrderStatus.DONE, OrderStatus.FAILED):
        row.ended_at = at
        row.failed_once = row.failed_once or to is OrderStatus.FAILED


class DuplicateReference(ValueError):
    """Another order already has this external `reference` (the column is unique)."""

    def __init__(self, reference: str) -> None:
        super().__init__(f"reference: an order {reference!r} already exists")
        self.reference = reference


def add_order(
    session: Session,
    *,
    site_id: int,
    type: OrderType | str,
    priority: int,
    window: TimeWindow,
    service_duration_s: int,
    required_skills: Iterable[str] = (),
    notes: str = "",
    reference: str = "",
    created_at: datetime | None = None,
    actor_id: int | None = None,
) -> WorkOrder:
    """Store a new order in status NEW, record that first status in its history, and return it.

    Raises ValueError naming the field for an unknown `site_id` or `type`, a `priority` outside
    1..5, a negative `service_duration_s` or a `reference` another order already has.
    `created_at` defaults to the system clock.
    """
    ref = reference.strip()
    if ref and session.scalar(select(WorkOrderRow.id).where(WorkOrderRow.reference == ref)) is not None:
        raise DuplicateReference(ref)
    created_at = created_at or SystemClock().now()
    row = WorkOrderRow(reference=ref or None, status=OrderStatus.NEW.value, created_at=created_at)
    _write(
        session,
        row,
        site_id=site_id,
        type=type,
        priority=priority,
        window=window,
        service_duration_s=service_duration_s,
        required_skills=required_skills,
        notes=notes,
    )
    try:
        with session.begin_nested():  # another process may store the same reference between the check and here
            session.add(row)
            session.flush()
    except IntegrityError:
        if ref and session.scalar(select(WorkOrderRow.id).where(WorkOrderRow.reference == ref)) is not None:
            raise DuplicateReference(ref) from None
        raise
    _record(session, order_id=row.id, from_status=None, to_status=OrderStatus.NEW, at=created_at, actor_id=actor_id)
    session.flush()
    return _to_domain(row)


def upsert_order_by_reference(
    session: Session,
    *,
    reference: str,
    site_id: int,
    type: OrderType | str,
    priority: int,
    window: TimeWindow,
    service_duration_s: int,
    required_skills: Iterable[str] = (),
    notes: str = "",
    created_at: datetime | None = None,
    actor_id: int | None = None,
) -> tuple[WorkOrder, bool]:
    """Create the order with `reference`, or update its site, type, priority, window, duration, skills and notes.

    The status and assignment of an existing order are never touched by an update: a re-import
    must not undo work already dispatched. Returns the order and whether it was created.
    """
    ref = reference.strip()
    if not ref:
        raise ValueError("reference: must not be empty")
    row = session.scalar(select(WorkOrderRow).where(WorkOrderRow.reference == ref))
    if row is None:
        order = add_order(
            session,
            site_id=site_id,
            type=type,
            priority=priority,
            window=window,
            service_duration_s=service_duration_s,
            required_skills=required_skills,
            notes=notes,
            reference=ref,
            created_at=created_at,
            actor_id=actor_id,
        )
        return order, True
    _write(
        session,
        row,
        site_id=site_id,
        type=type,
        priority=priority,
        window=window,
        service_duration_s=service_duration_s,
        required_skills=required_skills,
        notes=notes,
    )
    session.flush()
    return _to_domain(row), False


def get_order(session: Session, order_id: int) -> WorkOrder | None:
    """The order with `order_id`, or None."""
    row = session.get(WorkOrderRow, order_id)
    return _to_domain(row) if row is not None else None


def order_by_reference(session: Session, reference: str) -> WorkOrder | None:
    """The order with the external `reference`, or None."""
    row = session.scalar(select(WorkOrderRow).where(WorkOrderRow.reference == reference.strip()))
    return _to_domain(row) if row is not None else None


def list_orders(session: Session, *, status: OrderStatus | Iterable[OrderStatus] | None = None) -> list[WorkOrder]:
    """Orders ordered by id; only those in `status` (one status or several) when given."""
    query = select(WorkOrderRow).order_by(WorkOrderRow.id)
    if status is not None:
        wanted = [OrderStatus(status).value] if isinstance(status, str) else [OrderStatus(s).value for s in status]
        query = query.where(WorkOrderRow.status.in_(wanted))
    return [_to_domain(row) for row in session.scalars(query)]


def order_history(session: Session, *, order_id: int) -> list[StatusChange]:
    """The order's status changes, oldest first (the first entry is the status it was created in)."""
    rows = session.scalars(
        select(OrderStatusHistoryRow)
        .where(OrderStatusHistoryRow.order_id == order_id)
        .order_by(OrderStatusHistoryRow.at, OrderStatusHistoryRow.id)
    )
    return [
        StatusChange(
            order_id=row.order_id,
            from_status=OrderStatus(row.from_status) if row.from_status is not None else None,
            to_status=OrderStatus(row.to_status),
            at=row.at,
            actor_id=row.actor_id,
            location=LatLon(row.latitude, row.longitude)
            if row.latitude is not None and row.longitude is not None
            else None,
            reason=row.reason,
            source=row.source,
        )
        for row in rows
    ]


def save_change(session: Session, change: LifecycleChange) -> WorkOrder:
    """Store a move decided by `dispatch.lifecycle.transition` and record it in the history.

    The row must still be in `change.from_status` with `change.previous_worker_id`: if another
    request moved the order in between, ValueError (naming `status`) is raised and nothing changes,
    so two dispatchers can never both assign the same order.
    """
    query = select(WorkOrderRow).where(WorkOrderRow.id == change.order_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        raise ValueError(f"order_id: no order with id {change.order_id}")
    if row.status != change.from_status.value or row.assigned_worker_id != change.previous_worker_id:
        raise ValueError(f"status: order {change.order_id} changed meanwhile (it is {row.status} now); reload it")
    row.status = change.to_status.value
    row.assigned_worker_id = change.worker_id
    _milestone(row, change.to_status, change.at)
    _record(
        session,
        order_id=change.order_id,
        from_status=change.from_status,
        to_status=change.to_status,
        at=change.at,
        actor_id=change.actor_id,
        location=change.location,
        reason=change.reason,
        source=change.source,
    )
    session.flush()
    return _to_domain(row)


def open_order_counts(session: Session, *, worker_ids: Iterable[int] | None = None) -> dict[int, int]:
    """How many unfinished orders each worker holds (assigned, accepted, en route, on site)."""
    busy = [
        OrderStatus.ASSIGNED.value,
        OrderStatus.ACCEPTED.value,
        OrderStatus.EN_ROUTE.value,
        OrderStatus.ON_SITE.value,
    ]
    query = (
        select(WorkOrderRow.assigned_worker_id, func.count())
        .where(WorkOrderRow.status.in_(busy), WorkOrderRow.assigned_worker_id.is_not(None))
        .group_by(WorkOrderRow.assigned_worker_id)
    )
    counts = {int(worker_id): int(n) for worker_id, n in session.execute(query)}
    if worker_ids is not None:
        return {w: counts.get(w, 0) for w in worker_ids}
    return counts


def orders_of_worker(session: Session, *, worker_id: int) -> list[WorkOrder]:
    """The orders assigned to a worker, earliest window first."""
    rows = session.scalars(
        select(WorkOrderRow)
        .where(WorkOrderRow.assigned_worker_id == worker_id)
        .order_by(WorkOrderRow.window_start, WorkOrderRow.id)
    )
    return [_to_domain(r) for r in rows]


_SQLITE_WORKERS_SITES = (
    f"SELECT DISTINCT assigned_worker_id, site_id FROM {WorkOrderRow.__tablename__} "
    "WHERE status IN (SELECT value FROM json_each(?)) AND +assigned_worker_id IN (SELECT value FROM json_each(?))"
)
"""Read through the status index: the orders in the statuses asked (a day's open work) are few, and each worker's
orders pile up over the months (done, failed, cancelled). The unary `+` keeps SQLite off the worker index, which it
chose without it: every order the window's workers ever had, each a row read to look at its status (~11 ms a window at
500 past orders each, against ~0.4 through the status index; bench/README.md "Alerts", fourteenth session)."""


def workers_with_orders_at(
    session: Session, *, pairs: Iterable[tuple[int, int]], statuses: Iterable[OrderStatus]
) -> set[int]:
    """The workers of `pairs` (worker, site) assigned an order at that site in one of `statuses`, in one query.

    What a geofence crossing asks first: a crossing can move or flag only its worker's orders at its site, and most
    crossings are at sites where the worker has none, so their orders are read (`orders_of_workers`, whole rows
    through the ORM: ~0.7 ms for 200 workers holding none) only for the workers this names. On SQLite, driver SQL
    with the ids as one JSON parameter (one statement text, prepared once, whatever their number)."""
    wanted = set(pairs)
    if not wanted:
        return set()
    workers = sorted({w for w, _ in wanted})
    values = sorted(s.value for s in statuses)
    if session.get_bind().dialect.name == "sqlite":
        found = session.connection().exec_driver_sql(_SQLITE_WORKERS_SITES, (json.dumps(values), json.dumps(workers)))
    else:
        found = session.execute(
            select(WorkOrderRow.assigned_worker_id, WorkOrderRow.site_id)
            .where(WorkOrderRow.assigned_worker_id.in_(workers), WorkOrderRow.status.in_(values))
            .distinct()
        )
    return {w for w, s in found.all() if (w, s) in wanted}


def orders_of_workers(
    session: Session, *, worker_ids: Iterable[int], statuses: Iterable[OrderStatus] | None = None
) -> dict[int, list[WorkOrder]]:
    """The orders assigned to each of `worker_ids` (earliest window first), in one query; only those in
    `statuses` when given (a worker's done and failed orders pile up over the months)."""
    ids = sorted(set(worker_ids))
    out: dict[int, list[WorkOrder]] = {w: [] for w in ids}
    if not ids:
        return out
    query = select(WorkOrderRow).where(WorkOrderRow.assigned_worker_id.in_(ids))
    if statuses is not None:
        query = query.where(WorkOrderRow.status.in_(sorted(s.value for s in statuses)))
    rows = session.scalars(query.order_by(WorkOrderRow.window_start, WorkOrderRow.id))
    for row in rows:
        out[row.assigned_worker_id or 0].append(_to_domain(row))
    return out


@dataclass(frozen=True, slots=True)
class Milestones:
    """When an order's visit was first on site and when it last ended (done or failed); None when not yet.

    `failed_once`: a try failed before, so `on_site_at` may be that try's arrival."""

    on_site_at: datetime | None
    ended_at: datetime | None
    failed_once: bool = False


def milestones(session: Session, *, order_ids: Iterable[int]) -> dict[int, Milestones]:
    """The recorded milestones of `order_ids` (unknown ids are left out), in one query."""
    ids = sorted(set(order_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(WorkOrderRow.id, WorkOrderRow.on_site_at, WorkOrderRow.ended_at, WorkOrderRow.failed_once).where(
            WorkOrderRow.id.in_(ids)
        )
    )
    return {int(i): Milestones(on_site, ended, bool(failed)) for i, on_site, ended, failed in rows}


def statuses(session: Session, *, order_ids: Iterable[int]) -> dict[int, OrderStatus]:
    """The status of each of `order_ids` (unknown ids are left out), in one query."""
    ids = sorted(set(order_ids))
    if not ids:
        return {}
    rows = session.execute(select(WorkOrderRow.id, WorkOrderRow.status).where(WorkOrderRow.id.in_(ids)))
    return {int(i): OrderStatus(s) for i, s in rows}


def sites_of(session: Session, *, order_ids: Iterable[int]) -> dict[int, int]:
    """The site id of each of `order_ids` (unknown ids are left out), in one query."""
    ids = sorted(set(order_ids))
    if not ids:
        return {}
    rows = session.execute(select(WorkOrderRow.id, WorkOrderRow.site_id).where(WorkOrderRow.id.in_(ids)))
    return {int(i): int(s) for i, s in rows}
