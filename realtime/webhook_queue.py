"""The webhook deliveries' Redis side: the RQ queue `outfield-webhooks` and the worker loop that drains it.

The database's `webhook_deliveries` rows are the queue's source of truth (`data/webhooks_repo.py`); a
job here only wakes the `webhooks` process (`console/webhook_worker.py`) for one delivery. A retry is
scheduled with RQ's `enqueue_at`; the worker's RQ scheduler (a forked process, a 1 s tick) hands it over.
Stopped while Redis is gone (the demo's honcho stops Redis with everything else), the worker and its
scheduler stop with one line each, not a traceback (`realtime/rq_workers.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

import redis
from redis.exceptions import RedisError
from rq import Queue

from realtime.rq_workers import QuietSimpleWorker

log = logging.getLogger(__name__)

QUEUE_NAME = "outfield-webhooks"
JOB = "console.webhook_worker.deliver_job"
WORKER_TTL_S = 30
"""The sender's RQ worker TTL: it waits for jobs `WORKER_TTL_S - 15` s at a time (RQ's default: 405 s)."""
MAINTENANCE_S = 30
"""How often, between those waits, RQ's maintenance runs (default 10 min); it also takes the scheduler lock when
no scheduler holds it, so after a crash left a stale lock (it expires 60 s after the crash) the restarted
sender's scheduler starts within about `60 + MAINTENANCE_S` s, not 10 min (meanwhile the sweep sends retries)."""


class DeliveryQueue:
    """Enqueues deliveries on RQ; a Redis error is logged, never raised (the worker's sweep finds them)."""

    def __init__(self, redis_url: str) -> None:
        self._url = redis_url
        self._redis: redis.Redis | None = None

    def queue(self) -> Queue:  # tests look at the RQ queue's workers
        if self._redis is None:
            self._redis = redis.Redis.from_url(self._url, socket_connect_timeout=2, socket_timeout=5)
        return Queue(QUEUE_NAME, connection=self._redis)

    def enqueue(self, delivery_ids: Iterable[int], *, at: datetime | None = None) -> None:
        """Queue the deliveries for now, or for `at` (an aware time): never handed to the sender before it."""
        try:
            queue = self.queue()
            for delivery_id in delivery_ids:
                if at is not None:
                    queue.enqueue_at(_whole_second_up(at), JOB, delivery_id, result_ttl=0)
                else:
                    queue.enqueue(JOB, delivery_id, result_ttl=0)
        except RedisError as exc:
            log.warning(
                "webhook deliveries not enqueued (%s); the webhook worker's sweep will send them", type(exc).__name__
            )

    def work(self, *, name: str) -> None:
        """Send deliveries until stopped. SimpleWorker: a delivery is one HTTP call, not worth a fork per job."""
        queue = self.queue()
        worker = QuietSimpleWorker(
            [queue], connection=queue.connection, name=name, worker_ttl=WORKER_TTL_S, maintenance_interval=MAINTENANCE_S
        )
        worker.work(with_scheduler=True, logging_level="WARNING")


def _whole_second_up(at: datetime) -> datetime:
    """RQ scores a scheduled job by its due time's whole second (the fraction dropped) and its scheduler
    enqueues every job whose second has begun: rounded up, a job is never enqueued before `at`."""
    whole = at.replace(microsecond=0)
    return whole if whole == at else whole + timedelta(seconds=1)
