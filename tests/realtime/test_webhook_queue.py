"""The webhook queue on RQ: a retry scheduled for a time reaches the sender then, never before."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime

import fakeredis
import pytest
from rq.registry import ScheduledJobRegistry

from realtime.webhook_queue import DeliveryQueue


@pytest.fixture
def queue() -> DeliveryQueue:
    """A DeliveryQueue on fakeredis (unit tests only; tests/integration/test_webhooks.py runs the real sender)."""
    q = DeliveryQueue("redis://127.0.0.1:1/0")
    q._redis = fakeredis.FakeRedis()  # noqa: SLF001 - swap the transport for a fake
    return q


def handed_over(queue: DeliveryQueue, at: datetime) -> list[object]:
    """The delivery ids RQ's scheduler moves to the queue on its tick at `at` (it asks for the tick's whole second)."""
    registry = ScheduledJobRegistry(queue=queue.queue())
    job_ids = registry.get_jobs_to_schedule(calendar.timegm(at.utctimetuple()))
    return [job.args[0] for job in queue.queue().job_class.fetch_many(job_ids, connection=queue.queue().connection)]


def test_a_retry_due_within_a_second_is_not_handed_to_the_sender_before_it_is_due(queue):
    """Tests that a delivery queued for 08:00:31.7 is not handed to the sender on the scheduler's tick at
    08:00:31.2 (RQ counts whole seconds: it would be sent early and refused as not due), and is at 08:00:32.2."""
    queue.enqueue([7], at=datetime(2030, 3, 4, 8, 0, 31, 700_000, tzinfo=UTC))
    assert handed_over(queue, datetime(2030, 3, 4, 8, 0, 31, 200_000, tzinfo=UTC)) == []
    assert handed_over(queue, datetime(2030, 3, 4, 8, 0, 32, 200_000, tzinfo=UTC)) == [7]


def test_a_retry_due_on_a_whole_second_is_handed_over_on_the_first_tick_of_that_second(queue):
    """Tests that a delivery queued for 08:00:31 is handed over on the tick at 08:00:31.2, not a second later."""
    queue.enqueue([8], at=datetime(2030, 3, 4, 8, 0, 31, tzinfo=UTC))
    assert handed_over(queue, datetime(2030, 3, 4, 8, 0, 30, 900_000, tzinfo=UTC)) == []
    assert handed_over(queue, datetime(2030, 3, 4, 8, 0, 31, 200_000, tzinfo=UTC)) == [8]
