"""RQ's workers as our processes run them: a stop after Redis went away says so in one line, not a traceback."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator

import pytest
import redis
from rq import Queue

from realtime.redis_server import start_redis
from realtime.rq_workers import QuietScheduler, QuietWorker
from tests.support.servers import free_port, wait_until


@pytest.fixture
def own_redis(tmp_path) -> Iterator[tuple[subprocess.Popen[bytes], redis.Redis]]:
    """A redis-server of this test's own, which the test stops (as honcho stops the demo's, with everything)."""
    port = free_port()
    proc = start_redis(port, tmp_path)
    connection = redis.Redis.from_url(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=1)
    try:
        wait_until(connection.ping, 10, "redis-server")
        yield proc, connection
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_planner_whose_redis_is_gone_stops_with_one_line_instead_of_a_traceback(own_redis, caplog):
    """Tests that a plan worker stopping after its Redis went away signs off with one line saying so (RQ forgets it
    when its key expires) instead of raising ConnectionError out of RQ's teardown."""
    proc, connection = own_redis
    worker = QuietWorker([Queue("outfield-plans", connection=connection)], connection=connection, name="planner-x")
    worker.register_birth()
    proc.terminate()
    proc.wait(10)
    with caplog.at_level(logging.INFO, logger="realtime.rq_workers"):
        worker.teardown()
    assert "Redis is gone: worker planner-x stops without signing off" in caplog.text


def test_a_scheduler_whose_redis_is_gone_stops_leaving_its_lock_to_expire(own_redis, caplog):
    """Tests that the webhook worker's RQ scheduler stopping after its Redis says its lock will expire, and raises
    nothing (its forked process printed two tracebacks)."""
    proc, connection = own_redis
    scheduler = QuietScheduler(["outfield-webhooks"], connection=connection)
    assert scheduler.acquire_locks() == {"outfield-webhooks"}
    proc.terminate()
    proc.wait(10)
    with caplog.at_level(logging.INFO, logger="realtime.rq_workers"):
        scheduler.stop()
    assert "Redis is gone: the scheduler stops without releasing its lock (it expires in 60 s)" in caplog.text
