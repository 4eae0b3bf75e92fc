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

SCOPED_ROOM = "live-scoped"
"""Every team-scoped office socket: unassigned orders and `resync` (the all-teams sockets are in LIVE_ROOM)."""
TeamOf = Callable[[int], str | None]
"""team_of(worker_id): the worker's team ("" none), None for a worker not known (yet)."""


def worker_room(worker_id: int) -> str:
    """The room of one field worker's open push-link pages."""
    return f"worker:{worker_id}"


def team_room(team: str) -> str:
    """The room of the team-scoped office sockets that see `team`'s workers."""
    return f"team:{team}"


class TeamDirectory:
    """Each worker's team for the relay, re-read every `refresh_s`, and on an unknown worker: at once the first time
    that worker is asked for (a worker added since the last read, whose first fixes would otherwise reach no team
    room), then at most once a second; so a team-scoped console gets its teams' fixes, orders and alerts and nothing
    else."""

    def __init__(self, load: Callable[[], dict[int, str]], *, refresh_s: float = 5.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self._load = load
        self._refresh_s = refresh_s
        self._monotonic = monotonic
        self._teams: dict[int, str] = {}
        self._loaded_at = float("-inf")
        self._missed: set[int] = set()  # the workers asked for while unknown (each re-reads at once only once)

    def __call__(self, worker_id: int) -> str | None:
        now = self._monotonic()
        stale = now - self._loaded_at >= self._refresh_s
        unknown = worker_id not in self._teams
        first_miss = unknown and worker_id not in self._missed
        if unknown:
            self._missed.add(worker_id)
        if stale or first_miss or (unknown and now - self._loaded_at >= 1.0):
            try:
                self._teams = self._load()
                self._loaded_at = now
            except Exception:  # the database away: keep the last directory (unknown workers reach no team room)
                log.warning("could not re-read the workers' teams for the live stream")
        return self._teams.get(worker_id)


def _flush(pending: Coalescer, emit: Emit, wall_ms: Callable[[], int], team_of: TeamOf | None) -> None:
    """Emit the window's latest fix of each worker to the live room and to their team's room, stamped `wall_ms()`."""
    if not len(pending):
        return
    updates, sent_ms = pending.drain(), wall_ms()
    # A tuple, which JSON writes as the array a list is: python-socketio looks through a list (and a dict) item by
    # item for bytes before every emit, ~1,600 Python calls for a window of 150 fixes, not through a tuple
    # (bench/README.md, "Ingestion", ninth session). Nothing here is bytes.
    emit("positions", {"updates": tuple(updates), "sent_ms": sent_ms}, LIVE_ROOM)
    for team, subset in _by_team(updates, team_of).items() if team_of is not None else ():
        emit("positions", {"updates": tuple(subset), "sent_ms": sent_ms}, team_room(team))


def _by_team(updates: list[dict[str, Any]], team_of: TeamOf) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for update in updates:
        team = team_of(int(update["worker_id"]))
        if team:
            out.setdefault(team, []).append(update)
    return out


def _scoped_rooms(worker_id: Any, team_of: TeamOf | None, *, unassigned: str | None) -> list[str]:
    """The scoped rooms a message about `worker_id` goes to (none when the team is unknown: fail closed)."""
    if team_of is None:
        return []
    if not isinstance(worker_id, int):
        return [unassigned] if unassigned else []
    team = team_of(worker_id)
    return [team_room(team)] if team else []


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
    team_of: TeamOf | None = None,
) -> None:
    """Relay until `stop` is set, but only while this process holds the relay lock.

    `wall_ms` stamps each batch so that clients can measure end-to-end latency. With `team_of`, each
    fix, order and alert also goes to its worker's team room (team-scoped consoles); without it only
    the all-teams room gets them.
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
            listeners = _relay_while_leader(bus, emit, batch_ms, stop, holder, monotonic, wall_ms, listeners, team_of)
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
    team_of: TeamOf | None = None,
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
                for room in _scoped_rooms(message.get("worker_id"), team_of, unassigned=None):
                    emit("alert", message, room)
            elif channel == WORKERS:
                emit("worker", message, LIVE_ROOM)
                for room in _scoped_rooms(message.get("worker_id"), team_of, unassigned=None):
                    emit("worker", message, room)
            elif channel == REMINDERS:
                emit("reminder", message, worker_room(int(message["worker_id"])))
            else:
                emit("orders", message, LIVE_ROOM)
                worker = (message.get("order") or {}).get("assigned_worker_id")
                for room in _scoped_rooms(worker, team_of, unassigned=SCOPED_ROOM):
                    emit("orders", message, room)
                for worker_id in _order_workers(message):
                    emit("assignment", message, worker_room(worker_id))
        now = monotonic()
        if resync is not None and now >= next_count:  # count the listeners twice a second, not every tick
            next_count = now + 0.5
            if (bus.subscribers(SOCKETIO_CHANNEL) or 0) >= resync[0] or now >= resync[1]:
                log.info("relay %s: the live stream is back; consoles re-read the snapshot", holder)
                emit(RESYNC_EVENT, {"sent_ms": wall_ms()}, LIVE_ROOM)
                emit(RESYNC_EVENT, {"sent_ms": wall_ms()}, SCOPED_ROOM)
                resync = None
        if now >= next_flush:
            _flush(pending, emit, wall_ms, team_of)
            next_flush = now + window_s
        if now >= next_renew:
            if not bus.hold_lock(LEADER_LOCK, holder, LOCK_TTL_MS):
                log.info("relay %s lost the lock", holder)
                # Taken by another relay (Redis answers): this window's fixes are sent, not dropped, as the new leader
                # may have subscribed only after they were published (a takeover as Redis comes back); a console keeps
                # the newer of two fixes. Not while Redis does not answer: the emit would wait on it or fail.
                if bus.subscribers(SOCKETIO_CHANNEL) is not None:
                    _flush(pending, emit, wall_ms, team_of)
                return listeners
            if resync is None:
                listeners = bus.subscribers(SOCKETIO_CHANNEL) or listeners
            next_renew = now + LOCK_TTL_MS / 3000.0
    return listeners
