"""Scheduled retention: every kind of personal data past its retention (`Settings.retention`) is purged hourly.

Positions, geofence events and their alerts, check-in and status-change coordinates, photos (rows
and files), signatures, the phones' action log, survey comments, attendance (clock-in positions, workers'
late-entry reasons and day-report text, reminders) and the audit log each have their
own period (`dispatch.privacy.RetentionDays`); one purge covers them all and reports counts per kind.
`python -m realtime worker` runs `run_purger` in a thread: one purge at start, then one an hour.
When several workers run, a Redis lock (`Bus.hold_lock`, as the relay uses) picks the one that
purges; it keeps the lock by purging on time, and if it dies the lock lapses and another takes
over within two hours. Purging logs counts only, never a position. Files are removed after the commit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from data import positions_repo, privacy_repo
from data.db import session_scope
from dispatch.clock import Clock
from dispatch.privacy import RetentionDays
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


def remove_files(paths: Iterable[str]) -> int:
    """Delete stored files (photos, stamped copies, thumbnails, signatures); returns how many were there."""
    removed = 0
    for path in paths:
        try:
            Path(path).unlink()
            removed += 1
        except FileNotFoundError:
            pass
        except OSError as exc:  # logged without the path: it names the worker's upload
            log.warning("could not remove a purged file (%s)", type(exc).__name__)
    return removed


def purge_all(*, sessions: sessionmaker[Session], now: datetime, retention: RetentionDays) -> dict[str, int]:
    """Purge every kind of personal data past its retention at `now` (one transaction, then the files).

    Returns the count per kind: rows deleted (positions, events, fence_crossings, alerts, photos, field_actions, reminders, audit,
    push_subscriptions of deactivated workers) or cleared (checkin_locations, clock_locations, status_locations,
    signatures, survey_comments, late_entry_reasons, day_report_texts), and `files` removed.
    """
    with session_scope(sessions) as session:
        purged = privacy_repo.purge(session, now=now, retention=retention)
    return {**purged.counts, "files": remove_files(purged.files)}


def purge_if_leader(
    *,
    bus: Bus,
    holder: str,
    sessions: sessionmaker[Session],
    clock: Clock,
    retention: RetentionDays,
    every_s: float = PURGE_EVERY_S,
) -> dict[str, int] | None:
    """One scheduled round: purge when `holder` has (or takes) the purge lock; None when another process has it.

    The lock lives for 1.5 rounds, so its holder renews it each round and keeps purging; the others
    skip. A failed purge is logged and retried next round.
    """
    if not bus.hold_lock(PURGE_LOCK, holder, int(every_s * 1500)):
        return None
    try:
        counts = purge_all(sessions=sessions, now=clock.now(), retention=retention)
    except Exception as exc:  # the next round retries; the worker's relay must not die of it
        log.warning("purging personal data failed (%s); retrying in %.0f s", type(exc).__name__, every_s)
        return None
    log.info("purged past retention: %s", ", ".join(f"{kind} {n}" for kind, n in counts.items()))
    return counts


def run_purger(
    *,
    bus: Bus,
    holder: str,
    sessions: sessionmaker[Session],
    clock: Clock,
    retention: RetentionDays,
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
                bus=bus, holder=holder, sessions=sessions, clock=clock, retention=retention, every_s=every_s
            )
            if wait(every_s):
                break
    finally:
        bus.release_lock(PURGE_LOCK, holder)
