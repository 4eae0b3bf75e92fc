"""Several server processes share one Redis: every console gets every update exactly once."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime

import pytest
import requests
import socketio

from tests.factories import ALL_DAY_CSV
from tests.support.consent import consent_all
from tests.support.servers import REPO, free_port, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def second_server(console_server):
    """Another `python -m console` on the same database and Redis, as behind a load balancer."""
    port = free_port()
    env = {**console_server.env, "PORT": str(port)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "console"], env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(f"{url}/healthz", timeout=1).ok, 30, "second console")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def test_each_console_gets_each_update_once(console_server, second_server, tmp_path):
    """Tests that with two server processes (each running a relay candidate) a client on each sees every ping exactly once."""
    workers = tmp_path / "workers.csv"  # on shift all day: positions are kept only on shift
    workers.write_text(f"name,device_id,shift_days,shift_start,shift_end\nScale Test,scale-1,{ALL_DAY_CSV}\n")
    console_server.cli("data", "import-csv", "workers", str(workers))
    consent_all(requests.get, requests.post, {"Authorization": f"Bearer {console_server.admin_token}"},
                url=console_server.url)  # fmt: skip
    seen: dict[str, Counter] = {"a": Counter(), "b": Counter()}
    lock = threading.Lock()
    clients = []
    for name, url in (("a", console_server.url), ("b", second_server)):
        c = socketio.Client(reconnection=False)

        def on_positions(payload, name=name):
            with lock:
                for u in payload["updates"]:
                    seen[name][u["lat"]] += 1

        c.on("positions", on_positions)
        c.connect(url, auth={"token": console_server.admin_token}, transports=["websocket"], wait_timeout=10)
        clients.append(c)
    lats = [round(43.731 + i * 1e-4, 6) for i in range(10)]
    for i, lat in enumerate(lats):  # alternate the server that receives the ping
        target = console_server.url if i % 2 == 0 else second_server
        ts = datetime.now(UTC).isoformat()
        requests.get(
            f"{target}/osmand", params={"id": "scale-1", "lat": lat, "lon": 7.42, "timestamp": ts}, timeout=5
        ).raise_for_status()
        # The next ping goes out once both clients have this one, so no batch ever coalesces two pings.
        wait_until(lambda lat=lat: all(seen[n][lat] for n in seen), 8, f"ping {i} on both consoles", poll_s=0.05)
    for c in clients:
        c.disconnect()
    for name in seen:
        assert [seen[name][lat] for lat in lats] == [1] * len(lats), name
