"""Outgoing webhooks and their delivery log, the source of truth of the delivery queue.

`emit(session, event_type, payload, at=...)` adds one pending delivery per webhook subscribed to
the event, in the caller's transaction: an event and its deliveries are stored together or not at
all. `capture(sessions, on_commit)` hands the ids of the deliveries a transaction wrote to
`on_commit` (an enqueuer) once it has committed. Every status change of an order
(any `order_status_history` row) and every check-in row become events here too, by a flush hook,
so no path that changes an order can forget to emit.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, sessionmaker

from data.tables import CheckinRow, OrderStatusHistoryRow, WebhookDeliveryRow, WebhookRow, WorkOrderRow
from dispatch.webhooks import EventType

PENDING_KEY = "outfield.webhook_deliveries"


@dataclass(frozen=True, slots=True)
class Webhook:
    id: int
    url: str
    events: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    webhook_id: int
    event_id: str
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery leased to one sender: what to send where, signed with which secret."""

    id: int
    url: str
    secret: str
    event_type: str
    body: str
    attempts: int


def add_webhook(
    session: Session, *, url: str, events: Iterable[str], secret: str, created_by: int | None, at: datetime
) -> Webhook:
    row = WebhookRow(url=url, events=sorted(set(events)), secret=secret, created_by=created_by, created_at=at)
    session.add(row)
    session.flush()
    return _webhook(row)


def list_webhooks(session: Session) -> list[Webhook]:
    rows = session.scalars(select(WebhookRow).where(WebhookRow.deleted_at.is_(None)).order_by(WebhookRow.id))
    return [_webhook(r) for r in rows]


def get_webhook(session: Session, webhook_id: int) -> Webhook | None:
    row = session.get(WebhookRow, webhook_id)
    return _webhook(row) if row is not None and row.deleted_at is None else None


def delete_webhook(session: Session, webhook_id: int, *, at: datetime) -> bool:
    """Stop the webhook (its log is kept; its pending deliveries are given up). False when unknown."""
    row = session.get(WebhookRow, webhook_id)
    if row is None or row.deleted_at is not None:
        return False
    row.deleted_at = at
    session.execute(
        update(WebhookDeliveryRow)
        .where(WebhookDeliveryRow.webhook_id == webhook_id, WebhookDeliveryRow.status == "pending")
        .values(status="failed", last_error="webhook deleted", next_attempt_at=None)
    )
    session.flush()
    return True


def emit(session: Session, event_type: EventType, payload: Mapping[str, Any], *, at: datetime) -> str | None:
    """Add a pending delivery of the event for every webhook subscribed to it; returns the event id (None: nobody)."""
    hooks = [
        h
        for h in session.scalars(select(WebhookRow).where(WebhookRow.deleted_at.is_(None)))
        if event_type.value in h.events
    ]
    if not hooks:
        return None
    event_id = uuid.uuid4().hex
    body = json.dumps(
        {"id": event_id, "type": event_type.value, "occurred_at": at.isoformat(), "data": dict(payload)},
        separators=(",", ":"), sort_keys=True, default=str,
    )  # fmt: skip
    rows = [
        WebhookDeliveryRow(
            webhook_id=h.id,
            event_id=event_id,
            event_type=event_type.value,
            body=body,
            status="pending",
            attempts=0,
            last_error="",
            created_at=at,
            next_attempt_at=at,
        )  # fmt: skip
        for h in hooks
    ]
    session.add_all(rows)  # flushed with the transaction; the flush hook of `capture` notes their ids
    return event_id


def capture(sessions: sessionmaker[Session], on_commit: Callable[[list[int]], None]) -> None:
    """Turn order status changes and check-ins into events in every session of `sessions`, and hand the
    ids of deliveries written by a committed transaction to `on_commit` (an enqueuer)."""

    @event.listens_for(sessions, "after_flush_postexec")
    def _events(session: Session, _context: Any) -> None:
        new = session.info.pop("outfield.webhook_new_rows", [])
        for row in new:
            if isinstance(row, OrderStatusHistoryRow) and row.from_status is not None:
                order = session.get(WorkOrderRow, row.order_id)
                emit(session, EventType.ORDER_STATUS_CHANGED, {
                    "order_id": row.order_id, "from_status": row.from_status, "to_status": row.to_status,
                    "at": row.at.isoformat(), "worker_id": order.assigned_worker_id if order else None,
                    "actor_id": row.actor_id, "reason": row.reason,
                }, at=row.at)  # fmt: skip
            elif isinstance(row, CheckinRow):
                emit(session, EventType.CHECKIN, {
                    "checkin_id": row.id, "order_id": row.order_id, "worker_id": row.worker_id, "kind": row.kind,
                    "at": row.at.isoformat(), "verdict": row.verdict,
                }, at=row.at)  # fmt: skip

    @event.listens_for(sessions, "before_flush")
    def _collect(session: Session, _context: Any, _instances: Any) -> None:
        rows = [o for o in session.new if isinstance(o, OrderStatusHistoryRow | CheckinRow)]
        if rows:
            session.info.setdefault("outfield.webhook_new_rows", []).extend(rows)

    @event.listens_for(sessions, "after_flush")
    def _note_deliveries(session: Session, _context: Any) -> None:
        ids = [o.id for o in session.new if isinstance(o, WebhookDeliveryRow)]
        if ids:
            session.info.setdefault(PENDING_KEY, []).extend(ids)

    @event.listens_for(sessions, "after_commit")
    def _committed(session: Session) -> None:
        ids = session.info.pop(PENDING_KEY, [])
        if ids:
            on_commit(ids)

    @event.listens_for(sessions, "after_soft_rollback")
    def _rolled_back(session: Session, _previous: Any) -> None:
        session.info.pop(PENDING_KEY, None)
        session.info.pop("outfield.webhook_new_rows", None)


def claim(session: Session, delivery_id: int, *, now: datetime, lease_s: float) -> Claimed | None:
    """Lease a pending, due delivery to this sender (None when delivered, failed, not due, or leased elsewhere)."""
    leased = session.execute(
        update(WebhookDeliveryRow)
        .where(
            WebhookDeliveryRow.id == delivery_id,
            WebhookDeliveryRow.status == "pending",
            (WebhookDeliveryRow.next_attempt_at.is_(None)) | (WebhookDeliveryRow.next_attempt_at <= now),
            (WebhookDeliveryRow.lease_until.is_(None)) | (WebhookDeliveryRow.lease_until < now),
        )
        .values(lease_until=now + timedelta(seconds=lease_s))
    )
    if leased.rowcount != 1:  # type: ignore[attr-defined]
        return None
    row = session.get(WebhookDeliveryRow, delivery_id)
    hook = session.get(WebhookRow, row.webhook_id) if row is not None else None
    if row is None or hook is None:
        return None
    return Claimed(row.id, hook.url, hook.secret, row.event_type, row.body, row.attempts)


def record_attempt(
    session: Session,
    delivery_id: int,
    *,
    ok: bool,
    status_code: int | None,
    error: str,
    at: datetime,
    next_attempt_at: datetime | None,
) -> None:
    """One attempt's outcome: delivered, pending until `next_attempt_at`, or failed (given up) when that is None."""
    row = session.get(WebhookDeliveryRow, delivery_id)
    if row is None:
        return
    row.attempts += 1
    row.last_status_code = status_code
    row.last_error = error[:500]
    row.lease_until = None
    if ok:
        row.status, row.delivered_at, row.next_attempt_at = "delivered", at, None
    elif next_attempt_at is None:
        row.status, row.next_attempt_at = "failed", None
    else:
        row.next_attempt_at = next_attempt_at
    session.flush()


def pending(session: Session) -> list[tuple[int, datetime | None]]:
    """Every pending delivery and when it is due, oldest first: what a restarted sender re-enqueues."""
    rows = session.execute(
        select(WebhookDeliveryRow.id, WebhookDeliveryRow.next_attempt_at)
        .where(WebhookDeliveryRow.status == "pending")
        .order_by(WebhookDeliveryRow.id)
    ).all()
    return [(r[0], r[1]) for r in rows]


def deliveries_of(session: Session, webhook_id: int, *, limit: int = 200) -> list[Delivery]:
    rows = session.scalars(
        select(WebhookDeliveryRow)
        .where(WebhookDeliveryRow.webhook_id == webhook_id)
        .order_by(WebhookDeliveryRow.id.desc())
        .limit(limit)
    )
    return [_delivery(r) for r in rows]


def replay(session: Session, delivery_id: int, *, at: datetime) -> Delivery | None:
    """Send a delivery again (same event id and body): pending now, whatever it was. None when unknown."""
    row = session.get(WebhookDeliveryRow, delivery_id)
    if row is None:
        return None
    hook = session.get(WebhookRow, row.webhook_id)
    if hook is None or hook.deleted_at is not None:
        return None
    row.status, row.next_attempt_at, row.lease_until = "pending", at, None
    session.flush()
    session.info.setdefault(PENDING_KEY, []).append(row.id)  # enqueued by `capture`'s after-commit hook
    return _delivery(row)


def _webhook(row: WebhookRow) -> Webhook:
    return Webhook(row.id, row.url, tuple(row.events), row.created_at)


def _delivery(row: WebhookDeliveryRow) -> Delivery:
    return Delivery(
        id=row.id, webhook_id=row.webhook_id, event_id=row.event_id, event_type=row.event_type, status=row.status,
        attempts=row.attempts, last_status_code=row.last_status_code, last_error=row.last_error,
        created_at=row.created_at, next_attempt_at=row.next_attempt_at, delivered_at=row.delivered_at,
    )  # fmt: skip
