"""What a phone hears when the database cannot store its fix."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import fakeredis
import pytest
from sqlalchemy.exc import OperationalError

from console.app import create_app
from data import positions_repo, workers_repo
from data.db import make_engine, make_sessionmaker, session_scope
from data.migrate import migrate
from data.settings import Settings
from dispatch.clock import ManualClock
from tests.support.consent import record_consent

START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


def test_osmand_answers_503_with_a_reason_and_stores_nothing_when_the_database_fails(tmp_path: Path, monkeypatch):
    """Tests that when the commit fails /osmand answers 503 with a reason and Retry-After (the phone keeps the
    fix and retries) instead of 200 or a bare 500, nothing is stored, and the retry is stored once it works."""
    settings = replace(
        Settings.from_env(
            {"OUTFIELD_VAR": str(tmp_path), "SECRET_KEY": "test", "OUTFIELD_OSRM_DIR": str(tmp_path / "none")}
        ),
        redis_url="redis://fake:6379/0",
    )
    migrate(settings.database_url)
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with session_scope(sessions) as session:
        worker = workers_repo.add_worker(session, name="Ana", device_id="a1")
        record_consent(session, worker.id)
    app = create_app(settings, clock=ManualClock(START))
    app.bus._redis = fakeredis.FakeRedis()  # noqa: SLF001 - no Redis server needed for this edge
    insert = positions_repo.write_sqlite_rows  # the group committer's write, on its own connection

    def disk_full(cursor, rows):
        insert(cursor, rows)
        raise OperationalError("INSERT INTO positions", {}, Exception("database or disk is full"))

    monkeypatch.setattr(positions_repo, "write_sqlite_rows", disk_full)
    client = app.server.test_client()
    query = {"id": "a1", "lat": 43.7384, "lon": 7.4246, "timestamp": "2025-03-03T07:59:30Z"}
    response = client.get("/osmand", query_string=query)
    assert response.status_code == 503
    assert response.get_json() == {
        "error": "not stored, retry later: the database failed: OperationalError",
        "field": None,
    }
    assert response.headers["Retry-After"] == "1"

    def stored() -> list[float]:
        with session_scope(sessions) as session:
            return [
                p.latitude
                for p in positions_repo.positions_between(
                    session, worker_id=worker.id, start=START.replace(hour=0), end=START
                )
            ]

    assert stored() == []
    monkeypatch.setattr(positions_repo, "write_sqlite_rows", insert)
    assert client.get("/osmand", query_string=query).status_code == 200
    assert stored() == [pytest.approx(43.7384)]
