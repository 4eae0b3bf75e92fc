"""The whole console in this process: `console.app.create_app` on a migrated SQLite file, Redis faked.

For tests of the API's and the application layer's behaviour that need no server process: requests go
through Flask's test client, the live publishes land on fakeredis, and the data is set up through the
same functions the `python -m data` commands call. The end-to-end tests in tests/integration/ keep
what only real processes show (sockets, Redis, several workers).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import fakeredis
import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from console.app import OutfieldApp, create_app
from data import users_repo
from data.db import make_engine, make_sessionmaker, session_scope
from data.migrate import migrate
from data.settings import Settings
from dispatch.clock import Clock, SystemClock


class Answer:
    """A test-client response read as `requests` reads one: `status_code`, `text`, `json()`."""

    def __init__(self, response: Any) -> None:
        self._response = response
        self.status_code: int = response.status_code
        self.text: str = response.get_data(as_text=True)

    def json(self) -> Any:
        return self._response.get_json()


class Http:
    """`requests.get`/`post` over the app's test client (paths, not URLs), so an API test reads as it did
    against a server: `params` is the query string, `json` the body, `timeout` is accepted and ignored."""

    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def get(self, path: str, *, params: Any = None, headers: Any = None, timeout: float | None = None) -> Answer:
        return Answer(self._client.get(path, query_string=params, headers=headers))

    def post(
        self, path: str, *, json: Any = None, params: Any = None, headers: Any = None, timeout: float | None = None
    ) -> Answer:
        return Answer(self._client.post(path, json=json, query_string=params, headers=headers))


@dataclass
class InProcessApp:
    outfield: OutfieldApp
    client: FlaskClient
    sessions: sessionmaker[Session]
    admin: dict[str, str]
    http: Http = field(init=False)

    def __post_init__(self) -> None:
        self.http = Http(self.client)

    def user(self, role: str, name: str, *, worker_id: int | None = None) -> dict[str, str]:
        """A new user of `role` (as `python -m data create-user` makes one); their bearer-token header."""
        with session_scope(self.sessions) as session:
            _, token = users_repo.create_user(session, name=name, role=role, worker_id=worker_id)
        return {"Authorization": f"Bearer {token}"}

    def import_csv(self, kind: str, text: str) -> None:
        """Import workers, sites or orders from CSV text (as `python -m data import-csv` does); fails on any bad row."""
        from data.csv_import import IMPORTERS

        with session_scope(self.sessions) as session:
            report = IMPORTERS[kind](session, io.StringIO(text))
        assert not report.errors, report.errors


def bare_app(var: Path, *, clock: Clock, timezone: str | None = None) -> tuple[OutfieldApp, sessionmaker[Session]]:
    """The app on a fresh migrated database under `var`, with no users yet: no Redis server (the bus publishes to
    fakeredis, the plan queue finds no planner, so plans run in this process), no OSRM (straight-line travel
    times); `timezone` is the office's (OUTFIELD_TIMEZONE), else the settings' default."""
    env = {"OUTFIELD_VAR": str(var), "SECRET_KEY": "test-secret", "OUTFIELD_OSRM_DIR": str(var / "none")}
    settings = replace(
        Settings.from_env(env | ({"OUTFIELD_TIMEZONE": timezone} if timezone else {})),
        redis_url="redis://127.0.0.1:1/0",  # nothing listens on port 1: a Redis call fails at once
    )
    migrate(settings.database_url)
    outfield = create_app(settings, clock=clock)
    outfield.bus._redis = fakeredis.FakeRedis()  # noqa: SLF001 - the transport swapped for a fake, the Bus kept
    _MADE.append(outfield)
    return outfield, make_sessionmaker(make_engine(settings.database_url))


_MADE: list[OutfieldApp] = []


@pytest.fixture(autouse=True, scope="module")
def _stop_in_process_apps() -> Iterator[None]:
    """At the end of each test module, its in-process apps stop as a server process does on SIGTERM: a plan job one
    of them still runs stops with its best plan, and none runs on beside the next module's tests (one read a test's
    patched clock, and they took its CPU)."""
    yield
    while _MADE:
        _MADE.pop().stop.set()


def make_app(var: Path, *, clock: Clock | None = None) -> InProcessApp:
    """A fresh app on its own database under `var` (`bare_app`) with an admin user, `admin`."""
    outfield, sessions = bare_app(var, clock=clock or SystemClock())
    app = InProcessApp(outfield, outfield.server.test_client(), sessions, {})
    app.admin = app.user("admin", "admin")
    return app
