"""The alert evaluator's own CPU per fix, in process: `FieldEvents.evaluate` on windows of bench/alerts.py's day.

No evaluator thread, no concurrent ingestion: the fixes of `--fixes` reports (bench/alerts.py's 200 workers and
500 sites) are stored first through `PositionPipeline.ingest_many`, then evaluated in windows of `--window` fixes
(as the evaluator thread gathers them), timed with `time.process_time`. Much less sensitive to the machine's other
load than bench/alerts.py, whose figure (the whole process's CPU with and without evaluation) it explains.
Prints one line per window size; nothing here asserts on time.

`--batch-shape` evaluates instead what bench/alerts.py's batch endpoint shape hands the evaluator: from the same
point of the workers' cycle (`BATCH_PHASE`), rounds of 3,000 fixes stored through `ingest_batch`, every other round
skipped (there, evaluated rounds alternate with rounds without the hook), each evaluated as one window, after a first
cycle of 4 windows not measured (as there, where the /osmand shape runs first: the store's statements compiled once
per process, ~10 ms, are not counted as each window's); it prints
storing (`FieldEvents._store`: the crossings' statements and commit) apart from the rest (deciding).

    .venv/bin/python bench/alerts_inprocess.py [--fixes 20000] [--window 200 500 2000] [--profile [--sort cumulative]]
    .venv/bin/python bench/alerts_inprocess.py --batch-shape [--cycles 2]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
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
from dispatch.alerts import Decision as AlertDecision  # noqa: E402
from dispatch.clock import ManualClock  # noqa: E402
from dispatch.geofences import GeofenceEvent  # noqa: E402
from dispatch.positions import Position, PositionLimits, StoredFixes  # noqa: E402
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


class _TimedStore(FieldEvents):
    """`FieldEvents` counting the CPU its `_store` takes and the crossings it is given."""

    store_s = 0.0
    crossings = 0

    def _store(self, decisions: list[AlertDecision], crossings: list[GeofenceEvent]) -> None:
        started = time.process_time()
        super()._store(decisions, crossings)
        self.store_s += time.process_time() - started
        self.crossings += len(crossings)


def measure_batch_shape(cycles: int) -> None:
    """bench/alerts.py's batch endpoint shape: evaluated windows of 3,000 fixes through `ingest_batch`, alternate
    rounds skipped, from `BATCH_PHASE`; the heap frozen after the warm-up, as there."""
    with day.bench_store("outfield-bench-alerts-shape-") as (bus, sessions):
        rng = random.Random(0)
        sites = day.seed(sessions, rng, 500, 200)
        clock = ManualClock(day.START + timedelta(days=1))
        handed: list[StoredFixes] = []
        pipeline = PositionPipeline(
            sessions=sessions,
            bus=bus,
            clock=clock,
            limits=PositionLimits(max_age_s=400 * 86400.0),
            after_store=lambda fixes: handed.append(
                fixes if isinstance(fixes, StoredFixes) else StoredFixes(list(fixes), [p.id for p in fixes])
            ),
        )
        allow = lambda _worker_id: Decision(True)  # noqa: E731
        reports = day.Reports(rng, sites, 200)
        pipeline.ingest_many(reports.take(200), may_report=allow)
        warm = [p for fixes in handed for p in fixes.positions]
        windows: list[StoredFixes] = []
        for _ in range(cycles + 1):  # the first cycle warms the store: statements compiled, tables' pages read
            reports.skip_to(day.BATCH_PHASE)
            for _ in range(4):
                reports.take(3000)  # a round without the hook in bench/alerts.py
                handed.clear()
                for _ in range(30):
                    pipeline.ingest_batch([day.as_item(r) for r in reports.take(100)], may_report=allow)
                positions = [p for fixes in handed for p in fixes.positions]
                ids = [i for fixes in handed for i in fixes.ids]
                # As the evaluator thread gathers them: the times the batches brought beside their fixes.
                times = [us for fixes in handed for us in fixes.fix_us or ()]
                windows.append(StoredFixes(positions, ids, times))
        events = _TimedStore(sessions=sessions, bus=bus, clock=clock)
        events.evaluate(warm)
        for window in windows[:4]:
            events.evaluate(window)
        windows = windows[4:]
        events.store_s, events.crossings = 0.0, 0
        gc.freeze()
        started = time.process_time()
        for window in windows:
            events.evaluate(window)
        spent = time.process_time() - started
        gc.unfreeze()
        n = sum(len(w) for w in windows)
        print(
            f"batch shape, {len(windows)} windows of 3,000 fixes: {spent / n * 1e6:.2f} µs of CPU per fix, of which "
            f"storing {events.store_s / n * 1e6:.2f} ({events.crossings:,} crossings, "
            f"{events.store_s / max(1, events.crossings) * 1e6:.1f} µs each) and the rest "
            f"{(spent - events.store_s) / n * 1e6:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fixes", type=int, default=20_000)
    parser.add_argument("--window", type=int, nargs="+", default=[200, 500, 2000], help="fixes per evaluate call")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the evaluation (slows it)")
    parser.add_argument("--sort", default="tottime", help="the profile's order (cumulative: what storing costs)")
    parser.add_argument("--batch-shape", action="store_true", help="bench/alerts.py's batch endpoint windows instead")
    parser.add_argument("--cycles", type=int, default=2, help="--batch-shape: cycles of 4 evaluated windows")
    args = parser.parse_args()
    if args.batch_shape:
        measure_batch_shape(args.cycles)
        return
    for window in args.window:
        us = measure(args.fixes, window, args.profile, args.sort)
        print(f"evaluate, windows of {window:,} fixes: {us:.2f} µs of CPU per fix over {args.fixes - 200:,} fixes")


if __name__ == "__main__":
    main()
