"""CPU per request, in process: the console's WSGI app called directly, no HTTP server, no load generator.

`bench/ingest.py` measures the deployed server under wrk, but on this shared 2-core machine its rates move with
whatever else runs. This asks the steadier question: how much CPU does one request cost the app itself? It
builds the app as `python -m console` does (`console.app.create_app`) on a fresh SQLite file (WAL,
synchronous=FULL) with a real `redis-server`, registers `--devices` phones (consent recorded, each has reported
once: warm caches), then calls the WSGI app from `--threads` threads for each route and divides the process's
CPU time (`time.process_time`: every thread, the group committer, publisher, relay and evaluator included)
by the requests served, and the calling threads' own (`time.thread_time`). Gunicorn's own HTTP handling is not in
it (`bench/ingest.py` has that). `--threads 1` gives the steadiest figures on a shared machine.

    .venv/bin/python bench/request_cost.py [--requests 3000] [--threads 8] [--profile /tmp/cost.prof]

Routes: `/healthz` (the floor: the Flask app's per-request cost plus one Redis PING), `/osmand` (one new fix per
request), `GET /api/v1/workers/1` with a bearer token (a small API read through Flask), and a batch of 500 fixes
(`POST /api/v1/positions`, µs per fix). `--profile PATH` writes cProfile statistics (with `--only ROUTE`);
`--gc-stats` prints the CPU the cyclic garbage collector took (76 ms over a whole default run on 2026-12-05, no
full collection: not where the time goes).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# `console` is a namespace package: bench/console.py, on the path as this script's folder, would win over it.
sys.path[:] = [str(REPO), *(p for p in sys.path if Path(p or ".").resolve() != REPO / "bench")]

from console.app import create_app  # noqa: E402
from data import users_repo  # noqa: E402
from data.csv_import import IMPORTERS  # noqa: E402
from data.db import make_engine, make_sessionmaker, session_scope  # noqa: E402
from data.migrate import migrate  # noqa: E402
from data.settings import Settings  # noqa: E402
from dispatch.clock import SystemClock  # noqa: E402
from realtime.redis_server import start_redis  # noqa: E402
from tests.support.consent import consent_everyone  # noqa: E402
from tests.support.servers import free_port, wait_until  # noqa: E402

Environ = dict[str, Any]


def environ(
    method: str, path: str, query: str = "", body: bytes = b"", headers: dict[str, str] | None = None
) -> Environ:
    """A WSGI environ as gunicorn builds one for a request from 127.0.0.1 (no cookies)."""
    env: Environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8050",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "40000",
        "HTTP_HOST": "127.0.0.1:8050",
        "HTTP_USER_AGENT": "wrk",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if body:
        env["CONTENT_LENGTH"] = str(len(body))
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        env[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    return env


def call(app: Callable[..., Iterable[bytes]], env: Environ) -> str:
    """One request through the WSGI app, its body read and closed as a server does; returns the status line."""
    status: list[str] = []

    def start_response(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        status.append(line)
        return lambda data: None

    result = app(env, start_response)
    try:
        for _chunk in result:
            pass
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return status[0]


def thread_cpu() -> dict[str, float]:
    """CPU seconds (user + system) used so far by each live thread of this process, by thread name.

    From /proc (the kernel's own accounting, 10 ms ticks): the group committer, the bus publisher, the relay and
    the evaluator are the process's own threads, so this says where a request's CPU goes outside its calling thread.
    The calling threads have ended when this is read after `measure`: their share is `measure`'s own figure.
    """
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for thread in threading.enumerate():
        try:
            fields = Path(f"/proc/self/task/{thread.native_id}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, TypeError):
            continue
        out[thread.name] = out.get(thread.name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def measure(
    app: Callable[..., Iterable[bytes]],
    make: Callable[[int], Environ],
    *,
    requests: int,
    threads: int,
    expect: str,
    first: int = 0,
    profiler: cProfile.Profile | None = None,
) -> tuple[float, float, float]:
    """(CPU seconds per request of the whole process and of the calling threads alone, requests per wall second)
    over `requests` calls (numbered from `first`, so each is a new fix) from `threads` threads."""
    counter = iter(range(first, first + requests))
    lock = threading.Lock()
    bad: list[str] = []

    threads_cpu: list[float] = []

    def work() -> None:
        started = time.thread_time()
        if profiler is not None:
            profiler.enable()  # cProfile follows only the thread that enabled it (Python ≥ 3.12: one per process)
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            line = call(app, make(n))
            if not line.startswith(expect):
                bad.append(line)
        if profiler is not None:
            profiler.disable()
        threads_cpu.append(time.thread_time() - started)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    cpu, wall = time.process_time(), time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if bad:
        raise SystemExit(f"{len(bad)} answers were not {expect}: {bad[:3]}")
    return cpu / requests, sum(threads_cpu) / requests, requests / wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--only", default="", help="comma-separated routes: healthz,osmand,api,batch")
    parser.add_argument("--gc-stats", action="store_true", help="time spent in the cyclic garbage collector")
    parser.add_argument(
        "--per-thread", action="store_true", help="CPU per request of each background thread (from /proc, by name)"
    )
    parser.add_argument("--profile", help="write cProfile statistics (of one route: --only) to this file")
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))

    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        rport = free_port()
        redis_proc = start_redis(rport, var / "redis")
        try:
            settings = replace(
                Settings.from_env(
                    {
                        "OUTFIELD_VAR": str(var),
                        "DATABASE_URL": f"sqlite:///{var / 'bench.db'}",
                        "REDIS_URL": f"redis://127.0.0.1:{rport}/0",
                        "SECRET_KEY": "bench",
                        "OUTFIELD_OSRM_DIR": str(var / "no-osrm"),
                    }
                )
            )
            migrate(settings.database_url)
            sessions = make_sessionmaker(make_engine(settings.database_url))
            with session_scope(sessions) as session:
                _, token = users_repo.create_user(session, name="bench", role="admin")
                IMPORTERS["workers"](
                    session,
                    io.StringIO(
                        "name,device_id,skills,team,home_lat,home_lon,shift_days,shift_start,shift_end\n"
                        + "".join(
                            f"W{i},bench-{i:05d},gas,B,43.73,7.42,Mon;Tue;Wed;Thu;Fri;Sat;Sun,00:00,23:59\n"
                            for i in range(args.devices)
                        )
                    ),
                )
            consent_everyone(settings.database_url)
            outfield = create_app(settings, clock=SystemClock())
            wait_until(outfield.bus.ping, 30, "redis-server")
            outfield.start_relay(settings.live_batch_ms)
            app = outfield.server.wsgi_app
            t0 = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)
            t0_ms = int(t0.timestamp() * 1000)

            def osmand(n: int) -> Environ:
                query = (
                    f"id=bench-{n % args.devices:05d}&lat={43.73 + (n % 100) * 1e-4:.6f}&lon=7.4246"
                    f"&timestamp={t0_ms + n * 10}&speed=5&accuracy=6&batt=80"
                )
                return environ("GET", "/osmand", query)

            for i in range(args.devices):  # every phone has reported once: warm device and last-fix caches
                call(app, osmand(i - 3 * args.devices))
            bearer = {"Authorization": f"Bearer {token}"}
            gc_time = [0.0, 0.0, 0]
            if args.gc_stats:
                import gc

                def on_gc(phase: str, info: dict[str, int]) -> None:
                    if phase == "start":
                        gc_time[1] = time.thread_time()
                    else:
                        gc_time[0] += time.thread_time() - gc_time[1]
                        gc_time[2] += info["generation"] == 2

                gc.callbacks.append(on_gc)

            def batch(n: int) -> Environ:
                items = ",".join(
                    f'{{"id":"bench-{k % args.devices:05d}","lat":{43.73 + (k % 100) * 1e-4:.6f},"lon":7.43,'
                    f'"timestamp":{t0_ms - 11 * 3600_000 + k * 10},"speed":5}}'
                    for k in range(n * args.batch_size, (n + 1) * args.batch_size)
                )
                return environ(
                    "POST", "/api/v1/positions", body=f"[{items}]".encode(),
                    headers={**bearer, "Content-Type": "application/json"},
                )  # fmt: skip

            routes: dict[str, tuple[Callable[[int], Environ], str, int]] = {
                "healthz": (lambda n: environ("GET", "/healthz"), "200", args.requests),
                "osmand": (osmand, "200", args.requests),
                "api": (lambda n: environ("GET", "/api/v1/workers/1", headers=bearer), "200", args.requests),
                "batch": (batch, "200", max(args.requests // 150, 4)),
            }
            print(
                f"in process, {args.threads} threads, {args.devices} devices, load average {os.getloadavg()[0]:.1f}; "
                "CPU per request of the whole process (every thread) and of the calling threads alone"
            )
            print("| route | requests | CPU per request: process | of it, calling threads | requests/s (wall) |")
            print("| --- | ---: | ---: | ---: | ---: |")
            for name, (make, expect, count) in routes.items():
                if only and name not in only:
                    continue
                warm = min(count, 50)
                measure(app, make, requests=warm, threads=args.threads, expect=expect)  # warm-up
                profiler = cProfile.Profile() if args.profile else None
                before = thread_cpu() if args.per_thread else {}
                cpu, own, rate = measure(
                    app, make, requests=count, threads=args.threads, expect=expect, first=warm, profiler=profiler
                )
                if name == "batch":
                    print(f"| batch of {args.batch_size} | {count} | {cpu * 1e6 / args.batch_size:.1f} µs per fix "
                          f"| {own * 1e6 / args.batch_size:.1f} µs | {rate * args.batch_size:,.0f} fixes/s |")  # fmt: skip
                else:
                    print(f"| {name} | {count} | {cpu * 1000:.3f} ms | {own * 1000:.3f} ms | {rate:,.0f} |")
                if args.per_thread:
                    unit, scale = ("µs per fix", 1e6 / (count * args.batch_size)) if name == "batch" else (
                        "ms per request", 1000 / count)  # fmt: skip
                    spent = {k: v - before.get(k, 0.0) for k, v in thread_cpu().items()}
                    print(f"  {name}, background threads, {unit}: " + ", ".join(
                        f"{k} {v * scale:.3f}" for k, v in sorted(spent.items(), key=lambda kv: -kv[1]) if v > 0
                    ))  # fmt: skip
                if args.gc_stats:
                    print(f"  gc: {gc_time[0] * 1000:.0f} ms of CPU so far, {gc_time[2]} full collections so far")
                if profiler is not None:
                    profiler.dump_stats(args.profile)
                    pstats.Stats(args.profile).sort_stats("cumulative").print_stats(40)
            outfield.stop.set()
        finally:
            redis_proc.terminate()
            redis_proc.wait(10)


if __name__ == "__main__":
    main()
