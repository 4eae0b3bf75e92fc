"""`python -m console plan-worker`: an RQ worker that runs the route-plan jobs queued on the project's Redis.

The parent process sets up what every job needs once (database sessions, the travel-time provider
— OSRM takes a while to load —, clock, seed and a write-only Socket.IO emitter on the message
queue), then RQ forks a work-horse per job, which inherits it. One job at a time per process:
start more processes for more throughput.
"""

from __future__ import annotations

import logging
import os
import signal
import socket

from data.db import make_engine, make_sessionmaker
from data.settings import Settings
from dispatch import localtime
from dispatch.clock import SystemClock
from realtime.field_events import alert_settings
from realtime.plan_queue import PlanQueue
from routing.travel import make_travel_times
from services import travel_learning
from services.plan_run import PlanContext, halt_on, install

log = logging.getLogger("outfield.planner")


def run_planner(settings: Settings, *, burst: bool = False) -> int:
    """Work the plan queue until SIGTERM/SIGINT (or, with `burst`, until it is empty)."""
    from flask_socketio import SocketIO

    queue = PlanQueue(settings.redis_url)
    queue.wait_until_up()
    name = f"planner-{socket.gethostname()}-{os.getpid()}"
    emitter = SocketIO(message_queue=settings.redis_url, async_mode="threading")
    clock = SystemClock()
    install(
        PlanContext(
            sessions=make_sessionmaker(make_engine(settings.database_url)),
            # loaded here, before RQ forks a work-horse per job; × the learned factors when they were learned
            travel=travel_learning.travel_times(make_travel_times(settings.osrm_dir), settings.var_dir, clock.now),
            clock=clock,
            seed=settings.seed,
            emit=lambda event, payload, room: emitter.emit(event, payload, to=room),
            queue=queue,
            runner=name,
            zone=localtime.zone(settings.timezone),  # a plan's day is the office's local day
            processes=settings.plan_processes,
            alerts=alert_settings(settings),  # a break on a worker's track is a long stop, as the alerts judge it
        )
    )
    # Told to stop (SIGTERM, Ctrl-C), the planner has the job it runs stop as Stop does, keeping its best plan, and
    # exits once it is stored, instead of waiting out the job's budget (or leaving its work-horse running on).
    halt_on(signal.SIGUSR1)
    log.info("plan worker %s is waiting for route-plan jobs", name)
    queue.work(name=name, burst=burst, horse_stop_signal=signal.SIGUSR1)
    return 0
