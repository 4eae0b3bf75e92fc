"""What a retention's worth of geofence crossings costs where they are stored, and the questions asked of them.

A migrated SQLite file (1 KiB pages, as a new one has) is filled with `--days` days of `--workers` workers' crossings,
`--per-day` each a day (alternating arrivals and departures, each worker going round `--sites-per-worker` of 500
sites), stored as the alert evaluator stores them: `alerts_repo.add_fence_events`, one store of every worker's next
crossing at a time. Then, each timed with `time.process_time` (median of `--repeat`):

- the bytes the crossings take in the file (the growth of `PRAGMA page_count`, per crossing);
- the retention purge (`privacy_repo.purge`, everything in it, as `python -m realtime worker` runs it hourly) with
  nothing past retention, and with the oldest day's crossings past it;
- `alerts_repo.fence_events` of one worker for the last 24 hours (`GET /api/v1/workers/{id}/events`' default);
- `alerts_repo.sites_inside_many` of every worker since the day before (an evaluator meeting its first batch).

Run it on `main` and on a branch to compare storage layouts (it uses only the repositories' functions). Nothing here
asserts on time.

    .venv/bin/python bench/crossings_table.py [--workers 100] [--days 180] [--per-day 28] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from data import alerts_repo, privacy_repo, sites_repo  # noqa: E402
from data.db import make_engine, make_sessionmaker, session_scope  # noqa: E402
from data.migrate import migrate  # noqa: E402
from data.workers_repo import add_worker  # noqa: E402
from dispatch.geo import LatLon  # noqa: E402
from dispatch.geofences import FenceEventType, GeofenceEvent  # noqa: E402
from dispatch.privacy import RetentionDays  # noqa: E402

START = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)


def cpu_ms(call: Callable[[], object], repeat: int) -> float:
    """Median CPU milliseconds of `call` over `repeat` calls."""
    spent = []
    for _ in range(repeat):
        started = time.process_time()
        call()
        spent.append((time.process_time() - started) * 1e3)
    return statistics.median(spent)


def pages(sessions: sessionmaker[Session]) -> int:
    with session_scope(sessions) as session:
        session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        return int(session.execute(text("PRAGMA page_count")).scalar_one())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=100)
    parser.add_argument("--days", type=int, default=180, help="days of crossings (the events' retention: 180)")
    parser.add_argument("--per-day", type=int, default=28, help="crossings per worker and day")
    parser.add_argument("--sites-per-worker", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="outfield-bench-crossings-"))
    try:
        url = f"sqlite:///{tmp / 'bench.db'}"
        migrate(url)
        sessions = make_sessionmaker(make_engine(url))
        with session_scope(sessions) as session:
            workers = [add_worker(session, name=f"W{i}", device_id=f"d-{i}").id for i in range(args.workers)]
            sites = [
                sites_repo.add_site(
                    session, name=f"S{i}", location=LatLon(43.7 + i * 1e-4, 7.42), geofence_radius_m=50
                ).id
                for i in range(500)
            ]
        before = pages(sessions)
        step = timedelta(hours=11) / args.per_day  # a working day of 11 hours
        seeded = 0
        store_s = 0.0
        for day in range(args.days):
            for n in range(args.per_day):
                when = START + timedelta(days=day) + n * step
                kind = FenceEventType.ENTER if n % 2 == 0 else FenceEventType.EXIT
                visit = day * args.per_day // 2 + n // 2
                batch = [
                    GeofenceEvent(kind, w, sites[(i * 7 + visit % args.sites_per_worker) % len(sites)],
                                  when + timedelta(seconds=i % 60), when + timedelta(seconds=90), position_id=seeded + i)
                    for i, w in enumerate(workers)
                ]  # fmt: skip
                with session_scope(sessions) as session:
                    started = time.process_time()
                    stored = alerts_repo.add_fence_events(session, batch)
                    store_s += time.process_time() - started
                if len(stored) != len(batch):
                    raise SystemExit(f"day {day}, store {n}: {len(stored)} of {len(batch)} crossings stored")
                seeded += len(batch)
        grown = pages(sessions) - before
        with session_scope(sessions) as session:
            page_size = int(session.execute(text("PRAGMA page_size")).scalar_one())
        end = START + timedelta(days=args.days)
        retention = RetentionDays(events=args.days)

        def purge(now: datetime) -> Callable[[], object]:
            def run() -> object:
                with sessions() as session:
                    counts = privacy_repo.purge(session, now=now, retention=retention).counts
                    session.rollback()  # the same rows again next time
                return counts

            return run

        def one_worker() -> object:
            with sessions() as session:
                return alerts_repo.fence_events(session, worker_id=workers[0], start=end - timedelta(days=1), end=end)

        def where_they_stand() -> object:
            with sessions() as session:
                return alerts_repo.sites_inside_many(session, worker_ids=workers, since=end - timedelta(days=1))

        load = os.getloadavg()[0]
        print(f"bench/crossings_table.py: {args.workers} workers × {args.days} days × {args.per_day} crossings a day "
              f"= {seeded:,} crossings; load {load:.1f}")  # fmt: skip
        print(
            f"- storing (add_fence_events, {args.workers} a store): {store_s / seeded * 1e6:.1f} µs of CPU per crossing"
        )
        print(f"- file: {grown * page_size / seeded:.0f} bytes per crossing ({grown:,} pages of {page_size} B)")
        print(f"- purge, nothing due: {cpu_ms(purge(end), args.repeat):.1f} ms of CPU")
        print(f"- purge, the oldest day due: {cpu_ms(purge(end + timedelta(days=1)), args.repeat):.1f} ms of CPU")
        print(f"- fence_events, one worker's last 24 h: {cpu_ms(one_worker, args.repeat):.2f} ms of CPU")
        print(f"- sites_inside_many, {args.workers} workers: {cpu_ms(where_they_stand, args.repeat):.1f} ms of CPU")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
