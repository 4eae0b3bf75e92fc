"""The write turn alone: web processes' group committers taking turns on one SQLite file, one fix per request.

What `/osmand` does below HTTP, and nothing else: `--processes` processes (the gunicorn workers), each with its
group committer (`realtime.group_commit.GroupCommitter`) writing through the committer's connection
(`data.positions_repo.PositionWriter`: WAL, `synchronous=FULL`) inside the processes' write turn
(`data.db.WriteTurn`), as `realtime.pipeline.PositionPipeline` does; `--threads` request threads per process
each send one new fix and wait for its commit, then the next (a closed loop, as bench/ingest.py's connections).
Without HTTP and the endpoint's CPU the commits are the bound, so this shows how many fixes each fsync'd commit
carries and what rate the turn allows, with the committer taking the turn first and then the fixes queued while it
waited (`GroupCommitter(turn=)`, each request making its rows in its own thread, as the server does: mode `late`) and
without (mode `alone`: the group gathered, then the rows made and the turn waited for inside the write, as before
the tenth session); `--modes late,alone` runs them alternately round by round.

    .venv/bin/python bench/write_turn.py [--seconds 5] [--threads 16] [--processes 2] [--rounds 2]

Prints a Markdown table with the load average; the rates depend on the disk's fsync and the machine's load (run
the modes alternately and give the load), the fixes per commit much less.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from data.db import WriteTurn, make_engine, make_sessionmaker, session_scope  # noqa: E402
from data.positions_repo import PositionWriter, SqliteRow, SqliteRows  # noqa: E402
from data.tables import Base  # noqa: E402
from data.workers_repo import add_worker  # noqa: E402
from dispatch.positions import NetworkReport, Position  # noqa: E402
from realtime.group_commit import GroupCommitter  # noqa: E402

DEVICES = 1000
T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def prepare_db(path: Path) -> None:
    engine = make_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    with session_scope(make_sessionmaker(engine)) as session:
        for i in range(DEVICES):
            add_worker(session, name=f"W{i}", device_id=f"bench-{i:05d}")
    engine.dispose()


def process(path: Path, index: int, args: argparse.Namespace, late: bool, start_at: float, out: Any) -> None:
    """One web process: its committer and `args.threads` request threads, from `start_at` for `args.seconds`."""
    engine = make_engine(f"sqlite:///{path}")
    writer = PositionWriter(engine)
    turn = WriteTurn(path)
    commits = [0]

    def write_alone(items: list[Position | NetworkReport]) -> list[int | None]:  # before: rows made in the turn's wait
        prepared = writer.prepare(items)
        with turn():
            commits[0] += 1
            return writer.write(prepared)

    def write_rows(rows: list[SqliteRow]) -> list[int | None]:  # PositionPipeline._insert: the committer holds the turn
        commits[0] += 1
        return writer.write(SqliteRows(rows))

    committer: GroupCommitter[Any, int | None] = (
        GroupCommitter(write_rows, turn=turn) if late else GroupCommitter(write_alone)
    )

    stored = [0] * args.threads
    stop_at = start_at + args.seconds
    stride = args.processes * args.threads

    def request_thread(t: int) -> None:
        n = index * args.threads + t
        while time.monotonic() < start_at:
            time.sleep(0.001)
        while time.monotonic() < stop_at:
            at = T0 + timedelta(milliseconds=n)
            fix = Position(
                worker_id=1 + n % DEVICES, device_id=f"bench-{n % DEVICES:05d}", fix_time=at, device_time=at,
                server_time=at, latitude=43.73, longitude=7.42,
            )  # fmt: skip
            item: Any = cast(SqliteRows, writer.prepare([fix])).rows[0] if late else fix  # PositionPipeline._store
            (new_id,) = committer.write([item], timeout_s=30)
            stored[t] += new_id is not None
            n += stride

    cpu0 = time.process_time()
    threads = [threading.Thread(target=request_thread, args=(t,)) for t in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put((sum(stored), commits[0], time.process_time() - cpu0))


def run(args: argparse.Namespace, late: bool) -> tuple[int, int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "turn.db"
        prepare_db(path)
        context = multiprocessing.get_context("fork")
        out = context.Queue()
        start_at = time.monotonic() + 1.0
        procs = [
            context.Process(target=process, args=(path, i, args, late, start_at, out)) for i in range(args.processes)
        ]
        for p in procs:
            p.start()
        results = [out.get(timeout=args.seconds + 120) for _ in procs]
        for p in procs:
            p.join(60)
    return sum(r[0] for r in results), sum(r[1] for r in results), sum(r[2] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--threads", type=int, default=16, help="request threads per process (connections)")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--modes", default="late,alone", help="late: the turn, then what queued meanwhile; alone: without"
    )
    args = parser.parse_args()
    print(
        f"{args.processes} processes x {args.threads} request threads, {args.seconds:g} s per run, "
        f"{os.cpu_count()} cores; SQLite WAL, synchronous=FULL"
    )
    print()
    print("| round | mode | load at start | fixes/s | fixes per commit | commits/s | CPU per fix |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in range(1, args.rounds + 1):
        for mode in args.modes.split(","):
            load = os.getloadavg()[0]
            stored, commits, cpu = run(args, late=mode == "late")
            print(
                f"| {r} | {mode} | {load:.1f} | {stored / args.seconds:,.0f} | {stored / max(commits, 1):.2f} "
                f"| {commits / args.seconds:,.0f} | {1e6 * cpu / max(stored, 1):.0f} µs |",
                flush=True,
            )


if __name__ == "__main__":
    main()
