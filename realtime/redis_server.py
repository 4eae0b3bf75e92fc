"""The embedded Redis: a real `redis-server` (Debian's package) run for the demo and the tests.

Redis carries only pub/sub traffic and locks here, so it runs without persistence.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlparse

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def redis_binary() -> str:
    """Path of `redis-server`, or a clear error saying how to install it."""
    path = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
    if path is None:
        raise RuntimeError(
            "redis-server not found: install Debian's package (apt-get install redis-server) or set REDIS_URL"
        )
    return path


def embedded_port(redis_url: str) -> int | None:
    """The port to run an embedded server on, or None when the URL points at another machine."""
    parsed = urlparse(redis_url)
    if parsed.scheme != "redis" or (parsed.hostname or "127.0.0.1") not in LOCAL_HOSTS:
        return None
    return parsed.port or 6379


def redis_command(port: int, workdir: Path) -> list[str]:
    """The command line of an embedded, non-persistent server on loopback."""
    return [
        redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--dir", str(workdir), "--protected-mode", "yes", "--loglevel", "warning",
    ]  # fmt: skip


def start_redis(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    """Start a server in the background (tests, bench); the caller terminates it."""
    workdir.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(redis_command(port, workdir), stdout=subprocess.DEVNULL)
