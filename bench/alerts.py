"""Alert and geofence evaluation benchmark: what evaluating a stored fix adds to the cost of ingesting it.

One process, one run, one database: `PositionPipeline.ingest_many` / `ingest_batch` (parse → filter → group commit
to a fresh SQLite file, WAL, synchronous=FULL → Redis publish) with and without the
`FieldEvents.evaluate` hook, in alternating rounds (without, with, without, with, ...) so both see the
same machine load and the same database size. Three shapes: one fix per call (what /osmand does per
request), 100 fixes per call through `ingest_batch` on decoded JSON items (what the batch endpoint does), and 100
fixes per call through `ingest_many` (the batch endpoint's path before session 8; kept for comparison). Each
100-fix shape starts at the same point of the workers' cycle (`BATCH_PHASE`), so its evaluated rounds see the same
crossings. `--sites` Monaco-area sites (circles, from a
fixed seed), `--devices` workers on shift; a tenth of the fixes fall inside a site, a few workers
report a low battery, so geofence crossings and alerts happen as they would in a day, not never.
CPU is the whole process's (every thread: request, group committer, bus publisher, evaluator), so
other processes on the machine weigh on it less than on the wall clock; the evaluation's own wall
time (the evaluator thread's `evaluate` calls) is printed too. Prints a Markdown table; nothing here
asserts on time.

A second table says where the added CPU goes: each thread's own CPU (`pthread_getcpuclockid`) with and without
evaluation, and the garbage collector's time by generation (`gc.callbacks`; the oldest generation is the "full"
collection, which walks every tracked object). After the warm-up the bench settles its heap as a console worker does
once its app is built (`realtime/heap.py::settle_heap`: `gc.freeze()`, and a young collection every
`YOUNG_COLLECTION_AFTER` new objects); `--default-young` keeps CPython's 700 (the console before the tenth session),
`--no-freeze` leaves the heap to the collector as CPython sets it.
A third table splits the evaluator thread's own CPU by part (`ThreadParts`: gathering a window, `_refresh`, deciding,
storing, the rest of `evaluate`, and what is outside them: freeing each window's fixes, waking), timed in the thread.
A round with the hook ends when the evaluator is idle; the bench waits for that on a signal from the evaluator
thread (`FieldEvents._next`, where it waits for its next batch) rather than by polling, so the waiting costs the
process (almost) nothing.

Each round ends with a checkpoint of the WAL into the database (`PRAGMA wal_checkpoint(RESTART)`, in the bench's
thread, its CPU counted in the round), so each round pays for writing its own pages into the database, the evaluator's
crossings included, and no auto-checkpoint falls inside a round. Before the twelfth session SQLite's auto-checkpoint
(every 40,000 pages, `data.db.SQLITE_WAL_AUTOCHECKPOINT_BYTES`: a ~10 ms step every few rounds) fell wherever the
rounds' pages put it, the same rounds in every run of the same fixes: swapping the order of the settings moved the
group committer's "+0.8–1.2 µs per fix with evaluation" to the rounds without (bench/README.md, "Alerts", twelfth
session). `--autocheckpoint` measures as before; `--with-first` runs each pair of rounds with evaluation first.

`--blocks N` repeats each shape's rounds N times, each block from the same point of the workers' cycle (so each
evaluates the same fixes of the cycle, crossings included): the table pools them (CPU summed over every block),
and the CPU added in each block is printed beside, to show how far one block's figure strays.

    .venv/bin/python bench/alerts.py [--sites 500] [--devices 200] [--fixes 4000] [--rounds 4] [--blocks 1]
        [--no-freeze | --default-young] [--autocheckpoint] [--with-first]
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import Engine  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from data import sites_repo, workers_repo  # noqa: E402
from data.db import make_engine, make_sessionmaker, session_scope  # noqa: E402
from data.migrate import migrate  # noqa: E402
from dispatch.access import Decision  # noqa: E402
from dispatch.clock import ManualClock  # noqa: E402
from dispatch.geo import LatLon  # noqa: E402
from dispatch.positions import KNOTS_TO_MPS, Position, PositionLimits  # noqa: E402
from dispatch.workers import Shift  # noqa: E402
from realtime import field_events  # noqa: E402
from realtime.bus import Bus  # noqa: E402
from realtime.field_events import FieldEvents  # noqa: E402
from realtime.heap import YOUNG_COLLECTION_AFTER, settle_heap  # noqa: E402
from realtime.ingest import PositionReport  # noqa: E402
from realtime.pipeline import PositionPipeline  # noqa: E402
from realtime.redis_server import start_redis  # noqa: E402
from tests.support.consent import record_consent  # noqa: E402
from tests.support.servers import free_port, wait_until  # noqa: E402

START = datetime(2025, 3, 3, 6, 0, tzinfo=UTC)
ALL_DAY = Shift(
    weekdays=(0, 1, 2, 3, 4, 5, 6), start=datetime.min.time(), end=datetime.max.time().replace(microsecond=0)
)


def seed(sessions, rng: random.Random, n_sites: int, n_devices: int) -> list[LatLon]:  # type: ignore[no-untyped-def]
    places = []
    with session_scope(sessions) as session:
        for i in range(n_sites):
            where = LatLon(43.7148 + rng.random() * 0.0552, 7.3490 + rng.random() * 0.1420)
            sites_repo.add_site(session, name=f"site {i}", location=where, geofence_radius_m=rng.uniform(30, 150))
            places.append(where)
        for d in range(n_devices):
            worker = workers_repo.add_worker(session, name=f"worker {d}", device_id=f"bench-{d:05d}", shifts=(ALL_DAY,))
            record_consent(session, worker.id)  # consent is required: their fixes are kept
    return places


class Reports:
    """An endless day of fixes at 5 m/s, 10 s apart per device: each device stays at its own site for 5 min (an
    arrival after the 60 s dwell), walks 3.75 km away from it (a departure) and back, every 30 min; a device in
    fifty has a low battery. So crossings and alerts happen at a working day's rate, and no fix is an impossible
    jump."""

    CYCLE = 180  # fixes (30 min): 30 at the site, 75 walking away, 75 walking back

    def __init__(self, rng: random.Random, sites: list[LatLon], devices: int) -> None:
        self.sites, self.devices, self.n = sites, devices, 0
        self.bearings = [rng.uniform(0, 2 * math.pi) for _ in range(devices)]

    def skip_to(self, phase: int) -> None:
        """Skip ahead to the next round of fixes at `phase` of the cycle (every device's fix `phase` of 180)."""
        k = -(-self.n // self.devices)
        self.n = (k + (phase - k) % self.CYCLE) * self.devices

    def take(self, count: int) -> list[PositionReport]:
        out = []
        for _ in range(count):
            n, self.n = self.n, self.n + 1
            device, k = n % self.devices, n // self.devices
            site = self.sites[device % len(self.sites)]
            phase = k % self.CYCLE
            away_m = 0.0 if phase < 30 else 50.0 * (phase - 29) if phase < 105 else 50.0 * (self.CYCLE - phase)
            dlat = away_m * math.cos(self.bearings[device]) / 111_195.0
            dlon = away_m * math.sin(self.bearings[device]) / (111_195.0 * math.cos(math.radians(site.lat)))
            out.append(
                PositionReport(
                    device_id=f"bench-{device:05d}",
                    fix_time=START + timedelta(seconds=10 * k),
                    latitude=site.lat + dlat,
                    longitude=site.lon + dlon,
                    accuracy_m=6.0,
                    speed_mps=5.0,
                    battery_pct=9.0 if device % 50 == 0 else 80.0,
                )  # fmt: skip
            )
        return out


BATCH_PHASE = 122
"""Where in the workers' cycle each 100-fixes shape starts: each then evaluates the same fixes of the cycle (the
rounds with evaluation alternate with those without, so which crossings fall into them depends on it). 122 is
where the single batch shape of this bench started before the shapes were three, so figures stay comparable."""


def as_item(report: PositionReport) -> dict[str, object]:
    """A report as the batch endpoint receives it, decoded from JSON (`realtime.ingest.batch_items`): a flat object
    with a Unix-milliseconds timestamp and the speed in knots."""
    assert report.fix_time is not None and report.speed_mps is not None
    return {
        "id": report.device_id,
        "lat": report.latitude,
        "lon": report.longitude,
        "timestamp": int(report.fix_time.timestamp() * 1000),
        "speed": report.speed_mps / KNOTS_TO_MPS,
        "accuracy": report.accuracy_m,
        "batt": report.battery_pct,
    }


def thread_cpu() -> dict[str, float]:
    """CPU seconds of each live thread of this process, summed by thread name."""
    out: dict[str, float] = defaultdict(float)
    for thread in threading.enumerate():
        if thread.ident is not None:
            try:
                out[thread.name] += time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
            except (OSError, ProcessLookupError):  # the thread ended meanwhile
                continue
    return out


class GcTime:
    """The collector's CPU time by generation, charged to whatever `setting` says is running."""

    def __init__(self) -> None:
        self.setting = ""
        self.seconds: dict[tuple[str, int], float] = defaultdict(float)
        self.count: dict[tuple[str, int], int] = defaultdict(int)
        self._started: dict[int, float] = {}

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        me = threading.get_ident()
        if phase == "start":
            self._started[me] = time.thread_time()
        elif me in self._started:
            key = (self.setting, info["generation"])
            self.seconds[key] += time.thread_time() - self._started.pop(me)
            self.count[key] += 1


class ThreadParts:
    """The evaluator thread's CPU by part (`time.thread_time` in the thread), charged to the shape being measured:
    gathering a window (`FieldEvents._window`), re-reading the open alerts and sites (`_refresh`), deciding
    (`evaluate_batch`), storing (`_store`), the rest of `evaluate`; what the thread spends outside these (freeing each
    window's fixes after it, waking for the next) is its CPU in the table below minus their sum."""

    PARTS = ("gathering", "refresh", "deciding", "storing", "evaluate")

    def __init__(self, gc_time: GcTime) -> None:
        self._gc_time = gc_time
        self.seconds: dict[tuple[str, str], float] = defaultdict(float)

    def wrap(self, owner: object, name: str, part: str) -> None:
        """Time `owner.name` (a function of a class or module) as `part`, replacing it there."""
        inner = getattr(owner, name)

        def timed(*args: object, **kwargs: object) -> object:
            started = time.thread_time()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds[self._gc_time.setting.split("|")[0], part] += time.thread_time() - started

        setattr(owner, name, timed)


def checkpoint(engine: Engine) -> None:
    """Write the WAL's pages into the database file and start the WAL over, as an auto-checkpoint does."""
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(RESTART)").fetchall()


@contextmanager
def bench_store(prefix: str) -> Iterator[tuple[Bus, sessionmaker[Session]]]:
    """A real redis-server and a migrated SQLite file in a temporary folder, removed afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    port = free_port()
    redis = start_redis(port, tmp / "redis")
    try:
        bus = Bus(f"redis://127.0.0.1:{port}/0")
        wait_until(bus.ping, 10, "redis-server")
        url = f"sqlite:///{tmp / 'bench.db'}"
        migrate(url)
        yield bus, make_sessionmaker(make_engine(url))
    finally:
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, default=500)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--fixes", type=int, default=4000, help="fixes per round and shape")
    parser.add_argument("--rounds", type=int, default=4, help="rounds per setting (alternating)")
    parser.add_argument(
        "--blocks", type=int, default=1, help="blocks of rounds per shape, each from the same point of the cycle"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-freeze", action="store_true", help="leave the warmed-up heap to the collector")
    parser.add_argument(
        "--default-young", action="store_true", help="freeze the heap but keep CPython's young collection every 700"
    )
    parser.add_argument(
        "--autocheckpoint",
        action="store_true",
        help="no checkpoint at each round's end: SQLite's auto-checkpoints fall in whichever rounds they fall",
    )
    parser.add_argument(
        "--with-first", action="store_true", help="each pair of rounds with evaluation first, then without"
    )
    args = parser.parse_args()

    with bench_store("outfield-bench-alerts-") as (bus, sessions):
        rng = random.Random(args.seed)
        sites = seed(sessions, rng, args.sites, args.devices)
        clock = ManualClock(START + timedelta(days=1))
        limits = PositionLimits(max_age_s=400 * 86400.0)
        events = FieldEvents(sessions=sessions, bus=bus, clock=clock)
        hook_s = [0.0]
        hook_fixes = [0]

        evaluate_now = events.evaluate

        gc_time = GcTime()  # its `setting` names the shape and setting being measured
        windows: dict[str, list[int]] = defaultdict(list)  # shape → the fixes of each window the evaluator took

        parts = ThreadParts(gc_time)
        parts.wrap(FieldEvents, "_window", "gathering")
        parts.wrap(FieldEvents, "_refresh", "refresh")
        parts.wrap(field_events, "evaluate_batch", "deciding")
        parts.wrap(FieldEvents, "_store", "storing")

        def timed_evaluate(fixes: list[Position]) -> None:
            t, c = time.perf_counter(), time.thread_time()
            evaluate_now(fixes)
            parts.seconds[gc_time.setting.split("|")[0], "evaluate"] += time.thread_time() - c
            hook_s[0] += time.perf_counter() - t
            hook_fixes[0] += len(fixes)
            windows[gc_time.setting.split("|")[0]].append(len(fixes))

        went_idle = threading.Event()
        next_batch = events._next

        def next_then_signal() -> Sequence[Position]:
            # The evaluator thread waits for its next batch (`_run`'s `_next`): every window before is evaluated and it
            # is not busy, so `idle()` holds unless more fixes are queued (then `_next` returns at once).
            went_idle.set()
            return next_batch()

        events._next = next_then_signal  # type: ignore[method-assign]

        def drained() -> None:
            # Woken by the evaluator thread when it goes idle, not at intervals: a wake-up every 5 ms while the
            # evaluator gathered and evaluated (0.1-0.6 s a round) cost this thread ~0.5 µs of CPU per fix of the
            # batch shapes, charged to evaluation (bench/README.md, "Ninth session"). The timeout is only a safety net.
            while not events.idle():
                went_idle.wait(1.0)
                went_idle.clear()

        plain = PositionPipeline(sessions=sessions, bus=bus, clock=clock, limits=limits)
        # As the console runs it: the hook queues, the evaluator thread evaluates (timed there).
        events.evaluate = timed_evaluate  # type: ignore[method-assign]
        hooked = PositionPipeline(sessions=sessions, bus=bus, clock=clock, limits=limits, after_store=events.submit)
        reports = Reports(rng, sites, args.devices)
        allow = lambda _worker_id: Decision(True)  # noqa: E731
        # Warm both (device caches, the sites' index, each worker's presence and last fix).
        for pipeline in (plain, hooked):
            pipeline.ingest_many(reports.take(args.devices), may_report=allow)
        drained()
        engine = sessions.kw["bind"]
        round_end = (lambda: None) if args.autocheckpoint else lambda: checkpoint(engine)
        round_end()
        hook_s[0], hook_fixes[0] = 0.0, 0
        windows.clear()
        parts.seconds.clear()
        if args.default_young:
            gc.freeze()
        elif not args.no_freeze:
            settle_heap()  # as a console worker does once its app is built
        gc.callbacks.append(gc_time)

        rows = []
        threads: dict[tuple[str, str], dict[str, float]] = {}  # (shape, setting) → thread or collector → seconds
        collections: dict[tuple[str, str, int], int] = {}  # (shape, setting, generation) → collections
        fixes_of: dict[str, int] = {}
        block_added: dict[str, list[float]] = defaultdict(list)  # shape → CPU added in each block of rounds
        block_cpu = {"without": 0.0, "with": 0.0}
        shapes = (
            ("1 fix per call (/osmand)", 1),
            ("100 fixes per call (batch endpoint, `ingest_batch`)", 100),
            ("100 fixes per call (`ingest_many`)", 100),
        )
        for shape, per_call in shapes:
            if per_call > 1:
                reports.skip_to(BATCH_PHASE)  # the same fixes of the workers' cycle, so the same crossings
            start_phase = -(-reports.n // args.devices) % Reports.CYCLE
            spent = {"without": 0.0, "with": 0.0}
            cpu = {"without": 0.0, "with": 0.0}
            for setting in ("without", "with"):
                threads[shape, setting] = defaultdict(float)
            for block in range(args.blocks * args.rounds):
                if block and block % args.rounds == 0:  # a new block: the same fixes of the cycle again
                    block_added[shape].append(block_cpu["with"] / block_cpu["without"] - 1)
                    reports.skip_to(start_phase)
                if block % args.rounds == 0:
                    block_cpu = {"without": 0.0, "with": 0.0}
                pair = (("without", plain), ("with", hooked))
                for name, pipeline in pair[::-1] if args.with_first else pair:
                    batches = [reports.take(per_call) for _ in range(args.fixes // per_call)]
                    items = [[as_item(r) for r in batch] for batch in batches] if "ingest_batch" in shape else []
                    gc_time.setting = f"{shape}|{name}"
                    before = thread_cpu()
                    t, c = time.perf_counter(), time.process_time()
                    if items:
                        for batch_items in items:
                            pipeline.ingest_batch(batch_items, may_report=allow)
                    else:
                        for batch in batches:
                            pipeline.ingest_many(batch, may_report=allow)
                    drained()  # the evaluator thread's work counts too: the round ends when it is done
                    started = time.thread_time()
                    round_end()  # and the round's pages written into the database
                    threads[shape, name]["checkpoint (part of MainThread)"] += time.thread_time() - started
                    spent[name] += time.perf_counter() - t
                    cpu[name] += time.process_time() - c
                    block_cpu[name] += time.process_time() - c
                    for thread, seconds in thread_cpu().items():
                        threads[shape, name][thread] += seconds - before.get(thread, 0.0)
            block_added[shape].append(block_cpu["with"] / block_cpu["without"] - 1)
            n = args.blocks * args.rounds * (args.fixes // per_call) * per_call
            wall = (spent["without"] / n * 1e6, spent["with"] / n * 1e6)
            cpus = (cpu["without"] / n * 1e6, cpu["with"] / n * 1e6)
            rows.append((shape, *cpus, (cpus[1] / cpus[0] - 1) * 100, *wall, (wall[1] / wall[0] - 1) * 100))
            fixes_of[shape] = n
            for setting in ("without", "with"):
                for generation in (0, 1, 2):
                    key = (f"{shape}|{setting}", generation)
                    threads[shape, setting][f"collector, generation {generation}"] = gc_time.seconds[key]
                    collections[shape, setting, generation] = gc_time.count[key]
        gc.callbacks.remove(gc_time)
        hook_us = hook_s[0] / max(1, hook_fixes[0]) * 1e6
        with session_scope(sessions) as session:
            from sqlalchemy import func, select

            from data.tables import AlertRow, FenceCrossingRow

            n_events = session.scalar(select(func.count()).select_from(FenceCrossingRow))
            n_alerts = session.scalar(select(func.count()).select_from(AlertRow))

    load = os.getloadavg()[0]
    print(f"bench/alerts.py: {args.sites} sites, {args.devices} devices, {args.fixes} fixes × {args.rounds} rounds per "
          f"setting; {platform.python_version()}, {os.cpu_count()} cores, load {load:.1f}")  # fmt: skip
    print()
    print("| shape | CPU µs/fix without evaluation | with | added | wall µs/fix without | with | added |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for shape, c0, c1, cplus, w0, w1, wplus in rows:
        print(f"| {shape} | {c0:,.0f} | {c1:,.0f} | {cplus:+.1f} % | {w0:,.0f} | {w1:,.0f} | {wplus:+.1f} % |")
    print()
    print(f"The hook alone: {hook_us:,.1f} µs per fix ({hook_fixes[0]:,} fixes); the run stored {n_events:,} "
          f"geofence events and {n_alerts:,} alerts.")  # fmt: skip
    for shape, sizes in windows.items():
        print(f"- {shape}: {len(sizes)} evaluator windows of {min(sizes):,}–{max(sizes):,} fixes")
    if args.blocks > 1:
        print()
        print(f"CPU added in each block of {args.rounds} rounds per setting (the same fixes of the cycle in each):")
        for shape, added in block_added.items():
            each = ", ".join(f"{a * 100:+.1f}" for a in added)
            print(f"- {shape}: {each} % (median {statistics.median(added) * 100:+.1f} %)")
    print()
    heap = (
        "heap not frozen (--no-freeze)"
        if args.no_freeze
        else "heap frozen after the warm-up, young collections every 700 (--default-young)"
        if args.default_young
        else f"heap settled after the warm-up (frozen, young collections every {YOUNG_COLLECTION_AFTER:,})"
    )
    print(f"Where the CPU goes (µs per fix; threads' own CPU; the collector's time is part of its thread's; {heap}):")
    print()
    print("| shape | thread / collector | without evaluation | with | added |")
    print("| --- | --- | ---: | ---: | ---: |")
    for shape, n in fixes_of.items():
        without, with_ = threads[shape, "without"], threads[shape, "with"]
        for what in sorted(set(without) | set(with_)):
            a, b = without.get(what, 0.0) / n * 1e6, with_.get(what, 0.0) / n * 1e6
            if a or b:
                print(f"| {shape} | {what} | {a:,.2f} | {b:,.2f} | {b - a:+,.2f} |")
        counts = [(collections[shape, "without", g], collections[shape, "with", g]) for g in (0, 1, 2)]
        said = ", ".join(f"generation {g}: {a:,} → {b:,}" for g, (a, b) in enumerate(counts))
        print(f"| {shape} | collections without → with ({said}) | | | |")
    print()
    print("The evaluator thread's CPU by part (µs per fix; `ThreadParts`):")
    print()
    print("| shape | gathering | refresh | deciding | storing | rest of `evaluate` | outside these (freeing, waking) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for shape, n in fixes_of.items():
        part = {p: parts.seconds[shape, p] / n * 1e6 for p in ThreadParts.PARTS}
        thread = threads[shape, "with"].get("outfield-field-events", 0.0) / n * 1e6
        rest = part["evaluate"] - part["refresh"] - part["deciding"] - part["storing"]
        outside = thread - part["gathering"] - part["evaluate"]
        print(
            f"| {shape} | {part['gathering']:.2f} | {part['refresh']:.2f} | {part['deciding']:.2f} | "
            f"{part['storing']:.2f} | {rest:.2f} | {outside:.2f} |"
        )


if __name__ == "__main__":
    main()
