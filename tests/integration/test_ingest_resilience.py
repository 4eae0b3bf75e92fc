"""Nothing lost, nothing twice: resends, a killed or stalled Redis, and the live stream's return.

Real parts, as a deployment runs them: `python -m console` on SQLite and its own redis-server (this
module stops, stalls and restarts it, so it cannot share the session's), python-socketio clients.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
import requests
import socketio
from redis.backoff import NoBackoff
from redis.retry import Retry

from realtime.redis_server import start_redis
from tests.support.consent import consent_all
from tests.support.servers import REPO, free_port, run_cli, wait_until

pytestmark = pytest.mark.integration


@dataclass
class Deployment:
    url: str
    token: str
    worker_id: int
    cell_worker_id: int
    redis_port: int
    redis_dir: Path
    redis_proc: subprocess.Popen[bytes]

    def redis(self) -> redis.Redis:
        return redis.Redis(port=self.redis_port, socket_timeout=30)

    def start_redis(self) -> None:
        self.redis_proc = start_redis(self.redis_port, self.redis_dir)
        wait_until(lambda: self.redis().ping(), 10, "redis-server")

    def stop_redis(self) -> None:
        self.redis_proc.terminate()
        self.redis_proc.wait(10)

    def stored(self, worker_id: int | None = None, **params: str) -> list[dict]:
        response = requests.get(
            f"{self.url}/api/v1/workers/{worker_id or self.worker_id}/positions",
            params=params,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=5,
        )
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    var = tmp_path_factory.mktemp("resilience")
    redis_port, port = free_port(), free_port()
    redis_proc = start_redis(redis_port, var / "redis")
    env = {
        **os.environ,
        "OUTFIELD_VAR": str(var),
        "DATABASE_URL": f"sqlite:///{var / 'outfield.db'}",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "SECRET_KEY": "test-secret",
        "OUTFIELD_OSRM_DIR": str(var / "no-osrm"),
    }
    console = None
    try:
        wait_until(lambda: redis.Redis(port=redis_port).ping(), 10, "redis-server")
        run_cli("data", "migrate", env=env)
        token = run_cli("data", "create-user", "--role", "admin", "--name", "admin", env=env)
        run_cli("data", "add-worker", "--name", "Ana", "--device-id", "res-ana", env=env)
        run_cli("data", "add-worker", "--name", "Cel", "--device-id", "res-cell", env=env)
        with open(var / "console.log", "wb") as log:
            console = subprocess.Popen([sys.executable, "-m", "console"], env=env, cwd=REPO, stdout=log, stderr=log)
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: requests.get(f"{url}/healthz", timeout=1).status_code == 200, 30, "python -m console")
        workers = consent_all(requests.get, requests.post, {"Authorization": f"Bearer {token}"}, url=url)
        ids = {w["device_id"]: w["id"] for w in workers}
        deployment = Deployment(url, token, ids["res-ana"], ids["res-cell"], redis_port, var / "redis", redis_proc)
        yield deployment
        redis_proc = deployment.redis_proc
    finally:
        if console is not None:
            console.terminate()
            try:
                console.wait(10)
            except subprocess.TimeoutExpired:
                console.kill()
        redis_proc.terminate()
        redis_proc.wait(10)


def ping(deployment: Deployment, fix_time: datetime, lat: float, timeout_s: float = 2.0) -> requests.Response:
    """One OsmAnd report; `timeout_s` is how long the phone waits for the answer."""
    return requests.get(
        f"{deployment.url}/osmand",
        params={"id": "res-ana", "lat": lat, "lon": 7.4246, "timestamp": fix_time.isoformat()},
        timeout=timeout_s,
    )


@pytest.fixture
def live(deployment: Deployment) -> Iterator[queue.Queue]:
    """A console's socket: `positions` updates (their latitude) and `resync` events (when the relay sent them, ms
    since the epoch), in arrival order."""
    events: queue.Queue = queue.Queue()
    client = socketio.Client(reconnection=False)
    client.on("positions", lambda payload: [events.put(("position", u["lat"])) for u in payload["updates"]])
    client.on("resync", lambda payload: events.put(("resync", payload["sent_ms"])))
    client.connect(deployment.url, auth={"token": deployment.token}, transports=["websocket"], wait_timeout=10)
    yield events
    client.disconnect()


def wait_for(events: queue.Queue, wanted: tuple[str, float], timeout_s: float) -> None:
    """Waits for the event `wanted`; a ("resync", t) matches any resync the relay sent at or after t (ms)."""
    deadline = datetime.now(UTC) + timedelta(seconds=timeout_s)
    seen = []
    while datetime.now(UTC) < deadline:
        try:
            event = events.get(timeout=0.2)
        except queue.Empty:
            continue
        if event == wanted or (event[0] == wanted[0] == "resync" and event[1] >= wanted[1]):
            return
        seen.append(event)
    raise AssertionError(f"{wanted} did not arrive within {timeout_s} s; got {seen}")


def now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def answers(port: int) -> bool:
    try:
        return bool(redis.Redis(port=port, socket_timeout=0.2, retry=Retry(NoBackoff(), 0)).ping())
    except redis.TimeoutError:
        return False


def test_simultaneous_resends_of_one_fix_are_all_answered_200_and_stored_once(deployment):
    """Tests that a phone's fix sent ten times at once (retries after lost answers) gets ten 200s and one row."""
    fix_time = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    start = threading.Barrier(10)
    statuses: list[int] = []

    def resend() -> None:
        start.wait()
        statuses.append(ping(deployment, fix_time, 43.7001, timeout_s=10).status_code)

    threads = [threading.Thread(target=resend) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 10
    window = {
        "from": (fix_time - timedelta(seconds=1)).isoformat(),
        "to": (fix_time + timedelta(seconds=1)).isoformat(),
    }
    assert [p["latitude"] for p in deployment.stored(**window)] == [43.7001]


def test_a_killed_redis_costs_no_fix_and_the_stream_resumes_with_a_resync(deployment, live):
    """Tests that with Redis killed /osmand still answers 200 at once and stores the fix, /healthz says 503
    at once, and that when Redis is back the consoles get `resync` and live positions again."""
    now = datetime.now(UTC).replace(microsecond=0)
    assert ping(deployment, now - timedelta(seconds=20), 43.7101).status_code == 200
    wait_for(live, ("position", 43.7101), 10)
    deployment.stop_redis()
    down_ms = now_ms()  # a resync sent from now on is of the relay's return, not one of its start still on its way
    try:
        assert ping(deployment, now - timedelta(seconds=10), 43.7102).status_code == 200
        assert requests.get(f"{deployment.url}/healthz", timeout=2).status_code == 503
        assert 43.7102 in [p["latitude"] for p in deployment.stored()]
    finally:
        deployment.start_redis()
    wait_for(live, ("resync", down_ms), 90)
    assert ping(deployment, datetime.now(UTC), 43.7103).status_code == 200
    wait_for(live, ("position", 43.7103), 10)
    assert requests.get(f"{deployment.url}/healthz", timeout=2).status_code == 200


def test_a_stalled_redis_does_not_hold_up_osmand(deployment, live):
    """Tests that while Redis hangs (CLIENT PAUSE: it accepts, answers no one for 6 s) /osmand answers 200
    long before Redis wakes, with the fix stored, /healthz answers 503 as fast, and that after it consoles get
    `resync` and live positions again."""
    stalled_ms = now_ms()
    deployment.redis().execute_command("CLIENT", "PAUSE", "6000", "ALL")  # accepts, answers no one for 6 s
    wait_until(lambda: not answers(deployment.redis_port), 5, "a stall")
    fix_time = datetime.now(UTC).replace(microsecond=0)
    assert ping(deployment, fix_time, 43.7201, timeout_s=2).status_code == 200
    assert requests.get(f"{deployment.url}/healthz", timeout=2).status_code == 503
    assert 43.7201 in [p["latitude"] for p in deployment.stored()]
    wait_until(lambda: answers(deployment.redis_port), 15, "the end of the stall")
    # The relay lost its lock in the stall: consoles re-read, then live again.
    wait_for(live, ("resync", stalled_ms), 90)
    later = datetime.now(UTC) + timedelta(seconds=1)
    assert ping(deployment, later, 43.7202).status_code == 200
    wait_for(live, ("position", 43.7202), 20)


def test_a_report_with_only_cell_towers_and_no_earlier_fix_is_acknowledged(deployment, live):
    """Tests that a phone's first report, with cell towers but no coordinates, is answered 200 as Traccar
    does, and is neither among the worker's positions nor on the live map (kept as network data only)."""
    sent = datetime.now(UTC).replace(microsecond=0)
    response = requests.get(
        f"{deployment.url}/osmand",
        params={"id": "res-cell", "timestamp": sent.isoformat(), "cell": "208,1,16,2224", "batt": 40},
        timeout=5,
    )
    assert response.status_code == 200
    assert deployment.stored(worker_id=deployment.cell_worker_id) == []
    assert ping(deployment, datetime.now(UTC) + timedelta(seconds=5), 43.7301).status_code == 200  # newest of hers
    wait_for(live, ("position", 43.7301), 10)  # Ana's fix came through; nothing of the cell report before it
