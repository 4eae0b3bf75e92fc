"""The demo path: a seeded scenario and the simulator driving the real /osmand endpoint."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests

from tests.support.servers import REPO

pytestmark = pytest.mark.integration
MONACO_BBOX = (43.70, 43.78, 7.34, 7.50)  # the shipped extract, with a margin


def test_simulated_workers_report_through_osmand(console_server):
    """Tests that after `seed-demo`, the simulator's 30 workers are stored through /osmand inside Monaco, and nothing is logged in clear."""
    console_server.cli("data", "seed-demo", "--day", "2025-03-03")
    env = {**console_server.env, "PORT": console_server.url.rsplit(":", 1)[1], "OUTFIELD_SIM_SPEED": "5"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "realtime", "simulate"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    headers = {"Authorization": f"Bearer {console_server.admin_token}"}
    workers = [
        w
        for w in requests.get(f"{console_server.url}/api/v1/workers", headers=headers, timeout=5).json()
        if w["device_id"].startswith("demo-")
    ]
    assert len(workers) == 30
    try:
        deadline = time.monotonic() + 30
        reporting: set[int] = set()
        while time.monotonic() < deadline and len(reporting) < 30:
            time.sleep(1)
            for w in workers:
                if w["id"] in reporting:
                    continue
                if requests.get(
                    f"{console_server.url}/api/v1/workers/{w['id']}/positions", headers=headers, timeout=5
                ).json():
                    reporting.add(w["id"])
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=10)
    assert len(reporting) == 30
    track = requests.get(
        f"{console_server.url}/api/v1/workers/{workers[0]['id']}/positions", headers=headers, timeout=5
    ).json()
    lat0, lat1, lon0, lon1 = MONACO_BBOX
    assert all(lat0 < p["latitude"] < lat1 and lon0 < p["longitude"] < lon1 for p in track)
    # Positions are personal data: neither the simulator nor the server prints them.
    logged = output + console_server.log_path.read_text()
    assert f"{track[0]['latitude']:.5f}" not in logged
    assert "lat=" not in logged
