"""Real servers for integration and browser tests: redis-server and `python -m console`.

Each listens on a free loopback port. The session's redis-server (`redis_url`) serves the tests that start their own
processes; each module's console server (`console_server`) comes with a redis-server of its own, from the session's
`ConsolePool` (started while the module before ran, stopped after its last test, both in threads).
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests

from realtime.redis_server import start_redis

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class GaveUp(Exception):
    """Raised by a `wait_until` check that knows the condition can no longer come (a process it waits on has
    exited): the wait ends at once with this error instead of running to its timeout."""


def wait_until(check, timeout_s: float, what: str, *, poll_s: float = 0.1) -> None:  # type: ignore[no-untyped-def]
    """Poll `check` (an observable condition) until it holds; the sleep is only the polling step (`poll_s`),
    and `timeout_s` only bounds a broken run: the test goes on the moment the condition is seen. This is the
    one place tests poll; `what` (a string, or a callable giving one) says what never came."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except GaveUp:
            raise
        except Exception:
            pass
        time.sleep(poll_s)  # the polling step between two looks at `check`: the wait ends on the condition, not on time
    raise RuntimeError(f"{what() if callable(what) else what} did not come up within {timeout_s} s")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server (Debian's package) on a free port, for the whole session."""
    port = free_port()
    proc = start_redis(port, tmp_path_factory.mktemp("redis"))
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_until(lambda: redis.Redis.from_url(url).ping(), 10, "redis-server")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def stop_process(proc: subprocess.Popen, grace_s: float) -> None:
    """Ask `proc` to stop (SIGTERM, as honcho and systemd do) and wait `grace_s` for it; then kill it."""
    proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def run_cli(module: str, *args: str, env: dict[str, str]) -> str:
    """Run `python -m module args` like a user would; return stdout, raise with stderr on failure."""
    result = subprocess.run(
        [sys.executable, "-m", module, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        raise RuntimeError(f"python -m {module} {' '.join(args)} failed: {result.stderr}")
    return result.stdout.strip()


@dataclass
class ConsoleServer:
    url: str
    env: dict[str, str]
    admin_token: str
    dispatcher_name: str
    dispatcher_password: str
    log_path: Path
    pid: int = 0

    def cli(self, module: str, *args: str) -> str:
        return run_cli(module, *args, env=self.env)

    def import_csv(self, folder: Path, **tables: str) -> None:
        """`python -m data import-csv` of each table's CSV text (`sites=…`, then `workers=…`), written into `folder`."""
        for kind, text in tables.items():
            path = folder / f"{kind}.csv"
            path.write_text(text)
            self.cli("data", "import-csv", kind, str(path))


@pytest.fixture(scope="module")
def console_env() -> dict[str, str]:
    """Extra environment for a module's `console_server` (override it in a test module, e.g. a time zone)."""
    return {}


@dataclass(frozen=True)
class DatabaseTemplate:
    """A migrated SQLite database with an admin (its API token) and a dispatcher (password 'dispatch-pw')."""

    path: Path
    admin_token: str


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> DatabaseTemplate:
    """Made once per session by the CLI a user runs (`python -m data migrate`, `create-user`); each
    module's server gets a copy, a clean database without three CLI runs of its own."""
    var = tmp_path_factory.mktemp("template")
    env = {**os.environ, "OUTFIELD_VAR": str(var), "DATABASE_URL": f"sqlite:///{var / 'outfield.db'}",
           "SECRET_KEY": "test-secret"}  # fmt: skip
    run_cli("data", "migrate", env=env)
    admin_token = run_cli("data", "create-user", "--role", "admin", "--name", "admin", env=env)
    run_cli("data", "create-user", "--role", "dispatcher", "--name", "dispatcher", "--password", "dispatch-pw", env=env)
    return DatabaseTemplate(var / "outfield.db", admin_token)


def copy_database(template: DatabaseTemplate, to: Path) -> None:
    """A consistent copy of the template (SQLite's backup API: the WAL's pages included)."""
    with closing(sqlite3.connect(template.path)) as source, closing(sqlite3.connect(to)) as target:
        source.backup(target)


def start_console(var: Path, console_env: dict[str, str], template: DatabaseTemplate) -> Running:
    """A redis-server of its own and `python -m console` on a copy of the template in `var`, both on free loopback
    ports, once `/healthz` answers. Should another process take one of the two ports between `free_port` and the
    bind, the server is started again on others."""
    try:
        return _start_console(var, console_env, template, attempt=1)
    except _PortTaken:
        return _start_console(var, console_env, template, attempt=2)


class _PortTaken(GaveUp):
    """One of the two ports was taken before the server bound it."""


def _start_console(var: Path, console_env: dict[str, str], template: DatabaseTemplate, *, attempt: int) -> Running:
    redis_port, port = free_port(), free_port()
    redis_proc = start_redis(redis_port, var / f"redis-{attempt}")
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    env = {
        **os.environ,
        "OUTFIELD_VAR": str(var),
        "DATABASE_URL": f"sqlite:///{var / 'outfield.db'}",
        "REDIS_URL": redis_url,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "SECRET_KEY": "test-secret",
        "OUTFIELD_OSRM_DIR": str(var / "no-osrm"),
        # One worker process: a module's tests then meet one warm process and one relay, never a relay
        # hand-over (and its resync) mid-test. Several workers are tested in tests/integration/test_server.py.
        "OUTFIELD_WEB_WORKERS": "1",
        "OUTFIELD_TIMEZONE": "UTC",
        **console_env,
    }
    log_path = var / "console.log"
    proc: subprocess.Popen[bytes] | None = None

    def alive(process: subprocess.Popen[bytes], what: str) -> None:
        """Raise when `process` has exited: `_PortTaken` (start again) when a first start lost one of its ports."""
        if process.poll() is None:
            return
        log = log_path.read_text(errors="replace") if process is proc else ""
        port_lost = process is redis_proc or "not free" in log  # the console says "port N ... is not free"
        error = _PortTaken if attempt == 1 and port_lost else GaveUp
        raise error(f"{what} exited at start (status {process.returncode}): {log[-2000:]}")

    try:
        wait_until(lambda: alive(redis_proc, "redis-server") or redis.Redis.from_url(redis_url).ping(), 10,
                   "redis-server")  # fmt: skip
        copy_database(template, var / "outfield.db")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "console"], env=env, cwd=REPO, stdout=log, stderr=log)
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: alive(proc, "python -m console") or requests.get(f"{url}/healthz", timeout=1).ok, 30,
                   "python -m console")  # fmt: skip
    except BaseException:
        if proc is not None:
            stop_process(proc, 10)
        stop_process(redis_proc, 10)
        raise
    server = ConsoleServer(url, env, template.admin_token, "dispatcher", "dispatch-pw", log_path, proc.pid)
    return Running(server, proc, redis_proc)


@dataclass
class Running:
    """A module's console server and the redis-server only it uses."""

    server: ConsoleServer
    console: subprocess.Popen[bytes]
    redis: subprocess.Popen[bytes]

    def stop(self) -> None:
        stop_process(self.console, 10)
        stop_process(self.redis, 10)


class ConsolePool:
    """The modules' console servers with the default `console_env`, each started while the module before it runs.

    A server takes a few seconds to come up (its imports, gunicorn's worker, the relay) and one to drain, about a
    tenth of the suite when each module waited for both. Here the next module's server (a fresh copy of the
    template, its own redis-server, so two servers alive at once never share a relay lock, a plan queue or the
    Socket.IO channel) starts in a thread as soon as one is taken, and a module's server is stopped in another
    thread after its last test. One process of the suite (an xdist worker) has its own pool.
    """

    def __init__(self, tmp_path_factory: pytest.TempPathFactory, template: DatabaseTemplate) -> None:
        self._tmp = tmp_path_factory
        self._template = template
        self._starter = ThreadPoolExecutor(1, thread_name_prefix="console-start")
        self._stopper = ThreadPoolExecutor(1, thread_name_prefix="console-stop")
        self._next: Future[Running] | None = None
        self._stopping: list[Future[None]] = []

    def _start_ahead(self) -> None:
        var = self._tmp.mktemp("var")  # here, not in the thread: pytest's numbered folders are made by one thread
        self._next = self._starter.submit(start_console, var, {}, self._template)

    def take(self) -> Running:
        if self._next is None:
            self._start_ahead()
        assert self._next is not None
        started = self._next
        self._start_ahead()
        return started.result()

    def give_back(self, running: Running) -> None:
        self._stopping.append(self._stopper.submit(running.stop))

    def close(self) -> None:
        if self._next is not None:
            with suppress(Exception):
                self._next.result().stop()
        self._starter.shutdown(wait=True)
        self._stopper.shutdown(wait=True)
        for stopping in self._stopping:
            stopping.result()


@pytest.fixture(scope="session")
def console_pool(
    tmp_path_factory: pytest.TempPathFactory, database_template: DatabaseTemplate
) -> Iterator[ConsolePool]:
    pool = ConsolePool(tmp_path_factory, database_template)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(scope="module")
def console_server(
    tmp_path_factory: pytest.TempPathFactory,
    console_env: dict[str, str],
    console_pool: ConsolePool,
    database_template: DatabaseTemplate,
) -> Iterator[ConsoleServer]:
    """`python -m console` on a fresh migrated SQLite database (a copy of the session's template), with an
    admin and a dispatcher, and a redis-server of its own.

    Module-scoped: each test module gets a clean server, database and Redis. Its office time zone is UTC
    unless the module's `console_env` says otherwise; a module that says nothing gets its server from the
    session's `ConsolePool`, started while the module before ran.
    """
    if console_env:
        running = start_console(tmp_path_factory.mktemp("var"), console_env, database_template)
    else:
        running = console_pool.take()
    try:
        yield running.server
    finally:
        if console_env:
            running.stop()
        else:
            console_pool.give_back(running)


@dataclass
class PlanWorkerProcess:
    name: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="module")
def plan_worker(console_server: ConsoleServer) -> Iterator[PlanWorkerProcess]:
    """`python -m console plan-worker` beside the module's console (same database and Redis), up when it
    listens on the plan queue; stopped (and its RQ registration gone) at teardown."""
    from rq import Worker

    from realtime.plan_queue import PlanQueue

    queue = PlanQueue(console_server.env["REDIS_URL"])
    log_path = console_server.log_path.parent / "planner.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "console", "plan-worker"], env=console_server.env, cwd=REPO, stdout=log, stderr=log
        )
    name = f"planner-{socket.gethostname()}-{proc.pid}"
    try:
        wait_until(lambda: name in queue.planners(), 30, "python -m console plan-worker")
        yield PlanWorkerProcess(name, log_path)
    finally:
        stop_process(proc, 30)
        for worker in Worker.all(queue=queue.queue()):
            if worker.name == name:  # killed before it could say goodbye: later modules must not see it
                worker.register_death()
