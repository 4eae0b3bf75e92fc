"""Live fan-out benchmark: N phones reporting through /osmand every 5 s, 10 consoles watching.

Everything real and local: a redis-server, the console as `bench/ingest.py::start_server` starts it
(its relay forwards in batches of `OUTFIELD_LIVE_BATCH_MS`, 50 ms by default), `--workers` registered phones, sender
processes pacing one fix per phone every `--period` seconds over keep-alive HTTP connections (`--sender-threads` each,
starting together once all are up), and 10 python-socketio clients logged in (each in a process of its own, as each
wall screen is a browser of its own; they read frames and JSON in C, as a browser does). Each fix is known by
(worker, fix time); the latency is its request being sent → its update arriving at a console (wall clock, one
machine). Prints, per fleet size: p50/p99/max over every (fix, console) pair, fixes lost (never reached a console
within 10 s after the run), the longest gap between two batches at a console (a stall), how far the senders fell
behind their schedule (they share the 2 cores with the server); then each stage of a fix's way by the stamps it
carries (send → the server's `server_ms` → the relay's `sent_ms` → the console; and send → the answer, after the
commit) and the CPU seconds of the server's processes, redis, the senders and the consoles while the fixes came.
`--direct` measures the fan-out alone: the fixes are handed to the bus as the pipeline hands stored ones, no HTTP.
Nothing asserts on time.

    .venv/bin/python bench/live_fanout.py [--workers 2000 5000] [--seconds 30] [--consoles 10] [--direct]
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
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import socketio

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from ingest import cpu_seconds, start_server  # noqa: E402

from realtime.redis_server import start_redis  # noqa: E402
from realtime.sockets import SocketJson  # noqa: E402
from tests.support.consent import consent_everyone  # noqa: E402
from tests.support.servers import free_port, run_cli, wait_until  # noqa: E402

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def consoles(url: str, token: str, numbers: list[int], ready: Any, stop: Any, out: Any) -> None:
    """Socket clients numbered `numbers`; at the end sends [(console, worker_id, fix_time, received_at, relay_ms,
    server_ms)], the longest gap at each of them and the CPU seconds this process used while the fixes came."""
    received: list[tuple[int, int, str, float, int, int]] = []
    gaps = dict.fromkeys(numbers, 0.0)
    last = dict.fromkeys(numbers, 0.0)
    lock = threading.Lock()
    clients = []
    for c in numbers:
        # What a browser does natively, in C here too: websocket-client checks each text frame's UTF-8 in a Python loop
        # over its bytes (2.5 ms per 10 kB window of 50 fixes, half a core for ten consoles at 5,000 workers on this
        # host, taken from the server it measures) before decoding it with `bytes.decode`, which checks it again;
        # and the JSON is read by orjson (`SocketJson`, the server's), as a browser's `JSON.parse` would.
        client = socketio.Client(
            reconnection=False, json=SocketJson, websocket_extra_options={"skip_utf8_validation": True}
        )

        def on_positions(payload: dict[str, Any], c: int = c) -> None:
            now = time.time()
            with lock:
                if last[c]:
                    gaps[c] = max(gaps[c], now - last[c])
                last[c] = now
                relay_ms = payload["sent_ms"]
                received.extend(
                    (c, u["worker_id"], u["fix_time"], now, relay_ms, u["server_ms"]) for u in payload["updates"]
                )

        client.on("positions", on_positions)
        client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
        clients.append(client)
    ready.set()
    cpu_s = time.process_time()
    stop.wait()
    cpu_s = time.process_time() - cpu_s
    for client in clients:
        client.disconnect()
    out.put((received, list(gaps.values()), cpu_s))


def begin(gate: tuple[Any, Any, Any], seconds: float) -> tuple[float, float]:
    """A sender's (start, end): it says it is ready (spawned, imported) and waits for the common start, so no sender
    begins behind its schedule by its own start-up."""
    ready, go, start_at = gate
    ready.release()
    go.wait()
    return start_at.value, start_at.value + seconds


def sender(
    url: str, devices: list[tuple[str, int]], period_s: float, gate: Any, seconds: float, threads: int, out: Any
) -> None:
    """Each device sends one fix every `period_s`, spread evenly over the period, until `end`, from `threads`
    keep-alive connections, each waiting for its answer before its next request (a phone waits for its own)."""
    host, port = url.removeprefix("http://").split(":")
    sent: list[tuple[int, str, float, float, float]] = []  # (worker_id, fix_time, sent_at, scheduled, answered_at)
    failed: list[int] = []
    lock = threading.Lock()
    start, end = begin(gate, seconds)

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
                answered = time.time()
                fix_time = (EPOCH + timedelta(milliseconds=ms)).isoformat()  # as the server reads it
                with lock:
                    if response.status == 200:
                        sent.append((worker_id, fix_time, now, due, answered))
                    else:
                        failed.append(response.status)
            k += 1

    cpu_s = time.process_time()
    slots = list(enumerate(devices))
    pool = [threading.Thread(target=run, args=(slots[i::threads],)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if failed:
        print(f"sender: {len(failed)} requests not answered 200: {sorted(set(failed))}", file=sys.stderr)
    out.put((sent, time.process_time() - cpu_s))


def bus_sender(
    redis_url: str, devices: list[tuple[str, int]], period_s: float, gate: Any, seconds: float, out: Any
) -> None:
    """`--direct`: the fan-out alone. Each device's fix is published on the bus as the pipeline publishes a stored one
    (`live_messages`, through `Bus.publish_many` every 10 ms: the publisher's own coalescing), on the same schedule as
    `sender`, so the relay, the socket fan-out and the consoles get the load of `--workers` phones with no ingestion
    beside them. The fix is "sent" when it is handed to the bus."""
    from dispatch.positions import Position
    from realtime.bus import POSITIONS, Bus
    from realtime.pipeline import live_messages

    bus = Bus(redis_url)
    sent: list[tuple[int, str, float, float, float]] = []
    start, end = begin(gate, seconds)
    cpu_s = time.process_time()
    n, slot, tick = len(devices), 0, 0.01
    while True:
        due = start + (slot // n) * period_s + (slot % n) * period_s / n
        if due >= end:
            break
        pause = due - time.time()
        if pause > 0:
            time.sleep(max(pause, tick))
        now = time.time()
        ms = int(now * 1000)
        at = EPOCH + timedelta(milliseconds=ms)
        positions = []
        while due <= now and due < end:
            device, worker_id = devices[slot % n]
            positions.append(Position(worker_id, device, at, at, at, 43.7384, 7.4246))
            sent.append((worker_id, at.isoformat(), now, due, now))
            slot += 1
            due = start + (slot // n) * period_s + (slot % n) * period_s / n
        bus.publish_many(POSITIONS, live_messages(positions))
    out.put((sent, time.process_time() - cpu_s))


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds process `pid` used so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stage(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.0f} / {percentile(values, 0.99):.0f}" if values else "-"


def run_fleet(
    url: str,
    token: str,
    devices: list[tuple[str, int]],
    args: argparse.Namespace,
    server_pid: int,
    redis_pid: int,
    redis_url: str,
) -> dict[str, Any]:
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
    sent_q = ctx.Queue()
    gate = (ctx.Semaphore(0), ctx.Event(), ctx.Value("d", 0.0))
    if args.direct:  # one publisher, as one web process's bus would be
        senders = [ctx.Process(target=bus_sender, args=(redis_url, devices, args.period, gate, args.seconds, sent_q))]
    else:
        senders = [
            ctx.Process(
                target=sender,
                args=(url, devices[i :: args.senders], args.period, gate, args.seconds, args.sender_threads, sent_q),
            )
            for i in range(args.senders)
        ]
    for p in senders:
        p.start()
    for _ in senders:
        gate[0].acquire(timeout=120)
    load = os.getloadavg()[0]
    server_cpu, redis_cpu = cpu_seconds(server_pid), proc_cpu_s(redis_pid)
    gate[2].value = time.time() + 0.5
    gate[1].set()
    sent, sender_cpu = [], 0.0
    for _ in senders:
        part_sent, part_cpu = sent_q.get()
        sent += part_sent
        sender_cpu += part_cpu
    for p in senders:
        p.join()
    time.sleep(10)  # the last fixes' updates: anything later than this counts as lost
    stop.set()
    server_after, redis_cpu = cpu_seconds(server_pid), proc_cpu_s(redis_pid) - redis_cpu
    received, gaps, console_cpu = [], [], 0.0
    for _ in watchers:
        part, part_gaps, part_cpu = out.get()
        received += part
        gaps += part_gaps
        console_cpu += part_cpu
    for watcher in watchers:
        watcher.join()
    arrived: dict[tuple[int, int, str], tuple[float, int, int]] = {}
    for console, worker_id, fix_time, at, relay_ms, server_ms in received:
        arrived.setdefault((console, worker_id, fix_time), (at, relay_ms, server_ms))
    latencies, lost = [], 0
    to_server, to_relay, to_console = [], [], []  # the stages of a fix's way, ms (one clock: one machine)
    for worker_id, fix_time, sent_at, _due, _answered in sent:
        for console in range(args.consoles):
            got = arrived.get((console, worker_id, fix_time))
            if got is None:
                lost += 1
                continue
            at, relay_ms, server_ms = got
            latencies.append((at - sent_at) * 1000)
            to_console.append(at * 1000 - relay_ms)
            if console == 0:
                to_server.append(server_ms - int(sent_at * 1000))
                to_relay.append(relay_ms - server_ms)
    behind = [(sent_at - due) * 1000 for _, _, sent_at, due, _ in sent]
    answer = [(answered - sent_at) * 1000 for _, _, sent_at, _, answered in sent]
    # Server CPU per process (the gunicorn master, then its workers: one of them runs the relay).
    server_cpu_s = sorted(
        (server_after.get(pid, 0.0) - server_cpu.get(pid, 0.0) for pid in server_after if pid != server_pid),
        reverse=True,
    )
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
        "to_server": stage(to_server),
        "answer": stage(answer),
        "to_relay": stage(to_relay),
        "to_console": stage(to_console),
        "cpu": {
            "server per fix": f"{sum(server_cpu_s) * 1000 / max(1, len(sent)):.2f} ms",
            "web workers": " + ".join(f"{c:.1f}" for c in server_cpu_s),
            "redis": f"{redis_cpu:.1f}",
            "senders": f"{sender_cpu:.1f}",
            "consoles": f"{console_cpu:.1f}",
        },
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
    parser.add_argument("--senders", type=int, default=2, help="sender processes")
    parser.add_argument(
        "--direct",
        action="store_true",
        help="the fan-out alone: fixes published on the bus as the pipeline publishes them, no HTTP ingestion",
    )
    parser.add_argument(
        "--sender-threads",
        type=int,
        default=64,
        help="connections (threads) per sender process; each waits for its answer, which comes after the commit: "
        "16 (before the tenth session) sent at most 32 / answer time, ~760 fixes/s at 42 ms, under the 1,000/s wanted",
    )
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
                rows.append(run_fleet(url, token, devices, args, procs[-1].pid, redis_proc.pid, env["REDIS_URL"]))
            finally:
                for p in reversed(procs):
                    p.terminate()
                    p.wait(10)
    print(
        f"machine: {os.cpu_count()} cores; server: python -m console, workers:threads {args.web or 'default 2:64'} (SQLite WAL synchronous=FULL, redis-server, "
        f"relay window {os.environ.get('OUTFIELD_LIVE_BATCH_MS', '50')} ms); {args.consoles} socket consoles in {args.console_processes} processes; one fix per worker every {args.period:g} s for "
        f"{args.seconds:g} s; senders: {'none, fixes published on the bus (--direct)' if args.direct else f'{args.senders} processes x {args.sender_threads} threads'}"
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
    print()
    print("Where the time goes, p50 / p99 ms (send → request decided at the server → relay emits its window → console "
          "has it; the request's answer, after its commit, beside), and CPU seconds used while the fixes came:")  # fmt: skip
    print()
    print("| workers | send → server | server → relay emit | relay emit → console | send → answer | CPU s |")
    print("| ---: | --- | --- | --- | --- | --- |")
    for r in rows:
        cpu = "; ".join(f"{k} {v}" for k, v in r["cpu"].items())
        print(f"| {r['workers']:,} | {r['to_server']} | {r['to_relay']} | {r['to_console']} | {r['answer']} | {cpu} |")


if __name__ == "__main__":
    main()
