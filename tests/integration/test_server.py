"""`python -m console` is a production server: gunicorn workers sharing the live stream, draining on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis
import requests
import socketio
from sqlalchemy import create_engine, text

from tests.factories import ALL_DAY_CSV
from tests.support.consent import consent_everyone
from tests.support.plan_day import seed_day, wait_for
from tests.support.servers import REPO, GaveUp, free_port, run_cli, start_console, wait_until

pytestmark = pytest.mark.integration


@dataclass
class Served:
    url: str
    port: int
    env: dict[str, str]
    proc: subprocess.Popen[bytes]
    token: str
    log_path: Path

    def workers(self) -> list[int]:
        """The pids of the master's worker processes."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def _start(tmp: Path, redis_url: str, **extra: str) -> Served:
    port = free_port()
    env = {
        **os.environ,
        "OUTFIELD_VAR": str(tmp),
        "DATABASE_URL": f"sqlite:///{tmp / 'outfield.db'}",
        "REDIS_URL": redis_url,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "SECRET_KEY": "test-secret",
        "OUTFIELD_OSRM_DIR": str(tmp / "no-osrm"),
        **extra,
    }
    run_cli("data", "migrate", env=env)
    token = run_cli("data", "create-user", "--role", "admin", "--name", "admin", env=env)
    workers = tmp / "workers.csv"
    workers.write_text(
        "name,device_id,shift_days,shift_start,shift_end\n"
        + "".join(f"Server Test {i},srv-{i},{ALL_DAY_CSV}\n" for i in range(3))
    )
    run_cli("data", "import-csv", "workers", str(workers), env=env)
    consent_everyone(env["DATABASE_URL"])  # before the server starts: no process has cached their consent yet
    redis.Redis.from_url(redis_url).delete("outfield:relay-leader")
    log_path = tmp / "console.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "console"], env=env, cwd=REPO, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: requests.get(f"{url}/healthz", timeout=1).status_code == 200, 30, "python -m console")
    return Served(url, port, env, proc, token, log_path)


def _stop(served: Served) -> None:
    if served.proc.poll() is None:
        served.proc.terminate()
        try:
            served.proc.wait(30)
        except subprocess.TimeoutExpired:
            served.proc.kill()
            served.proc.wait(10)


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Served]:
    served = _start(tmp_path_factory.mktemp("srv"), redis_url, OUTFIELD_WEB_WORKERS="2", OUTFIELD_WEB_THREADS="8")
    try:
        yield served
    finally:
        _stop(served)


def _fix(device: str, lat: float, at: datetime) -> dict[str, str]:
    return {"id": device, "lat": str(lat), "lon": "7.42", "timestamp": str(int(at.timestamp()))}


def test_serves_with_gunicorn_workers_not_the_development_server(two_workers: Served) -> None:
    """Tests that `python -m console` runs the configured number of gunicorn worker processes and no Werkzeug server."""
    wait_until(lambda: len(two_workers.workers()) == 2, 10, "two gunicorn workers")
    answer = requests.get(f"{two_workers.url}/login", timeout=5)
    assert answer.status_code == 200
    assert "Werkzeug" not in answer.headers.get("Server", "")
    assert "development server" not in two_workers.log_path.read_text(errors="replace")


def _listening_sockets(port: int) -> int:
    """How many sockets listen on `port` on this machine (IPv4)."""
    return sum(
        1
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
        if int(line.split()[1].split(":")[1], 16) == port and line.split()[3] == "0A"  # 0A: LISTEN
    )


def test_each_worker_listens_on_its_own_socket_and_a_second_server_on_the_port_is_refused(
    two_workers: Served,
) -> None:
    """Tests that each of the two workers has its own listening socket (the kernel spreads connections over
    them), and that a second `python -m console` started on the same port refuses to start, naming the port,
    instead of joining the first server's sockets; the first keeps answering."""
    wait_until(lambda: _listening_sockets(two_workers.port) == 2, 10, "one listening socket per worker")
    second = subprocess.run(
        [sys.executable, "-m", "console"], env=two_workers.env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert second.returncode == 1
    assert f"refusing to start: port {two_workers.port} on 127.0.0.1 is not free" in second.stderr
    assert _listening_sockets(two_workers.port) == 2
    assert requests.get(f"{two_workers.url}/healthz", timeout=5).status_code == 200


def test_every_worker_process_reaches_every_console(two_workers: Served) -> None:
    """Tests that consoles connected to different worker processes each get every position posted to any of them."""
    clients: list[socketio.Client] = []
    got: list[set[float]] = []
    lock = threading.Lock()
    # Connections are spread over the workers by the kernel; open enough that both workers hold one.
    for _ in range(6):
        client = socketio.Client(reconnection=False)
        seen: set[float] = set()

        def on_positions(payload: dict, seen: set[float] = seen) -> None:
            with lock:
                seen.update(u["lat"] for u in payload["updates"])

        client.on("positions", on_positions)
        client.connect(two_workers.url, auth={"token": two_workers.token}, transports=["websocket"], wait_timeout=10)
        clients.append(client)
        got.append(seen)
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        lats = [round(43.73 + i * 1e-3, 6) for i in range(3)]
        for i, lat in enumerate(lats):  # each ping on a fresh connection: any worker may take it
            answer = requests.get(f"{two_workers.url}/osmand", params=_fix(f"srv-{i}", lat, now), timeout=5)
            assert answer.status_code == 200, answer.text

        def everyone_has_all() -> bool:
            with lock:
                return all(set(lats) <= seen for seen in got)

        wait_until(everyone_has_all, 10, "every console has every position")
    finally:
        for client in clients:
            client.disconnect()


def test_sigterm_stops_a_plan_the_web_process_runs_keeping_its_best_plan(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> None:
    """Tests that on SIGTERM a 60 s plan the web process runs itself (no planner process) ends "stopped" with its
    routes stored, and the server exits well before the plan's budget and its graceful timeout (before, the job held
    the worker until gunicorn killed it, and the plan read "interrupted" without routes)."""
    served = _start(tmp_path_factory.mktemp("plan-drain"), redis_url, OUTFIELD_WEB_WORKERS="1",
                    OUTFIELD_WEB_GRACEFUL_TIMEOUT_S="60")  # fmt: skip
    try:
        server = SimpleNamespace(url=served.url, admin_token=served.token,
                                 cli=lambda module, *args: run_cli(module, *args, env=served.env))  # fmt: skip
        day = seed_day(server, tmp_path_factory)
        manager = {"Authorization": "Bearer " + server.cli("data", "create-user", "--role", "manager", "--name", "p")}
        r = requests.post(f"{served.url}/api/v1/plans", json={"date": day["date"], "seconds": 60}, headers=manager,
                          timeout=10)  # fmt: skip
        plan_id = r.json()["id"]
        wait_for(server, manager, plan_id, {"running"})
        started = time.monotonic()
        os.kill(served.proc.pid, signal.SIGTERM)
        served.proc.wait(50)
        assert time.monotonic() - started < 30  # not the plan's 60 s, nor the graceful timeout's
        with create_engine(served.env["DATABASE_URL"]).connect() as db:
            stored = json.loads(
                db.execute(text("SELECT payload FROM route_plans WHERE id = :id"), {"id": plan_id}).scalar_one()
            )
        assert stored["job"]["state"] == "stopped" and stored["plan"]["routes"], stored["job"]
    finally:
        _stop(served)


def test_sigterm_finishes_the_request_in_flight_and_closes_websockets(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> None:
    """Tests that on SIGTERM a request whose body is still arriving is answered and stored, open websockets are
    closed, and the server exits well before its graceful timeout."""
    served = _start(
        tmp_path_factory.mktemp("drain"),
        redis_url,
        OUTFIELD_WEB_WORKERS="1",
        OUTFIELD_WEB_THREADS="4",
        OUTFIELD_WEB_GRACEFUL_TIMEOUT_S="60",
    )
    client = socketio.Client(reconnection=False)
    disconnected = threading.Event()
    client.on("disconnect", lambda *args: disconnected.set())
    try:
        client.connect(served.url, auth={"token": served.token}, transports=["websocket"], wait_timeout=10)
        at = datetime.now(UTC).replace(microsecond=0)
        body = f"id=srv-1&lat=43.7401&lon=7.4201&timestamp={int(at.timestamp())}".encode()
        conn = socket.create_connection(("127.0.0.1", served.port), timeout=30)
        conn.sendall(
            b"POST /osmand HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body[:10]
        )
        # The worker has the request (its headers) before the signal: wait until it reads the connection.
        wait_until(lambda: _has_connection(served, conn), 10, "the worker took the connection")
        started = datetime.now(UTC)
        os.kill(served.proc.pid, signal.SIGTERM)
        assert disconnected.wait(15), "the websocket was not closed on SIGTERM"
        conn.sendall(body[10:])
        answer = b""
        while chunk := conn.recv(4096):
            answer += chunk
        conn.close()
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        served.proc.wait(30)
        assert (datetime.now(UTC) - started).total_seconds() < 30  # not the whole graceful timeout (60 s)
        engine = create_engine(served.env["DATABASE_URL"])
        with engine.connect() as db:
            stored = db.execute(text("SELECT latitude FROM positions")).scalars().all()
        assert stored == [pytest.approx(43.7401)]
    finally:
        if client.connected:
            client.disconnect()
        _stop(served)


def _has_connection(served: Served, conn: socket.socket) -> bool:
    """Whether a worker process has accepted the server end of `conn` (holds it as an open file)."""
    client_port = conn.getsockname()[1]
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == served.port and int(remote.split(":")[1], 16) == client_port:
            inode = fields[9]
    if inode is None:
        return False
    for pid in served.workers():
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return True
            except OSError:
                continue
    return False


def test_a_test_console_that_refuses_to_start_is_reported_in_its_own_words_and_leaves_no_process(
    tmp_path: Path, database_template
) -> None:
    """The suite's console servers (`tests.support.servers.start_console`): one that exits at start fails the module
    with the console's own message at once, not 30 s later with "did not come up", and its redis-server is stopped."""
    with pytest.raises(GaveUp, match="refusing to start: SECRET_KEY is not set") as refused:
        start_console(tmp_path, {"SECRET_KEY": ""}, database_template)
    assert "did not come up" not in str(refused.value)
    assert list(tmp_path.glob("redis-*")), "its redis-server was never started"
    assert _processes_in(tmp_path) == []


def test_a_test_console_whose_port_was_taken_meanwhile_is_started_again_on_other_ports(
    tmp_path: Path, database_template, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`start_console`: when another process takes the port `free_port` gave (here the redis-server's, held by a
    listening socket) before the server binds it, the server comes up on other ports instead of failing the module."""
    from tests.support import servers

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        held = taken.getsockname()[1]
        ports = iter([held])
        monkeypatch.setattr(servers, "free_port", lambda: next(ports, None) or free_port())
        running = start_console(tmp_path, {}, database_template)
    try:
        assert requests.get(f"{running.server.url}/healthz", timeout=5).ok
        assert running.server.env["REDIS_URL"] != f"redis://127.0.0.1:{held}/0"
        assert sorted(d.name for d in tmp_path.glob("redis-*")) == ["redis-1", "redis-2"]
    finally:
        running.stop()


def _processes_in(folder: Path) -> list[str]:
    """The live processes working in `folder` or below (a redis-server runs in its `--dir`, and renames itself)."""
    found = []
    for cwd in Path("/proc").glob("[0-9]*/cwd"):
        try:
            where = cwd.readlink()
        except OSError:  # ended meanwhile, or not ours to read
            continue
        if where == folder or folder in where.parents:
            found.append(f"{cwd.parent.name}: {(cwd.parent / 'comm').read_text().strip()} in {where}")
    return found
