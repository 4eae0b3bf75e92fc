"""A planner process told to stop (SIGTERM, as honcho and deploys stop it) while it runs a plan: the plan stops as
*Stop* stops it, keeping its best plan, and the planner exits without leaving its work-horse behind.

A module of its own: the planner here is the only one on the queue (the `plan_worker` fixture of
test_plan_worker.py would take the job instead).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from realtime.plan_queue import PlanQueue
from tests.support.plan_day import seed_day, wait_for
from tests.support.servers import REPO, wait_until

pytestmark = pytest.mark.integration


def planners_of(var: str) -> list[int]:
    """The pids of `plan-worker` processes (a planner or a work-horse it forked) of the server whose var folder is
    `var`."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes()
        except (OSError, ValueError):
            continue
        if b"plan-worker" in cmdline and f"OUTFIELD_VAR={var}".encode() in environ.split(b"\0"):
            found.append(int(proc.name))
    return found


def test_a_planner_told_to_stop_stops_its_plan_keeping_the_best_and_leaves_no_process(console_server, tmp_path_factory):
    """Tests that SIGTERM to a planner running a 60 s plan ends the plan "stopped" with its routes, and that the
    planner exits within 30 s leaving no process behind (before, it waited out the plan; with Redis stopped at the
    same moment, as `./run demo` stops, it died and its work-horse ran on alone)."""
    seeded = seed_day(console_server, tmp_path_factory)
    manager = {
        "Authorization": "Bearer " + console_server.cli("data", "create-user", "--role", "manager", "--name", "m")
    }
    env = console_server.env
    with open(console_server.log_path.parent / "planner-stop.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "console", "plan-worker"], env=env, cwd=REPO, stdout=log,
                                stderr=log)  # fmt: skip
    try:
        name = f"planner-{socket.gethostname()}-{proc.pid}"
        wait_until(lambda: name in PlanQueue(env["REDIS_URL"]).planners(), 30, "python -m console plan-worker")
        r = requests.post(f"{console_server.url}/api/v1/plans", json={"date": seeded["date"], "seconds": 60},
                          headers=manager, timeout=10)  # fmt: skip
        plan_id = r.json()["id"]
        wait_for(console_server, manager, plan_id, {"running"})
        began = time.monotonic()
        proc.terminate()
        proc.wait(45)
        assert time.monotonic() - began < 30  # not the plan's 60 s
        plan = wait_for(console_server, manager, plan_id, {"stopped", "done", "failed", "interrupted"}, timeout_s=10)
        assert plan["status"] == "stopped" and plan["plan"]["routes"], plan
        assert planners_of(env["OUTFIELD_VAR"]) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
