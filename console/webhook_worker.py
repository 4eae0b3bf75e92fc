"""`python -m console webhook-worker` (the Procfile's `webhooks`): sends webhook deliveries queued on Redis.

A failed attempt is retried with exponential backoff (`OUTFIELD_WEBHOOK_RETRY_BASE_S`, doubling) up to
MAX_ATTEMPTS, due on a whole second and scheduled on RQ for then. At start, and then every
`OUTFIELD_WEBHOOK_SWEEP_S` (15 s), every pending delivery due in the database is enqueued again (a job
lost with Redis, or one whose retry was scheduled by a process that died, is sent anyway); a delivery
is leased before it is sent, so a job that runs twice sends once.
A URL whose name resolves to a link-local or metadata address is failed unsent, and so is one whose name answers
another address when the POST connects (`console.outbound` checks the connected socket's peer).
Neither secrets nor bodies are logged: only delivery ids, event types and status codes.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy.orm import Session, sessionmaker

from console.outbound import guarded_post, refused
from data import webhooks_repo
from data.db import make_engine, make_sessionmaker, session_scope
from data.settings import Settings
from dispatch.clock import Clock, SystemClock
from dispatch.webhooks import (
    EVENT_HEADER,
    MAX_ATTEMPTS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    blocked_address,
    retry_at,
    sign,
)
from realtime.webhook_queue import DeliveryQueue

log = logging.getLogger("outfield.webhooks")
LEASE_S = 60.0
TIMEOUT_S = 10.0


@dataclass
class DeliveryContext:
    sessions: sessionmaker[Session]
    clock: Clock
    queue: DeliveryQueue
    retry_base_s: float
    post: Callable[..., Any] = field(default_factory=guarded_post)


_context: DeliveryContext | None = None


def deliver_job(delivery_id: int) -> str:
    """The RQ job: send one delivery once (if still pending and not leased elsewhere)."""
    assert _context is not None, "the webhook worker installs its context before working"
    return deliver(_context, delivery_id)


def deliver(ctx: DeliveryContext, delivery_id: int) -> str:
    now = ctx.clock.now()
    with session_scope(ctx.sessions) as session:
        claimed = webhooks_repo.claim(session, delivery_id, now=now, lease_s=LEASE_S)
    if claimed is None:
        return "skipped"
    body = claimed.body.encode()
    status_code: int | None = None
    error = ""
    retry = True
    if _resolves_to_blocked(claimed.url):
        error, retry = "refused: the URL resolves to a link-local or metadata address", False
    else:
        try:
            # stream=True: only the status line and headers are read, and the answer's body is left unread when
            # the connection closes, so a receiver that answers with an endless (or dripped) body holds no worker.
            response = ctx.post(
                claimed.url, data=body, timeout=TIMEOUT_S, allow_redirects=False, stream=True,
                headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(claimed.secret, body),
                         TIMESTAMP_HEADER: str(int(now.timestamp())), EVENT_HEADER: claimed.event_type},
            )  # fmt: skip
            status_code = response.status_code
            response.close()
        except requests.RequestException as exc:
            if refused(exc):  # the name led elsewhere when the request connected than when it was checked above
                error, retry = "refused: the URL's connection reached a link-local or metadata address", False
            else:
                error = f"no answer ({type(exc).__name__})"
    ok = status_code is not None and 200 <= status_code < 300
    if not ok and status_code is not None:
        error = f"answered {status_code}"
    attempt = claimed.attempts + 1
    again = not ok and retry and attempt < MAX_ATTEMPTS
    done_at = ctx.clock.now()
    next_at = retry_at(done_at, attempt, base_s=ctx.retry_base_s) if again else None
    with session_scope(ctx.sessions) as session:
        webhooks_repo.record_attempt(
            session, delivery_id, ok=ok, status_code=status_code, error=error, at=done_at, next_attempt_at=next_at
        )
    log.info("delivery %s (%s) attempt %s: %s", delivery_id, claimed.event_type, attempt, "ok" if ok else error)
    if next_at is not None:
        ctx.queue.enqueue([delivery_id], at=next_at)
    return "delivered" if ok else "failed"


def _resolves_to_blocked(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False  # unresolvable: the POST fails and is retried
    return any(blocked_address(str(a)) for a in addresses)


def sweep(ctx: DeliveryContext) -> int:
    """Enqueue every pending delivery that is due; returns how many."""
    now = ctx.clock.now()
    with session_scope(ctx.sessions) as session:
        due = [i for i, at in webhooks_repo.pending(session) if at is None or at <= now]
    ctx.queue.enqueue(due)
    return len(due)


def install(ctx: DeliveryContext) -> None:
    global _context
    _context = ctx


def run_webhook_worker(settings: Settings) -> int:
    """Send deliveries until SIGTERM/SIGINT."""
    queue = DeliveryQueue(settings.redis_url)
    ctx = DeliveryContext(
        sessions=make_sessionmaker(make_engine(settings.database_url)),
        clock=SystemClock(),
        queue=queue,
        retry_base_s=settings.webhook_retry_base_s,
    )
    install(ctx)
    stop = threading.Event()

    def sweeper() -> None:
        while not stop.is_set():
            try:
                count = sweep(ctx)
                if count:
                    log.info("re-enqueued %s pending webhook deliveries", count)
            except Exception:
                log.exception("webhook sweep failed; trying again in %s s", settings.webhook_sweep_s)
            stop.wait(settings.webhook_sweep_s)

    threading.Thread(target=sweeper, name="webhook-sweep", daemon=True).start()
    name = f"webhooks-{socket.gethostname()}-{os.getpid()}"
    log.info("webhook worker %s is waiting for deliveries", name)
    try:
        queue.work(name=name)
    finally:
        stop.set()
    return 0
