"""The demo path: a seeded scenario and the simulator driving the real /osmand endpoint and field API."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from data.db import make_engine
from data.scenario import SIMULATOR_USER
from data.tables import ApiTokenRow, UserRow
from tests.support.servers import REPO, wait_until

pytestmark = pytest.mark.integration
MONACO_BBOX = (43.70, 43.78, 7.34, 7.50)  # the shipped extract, with a margin


@pytest.fixture(scope="module")
def demo(console_server):
    console_server.cli("data", "seed-demo", "--day", "2025-03-03", "--all-day")  # any hour: all on shift
    return console_server


def start_simulator(console_server, speed: str) -> subprocess.Popen[str]:
    """The simulator as `./run demo` starts it: given a fresh token of the demo's `simulator` user in a file."""
    token_file = Path(console_server.env["OUTFIELD_VAR"]) / "simulator.token"
    console_server.cli("data", "create-token", "--name", SIMULATOR_USER, "--replace", "--out", str(token_file))
    env = {
        **console_server.env,
        "PORT": console_server.url.rsplit(":", 1)[1],
        "OUTFIELD_SIM_SPEED": speed,
        "OUTFIELD_SIM_TOKEN_FILE": str(token_file),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "realtime", "simulate"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture
def headers(console_server) -> Iterator[dict[str, str]]:
    yield {"Authorization": f"Bearer {console_server.admin_token}"}


def test_simulated_workers_report_through_osmand(demo, headers):
    """Tests that after `seed-demo`, the simulator's 30 workers are stored through /osmand inside Monaco, and nothing is logged in clear."""
    console_server = demo
    proc = start_simulator(console_server, "5")
    workers = [
        w
        for w in requests.get(f"{console_server.url}/api/v1/workers", headers=headers, timeout=5).json()
        if w["device_id"].startswith("demo-")
    ]
    assert len(workers) == 30
    try:
        reporting: set[int] = set()

        def all_reporting() -> bool:
            for w in workers:
                if (
                    w["id"] not in reporting
                    and requests.get(
                        f"{console_server.url}/api/v1/workers/{w['id']}/positions", headers=headers, timeout=5
                    ).json()
                ):
                    reporting.add(w["id"])
            return len(reporting) == 30

        wait_until(all_reporting, 30, lambda: f"{len(reporting)} of 30 workers reporting", poll_s=1)
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


def test_a_simulated_worker_works_an_order_assigned_to_them(demo, headers):
    """Tests that an order a dispatcher assigns to a simulated worker today goes accepted, en route, on site (with a
    GPS-verified check-in) and done with a service report, through the push-link field API, that the worker clocks in
    for their shift there too, and that the simulator's API token stops working when it exits."""
    console_server = demo
    url = console_server.url
    worker = next(
        w
        for w in requests.get(f"{url}/api/v1/workers", headers=headers, timeout=5).json()
        if w["device_id"] == "demo-07"
    )
    site_id = requests.get(f"{url}/api/v1/work-orders", headers=headers, timeout=5).json()[0]["site_id"]
    now = datetime.now(UTC)
    created = requests.post(
        f"{url}/api/v1/work-orders",
        headers=headers,
        json={"site_id": site_id, "type": "repair", "service_minutes": 2, "reference": "SIM-TEST-1",
              "window_start": (now - timedelta(hours=1)).isoformat(), "window_end": (now + timedelta(hours=4)).isoformat()},
        timeout=5,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    order_id = created.json()["id"]
    assigned = requests.post(
        f"{url}/api/v1/work-orders/{order_id}/assign",
        headers=headers,
        json={"worker_id": worker["id"], "reason": "the simulator test picks this worker"},
        timeout=5,
    )
    assert assigned.status_code == 200, assigned.text

    proc = start_simulator(console_server, "180")  # 2 minutes on site pass in under a second
    seen: list[str] = []

    def done() -> bool:
        order = requests.get(f"{url}/api/v1/work-orders/{order_id}", headers=headers, timeout=5).json()
        seen[:] = [h["to"] for h in order["history"]]
        return "done" in seen

    try:
        with contextlib.suppress(RuntimeError):  # on a timeout the assertion below shows the steps and the output
            wait_until(done, 240, "the order's 'done'", poll_s=1)
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=20)
    assert seen == ["new", "assigned", "accepted", "en_route", "on_site", "done"], output[-3000:]
    record = requests.get(f"{url}/api/v1/work-orders/{order_id}/field-record", headers=headers, timeout=5).json()
    assert [(c["kind"], c["verdict"]) for c in record["checkins"]] == [("in", "verified"), ("out", "verified")]
    assert record["report"] is not None
    assert "demo-07: check in (order" in output
    # On shift (all day), the worker clocked in through the field page's attendance: their timesheet has begun.
    assert "demo-07: clock in" in output
    today = datetime.now(UTC).date().isoformat()
    sheet = requests.get(f"{url}/api/v1/timesheets", headers=headers, timeout=5,
                         params={"from": today, "to": today, "worker_id": worker["id"]}).json()  # fmt: skip
    assert [row["started_at"] is not None for row in sheet["rows"]] == [True], sheet
    # Positions are personal data: the check-in's fix is not in the simulator's log.
    track = requests.get(f"{url}/api/v1/workers/{worker['id']}/positions", headers=headers, timeout=5).json()
    assert track and all(f"{p['latitude']:.5f}" not in output for p in track[-20:])
    assert "Traceback" not in output
    # The token the simulator was given was ended by the simulator itself (DELETE /api/v1/tokens/current) when it stopped.
    engine = make_engine(console_server.env["DATABASE_URL"])
    try:
        with engine.connect() as db:
            live = db.execute(
                select(ApiTokenRow.id)
                .join(UserRow, UserRow.id == ApiTokenRow.user_id)
                .where(UserRow.name == SIMULATOR_USER, ApiTokenRow.revoked_at.is_(None))
            ).all()
    finally:
        engine.dispose()
    assert live == []
