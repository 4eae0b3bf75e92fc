"""Jobs an RQ work-horse runs in tests/realtime/test_rq_workers.py (RQ imports a job's function by its dotted name)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from services import plan_run


def wait_for_halt(marker: str) -> str:
    """Say the horse's pid in `marker`, then wait until the planner's stop reaches this horse (`plan_run.HALT`, as a
    plan's stop check reads it) and say "halted"; a minute without it says "never halted"."""
    Path(marker).write_text(f"started {os.getpid()}\n")
    deadline = time.monotonic() + 60
    while not plan_run.HALT.is_set() and time.monotonic() < deadline:
        plan_run.HALT.wait(0.05)  # the polling step of the wait: it ends on the stop, not on time
    with open(marker, "a") as out:
        out.write("halted\n" if plan_run.HALT.is_set() else "never halted\n")
    return "halted"
