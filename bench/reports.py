"""Reports and history benchmark: a year of a 500-worker organisation in SQLite.

Seeds (fixed seed, bulk inserts through sqlite3) 500 workers in 10 teams with Mon-Fri shifts, 4
orders per worker and working day over 52 weeks (about 520,000 orders, 2.5 million status changes,
one check-in per visit) and, by default, one fix a minute over 8 hours on the last 7 days (1.7
million fixes: the kilometres driven). Then times, on the migrated database as the console reads it:

- each report over the whole year and over the last week, per team (`order_sums` + `worker_figures` +
  `figures_table`, or `visits_gone_wrong`: what `GET /api/v1/reports/{name}` runs before turning rows into
  JSON), with the closed months' sums kept as the worker process keeps them (`realtime/report_warmup.py`);
  and once the year's first report with nothing kept, and the worker's keeping of the year's months;
- the history search: first page with a filter (team + status), a text search, and a deep page.

Prints a Markdown table; nothing asserts on time. With --write, the table replaces the
"## Reports and history" section of bench/README.md.

    .venv/bin/python bench/reports.py [--workers 500] [--weeks 52] [--fix-days 7] [--db PATH] [--write]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from readme import write_section  # noqa: E402
from sqlalchemy import text  # noqa: E402

from data import reports_repo  # noqa: E402
from data.db import make_engine, make_sessionmaker, session_scope  # noqa: E402
from data.migrate import migrate  # noqa: E402
from dispatch.reports import REPORTS, Group, Period, figures_table  # noqa: E402

TYPES = ("visit", "repair", "inspection", "delivery", "emergency")
VERDICTS = ("verified",) * 17 + ("outside_geofence", "poor_accuracy", "late")
FMT = "%Y-%m-%d %H:%M:%S.%f"


def ts(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).strftime(FMT)


def seed(db: Path, *, workers: int, weeks: int, fix_days: int, first: date, rng: random.Random) -> dict[str, int]:
    """Write the organisation's year straight into the migrated SQLite file; returns row counts."""
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    cur = con.cursor()
    cur.executemany(
        "INSERT INTO customers (id, name) VALUES (?, ?)", [(i, f"Customer {i:04d}") for i in range(1, 1001)]
    )
    cur.executemany(
        "INSERT INTO sites (id, customer_id, name, address, latitude, longitude, geofence_radius_m, category) "
        "VALUES (?, ?, ?, ?, ?, ?, 50, '')",
        [(i, 1 + i % 1000, f"Site {i:05d}", f"{i} Rue du Port", 43.72 + rng.random() * 0.05,
          7.40 + rng.random() * 0.05) for i in range(1, 5001)],
    )  # fmt: skip
    cur.executemany(
        "INSERT INTO workers (id, name, device_id, skills, team, active) VALUES (?, ?, ?, '[]', ?, 1)",
        [(w, f"Worker {w:03d}", f"dev-{w}", f"team-{w % 10}") for w in range(1, workers + 1)],
    )
    cur.executemany(
        "INSERT INTO worker_shifts (worker_id, weekdays, start_time, end_time) VALUES (?, '[0,1,2,3,4]', "
        "'08:00:00.000000', '16:00:00.000000')",
        [(w,) for w in range(1, workers + 1)],
    )
    orders: list[tuple[Any, ...]] = []
    history: list[tuple[Any, ...]] = []
    checkins: list[tuple[Any, ...]] = []
    order_id = 0
    for day_n in range(weeks * 7):
        day = first + timedelta(days=day_n)
        if day.weekday() >= 5:
            continue
        base = datetime(day.year, day.month, day.day, tzinfo=UTC)
        for w in range(1, workers + 1):
            for slot in range(4):
                order_id += 1
                start = base + timedelta(hours=8 + 2 * slot)
                created = start - timedelta(hours=rng.randint(2, 48))
                assigned = created + timedelta(minutes=rng.randint(1, 90))
                on_site = start + timedelta(minutes=rng.randint(-20, 150))
                roll = rng.random()
                status = "done" if roll < 0.9 else "failed" if roll < 0.96 else "cancelled"
                end = on_site + timedelta(minutes=rng.randint(20, 80))
                done = status != "cancelled"
                orders.append((order_id, f"WO-{order_id:07d}", 1 + rng.randrange(5000), TYPES[order_id % 5], 3, "[]",
                               ts(start), ts(start + timedelta(hours=2)), 1800, status, w, "", ts(created),
                               ts(assigned), ts(on_site) if done else None, ts(end) if done else None,
                               int(status == "failed")))  # fmt: skip
                history.append((order_id, None, "new", ts(created)))
                history.append((order_id, "new", "assigned", ts(assigned)))
                if not done:
                    history.append((order_id, "assigned", "cancelled", ts(assigned + timedelta(hours=1))))
                    continue
                history.append((order_id, "assigned", "en_route", ts(on_site - timedelta(minutes=20))))
                history.append((order_id, "en_route", "on_site", ts(on_site)))
                history.append((order_id, "on_site", status, ts(end)))
                checkins.append((order_id, w, "in", ts(on_site), VERDICTS[rng.randrange(len(VERDICTS))]))
    cur.executemany(
        "INSERT INTO work_orders (id, reference, site_id, type, priority, required_skills, window_start, window_end, "
        "service_duration_s, status, assigned_worker_id, notes, created_at, assigned_at, on_site_at, ended_at, "
        "failed_once) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        orders,
    )
    cur.executemany(
        "INSERT INTO order_status_history (order_id, from_status, to_status, at, reason) VALUES (?,?,?,?,'')", history
    )
    cur.executemany("INSERT INTO checkins (order_id, worker_id, kind, at, verdict) VALUES (?,?,?,?,?)", checkins)
    fixes = 0
    last = first + timedelta(days=weeks * 7 - 1)
    for day_n in range(fix_days):
        day = last - timedelta(days=day_n)
        base = datetime(day.year, day.month, day.day, 8, tzinfo=UTC)
        rows = []
        for w in range(1, workers + 1):
            lat, lon = 43.72 + rng.random() * 0.05, 7.40 + rng.random() * 0.05
            for minute in range(480):
                lat += rng.uniform(-0.002, 0.002)
                lon += rng.uniform(-0.002, 0.002)
                t = ts(base + timedelta(minutes=minute))
                rows.append((w, f"dev-{w}", t, t, t, lat, lon))
        cur.executemany(
            "INSERT INTO positions (worker_id, device_id, fix_time, device_time, server_time, latitude, longitude, "
            "mock, valid, attributes) VALUES (?,?,?,?,?,?,?,0,1,'{}')",
            rows,
        )
        fixes += len(rows)
    con.commit()
    con.execute("ANALYZE")
    con.close()
    return {"orders": len(orders), "history": len(history), "checkins": len(checkins), "fixes": fixes}


class Took(float):
    """Wall-clock seconds that also carry this process's CPU seconds: on a busy machine the CPU time says
    what the query costs, the wall time how long someone waited. Formats as "wall s (cpu s CPU)"."""

    cpu_s: float = 0.0

    def __format__(self, spec: str) -> str:
        return f"{float(self):{spec}} s ({self.cpu_s:{spec}} s CPU)"


def timed(fn: Any, repeat: int = 2) -> tuple[Took, Any]:
    """Best of `repeat` runs (wall clock, with that run's CPU time), and the last result."""
    best, result = Took(float("inf")), None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        took = Took(time.perf_counter() - t0)
        took.cpu_s = time.process_time() - c0
        best = min(best, took)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=500)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--fix-days", type=int, default=7)
    parser.add_argument("--db", type=Path, default=None, help="reuse (or create) this SQLite file")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    first = date(2025, 1, 6)  # a Monday
    db = args.db or Path(tempfile.mkdtemp(prefix="outfield-bench-")) / "reports.db"
    url = f"sqlite:///{db}"
    t0 = time.perf_counter()
    if not db.exists():
        migrate(url)
        counts = seed(db, workers=args.workers, weeks=args.weeks, fix_days=args.fix_days, first=first,
                      rng=random.Random(0))  # fmt: skip
    else:  # reuse the seeded file at the newest schema: count what is in it, forget kilometres summed before
        migrate(url)
        con = sqlite3.connect(db)
        tables = {"orders": "work_orders", "history": "order_status_history", "checkins": "checkins",
                  "fixes": "positions"}  # fmt: skip
        counts = {k: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for k, t in tables.items()}  # noqa: S608
        con.execute("DELETE FROM worker_day_km")
        con.execute("DELETE FROM km_days")
        con.commit()
        con.close()
    seeded_s = time.perf_counter() - t0
    sessions = make_sessionmaker(make_engine(url))
    year = Period(first, first + timedelta(days=args.weeks * 7 - 1))
    week = Period(year.end - timedelta(days=6), year.end)
    now = datetime.combine(year.end + timedelta(days=1), datetime.min.time(), tzinfo=UTC)  # the morning after
    lines = [
        f"{args.workers} workers, {args.weeks} weeks: {counts.get('orders', 0):,} orders, "
        f"{counts.get('history', 0):,} status changes, {counts.get('checkins', 0):,} check-ins, "
        f"{counts.get('fixes', 0):,} fixes (last {args.fix_days} days); seeded (or counted) in {seeded_s:.0f} s. "
        f"SQLite, {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores, best of 2.",
        "",
        "| query | period | rows | time |",
        "| --- | --- | ---: | ---: |",
    ]

    def report(name: str, period: Period, group: Group) -> Any:  # as console/reports_service.py reads them
        with session_scope(sessions) as session:
            if not REPORTS[name].figures:
                return reports_repo.visits_gone_wrong(session, period)
            sums = reports_repo.order_sums(session, period, now=now)
            workers = reports_repo.worker_figures(session, period, now=now)
        return figures_table(name, sums, workers, group)

    with session_scope(sessions) as session:  # the kilometres of each day are summed once, then kept
        cold_s, _ = timed(lambda: reports_repo.km_per_worker(session, year, now=now), repeat=1)
    lines.append(f"| kilometres per worker and day, first report over the year (summing the fixes once) | year | "
                 f"{args.workers:,} | {cold_s:.2f} |")  # fmt: skip

    def forget_kept_months() -> None:
        with session_scope(sessions) as session:
            session.execute(text("DELETE FROM report_month_sums"))
            session.execute(text("UPDATE report_months SET kept_generation = NULL"))

    forget_kept_months()
    seconds, _ = timed(lambda: report("overview", year, Group.TEAM), repeat=1)
    lines.append(f"| report `overview` per team, nothing kept yet (sums every order, keeps the closed months) | year "
                 f"| 10 | {seconds:.2f} |")  # fmt: skip
    forget_kept_months()

    def keep() -> Any:
        with session_scope(sessions) as session:
            return reports_repo.keep_month_sums(session, year, now=now)

    seconds, kept = timed(keep, repeat=1)
    lines.append(f"| the worker keeping the year's closed months ahead (`keep_month_sums`, once a month) | year | "
                 f"{len(kept)} months | {seconds:.2f} |")  # fmt: skip
    for period, label in ((year, "year"), (week, "last week")):
        for name in REPORTS:
            seconds, table = timed(lambda name=name, period=period: report(name, period, Group.TEAM))
            lines.append(f"| report `{name}` per team | {label} | {len(table):,} | {seconds:.2f} |")
    seconds, table = timed(lambda: report("overview", year, Group.WORKER))
    lines.append(f"| report `overview` per worker | year | {len(table):,} | {seconds:.2f} |")
    seconds, table = timed(lambda: report("overview", year, Group.TYPE))
    lines.append(f"| report `overview` per order type | year | {len(table):,} | {seconds:.2f} |")

    # The same reports through the HTTP handler (Flask's test client: routing, access check, audit, JSON or CSV
    # body), as `GET /api/v1/reports/{name}` answers a manager; no socket, no Redis server needed.
    from dataclasses import replace as _replace

    # bench/console.py would shadow the console namespace package: import it from the repository itself.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
    from console.app import create_app
    from data import users_repo
    from data.settings import Settings
    from dispatch.access import Role
    from dispatch.clock import ManualClock

    settings = _replace(
        Settings.from_env({"OUTFIELD_VAR": str(db.parent), "DATABASE_URL": url, "SECRET_KEY": "bench",
                           "OUTFIELD_TIMEZONE": "UTC", "OUTFIELD_OSRM_DIR": str(db.parent / "none")}),
        redis_url="redis://127.0.0.1:1/0",
    )  # fmt: skip
    http = create_app(settings, clock=ManualClock(now)).server.test_client()
    with session_scope(sessions) as session:
        _, token = users_repo.create_user(session, name=f"bench-{time.time_ns()}", role=Role.MANAGER)
    year_query = {"from": year.start.isoformat(), "to": year.end.isoformat(), "group": "team"}

    def answer(name: str, **extra: str) -> Any:
        got = http.get(f"/api/v1/reports/{name}", query_string={**year_query, **extra},
                       headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert got.status_code == 200, got.get_data(as_text=True)[:200]
        return got.get_data()

    for name, extra, label in (
        ("overview", {}, "JSON"),
        ("visits-gone-wrong", {}, "JSON, first 1,000 rows"),
        ("visits-gone-wrong", {"format": "csv"}, "CSV, every row"),
    ):
        seconds, body = timed(lambda name=name, extra=extra: answer(name, **extra))
        lines.append(f"| `GET /api/v1/reports/{name}` per team ({label}) | year | {len(body) / 1e6:.1f} MB | "
                     f"{seconds:.2f} |")  # fmt: skip

    def search(page: int, **kw: Any) -> Any:
        with session_scope(sessions) as session:
            return reports_repo.search_history(session, reports_repo.HistoryFilter(year, **kw), page=page, per_page=50)

    cases = [
        ("history, first page, no filter", 1, {}),
        ("history, first page, team + status failed", 1, {"team": "team-3", "statuses": ("failed",)}),
        ("history, first page, one worker", 1, {"worker_id": 42}),
        ("history, text search (reference)", 1, {"q": "WO-0123456"}),
        ("history, customer name", 1, {"customer": "Customer 0042"}),
        ("history, deep page (page 5,000)", 5000, {}),
    ]
    for label, page, kw in cases:
        seconds, found = timed(lambda page=page, kw=kw: search(page, **kw))
        lines.append(f"| {label} | year | {len(found.rows)} of {found.total:,} | {seconds:.2f} |")
    table_md = "\n".join(lines)
    print(table_md)
    if args.write:
        header = "## Reports and history"
        section = f"{header}\n\n`.venv/bin/python bench/reports.py --write` (bench/reports.py).\n\n{table_md}\n"
        write_section(header, section)


if __name__ == "__main__":
    main()
