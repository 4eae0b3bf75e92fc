"""The questions asked of a big positions table, in ms per query: the purge, a day's kilometres, a worker's reads.

Issue #9 dropped the index on `fix_time` alone (migration 0020) so each stored fix writes less; the purge and the
kilometres of a day then ask per worker through the unique (worker, fix time) index. This seeds (fixed seed, bulk
inserts through sqlite3, on the migrated schema) `--workers` workers with `--per-day` fixes a day each over `--days`
days (defaults: 1,000 x 500 x 10 = 5 million fixes, 72 s apart over 10 hours, stored in time order as phones send
them), then times what the code of `--code` (a checkout; default this one) runs:

- the kilometres of one day, every worker (`reports_repo._km_between`: what a report asks once per finished day,
  and for today on every report), the middle day;
- the retention purge (`positions_repo.purge_positions`, which `privacy_repo.purge` runs hourly): nothing due, the
  first day's first hour due (an hourly round), the whole first day due; each in a transaction rolled back;
- reads by worker, for comparison: one worker's day (`positions_between`), every worker's
  last fix (`last_positions`, and `latest_positions`: a window over the whole table on `main`, seeks on this branch).

Before/after on the same rows: seed once with this checkout (`--db FILE`), copy the file, take the copy down to
revision 0019 (`--downgrade-to 0019`: the fix-time index back), and run each side's code on its file, alternately:

    .venv/bin/python bench/position_queries.py --db /tmp/pq/after.db            # seeds, then measures
    cp /tmp/pq/after.db /tmp/pq/before.db && .venv/bin/python bench/position_queries.py --db /tmp/pq/before.db \
        --downgrade-to 0019 --seed-only
    .venv/bin/python bench/position_queries.py --db /tmp/pq/before.db --code ../wt-base   # main's code

Prints a Markdown table (best and median of `--repeat`, wall and CPU, the load); nothing asserts on time.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PARSER = argparse.ArgumentParser(description=__doc__.split("\n")[0])
PARSER.add_argument("--db", type=Path, required=True, help="the SQLite file: seeded when missing")
PARSER.add_argument("--code", type=Path, default=Path(__file__).resolve().parents[1], help="the checkout to run")
PARSER.add_argument("--workers", type=int, default=1000)
PARSER.add_argument("--days", type=int, default=10)
PARSER.add_argument("--per-day", type=int, default=500, help="fixes per worker and day")
PARSER.add_argument("--repeat", type=int, default=5)
PARSER.add_argument("--seed-only", action="store_true")
PARSER.add_argument("--only", default="", help="run only the queries whose name contains this")
PARSER.add_argument("--downgrade-to", default=None, help="take the file down to this revision (with --code's scripts)")
ARGS = PARSER.parse_args()
sys.path.insert(0, str(ARGS.code.resolve()))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from data import positions_repo, reports_repo  # noqa: E402
from data.db import make_engine, make_sessionmaker  # noqa: E402
from data.migrate import migrate  # noqa: E402

FIRST = datetime(2026, 11, 20, tzinfo=UTC)
FMT = "%Y-%m-%d %H:%M:%S.%f"
STEP_S = 72


def seed(db: Path) -> int:
    """Workers and their fixes, straight into the migrated file; returns the number of fixes."""
    migrate(f"sqlite:///{db}")
    con = sqlite3.connect(db)
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-1048576")
    con.executemany(
        "INSERT INTO workers (id, name, device_id, skills, team, active, timezone) VALUES (?, ?, ?, '[]', '', 1, 'UTC')",
        [(w, f"W{w}", f"bench-{w}") for w in range(1, ARGS.workers + 1)],
    )
    rng = random.Random(9)
    where = {w: [43.70 + rng.random() * 0.05, 7.40 + rng.random() * 0.05] for w in range(1, ARGS.workers + 1)}
    fixes = 0
    for day in range(ARGS.days):
        start = FIRST + timedelta(days=day, hours=7)
        rows = []
        for step in range(ARGS.per_day):
            at = (start + timedelta(seconds=STEP_S * step)).strftime(FMT)
            for w, place in where.items():
                place[0] += rng.uniform(-3e-4, 3e-4)
                place[1] += rng.uniform(-3e-4, 3e-4)
                rows.append((w, f"bench-{w}", at, at, at, place[0], place[1], 8.0, 0, 1, "{}"))
        con.executemany(
            "INSERT INTO positions (worker_id, device_id, fix_time, device_time, server_time, latitude, longitude, "
            "accuracy_m, mock, valid, attributes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        con.commit()
        fixes += len(rows)
    con.execute("ANALYZE")
    con.commit()
    con.close()
    return fixes


def timed(fn: Callable[[], Any]) -> tuple[list[float], list[float], Any]:
    walls, cpus, result = [], [], None
    for _ in range(ARGS.repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        result = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return walls, cpus, result


def main() -> None:
    db = ARGS.db
    if not db.exists():
        db.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        n = seed(db)
        print(f"seeded {n:,} fixes in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if ARGS.downgrade_to:
        from alembic import command

        from data.migrate import alembic_config

        command.downgrade(alembic_config(database_url=f"sqlite:///{db}"), ARGS.downgrade_to)
    if ARGS.seed_only:
        return
    engine = make_engine(f"sqlite:///{db}")
    sessions = make_sessionmaker(engine)
    with engine.connect() as c:
        indexes = [r[0] for r in c.execute(text("SELECT name FROM sqlite_master WHERE tbl_name = 'positions'"))]
        rows = c.execute(text("SELECT count(*) FROM positions")).scalar_one()
    day = FIRST + timedelta(days=ARGS.days // 2)
    worker = ARGS.workers // 2

    def rolled_back(fn: Callable[[Session], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with sessions() as session:
                try:
                    return fn(session)
                finally:
                    session.rollback()

        return run

    cases: list[tuple[str, Callable[[], Any]]] = [
        ("kilometres of one day, every worker", rolled_back(
            lambda s: len(reports_repo._km_between(s, day, day + timedelta(days=1))))),
        ("purge, nothing due", rolled_back(lambda s: positions_repo.purge_positions(s, before=FIRST))),
        ("purge, the first hour due (an hourly round)", rolled_back(
            lambda s: positions_repo.purge_positions(s, before=FIRST + timedelta(hours=8)))),
        ("purge, the first day due", rolled_back(
            lambda s: positions_repo.purge_positions(s, before=FIRST + timedelta(days=1)))),
        ("one worker's day (`positions_between`)", rolled_back(lambda s: len(positions_repo.positions_between(
            s, worker_id=worker, start=day, end=day + timedelta(days=1))))),
        ("every worker's last fix (`last_positions`)", rolled_back(
            lambda s: len(positions_repo.last_positions(s, list(range(1, ARGS.workers + 1)))))),
        ("every worker's last fix (`latest_positions`)", rolled_back(
            lambda s: len(positions_repo.latest_positions(s)))),
    ]  # fmt: skip
    print(f"code {ARGS.code}, {rows:,} rows, indexes on positions: {', '.join(indexes)}")
    print(f"load at start {os.getloadavg()[0]:.1f}, best / median of {ARGS.repeat}")
    print("| query | rows | wall best | wall median | CPU best | load |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, fn in (case for case in cases if ARGS.only in case[0]):
        walls, cpus, result = timed(fn)
        print(
            f"| {name} | {result:,} | {min(walls) * 1e3:,.1f} ms | {statistics.median(walls) * 1e3:,.1f} ms "
            f"| {min(cpus) * 1e3:,.1f} ms | {os.getloadavg()[0]:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
