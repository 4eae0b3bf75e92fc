"""RQ's workers as our processes run them: stopped while Redis is gone, they say so in one line, not a traceback.

Under `./run demo` honcho stops Redis together with every other process, so the `webhooks` and `planner`
processes often stop after their Redis: RQ's sign-off (`register_death`, the scheduler's lock release)
then raised a ConnectionError traceback. Nothing is lost by skipping it: RQ forgets a worker when its
key expires, and the scheduler's lock expires by itself (60 s).
"""

from __future__ import annotations

import contextlib
import logging
import os
from types import FrameType
from typing import Any

from redis.client import PubSub, PubSubWorkerThread
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import SimpleWorker, Worker
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.exceptions import StopRequested
from rq.scheduler import RQScheduler

log = logging.getLogger(__name__)


class QuietWorker(Worker):
    """RQ's Worker (a work-horse forked per job), signing off quietly when Redis went away before it stopped.

    It also stops when Redis is gone. Idle, RQ stops a worker by raising `StopRequested` from the SIGTERM handler
    wherever the main thread is; while Redis is gone that is often inside the line logging "could not connect to
    Redis ... retrying", and `logging` swallows an exception raised in a handler ("--- Logging error ---"): RQ then
    retried forever and the process never stopped (seen: `honcho` and the tests waited in vain). The stop is
    therefore also remembered, and the next turn of the wait for a job raises it again, after at most
    `max_connection_wait_time` (5 s here instead of RQ's 60, which also reconnects sooner once Redis is back).
    Redis gone at the top of RQ's loop (the suspension check, the maintenance, the "idle" state the wait for a job
    writes first) no longer makes the worker quit: the wait for a job that follows retries until Redis is back.
    """

    max_connection_wait_time = 5.0
    horse_stop_signal: int | None = None
    """Sent to the work-horse running a job when this worker is told to stop (None: RQ's warm shutdown only waits
    for the job to end)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stop_signalled = False
        self._waiting_for_job = False

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        self._stop_signalled = True
        if self.horse_stop_signal is not None and self.horse_pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.horse_pid, self.horse_stop_signal)
        super().request_stop(signum, frame)

    def set_shutdown_requested_date(self) -> None:
        try:
            super().set_shutdown_requested_date()
        except RedisConnectionError:
            # A stop while a job runs and Redis is gone: the date is a marker for RQ's listings, and the stop is kept
            # (RQ set it before writing the date); raised from the signal handler, it ended the wait for the horse.
            pass

    def monitor_work_horse(self, job: Any, queue: Any) -> None:
        try:
            super().monitor_work_horse(job, queue)
        except RedisConnectionError:
            # Redis went away while the horse works (honcho stops it with every other process): RQ's bookkeeping
            # raised out of the wait and the planner died, leaving its horse to run on alone. Wait for the horse.
            log.info("Redis is gone: worker %s waits for its job to end without reporting on it", self.name)
            self.wait_for_horse()
            self._horse_pid = 0

    def dequeue_job_and_maintain_ttl(self, *args: Any, **kwargs: Any) -> Any:
        self._waiting_for_job = True
        try:
            return super().dequeue_job_and_maintain_ttl(*args, **kwargs)
        finally:
            self._waiting_for_job = False

    def check_for_suspension(self, burst: bool) -> None:
        try:
            super().check_for_suspension(burst)
        except RedisConnectionError:
            pass  # Redis is gone: the wait for a job that comes next waits for it (or for the stop); RQ would quit

    def run_maintenance_tasks(self) -> None:
        try:
            super().run_maintenance_tasks()
        except RedisConnectionError:
            pass  # the same; RQ runs them again at its next interval

    def set_state(self, state: str, pipeline: Any = None) -> None:
        try:
            super().set_state(state, pipeline)
        except RedisConnectionError:
            # Redis is gone: the wait for a job writes "idle" first, outside its own retries, so RQ quit here
            # ("found an unhandled exception") and the process ended by itself (seen when a test stopped Redis at
            # that moment: a stop then came while Python was ending and killed it). The state is a marker for RQ's
            # listings; the wait that follows retries until Redis is back or the worker is stopped.
            pass

    def heartbeat(self, *args: Any, **kwargs: Any) -> None:
        if self._stop_signalled and self._waiting_for_job:  # the stop was raised into a logging call and lost there
            raise StopRequested()
        try:
            super().heartbeat(*args, **kwargs)
        except RedisConnectionError:
            if not self._stop_signalled:
                raise
            raise StopRequested() from None  # stopping after its job, Redis already gone: no traceback for it

    def _pubsub_exception_handler(self, exc: Exception, pubsub: PubSub, pubsub_thread: PubSubWorkerThread) -> None:
        if self._shutdown_requested_date is not None and isinstance(exc, RedisConnectionError):
            pubsub_thread.stop()  # stopping anyway: no "retrying" for a Redis that is gone
            return
        super()._pubsub_exception_handler(exc, pubsub, pubsub_thread)

    def teardown(self) -> None:
        try:
            super().teardown()
        except RedisConnectionError:
            if self.pubsub_thread is not None:
                self.pubsub_thread.stop()
            log.info(
                "Redis is gone: worker %s stops without signing off (RQ forgets it when its key expires)", self.name
            )


class QuietScheduler(RQScheduler):
    """RQ's scheduler; when Redis is gone at its stop, its lock is left to expire (60 s) instead of a traceback.

    When Redis goes away while it runs (its heartbeat every second finds no server), the scheduler process ends with
    one line instead of RQ's traceback; its worker starts a new scheduler once it reaches Redis again (RQ's
    maintenance takes the lock again when the scheduler's process is gone).
    """

    def work(self) -> None:
        try:
            super().work()
        except RedisConnectionError:
            log.info("Redis is gone: the scheduler stops; its worker starts a new one when Redis is back")

    def stop(self) -> None:
        try:
            super().stop()
        except RedisConnectionError:
            log.info("Redis is gone: the scheduler stops without releasing its lock (it expires in 60 s)")


class QuietSimpleWorker(QuietWorker, SimpleWorker):
    """RQ's SimpleWorker (jobs in-process) with `QuietScheduler` when it works `with_scheduler`."""

    def _start_scheduler(
        self,
        burst: bool = False,
        logging_level: str | None = "INFO",
        date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
        log_format: str = DEFAULT_LOGGING_FORMAT,
    ) -> None:
        if burst:  # a burst worker enqueues the due jobs once, in-process: RQ's own way is fine
            super()._start_scheduler(burst, logging_level, date_format, log_format)
            return
        # rq 2.12's Worker._start_scheduler, with our scheduler class (RQ has no setting for it): take the
        # queues' scheduler lock and, when this worker got it, fork the scheduler process.
        self.scheduler = QuietScheduler(
            self.queues, connection=self.connection, serializer=self.serializer, date_format=date_format,
            log_format=log_format, logging_level=logging_level if logging_level is not None else self.log.level,
        )  # fmt: skip
        self.scheduler.acquire_locks()
        if self.scheduler.acquired_locks:
            self.scheduler.start()
