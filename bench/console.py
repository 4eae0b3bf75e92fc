"""The dispatcher's console in the browser: how long a click or a page takes to be usable.

Everything real and local, once per size: redis-server, `python -m console` (the demo's settings: two
web workers, OSRM on the shipped Monaco network) on a fresh SQLite file seeded with the demo scenario
(`python -m data seed-demo --workers W --orders O --all-day`, tomorrow's day, nothing done yet), every
worker given one fix, and the demo
dispatcher signed in on a headless Debian chromium (Playwright). Then, `--samples` times each:

- live map, navigation → usable: `page.goto("/")` until the connection is live and every worker's
  marker and the open orders' markers are drawn;
- orders, navigation → usable: `page.goto("/")`, a click on the Orders tab as soon as it is there, until
  the open-order list shows its rows (with the tab's count);
- plans, navigation → usable: `page.goto("/plans/")` until *Optimise* is visible and the plan panel has
  answered (its first callback drew the plan or "No plan picked.");
- open an order's candidates, click → list visible: a click on a new order's row in the list until its
  card shows the ranked candidates with their Assign buttons;
- Assign, click → confirmed: a click on the top candidate's *Assign* until the card says "Assigned to …".

Each navigation starts with a warm browser cache (one untimed visit first), as a dispatcher's does.
Times are wall-clock in the test process, from just before the Playwright call to the moment the
condition held (`wait_for_function`, polled every animation frame). Nothing here asserts on time.

On a shared, loaded machine wall time says little, so each step's page main-thread time is printed too:
chromium's own count (CDP `Performance.getMetrics` `TaskDuration`, with `ScriptDuration` the part running
JavaScript): from the click to the condition for a click, since the new document's start for a navigation.
It still grows when the machine is loaded (a task descheduled mid-way goes on counting), but far less.

    .venv/bin/python bench/console.py [--sizes 30x120,500x2000] [--samples 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from playwright.sync_api import CDPSession, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.demo_server import demo_console  # noqa: E402
from tests.support.browser import CHROMIUM, FLAGS, sign_in  # noqa: E402
from tests.support.servers import run_cli  # noqa: E402

MONACO = (43.7384, 7.4246)
TIMEOUT_MS = 180_000  # the 2,000-order page took over a minute before the fixes
MAP_USABLE = """n => document.querySelector('.conn-live') !== null
  && document.querySelectorAll('path.worker-marker').length === n
  && document.querySelectorAll('path.order-marker').length > 0"""
ORDERS_USABLE = """() => document.querySelectorAll('#order-list .order-row').length > 0
  && /\\d/.test(document.querySelector('#tab-orders').textContent)"""
PLANS_USABLE = """() => { const b = document.querySelector('#plan-start');
  const u = document.querySelector('#plan-unplanned');
  return b !== null && b.offsetParent !== null && u !== null && u.textContent.length > 0; }"""
CARD_CHANGED = """before => { const c = document.querySelector('#order-card');
  return c !== null && c.innerText !== before && c.querySelector('.candidate.best button.assign') !== null; }"""
ASSIGNED = "() => (document.querySelector('#order-message') || {innerText: ''}).innerText.includes('Assigned to')"
MEASURES = ("live map: navigation → usable", "orders: navigation → usable", "plans: navigation → usable",
            "order's candidates: click → list visible", "Assign: click → confirmed")  # fmt: skip


@dataclass
class Result:
    workers: int
    orders: int
    samples: dict[str, list[float]] = field(default_factory=dict)
    main_thread: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # (task ms, script ms)
    skipped: int = 0
    failure: str | None = None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed(action: Callable[[], object], until: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    until()
    return (time.perf_counter() - start) * 1000


def give_every_worker_a_fix(url: str, token: str) -> int:
    """One fix per worker near its home, through the batch API (as phones would have sent in the morning)."""
    headers = {"Authorization": f"Bearer {token}"}
    workers = requests.get(f"{url}/api/v1/workers", headers=headers, timeout=30).json()
    now = datetime.now(UTC).isoformat()
    for start in range(0, len(workers), 50):
        batch = [
            {
                "id": w["device_id"],
                "lat": round(MONACO[0] + ((w["id"] * 37) % 100 - 50) * 1e-4, 6),
                "lon": round(MONACO[1] + ((w["id"] * 53) % 100 - 50) * 1.5e-4, 6),
                "timestamp": now,
                "speed": 0,
            }
            for w in workers[start : start + 50]
        ]
        r = requests.post(f"{url}/api/v1/positions", json=batch, headers=headers, timeout=30)
        r.raise_for_status()
    return len(workers)


def main_thread_ms(cdp: CDPSession) -> tuple[float, float]:
    """The page's main-thread time so far (tasks, of which JavaScript), as chromium counts it, in ms."""
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return metrics["TaskDuration"] * 1000, metrics["ScriptDuration"] * 1000


def measure(page: Page, url: str, workers: int, n: int, result: Result) -> None:
    s = result.samples
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")

    def costed(measurement: str, action: Callable[[], object], until: Callable[[], object], *, page_load: bool) -> None:
        before = (0.0, 0.0) if page_load else main_thread_ms(cdp)  # a new document starts its count at 0
        s.setdefault(measurement, []).append(timed(action, until))
        after = main_thread_ms(cdp)
        result.main_thread.setdefault(measurement, []).append((after[0] - before[0], after[1] - before[1]))

    map_usable = lambda: page.wait_for_function(MAP_USABLE, arg=workers, timeout=TIMEOUT_MS)  # noqa: E731
    orders_usable = lambda: page.wait_for_function(ORDERS_USABLE, timeout=TIMEOUT_MS)  # noqa: E731
    plans_usable = lambda: page.wait_for_function(PLANS_USABLE, timeout=TIMEOUT_MS)  # noqa: E731

    def open_orders() -> None:
        page.goto(f"{url}/", wait_until="commit")
        page.click("#tab-orders", timeout=TIMEOUT_MS)

    # Warm the browser cache and the server's workers once, untimed.
    page.goto(f"{url}/")
    map_usable()
    page.goto(f"{url}/plans/")
    plans_usable()
    for _ in range(n):
        costed(MEASURES[0], lambda: page.goto(f"{url}/", wait_until="commit"), map_usable, page_load=True)
        costed(MEASURES[1], open_orders, orders_usable, page_load=True)
        costed(MEASURES[2], lambda: page.goto(f"{url}/plans/", wait_until="commit"), plans_usable, page_load=True)

    page.goto(f"{url}/")
    map_usable()
    page.click("#tab-orders")
    orders_usable()
    for k in range(n):
        row = page.locator("#order-list .order-row.status-new:not(.selected)").nth(k % 3)
        before = page.evaluate("() => (document.querySelector('#order-card') || {innerText: ''}).innerText")
        try:
            card = lambda b=before: page.wait_for_function(CARD_CHANGED, arg=b, timeout=TIMEOUT_MS)  # noqa: E731
            costed(MEASURES[3], row.click, card, page_load=False)
        except Exception:  # the row was redrawn under the click (a pushed change): try the next one
            result.skipped += 1
            continue
        best = page.locator("#order-card .candidate.best button.assign")
        costed(MEASURES[4], best.click, lambda: page.wait_for_function(ASSIGNED, timeout=TIMEOUT_MS), page_load=False)


def run_size(workers: int, orders: int, args: argparse.Namespace, playwright) -> Result:  # type: ignore[no-untyped-def]
    result = Result(workers, orders)
    # Tomorrow's demo day, not started yet (every order new), everyone on shift whenever the bench runs.
    today = datetime.now(UTC).date()
    seed = ("--workers", str(workers), "--orders", str(orders), "--all-day",
            "--day", (today + timedelta(days=1)).isoformat(), "--now", f"{today}T12:00:00+00:00")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp, demo_console(Path(tmp), seed=seed, osrm_dir=args.osrm_dir) as (url, env):
        token = run_cli("data", "create-user", "--role", "admin", "--name", "bench", env=env)
        fleet = give_every_worker_a_fix(url, token)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
            sign_in(page, url, "dispatcher", "dispatcher-demo", timeout_ms=TIMEOUT_MS)
            measure(page, url, fleet, args.samples, result)
        except PlaywrightError as exc:  # e.g. a page that never became usable: say so, keep the rest
            result.failure = str(exc).splitlines()[0]
        finally:
            browser.close()
    return result


def stats(values: list[float]) -> str:
    if not values:
        return "—"
    return f"{statistics.median(values):.0f} / {percentile(values, 0.95):.0f} ms"


def thread_stats(values: list[tuple[float, float]]) -> str:
    """Median main-thread ms of a step, and of it JavaScript."""
    if not values:
        return "—"
    return f"{statistics.median(v[0] for v in values):.0f} ({statistics.median(v[1] for v in values):.0f} script) ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="30x120,500x2000", help="workers x orders, comma-separated")
    parser.add_argument("--samples", type=int, default=20, help="repetitions of each measurement per size")
    parser.add_argument("--osrm-dir", type=Path, default=REPO / "var" / "osrm", help="built by `routing build-roads`")
    args = parser.parse_args()

    results = []
    with sync_playwright() as p:
        for size in args.sizes.split(","):
            workers, orders = (int(x) for x in size.split("x"))
            results.append(run_size(workers, orders, args, p))
            r = results[-1]
            print(f"{workers}x{orders}: " + "; ".join(f"{m} {stats(v)}" for m, v in r.samples.items()), flush=True)
            if r.failure:
                print(f"{workers}x{orders}: stopped: {r.failure}", flush=True)

    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f}; chromium {CHROMIUM}; {args.samples} samples")
    print()
    print(
        "| measurement | " + " | ".join(f"{r.workers} workers, {r.orders} orders (p50 / p95)" for r in results) + " |"
    )
    print("| --- |" + " --- |" * len(results))
    for m in MEASURES:
        print(f"| {m} | " + " | ".join(stats(r.samples.get(m, [])) for r in results) + " |")
    print()
    print("| page main-thread time, median | " + " | ".join(f"{r.workers}×{r.orders}" for r in results) + " |")
    print("| --- |" + " --- |" * len(results))
    for m in MEASURES:
        print(f"| {m} | " + " | ".join(thread_stats(r.main_thread.get(m, [])) for r in results) + " |")
    for r in results:
        if r.failure:
            print(f"({r.workers}x{r.orders}: stopped after {sum(map(len, r.samples.values()))} samples: {r.failure})")
        if r.skipped:
            print(f"({r.workers}x{r.orders}: {r.skipped} order clicks redrawn under the click, not counted)")


if __name__ == "__main__":
    main()
