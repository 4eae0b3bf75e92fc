"""Outgoing webhooks: the admin's service (add, list, delete, delivery log, replay); the delivery queue is in realtime/.

The database's `webhook_deliveries` rows are the queue's source of truth; the RQ queue
`outfield-webhooks` on the project's Redis (`realtime/webhook_queue.py`) carries a job per delivery to
the `webhooks` process (`python -m console webhook-worker`, `console/webhook_worker.py`). A job lost with
Redis is found again: that process re-enqueues every pending delivery at start and sweeps for overdue ones.
"""

from __future__ import annotations

import builtins
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from data import audit_repo, webhooks_repo
from data.db import session_scope
from dispatch.access import Actor
from dispatch.clock import Clock
from dispatch.errors import deny
from dispatch.fields import refuse_unknown
from dispatch.webhooks import MAX_SECRET_CHARS, MIN_SECRET_CHARS, EventType, url_problem


class WebhookService:
    def __init__(self, *, sessions: sessionmaker[Session], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    def add(self, *, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
        refuse_unknown(body, ("url", "events", "secret"))
        url, events, secret = body.get("url"), body.get("events"), body.get("secret")
        if not isinstance(url, str):
            deny(400, "url: missing or not text", "url")
        problem = url_problem(url.strip())
        if problem:
            deny(400, problem, "url")
        known = [e.value for e in EventType]
        if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
            deny(400, f"events: a non-empty list of event names from {', '.join(known)}", "events")
        unknown = sorted({e for e in events if e not in known})
        if unknown:
            deny(
                400, f"events: unknown {', '.join(repr(e[:60]) for e in unknown[:5])}; use {', '.join(known)}", "events"
            )
        if not isinstance(secret, str) or not MIN_SECRET_CHARS <= len(secret) <= MAX_SECRET_CHARS:
            deny(400, f"secret: text of {MIN_SECRET_CHARS} to {MAX_SECRET_CHARS} characters", "secret")
        now = self._clock.now()
        with session_scope(self._sessions) as session:
            hook = webhooks_repo.add_webhook(
                session, url=url.strip(), events=events, secret=secret, created_by=actor.id, at=now
            )
            audit_repo.record(
                session, actor_id=actor.id, action="add-webhook", subject_type="webhook", subject_id=hook.id, at=now,
                details={"events": list(hook.events)},
            )  # fmt: skip
        return webhook_json(hook)

    def list(self) -> list[dict[str, Any]]:
        with session_scope(self._sessions) as session:
            return [webhook_json(h) for h in webhooks_repo.list_webhooks(session)]

    def delete(self, *, actor: Actor, webhook_id: int) -> None:
        now = self._clock.now()
        with session_scope(self._sessions) as session:
            if not webhooks_repo.delete_webhook(session, webhook_id, at=now):
                deny(404, f"no webhook with id {webhook_id}")
            audit_repo.record(
                session,
                actor_id=actor.id,
                action="delete-webhook",
                subject_type="webhook",
                subject_id=webhook_id,
                at=now,
            )

    def deliveries(self, *, webhook_id: int) -> builtins.list[dict[str, Any]]:  # `list` is the method above
        with session_scope(self._sessions) as session:
            if webhooks_repo.get_webhook(session, webhook_id) is None:
                deny(404, f"no webhook with id {webhook_id}")
            return [delivery_json(d) for d in webhooks_repo.deliveries_of(session, webhook_id)]

    def replay(self, *, actor: Actor, delivery_id: int) -> dict[str, Any]:
        now = self._clock.now()
        with session_scope(self._sessions) as session:
            delivery = webhooks_repo.replay(session, delivery_id, at=now)
            if delivery is None:
                deny(404, f"no delivery with id {delivery_id} of a current webhook")
            audit_repo.record(
                session, actor_id=actor.id, action="replay-webhook-delivery", subject_type="webhook_delivery",
                subject_id=delivery_id, at=now,
            )  # fmt: skip
        return delivery_json(delivery)


def webhook_json(hook: webhooks_repo.Webhook) -> dict[str, Any]:
    """A webhook as the API shows it: never its secret."""
    return {"id": hook.id, "url": hook.url, "events": list(hook.events), "created_at": hook.created_at.isoformat()}


def delivery_json(d: webhooks_repo.Delivery) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": d.id, "webhook_id": d.webhook_id, "event_id": d.event_id, "event_type": d.event_type,
        "status": d.status, "attempts": d.attempts, "last_status_code": d.last_status_code,
        "last_error": d.last_error, "created_at": iso(d.created_at), "next_attempt_at": iso(d.next_attempt_at),
        "delivered_at": iso(d.delivered_at),
    }  # fmt: skip
