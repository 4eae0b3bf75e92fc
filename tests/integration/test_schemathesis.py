"""Schemathesis against /api/v1/openapi.json of the real app (in-process WSGI, real Redis): no 5xx, and every answer as documented.

Each operation gets 20 generated requests (derandomised, so a run is repeatable), valid and invalid
ones, sent with an admin's token: ids of any size, strings for numbers, missing fields, odd bodies.
Checks: no server error; the status code, content type and JSON body are the ones the document
declares for that operation (so every 4xx must be listed there, with the Error body).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from console.app import create_app
from console.openapi import OPENAPI
from data import users_repo, workers_repo
from data.db import make_engine, make_sessionmaker, session_scope
from data.migrate import migrate
from data.settings import Settings
from dispatch.access import Role
from dispatch.clock import ManualClock
from dispatch.geo import LatLon

pytestmark = pytest.mark.integration

NOW = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
TOKEN: dict[str, str] = {}
SESSIONS: dict[str, Any] = {}
SELF_REVOKING = ("/api/v1/tokens/current", "delete")
"""The operation that ends the token it is called with: it gets a fresh admin token per request, so the
token every other operation is fuzzed with stays valid."""


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Any:
    """The app on a fresh database with one admin and one worker (no orders, so a started plan ends at once)."""
    tmp: Path = tmp_path_factory.mktemp("schemathesis")
    settings_ = replace(
        Settings.from_env({"OUTFIELD_VAR": str(tmp), "SECRET_KEY": "test", "OUTFIELD_OSRM_DIR": str(tmp / "none")}),
        redis_url=redis_url,
    )
    migrate(settings_.database_url)
    SESSIONS["db"] = make_sessionmaker(make_engine(settings_.database_url))
    app = create_app(settings_, clock=ManualClock(NOW))
    with session_scope(SESSIONS["db"]) as session:
        _, TOKEN["admin"] = users_repo.create_user(session, name="root", role=Role.ADMIN)
        workers_repo.add_worker(session, name="Ana", device_id="ana-1", home_base=LatLon(43.739, 7.427))
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app.server)


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
OPERATIONS = [(path, method) for path, operations in OPENAPI["paths"].items() for method in operations]


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_every_operation_answers_as_documented_and_never_5xx(api_schema, path, method):
    """Tests that generated requests to every documented operation never get a 5xx and get only documented statuses and bodies."""
    operation = api_schema[path][method.upper()]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=20,
        derandomize=True,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    def answers_as_documented(case: Any) -> None:
        token = _fresh_admin_token() if (path, method) == SELF_REVOKING else TOKEN["admin"]
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    answers_as_documented()


def _fresh_admin_token() -> str:
    with session_scope(SESSIONS["db"]) as session:
        root = users_repo.actor_by_name(session, "root")
        assert root is not None
        return users_repo.issue_token(session, user_id=root.id)
