"""Ingestion benchmark: the trivial-route floor, /osmand one fix per request and the batch endpoint, side by side.

One run, one server configuration: a real redis-server, the console as `start_server` starts it
(`python -m console`: gunicorn with gthread workers; repoint that one function if that changes) on a fresh SQLite
file (WAL, synchronous=FULL), `--devices` registered phones, and Debian's `wrk` as the load
generator (C, event-driven, Lua scripts making every request a new fix: its own device and time).
wrk runs on the same 2 cores as the server, so its CPU is taken from the server's; the figures are
a lower bound. Prints a Markdown table with the load average; nothing here asserts on time.

    .venv/bin/python bench/ingest.py [--seconds 10] [--connections 32] [--devices 1000] [--batch-size 500]
        [--batch-connections 4] [--batch-shape mixed|backlog] [--strace FILE]

Batch shapes: `mixed` (the default) sends in each request fixes of 500 different phones; `backlog` is what the batch
endpoint is for in the field, a phone uploading its own offline backlog (500 consecutive fixes 5 s apart, every
request a new phone or a later stretch of time). After the batch phase the bench counts the rows stored against the
fixes sent.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import sqlite3
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

# Both batch shapes count the requests wrk made (`done` prints them): the fixes sent, against the rows stored.
_SENT_LUA = """
local all_threads = {}
function setup(thread)
  thread:set("offset", #all_threads); all_threads[#all_threads + 1] = thread
end
function done(summary, latency, requests)
  local made = 0
  for _, t in ipairs(all_threads) do made = made + t:get("made") end
  io.write(string.format("requests made: %d\\n", made))
end
"""

# Shape "mixed": request n holds fixes k = n*size .. n*size+size-1, fix k from device k mod devices at t0 + 10 k ms:
# every request 500 different phones (the bench's first shape; a relay or a gateway forwarding many phones).
BATCH_LUA = (
    _SENT_LUA
    + """
local n, step = 0, 1
local devices = tonumber(os.getenv("BENCH_DEVICES"))
local t0 = tonumber(os.getenv("BENCH_T0"))
local size = tonumber(os.getenv("BENCH_BATCH"))
made = 0
function init(args) n = offset * size; step = tonumber(os.getenv("BENCH_THREADS")) * size end
function request()
  local items = {}
  for i = 0, size - 1 do
    local k = n + i
    items[#items + 1] = string.format('{"id":"bench-%05d","lat":%.6f,"lon":7.43,"timestamp":%.0f,"speed":5}',
                                      k % devices, 43.73 + (k % 100) * 1e-4, t0 + k * 10)
  end
  n = n + step
  made = made + 1
  return wrk.format("POST", "/api/v1/positions", {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")}, "[" .. table.concat(items, ",") .. "]")
end
"""
)

BACKLOG_STEP_MS = 5000
"""Shape "backlog": a phone's offline backlog, one fix every 5 s."""

# Shape "backlog": what the batch endpoint is for in the field, a phone uploading its own offline backlog. Request
# r (unique over wrk's threads) is device r mod devices's stretch r div devices: `size` consecutive fixes 5 s apart,
# walking north ~1 m a fix, stretch s starting at t0 + s * size * 5 s. Every fix new: no resend, no fix twice.
BACKLOG_LUA = (
    _SENT_LUA
    + """
local r, step = 0, 1
local devices = tonumber(os.getenv("BENCH_DEVICES"))
local t0 = tonumber(os.getenv("BENCH_T0"))
local size = tonumber(os.getenv("BENCH_BATCH"))
local dt = tonumber(os.getenv("BENCH_STEP_MS"))
made = 0
function init(args) r = offset; step = tonumber(os.getenv("BENCH_THREADS")) end
function request()
  local device, stretch = r % devices, math.floor(r / devices)
  local start = t0 + stretch * size * dt
  local items = {}
  for i = 0, size - 1 do
    items[#items + 1] = string.format('{"id":"bench-%05d","lat":%.6f,"lon":%.6f,"timestamp":%.0f,"speed":1.2}',
                                      device, 43.70 + (stretch * size + i) * 1e-5, 7.40 + device * 1e-5,
                                      start + i * dt)
  end
  r = r + step
  made = made + 1
  return wrk.format("POST", "/api/v1/positions", {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")}, "[" .. table.concat(items, ",") .. "]")
end
"""
)

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


def system_seconds(root: int) -> float:
    """System (kernel) CPU seconds used so far by the gunicorn workers: syscalls, context switches, the network."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in Path(f"/proc/{root}/task/{root}/children").read_text().split():
        try:
            total += int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[12]) / tick
        except FileNotFoundError:
            continue
    return total


def context_switches(root: int) -> tuple[int, int]:
    """Voluntary and involuntary context switches so far of the gunicorn workers' threads (all of them: the event
    loop, the request threads, the committer, the evaluator, the publisher, the relay).

    A voluntary switch is a thread that blocked: on a lock or a queue (the hand-off of a request from one thread to
    another), on the GIL, or on I/O; how many a fix costs says how often its work changed threads.
    """
    voluntary = involuntary = 0
    for pid in Path(f"/proc/{root}/task/{root}/children").read_text().split():
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                status = (task / "status").read_text()
            except (FileNotFoundError, ProcessLookupError):
                continue  # a thread that ended meanwhile
            for line in status.splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    voluntary += int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt_switches:"):
                    involuntary += int(line.split()[1])
    return voluntary, involuntary


def settled_rows(db: Path) -> int:
    """The positions table's row count once it stopped growing (the server's last commits landed)."""

    def count() -> int:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
            return int(conn.execute("SELECT count(*) FROM positions").fetchone()[0])

    last = count()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.5)  # polled: the count is observed, not waited for
        now = count()
        if now == last:
            return now
        last = now
    return last


def strace_workers(root: int, out: Path) -> subprocess.Popen[bytes]:
    """strace the gunicorn workers' (and their threads') pwrite64 and fdatasync calls, file paths shown."""
    pids = Path(f"/proc/{root}/task/{root}/children").read_text().split()
    cmd = ["strace", "-f", "-y", "-qq", "-e", "trace=pwrite64,fdatasync", "-o", str(out)]
    for pid in pids:
        cmd += ["-p", pid]
    tracer = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)  # strace attaches in well under a second; nothing to observe from here
    return tracer


def wal_bytes(trace: Path) -> dict[str, int]:
    """Bytes pwrite64 wrote per file in an strace log, plus the fdatasync count, by file name's last part."""
    totals: dict[str, int] = {}
    for line in trace.read_text().splitlines():
        if m := re.search(r"pwrite64\(\d+<([^>]*)>, .*\) = (\d+)$", line):
            name = Path(m.group(1)).name
            totals[name] = totals.get(name, 0) + int(m.group(2))
        elif m := re.search(r"fdatasync\(\d+<([^>]*)>\)", line):
            key = "fdatasync calls on " + Path(m.group(1)).name
            totals[key] = totals.get(key, 0) + 1
    return totals


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
    switches_before = context_switches(server_pid) if server_pid else (0, 0)
    system_before = system_seconds(server_pid) if server_pid else 0.0
    client_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", f.name, url],
            env={**env, "BENCH_THREADS": str(threads)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        # wrk's own CPU (it has ended and been waited for): what the load generator took of the same 2 cores.
        client_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        os.unlink(f.name)
        if profiler is not None:
            profiler.wait(seconds + 30)
    cpu_after = cpu_seconds(server_pid) if server_pid else {}
    switches_after = context_switches(server_pid) if server_pid else (0, 0)
    system_after = system_seconds(server_pid) if server_pid else 0.0
    per_process = {pid: spent - cpu_before.get(pid, 0.0) for pid, spent in cpu_after.items() if pid != server_pid}
    cpu = sum(cpu_after.values()) - sum(cpu_before.values())
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests_done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    latency = re.search(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", out)
    made = re.search(r"requests made: (\d+)", out)
    return {
        "rate": rate,
        "requests": requests_done,
        "made": int(made.group(1)) if made else requests_done,  # made: sent, answered or not when wrk stopped
        "non2xx": int(bad.group(1)) if bad else 0,
        "errors": errors.group(0) if errors else "",
        "latency_avg": latency.group(1) if latency else "?",
        "latency_max": latency.group(3) if latency else "?",
        "cpu_ms_per_request": 1000 * cpu / max(requests_done, 1),
        "system_ms_per_request": 1000 * (system_after - system_before) / max(requests_done, 1),
        # Each worker's share of the phase's CPU, busiest first (a 50/50 split: both cores could be used).
        "split": "/".join(f"{spent / max(cpu, 1e-9):.0%}" for spent in sorted(per_process.values(), reverse=True)),
        "cores": cpu / seconds,
        # The server's context switches per request: voluntary (a thread blocked), involuntary (preempted).
        "switches": "/".join(
            f"{(after - before) / max(requests_done, 1):.1f}"
            for before, after in zip(switches_before, switches_after, strict=True)
        ),
        "client_cpu_s": (client_after.ru_utime + client_after.ru_stime)
        - (client_before.ru_utime + client_before.ru_stime),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--batch-connections", type=int, default=4)
    parser.add_argument(
        "--batch-shape",
        default="mixed",
        choices=("mixed", "backlog"),
        help="mixed: each request fixes of --batch-size different phones; backlog: each request one phone's own "
        "consecutive fixes 5 s apart (its offline backlog), every request a new phone or a later stretch",
    )
    parser.add_argument(
        "--strace",
        help="file: strace the server's pwrite64/fdatasync during the batch phase, print the bytes written per stored "
        "row to the WAL and the database (strace slows the server: its rate is not the bench's)",
    )
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
    parser.add_argument("--no-batch", action="store_true", help="skip the batch phase (the floor and `/osmand` only)")
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
            db = var / "bench.db"
            rows_warm = settled_rows(db)
            load = os.getloadavg()[0]
            floor = run_wrk(url, FLOOR_LUA, wrk_env, connections=args.connections, spy=spy("floor"), **common)
            one = run_wrk(
                url, OSMAND_LUA, {**wrk_env, "BENCH_T0": str(int(t0.timestamp() * 1000))},
                connections=args.connections, spy=spy("osmand"), **common,
            )  # fmt: skip
            rows_before = settled_rows(db)  # the /osmand phase's last commits landed
            rows_osmand = rows_before - rows_warm
            # Batch fix times from 01:00 a day ago: the backlog's stretches (42 min each at 500 fixes) stay before
            # the warm-up's 11:30 for 14 stretches per device, far more than a run sends (checked below).
            batch_t0_ms = int((t0 - timedelta(hours=11)).timestamp() * 1000)
            tracer = strace_workers(procs[-1].pid, Path(args.strace)) if args.strace and not args.no_batch else None
            try:
                many = None if args.no_batch else run_wrk(
                    url, BATCH_LUA if args.batch_shape == "mixed" else BACKLOG_LUA,
                    {**wrk_env, "BENCH_T0": str(batch_t0_ms), "BENCH_STEP_MS": str(BACKLOG_STEP_MS)},
                    connections=args.batch_connections, spy=spy("batch"), **common,
                )  # fmt: skip
            finally:
                if tracer is not None:
                    tracer.terminate()
                    tracer.wait(60)
            rows_batch = settled_rows(db) - rows_before
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

    print(
        f"machine: {os.cpu_count()} cores, load average {load:.1f} at the start and {load_end:.1f} at the end; "
        f"SQLite (WAL, synchronous=FULL) + redis-server; server: python -m console (gunicorn {args.worker_class}, workers:threads {args.web or 'default 2:64'}, reuse_port {args.reuse_port or 'default'}); client: wrk -t{args.threads}, "
        f"{args.seconds} s per phase, {args.devices} devices"
    )
    print()
    print(
        "| measure | value | server CPU (both workers) | context switches per request (voluntary/involuntary) "
        "| cores used; split between workers | errors |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    print(
        f"| trivial route `/healthz` (one Redis PING), {args.connections} connections | {floor['rate']:,.0f} req/s "
        f"(avg {floor['latency_avg']}, max {floor['latency_max']}) | {floor['cpu_ms_per_request']:.3f} ms per request "
        f"(system {floor['system_ms_per_request']:.3f}) "
        f"| {floor['switches']} | {floor['cores']:.2f}; {floor['split']} | {floor['non2xx']} non-2xx {floor['errors']} |"
    )
    print(
        f"| `/osmand`, one fix per request, {args.connections} connections | {one['rate']:,.0f} fixes/s "
        f"({one['rate'] / floor['rate']:.0%} of the floor; avg {one['latency_avg']}, max {one['latency_max']}) "
        f"| {one['cpu_ms_per_request']:.3f} ms per fix (system {one['system_ms_per_request']:.3f}) | {one['switches']} | {one['cores']:.2f}; {one['split']} "
        f"| {one['non2xx']} non-2xx {one['errors']} |"
    )
    if many is not None:
        batch_rate = many["rate"] * args.batch_size
        fix_cpu = many["cpu_ms_per_request"] / args.batch_size
        print(
            f"| batch `POST /api/v1/positions` ({args.batch_shape}), {args.batch_size} per request, "
            f"{args.batch_connections} connections "
            f"| {batch_rate:,.0f} fixes/s ({many['rate']:.1f} req/s; avg {many['latency_avg']}, max {many['latency_max']}) "
            f"| {fix_cpu * 1000:.1f} µs per fix | {many['switches']} per request | {many['cores']:.2f}; {many['split']} "
            f"| {many['non2xx']} non-2xx {many['errors']} |"
        )
    print(f"\nworker 1: {len(stored)} positions stored over the phases (a check that the fixes were kept)")
    answered_one = one["requests"] - one["non2xx"]
    print(
        f"`/osmand` phase: {rows_osmand:,} rows stored; {answered_one:,} fixes answered 2xx — "
        + ("every answered fix stored" if answered_one <= rows_osmand else "**ROWS MISSING**")
    )
    print(
        f"\nthe load generator's own CPU (wrk, same 2 cores): /osmand {one['client_cpu_s'] * 1000 / max(one['requests'], 1):.3f} ms per fix"
        + (
            ""
            if many is None
            else f", batch phase {many['client_cpu_s'] * 1e6 / max(many['requests'] * args.batch_size, 1):.1f} µs "
            f"per answered fix ({many['client_cpu_s'] / args.seconds:.2f} cores)"
        )
    )
    if many is None:
        return
    answered, made = many["requests"] * args.batch_size, many["made"] * args.batch_size
    print(
        f"batch phase ({args.batch_shape}): {rows_batch:,} rows stored; {answered:,} fixes answered, {made:,} sent "
        f"(sent and not answered: in flight when wrk stopped) — "
        + ("every answered fix stored" if answered <= rows_batch <= made else "**ROWS MISSING OR EXTRA**")
    )
    if args.batch_shape == "backlog" and many["made"] > 14 * args.devices:
        print("**backlog stretches ran past 11:00 into the warm-up's and /osmand's fix times: raise --devices**")
    if args.strace:
        written = wal_bytes(Path(args.strace))
        print(
            "batch phase's pwrite64 per stored row (strace): "
            + ", ".join(
                f"{name}: {size / max(rows_batch, 1):,.0f} B"
                if not name.startswith("fdatasync")
                else f"{name}: {size:,} ({rows_batch / max(size, 1):,.0f} rows per call)"
                for name, size in written.items()
            )
        )


if __name__ == "__main__":
    main()
