"""The administration API in-process (real SQLite, fakeredis): workers, leave, sites, users, teams, audit."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, date, datetime
from functools import partial
from zoneinfo import ZoneInfo

import fakeredis
import pytest
from werkzeug.security import generate_password_hash

from console.app import create_app
from data import audit_repo, positions_repo, users_repo, workers_repo
from data.db import make_engine, make_sessionmaker, session_scope
from data.migrate import migrate
from data.settings import Settings
from data.tables import Base
from dispatch.access import Role
from dispatch.clock import ManualClock
from realtime.bus import WORKERS

NOW = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
MONACO = {"lat": 43.7384, "lon": 7.4246}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """One app for the module (building it costs seconds); each test empties its tables first."""
    tmp = tmp_path_factory.mktemp("admin-api")
    settings = replace(
        Settings.from_env({"OUTFIELD_VAR": str(tmp), "SECRET_KEY": "test", "OUTFIELD_OSRM_DIR": str(tmp / "none")}),
        redis_url="redis://fake:6379/0",
        login_limit_per_name="1000 per minute",
    )
    migrate(settings.database_url)
    outfield = create_app(settings, clock=ManualClock(NOW))
    outfield.bus._redis = fakeredis.FakeRedis()  # noqa: SLF001 - unit test: no Redis server needed for this edge
    published: list[tuple[str, dict]] = []
    outfield.bus.publish = lambda channel, message: published.append((channel, message))  # type: ignore[method-assign]
    return outfield, make_sessionmaker(make_engine(settings.database_url)), published


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cheap PBKDF2 instead of scrypt: these tests set and check passwords, they do not measure hashing."""
    monkeypatch.setattr(
        users_repo, "generate_password_hash", partial(generate_password_hash, method="pbkdf2:sha256:1000")
    )


@pytest.fixture
def app(server):
    outfield, sessions, published = server
    published.clear()
    with session_scope(sessions) as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())
    with session_scope(sessions) as session:
        root, admin = users_repo.create_user(session, name="root", role=Role.ADMIN, now=NOW)
        _, dispatcher = users_repo.create_user(session, name="disp", role=Role.DISPATCHER, now=NOW)
        _, manager = users_repo.create_user(session, name="mia", role=Role.MANAGER, now=NOW)
    return {
        "client": outfield.server.test_client(),
        "sessions": sessions,
        "published": published,
        "root_id": root.id,
        "admin": {"Authorization": f"Bearer {admin}"},
        "dispatcher": {"Authorization": f"Bearer {dispatcher}"},
        "manager": {"Authorization": f"Bearer {manager}"},
    }


def worker_count(app) -> int:
    with session_scope(app["sessions"]) as session:
        return len(workers_repo.list_workers(session))


def audit_of(app, subject_type: str) -> list[audit_repo.AuditEntry]:
    with session_scope(app["sessions"]) as session:
        return audit_repo.list_audit(session, subject_type=subject_type)


ANA = {
    "name": "Ana Rossi",
    "device_id": "48241179",
    "skills": ["gas", "HVAC"],
    "home_base": MONACO,
    "shifts": ["Mon-Fri 07:00-15:30"],
}


def test_a_worker_posted_works_on_the_offices_clock_and_keeps_it_when_edited(app):
    """Tests that a worker created through the API with a Mon-Fri 07:00-15:30 shift is on shift by the office's
    clock (Europe/Monaco, UTC+1 in March: 06:30 UTC is 07:30 there, 15:00 UTC is 16:00), not UTC's, and that
    renaming them (PATCH) keeps it so."""
    client = app["client"]
    created = client.post("/api/v1/workers", json=ANA, headers=app["admin"]).get_json()
    monday = partial(datetime, 2026, 3, 2, tzinfo=UTC)
    for edit in (None, {"name": "Ana R."}):
        if edit is not None:
            assert client.patch(f"/api/v1/workers/{created['id']}", json=edit, headers=app["admin"]).status_code == 200
        with session_scope(app["sessions"]) as session:
            worker = workers_repo.get_worker(session, created["id"])
        assert worker is not None and worker.zone == ZoneInfo("Europe/Monaco")
        assert worker.on_shift(monday(6, 30)) and not worker.on_shift(monday(15, 0))


def test_a_shift_to_24_00_is_stored_shown_back_and_covers_the_last_minute_of_the_day(app):
    """Tests that an administrator can give a worker `Mon-Sun 00:00-24:00` (and PATCH an evening to 24:00): it is
    answered and read back as 24:00, and the stored worker is on shift at 23:59:59 on the office's clock and at
    midnight, while a shift ending at 00:00 is refused naming `shifts` with the reason."""
    client = app["client"]
    created = client.post("/api/v1/workers", json={**ANA, "shifts": ["Mon-Sun 00:00-24:00"]}, headers=app["admin"])
    assert (created.status_code, created.get_json()["shifts"]) == (201, ["Mon-Sun 00:00-24:00"])
    wid = created.get_json()["id"]
    assert client.get(f"/api/v1/workers/{wid}", headers=app["admin"]).get_json()["shifts"] == ["Mon-Sun 00:00-24:00"]
    with session_scope(app["sessions"]) as session:
        worker = workers_repo.get_worker(session, wid)
    assert worker is not None
    monaco = ZoneInfo("Europe/Monaco")
    assert worker.on_shift(datetime(2026, 3, 2, 23, 59, 59, tzinfo=monaco))
    assert worker.on_shift(datetime(2026, 3, 3, 0, 0, tzinfo=monaco))
    patched = client.patch(f"/api/v1/workers/{wid}", json={"shifts": ["Sat 18:00-24:00"]}, headers=app["admin"])
    assert (patched.status_code, patched.get_json()["shifts"]) == (200, ["Sat 18:00-24:00"])
    refused = client.patch(f"/api/v1/workers/{wid}", json={"shifts": ["Sat 18:00-00:00"]}, headers=app["admin"])
    assert refused.status_code == 400
    assert refused.get_json()["field"] == "shifts" and "24:00" in refused.get_json()["error"]
    assert client.get(f"/api/v1/workers/{wid}", headers=app["admin"]).get_json()["shifts"] == ["Sat 18:00-24:00"]


def test_posting_a_worker_answers_201_with_the_worker_audits_it_and_tells_the_live_map(app):
    """Tests that POST /api/v1/workers answers 201 with the stored worker (skills lower-cased, shift as written),
    that the creation is audited without the home base's coordinates, and that the live map is told at once with
    a marker at the home base and no fix."""
    client = app["client"]
    response = client.post("/api/v1/workers", json=ANA, headers=app["admin"])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body == {
        "id": body["id"],
        "name": "Ana Rossi",
        "device_id": "48241179",
        "skills": ["gas", "hvac"],
        "team": "",
        "team_id": None,
        "home_base": MONACO,
        "shifts": ["Mon-Fri 07:00-15:30"],
        "active": True,
        "leaves": [],
    }
    assert client.get(f"/api/v1/workers/{body['id']}", headers=app["admin"]).get_json() == body
    [entry] = audit_of(app, "worker")
    assert (entry.action, entry.actor_id, entry.subject_id) == ("create-worker", app["root_id"], body["id"])
    assert entry.details["after"]["home_base"] == "set"
    assert "43.73" not in str(entry.details)
    [(channel, message)] = app["published"]
    assert channel == WORKERS and message["active"] is True
    assert message["feature"]["geometry"]["coordinates"] == [MONACO["lon"], MONACO["lat"]]
    assert (message["feature"]["properties"]["fix_time"], message["feature"]["properties"]["state"]) == (
        None,
        "offline",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"device_id": "x1"}, "name"),
        ({"name": "  ", "device_id": "x1"}, "name"),
        ({"name": "Bo", "device_id": 12}, "device_id"),
        ({"name": "Bo", "device_id": "x1", "skills": "gas"}, "skills"),
        ({"name": "Bo", "device_id": "x1", "home_base": {"lat": 91, "lon": 7}}, "home_base"),
        ({"name": "Bo", "device_id": "x1", "home_base": {"lat": 10**400, "lon": 7}}, "home_base"),
        ({"name": "Bo", "device_id": "x1", "shifts": ["Mon-Fri 15:00-07:00"]}, "shifts"),
        ({"name": "Bo", "device_id": "x1", "team_id": 99}, "team_id"),
        ({"name": "Bo", "device_id": "x1", "team": "Nowhere"}, "team"),
        ({"name": "Bo", "device_id": "x1", "colour": "red"}, "colour"),
    ],
)
def test_a_bad_worker_is_refused_naming_the_field_and_nothing_is_stored(app, body, field):
    """Tests that each bad value gets 400 naming its field, and that no worker, audit entry or live push is left."""
    response = app["client"].post("/api/v1/workers", json=body, headers=app["admin"])
    assert response.status_code == 400
    assert response.get_json()["field"] == field
    assert worker_count(app) == 0 and audit_of(app, "worker") == [] and app["published"] == []


def test_a_duplicate_device_id_is_409_naming_device_id_on_create_and_on_edit(app):
    """Tests that a device id another worker holds is refused with 409 naming `device_id`, creating or editing."""
    client = app["client"]
    first = client.post("/api/v1/workers", json=ANA, headers=app["admin"]).get_json()
    second = client.post("/api/v1/workers", json={"name": "Bo", "device_id": "b-2"}, headers=app["admin"]).get_json()
    again = client.post("/api/v1/workers", json={**ANA, "name": "Other"}, headers=app["admin"])
    assert (again.status_code, again.get_json()["field"]) == (409, "device_id")
    assert str(first["id"]) in again.get_json()["error"]
    edit = client.patch(f"/api/v1/workers/{second['id']}", json={"device_id": "48241179"}, headers=app["admin"])
    assert (edit.status_code, edit.get_json()["field"]) == (409, "device_id")
    assert client.get(f"/api/v1/workers/{second['id']}", headers=app["admin"]).get_json()["device_id"] == "b-2"


def test_editing_a_worker_changes_only_what_was_sent_and_audits_before_and_after(app):
    """Tests that a PATCH changes the fields sent (team by reference, shifts) and keeps the rest, and that the audit
    entry lists each changed field's old and new value; a renamed team's name follows on its workers, and a
    deactivated team takes no new workers."""
    client = app["client"]
    team = client.post("/api/v1/teams", json={"name": "North"}, headers=app["admin"]).get_json()
    ana = client.post("/api/v1/workers", json=ANA, headers=app["admin"]).get_json()
    response = client.patch(
        f"/api/v1/workers/{ana['id']}",
        json={"team_id": team["id"], "shifts": ["Sat,Sun 09:00-13:00"], "name": "Ana R."},
        headers=app["dispatcher"],
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["name"], body["team"], body["team_id"], body["shifts"]) == (
        "Ana R.",
        "North",
        team["id"],
        ["Sat-Sun 09:00-13:00"],
    )
    assert (body["device_id"], body["skills"], body["home_base"]) == ("48241179", ["gas", "hvac"], MONACO)
    update = audit_of(app, "worker")[-1]
    assert update.action == "update-worker"
    assert update.details["changed"] == {
        "name": ["Ana Rossi", "Ana R."],
        "team": ["", "North"],
        "shifts": [["Mon-Fri 07:00-15:30"], ["Sat-Sun 09:00-13:00"]],
    }
    renamed = client.patch(f"/api/v1/teams/{team['id']}", json={"name": "North-East"}, headers=app["admin"])
    assert renamed.get_json() == {"id": team["id"], "name": "North-East", "active": True, "workers": 1, "users": 0}
    assert client.get(f"/api/v1/workers/{ana['id']}", headers=app["admin"]).get_json()["team"] == "North-East"
    client.patch(f"/api/v1/teams/{team['id']}", json={"active": False}, headers=app["admin"])
    late = client.post(
        "/api/v1/workers", json={"name": "Bo", "device_id": "b-2", "team": "North-East"}, headers=app["admin"]
    )
    assert (late.status_code, late.get_json()["error"]) == (400, "team: team 'North-East' is deactivated")


def test_a_manager_may_not_manage_workers_and_a_dispatcher_may_not_manage_users(app):
    """Tests the roles at the door: 403 with a reason naming the role, and nothing stored."""
    client = app["client"]
    refused = client.post("/api/v1/workers", json=ANA, headers=app["manager"])
    assert (refused.status_code, refused.get_json()["error"]) == (403, "role manager may not manage-workers")
    user = client.post("/api/v1/users", json={"name": "x", "role": "admin"}, headers=app["dispatcher"])
    assert user.status_code == 403
    assert worker_count(app) == 0


def test_leave_is_added_listed_and_removed(app):
    """Tests that an admin records a worker's leave (whole days), sees it on the worker, and removes it; a leave
    ending before it starts is refused naming `end`."""
    client = app["client"]
    ana = client.post("/api/v1/workers", json=ANA, headers=app["admin"]).get_json()
    url = f"/api/v1/workers/{ana['id']}/leaves"
    bad = client.post(url, json={"start": "2025-03-10", "end": "2025-03-07"}, headers=app["admin"])
    assert (bad.status_code, bad.get_json()["field"]) == (400, "end")
    leave = client.post(url, json={"start": "2025-03-07", "end": "2025-03-10", "reason": "sick"}, headers=app["admin"])
    assert leave.status_code == 201
    entry = leave.get_json()
    assert (entry["start"], entry["end"], entry["reason"]) == ("2025-03-07", "2025-03-10", "sick")
    assert client.get(f"/api/v1/workers/{ana['id']}", headers=app["admin"]).get_json()["leaves"] == [entry]
    with session_scope(app["sessions"]) as session:
        away = workers_repo.leaves_overlapping(session, start=date(2025, 3, 8), end=date(2025, 3, 8))
    assert list(away) == [ana["id"]]
    assert client.delete(f"{url}/{entry['id']}", headers=app["admin"]).status_code == 204
    assert client.get(url, headers=app["admin"]).get_json() == []
    assert client.delete(f"{url}/{entry['id']}", headers=app["admin"]).status_code == 404


def test_a_leave_over_days_the_worker_is_already_away_is_refused_and_the_first_kept(app):
    """Tests that the same leave sent twice (a double click), or one sharing a day with a recorded leave, is refused
    409 naming `start` and the leave it overlaps, and stores nothing; the days after it are free."""
    client = app["client"]
    ana = client.post("/api/v1/workers", json=ANA, headers=app["admin"]).get_json()
    url = f"/api/v1/workers/{ana['id']}/leaves"
    first = client.post(url, json={"start": "2025-03-07", "end": "2025-03-10", "reason": "sick"}, headers=app["admin"])
    assert first.status_code == 201
    for start, end in (("2025-03-07", "2025-03-10"), ("2025-03-01", "2025-03-07"), ("2025-03-08", "2025-03-08")):
        again = client.post(url, json={"start": start, "end": end, "reason": "holiday"}, headers=app["admin"])
        assert (again.status_code, again.get_json()["field"]) == (409, "start"), (start, end)
        assert again.get_json()["error"] == f"start: worker {ana['id']} is already away 2025-03-07 – 2025-03-10"
    assert client.get(url, headers=app["admin"]).get_json() == [first.get_json()]
    after = client.post(
        url, json={"start": "2025-03-11", "end": "2025-03-12", "reason": "holiday"}, headers=app["admin"]
    )
    assert after.status_code == 201
    assert [e["start"] for e in client.get(url, headers=app["admin"]).get_json()] == ["2025-03-07", "2025-03-11"]


SQUARE = {
    "type": "Polygon",
    "coordinates": [[[7.424, 43.738], [7.425, 43.738], [7.425, 43.739], [7.424, 43.739], [7.424, 43.738]]],
}


def test_a_site_is_created_with_a_circle_then_given_a_polygon_category_and_customer(app):
    """Tests that a site is created at a clicked place with a radius, then edited to a GeoJSON polygon outline, a
    category and a customer; a self-crossing polygon is refused naming `geofence_polygon` and the site is kept."""
    client = app["client"]
    created = client.post(
        "/api/v1/sites",
        json={"name": "Casino", "location": MONACO, "geofence_radius_m": 80, "customer": "SBM"},
        headers=app["dispatcher"],
    )
    assert created.status_code == 201, created.get_json()
    site = created.get_json()
    assert (site["geofence_radius_m"], site["geofence_polygon"], site["customer"]) == (80.0, None, "SBM")
    bow_tie = {"type": "Polygon", "coordinates": [[[7.424, 43.738], [7.425, 43.739], [7.425, 43.738], [7.424, 43.739]]]}
    bad = client.patch(f"/api/v1/sites/{site['id']}", json={"geofence_polygon": bow_tie}, headers=app["admin"])
    assert (bad.status_code, bad.get_json()["field"]) == (400, "geofence_polygon")
    edited = client.patch(
        f"/api/v1/sites/{site['id']}",
        json={"geofence_polygon": SQUARE, "category": "leisure", "customer": "Casino SA"},
        headers=app["admin"],
    ).get_json()
    assert edited["geofence_polygon"] == SQUARE
    assert (edited["category"], edited["customer"], edited["name"]) == ("leisure", "Casino SA", "Casino")
    assert client.get(f"/api/v1/sites/{site['id']}", headers=app["admin"]).get_json() == edited
    radius = client.post(
        "/api/v1/sites", json={"name": "x", "location": MONACO, "geofence_radius_m": 0}, headers=app["admin"]
    )
    assert (radius.status_code, radius.get_json()["field"]) == (400, "geofence_radius_m")
    assert [e.action for e in audit_of(app, "site")] == ["create-site", "update-site"]


def test_deactivating_a_worker_revokes_their_push_links_and_takes_them_off_the_map(app):
    """Tests that after deactivation the worker's push link answers 410 saying it was revoked, no new link is issued
    for them, the live map is told to drop them, and reactivating does not bring the old link back."""
    client = app["client"]
    ana = client.post("/api/v1/workers", json=ANA, headers=app["admin"]).get_json()
    link = client.post(f"/api/v1/workers/{ana['id']}/push-link", json={"day": "2025-03-03"}, headers=app["admin"])
    token = link.get_json()["token"]
    assert client.get(f"/api/v1/field/{token}/day").status_code == 200
    off = client.patch(f"/api/v1/workers/{ana['id']}", json={"active": False}, headers=app["admin"])
    assert off.get_json()["active"] is False
    refused = client.get(f"/api/v1/field/{token}/day")
    assert refused.status_code == 410
    assert refused.get_json()["error"] == f"this link for worker {ana['id']} has been revoked"
    assert client.get(f"/field/{token}").status_code == 410
    assert app["published"][-1][1] == {
        "worker_id": ana["id"],
        "active": False,
        "feature": app["published"][-1][1]["feature"],
    }
    live = client.get("/api/v1/live", headers=app["admin"]).get_json()
    assert [f["properties"]["worker_id"] for f in live["workers"]["features"]] == []
    entry = audit_of(app, "worker")[-1]
    assert (entry.action, entry.details["push_links_revoked"]) == ("deactivate-worker", True)
    new_link = client.post(f"/api/v1/workers/{ana['id']}/push-link", json={"day": "2025-03-03"}, headers=app["admin"])
    assert (new_link.status_code, new_link.get_json()["field"]) == (400, "worker_id")
    client.patch(f"/api/v1/workers/{ana['id']}", json={"active": True}, headers=app["admin"])
    assert client.get(f"/api/v1/field/{token}/day").status_code == 410


def test_deactivating_a_user_ends_their_sessions_and_revokes_their_tokens(app):
    """Tests that a deactivated dispatcher's API token and browser session stop working at once, and stay revoked
    after reactivation (they sign in again and get new tokens)."""
    client = app["client"]
    created = client.post(
        "/api/v1/users", json={"name": "eve", "role": "dispatcher", "password": "eve-password-1"}, headers=app["admin"]
    )
    assert created.status_code == 201
    eve = created.get_json()
    token = {"Authorization": f"Bearer {eve['token']}"}
    browser = app["client"].application.test_client()
    assert browser.post("/login", data={"name": "eve", "password": "eve-password-1"}).status_code == 302
    assert browser.get("/api/v1/teams").status_code == 200
    assert client.get("/api/v1/teams", headers=token).status_code == 200
    off = client.patch(f"/api/v1/users/{eve['id']}", json={"active": False}, headers=app["admin"])
    assert off.get_json()["active"] is False
    assert client.get("/api/v1/teams", headers=token).status_code == 401
    assert browser.get("/api/v1/teams").status_code == 401
    client.patch(f"/api/v1/users/{eve['id']}", json={"active": True}, headers=app["admin"])
    assert client.get("/api/v1/teams", headers=token).status_code == 401
    entry = [e for e in audit_of(app, "user") if e.action == "deactivate-user"][0]
    assert (entry.details["tokens_revoked"], entry.details["sessions_ended"]) == (1, True)


def test_a_password_reset_ends_sessions_and_tokens_and_the_new_password_works(app):
    """Tests that resetting a user's password (generated, shown once) ends their sessions and tokens, the old
    password no longer signs in and the new one does; an admin cannot reset or deactivate themself."""
    client = app["client"]
    eve = client.post(
        "/api/v1/users", json={"name": "eve", "role": "manager", "password": "eve-password-1"}, headers=app["admin"]
    ).get_json()
    browser = app["client"].application.test_client()
    browser.post("/login", data={"name": "eve", "password": "eve-password-1"})
    reset = client.post(f"/api/v1/users/{eve['id']}/password-reset", headers=app["admin"])
    assert reset.status_code == 200
    new_password = reset.get_json()["password"]
    assert len(new_password) >= 16 and reset.get_json()["tokens_revoked"] == 1
    assert browser.get("/api/v1/teams").status_code == 401
    assert client.get("/api/v1/teams", headers={"Authorization": f"Bearer {eve['token']}"}).status_code == 401
    fresh = app["client"].application.test_client()
    assert fresh.post("/login", data={"name": "eve", "password": "eve-password-1"}).status_code != 302
    assert fresh.post("/login", data={"name": "eve", "password": new_password}).status_code == 302
    short = client.post(f"/api/v1/users/{eve['id']}/password-reset", json={"password": "short"}, headers=app["admin"])
    assert (short.status_code, short.get_json()["field"]) == (400, "password")
    self_reset = client.post(f"/api/v1/users/{app['root_id']}/password-reset", headers=app["admin"])
    assert (self_reset.status_code, self_reset.get_json()["field"]) == (409, "user_id")
    self_off = client.patch(f"/api/v1/users/{app['root_id']}", json={"active": False}, headers=app["admin"])
    assert (self_off.status_code, self_off.get_json()["field"]) == (409, "active")


def test_users_get_roles_and_teams_and_duplicates_are_refused(app):
    """Tests that an admin creates a user in a team, changes their role and teams, and that a taken name is 409
    naming `name`, an unknown role 400 naming `role`, an unknown team 400 naming `teams`, all storing nothing."""
    client = app["client"]
    north = client.post("/api/v1/teams", json={"name": "North"}, headers=app["admin"]).get_json()
    south = client.post("/api/v1/teams", json={"name": "South"}, headers=app["admin"]).get_json()
    dup_team = client.post("/api/v1/teams", json={"name": "North"}, headers=app["admin"])
    assert (dup_team.status_code, dup_team.get_json()["field"]) == (409, "name")
    eve = client.post(
        "/api/v1/users", json={"name": "eve", "role": "dispatcher", "teams": [north["id"]]}, headers=app["admin"]
    ).get_json()
    assert (eve["role"], eve["teams"], eve["has_password"]) == ("dispatcher", [north["id"]], False)
    changed = client.patch(
        f"/api/v1/users/{eve['id']}",
        json={"role": "manager", "teams": [south["id"], north["id"]]},
        headers=app["admin"],
    ).get_json()
    assert (changed["role"], changed["teams"]) == ("manager", sorted([north["id"], south["id"]]))
    for body, status, field in (
        ({"name": "eve", "role": "dispatcher"}, 409, "name"),
        ({"name": "zed", "role": "boss"}, 400, "role"),
        ({"name": "zed", "role": "manager", "teams": [999]}, 400, "teams"),
    ):
        answer = client.post("/api/v1/users", json=body, headers=app["admin"])
        assert (answer.status_code, answer.get_json()["field"]) == (status, field)
    assert [u["name"] for u in client.get("/api/v1/users", headers=app["admin"]).get_json()] == [
        "disp",
        "eve",
        "mia",
        "root",
    ]
    assert client.delete(f"/api/v1/teams/{north['id']}", headers=app["admin"]).status_code == 204
    assert [u["teams"] for u in client.get("/api/v1/users", headers=app["admin"]).get_json() if u["name"] == "eve"] == [
        [south["id"]]
    ]


def test_a_users_teams_are_the_teams_they_see(app):
    """Tests that a dispatcher created in team North lists only North's workers (their team scope), and sees
    every worker once an admin takes them out of every team."""
    client = app["client"]
    north = client.post("/api/v1/teams", json={"name": "North"}, headers=app["admin"]).get_json()
    client.post("/api/v1/teams", json={"name": "South"}, headers=app["admin"])
    for name, device, team in (("Nora", "n-1", "North"), ("Sam", "s-1", "South")):
        body = {**ANA, "name": name, "device_id": device, "team": team}
        assert client.post("/api/v1/workers", json=body, headers=app["admin"]).status_code == 201
    ned = client.post(
        "/api/v1/users", json={"name": "ned", "role": "dispatcher", "teams": [north["id"]]}, headers=app["admin"]
    ).get_json()
    as_ned = {"Authorization": f"Bearer {ned['token']}"}
    assert {w["name"] for w in client.get("/api/v1/workers", headers=as_ned).get_json()} == {"Nora"}
    client.patch(f"/api/v1/users/{ned['id']}", json={"teams": []}, headers=app["admin"])
    assert {"Nora", "Sam"} <= {w["name"] for w in client.get("/api/v1/workers", headers=as_ned).get_json()}


def test_the_audit_log_filters_and_exports_and_managers_see_only_location_views(app):
    """Tests that the admin filters the audit log by actor, action, worker and time and exports it as CSV, while a
    manager sees only who viewed whose location (not the admin's edits) and a dispatcher is refused."""
    client = app["client"]
    ana = client.post("/api/v1/workers", json=ANA, headers=app["admin"]).get_json()
    bo = client.post("/api/v1/workers", json={"name": "Bo", "device_id": "b-2"}, headers=app["admin"]).get_json()
    with session_scope(app["sessions"]) as session:
        positions_repo.latest_positions(session)
    client.get(f"/api/v1/workers/{ana['id']}/positions", headers=app["dispatcher"])
    client.get(f"/api/v1/workers/{bo['id']}/positions", headers=app["manager"])

    admin_view = client.get(f"/api/v1/audit?worker_id={ana['id']}", headers=app["admin"]).get_json()["entries"]
    assert [(e["actor"], e["action"]) for e in admin_view] == [("disp", "view-positions"), ("root", "create-worker")]
    by_actor = client.get("/api/v1/audit?actor=disp", headers=app["admin"]).get_json()["entries"]
    assert [(e["action"], e["subject_id"]) for e in by_actor] == [("view-positions", ana["id"])]
    by_action = client.get("/api/v1/audit?action=create-worker", headers=app["admin"]).get_json()["entries"]
    assert [e["subject_id"] for e in by_action] == [bo["id"], ana["id"]]
    later = client.get("/api/v1/audit?from=2025-03-03T08:00:01Z", headers=app["admin"]).get_json()["entries"]
    assert later == []

    exported = client.get(f"/api/v1/audit?worker_id={ana['id']}&format=csv", headers=app["admin"])
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [(r["actor"], r["action"], r["subject_id"]) for r in rows] == [
        ("disp", "view-positions", str(ana["id"])),
        ("root", "create-worker", str(ana["id"])),
    ]

    manager_view = client.get("/api/v1/audit", headers=app["manager"]).get_json()["entries"]
    assert {(e["actor"], e["action"], e["subject_id"]) for e in manager_view} == {
        ("disp", "view-positions", ana["id"]),
        ("mia", "view-positions", bo["id"]),
    }
    assert client.get("/api/v1/audit", headers=app["dispatcher"]).status_code == 403
    for query, field in (
        ("format=xml", "format"),
        ("from=yesterday", "from"),
        ("worker_id=x", "worker_id"),
        ("worker_id=" + "9" * 5000, "worker_id"),
        ("actor=nobody", "actor"),
        ("actor=%C2%B2", "actor"),
    ):
        answer = client.get(f"/api/v1/audit?{query}", headers=app["admin"])
        assert answer.status_code in (400, 404) and answer.get_json()["field"] == field
