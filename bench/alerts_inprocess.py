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
storing (`FieldEvents._store`: the crossings' statements and commit) apart from the rest (deciding). Each window is
gathered from the batches the pipeline handed on as the evaluator thread gathers them (`field_events._add`), and its
fixes are freed after it is evaluated, their last reference gone as in the thread: both counted, and printed apart
("gathering and freeing"; the thirteenth session found them 0.25 µs per fix of the thread's cost in bench/alerts.py,
not counted here before). `--gap S` waits S seconds between windows (not counted), as the evaluator thread does in
bench/alerts.py (it evaluates a window once a `gather_s` of 0.1 s brought nothing more): back to back, a window finds
the last one's data and code still in the CPU's caches, and the thread does not (thirteenth session: 0.1-0.2 s of
sleep, or of spinning, between windows costs the next one ~0.3-0.45 µs per fix more, the gap between this bench and
the thread that was never explained).

    .venv/bin/python bench/alerts_inprocess.py [--fixes 20000] [--window 200 500 2000] [--profile [--sort cumulative]]
    .venv/bin/python bench/alerts_inprocess.py --batch-shape [--cycles 2] [--gap 0.1] [--hot 20]

`--hot R` also times each measured window's store statements alone, hot (`add_fence_events` and
`workers_with_orders_at` on the window's crossings R times each in a session rolled back, the median counted;
not part of the other figures' CPU), then stores them as the evaluator does.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import alerts as day  # noqa: E402

from data import alerts_repo, orders_repo  # noqa: E402
from dispatch.access import Decision  # noqa: E402
from dispatch.alerts import Decision as AlertDecision  # noqa: E402
from dispatch.clock import ManualClock  # noqa: E402
from dispatch.geofences import GeofenceEvent  # noqa: E402
from dispatch.positions import Position, PositionLimits, StoredFixes  # noqa: E402
from realtime.field_events import AT_SITE_RULES_READ, FieldEvents, _add  # noqa: E402
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
    """`FieldEvents` counting the CPU its `_store` takes and the crossings it is given; with `hot_repeat`, each
    store's own statements are first timed alone, hot: `add_fence_events` and `workers_with_orders_at` on the
    window's crossings `hot_repeat` times each in a session rolled back (the median counted), then stored."""

    store_s = 0.0
    crossings = 0
    hot_repeat = 0
    hot_crossings_s = 0.0
    hot_orders_s = 0.0
    hot_windows = 0
    hot_total_s = 0.0

    def _store(self, decisions: list[AlertDecision], crossings: list[GeofenceEvent]) -> None:
        if self.hot_repeat and crossings:
            started = time.process_time()
            self._time_hot(crossings)
            self.hot_total_s += time.process_time() - started
        started = time.process_time()
        super()._store(decisions, crossings)
        self.store_s += time.process_time() - started
        self.crossings += len(crossings)

    def _time_hot(self, crossings: list[GeofenceEvent]) -> None:
        spent: list[tuple[float, float]] = []
        for _ in range(self.hot_repeat):
            with self._sessions() as session:
                started = time.process_time()
                stored = alerts_repo.add_fence_events(session, crossings)
                between = time.process_time()
                orders_repo.workers_with_orders_at(
                    session, pairs={(e.worker_id, e.site_id) for e in stored}, statuses=AT_SITE_RULES_READ
                )
                spent.append((between - started, time.process_time() - between))
                session.rollback()
        self.hot_crossings_s += statistics.median(s for s, _ in spent)
        self.hot_orders_s += statistics.median(s for _, s in spent)
        self.hot_windows += 1


def gathered(batches: list[StoredFixes]) -> StoredFixes:
    """One window of the batches handed on, as `FieldEvents._window` gathers it (no copy of a fix)."""
    positions: list[Position] = []
    ids: list[int | None] = []
    fix_us: list[int] = []
    plain = True
    for fixes in batches:
        plain &= _add(fixes, positions, ids, fix_us)
    return StoredFixes(positions, ids, fix_us, plain=plain)


def measure_batch_shape(cycles: int, gap_s: float = 0.0, hot_repeat: int = 0) -> None:
    """bench/alerts.py's batch endpoint shape: evaluated windows of 3,000 fixes through `ingest_batch`, alternate
    rounds skipped, from `BATCH_PHASE`; the heap frozen after the warm-up, as there. Each window gathered from the
    batches handed on and its fixes freed after, both counted (as in the evaluator thread)."""
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
        windows: list[list[StoredFixes]] = []
        for _ in range(cycles + 1):  # the first cycle warms the store: statements compiled, tables' pages read
            reports.skip_to(day.BATCH_PHASE)
            for _ in range(4):
                reports.take(3000)  # a round without the hook in bench/alerts.py
                handed.clear()
                for _ in range(30):
                    pipeline.ingest_batch([day.as_item(r) for r in reports.take(100)], may_report=allow)
                windows.append(list(handed))  # as the evaluator thread finds them queued: one per request
        handed.clear()
        events = _TimedStore(sessions=sessions, bus=bus, clock=clock)
        events.evaluate(warm)
        for batches in windows[:4]:
            events.evaluate(gathered(batches))
        windows = windows[4:]
        windows.reverse()  # taken with `pop`: a window's fixes are held by nothing but the window once it is gathered
        n = sum(len(fixes) for batches in windows for fixes in batches)
        n_windows = len(windows)
        events.store_s, events.crossings = 0.0, 0
        events.hot_repeat = hot_repeat
        spent = gathering = 0.0
        gc.freeze()
        while windows:
            batches = windows.pop()
            if gap_s:
                time.sleep(gap_s)  # as the evaluator thread waits for its window, its caches going cold meanwhile
            started = time.process_time()
            window = gathered(batches)
            del batches
            evaluating = time.process_time()
            events.evaluate(window)
            freeing = time.process_time()
            del window  # the window's fixes freed (the evaluator thread is the last to hold them)
            done = time.process_time()
            spent += done - started
            gathering += (evaluating - started) + (done - freeing)
        gc.unfreeze()
        spent -= events.hot_total_s  # the hot timings are not the evaluator's
        print(
            f"batch shape, {n_windows} windows of 3,000 fixes{f' {gap_s:g} s apart' if gap_s else ''}: "
            f"{spent / n * 1e6:.2f} µs of CPU per fix, of which storing {events.store_s / n * 1e6:.2f} "
            f"({events.crossings:,} crossings, {events.store_s / max(1, events.crossings) * 1e6:.1f} µs each), "
            f"gathering and freeing {gathering / n * 1e6:.2f} and the rest "
            f"{(spent - events.store_s - gathering) / n * 1e6:.2f}"
        )
        if events.hot_windows:
            print(
                f"hot, alone (median of {hot_repeat} in a session rolled back, {events.hot_windows} windows): "
                f"add_fence_events {events.hot_crossings_s / events.crossings * 1e6:.2f} µs per crossing, "
                f"workers_with_orders_at {events.hot_orders_s / events.hot_windows * 1e6:.0f} µs per window"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fixes", type=int, default=20_000)
    parser.add_argument("--window", type=int, nargs="+", default=[200, 500, 2000], help="fixes per evaluate call")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the evaluation (slows it)")
    parser.add_argument("--sort", default="tottime", help="the profile's order (cumulative: what storing costs)")
    parser.add_argument("--batch-shape", action="store_true", help="bench/alerts.py's batch endpoint windows instead")
    parser.add_argument("--cycles", type=int, default=2, help="--batch-shape: cycles of 4 evaluated windows")
    parser.add_argument("--gap", type=float, default=0.0, help="--batch-shape: seconds between windows (not counted)")
    parser.add_argument(
        "--hot", type=int, default=0, metavar="R", help="--batch-shape: also time each store's statements R times, hot"
    )
    args = parser.parse_args()
    if args.batch_shape:
        measure_batch_shape(args.cycles, args.gap, args.hot)
        return
    for window in args.window:
        us = measure(args.fixes, window, args.profile, args.sort)
        print(f"evaluate, windows of {window:,} fixes: {us:.2f} µs of CPU per fix over {args.fixes - 200:,} fixes")


if __name__ == "__main__":
    main()
