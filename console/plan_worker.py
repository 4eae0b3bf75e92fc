"""`python -m console plan-worker`: an RQ worker that runs the route-plan jobs queued on the project's Redis.

The parent process sets up what every job needs once (database sessions, the travel-time provider
— OSRM takes a while to load —, clock, seed and a write-only Socket.IO emitter on the message
queue), then RQ forks a work-horse per job, which inherits it. One job at a time per process:
start more processes for more throughput.
"""

from __future__ import annotations

import logging
import os
import socket
import time

from redis.exceptions import RedisError

from data.db import make_engine, make_sessionmaker
from data.settings import Settings
from dispatch.clock import SystemClock
from realtime.plan_queue import JOB_MONITOR_S, PLANNER_TTL_S, PlanQueue
from routing.travel import make_travel_times
from services.plan_run import PlanContext, install

log = logging.getLogger("outfield.planner")


def run_planner(settings: Settings, *, burst: bool = False) -> int:
    """Work the plan queue until SIGTERM/SIGINT (or, with `burst`, until it is empty)."""
    from flask_socketio import SocketIO
    from rq import Worker

    queue = PlanQueue(settings.redis_url)
    _wait_for_redis(queue)
    name = f"planner-{socket.gethostname()}-{os.getpid()}"
    emitter = SocketIO(message_queue=settings.redis_url, async_mode="threading")
    install(
        PlanContext(
            sessions=make_sessionmaker(make_engine(settings.database_url)),
            travel=make_travel_times(settings.osrm_dir),  # loaded here, before RQ forks a work-horse per job
            clock=SystemClock(),
            seed=settings.seed,
            emit=lambda event, payload, room: emitter.emit(event, payload, to=room),
            queue=queue,
            runner=name,
        )
    )
    worker = Worker(
        [queue.queue()],
        connection=queue.redis,
        name=name,
        worker_ttl=PLANNER_TTL_S,
        job_monitoring_interval=JOB_MONITOR_S,
    )
    log.info("plan worker %s is waiting for route-plan jobs", name)
    worker.work(burst=burst, with_scheduler=False, logging_level="INFO")
    return 0


def _wait_for_redis(queue: PlanQueue, *, attempts: int = 60) -> None:
    """Wait for Redis to come up (the Procfile starts it beside us); give up after a minute."""
    for attempt in range(attempts):
        try:
            queue.redis.ping()
            return
        except RedisError:
            if attempt == 0:
                log.info("waiting for Redis at the configured REDIS_URL")
            time.sleep(1)
    queue.redis.ping()  # raises with the reason
