"""Forward positions from Redis pub/sub to the consoles' sockets, coalesced per worker.

A burst of pings must not flood the browser: within each `batch_ms` window only the latest
update per worker is kept, and one `positions` event carries the batch (see the stack research:
batching turns thousands of updates a second into a few socket events per console).

When a relay starts leading (after a Redis outage, the previous leader's crash, a deploy) and when
its subscription comes back after an outage, it emits `resync` to the live room: positions published
while nobody relayed were lost, so a console re-reads the snapshot on that event. The
consoles' Socket.IO processes resubscribe to the message queue on their own schedule (python-socketio
backs off up to 60 s), so the event waits until as many of them listen as before the outage.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from realtime.bus import ALERTS, ORDERS, POSITIONS, REMINDERS, RESYNC, WORKERS, Bus

log = logging.getLogger(__name__)

LIVE_ROOM = "live"
PLANS_ROOM = "plans"  # route-plan progress, for those who may plan routes
LEADER_LOCK = "outfield:relay-leader"
LOCK_TTL_MS = 3000
SOCKETIO_CHANNEL = "flask-socketio"
"""Flask-SocketIO's message-queue channel: every console process listens on it."""
RESYNC_EVENT = "resync"
RESYNC_WAIT_S = 70.0
"""The longest wait for the consoles' processes to listen again before `resync` is sent anyway."""

Emit = Callable[[str, dict[str, Any], str], None]
"""emit(event_name, payload, room)."""


def worker_room(worker_id: int) -> str:
    """The room of one field worker's open push-link pages."""
    return f"worker:{worker_id}"


def _order_workers(message: dict[str, Any]) -> set[int]:
    order = message.get("order") or {}
    ids = {order.get("assigned_worker_id"), message.get("previous_worker_id")}
    return {int(i) for i in ids if isinstance(i, int)}


class Coalescer:
    """Keeps the latest update per worker until drained."""

    def __init__(self) -> None:
        self._latest: dict[int, dict[str, Any]] = {}

    def add(self, update: dict[str, Any]) -> None:
        self._latest[int(update["worker_id"])] = update

    def __len__(self) -> int:
        return len(self._latest)

    def drain(self) -> list[dict[str, Any]]:
        batch = list(self._latest.values())
        self._latest.clear()
        return batch


def run_relay(
    *,
    bus: Bus,
    emit: Emit,
    batch_ms: int,
    stop: threading.Event,
    holder: str,
    monotonic: Callable[[], float] = time.monotonic,
    wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
) -> None:
    """Relay until `stop` is set, but only while this process holds the relay lock.

    `wall_ms` stamps each batch so that clients can measure end-to-end latency.
    """
    listeners = 0  # console processes listening on the socket message queue, when last counted
    outage = False  # Redis stopped answering since the last count: counts now are of a recovering deployment
    while not stop.is_set():
        if not bus.hold_lock(LEADER_LOCK, holder, LOCK_TTL_MS):
            count = bus.subscribers(SOCKETIO_CHANNEL)
            if count is None:
                outage = True
            elif not outage:
                listeners = count
            stop.wait(1.0)
            continue
        outage = False
        log.info("relay %s is forwarding live positions", holder)
        try:
            # Whoever takes the lock, after an outage, a crash of the last leader or a deploy: what was
            # published while no relay listened never reached the consoles, so they are told to re-read.
            listeners = _relay_while_leader(bus, emit, batch_ms, stop, holder, monotonic, wall_ms, listeners)
        except Exception:  # the relay must outlive a bad message or a socket hiccup
            log.exception("relay loop failed; restarting")
            stop.wait(1.0)
    bus.release_lock(LEADER_LOCK, holder)


def _relay_while_leader(
    bus: Bus,
    emit: Emit,
    batch_ms: int,
    stop: threading.Event,
    holder: str,
    monotonic: Callable[[], float],
    wall_ms: Callable[[], int],
    listeners_before: int,
) -> int:
    """Forward until the lock is lost or `stop`; returns how many console processes listened last.

    `resync` is sent first, once as many console processes listen as `listeners_before` (this relay's
    last count; at least one): the consoles re-read the snapshot, as nobody relayed before this leader.
    """
    pending = Coalescer()
    window_s = batch_ms / 1000.0
    next_flush = monotonic() + window_s
    next_renew = monotonic() + LOCK_TTL_MS / 3000.0
    listeners = max(listeners_before, bus.subscribers(SOCKETIO_CHANNEL) or 0, 1)
    resync: tuple[int, float] | None = (listeners, monotonic() + RESYNC_WAIT_S)  # (listeners to wait for, deadline)
    next_count = monotonic()
    for item in bus.listen(
        [POSITIONS, ORDERS, ALERTS, WORKERS, REMINDERS], stop=stop, timeout_s=min(0.05, window_s / 2)
    ):
        if item is not None:
            channel, message = item
            if channel == POSITIONS:
                pending.add(message)
            elif channel == RESYNC:
                resync = (listeners, monotonic() + RESYNC_WAIT_S)
            elif channel == ALERTS:
                emit("alert", message, LIVE_ROOM)
            elif channel == WORKERS:
                emit("worker", message, LIVE_ROOM)
            elif channel == REMINDERS:
                emit("reminder", message, worker_room(int(message["worker_id"])))
            else:
                emit("orders", message, LIVE_ROOM)
                for worker_id in _order_workers(message):
                    emit("assignment", message, worker_room(worker_id))
        now = monotonic()
        if resync is not None and now >= next_count:  # count the listeners twice a second, not every tick
            next_count = now + 0.5
            if (bus.subscribers(SOCKETIO_CHANNEL) or 0) >= resync[0] or now >= resync[1]:
                log.info("relay %s: the live stream is back; consoles re-read the snapshot", holder)
                emit(RESYNC_EVENT, {"sent_ms": wall_ms()}, LIVE_ROOM)
                resync = None
        if now >= next_flush:
            if len(pending):
                emit("positions", {"updates": pending.drain(), "sent_ms": wall_ms()}, LIVE_ROOM)
            next_flush = now + window_s
        if now >= next_renew:
            if not bus.hold_lock(LEADER_LOCK, holder, LOCK_TTL_MS):
                log.info("relay %s lost the lock", holder)
                return listeners
            if resync is None:
                listeners = bus.subscribers(SOCKETIO_CHANNEL) or listeners
            next_renew = now + LOCK_TTL_MS / 3000.0
    return listeners
