"""A demo deployment for the browser benches (console.py, live_map.py, attendance.py): redis-server and
`python -m console` on a fresh SQLite file, migrated and seeded with the demo, its demo logins accepted."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import requests

from realtime.redis_server import start_redis
from tests.support.servers import REPO, free_port, run_cli, stop_process, wait_until


@contextmanager
def demo_console(
    var: Path,
    *,
    seed: Sequence[str] = (),
    osrm_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    ready_s: float = 60.0,
) -> Iterator[tuple[str, dict[str, str]]]:
    """Yields (the console's URL, its environment) once `/healthz` answers; stops both servers after.

    The database in `var` is migrated and seeded with `python -m data seed-demo *seed`; `OUTFIELD_DEMO` is on (the
    seeded logins, dispatcher-demo and manager-demo, are accepted in demo mode only); `osrm_dir` is where the road
    network is read (default: none, straight lines); `env` adds to or overrides the rest.
    """
    rport, port = free_port(), free_port()
    procs: list[subprocess.Popen] = [start_redis(rport, var / "redis")]
    full = {
        **os.environ,
        "OUTFIELD_VAR": str(var),
        "DATABASE_URL": f"sqlite:///{var / 'bench.db'}",
        "REDIS_URL": f"redis://127.0.0.1:{rport}/0",
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "SECRET_KEY": "bench",
        "OUTFIELD_DEMO": "1",
        "OUTFIELD_OSRM_DIR": str(osrm_dir or var / "no-osrm"),
        **(env or {}),
    }
    try:
        run_cli("data", "migrate", env=full)
        subprocess.run([sys.executable, "-m", "data", "seed-demo", *seed], env=full, cwd=REPO, check=True,
                       capture_output=True, timeout=1800)  # fmt: skip
        with open(var / "console.log", "wb") as log:
            procs.append(
                subprocess.Popen([sys.executable, "-m", "console"], env=full, cwd=REPO, stdout=log, stderr=log)
            )
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: requests.get(f"{url}/healthz", timeout=1).ok, ready_s, "console")
        yield url, full
    finally:
        for p in reversed(procs):
            stop_process(p, 20)
