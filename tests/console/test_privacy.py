"""Privacy and access over HTTP (in-process app, real SQLite, fakeredis): team scopes on every endpoint,
consent to tracking, the retention purge, anonymising a leaver and the data export."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fakeredis
import pytest

from console.app import create_app
from data import (
    alerts_repo,
    attendance_repo,
    audit_repo,
    field_repo,
    positions_repo,
    privacy_repo,
    reminders_repo,
    sites_repo,
    users_repo,
    workers_repo,
)
from data.db import make_engine, make_sessionmaker, session_scope
from data.migrate import migrate
from data.orders_repo import add_order
from data.settings import Settings
from data.tables import CheckinRow, ClockEventRow, EventRow, WorkerDayKmRow
from dispatch.access import Role, TeamScope
from dispatch.clock import ManualClock
from dispatch.geo import LatLon
from dispatch.geofences import FenceEventType, GeofenceEvent
from dispatch.orders import TimeWindow
from dispatch.positions import Position
from dispatch.privacy import CONSENT_WITHDRAWN, ConsentSource, ConsentState, RetentionDays, consent_refusal
from realtime.retention import purge_all

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
SITE = LatLon(43.7394, 7.4276)


def fix(worker_id: int, at: datetime, lat: float = 43.7394) -> Position:
    return Position(worker_id, "dev", at, at, at, lat, 7.4276)


@pytest.fixture
def world(tmp_path: Path):
    settings = replace(
        Settings.from_env({"OUTFIELD_VAR": str(tmp_path), "SECRET_KEY": "test", "OUTFIELD_OSRM_DIR": str(tmp_path / "none")}),
        redis_url="redis://fake:6379/0",
    )  # fmt: skip
    migrate(settings.database_url)
    clock = ManualClock(NOW)
    app = create_app(settings, clock=clock)
    app.bus._redis = fakeredis.FakeRedis()  # noqa: SLF001 - the live stream is not under test here
    sessions = make_sessionmaker(make_engine(settings.database_url))
    window = TimeWindow(NOW, NOW + timedelta(hours=4))
    with session_scope(sessions) as session:
        ana = workers_repo.add_worker(session, name="Ana North", device_id="dev-ana", team="north", home_base=SITE)
        bo = workers_repo.add_worker(session, name="Bo South", device_id="dev-bo", team="south", home_base=SITE)
        for w in (ana, bo):
            positions_repo.add_position(session, fix(w.id, NOW - timedelta(minutes=5)))
        site = sites_repo.add_site(session, name="Casino", location=SITE)
        orders = [add_order(session, site_id=site.id, type="repair", priority=3, window=window, service_duration_s=600,
                            created_at=NOW) for _ in range(3)]  # fmt: skip
        _, admin = users_repo.create_user(session, name="root", role=Role.ADMIN)
        desk, desk_token = users_repo.create_user(session, name="north-desk", role=Role.DISPATCHER)
        users_repo.set_scope(session, user_id=desk.id, scope=TeamScope.of(["north"]))
        boss, boss_token = users_repo.create_user(session, name="north-boss", role=Role.MANAGER)
        users_repo.set_scope(session, user_id=boss.id, scope=TeamScope.of(["north"]))
        _, all_token = users_repo.create_user(session, name="all-desk", role=Role.DISPATCHER)
        _, ana_token = users_repo.create_user(session, name="ana", role=Role.FIELD_WORKER, worker_id=ana.id)
    client = app.server.test_client()
    bearer = {k: {"Authorization": f"Bearer {t}"} for k, t in
              (("admin", admin), ("desk", desk_token), ("boss", boss_token), ("all", all_token), ("ana_login", ana_token))}  # fmt: skip
    for order, worker in ((orders[0], ana), (orders[1], bo)):
        r = client.post(f"/api/v1/work-orders/{order.id}/assign", json={"worker_id": worker.id, "reason": "set-up"},
                        headers=bearer["admin"])  # fmt: skip
        assert r.status_code == 200, r.get_json()
    return {"app": app, "client": client, "sessions": sessions, "clock": clock, "settings": settings, "ana": ana.id,
            "bo": bo.id, "orders": [o.id for o in orders], "desk_id": desk.id, **bearer}  # fmt: skip


# --- team scopes -----------------------------------------------------------------------------------------


def test_a_team_scoped_dispatcher_lists_only_their_teams_workers_and_orders(world):
    """Tests that a dispatcher scoped to `north` lists north's worker, north's order and the unassigned one, on
    the workers list, the orders list, the live snapshot and the order history; an all-teams dispatcher sees all."""
    c, mine, theirs, free = world["client"], world["orders"][0], world["orders"][1], world["orders"][2]
    assert [w["name"] for w in c.get("/api/v1/workers", headers=world["desk"]).get_json()] == ["Ana North"]
    assert sorted(o["id"] for o in c.get("/api/v1/work-orders", headers=world["desk"]).get_json()) == [mine, free]
    live = c.get("/api/v1/live", headers=world["desk"]).get_json()
    assert [f["properties"]["worker_id"] for f in live["workers"]["features"]] == [world["ana"]]
    assert sorted(f["properties"]["order_id"] for f in live["orders"]["features"]) == [mine, free]
    history = c.get("/api/v1/orders/history?from=2025-03-01&to=2025-03-05", headers=world["desk"]).get_json()
    assert sorted(o["id"] for o in history["orders"]) == [mine, free]
    everyone = c.get("/api/v1/work-orders", headers=world["all"]).get_json()
    assert sorted(o["id"] for o in everyone) == [mine, theirs, free]
    assert len(c.get("/api/v1/workers", headers=world["all"]).get_json()) == 2


def test_the_live_map_read_twice_within_a_minute_is_one_audited_viewing(world):
    """Tests that one user's reads of the live snapshot within a minute (the page's load, then its socket's first read)
    are audited as one "view-live-map" entry, that a read a minute after it is a second entry, and that another user's
    read within that minute is their own entry. Before, every page load wrote two entries at the same second."""
    c, clock = world["client"], world["clock"]

    def viewers() -> list[int | None]:
        with session_scope(world["sessions"]) as session:
            return [e.actor_id for e in audit_repo.list_audit(session) if e.action == "view-live-map"]

    for _ in range(3):
        assert c.get("/api/v1/live", headers=world["desk"]).status_code == 200
        clock.advance(20)
    assert viewers() == [world["desk_id"]]
    assert c.get("/api/v1/live", headers=world["all"]).status_code == 200
    assert c.get("/api/v1/live", headers=world["desk"]).status_code == 200  # 60 s after the first: a new viewing
    seen = viewers()
    assert len(seen) == 3 and seen.count(world["desk_id"]) == 2 and seen[0] == seen[2] == world["desk_id"]


OUT_OF_SCOPE = [
    ("get", "/api/v1/workers/{bo}/positions"),
    ("get", "/api/v1/workers/{bo}/events"),
    ("get", "/api/v1/workers/{bo}/stops"),
    ("get", "/api/v1/workers/{bo}/trips"),
    ("get", "/api/v1/workers/{bo}/track.gpx"),
    ("get", "/api/v1/workers/{bo}/track.geojson"),
    ("get", "/api/v1/workers/{bo}/plan-vs-actual?date=2025-03-03"),
    ("get", "/api/v1/workers/{bo}/consent"),
    ("get", "/api/v1/alerts?worker_id={bo}"),
    ("post", "/api/v1/workers/{bo}/push-link"),
    ("post", "/api/v1/workers/{bo}/push-link/revoke"),
    ("get", "/api/v1/work-orders/{theirs}"),
    ("get", "/api/v1/work-orders/{theirs}/candidates"),
    ("get", "/api/v1/work-orders/{theirs}/field-record"),
    ("get", "/api/v1/orders/{theirs}/record"),
    ("get", "/api/v1/work-orders/{theirs}/signature"),
    ("post", "/api/v1/work-orders/{theirs}/status"),
    ("post", "/api/v1/work-orders/{theirs}/assign"),
    ("post", "/api/v1/work-orders/{theirs}/customer-link"),
    ("post", "/api/v1/work-orders/{theirs}/customer-link/revoke"),
]


def test_another_teams_worker_or_order_is_not_found_for_a_scoped_dispatcher(world):
    """Tests that every endpoint about one worker or order answers a north-scoped dispatcher 404 for south's
    worker and south's order, as for one that does not exist (nothing about it is revealed), while an
    all-teams dispatcher is not refused them."""
    for method, path in OUT_OF_SCOPE:
        url = path.format(bo=world["bo"], theirs=world["orders"][1])
        body = {"status": "cancelled", "reason": "x", "worker_id": world["ana"]} if method == "post" else None
        r = getattr(world["client"], method)(url, json=body, headers=world["desk"])
        assert r.status_code == 404, (url, r.status_code, r.get_data(as_text=True)[:200])
        assert "South" not in r.get_data(as_text=True)
    for method, path in OUT_OF_SCOPE:
        if method == "get" and "signature" not in path:  # (south's order has no signature: 404 for everyone)
            url = path.format(bo=world["bo"], theirs=world["orders"][1])
            assert world["client"].get(url, headers=world["all"]).status_code == 200, url


def test_a_scoped_dispatcher_assigns_unassigned_orders_only_to_their_teams_workers(world):
    """Tests that the candidates of an unassigned order list only north's worker for the north dispatcher,
    that assigning it to south's worker is 404, and to north's worker works."""
    c, free = world["client"], world["orders"][2]
    explained = c.get(f"/api/v1/work-orders/{free}/candidates", headers=world["desk"]).get_json()
    listed = {x["worker_id"] for x in explained["candidates"] + explained["excluded"]}
    assert listed == {world["ana"]}
    r = c.post(
        f"/api/v1/work-orders/{free}/assign", json={"worker_id": world["bo"], "reason": "x"}, headers=world["desk"]
    )
    assert r.status_code == 404
    r = c.post(
        f"/api/v1/work-orders/{free}/assign", json={"worker_id": world["ana"], "reason": "x"}, headers=world["desk"]
    )
    assert r.status_code == 200 and r.get_json()["assigned_worker_id"] == world["ana"]
    near = c.get("/api/v1/who-is-near?lat=43.7394&lon=7.4276&n=10", headers=world["desk"]).get_json()
    assert world["bo"] not in {n["worker_id"] for n in near}


def test_a_scoped_manager_sees_only_their_teams_in_reports_and_may_not_plan(world):
    """Tests that a north-scoped manager's order report rows and drill-down carry no south order, and route
    planning (which spans every team) is refused with a reason."""
    c = world["client"]
    report = c.get("/api/v1/reports/overview?from=2025-03-01&to=2025-03-05&group=worker", headers=world["boss"])
    assert [r["label"] for r in report.get_json()["rows"]] == ["Ana North"]
    everyone = c.get("/api/v1/reports/overview?from=2025-03-01&to=2025-03-05&group=worker", headers=world["admin"])
    assert sorted(r["label"] for r in everyone.get_json()["rows"]) == ["Ana North", "Bo South"]
    r = c.post("/api/v1/plans", json={"day": "2025-03-03"}, headers=world["boss"])
    assert r.status_code == 403 and "team-scoped" in r.get_json()["error"]


def test_an_admin_sets_a_users_team_scope_and_bad_input_changes_nothing(world):
    """Tests that PUT /users/{id}/scope (admin) widens the dispatcher to every team at once, a dispatcher may not
    call it, and a bad body is 400 naming the field with the stored scope unchanged."""
    c, url = world["client"], f"/api/v1/users/{world['desk_id']}/scope"
    assert c.put(url, json={"all_teams": True}, headers=world["desk"]).status_code == 403
    for body, field in (({"teams": "north"}, "teams"), ({"teams": ["north", ""]}, "teams[1]"),
                        ({"all_teams": "yes"}, "all_teams"), ({"teams": []}, "teams")):  # fmt: skip
        r = c.put(url, json=body, headers=world["admin"])
        assert r.status_code == 400 and r.get_json()["field"] == field, body
    assert len(c.get("/api/v1/workers", headers=world["desk"]).get_json()) == 1
    r = c.put(url, json={"teams": ["north", "south"]}, headers=world["admin"])
    assert r.get_json() == {"user_id": world["desk_id"], "all_teams": False, "teams": ["north", "south"]}
    assert len(c.get("/api/v1/workers", headers=world["desk"]).get_json()) == 2
    assert c.put(url, json={"all_teams": True}, headers=world["admin"]).get_json()["all_teams"] is True
    assert c.put("/api/v1/users/999/scope", json={"all_teams": True}, headers=world["admin"]).status_code == 404


# --- consent ---------------------------------------------------------------------------------------------


def osmand(world, device: str, minutes: int) -> int:
    at = NOW + timedelta(minutes=minutes)
    r = world["client"].get(
        "/osmand", query_string={"id": device, "lat": 43.74, "lon": 7.42, "timestamp": at.isoformat()}
    )
    return r.status_code


def stored_fixes(world, worker_id: int) -> int:
    with session_scope(world["sessions"]) as session:
        return len(
            positions_repo.positions_between(session, worker_id=worker_id, start=NOW, end=NOW + timedelta(hours=1))
        )


def test_fixes_are_kept_only_with_current_consent_and_the_console_says_why(world):
    """Tests that with the default settings a fix of a worker without consent is answered 200 but not stored; after
    consent on their push link it is stored; after they withdraw it, it is not stored again, and the console's
    consent read and worker card say "withdrawn"."""
    c, ana = world["client"], world["ana"]
    assert osmand(world, "dev-ana", 1) == 200 and stored_fixes(world, ana) == 0
    assert c.get(f"/api/v1/workers/{ana}/consent", headers=world["all"]).get_json()["state"] == "none"
    link = c.post(f"/api/v1/workers/{ana}/push-link", json={}, headers=world["admin"]).get_json()["token"]
    r = c.post(f"/api/v1/field/{link}/consent", json={"given": True, "text_version": "0"})
    assert r.status_code == 400 and r.get_json()["field"] == "text_version"
    r = c.post(f"/api/v1/field/{link}/consent", json={"given": True, "text_version": "1"})
    assert r.status_code == 200 and r.get_json()["state"] == "given"
    assert osmand(world, "dev-ana", 2) == 200 and stored_fixes(world, ana) == 1
    assert c.post(f"/api/v1/field/{link}/consent", json={"given": False}).get_json()["state"] == "withdrawn"
    assert osmand(world, "dev-ana", 3) == 200 and stored_fixes(world, ana) == 1
    assert c.get(f"/api/v1/workers/{ana}/consent", headers=world["all"]).get_json()["state"] == "withdrawn"
    card = world["app"].services.worker_card(actor=users_repo_actor(world, "all-desk"), worker_id=ana)
    assert card["consent"] == "withdrawn"
    r = c.post(f"/api/v1/field/{link}/consent", json={"given": False})
    assert r.status_code == 409 and r.get_json()["field"] == "given"


def test_an_admin_records_consent_given_on_paper_and_the_batch_endpoint_names_consent(world):
    """Tests that an admin records paper consent (a dispatcher may not), audited as given on paper, and that the
    batch endpoint lists a fix without consent as refused for `consent`."""
    c, bo = world["client"], world["bo"]
    item = {"id": "dev-bo", "lat": 43.74, "lon": 7.42, "timestamp": (NOW + timedelta(minutes=1)).isoformat()}
    summary = c.post("/api/v1/positions", json=[item], headers=world["admin"]).get_json()
    assert summary["accepted"] == 0 and summary["rejected"][0]["field"] == "consent"
    assert c.post(f"/api/v1/workers/{bo}/consent", json={"given": True, "text_version": "1"},
                  headers=world["all"]).status_code == 403  # fmt: skip
    r = c.post(f"/api/v1/workers/{bo}/consent", json={"given": True, "text_version": "1"}, headers=world["admin"])
    assert r.get_json()["source"] == "paper"
    assert c.post("/api/v1/positions", json=[item], headers=world["admin"]).get_json()["accepted"] == 1
    with session_scope(world["sessions"]) as session:
        actions = [e.action for e in audit_repo.list_audit(session) if e.subject_id == bo]
    assert "give-consent" in actions


def users_repo_actor(world, name: str):
    with session_scope(world["sessions"]) as session:
        return users_repo.actor_by_name(session, name)


def test_consent_is_required_unless_the_office_says_0_and_a_withdrawal_stops_tracking_either_way(tmp_path):
    """Tests that consent is required by default, that `OUTFIELD_CONSENT_REQUIRED=0` (an office with another legal
    basis) keeps the fixes of a worker who never answered but never those of one who withdrew, and that any
    other value is refused naming the variable."""
    env = {"OUTFIELD_VAR": str(tmp_path), "SECRET_KEY": "test"}
    assert Settings.from_env(env).consent_required is True
    assert Settings.from_env({**env, "OUTFIELD_CONSENT_REQUIRED": "1"}).consent_required is True
    assert Settings.from_env({**env, "OUTFIELD_CONSENT_REQUIRED": "0"}).consent_required is False
    with pytest.raises(ValueError, match="OUTFIELD_CONSENT_REQUIRED"):
        Settings.from_env({**env, "OUTFIELD_CONSENT_REQUIRED": "no"})
    assert consent_refusal(ConsentState.NONE, required=False) is None
    assert consent_refusal(ConsentState.WITHDRAWN, required=False) == CONSENT_WITHDRAWN


# --- retention -------------------------------------------------------------------------------------------


def test_one_purge_covers_every_kind_with_its_own_retention_and_removes_photo_files(world, tmp_path):
    """Tests that the purge deletes fixes, events, photos (and their files) and field actions past their own
    periods, clears old check-in coordinates and signatures, keeps what is younger and km aggregates, and reports
    counts per kind."""
    sessions, ana, order = world["sessions"], world["ana"], world["orders"][0]
    old, young = NOW - timedelta(days=40), NOW - timedelta(days=5)
    photo = tmp_path / "old.jpg"
    photo.write_bytes(b"jpeg")
    signature = tmp_path / "sig.png"
    signature.write_bytes(b"png")
    with session_scope(sessions) as session:
        positions_repo.add_position(session, fix(ana, old))
        positions_repo.add_position(session, fix(ana, young))
        field_repo.add_photo(session, client_action_id="p1", order_id=order, worker_id=ana, path=str(photo),
                             thumbnail_path=str(photo), content_type="image/jpeg", size_bytes=4, taken_at=old,
                             created_at=old)  # fmt: skip
        field_repo.record_action(session, client_action_id="a1", worker_id=ana, order_id=order, action="accept",
                                 event_time=old, server_time=old, outcome="applied")  # fmt: skip
        field_repo.add_report(session, client_action_id="r1", order_id=order, worker_id=ana, text="done", checklist={},
                              parts=[], signature_path=str(signature), signed_by="Mrs Client", written_at=old,
                              created_at=old)  # fmt: skip
        session.add(CheckinRow(order_id=order, worker_id=ana, kind="in", at=old, latitude=43.7, longitude=7.4,
                               verdict="ok", client_action_id="c1"))  # fmt: skip
        session.add(WorkerDayKmRow(worker_id=ana, day=old.date(), km=12.5))
        for kind in ("geofence_enter", "checkin_reviewed"):  # a crossing goes; the order's review step stays
            field_repo.record_event(session, type=kind, worker_id=ana, order_id=order, at=old, details={})
    retention = RetentionDays(positions=30, photos=30, field_actions=30, checkins=30, signatures=30, events=30)
    counts = purge_all(sessions=sessions, now=NOW, retention=retention)
    assert counts["positions"] == 1 and counts["photos"] == 1 and counts["field_actions"] == 1
    assert counts["checkin_locations"] == 1 and counts["signatures"] == 1 and counts["files"] == 2
    assert counts["events"] == 1 and counts["audit"] == 0
    assert not photo.exists() and not signature.exists()
    with session_scope(sessions) as session:
        fixes = positions_repo.positions_between(session, worker_id=ana, start=NOW - timedelta(days=90), end=NOW)
        assert [p.fix_time for p in fixes] == [young, NOW - timedelta(minutes=5)]
        assert session.get(WorkerDayKmRow, (ana, old.date())).km == 12.5
        assert session.query(CheckinRow).one().latitude is None
        assert [e.type for e in session.query(EventRow).filter(EventRow.at == old)] == ["checkin_reviewed"]
    assert purge_all(sessions=sessions, now=NOW, retention=retention)["positions"] == 0


# --- anonymise and export --------------------------------------------------------------------------------


def test_an_admin_anonymises_a_leaver_once_keeping_orders_and_km(world):
    """Tests that anonymising needs `confirm: true` (400 naming it, nothing changed), then renames the worker
    "Former worker #id", clears the device, deletes fixes, keeps the order assigned and the km, is audited, and a
    second request is 409."""
    c, ana, url = world["client"], world["ana"], f"/api/v1/workers/{world['ana']}/anonymise"
    with session_scope(world["sessions"]) as session:
        session.add(WorkerDayKmRow(worker_id=ana, day=NOW.date(), km=3.0))
    assert c.post(url, json={"confirm": True}, headers=world["all"]).status_code == 403
    r = c.post(url, json={}, headers=world["admin"])
    assert r.status_code == 400 and r.get_json()["field"] == "confirm"
    assert c.get("/api/v1/workers", headers=world["admin"]).get_json()[0]["name"] == "Ana North"
    r = c.post(url, json={"confirm": True}, headers=world["admin"])
    assert r.status_code == 200 and r.get_json()["removed"]["positions"] == 1
    worker = next(w for w in c.get("/api/v1/workers", headers=world["admin"]).get_json() if w["id"] == ana)
    assert worker["name"] == f"Former worker #{ana}" and worker["device_id"] == f"anonymised-{ana}"
    order = c.get(f"/api/v1/work-orders/{world['orders'][0]}", headers=world["admin"]).get_json()
    assert order["assigned_worker_id"] == ana
    with session_scope(world["sessions"]) as session:
        assert session.get(WorkerDayKmRow, (ana, NOW.date())).km == 3.0
        assert positions_repo.last_position(session, worker_id=ana) is None
        assert "anonymise-worker" in [e.action for e in audit_repo.list_audit(session)]
    again = c.post(url, json={"confirm": True}, headers=world["admin"])
    assert again.status_code == 409 and "already anonymised" in again.get_json()["error"]
    assert osmand(world, "dev-ana", 1) == 400  # the old device id is gone


def test_a_worker_exports_everything_held_about_them_as_a_zip(world):
    """Tests that the worker's own login (not another worker's record), their push link and an admin get a zip
    whose data.json and CSVs hold their profile, consents, positions, orders and the audit entries about them."""
    c, ana = world["client"], world["ana"]
    with session_scope(world["sessions"]) as session:
        privacy_repo.give_consent(session, worker_id=ana, text_version="1", at=NOW, source=ConsentSource.PAPER, by=None)
    assert c.get(f"/api/v1/workers/{world['bo']}/export", headers=world["ana_login"]).status_code == 403
    assert c.get(f"/api/v1/workers/{ana}/export", headers=world["all"]).status_code == 403
    c.get(f"/api/v1/workers/{ana}/positions", headers=world["all"])  # an audited view of her positions
    r = c.get(f"/api/v1/workers/{ana}/export", headers=world["ana_login"])
    assert r.status_code == 200 and r.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(r.data))
    data = json.loads(archive.read("data.json"))["tables"]
    assert data["profile"][0]["name"] == "Ana North"
    assert data["consents"][0]["text_version"] == "1"
    assert len(data["positions"]) == 1 and data["orders"][0]["id"] == world["orders"][0]
    assert "view-positions" in {a["action"] for a in data["audit"]}
    assert "password_hash" not in data["users"][0]
    assert archive.read("positions.csv").decode().splitlines()[0].startswith("accuracy_m,")
    link = c.post(f"/api/v1/workers/{ana}/push-link", json={}, headers=world["admin"]).get_json()["token"]
    assert c.get(f"/api/v1/field/{link}/export").status_code == 200
    for path in ("export", "consent"):  # a link we never issued
        r = c.get(f"/api/v1/field/{link[:-3]}AAA/{path}")
        assert r.status_code == 401 and r.get_json()["field"] == "link"
    assert c.get(f"/api/v1/workers/{ana}/export", headers=world["admin"]).status_code == 200


def test_geofence_crossings_are_purged_past_retention_exported_and_anonymised_with_their_worker(world):
    """Tests that a worker's geofence crossings (their own table since 0022) older than the events' retention are
    purged and the younger ones kept, as `GET /workers/{id}/events` shows them; that the worker's export holds their
    own crossings (not a colleague's); and that anonymising them deletes theirs and leaves the colleague's."""
    c, ana, bo = world["client"], world["ana"], world["bo"]
    old, young = NOW - timedelta(days=40), NOW - timedelta(hours=1)

    def crossing(kind: FenceEventType, worker: int, when: datetime) -> GeofenceEvent:
        return GeofenceEvent(kind, worker, site, when, when + timedelta(minutes=1), position_id=None)

    with session_scope(world["sessions"]) as session:
        site = sites_repo.list_sites(session)[0].id
        stored = [crossing(FenceEventType.ENTER, ana, old), crossing(FenceEventType.EXIT, ana, old + timedelta(hours=1)),
                  crossing(FenceEventType.ENTER, ana, young), crossing(FenceEventType.ENTER, bo, young)]  # fmt: skip
        assert alerts_repo.add_fence_events(session, stored) == stored

    def events(worker: int, start: datetime = NOW - timedelta(days=1)) -> list[dict[str, object]]:
        query = {"from": start.isoformat(), "to": min(NOW, start + timedelta(days=30)).isoformat()}
        r = c.get(f"/api/v1/workers/{worker}/events", query_string=query, headers=world["admin"])
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    assert [e["type"] for e in events(ana, old - timedelta(minutes=1))] == ["enter", "exit"]
    counts = purge_all(sessions=world["sessions"], now=NOW, retention=RetentionDays(events=30))
    assert counts["fence_crossings"] == 2
    assert events(ana, old - timedelta(minutes=1)) == []
    assert events(ana) == [{"type": "enter", "site_id": site, "at": young.isoformat()}]
    r = c.get(f"/api/v1/workers/{ana}/export", headers=world["admin"])
    exported = json.loads(zipfile.ZipFile(io.BytesIO(r.data)).read("data.json"))["tables"]["fence_crossings"]
    assert exported == [{"worker_id": ana, "site_id": site, "at": young.isoformat(), "type": "enter",
                         "confirmed_at": (young + timedelta(minutes=1)).isoformat(), "position_id": None}]  # fmt: skip
    r = c.post(f"/api/v1/workers/{ana}/anonymise", json={"confirm": True}, headers=world["admin"])
    assert r.status_code == 200 and r.get_json()["removed"]["fence_crossings"] == 1
    assert events(ana) == []
    assert events(bo) == [{"type": "enter", "site_id": site, "at": young.isoformat()}]


def test_a_scoped_manager_reviews_only_their_teams_check_ins_and_reports(world):
    """Tests that the check-in review queue and the report approval queue of a north-scoped manager list only
    north's, and deciding south's check-in or report is 404 (the pages call the same services)."""
    c, sessions = world["client"], world["sessions"]
    with session_scope(sessions) as session:
        for worker, order, action in ((world["ana"], world["orders"][0], "n"), (world["bo"], world["orders"][1], "s")):
            session.add(CheckinRow(order_id=order, worker_id=worker, kind="in", at=NOW, latitude=43.7, longitude=7.4,
                                   verdict="ok", client_action_id=f"c-{action}", confidence_score=30,
                                   confidence_reasons=[], review_status="needs_review"))  # fmt: skip
            field_repo.add_report(session, client_action_id=f"r-{action}", order_id=order, worker_id=worker, text="t",
                                  checklist={}, parts=[], signature_path=None, signed_by="", written_at=NOW,
                                  created_at=NOW, status="pending_approval")  # fmt: skip
    queue = c.get("/api/v1/checkins/review?status=pending", headers=world["boss"]).get_json()["checkins"]
    assert [q["worker"]["id"] for q in queue] == [world["ana"]]
    south_checkin = 2
    r = c.post(
        f"/api/v1/checkins/{south_checkin}/review", json={"decision": "approve", "note": "ok"}, headers=world["boss"]
    )
    assert r.status_code == 404
    pending = c.get("/api/v1/service-reports/pending", headers=world["boss"]).get_json()["reports"]
    assert [p["order_id"] for p in pending] == [world["orders"][0]]
    r = c.post(f"/api/v1/orders/{world['orders'][1]}/report/review", json={"decision": "approve", "note": "ok"},
               headers=world["boss"])  # fmt: skip
    assert r.status_code == 404
    assert len(c.get("/api/v1/service-reports/pending", headers=world["admin"]).get_json()["reports"]) == 2


def test_a_scoped_dispatchers_pages_show_only_their_team(world):
    """Tests that the live map's and the day page's layouts of a north-scoped dispatcher (signed in with a
    cookie) name north's worker and never south's, and the route-plan page tells them they may not plan."""
    with session_scope(world["sessions"]) as session:
        users_repo.set_password(session, user_id=world["desk_id"], password="desk-pw")
    client = world["app"].server.test_client()
    r = client.post(
        "/login", data={"name": "north-desk", "password": "desk-pw"}, headers={"Origin": "http://localhost"}
    )
    assert r.status_code == 302
    for path in ("/_dash-layout", "/day/_dash-layout"):
        page = client.get(path).get_data(as_text=True)
        assert "Ana North" in page and "Bo South" not in page, path
    assert "may not plan routes" in client.get("/plans/_dash-layout").get_data(as_text=True)
    # In Chinese the refusal is in Chinese too (it was the one English line of a translated console).
    chinese = json.dumps(client.get("/plans/_dash-layout?lang=zh_CN").get_json(), ensure_ascii=False)
    assert "你的角色无权规划路线" in chinese


# --- attendance under the privacy rules ------------------------------------------------------------------

YESTERDAY = NOW - timedelta(days=1)


def attendance_of(world, worker: int, order: int, tag: str, *, at: datetime = NOW) -> dict[str, int]:
    """A worker's attendance (clock-in and out with the phone's position, a late entry, a day report, a reminder
    and a push subscription) as the push link leaves them; the ids."""
    with session_scope(world["sessions"]) as session:
        clock_day = at - timedelta(days=1)
        for kind, hour in (("in", 8), ("out", 16)):
            attendance_repo.add_clock_event(
                session, client_action_id=f"clock-{kind}-{tag}", worker_id=worker, kind=kind,
                at=clock_day.replace(hour=hour), location=LatLon(43.7301, 7.4201), accuracy_m=12.0,
                verdict="verified", verdict_reason="", created_at=clock_day.replace(hour=hour),
            )  # fmt: skip
        entry = attendance_repo.add_late_entry(
            session, client_action_id=f"late-{tag}", worker_id=worker, order_id=order, kind="in",
            at=at - timedelta(hours=1), reason=f"phone flat at the dentist {tag}", recorded_at=at,
        )  # fmt: skip
        report = attendance_repo.save_day_report(
            session, client_action_id=f"day-{tag}", worker_id=worker, day=at.date(), done=f"fixed the pump {tag}",
            problems="my back hurts", km=41.5, notes="home early", order_ids=[order], written_at=at, created_at=at,
        )  # fmt: skip
        reminders_repo.add_reminder(session, worker_id=worker, kind="shift_start", key=f"rem-{tag}", order_id=None,
                                    text="Your shift starts at 08:00", at=at)  # fmt: skip
        reminders_repo.add_subscription(
            session, worker_id=worker, at=at,
            subscription={"endpoint": f"https://push.example/{tag}", "keys": {"p256dh": "pk", "auth": "secret-auth"}},
        )  # fmt: skip
    return {"late_entry": entry.id, "day_report": report.id}


def test_a_scoped_manager_sees_and_decides_only_their_teams_attendance(world):
    """Tests that a north-scoped manager's late-entry queue, day reports and timesheets (JSON and CSV; also what
    the page /attendance/ fetches with their cookie) hold only north's worker, that south's late entry (view, decide), south's timesheet (`worker_id=`) and approving
    south's day answer 404 as for one that does not exist and change nothing, while north's work and an admin
    sees both teams."""
    c, ana, bo = world["client"], world["ana"], world["bo"]
    north = attendance_of(world, ana, world["orders"][0], "n")
    south = attendance_of(world, bo, world["orders"][1], "s")
    boss, admin = world["boss"], world["admin"]
    queue = c.get("/api/v1/late-entries?status=all", headers=boss).get_json()["late_entries"]
    assert [e["worker_id"] for e in queue] == [ana]
    assert len(c.get("/api/v1/late-entries?status=all", headers=admin).get_json()["late_entries"]) == 2
    r = c.get(f"/api/v1/late-entries/{south['late_entry']}", headers=boss)
    assert r.status_code == 404 and "South" not in r.get_data(as_text=True)
    assert c.get(f"/api/v1/late-entries/{north['late_entry']}", headers=boss).status_code == 200
    r = c.post(f"/api/v1/late-entries/{south['late_entry']}/decision", json={"decision": "approve"}, headers=boss)
    assert r.status_code == 404
    assert c.get(f"/api/v1/late-entries/{south['late_entry']}", headers=admin).get_json()["status"] == "pending"
    r = c.post(f"/api/v1/late-entries/{north['late_entry']}/decision", json={"decision": "approve"}, headers=boss)
    assert r.status_code == 200 and r.get_json()["status"] == "approved"
    reports = c.get("/api/v1/day-reports?from=2025-03-01&to=2025-03-05", headers=boss).get_json()["day_reports"]
    assert [d["worker_id"] for d in reports] == [ana]
    span = "from=2025-03-01&to=2025-03-03"
    rows = c.get(f"/api/v1/timesheets?{span}", headers=boss).get_json()["rows"]
    assert {row["worker_id"] for row in rows} == {ana}
    csv_text = c.get(f"/api/v1/timesheets?{span}&format=csv", headers=boss).get_data(as_text=True)
    assert "Ana North" in csv_text and "Bo South" not in csv_text
    assert {row["worker_id"] for row in c.get(f"/api/v1/timesheets?{span}", headers=admin).get_json()["rows"]} == {
        ana, bo}  # fmt: skip
    r = c.get(f"/api/v1/timesheets?{span}&worker_id={bo}", headers=boss)
    assert r.status_code == 404 and r.get_json()["field"] == "worker_id"
    assert c.get(f"/api/v1/timesheets?{span}&team=south", headers=boss).get_json()["rows"] == []
    day = YESTERDAY.date().isoformat()
    r = c.post("/api/v1/timesheets/approve", json={"worker_id": bo, "day": day}, headers=boss)
    assert r.status_code == 404 and r.get_json()["field"] == "worker_id"
    r = c.post("/api/v1/timesheets/approve", json={"worker_id": ana, "day": day}, headers=boss)
    assert r.status_code == 201
    approved = {row["worker_id"]: row["approved"] for row in
                c.get(f"/api/v1/timesheets?{span}", headers=admin).get_json()["rows"] if row["day"] == day}  # fmt: skip
    assert approved == {ana: True, bo: False}
    with session_scope(world["sessions"]) as session:  # the page /attendance/ signed in with a cookie, as a person
        users_repo.set_password(session, user_id=users_repo_actor(world, "north-boss").id, password="boss-pw")
    browser = world["app"].server.test_client()
    login = {"name": "north-boss", "password": "boss-pw"}
    assert browser.post("/login", data=login, headers={"Origin": "http://localhost"}).status_code == 302
    assert browser.get("/attendance/").status_code == 200
    page_queue = browser.get("/api/v1/late-entries?status=all").get_json()["late_entries"]
    assert [e["worker"] for e in page_queue] == ["Ana North"]


def test_one_purge_covers_attendance_clock_positions_texts_reminders_and_a_leavers_push_subscriptions(world):
    """Tests that the purge clears clock events' positions after the check-ins' period, decided late entries'
    reasons and day reports' text after `attendance_notes` (a pending entry keeps its reason, the hours and km
    stay), deletes old reminders and a deactivated worker's push subscriptions, and reports each count; and
    deactivating a worker through the API removes their push subscriptions at once."""
    sessions, ana, bo = world["sessions"], world["ana"], world["bo"]
    old = NOW - timedelta(days=40)
    entries = attendance_of(world, ana, world["orders"][0], "old", at=old)
    attendance_of(world, bo, world["orders"][1], "young")
    with session_scope(sessions) as session:
        attendance_repo.decide_late_entry(session, entries["late_entry"], approve=True, by=1, at=old, note="fine")
        attendance_repo.add_late_entry(session, client_action_id="late-pending", worker_id=ana,
                                       order_id=world["orders"][0], kind="out", at=old, reason="still waiting",
                                       recorded_at=old)  # fmt: skip
        workers_repo.set_active(session, worker_id=ana, active=False)  # as a roster import deactivates
    retention = RetentionDays(checkins=30, attendance_notes=30, field_actions=30)
    counts = purge_all(sessions=sessions, now=NOW, retention=retention)
    assert counts["clock_locations"] == 2 and counts["late_entry_reasons"] == 1 and counts["day_report_texts"] == 1
    assert counts["reminders"] == 1 and counts["push_subscriptions"] == 1
    with session_scope(sessions) as session:
        clocks = session.query(ClockEventRow).order_by(ClockEventRow.id).all()
        assert [(c.worker_id, c.latitude is None, c.at.hour) for c in clocks] == [
            (ana, True, 8), (ana, True, 16), (bo, False, 8), (bo, False, 16)]  # fmt: skip
        reasons = {e.reason for e in attendance_repo.late_entries(session, worker_id=ana)}
        assert reasons == {"", "still waiting"}
        report = attendance_repo.day_reports(session, start=old.date(), end=old.date(), worker_id=ana)[0]
        assert (report.done, report.problems, report.notes, report.km) == ("", "", "", 41.5)
        assert reminders_repo.subscriptions_of(session, ana) == [] and len(reminders_repo.subscriptions_of(session, bo))
    again = purge_all(sessions=sessions, now=NOW, retention=retention)
    assert again["clock_locations"] == 0 and again["push_subscriptions"] == 0
    r = world["client"].patch(f"/api/v1/workers/{bo}", json={"active": False}, headers=world["admin"])
    assert r.status_code == 200, r.get_json()
    with session_scope(sessions) as session:
        assert reminders_repo.subscriptions_of(session, bo) == []


def test_anonymising_a_leaver_clears_their_attendance_but_keeps_the_hours(world):
    """Tests that anonymising clears the leaver's clock positions, late-entry reasons and day-report text, deletes
    their reminders and push subscriptions, renames them in approved timesheets, keeps clock times, km and the
    approved figures, and leaves another worker's attendance untouched."""
    c, ana, bo = world["client"], world["ana"], world["bo"]
    attendance_of(world, ana, world["orders"][0], "n")
    attendance_of(world, bo, world["orders"][1], "s")
    day = YESTERDAY.date().isoformat()
    assert c.post("/api/v1/timesheets/approve", json={"worker_id": ana, "day": day},
                  headers=world["admin"]).status_code == 201  # fmt: skip
    r = c.post(f"/api/v1/workers/{ana}/anonymise", json={"confirm": True}, headers=world["admin"])
    removed = r.get_json()["removed"]
    assert r.status_code == 200 and removed["clock_locations"] == 2 and removed["push_subscriptions"] == 1
    assert removed["late_entry_reasons"] == 1 and removed["day_report_texts"] == 1 and removed["reminders"] == 1
    with session_scope(world["sessions"]) as session:
        clocks = session.query(ClockEventRow).filter(ClockEventRow.worker_id == ana).all()
        assert [(c.latitude, c.longitude, c.accuracy_m) for c in clocks] == [(None, None, None)] * 2
        assert [c.at.hour for c in clocks] == [8, 16]
        assert [e.reason for e in attendance_repo.late_entries(session, worker_id=ana)] == [""]
        report = attendance_repo.day_reports(session, start=NOW.date(), end=NOW.date(), worker_id=ana)[0]
        assert (report.done, report.problems, report.notes, report.km) == ("", "", "", 41.5)
        assert reminders_repo.subscriptions_of(session, ana) == []
        assert reminders_repo.reminders_of(session, worker_id=ana, since=NOW - timedelta(days=9)) == []
        assert [e.reason for e in attendance_repo.late_entries(session, worker_id=bo)] == [
            "phone flat at the dentist s"
        ]
        assert len(reminders_repo.subscriptions_of(session, bo)) == 1
    rows = c.get("/api/v1/timesheets?from=2025-03-01&to=2025-03-03", headers=world["admin"]).get_json()["rows"]
    theirs = [row for row in rows if row["worker_id"] == ana and row["day"] == day]
    assert theirs[0]["worker"] == f"Former worker #{ana}" and theirs[0]["approved"] is True
    assert theirs[0]["worked_min"] == 480.0
    assert "Ana North" not in c.get("/api/v1/timesheets?from=2025-03-01&to=2025-03-03&format=csv",
                                    headers=world["admin"]).get_data(as_text=True)  # fmt: skip


def test_a_workers_export_holds_their_attendance(world):
    """Tests that the export's data.json and CSVs hold the worker's clock events (with the phone's position),
    late entries, day reports, approved timesheets, reminders and push subscriptions (without their keys), and
    nothing of another worker's attendance."""
    c, ana = world["client"], world["ana"]
    attendance_of(world, ana, world["orders"][0], "n")
    attendance_of(world, world["bo"], world["orders"][1], "s")
    assert c.post("/api/v1/timesheets/approve", json={"worker_id": ana, "day": YESTERDAY.date().isoformat()},
                  headers=world["admin"]).status_code == 201  # fmt: skip
    r = c.get(f"/api/v1/workers/{ana}/export", headers=world["ana_login"])
    archive = zipfile.ZipFile(io.BytesIO(r.data))
    data = json.loads(archive.read("data.json"))["tables"]
    assert [(e["kind"], e["latitude"]) for e in data["clock_events"]] == [("in", 43.7301), ("out", 43.7301)]
    assert [e["reason"] for e in data["late_entries"]] == ["phone flat at the dentist n"]
    assert [d["done"] for d in data["day_reports"]] == ["fixed the pump n"]
    assert [t["figures"]["worked_min"] for t in data["timesheets"]] == [480.0]
    assert [m["text"] for m in data["reminders"]] == ["Your shift starts at 08:00"]
    assert [p["endpoint"] for p in data["push_subscriptions"]] == ["https://push.example/n"]
    assert "secret-auth" not in archive.read("data.json").decode()
    assert "dentist n" in archive.read("late_entries.csv").decode()
    assert "fixed the pump s" not in archive.read("day_reports.csv").decode()
