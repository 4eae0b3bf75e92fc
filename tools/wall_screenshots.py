"""Regenerate the wall screen's screenshots in docs/ (wall-1366x768.png, wall-1920x1080.png, wall-3840x2160.png).

A person looks at these to judge the wall screen from across a room; the browser test
(tests/browser/test_wall_screen.py) checks the same sizes by geometry and never writes here.
Everything local: redis-server and `python -m console` on a fresh SQLite file, the demo seeded
as a day in progress at a fixed moment (yesterday 10:40 UTC, `tests/support/wall_day.py`) with every worker on shift
round the clock (`--all-day`: the server reads shifts at its own, real time, so the same workers show at whatever
hour this runs), each reporting one fix from where that day put them, the demo dispatcher signed in on headless
Debian chromium with the page's clock set to that moment (so nobody shows as offline).
Run by hand after a change to the wall screen; commit the PNGs:

    .venv/bin/python tools/wall_screenshots.py [--out docs]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import requests
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from realtime.redis_server import start_redis  # noqa: E402
from tests.support.browser import CHROMIUM, FLAGS  # noqa: E402
from tests.support.servers import free_port, run_cli, wait_until  # noqa: E402
from tests.support.wall_day import demo_moment, report_fleet, seed_day_in_progress  # noqa: E402

SIZES = ((1366, 768), (1920, 1080), (3840, 2160))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    args = parser.parse_args()
    now = demo_moment()
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        rport, port = free_port(), free_port()
        procs: list[subprocess.Popen[bytes]] = [start_redis(rport, var / "redis")]
        env = {
            **os.environ,
            "OUTFIELD_VAR": str(var),
            "DATABASE_URL": f"sqlite:///{var / 'wall.db'}",
            "REDIS_URL": f"redis://127.0.0.1:{rport}/0",
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "SECRET_KEY": "screenshots",
            "OUTFIELD_DEMO": "1",
            "OUTFIELD_OSRM_DIR": str(var / "no-osrm"),
        }
        try:
            run_cli("data", "migrate", env=env)
            seed_day_in_progress(env, now, all_day=True)
            token = run_cli("data", "create-user", "--role", "admin", "--name", "shots", env=env)
            log = open(var / "console.log", "wb")
            procs.append(subprocess.Popen([sys.executable, "-m", "console"], env=env, cwd=REPO, stdout=log, stderr=log))
            url = f"http://127.0.0.1:{port}"
            wait_until(lambda: requests.get(f"{url}/healthz", timeout=1).ok, 60, "console")
            reported = report_fleet(url, token, env["DATABASE_URL"], now)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
                for width, height in SIZES:
                    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
                    page.clock.set_fixed_time(now)
                    page.goto(f"{url}/")
                    page.fill("input[name=name]", "dispatcher")
                    page.fill("input[name=password]", "dispatcher-demo")
                    page.click("button[type=submit]")
                    page.wait_for_selector(".conn-live", timeout=60_000)
                    page.wait_for_function("() => window.outfield && window.outfield.fitted === true", timeout=60_000)
                    # A picture for a person: the basemap's streets and the label fonts loaded, nothing left to fetch.
                    page.wait_for_load_state("networkidle")
                    page.wait_for_function("() => document.fonts.status === 'loaded'", timeout=60_000)
                    target = args.out / f"wall-{width}x{height}.png"
                    page.screenshot(path=str(target))
                    print(f"{target}: {reported} workers reporting at {now:%H:%M} UTC")
                    page.context.close()
                browser.close()
        finally:
            for proc in reversed(procs):
                proc.terminate()
                proc.wait(20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
