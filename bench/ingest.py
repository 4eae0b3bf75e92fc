"""Ingestion benchmark: positions/s through /osmand and the batch endpoint, and push latency.

Runs everything on this machine: a real redis-server, `python -m console` on a fresh SQLite file,
and python-socketio clients. Prints a Markdown table; nothing here asserts on time.

    .venv/bin/python bench/ingest.py [--positions 3000] [--threads 4]

Side by side in the same run: a bare Flask endpoint on the same WSGI server that parses nothing and
stores nothing (the HTTP floor), so the ratio shows what parsing + storing + publishing costs.
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
import socketio

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from realtime.redis_server import start_redis  # noqa: E402
from tests.support.servers import free_port, run_cli, wait_until  # noqa: E402

BARE_APP = """
import sys
from flask import Flask
app = Flask("bare")
@app.route("/osmand", methods=["GET", "POST"])
def osmand():
    return "", 200
app.run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True)
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def osmand_rate(url: str, devices: list[str], n: int, threads: int, t0: datetime) -> float:
    def send(chunk: range) -> None:
        s = requests.Session()
        for i in chunk:
            ts = int((t0 + timedelta(seconds=i)).timestamp())
            r = s.get(
                f"{url}/osmand",
                params={
                    "id": devices[i % len(devices)],
                    "lat": 43.73 + (i % 100) * 1e-4,
                    "lon": 7.42,
                    "timestamp": ts,
                    "speed": 5,
                    "accuracy": 6,
                    "batt": 80,
                },
            )
            r.raise_for_status()

    chunks = [range(k, n, threads) for k in range(threads)]
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, chunks))
    return n / (time.perf_counter() - start)


def batch_rate(url: str, token: str, devices: list[str], n: int, size: int, t0: datetime) -> float:
    s = requests.Session()
    start = time.perf_counter()
    for b in range(0, n, size):
        items = [
            {
                "id": devices[i % len(devices)],
                "lat": 43.73 + (i % 100) * 1e-4,
                "lon": 7.43,
                "timestamp": int((t0 + timedelta(seconds=i)).timestamp()),
                "speed": 5,
            }
            for i in range(b, min(n, b + size))
        ]
        r = s.post(f"{url}/api/v1/positions", json=items, headers={"Authorization": f"Bearer {token}"})
        r.raise_for_status()
        assert r.json()["accepted"] == len(items), r.json()
    return n / (time.perf_counter() - start)


def push_latency(url: str, token: str, devices: list[str], n: int, rate_hz: float) -> list[float]:
    """Request sent → update received by a connected socket client, in ms.

    Pings go round-robin over the workers so that coalescing (latest per worker per window) keeps
    every one of them; coalescing itself is what drops a worker's older fix inside one window.
    """
    received: dict[float, float] = {}
    q: queue.Queue = queue.Queue()
    client = socketio.Client(reconnection=False)

    def on_positions(payload: dict) -> None:
        now = time.perf_counter()
        for u in payload["updates"]:
            q.put((u["lat"], now))

    client.on("positions", on_positions)
    client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    sent: dict[float, float] = {}
    s = requests.Session()
    for i in range(n):
        lat = round(43.70 + i * 1e-5, 6)
        sent[lat] = time.perf_counter()
        s.get(
            f"{url}/osmand",
            params={
                "id": devices[i % len(devices)],
                "lat": lat,
                "lon": 7.41,
                "timestamp": datetime.now(UTC).isoformat(),
            },
        ).raise_for_status()
        time.sleep(1 / rate_hz)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(received) < n:
        try:
            lat, at = q.get(timeout=0.2)
            if lat in sent:  # updates of the earlier phases may still be in flight
                received.setdefault(lat, at)
        except queue.Empty:
            pass
    client.disconnect()
    missing = [i for i, lat in enumerate(sent) if lat not in received]
    if missing:
        print(f"missing updates at send indexes {missing[:20]}", file=sys.stderr)
    return [(received[lat] - sent[lat]) * 1000 for lat in sent if lat in received]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--positions", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--latency-samples", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        rport, port, bport = free_port(), free_port(), free_port()
        redis_proc = start_redis(rport, var / "redis")
        env = {
            **os.environ,
            "OUTFIELD_VAR": str(var),
            "DATABASE_URL": f"sqlite:///{var / 'bench.db'}",
            "REDIS_URL": f"redis://127.0.0.1:{rport}/0",
            "PORT": str(port),
            "SECRET_KEY": "bench",
        }
        procs = [redis_proc]
        try:
            run_cli("data", "migrate", env=env)
            token = run_cli("data", "create-user", "--role", "admin", "--name", "bench", env=env)
            devices = [f"bench-{i:03d}" for i in range(30)]
            for d in devices:
                run_cli("data", "add-worker", "--name", d, "--device-id", d, env=env)
            log = open(var / "console.log", "wb")
            procs.append(subprocess.Popen([sys.executable, "-m", "console"], env=env, cwd=REPO, stdout=log, stderr=log))
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", BARE_APP, str(bport)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            )
            url, bare = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{bport}"
            wait_until(lambda: requests.get(f"{url}/healthz", timeout=1).ok, 30, "console")
            wait_until(lambda: requests.get(f"{bare}/osmand", timeout=1).ok, 30, "bare flask")

            t0 = datetime.now(UTC) - timedelta(days=2)
            bare_rate = osmand_rate(bare, devices, args.positions, args.threads, t0)
            one_rate = osmand_rate(url, devices, args.positions, args.threads, t0)
            many_rate = batch_rate(url, token, devices, args.positions * 5, args.batch_size, t0 + timedelta(days=1))
            lat = push_latency(url, token, devices, args.latency_samples, rate_hz=20)
        finally:
            for p in reversed(procs):
                p.terminate()
                p.wait(10)

    print(f"machine: {os.cpu_count()} cores; SQLite (WAL, synchronous=FULL) + redis-server, one console process")
    print()
    print("| measure | value |")
    print("| --- | --- |")
    print(f"| bare Flask /osmand (HTTP floor, {args.threads} client threads) | {bare_rate:,.0f} req/s |")
    print(
        f"| Outfield /osmand, one position per request ({args.threads} client threads) | {one_rate:,.0f} positions/s ({one_rate / bare_rate:.0%} of the floor) |"
    )
    print(
        f"| Outfield batch endpoint, {args.batch_size} per request | {many_rate:,.0f} positions/s ({many_rate / one_rate:.1f}x one-per-request) |"
    )
    if lat:
        print(
            f"| push latency, request sent → socket client received (n={len(lat)}, 20 Hz) | p50 {statistics.median(lat):.0f} ms, p99 {percentile(lat, 0.99):.0f} ms, max {max(lat):.0f} ms |"
        )
    print(f"| updates lost in the latency run | {args.latency_samples - len(lat)} of {args.latency_samples} |")


if __name__ == "__main__":
    main()
