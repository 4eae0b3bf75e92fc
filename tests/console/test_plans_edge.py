"""The plan page's HTTP edge: its own Dash app at /plans/ behind the login, gated by role (in-process, fakeredis)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import fakeredis
import pytest

from console.app import create_app
from data import users_repo
from data.db import make_engine, make_sessionmaker, session_scope
from data.migrate import migrate
from data.settings import Settings
from dispatch.access import Role
from dispatch.clock import ManualClock


@pytest.fixture
def client(tmp_path: Path):
    settings = replace(
        Settings.from_env(
            {"OUTFIELD_VAR": str(tmp_path), "SECRET_KEY": "test", "OUTFIELD_OSRM_DIR": str(tmp_path / "none")}
        ),
        redis_url="redis://fake:6379/0",
    )
    migrate(settings.database_url)
    app = create_app(settings, clock=ManualClock(datetime(2025, 3, 3, 8, 0, tzinfo=UTC)))
    app.bus._redis = fakeredis.FakeRedis()  # noqa: SLF001 - unit test: no Redis server needed for this edge
    with session_scope(make_sessionmaker(make_engine(settings.database_url))) as session:
        users_repo.create_user(session, name="mia", role=Role.MANAGER, password="manager-pw")
    return app.server.test_client()


def test_the_plan_page_needs_a_login_and_its_dash_calls_answer_401(client):
    """Tests that /plans/ redirects to the login, its Dash layout call answers 401 JSON, and /plans gets the slash."""
    page = client.get("/plans/")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login?next=/plans/")
    layout = client.get("/plans/_dash-layout")
    assert layout.status_code == 401 and layout.get_json() == {"error": "not authenticated"}
    assert client.get("/plans").status_code in (301, 302, 308)


def test_a_manager_gets_the_plan_layout_and_the_live_map_keeps_its_own(client):
    """Tests that after login /plans/_dash-layout is the plan page (no referrer needed) and /_dash-layout the live map."""
    assert client.post("/login", data={"name": "mia", "password": "manager-pw", "next": "/plans/"}).status_code == 302
    plans = client.get("/plans/_dash-layout").get_data(as_text=True)
    assert "plan-start" in plans and "plan-picker" in plans and "worker-list" not in plans
    live = client.get("/_dash-layout", headers={"Referer": "http://h/plans/"}).get_data(as_text=True)
    assert "plan-start" not in live and "worker-list" in live
    assert "/plans/_dash-component-suites/" in client.get("/plans/").get_data(as_text=True)
