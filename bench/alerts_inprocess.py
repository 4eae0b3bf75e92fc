"""The alert evaluator's own CPU per fix, in process: `FieldEvents.evaluate` on windows of bench/alerts.py's day.

No evaluator thread, no concurrent ingestion: the fixes of `--fixes` reports (bench/alerts.py's 200 workers and
500 sites) are stored first through `PositionPipeline.ingest_many`, then evaluated in windows of `--window` fixes
(as the evaluator thread gathers them), timed with `time.process_time`. Much less sensitive to the machine's other
load than bench/alerts.py, whose figure (the whole process's CPU with and without evaluation) it explains.
Prints one line per window size; nothing here asserts on time.

    .venv/bin/python bench/alerts_inprocess.py [--fixes 20000] [--window 200 500 2000] [--profile [--sort cumulative]]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import alerts as day  # noqa: E402

from dispatch.access import Decision  # noqa: E402
from dispatch.clock import ManualClock  # noqa: E402
from dispatch.positions import Position, PositionLimits  # noqa: E402
from realtime.field_events import FieldEvents  # noqa: E402
from realtime.pipeline import PositionPipeline  # noqa: E402


def measure(fixes: int, window: int, profile: bool, sort: str = "tottime") -> float:
    """µs of CPU per fix `evaluate` takes over the day's fixes (after the first 200, which warm the caches)."""
    with day.bench_store("outfield-bench-alerts-inprocess-") as (bus, sessions):
        rng = random.Random(0)
        sites = day.seed(sessions, rng, 500, 200)
        clock = ManualClock(day.START + timedelta(days=1))
        stored: list[Position] = []
        pipeline = PositionPipeline(
            sessions=sessions,
            bus=bus,
            clock=clock,
            limits=PositionLimits(max_age_s=400 * 86400.0),
            after_store=stored.extend,
        )
        reports = day.Reports(rng, sites, 200)
        for _ in range(fixes // 100):
            pipeline.ingest_many(reports.take(100), may_report=lambda _worker_id: Decision(True))
        events = FieldEvents(sessions=sessions, bus=bus, clock=clock)
        events.evaluate(stored[:200])
        rest = stored[200:]
        profiler = cProfile.Profile() if profile else None
        started = time.process_time()
        if profiler is not None:
            profiler.enable()
        for i in range(0, len(rest), window):
            events.evaluate(rest[i : i + window])
        if profiler is not None:
            profiler.disable()
        spent = time.process_time() - started
        if profiler is not None:
            pstats.Stats(profiler).sort_stats(sort).print_stats(40)
        return spent / len(rest) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fixes", type=int, default=20_000)
    parser.add_argument("--window", type=int, nargs="+", default=[200, 500, 2000], help="fixes per evaluate call")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the evaluation (slows it)")
    parser.add_argument("--sort", default="tottime", help="the profile's order (cumulative: what storing costs)")
    args = parser.parse_args()
    for window in args.window:
        us = measure(args.fixes, window, args.profile, args.sort)
        print(f"evaluate, windows of {window:,} fixes: {us:.2f} µs of CPU per fix over {args.fixes - 200:,} fixes")


if __name__ == "__main__":
    main()
