"""Live fan-out benchmark: N phones reporting through /osmand every 5 s, 10 consoles watching.

Everything real and local: a redis-server, the console as `bench/ingest.py::start_server` starts it
(its relay forwards in batches of `OUTFIELD_LIVE_BATCH_MS`, 50 ms by default), `--workers` registered phones, sender processes pacing one
fix per phone every `--period` seconds over keep-alive HTTP connections, and 10 python-socketio
clients logged in (in their own process). Each fix is known by (worker, fix time); the latency is
its request being sent → its update arriving at a console (wall clock, one machine). Prints, per
fleet size: p50/p99/max over every (fix, console) pair, fixes lost (never reached a console within
10 s after the run), the longest gap between two batches at a console (a stall), and how far the
senders fell behind their schedule (they share the 2 cores with the server). Nothing asserts on time.

    .venv/bin/python bench/live_fanout.py [--workers 2000 5000] [--seconds 30] [--consoles 10]
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import socketio

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from ingest import start_server  # noqa: E402

from realtime.redis_server import start_redis  # noqa: E402
from tests.support.consent import consent_everyone  # noqa: E402
from tests.support.servers import free_port, run_cli, wait_until  # noqa: E402

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def consoles(url: str, token: str, numbers: list[int], ready: Any, stop: Any, out: Any) -> None:
    """Socket clients numbered `numbers`; at the end sends [(console, worker_id, fix_time, received_at)] and the
    longest gap at each of them."""
    received: list[tuple[int, int, str, float]] = []
    gaps = dict.fromkeys(numbers, 0.0)
    last = dict.fromkeys(numbers, 0.0)
    lock = threading.Lock()
    clients = []
    for c in numbers:
        client = socketio.Client(reconnection=False)

        def on_positions(payload: dict, c: int = c) -> None:
            now = time.time()
            with lock:
                if last[c]:
                    gaps[c] = max(gaps[c], now - last[c])
                last[c] = now
                received.extend((c, u["worker_id"], u["fix_time"], now) for u in payload["updates"])

        client.on("positions", on_positions)
        client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
        clients.append(client)
    ready.set()
    stop.wait()
    for client in clients:
        client.disconnect()
    out.put((received, list(gaps.values())))


def sender(url: str, devices: list[tuple[str, int]], period_s: float, start: float, end: float, out: Any) -> None:
    """Each device sends one fix every `period_s`, spread evenly over the period, until `end`."""
    host, port = url.removeprefix("http://").split(":")
    sent: list[tuple[int, str, float, float]] = []  # (worker_id, fix_time, sent_at, scheduled)
    failed: list[int] = []
    lock = threading.Lock()
    threads = 16

    def run(part: list[tuple[int, tuple[str, int]]]) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        k = 0
        while True:
            for slot, (device, worker_id) in part:
                due = start + k * period_s + slot * period_s / len(devices)
                if due >= end:
                    return
                pause = due - time.time()
                if pause > 0:
                    time.sleep(pause)
                now = time.time()
                ms = int(now * 1000)
                conn.request("GET", f"/osmand?id={device}&lat=43.7384&lon=7.4246&timestamp={ms}")
                response = conn.getresponse()
                response.read()
                fix_time = (EPOCH + timedelta(milliseconds=ms)).isoformat()  # as the server reads it
                with lock:
                    if response.status == 200:
                        sent.append((worker_id, fix_time, now, due))
                    else:
                        failed.append(response.status)
            k += 1

    slots = list(enumerate(devices))
    pool = [threading.Thread(target=run, args=(slots[i::threads],)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if failed:
        print(f"sender: {len(failed)} requests not answered 200: {sorted(set(failed))}", file=sys.stderr)
    out.put(sent)


def run_fleet(url: str, token: str, devices: list[tuple[str, int]], args: argparse.Namespace) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    stop, out = ctx.Event(), ctx.Queue()
    # Each wall screen is a browser of its own; consoles share a process only when asked (--console-processes):
    # ten python-socketio clients in one process were its GIL's limit at 5,000 workers (10,000 updates/s).
    groups = [list(range(args.consoles))[i :: args.console_processes] for i in range(args.console_processes)]
    watchers = []
    for numbers in groups:
        ready = ctx.Event()
        watcher = ctx.Process(target=consoles, args=(url, token, numbers, ready, stop, out))
        watcher.start()
        ready.wait(60)
        watchers.append(watcher)
    load = os.getloadavg()[0]
    start = time.time() + 1.0
    end = start + args.seconds
    sent_q = ctx.Queue()
    senders = [
        ctx.Process(target=sender, args=(url, devices[i :: args.senders], args.period, start, end, sent_q))
        for i in range(args.senders)
    ]
    for p in senders:
        p.start()
    sent = [row for _ in senders for row in sent_q.get()]
    for p in senders:
        p.join()
    time.sleep(10)  # the last fixes' updates: anything later than this counts as lost
    stop.set()
    received, gaps = [], []
    for _ in watchers:
        part, part_gaps = out.get()
        received += part
        gaps += part_gaps
    for watcher in watchers:
        watcher.join()
    arrived: dict[tuple[int, int, str], float] = {}
    for console, worker_id, fix_time, at in received:
        arrived.setdefault((console, worker_id, fix_time), at)
    latencies, lost = [], 0
    for worker_id, fix_time, sent_at, _due in sent:
        for console in range(args.consoles):
            at = arrived.get((console, worker_id, fix_time))
            if at is None:
                lost += 1
            else:
                latencies.append((at - sent_at) * 1000)
    behind = [(sent_at - due) * 1000 for _, _, sent_at, due in sent]
    return {
        "workers": len(devices),
        "fixes": len(sent),
        "rate": len(sent) / max(1e-9, max(r[2] for r in sent) - min(r[2] for r in sent)) if sent else 0.0,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p99": percentile(latencies, 0.99) if latencies else float("nan"),
        "max": max(latencies) if latencies else float("nan"),
        "lost": lost,
        "pairs": len(sent) * args.consoles,
        "gap": max(gaps),
        "behind_p99": percentile(behind, 0.99) if behind else 0.0,
        "load": load,
        "load_end": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, nargs="+", default=[2000, 5000])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--period", type=float, default=5.0, help="seconds between one phone's fixes")
    parser.add_argument("--consoles", type=int, default=10)
    parser.add_argument(
        "--console-processes", type=int, default=0, help="processes the consoles are spread over (default: one each)"
    )
    parser.add_argument("--web", default="", help="WORKERS:THREADS of the server (default: its settings' defaults)")
    parser.add_argument("--senders", type=int, default=2, help="sender processes (16 threads each)")
    args = parser.parse_args()
    args.console_processes = args.console_processes or args.consoles
    rows = []
    for n in args.workers:
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
            }
            procs = [redis_proc]
            try:
                run_cli("data", "migrate", env=env)
                token = run_cli("data", "create-user", "--role", "admin", "--name", "bench", env=env)
                csv = var / "workers.csv"
                csv.write_text(
                    "name,device_id,skills,team,home_lat,home_lon,shift_days,shift_start,shift_end\n"
                    + "".join(
                        f"W{i},fan-{i:05d},gas,B,43.73,7.42,Mon;Tue;Wed;Thu;Fri;Sat;Sun,00:00,23:59\n" for i in range(n)
                    )
                )
                run_cli("data", "import-csv", "workers", str(csv), env=env)
                consent_everyone(env["DATABASE_URL"])  # consent is required: their fixes are kept
                procs.append(start_server(env, var / "console.log", args.web))
                url = f"http://127.0.0.1:{port}"
                wait_until(lambda url=url: requests.get(f"{url}/healthz", timeout=1).ok, 60, "console")
                workers = requests.get(
                    f"{url}/api/v1/workers", headers={"Authorization": f"Bearer {token}"}, timeout=30
                ).json()
                devices = sorted((w["device_id"], w["id"]) for w in workers)
                rows.append(run_fleet(url, token, devices, args))
            finally:
                for p in reversed(procs):
                    p.terminate()
                    p.wait(10)
    print(
        f"machine: {os.cpu_count()} cores; server: python -m console, workers:threads {args.web or 'default 2:64'} (SQLite WAL synchronous=FULL, redis-server, "
        f"relay window {os.environ.get('OUTFIELD_LIVE_BATCH_MS', '50')} ms); {args.consoles} socket consoles in {args.console_processes} processes; one fix per worker every {args.period:g} s for "
        f"{args.seconds:g} s; senders: {args.senders} processes x 16 threads"
    )
    print()
    print("| workers | fixes/s | fix → console p50 / p99 / max | lost (fix × console) | longest gap between batches "
          "| senders behind schedule p99 | load average start → end |")  # fmt: skip
    print("| ---: | ---: | --- | --- | ---: | ---: | --- |")
    for r in rows:
        print(
            f"| {r['workers']:,} | {r['rate']:,.0f} | {r['p50']:.0f} / {r['p99']:.0f} / {r['max']:.0f} ms "
            f"| {r['lost']} of {r['pairs']:,} | {r['gap'] * 1000:.0f} ms | {r['behind_p99']:.0f} ms "
            f"| {r['load']:.1f} → {r['load_end']:.1f} |"
        )


if __name__ == "__main__":
    main()
