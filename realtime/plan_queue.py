"""The plan jobs' Redis side: the RQ queue, which planners listen on it, stop flags and liveness leases.

Every Redis call of the route-plan jobs is here. A Redis error never escapes a read: no planner,
no RQ job, no stop flag and no lease is what the caller then sees, and the web process runs the
job itself (see `services.plan_jobs`). The planner process (`console/plan_worker.py`) works the queue
through `PlanQueue.work`, so nothing outside `realtime/` touches Redis or RQ.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job

from realtime.rq_workers import QuietWorker

log = logging.getLogger(__name__)

QUEUE_NAME = "outfield-plans"
PLANNER_TTL_S = 30
"""A planner's worker TTL: it heartbeats at least every `PLANNER_TTL_S - 15` s while idle."""
JOB_MONITOR_S = 5
"""How often a planner heartbeats while its work-horse runs a job."""
LEASE_S = 30
"""A running or locally queued job renews its lease well within this; a lapsed lease means its process died."""
STOP_TTL_S = 3600
ENQUEUE_MARGIN_S = 300
"""RQ's job timeout is the time budget plus this (building the travel-time matrix, writing the result)."""


class QueueUnreachable(Exception):
    """Redis did not take the job (down, stalled): the caller runs the plan itself."""


def job_id(plan_id: int) -> str:
    return f"outfield-plan-{plan_id}"


def _stop_key(plan_id: int) -> str:
    return f"outfield:plan-stop:{plan_id}"


def _lease_key(plan_id: int) -> str:
    return f"outfield:plan-lease:{plan_id}"


@dataclass(frozen=True, slots=True)
class QueuedState:
    """What RQ says about a plan's job: its status ("queued", "started", "failed", ...) and, when failed, why."""

    status: str
    reason: str | None = None


class PlanQueue:
    def __init__(self, redis_url: str) -> None:
        self._url = redis_url
        self._redis: redis.Redis | None = None

    @property
    def redis(self) -> redis.Redis:
        if self._redis is None:  # no I/O at construction: the first call connects
            self._redis = redis.Redis.from_url(self._url, socket_connect_timeout=2, socket_timeout=5)
        return self._redis

    def queue(self) -> Queue:
        return Queue(QUEUE_NAME, connection=self.redis)

    def planners(self, *, now: datetime | None = None) -> list[str]:
        """Names of the RQ workers listening on the plan queue that heartbeat recently (none on a Redis error)."""
        moment = now or datetime.now(UTC)
        try:
            workers = Worker.all(queue=self.queue())
        except RedisError:
            log.warning("Redis unreachable: cannot ask for plan workers")
            return []
        fresh = moment - timedelta(seconds=PLANNER_TTL_S)
        return [w.name for w in workers if w.last_heartbeat is not None and w.last_heartbeat >= fresh]

    def enqueue(self, plan_id: int, *, seconds: float) -> None:
        """Queue `services.plan_run.run_plan_job(plan_id)` for a planner (QueueUnreachable on a Redis error)."""
        try:
            self.queue().enqueue(
                "services.plan_run.run_plan_job",
                plan_id,
                job_id=job_id(plan_id),
                job_timeout=int(seconds) + ENQUEUE_MARGIN_S,
                result_ttl=86400,
                failure_ttl=7 * 86400,
                description=f"route plan {plan_id}",
            )
        except RedisError as exc:
            raise QueueUnreachable(type(exc).__name__) from exc

    def state(self, plan_id: int) -> QueuedState | None:
        """RQ's view of the plan's job, or None when RQ has no such job (run in-process, expired, Redis down)."""
        try:
            job = Job.fetch(job_id(plan_id), connection=self.redis)
            status = job.get_status(refresh=False)
            if status is None:
                return None
            if status.value not in ("failed", "stopped", "canceled"):
                return QueuedState(status.value)
            result = job.latest_result()
        except (NoSuchJobError, RedisError):
            return None
        lines = [line for line in ((result.exc_string if result else None) or "").splitlines() if line.strip()]
        return QueuedState(
            status.value, lines[-1].strip(" ;") if lines else f"the plan worker reported it {status.value}"
        )

    def request_stop(self, plan_id: int) -> bool:
        try:
            self.redis.set(_stop_key(plan_id), "1", ex=STOP_TTL_S)
        except RedisError:
            log.warning("Redis unreachable: cannot flag plan %d to stop", plan_id)
            return False
        return True

    def stop_requested(self, plan_id: int) -> bool:
        try:
            return bool(self.redis.exists(_stop_key(plan_id)))
        except RedisError:
            return False

    def renew_leases(self, plan_ids: Iterable[int]) -> None:
        try:
            with self.redis.pipeline() as pipe:
                for plan_id in plan_ids:
                    pipe.set(_lease_key(plan_id), "1", ex=LEASE_S)
                pipe.execute()
        except RedisError:
            log.warning("Redis unreachable: cannot renew plan leases")

    def lease_alive(self, plan_id: int) -> bool:
        try:
            return bool(self.redis.exists(_lease_key(plan_id)))
        except RedisError:
            return False

    def finished(self, plan_id: int) -> None:
        """Drop the job's lease and stop flag once it has written its final state."""
        try:
            self.redis.delete(_lease_key(plan_id), _stop_key(plan_id))
        except RedisError:
            pass

    def wait_until_up(self, *, attempts: int = 60) -> None:
        """Wait for Redis to come up (the Procfile starts it beside the planner); give up after a minute."""
        for attempt in range(attempts):
            try:
                self.redis.ping()
                return
            except RedisError:
                if attempt == 0:
                    log.info("waiting for Redis at the configured REDIS_URL")
                time.sleep(1)
        self.redis.ping()  # raises with the reason

    def work(self, *, name: str, burst: bool = False, horse_stop_signal: int | None = None) -> None:
        """Be a planner: run the queued plan jobs (RQ forks a work-horse per job) until stopped or, with `burst`, empty.
        Told to stop, it sends `horse_stop_signal` to the horse running a job (`QuietWorker.horse_stop_signal`)."""
        worker = QuietWorker(
            [self.queue()],
            connection=self.redis,
            name=name,
            worker_ttl=PLANNER_TTL_S,
            job_monitoring_interval=JOB_MONITOR_S,
        )
        worker.horse_stop_signal = horse_stop_signal
        worker.work(burst=burst, with_scheduler=False, logging_level="INFO")
