"""The two calls the demo simulator needs beside the field API (in-process app on the built Monaco roads):
`GET /api/v1/roads/route` (the server's road path between two points) and `DELETE /api/v1/tokens/current`
(a token ending itself)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fakeredis
import pytest

from console.app import create_app
from data import users_repo, workers_repo
from data.db import make_engine, make_sessionmaker, session_scope
from data.migrate import migrate
from data.settings import Settings
from dispatch.access import Role
from dispatch.clock import ManualClock
from dispatch.geo import LatLon, haversine_m
from tests.routing.network import CRUISE_TERMINAL, POUND_FONTVIEILLE, build_monaco

START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
OWN = {"Origin": "http://localhost"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> dict[str, Any]:
    tmp: Path = tmp_path_factory.mktemp("roads")
    osrm = build_monaco(tmp / "osrm").parent
    settings = replace(
        Settings.from_env({"OUTFIELD_VAR": str(tmp), "SECRET_KEY": "test", "OUTFIELD_OSRM_DIR": str(osrm)}),
        redis_url=redis_url,
    )
    migrate(settings.database_url)
    app = create_app(settings, clock=ManualClock(START))
    app.bus._redis = fakeredis.FakeRedis()  # noqa: SLF001 - nothing here is published
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with session_scope(sessions) as session:
        users_repo.create_user(session, name="desk", role=Role.DISPATCHER, password="desk-pw")
        desk = users_repo.actor_by_name(session, "desk")
        assert desk is not None
        desk_token = users_repo.issue_token(session, user_id=desk.id)
        worker = workers_repo.add_worker(session, name="Ana", device_id="a1", home_base=LatLon(43.739, 7.427))
        _, field_token = users_repo.create_user(session, name="ana", role=Role.FIELD_WORKER, worker_id=worker.id)
        admin, _ = users_repo.create_user(session, name="boss", role=Role.ADMIN)
    return {"app": app, "sessions": sessions, "desk": desk_token, "field": field_token, "admin_id": admin.id}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def route_args(a: LatLon, b: LatLon) -> dict[str, float]:
    return {"from_lat": a.lat, "from_lon": a.lon, "to_lat": b.lat, "to_lon": b.lon}


def test_a_road_route_follows_monacos_streets_for_office_roles_only(world):
    """Tests that a dispatcher gets the road path between two sites (many points, from one to the other, longer than
    the straight line, with its driving time), a field worker is refused (403) and a bad point is a 400 naming it."""
    client = world["app"].server.test_client()
    r = client.get("/api/v1/roads/route", query_string=route_args(POUND_FONTVIEILLE, CRUISE_TERMINAL),
                   headers=bearer(world["desk"]))  # fmt: skip
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    points = [LatLon(lat, lon) for lat, lon in body["points"]]
    assert body["on_roads"] is True and len(points) > 10
    assert haversine_m(points[0], POUND_FONTVIEILLE) < 150 and haversine_m(points[-1], CRUISE_TERMINAL) < 150
    assert body["distance_m"] > haversine_m(POUND_FONTVIEILLE, CRUISE_TERMINAL) and body["duration_s"] > 60

    r = client.get("/api/v1/roads/route", query_string=route_args(POUND_FONTVIEILLE, CRUISE_TERMINAL),
                   headers=bearer(world["field"]))  # fmt: skip
    assert r.status_code == 403 and "field_worker" in r.get_json()["error"]
    bad = {**route_args(POUND_FONTVIEILLE, CRUISE_TERMINAL), "to_lat": 91}
    r = client.get("/api/v1/roads/route", query_string=bad, headers=bearer(world["desk"]))
    assert r.status_code == 400 and r.get_json()["field"] == "to_lat"
    missing = route_args(POUND_FONTVIEILLE, CRUISE_TERMINAL)
    del missing["from_lon"]
    r = client.get("/api/v1/roads/route", query_string=missing, headers=bearer(world["desk"]))
    assert r.status_code == 400 and r.get_json()["field"] == "from_lon"


def test_a_token_ends_itself_and_only_itself(world):
    """Tests that DELETE /api/v1/tokens/current ends the token it is called with (401 after), leaves the same user's
    other token working, is audited, and that a browser session (no token) gets a 400 naming Authorization."""
    with session_scope(world["sessions"]) as session:
        one = users_repo.issue_token(session, user_id=world["admin_id"])
        other = users_repo.issue_token(session, user_id=world["admin_id"])
    client = world["app"].server.test_client()
    assert client.get("/api/v1/workers", headers=bearer(one)).status_code == 200
    assert client.delete("/api/v1/tokens/current", headers=bearer(one)).status_code == 204
    assert client.get("/api/v1/workers", headers=bearer(one)).status_code == 401
    assert client.delete("/api/v1/tokens/current", headers=bearer(one)).status_code == 401
    assert client.get("/api/v1/workers", headers=bearer(other)).status_code == 200
    entries = client.get("/api/v1/audit", query_string={"action": "revoke-token"}, headers=bearer(other)).get_json()
    assert [(e["action"], e["subject_id"]) for e in entries["entries"]] == [("revoke-token", world["admin_id"])]

    browser = world["app"].server.test_client()
    assert browser.post("/login", data={"name": "desk", "password": "desk-pw"}, headers=OWN).status_code == 302
    r = browser.delete("/api/v1/tokens/current", headers=OWN)
    assert r.status_code == 400 and r.get_json()["field"] == "Authorization"
