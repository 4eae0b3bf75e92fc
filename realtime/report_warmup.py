"""Reports kept ready: the worker process sums what a manager's year report reads, before anyone asks.

Every hour the lock holder (`outfield:report-warmup`, as the purge and the scheduled report use) keeps the
order sums of each whole month of the last 366 days that is over (`reports_repo.keep_month_sums`: only months
missing or changed since) and the kilometres of each day before yesterday
(`reports_repo.km_per_worker`: only days not summed yet). A report over any year then sums at most the
days of the two months it cuts into, and a change to an old order costs the next round one month.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy.orm import Session, sessionmaker

from data import reports_repo
from data.db import session_scope
from dispatch.clock import Clock
from dispatch.reports import Period
from realtime.bus import Bus

log = logging.getLogger(__name__)

WARMUP_LOCK = "outfield:report-warmup"
WARM_EVERY_S = 3600.0


@dataclass(frozen=True, slots=True)
class Warmed:
    months: list[str]
    km_days: int


def warm_reports(
    sessions: sessionmaker[Session], *, now: datetime, zone: tzinfo = UTC, km_days_back: int = 366
) -> Warmed:
    """Keep the sums of the closed months of the last year and the kilometres of the days of the
    last `km_days_back` up to the day before yesterday (whatever positions retention left)."""
    today = now.astimezone(zone).date()
    with session_scope(sessions) as session:
        months = reports_repo.keep_month_sums(session, Period(today - timedelta(days=365), today, zone), now=now)
    # Not yesterday: a phone that was offline may still upload yesterday's fixes (a report asking for
    # yesterday sums it then, as it always did).
    settled = today - timedelta(days=2)
    with session_scope(sessions) as session:
        before = reports_repo.km_days_known(session)
        reports_repo.km_per_worker(session, Period(today - timedelta(days=km_days_back), settled, zone), now=now)
        after = reports_repo.km_days_known(session)
    return Warmed(months=months, km_days=after - before)


def run_report_warmup(
    *,
    bus: Bus,
    holder: str,
    sessions: sessionmaker[Session],
    clock: Clock,
    stop: threading.Event,
    every_s: float = WARM_EVERY_S,
    zone: tzinfo = UTC,
) -> None:
    """Warm at once and then every `every_s` seconds until `stop`; only the lock holder works."""
    try:
        while not stop.is_set():
            if bus.hold_lock(WARMUP_LOCK, holder, int(every_s * 1500)):
                try:
                    warmed = warm_reports(sessions, now=clock.now(), zone=zone)
                    if warmed.months or warmed.km_days:
                        log.info("reports kept ready: %d months summed, %d days of kilometres",
                                 len(warmed.months), warmed.km_days)  # fmt: skip
                except Exception as exc:  # retried next round; the worker must not die of it
                    log.warning("reports not kept ready (%s: %s); retrying in %.0f s", type(exc).__name__, exc, every_s)
            if stop.wait(every_s):
                break
    finally:
        bus.release_lock(WARMUP_LOCK, holder)
