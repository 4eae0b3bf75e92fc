"""The manager's attendance page in the browser: how long the timesheets take to show, and an Approve to confirm.

Everything real and local: redis-server, `python -m console` (the demo's settings: two web workers) on a fresh
SQLite file seeded as `./run demo` seeds it (`python -m data seed-demo --history-days N-1`: 30 workers, the days
before today of simulated tracks and visits), and the demo manager signed in on a headless Debian chromium
(Playwright) at 1366x900. Timed, wall clock in this process from just before the Playwright call until the condition
held (`wait_for_function`, polled every animation frame):

- open, navigation → rows: `page.goto("/attendance/")` until the timesheet table shows its worker rows (the period
  the page opens on: the last 7 days, or `--days`);
- Approve, click → confirmed: a click on the first row's Approve until that row says "approved by …", `--clicks`
  times, each on the next day not approved yet.

Nothing here asserts on time.

    .venv/bin/python bench/attendance.py [--days 7] [--clicks 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.demo_server import demo_console  # noqa: E402
from tests.support.browser import CHROMIUM, FLAGS, sign_in  # noqa: E402

OFFICE = ZoneInfo("Europe/Monaco")
TIMEOUT_MS = 120_000
APPROVED = """([w, d]) => { const r = [...document.querySelectorAll('#ts-table tbody tr[data-worker-id]')]
  .find((t) => t.dataset.workerId === w && t.dataset.day === d);
  return Boolean(r) && r.lastChild.textContent.startsWith('approved by'); }"""


def timed_ms(action, until) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    action()
    until()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7, help="the period shown, ending today (default: 7)")
    parser.add_argument("--clicks", type=int, default=5)
    args = parser.parse_args()
    history = ("--history-days", str(max(6, args.days - 1)))
    roads = REPO / "var" / "osrm"
    with tempfile.TemporaryDirectory() as tmp, demo_console(Path(tmp), seed=history, osrm_dir=roads) as (url, _):
        opened, clicks = measure(url, args.days, args.clicks)
    load = os.getloadavg()[0]
    print(f"CPython {platform.python_version()}, {os.cpu_count()} cores, load {load:.1f}; the demo's 30 workers\n")
    print("| measurement | ms |")
    print("| --- | --- |")
    print(f"| open, navigation → the last {args.days} days' rows | {opened:,.0f} |")
    print(f"| Approve, click → confirmed ({len(clicks)} clicks) | {' / '.join(f'{c:,.0f}' for c in clicks)} |")


def measure(url: str, days: int, clicks: int) -> tuple[float, list[float]]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
            rows = "#ts-table tbody tr[data-worker-id]"
            # Signed in on the page once, untimed: the browser's cache is warm for the timed opening.
            sign_in(page, url, "manager", "manager-demo", path="/attendance/", ready=rows, timeout_ms=TIMEOUT_MS)
            opened = timed_ms(lambda: page.goto(f"{url}/attendance/"),
                              lambda: page.wait_for_selector(rows, timeout=TIMEOUT_MS))  # fmt: skip
            if days != 7:  # the page opens on the last 7 days: ask for the period, timed as a new read
                end = datetime.now(OFFICE).date()
                page.fill("#ts-from", str(end - timedelta(days=days - 1)))
                page.fill("#ts-to", str(end))
                opened = timed_ms(
                    lambda: page.click("#ts-filter button[type=submit]"),
                    lambda: page.wait_for_selector(rows, timeout=TIMEOUT_MS),
                )
            times = []
            for _ in range(clicks):
                row = page.locator("#ts-table tbody tr[data-worker-id]:has(button.approve)").first
                who, day = row.get_attribute("data-worker-id"), row.get_attribute("data-day")
                times.append(timed_ms(lambda row=row: row.locator("button.approve").click(),
                                      lambda who=who, day=day: page.wait_for_function(APPROVED, arg=[who, day],
                                                                                      timeout=TIMEOUT_MS)))  # fmt: skip
            return opened, times
        finally:
            browser.close()


if __name__ == "__main__":
    main()
