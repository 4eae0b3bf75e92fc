"""Ingestion benchmark: the trivial-route floor, /osmand one fix per request and the batch endpoint, side by side.

One run, one server configuration: a real redis-server, the console as `start_server` starts it
(`python -m console`: gunicorn with gthread workers; repoint that one function if that changes) on a fresh SQLite
file (WAL, synchronous=FULL), `--devices` registered phones, and Debian's `wrk` as the load
generator (C, event-driven, Lua scripts making every request a new fix: its own device and time).
wrk runs on the same 2 cores as the server, so its CPU is taken from the server's; the figures are
a lower bound. Prints a Markdown table with the load average; nothing here asserts on time.

    .venv/bin/python bench/ingest.py [--seconds 10] [--connections 32] [--devices 1000] [--batch-size 500]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from realtime.redis_server import start_redis  # noqa: E402
from tests.support.consent import consent_everyone  # noqa: E402
from tests.support.servers import free_port, run_cli, wait_until  # noqa: E402

# Every request a new fix: device = n mod devices, time = t0 + 10 n ms (n unique over wrk's threads).
OSMAND_LUA = """
local n, step = 0, 1
local devices = tonumber(os.getenv("BENCH_DEVICES"))
local t0 = tonumber(os.getenv("BENCH_T0"))
local threads = 0
function setup(thread) thread:set("offset", threads); threads = threads + 1 end
function init(args) n = offset; step = tonumber(os.getenv("BENCH_THREADS")) end
function request()
  n = n + step
  local path = string.format("/osmand?id=bench-%05d&lat=%.6f&lon=7.4246&timestamp=%.0f&speed=5&accuracy=6&batt=80",
                             n % devices, 43.73 + (n % 100) * 1e-4, t0 + n * 10)
  return wrk.format("GET", path)
end
"""

BATCH_LUA = """
local n, step = 0, 1
local devices = tonumber(os.getenv("BENCH_DEVICES"))
local t0 = tonumber(os.getenv("BENCH_T0"))
local size = tonumber(os.getenv("BENCH_BATCH"))
local threads = 0
function setup(thread) thread:set("offset", threads); threads = threads + 1 end
function init(args) n = offset * size; step = tonumber(os.getenv("BENCH_THREADS")) * size end
function request()
  local items = {}
  for i = 0, size - 1 do
    local k = n + i
    items[#items + 1] = string.format('{"id":"bench-%05d","lat":%.6f,"lon":7.43,"timestamp":%.0f,"speed":5}',
                                      k % devices, 43.73 + (k % 100) * 1e-4, t0 + k * 10)
  end
  n = n + step
  return wrk.format("POST", "/api/v1/positions", {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")}, "[" .. table.concat(items, ",") .. "]")
end
"""

GEVENT = "gevent==26.9.0"  # for --worker-class gevent only

FLOOR_LUA = """
function request() return wrk.format("GET", "/healthz") end
"""


def start_server(env: dict[str, str], log: Path, web: str = "", worker_class: str = "") -> subprocess.Popen[bytes]:
    """The console as deployed: `python -m console` (gunicorn, gthread workers; repoint here if that changes).

    `web` is "WORKERS:THREADS" (OUTFIELD_WEB_WORKERS / OUTFIELD_WEB_THREADS), or "" for the defaults.
    """
    if web:
        workers, threads = web.split(":")
        env = {**env, "OUTFIELD_WEB_WORKERS": workers, "OUTFIELD_WEB_THREADS": threads}
    if worker_class == "gevent":  # not a project dependency: installed for the bench into var/bench-gevent
        target = REPO / "var" / "bench-gevent"
        if not (target / "gevent").exists():
            subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", str(target), GEVENT], check=True)
        env = {**env, "OUTFIELD_WEB_WORKER_CLASS": "gevent", "PYTHONPATH": str(target)}
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "console"], env=env, cwd=REPO, stdout=out, stderr=out)


def cpu_seconds(root: int) -> dict[int, float]:
    """User + system CPU seconds used so far by process `root` and by each of its children (the gunicorn workers).

    Other work on this shared 2-core machine changes how fast the server is, hardly how much CPU a fix
    costs it: the server's CPU per fix is the steadier figure, and 2 cores ÷ it is the ceiling. Per process,
    because one gunicorn worker holds at most about one core (the GIL): how the load generator's connections
    fell between the workers decides how much of the 2 cores the server can use.
    """
    pids = [root, *(int(p) for p in Path(f"/proc/{root}/task/{root}/children").read_text().split())]
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return out


def run_wrk(
    url: str,
    script: str,
    env: dict[str, str],
    *,
    seconds: int,
    threads: int,
    connections: int,
    spy: list[str] | None,
    server_pid: int = 0,
) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    profiler = subprocess.Popen(spy, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) if spy else None
    cpu_before = cpu_seconds(server_pid) if server_pid else {}
    try:
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", f.name, url],
            env={**env, "BENCH_THREADS": str(threads)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(f.name)
        if profiler is not None:
            profiler.wait(seconds + 30)
    cpu_after = cpu_seconds(server_pid) if server_pid else {}
    per_process = {pid: spent - cpu_before.get(pid, 0.0) for pid, spent in cpu_after.items() if pid != server_pid}
    cpu = sum(cpu_after.values()) - sum(cpu_before.values())
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests_done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    latency = re.search(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", out)
    return {
        "rate": rate,
        "non2xx": int(bad.group(1)) if bad else 0,
        "errors": errors.group(0) if errors else "",
        "latency_avg": latency.group(1) if latency else "?",
        "latency_max": latency.group(3) if latency else "?",
        "cpu_ms_per_request": 1000 * cpu / max(requests_done, 1),
        # Each worker's share of the phase's CPU, busiest first (a 50/50 split: both cores could be used).
        "split": "/".join(f"{spent / max(cpu, 1e-9):.0%}" for spent in sorted(per_process.values(), reverse=True)),
        "cores": cpu / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--batch-connections", type=int, default=4)
    parser.add_argument("--web", default="", help="WORKERS:THREADS of the server (default: its settings' defaults)")
    parser.add_argument(
        "--worker-class", default="gthread", choices=("gthread", "gevent"), help="gunicorn worker class to measure"
    )
    parser.add_argument(
        "--reuse-port",
        choices=("0", "1"),
        default="",
        help="OUTFIELD_WEB_REUSE_PORT of the server (default: its settings')",
    )
    parser.add_argument(
        "--py-spy", help="py-spy binary: record the server during each phase (collapsed stacks in /tmp)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")

    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        rport, port = free_port(), free_port()
        redis_proc = start_redis(rport, var / "redis")
        env = {
            **os.environ,
            "OUTFIELD_VAR": str(var),
            "DATABASE_URL": f"sqlite:///{var / 'bench.db'}",
            "REDIS_URL": f"redis://127.0.0.1:{rport}/0",
            "PORT": str(port),
            "SECRET_KEY": "bench",
            "OUTFIELD_OSRM_DIR": str(var / "no-osrm"),
            **({"OUTFIELD_WEB_REUSE_PORT": args.reuse_port} if args.reuse_port else {}),
        }
        procs: list[subprocess.Popen[bytes]] = [redis_proc]
        try:
            run_cli("data", "migrate", env=env)
            token = run_cli("data", "create-user", "--role", "admin", "--name", "bench", env=env)
            csv = var / "workers.csv"
            csv.write_text(
                "name,device_id,skills,team,home_lat,home_lon,shift_days,shift_start,shift_end\n"
                + "".join(
                    f"W{i},bench-{i:05d},gas,B,43.73,7.42,Mon;Tue;Wed;Thu;Fri;Sat;Sun,00:00,23:59\n"
                    for i in range(args.devices)
                )
            )
            run_cli("data", "import-csv", "workers", str(csv), env=env)
            consent_everyone(env["DATABASE_URL"])  # consent is required: their fixes are kept
            procs.append(start_server(env, var / "console.log", args.web, args.worker_class))
            url = f"http://127.0.0.1:{port}"
            wait_until(lambda: requests.get(f"{url}/healthz", timeout=1).ok, 60, "console")
            # Fix times: a day ago from 01:00 (batch) and 12:00 (/osmand), 10 ms apart, inside the all-day shifts.
            t0 = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)
            wrk_env = {
                **os.environ,
                "BENCH_DEVICES": str(args.devices),
                "BENCH_TOKEN": token,
                "BENCH_BATCH": str(args.batch_size),
            }
            common = {"seconds": args.seconds, "threads": args.threads, "server_pid": procs[-1].pid}

            def spy(phase: str) -> list[str] | None:
                if not args.py_spy:
                    return None
                out = f"/tmp/outfield-ingest-{phase}.txt"
                print(f"profile of the {phase} phase: {out}", file=sys.stderr)
                # Every gunicorn worker (the master only waits for signals).
                return [
                    args.py_spy,
                    "record",
                    "-p",
                    str(procs[-1].pid),
                    "--subprocesses",
                    "-d",
                    str(args.seconds),
                    "-f",
                    "raw",
                    "-o",
                    out,
                    "--nonblocking",
                ]

            # Steady state: every phone has reported once (the device and last-fix caches are warm),
            # as on a running server; the cold first fix of each phone is not what is measured here.
            warm = requests.Session()
            for i in range(args.devices):
                at = int((t0 - timedelta(minutes=30)).timestamp()) + i
                warm.get(f"{url}/osmand", params={"id": f"bench-{i:05d}", "lat": 43.73, "lon": 7.42, "timestamp": at})
            load = os.getloadavg()[0]
            floor = run_wrk(url, FLOOR_LUA, wrk_env, connections=args.connections, spy=spy("floor"), **common)
            one = run_wrk(
                url, OSMAND_LUA, {**wrk_env, "BENCH_T0": str(int(t0.timestamp() * 1000))},
                connections=args.connections, spy=spy("osmand"), **common,
            )  # fmt: skip
            time.sleep(1)  # let the last commits land before the next phase
            many = run_wrk(
                url, BATCH_LUA, {**wrk_env, "BENCH_T0": str(int((t0 - timedelta(hours=11)).timestamp() * 1000))},
                connections=args.batch_connections, spy=spy("batch"), **common,
            )  # fmt: skip
            load_end = os.getloadavg()[0]
            stored = requests.get(
                f"{url}/api/v1/workers/1/positions",
                params={"from": (t0 - timedelta(hours=12)).isoformat(), "to": (t0 + timedelta(hours=11)).isoformat()},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            ).json()
        finally:
            for p in reversed(procs):
                p.terminate()
                try:
                    p.wait(60)  # a loaded machine's graceful stop can take longer than 10 s: wait, then make sure
                except subprocess.TimeoutExpired:
                    print(f"{p.args[-1]} did not stop within 60 s of SIGTERM: killed", file=sys.stderr)
                    p.kill()
                    p.wait(10)

    batch_rate = many["rate"] * args.batch_size
    print(
        f"machine: {os.cpu_count()} cores, load average {load:.1f} at the start and {load_end:.1f} at the end; "
        f"SQLite (WAL, synchronous=FULL) + redis-server; server: python -m console (gunicorn {args.worker_class}, workers:threads {args.web or 'default 2:64'}, reuse_port {args.reuse_port or 'default'}); client: wrk -t{args.threads}, "
        f"{args.seconds} s per phase, {args.devices} devices"
    )
    print()
    print("| measure | value | server CPU (both workers) | cores used; split between workers | errors |")
    print("| --- | --- | --- | --- | --- |")
    fix_cpu = many["cpu_ms_per_request"] / args.batch_size
    print(
        f"| trivial route `/healthz` (one Redis PING), {args.connections} connections | {floor['rate']:,.0f} req/s "
        f"(avg {floor['latency_avg']}, max {floor['latency_max']}) | {floor['cpu_ms_per_request']:.3f} ms per request "
        f"| {floor['cores']:.2f}; {floor['split']} | {floor['non2xx']} non-2xx {floor['errors']} |"
    )
    print(
        f"| `/osmand`, one fix per request, {args.connections} connections | {one['rate']:,.0f} fixes/s "
        f"({one['rate'] / floor['rate']:.0%} of the floor; avg {one['latency_avg']}, max {one['latency_max']}) "
        f"| {one['cpu_ms_per_request']:.3f} ms per fix | {one['cores']:.2f}; {one['split']} | {one['non2xx']} non-2xx {one['errors']} |"
    )
    print(
        f"| batch `POST /api/v1/positions`, {args.batch_size} per request, {args.batch_connections} connections "
        f"| {batch_rate:,.0f} fixes/s ({many['rate']:.1f} req/s; avg {many['latency_avg']}, max {many['latency_max']}) "
        f"| {fix_cpu * 1000:.1f} µs per fix | {many['cores']:.2f}; {many['split']} | {many['non2xx']} non-2xx {many['errors']} |"
    )
    print(f"\nworker 1: {len(stored)} positions stored over both phases (a check that the fixes were kept)")


if __name__ == "__main__":
    main()
