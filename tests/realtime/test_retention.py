"""The hourly purge of personal data past retention, as `python -m realtime worker` runs it."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

import fakeredis
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from data.db import make_sessionmaker, session_scope
from data.positions_repo import add_position, positions_between
from data.workers_repo import add_worker
from dispatch.clock import ManualClock
from dispatch.privacy import RetentionDays
from realtime.bus import Bus
from realtime.retention import PURGE_LOCK, purge_if_leader, purge_once, retention_cutoff, run_purger
from tests.factories import EVERY_DAY_7_TO_19, at, make_position

NOW = at("2025-06-01T08:00:00Z")
HOUR_S = 3600.0


@pytest.fixture
def bus() -> Bus:
    """A Bus on fakeredis (unit tests only; integration tests use a real redis-server)."""
    b = Bus("redis://127.0.0.1:1/0")
    b._redis = fakeredis.FakeRedis(server=fakeredis.FakeServer())  # noqa: SLF001 - swap the transport for a fake
    return b


@pytest.fixture
def sessions(db_engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(db_engine)


@pytest.fixture
def worker_id(sessions: sessionmaker[Session]) -> int:
    with session_scope(sessions) as session:
        return add_worker(session, name="Ana", device_id="dev-1", shifts=(EVERY_DAY_7_TO_19,)).id


def store(sessions: sessionmaker[Session], worker_id: int, *fix_times: datetime) -> None:
    with session_scope(sessions) as session:
        for i, t in enumerate(fix_times):
            add_position(
                session,
                make_position(t.isoformat(), lat=43.7311 + i * 1e-4, worker_id=worker_id, server_time=t.isoformat()),
            )


def kept(sessions: sessionmaker[Session], worker_id: int) -> list[datetime]:
    with session_scope(sessions) as session:
        everything = positions_between(
            session, worker_id=worker_id, start=NOW - timedelta(days=400), end=NOW + timedelta(days=1)
        )
        return [p.fix_time for p in everything]


def test_purge_deletes_only_positions_older_than_the_retention(sessions, worker_id):
    """Tests that with 90 days' retention a fix 90 days and a second old goes, and one exactly 90 days old stays."""
    cutoff = NOW - timedelta(days=90)
    store(sessions, worker_id, cutoff - timedelta(days=30), cutoff - timedelta(seconds=1), cutoff, NOW)
    assert purge_once(sessions=sessions, now=NOW, retention_days=90) == 2
    assert kept(sessions, worker_id) == [cutoff, NOW]
    assert purge_once(sessions=sessions, now=NOW, retention_days=90) == 0


def test_a_retention_below_one_day_is_refused():
    """Tests that a retention of zero days (delete everything) is refused naming the setting."""
    with pytest.raises(ValueError, match="^retention_days: 0 must be >= 1"):
        retention_cutoff(NOW, 0)


def test_only_one_worker_process_purges(sessions, worker_id, bus):
    """Tests that of two workers sharing Redis only the lock holder purges, and keeps purging every round."""
    clock = ManualClock(NOW)
    common = {"bus": bus, "sessions": sessions, "clock": clock, "retention": RetentionDays(positions=90)}
    store(sessions, worker_id, NOW - timedelta(days=100))
    assert purge_if_leader(holder="worker-a", **common)["positions"] == 1
    store(sessions, worker_id, NOW - timedelta(days=95))
    assert purge_if_leader(holder="worker-b", **common) is None
    assert len(kept(sessions, worker_id)) == 1
    clock.advance(HOUR_S)
    assert purge_if_leader(holder="worker-a", **common)["positions"] == 1
    assert bus._redis.pttl(PURGE_LOCK) > HOUR_S * 1000  # noqa: SLF001 - renewed past the next round


def test_the_purger_runs_at_start_then_every_hour_and_releases_the_lock(sessions, worker_id, bus, caplog):
    """Tests that the worker's purger purges at once, then each hour as fixes age past retention, logging counts only."""
    caplog.set_level(logging.INFO, logger="realtime.retention")
    clock = ManualClock(NOW)
    # One fix already too old, one that ages out after 1 hour, one after 3 hours.
    cutoff = NOW - timedelta(days=90)
    store(
        sessions,
        worker_id,
        cutoff - timedelta(hours=1),
        cutoff + timedelta(minutes=30),
        cutoff + timedelta(hours=2, minutes=30),
    )
    stop = threading.Event()
    rounds: list[int] = []

    def wait(seconds: float) -> bool:
        """An hour passes at once; after four rounds the worker is told to stop."""
        rounds.append(len(kept(sessions, worker_id)))
        clock.advance(seconds)
        if len(rounds) == 4:
            stop.set()
        return stop.is_set()

    run_purger(
        bus=bus,
        holder="worker-a",
        sessions=sessions,
        clock=clock,
        retention=RetentionDays(positions=90),
        stop=stop,
        every_s=HOUR_S,
        wait=wait,
    )
    assert rounds == [2, 1, 1, 0]  # left after the purges at 08:00 (start), 09:00, 10:00 and 11:00
    assert bus._redis.get(PURGE_LOCK) is None  # noqa: SLF001 - released on stop
    messages = [r.getMessage() for r in caplog.records]
    assert [m.split(", ")[0] for m in messages] == [f"purged past retention: positions {n}" for n in (1, 1, 0, 1)]
    assert "43.73" not in caplog.text and "7.42" not in caplog.text


def test_a_failed_purge_is_logged_and_retried_next_round(worker_id, bus, caplog):
    """Tests that a database error costs one round, names only the error type, and keeps the purger alive."""

    class Broken:
        def __call__(self) -> Session:
            raise RuntimeError("database is locked: secret 43.7311")

    caplog.set_level(logging.INFO, logger="realtime.retention")
    clock = ManualClock(NOW)
    result = purge_if_leader(bus=bus, holder="a", sessions=Broken(), clock=clock, retention=RetentionDays())  # type: ignore[arg-type]
    assert result is None
    assert [r.getMessage() for r in caplog.records] == [
        "purging personal data failed (RuntimeError); retrying in 3600 s"
    ]
