"""Live map in the browser: how soon a ping moves its marker on the wall screen, and what it costs the page.

Everything real and local, once per batch window: redis-server, `python -m console` on a fresh SQLite
file seeded with the demo (30 workers, 120 orders, so the page has its full layout), the demo
dispatcher logged in on a headless Debian chromium (Playwright), the other 29 workers reporting in
the background, and one probe worker pinging `/osmand` one fix at a time. For each probe ping:

- emit → marker moved: the relay's `sent_ms` stamp on the batch that carried it, to the moment the
  marker's SVG path changed in the page (a MutationObserver);
- ping → marker moved: the `/osmand` request sent, to the same moment (this includes the wait for the
  batch window);
- the page's main-thread CPU time over the run (CDP `Performance.getMetrics` TaskDuration in thread
  ticks), as a share of the run and divided by the batches emitted (an upper bound of one batch's cost:
  it includes everything else the page did).

The next probe ping is sent only once the previous one is on the map, after a random pause, so every
move is matched with its ping; a ping not on the map within 15 s counts as missed. Nothing here
asserts on time.

    .venv/bin/python bench/live_map.py [--windows 500,100] [--samples 40] [--report-interval 5]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests
import socketio
from playwright.sync_api import Page, sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.demo_server import demo_console  # noqa: E402
from tests.support.browser import CHROMIUM, FLAGS, sign_in  # noqa: E402
from tests.support.servers import run_cli  # noqa: E402

MONACO = (43.7384, 7.4246)
PROBE_SPOTS = ((43.7330, 7.4170), (43.7430, 7.4300))  # far enough apart to move the marker on screen
WATCH_PROBE = """probe => {
  const sel = "path.worker-" + probe;
  const bench = (window.__bench = { moves: [], last: null });
  const now = document.querySelector(sel);
  bench.last = now ? now.getAttribute("d") : null;
  new MutationObserver(() => {
    const el = document.querySelector(sel);
    const d = el && el.getAttribute("d");
    if (d && d !== bench.last) { bench.last = d; bench.moves.push(Date.now()); }
  }).observe(document.querySelector(".leaflet-overlay-pane"),
             { subtree: true, childList: true, attributes: true, attributeFilter: ["d"] });
}"""


@dataclass(frozen=True, slots=True)
class Sample:
    ping_ms: float
    emit_ms: float
    moved_ms: float


@dataclass(frozen=True, slots=True)
class Result:
    window_ms: int
    samples: list[Sample]
    missed: int
    busy_share: float
    busy_per_batch_ms: float
    batches: int


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class Background(threading.Thread):
    """The other workers: each reports every `interval_s` at its own offset, moving or standing."""

    def __init__(self, url: str, token: str, devices: list[str], interval_s: float, rng: random.Random) -> None:
        super().__init__(daemon=True)
        self.url, self.token, self.devices, self.interval_s = url, token, devices, interval_s
        self.rng = rng
        self.stop = threading.Event()
        self.sent = 0

    def run(self) -> None:
        session = requests.Session()
        start = time.monotonic()
        due = {d: start + self.rng.random() * self.interval_s for d in self.devices}
        where = {
            d: (MONACO[0] + self.rng.uniform(-0.006, 0.006), MONACO[1] + self.rng.uniform(-0.01, 0.01)) for d in due
        }
        while not self.stop.wait(0.05):
            now = time.monotonic()
            batch = []
            for device, at in due.items():
                if at > now:
                    continue
                lat, lon = where[device]
                moving = self.rng.random() < 0.5
                if moving:
                    lat, lon = lat + self.rng.uniform(-3e-4, 3e-4), lon + self.rng.uniform(-3e-4, 3e-4)
                    where[device] = (lat, lon)
                batch.append(
                    {
                        "id": device,
                        "lat": round(lat, 6),
                        "lon": round(lon, 6),
                        "timestamp": datetime.now(UTC).isoformat(),
                        "speed": 12 if moving else 0,
                    }
                )
                due[device] = at + self.interval_s
            if batch:
                r = session.post(
                    f"{self.url}/api/v1/positions", json=batch, headers={"Authorization": f"Bearer {self.token}"}
                )
                r.raise_for_status()
                self.sent += len(batch)


class Emits:
    """A socket client beside the browser: when the relay stamped the batch carrying each probe fix."""

    def __init__(self, url: str, token: str, probe_id: int) -> None:
        self.sent_ms: dict[float, int] = {}
        self.batches = 0
        self.client = socketio.Client(reconnection=False)

        def on_positions(payload: dict) -> None:
            self.batches += 1
            for u in payload["updates"]:
                if u["worker_id"] == probe_id:
                    self.sent_ms.setdefault(u["lat"], payload["sent_ms"])

        self.client.on("positions", on_positions)
        self.client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)


def busy_s(cdp) -> float:  # type: ignore[no-untyped-def]
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return float(metrics["TaskDuration"])


def measure(page: Page, url: str, token: str, probe: tuple[int, str], n: int, rng: random.Random) -> tuple:
    probe_id, device = probe
    emits = Emits(url, token, probe_id)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable", {"timeDomain": "threadTicks"})  # CPU time, not wall time: the machine is shared
    page.evaluate(WATCH_PROBE, probe_id)
    samples: list[Sample] = []
    missed = 0
    session = requests.Session()
    busy0, wall0, batches0 = busy_s(cdp), time.monotonic(), emits.batches
    for k in range(n):
        spot = PROBE_SPOTS[k % 2]
        lat, lon = round(spot[0] + k * 1e-6, 6), spot[1]
        seen = page.evaluate("window.__bench.moves.length")
        ping_ms = time.time() * 1000
        session.get(
            f"{url}/osmand",
            params={"id": device, "lat": lat, "lon": lon, "speed": 0, "timestamp": datetime.now(UTC).isoformat()},
            timeout=10,
        ).raise_for_status()
        try:
            page.wait_for_function("n => window.__bench.moves.length > n", arg=seen, polling=25, timeout=15_000)
        except Exception:
            missed += 1
            continue
        moved_ms = page.evaluate("n => window.__bench.moves[n]", seen)
        deadline = time.monotonic() + 2
        while lat not in emits.sent_ms and time.monotonic() < deadline:
            time.sleep(0.01)
        if lat in emits.sent_ms:
            samples.append(Sample(ping_ms, emits.sent_ms[lat], moved_ms))
        else:
            missed += 1
        time.sleep(rng.uniform(0.2, 1.2))
    busy, wall, batches = busy_s(cdp) - busy0, time.monotonic() - wall0, emits.batches - batches0
    emits.client.disconnect()
    return samples, missed, busy / wall, busy * 1000 / max(1, batches), batches


def run_window(window_ms: int, args: argparse.Namespace, playwright) -> Result:  # type: ignore[no-untyped-def]
    rng = random.Random(args.seed)
    windowed = {"OUTFIELD_LIVE_BATCH_MS": str(window_ms)}
    with tempfile.TemporaryDirectory() as tmp, demo_console(Path(tmp), seed=("--all-day",), env=windowed,
                                                             ready_s=30) as (url, env):  # fmt: skip
        token = run_cli("data", "create-user", "--role", "admin", "--name", "bench", env=env)
        workers = requests.get(f"{url}/api/v1/workers", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        fleet = sorted((w["id"], w["device_id"]) for w in workers.json())
        probe, others = fleet[0], [d for _, d in fleet[1:]]

        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        sign_in(page, url, "dispatcher", "dispatcher-demo", timeout_ms=30_000)
        page.wait_for_function(f"() => document.querySelectorAll('path.worker-marker').length === {len(fleet)}")
        page.wait_for_function("() => document.querySelectorAll('path.order-marker').length > 0")

        background = Background(url, token, others, args.report_interval, rng)
        background.start()
        try:
            time.sleep(3)  # let the background load settle in
            samples, missed, share, per_batch, batches = measure(page, url, token, probe, args.samples, rng)
            browser.close()
        finally:
            background.stop.set()
            background.join(5)
    return Result(window_ms, samples, missed, share, per_batch, batches)


def stats(values: list[float]) -> str:
    if not values:
        return "—"
    return f"{statistics.median(values):.0f} / {percentile(values, 0.95):.0f} / {max(values):.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--windows", default="500,100", help="batch windows to run, in ms (comma-separated)")
    parser.add_argument("--samples", type=int, default=40, help="probe pings per window")
    parser.add_argument("--report-interval", type=float, default=5.0, help="seconds between a worker's reports")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    results = []
    with sync_playwright() as p:
        for window in (int(w) for w in args.windows.split(",")):
            results.append(run_window(window, args, p))

    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores, load average {load[0]:.2f}; demo layout (30 workers, 120 orders); "
        f"29 workers reporting every {args.report_interval:g} s, one probe; chromium {CHROMIUM}"
    )
    print()
    print(
        "| batch window | emit → marker moved (p50 / p95 / max) | ping → marker moved (p50 / p95 / max) "
        "| page main thread busy | busy ÷ batches | samples |"
    )
    print("| ---: | --- | --- | ---: | ---: | ---: |")
    for r in results:
        emit = [s.moved_ms - s.emit_ms for s in r.samples]
        ping = [s.moved_ms - s.ping_ms for s in r.samples]
        print(
            f"| {r.window_ms} ms | {stats(emit)} | {stats(ping)} | {r.busy_share:.1%} | {r.busy_per_batch_ms:.1f} ms "
            f"| {len(r.samples)} ({r.missed} missed, {r.batches} batches) |"
        )


if __name__ == "__main__":
    main()
