"""The manager's timesheets: how long `GET /api/v1/timesheets` takes to add up a period of the demo's team.

The demo's data (`python -m data seed-demo --history-days N-1`: 30 workers, the days before today of simulated tracks
and visits, seed 0) is seeded into a fresh SQLite file (about 30 s for a week), or read from `--db`. Timed: the
application layer's own call, `services.attendance_service.AttendanceService.timesheets`, over the last `--days` days
of the office's clock (7: what the attendance page asks when it opens; 31: a month's payroll export), no day
approved: every worked day's track is read and cut into stops and trips. Wall clock and this process's CPU
(`time.process_time`), best of `--repeat`. Prints a Markdown table; nothing here asserts on time.

    .venv/bin/python bench/timesheets.py [--days 7] [--db PATH] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from data.db import make_engine, make_sessionmaker  # noqa: E402
from dispatch.clock import SystemClock  # noqa: E402
from services.attendance_service import AttendanceService  # noqa: E402

OFFICE = ZoneInfo("Europe/Monaco")


def seeded(folder: Path, days: int) -> Path:
    """A fresh SQLite file with the demo's team and `days - 1` days of history (six: as `./run demo` seeds it)."""
    db = folder / "outfield.db"
    env = {**os.environ, "OUTFIELD_VAR": str(folder), "DATABASE_URL": f"sqlite:///{db}", "SECRET_KEY": "bench",
           "OUTFIELD_OSRM_DIR": str(REPO / "var" / "osrm")}  # fmt: skip
    for args in (("migrate",), ("seed-demo", "--history-days", str(days - 1))):
        subprocess.run([sys.executable, "-m", "data", *args], env=env, cwd=REPO, check=True, capture_output=True)
    return db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="an Outfield SQLite file to read (default: seed the demo afresh)")
    parser.add_argument("--days", type=int, default=7, help="the period, ending today (default: 7)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or seeded(Path(tmp), args.days)
        sessions = make_sessionmaker(make_engine(f"sqlite:///{db}"))
        service = AttendanceService(sessions=sessions, clock=SystemClock(), zone=OFFICE)
        end = datetime.now(OFFICE).date()
        start = end - timedelta(days=args.days - 1)
        walls, cpus, rows = [], [], []
        for _ in range(args.repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            rows = service.timesheets(start=start, end=end)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
    load = os.getloadavg()[0]
    print(f"CPython {platform.python_version()}, {os.cpu_count()} cores, load {load:.1f}; best of {args.repeat}\n")
    print("| period | worker-days | worked days (track read) | wall clock | CPU |")
    print("| --- | ---: | ---: | ---: | ---: |")
    worked = sum(1 for r in rows if r.get("started_at"))
    print(f"| {start} to {end} | {len(rows)} | {worked} | {min(walls) * 1000:,.0f} ms | {min(cpus) * 1000:,.0f} ms |")


if __name__ == "__main__":
    main()
