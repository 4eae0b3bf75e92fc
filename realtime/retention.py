"""Scheduled retention: positions older than `Settings.position_retention_days` are deleted every hour.

`python -m realtime worker` runs `run_purger` in a thread: one purge at start, then one an hour.
When several workers run, a Redis lock (`Bus.hold_lock`, as the relay uses) picks the one that
purges; it keeps the lock by purging on time, and if it dies the lock lapses and another takes
over within two hours. Purging logs counts only, never a position.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from data import positions_repo
from data.db import session_scope
from dispatch.clock import Clock
from realtime.bus import Bus

log = logging.getLogger(__name__)

PURGE_LOCK = "outfield:purge-positions"
PURGE_EVERY_S = 3600.0


def retention_cutoff(now: datetime, retention_days: int) -> datetime:
    """Positions whose fix time is before this are past retention."""
    if retention_days < 1:
        raise ValueError(f"retention_days: {retention_days} must be >= 1")
    return now - timedelta(days=retention_days)


def purge_once(*, sessions: sessionmaker[Session], now: datetime, retention_days: int) -> int:
    """Delete the positions past retention at `now` in one transaction; returns how many were deleted."""
    before = retention_cutoff(now, retention_days)
    with session_scope(sessions) as session:
        return positions_repo.purge_positions(session, before=before)


def purge_if_leader(
    *,
    bus: Bus,
    holder: str,
    sessions: sessionmaker[Session],
    clock: Clock,
    retention_days: int,
    every_s: float = PURGE_EVERY_S,
) -> int | None:
    """One scheduled round: purge when `holder` has (or takes) the purge lock; None when another process has it.

    The lock lives for 1.5 rounds, so its holder renews it each round and keeps purging; the others
    skip. A failed purge is logged and retried next round.
    """
    if not bus.hold_lock(PURGE_LOCK, holder, int(every_s * 1500)):
        return None
    try:
        count = purge_once(sessions=sessions, now=clock.now(), retention_days=retention_days)
    except Exception as exc:  # the next round retries; the worker's relay must not die of it
        log.warning("purging old positions failed (%s); retrying in %.0f s", type(exc).__name__, every_s)
        return None
    log.info("purged %d position(s) older than %d days", count, retention_days)
    return count


def run_purger(
    *,
    bus: Bus,
    holder: str,
    sessions: sessionmaker[Session],
    clock: Clock,
    retention_days: int,
    stop: threading.Event,
    every_s: float = PURGE_EVERY_S,
    wait: Callable[[float], bool] | None = None,
) -> None:
    """Purge at once and then every `every_s` seconds until `stop` is set; release the lock when stopping.

    `wait(seconds)` is how the loop sleeps (default `stop.wait`; True means stop); tests pass one that
    advances a manual clock instead.
    """
    wait = wait or stop.wait
    try:
        while not stop.is_set():
            purge_if_leader(
                bus=bus, holder=holder, sessions=sessions, clock=clock, retention_days=retention_days, every_s=every_s
            )
            if wait(every_s):
                break
    finally:
        bus.release_lock(PURGE_LOCK, holder)
