"""Reminders sent (once each, by key), the workers' reminder switch, Web Push subscriptions, the VAPID key (0013)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from data.tables import PushSubscriptionRow, ReminderRow, ReminderSettingRow, VapidKeyRow


@dataclass(frozen=True, slots=True)
class SentReminder:
    id: int
    worker_id: int
    kind: str
    order_id: int | None
    text: str
    at: datetime
    channels: tuple[str, ...]


def sent_keys(session: Session, *, worker_ids: list[int], since: datetime) -> dict[int, frozenset[str]]:
    """worker id → the keys of reminders sent to them since `since`."""
    rows = session.execute(
        select(ReminderRow.worker_id, ReminderRow.dedup_key).where(
            ReminderRow.worker_id.in_(worker_ids), ReminderRow.at >= since
        )
    )
    out: dict[int, set[str]] = {}
    for worker_id, key in rows:
        out.setdefault(worker_id, set()).add(key)
    return {w: frozenset(keys) for w, keys in out.items()}


def add_reminder(
    session: Session, *, worker_id: int, kind: str, key: str, order_id: int | None, text: str, at: datetime
) -> int | None:
    """Store a reminder about to be sent; None when one with `key` was stored already (by another process)."""
    row = ReminderRow(worker_id=worker_id, kind=kind, dedup_key=key, order_id=order_id, text=text, at=at, channels=[])
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row.id


def set_channels(session: Session, reminder_id: int, channels: list[str]) -> None:
    row = session.get(ReminderRow, reminder_id)
    if row is not None:
        row.channels = channels
        session.flush()


def reminders_of(session: Session, *, worker_id: int, since: datetime) -> list[SentReminder]:
    rows = session.scalars(
        select(ReminderRow)
        .where(ReminderRow.worker_id == worker_id, ReminderRow.at >= since)
        .order_by(ReminderRow.at, ReminderRow.id)
    )
    return [SentReminder(r.id, r.worker_id, r.kind, r.order_id, r.text, r.at, tuple(r.channels or ())) for r in rows]


def enabled(session: Session, worker_id: int) -> bool:
    row = session.get(ReminderSettingRow, worker_id)
    return True if row is None else row.enabled


def disabled_workers(session: Session) -> set[int]:
    return set(session.scalars(select(ReminderSettingRow.worker_id).where(ReminderSettingRow.enabled.is_(False))))


def set_enabled(session: Session, worker_id: int, value: bool) -> None:
    row = session.get(ReminderSettingRow, worker_id)
    if row is None:
        session.add(ReminderSettingRow(worker_id=worker_id, enabled=value))
    else:
        row.enabled = value
    session.flush()


def add_subscription(session: Session, *, worker_id: int, subscription: dict[str, Any], at: datetime) -> bool:
    """Keep a browser's push subscription for the worker (its endpoint once); False when it was known."""
    digest = hashlib.sha256(str(subscription["endpoint"]).encode()).hexdigest()
    row = session.scalar(select(PushSubscriptionRow).where(PushSubscriptionRow.endpoint_sha256 == digest))
    if row is not None:
        row.worker_id, row.subscription = worker_id, subscription
        session.flush()
        return False
    session.add(
        PushSubscriptionRow(worker_id=worker_id, endpoint_sha256=digest, subscription=subscription, created_at=at)
    )
    session.flush()
    return True


def subscriptions_of(session: Session, worker_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(select(PushSubscriptionRow).where(PushSubscriptionRow.worker_id == worker_id))
    return [dict(r.subscription) for r in rows]


def drop_subscription(session: Session, endpoint: str) -> None:
    """Forget a subscription the push service said is gone (404/410)."""
    digest = hashlib.sha256(endpoint.encode()).hexdigest()
    session.execute(delete(PushSubscriptionRow).where(PushSubscriptionRow.endpoint_sha256 == digest))


def vapid_key(session: Session) -> tuple[str, str] | None:
    """(private key PEM, public key as the browser's applicationServerKey) or None before one was made."""
    row = session.get(VapidKeyRow, 1)
    return (row.private_pem, row.public_key) if row is not None else None


def store_vapid_key(session: Session, *, private_pem: str, public_key: str, at: datetime) -> tuple[str, str]:
    """Keep the server's VAPID key once: when another process stored one first, that one is returned."""
    try:
        with session.begin_nested():
            session.add(VapidKeyRow(id=1, private_pem=private_pem, public_key=public_key, created_at=at))
            session.flush()
    except IntegrityError:
        pass
    stored = vapid_key(session)
    assert stored is not None
    return stored
