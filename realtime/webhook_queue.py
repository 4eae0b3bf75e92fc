"""The webhook deliveries' Redis side: the RQ queue `outfield-webhooks` and the worker loop that drains it.

The database's `webhook_deliveries` rows are the queue's source of truth (`data/webhooks_repo.py`); a
job here only wakes the `webhooks` process (`console/webhook_worker.py`) for one delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

import redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker

log = logging.getLogger(__name__)

QUEUE_NAME = "outfield-webhooks"
JOB = "console.webhook_worker.deliver_job"


class DeliveryQueue:
    """Enqueues deliveries on RQ; a Redis error is logged, never raised (the worker's sweep finds them)."""

    def __init__(self, redis_url: str) -> None:
        self._url = redis_url
        self._redis: redis.Redis | None = None

    def queue(self) -> Queue:  # tests look at the RQ queue's workers
        if self._redis is None:
            self._redis = redis.Redis.from_url(self._url, socket_connect_timeout=2, socket_timeout=5)
        return Queue(QUEUE_NAME, connection=self._redis)

    def enqueue(self, delivery_ids: Iterable[int], *, delay_s: float = 0.0) -> None:
        try:
            queue = self.queue()
            for delivery_id in delivery_ids:
                if delay_s > 0:
                    queue.enqueue_in(timedelta(seconds=delay_s), JOB, delivery_id, result_ttl=0)
                else:
                    queue.enqueue(JOB, delivery_id, result_ttl=0)
        except RedisError as exc:
            log.warning(
                "webhook deliveries not enqueued (%s); the webhook worker's sweep will send them", type(exc).__name__
            )

    def work(self, *, name: str) -> None:
        """Send deliveries until stopped. SimpleWorker: a delivery is one HTTP call, not worth a fork per job."""
        queue = self.queue()
        SimpleWorker([queue], connection=queue.connection, name=name).work(with_scheduler=True, logging_level="WARNING")
