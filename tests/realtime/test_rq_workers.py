"""RQ's workers as our processes run them: a stop after Redis went away says so in one line, not a traceback."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator

import pytest
import redis
from rq import Queue
from rq.exceptions import StopRequested

from realtime.redis_server import start_redis
from realtime.rq_workers import QuietScheduler, QuietWorker
from tests.support.servers import REPO, free_port, wait_until


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


class _StillWaiting(BaseException):
    """Raised by the test's log handler when the worker keeps waiting for Redis after its stop was signalled."""


def test_a_stop_signalled_while_the_worker_logs_that_redis_is_gone_still_stops_it(own_redis):
    """Tests that an idle worker whose Redis went away stops when SIGTERM's handler runs while it is logging "could not
    connect to Redis ... retrying" (RQ raises the stop from the handler, and `logging` swallows it there), instead of
    retrying forever: the process ends as honcho asks."""
    import signal
    import threading

    from rq.exceptions import StopRequested

    proc, connection = own_redis
    worker = QuietWorker([Queue("outfield-plans", connection=connection)], connection=connection, name="planner-y")
    retries_after_stop: list[str] = []

    class SignalInsideLogging(logging.Handler):
        """Runs the SIGTERM handler inside the first retry line's logging call, as a signal arriving there does."""

        def emit(self, record: logging.LogRecord) -> None:
            if "could not connect to Redis" not in record.getMessage():
                return
            if worker._stop_signalled:
                retries_after_stop.append(record.getMessage())
                if len(retries_after_stop) >= 2:
                    raise _StillWaiting(record.getMessage())
                return
            try:
                worker.request_stop(signal.SIGTERM, None)
            except Exception:
                self.handleError(record)  # what logging's own handlers do with it: the stop is lost there

    def stop_redis_once_the_worker_waits() -> None:
        wait_until(lambda: any(c.get("cmd") == "blmove" for c in connection.client_list()), 10, "the worker's wait")
        proc.terminate()

    handler = SignalInsideLogging()
    rq_log = logging.getLogger("rq.worker")
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    stopper = threading.Thread(target=stop_redis_once_the_worker_waits)
    rq_log.addHandler(handler)
    try:
        stopper.start()
        with pytest.raises(StopRequested):
            worker.dequeue_job_and_maintain_ttl(30)
    finally:
        rq_log.removeHandler(handler)
        for sig, action in saved.items():
            signal.signal(sig, action)
        stopper.join(10)
    assert retries_after_stop == []


def test_a_worker_whose_redis_is_gone_at_the_top_of_its_loop_goes_on_waiting_instead_of_quitting(own_redis):
    """Tests that the suspension check and the maintenance at the top of RQ's loop do not raise when Redis is gone
    (RQ would log "found an unhandled exception, quitting" and the process would end by itself): the wait for a job
    after them retries until Redis is back or the worker is stopped."""
    proc, connection = own_redis
    worker = QuietWorker([Queue("outfield-plans", connection=connection)], connection=connection, name="planner-z")
    proc.terminate()
    proc.wait(10)
    with pytest.raises(redis.exceptions.ConnectionError):
        connection.ping()
    worker.check_for_suspension(False)
    worker.run_maintenance_tasks()
    assert not worker._stop_requested
    # The wait for a job writes "idle" before its own retries begin; with Redis gone that raised, and RQ quit. Now
    # the wait goes on to its retries, which end here at once because a stop was signalled.
    worker._stop_signalled = True
    with pytest.raises(StopRequested):
        worker.dequeue_job_and_maintain_ttl(1)


PLANNER = """
import logging, signal, sys
import redis
from rq import Queue
from realtime.rq_workers import QuietWorker
from services.plan_run import halt_on

logging.basicConfig(level=logging.INFO)
connection = redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1)
halt_on(signal.SIGUSR1)  # as `python -m console plan-worker` does, before RQ forks its horse
worker = QuietWorker([Queue("outfield-plans", connection=connection)], connection=connection, name="planner-z",
                     job_monitoring_interval=1)
worker.horse_stop_signal = signal.SIGUSR1
worker.work(burst=False, with_scheduler=False)
"""


def test_a_planner_stopped_after_its_redis_went_away_stops_its_horse_s_job_and_exits_without_a_traceback(
    own_redis, tmp_path
):
    """Tests that a forking planner whose Redis is gone while its work-horse runs a job (as honcho stops the demo:
    Redis with everything) keeps waiting for the horse instead of dying on RQ's bookkeeping, that SIGTERM then
    reaches the horse's job as the plan's stop (`plan_run.HALT`), and that the planner exits within 15 s with no
    traceback and no horse left running (before: tracebacks, and the horse ran on alone)."""
    import os
    import signal
    import sys
    import time

    proc, connection = own_redis
    marker = tmp_path / "horse.txt"
    Queue("outfield-plans", connection=connection).enqueue("tests.realtime.rq_horse_jobs.wait_for_halt", str(marker))
    url = f"redis://127.0.0.1:{connection.connection_pool.connection_kwargs['port']}/0"
    log = tmp_path / "planner.log"
    with open(log, "wb") as out:
        planner = subprocess.Popen([sys.executable, "-c", PLANNER, url], cwd=REPO, stdout=out, stderr=out)
    try:
        wait_until(lambda: marker.exists() and marker.read_text().startswith("started"), 30, "the horse's job")
        horse = int(marker.read_text().split()[1])
        proc.terminate()
        proc.wait(10)
        wait_until(lambda: "waits for its job to end" in log.read_text(), 15, "the planner's word that Redis is gone")
        assert planner.poll() is None, log.read_text()  # still waiting for its horse, not dead on a ConnectionError
        began = time.monotonic()
        planner.send_signal(signal.SIGTERM)
        planner.wait(15)
        assert time.monotonic() - began < 15
        assert marker.read_text().splitlines()[-1] == "halted"
        wait_until(lambda: not os.path.exists(f"/proc/{horse}") or _zombie(horse), 10, "the horse's end")
        assert "Traceback" not in log.read_text(), log.read_text()
    finally:
        if planner.poll() is None:
            planner.kill()
            planner.wait(10)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
