"""What one SQLite writer writes per batch fix, by shape: the WAL bytes per row, and the disk bytes with checkpoints.

The batch endpoint's rate is bound by the one writer's turn (bench/README.md, "Ingestion"), whose wall time grows
with the pages a commit writes. This inserts groups of 500-fix requests on the real schema (`data.tables`) with the
committer's statement (`data.positions_repo`), `synchronous=FULL`, in two shapes as bench/ingest.py sends them:
`mixed` (each request 500 different workers' fixes, 10 ms apart) and `backlog` (each request one worker's own 500
consecutive fixes, 5 s apart, a new worker or a later stretch each time). No server, no HTTP: the database only.

    .venv/bin/python bench/wal_volume.py wal        # WAL bytes per row, checkpoints off, with/without the fix_time index
    .venv/bin/python bench/wal_volume.py checkpoint --pages 10000  # wall, CPU, disk bytes per row: 1,000 vs --pages
    .venv/bin/python bench/wal_volume.py index --shape backlog   # the same with and without the fix_time index,
                                                                 # alternately, at the server's checkpoint interval
    .venv/bin/python bench/wal_volume.py pages --per-commit 10 --page-sizes 4096 1024 [--wal-bytes 40960000 ...]
                                                                 # the same at each page size (and checkpoint size)

Byte counts do not depend on the machine's load; the wall and CPU figures do (run alternately, give the load).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine  # noqa: E402

from data.positions_repo import _SQLITE_INSERT  # noqa: E402
from data.tables import Base  # noqa: E402

DEVICES, SIZE = 1000, 500
T0 = datetime(2026, 12, 4, 1, 0)
Row = tuple[Any, ...]


def open_db(
    path: Path, *, fix_time_index: bool = False, autocheckpoint: int = 0, page_size: int = 4096
) -> sqlite3.Connection:
    """The schema in a new file, as the committer's connection sees it (WAL, FULL, 64 MiB cache); `fix_time_index`
    adds the index on `fix_time` alone that migration 0020 dropped (the schema before it); `page_size` is the new
    file's (set before its first table, as `data.db` does)."""
    sqlite3.connect(path).execute(f"PRAGMA page_size={page_size}").execute("VACUUM").connection.close()
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    engine.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", f"wal_autocheckpoint={autocheckpoint}",
                   "foreign_keys=OFF", "cache_size=-65536"):  # fmt: skip
        conn.execute(f"PRAGMA {pragma}")  # foreign keys off: no worker rows needed, one check less per row
    if fix_time_index:
        conn.execute("CREATE INDEX ix_positions_fix_time ON positions (fix_time)")
    return conn


def row(worker: int, at: datetime, lat: float) -> Row:
    text = at.strftime("%Y-%m-%d %H:%M:%S.%f")
    return (worker, f"bench-{worker:05d}", text, text, text, lat, 7.43, None, 5.0, None, None, None, None, 0, 1, "{}")


def groups(shape: str, per_commit: int) -> Iterator[list[Row]]:
    """Commits of `per_commit` requests of SIZE fixes each, every fix new."""
    r = 0
    while True:
        rows: list[Row] = []
        for _ in range(per_commit):
            if shape == "mixed":
                for k in range(r * SIZE, (r + 1) * SIZE):
                    rows.append(row(1 + k % DEVICES, T0 + timedelta(milliseconds=10 * k), 43.73 + (k % 100) * 1e-4))
            else:
                device, stretch = r % DEVICES, r // DEVICES
                for i in range(stretch * SIZE, (stretch + 1) * SIZE):
                    rows.append(row(1 + device, T0 + timedelta(seconds=5 * i), 43.70 + i * 1e-5))
            r += 1
        yield rows


def commit(conn: sqlite3.Connection, rows: list[Row]) -> None:
    conn.execute("BEGIN")
    conn.executemany(_SQLITE_INSERT, rows)
    conn.execute("COMMIT")


def disk_bytes() -> int:
    return int(dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())["write_bytes"])


def wal(args: argparse.Namespace) -> None:
    for index in (True, False):
        for per_commit in (1, 4):
            for shape in ("mixed", "backlog"):
                with tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / "x.db"
                    conn = open_db(path, fix_time_index=index)
                    source = groups(shape, per_commit)
                    for _ in range(args.warm_requests // per_commit):
                        commit(conn, next(source))
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    for _ in range(args.commits):
                        commit(conn, next(source))
                    table = conn.execute("SELECT count(*) FROM positions").fetchone()[0]
                    size = (path.parent / "x.db-wal").stat().st_size
                    rows = args.commits * per_commit * SIZE
                    print(
                        f"| {shape} | {per_commit} | {'yes' if index else 'dropped'} | {table:,} | {size / rows:,.0f} B "
                        f"| {size / 4120 / args.commits:,.0f} |"  # a WAL frame: 4,096 B page + 24 B header
                    )


def checkpoint(args: argparse.Namespace) -> None:
    for _ in range(args.rounds):
        for pages in (1000, args.pages):
            with tempfile.TemporaryDirectory() as tmp:
                conn = open_db(Path(tmp) / "x.db", autocheckpoint=pages)
                rows, wall, cpu, written = measured_commits(conn, args, per_commit=2)
                print(
                    f"| {args.shape} | {pages:,} | {wall / rows * 1e6:.1f} µs | {cpu / rows * 1e6:.1f} µs "
                    f"| {written / rows:,.0f} B | {os.getloadavg()[0]:.1f} |",
                    flush=True,
                )


def measured_commits(
    conn: sqlite3.Connection, args: argparse.Namespace, per_commit: int | None = None
) -> tuple[int, float, float, int]:
    """After `args.warm_requests` requests' commits, `args.commits` more of `per_commit` requests each (default
    `args.per_commit`): rows, wall s, CPU s and disk bytes written."""
    per_commit = per_commit or args.per_commit
    source = groups(args.shape, per_commit)
    for _ in range(args.warm_requests // per_commit):
        commit(conn, next(source))
    data = [next(source) for _ in range(args.commits)]
    rows = sum(len(g) for g in data)
    b0, t0, c0 = disk_bytes(), time.perf_counter(), time.process_time()
    for g in data:
        commit(conn, g)
    return rows, time.perf_counter() - t0, time.process_time() - c0, disk_bytes() - b0


def index(args: argparse.Namespace) -> None:
    """The write turn per row with the fix-time index (the schema before migration 0020) and without, alternately."""
    for _ in range(args.rounds):
        for fix_time_index in (True, False):
            with tempfile.TemporaryDirectory() as tmp:
                conn = open_db(Path(tmp) / "x.db", fix_time_index=fix_time_index, autocheckpoint=args.pages)
                rows, wall, cpu, written = measured_commits(conn, args)
                print(
                    f"| {args.shape} | {args.per_commit} | {'yes' if fix_time_index else 'dropped'} | {wall / rows * 1e6:.1f} µs "
                    f"| {cpu / rows * 1e6:.1f} µs | {written / rows:,.0f} B | {os.getloadavg()[0]:.1f} |",
                    flush=True,
                )


def pages(args: argparse.Namespace) -> None:
    """The write turn per row at each page size (and WAL size to checkpoint at), alternately."""
    for _ in range(args.rounds):
        for page_size, wal_bytes in ((p, w) for p in args.page_sizes for w in args.wal_bytes):
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "x.db"
                conn = open_db(path, autocheckpoint=wal_bytes // page_size, page_size=page_size)
                assert conn.execute("PRAGMA page_size").fetchone()[0] == page_size
                rows, wall, cpu, written = measured_commits(conn, args)
                print(
                    f"| {args.shape} | {args.per_commit} | {page_size:,} | {wal_bytes / 1e6:,.0f} MB "
                    f"| {wall / rows * 1e6:.1f} µs "
                    f"| {cpu / rows * 1e6:.1f} µs | {written / rows:,.0f} B | {os.getloadavg()[0]:.1f} |",
                    flush=True,
                )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=("wal", "checkpoint", "index", "pages"))
    parser.add_argument("--warm-requests", type=int, default=600, help="requests stored before measuring")
    parser.add_argument("--commits", type=int, default=40)
    parser.add_argument("--shape", choices=("mixed", "backlog"), default="mixed", help="checkpoint, index")
    parser.add_argument(
        "--pages", type=int, default=10_000, help="checkpoint: the wal_autocheckpoint to try; index: the one"
    )
    parser.add_argument("--rounds", type=int, default=2, help="checkpoint, index")
    parser.add_argument("--per-commit", type=int, default=2, help="index only: requests of 500 per commit")
    parser.add_argument("--page-sizes", type=int, nargs="+", default=[4096, 1024], help="pages only")
    parser.add_argument(
        "--wal-bytes", type=int, nargs="+", default=[40_960_000], help="pages only: checkpoint the WAL at these sizes"
    )
    args = parser.parse_args()
    if args.what == "pages":
        print(
            "| shape | requests per commit | page size | checkpoint at | wall per row | CPU per row | disk written per row "
            "| load |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        pages(args)
    elif args.what == "wal":
        print("| shape | requests per commit | fix_time index | table rows | WAL per row | pages per commit |")
        print("| --- | ---: | --- | ---: | ---: | ---: |")
        wal(args)
    elif args.what == "index":
        print(
            "| shape | requests per commit | fix_time index | wall per row | CPU per row | disk written per row | load |"
        )
        print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
        index(args)
    else:
        print("| shape | wal_autocheckpoint | wall per row | CPU per row | disk written per row | load |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        checkpoint(args)


if __name__ == "__main__":
    main()
