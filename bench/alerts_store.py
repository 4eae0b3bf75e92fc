"""CPU per geofence crossing of storing a window's crossings (`alerts_repo.add_fence_events`), as a day goes on.

bench/alerts.py's day has each worker cross only their own site; a working day takes a worker to several sites.
Here 200 workers cross together (as bench/alerts.py's do, every ~4 min: one store of 200 crossings), each
arriving at or leaving the next of `--sites-per-worker` sites in turn, for `--stores` stores; printed: the CPU
(`time.process_time`) per crossing of the first and the last `--last` stores, in one SQLite store as the
bench's. Nothing here asserts on time.

    .venv/bin/python bench/alerts_store.py [--stores 40] [--sites-per-worker 20] [--last 4]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import alerts as day  # noqa: E402

from data import alerts_repo  # noqa: E402
from data.db import session_scope  # noqa: E402
from data.tables import SiteRow, WorkerRow  # noqa: E402
from dispatch.geofences import FenceEventType, GeofenceEvent  # noqa: E402

WORKERS = 200


def measure(stores: int, sites_per_worker: int, last: int) -> list[float]:
    """µs of CPU per crossing of each store, in order."""
    out: list[float] = []
    with day.bench_store("outfield-bench-alerts-store-") as (_bus, sessions):
        day.seed(sessions, random.Random(0), 500, WORKERS)
        with session_scope(sessions) as session:
            workers = list(session.scalars(select(WorkerRow.id).order_by(WorkerRow.id)))[:WORKERS]
            sites = list(session.scalars(select(SiteRow.id).order_by(SiteRow.id)))
        for r in range(stores):
            kind = FenceEventType.ENTER if r % 2 == 0 else FenceEventType.EXIT
            visit = (r // 2) % sites_per_worker
            when = day.START + timedelta(minutes=4 * r)
            batch = [
                GeofenceEvent(kind, w, sites[(i + visit) % len(sites)], when + timedelta(seconds=i % 60), when, i)
                for i, w in enumerate(workers)
            ]
            with session_scope(sessions) as session:
                started = time.process_time()
                stored = alerts_repo.add_fence_events(session, batch)
                out.append((time.process_time() - started) / len(batch) * 1e6)
            if len(stored) != len(batch):
                raise SystemExit(f"store {r}: {len(stored)} of {len(batch)} crossings stored")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stores", type=int, default=40)
    parser.add_argument("--sites-per-worker", type=int, default=20)
    parser.add_argument("--last", type=int, default=4, help="stores averaged at each end (the first is skipped)")
    args = parser.parse_args()
    each = measure(args.stores, args.sites_per_worker, args.last)
    first = each[1 : 1 + args.last]
    end = each[-args.last :]
    print(
        f"add_fence_events, {WORKERS} crossings per store, {args.sites_per_worker} sites per worker: "
        f"stores 2-{1 + len(first)} {sum(first) / len(first):.1f} µs of CPU per crossing, "
        f"last {len(end)} of {len(each)} {sum(end) / len(end):.1f}"
    )


if __name__ == "__main__":
    main()
