"""A worker's day over HTTP (in-process app, real SQLite, fakeredis): plan-vs-actual and track.geojson."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fakeredis
import pytest

from console.app import create_app
from data import audit_repo, positions_repo, users_repo, workers_repo
from data.db import make_engine, make_sessionmaker, session_scope
from data.migrate import migrate
from data.settings import Settings
from dispatch.access import Role
from dispatch.clock import ManualClock
from tests.support.field_day import day_fixes, seed_field_day

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=6)


@pytest.fixture
def app(tmp_path: Path):
    settings = replace(
        Settings.from_env(
            {"OUTFIELD_VAR": str(tmp_path), "SECRET_KEY": "test", "OUTFIELD_OSRM_DIR": str(tmp_path / "none")}
        ),
        redis_url="redis://fake:6379/0",
    )
    migrate(settings.database_url)
    outfield = create_app(settings, clock=ManualClock(NOW))
    outfield.bus._redis = fakeredis.FakeRedis()  # noqa: SLF001 - unit test: no Redis server needed for this edge
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with session_scope(sessions) as session:
        seeded = seed_field_day(session, t0=T0)
        ben = workers_repo.add_worker(session, name="Ben", device_id="dev-ben")
        for position in day_fixes(ben.id, T0, device_id="dev-ben"):
            positions_repo.add_position(session, position)
        _, manager = users_repo.create_user(session, name="mia", role=Role.MANAGER)
        _, ana_token = users_repo.create_user(session, name="ana", role=Role.FIELD_WORKER, worker_id=seeded.worker_id)
    return {
        "client": outfield.server.test_client(),
        "sessions": sessions,
        "seeded": seeded,
        "ana": seeded.worker_id,
        "ben": ben.id,
        "manager": {"Authorization": f"Bearer {manager}"},
        "ana_token": {"Authorization": f"Bearer {ana_token}"},
    }


DAY = {"date": "2025-03-03"}


def test_plan_vs_actual_lists_each_visit_with_its_late_and_missed_verdicts(app):
    """Tests that the seeded day answers, per planned visit in route order, planned and actual times with the
    source: A on time (checked in 08:13, out 08:40), B late (geofence 08:44, 24 min behind plan, 14 min after
    its window), C missed; the two unplanned stops (home, D), planned 3,200 m and about 2,500 m driven."""
    client, seeded = app["client"], app["seeded"]
    response = client.get(f"/api/v1/workers/{app['ana']}/plan-vs-actual", query_string=DAY, headers=app["manager"])
    assert response.status_code == 200
    body = response.get_json()
    assert (body["has_plan"], body["plan_id"], body["date"]) == (True, seeded.plan_id, "2025-03-03")
    a, b, c = body["visits"]
    assert [v["order_id"] for v in (a, b, c)] == [seeded.orders[k] for k in "ABC"]
    assert (a["status"], a["actual_arrival"], a["arrival_source"], a["actual_departure"], a["departure_source"]) == (
        "on_time",
        "2025-03-03T08:13:00+00:00",
        "check-in",
        "2025-03-03T08:40:00+00:00",
        "check-out",
    )
    assert (a["planned_arrival"], a["planned_departure"], a["vs_plan_s"]) == (
        "2025-03-03T08:15:00+00:00",
        "2025-03-03T08:45:00+00:00",
        -120,
    )
    assert (b["status"], b["actual_arrival"], b["arrival_source"], b["late_by_window_s"], b["vs_plan_s"]) == (
        "late",
        "2025-03-03T08:44:00+00:00",
        "geofence",
        840,
        1440,
    )
    assert (b["actual_departure"], b["departure_source"]) == ("2025-03-03T09:14:10+00:00", "geofence")
    assert (c["status"], c["actual_arrival"], c["arrival_source"]) == ("missed", None, None)
    assert (c["planned_arrival"], c["planned_start"]) == ("2025-03-03T09:20:00+00:00", "2025-03-03T09:30:00+00:00")
    assert body["missed"] == [seeded.orders["C"]] and body["late"] == [seeded.orders["B"]]
    assert [round(s["duration_s"]) for s in body["unplanned_stops"]] == [620, 900]
    assert body["planned_distance_m"] == 3200
    assert body["actual_distance_m"] == pytest.approx(2500, abs=1)


def test_a_worker_without_a_published_route_gets_the_actual_part_and_an_empty_plan(app):
    """Tests that Ben, who drove the same day but has no route in the published plan, gets 200 with has_plan
    false, no plan id, no visits, no planned distance, and all four of his stops as unplanned."""
    response = app["client"].get(
        f"/api/v1/workers/{app['ben']}/plan-vs-actual", query_string=DAY, headers=app["manager"]
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["has_plan"], body["plan_id"], body["visits"], body["missed"], body["planned_distance_m"]) == (
        False,
        None,
        [],
        [],
        None,
    )
    assert len(body["unplanned_stops"]) == 4 and body["actual_distance_m"] > 2000


@pytest.mark.parametrize("view", ["plan-vs-actual", "track.geojson"])
def test_a_field_worker_sees_only_their_own_day_and_every_read_is_audited(app, view):
    """Tests that Ana's token reads her own day (200, audited as a location view of her) but gets 403 for Ben's,
    and that without a token the answer is 401."""
    client, ana, ben = app["client"], app["ana"], app["ben"]
    own = client.get(f"/api/v1/workers/{ana}/{view}", query_string=DAY, headers=app["ana_token"])
    assert own.status_code == 200
    other = client.get(f"/api/v1/workers/{ben}/{view}", query_string=DAY, headers=app["ana_token"])
    assert other.status_code == 403
    assert other.get_json()["error"] == "a field worker may only view-positions of their own record"
    assert client.get(f"/api/v1/workers/{ana}/{view}", query_string=DAY).status_code == 401
    with session_scope(app["sessions"]) as session:
        entries = audit_repo.list_audit(session, subject_type="worker")
    action = "view-track" if view == "track.geojson" else "view-plan-vs-actual"
    assert [(e.action, e.subject_id) for e in entries] == [(action, ana)]


def test_a_bad_date_is_400_naming_date_and_nothing_is_audited(app):
    """Tests that a missing date, a date not written YYYY-MM-DD, a word and the last representable day are each
    refused with 400 naming `date`, nothing is audited, and an unknown worker is 404."""
    client, headers, ana = app["client"], app["manager"], app["ana"]
    for params in ({}, {"date": "2025-3-3"}, {"date": "tomorrow"}, {"date": "2025-02-30"}, {"date": "9999-12-31"}):
        response = client.get(f"/api/v1/workers/{ana}/plan-vs-actual", query_string=params, headers=headers)
        assert response.status_code == 400, params
        assert response.get_json()["field"] == "date", params
    with session_scope(app["sessions"]) as session:
        assert audit_repo.list_audit(session, subject_type="worker") == []
    assert client.get("/api/v1/workers/99999/plan-vs-actual", query_string=DAY, headers=headers).status_code == 404


def test_track_geojson_holds_the_filtered_track_stops_and_trips(app):
    """Tests that track.geojson is a GeoJSON download: the filtered track as a LineString with one fix time per
    vertex (lon, lat order), the four stops as Points with durations and the three trips with the distances /trips gives."""
    client, ana = app["client"], app["ana"]
    window = {"from": "2025-03-03T07:00:00Z", "to": "2025-03-03T12:00:00Z"}
    response = client.get(f"/api/v1/workers/{ana}/track.geojson", query_string=window, headers=app["manager"])
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    assert response.headers["Content-Disposition"] == f'attachment; filename="worker-{ana}.geojson"'
    features = response.get_json()["features"]
    kinds = [f["properties"]["kind"] for f in features]
    assert kinds == ["track"] + ["stop"] * 4 + ["trip"] * 3
    track = features[0]
    fixes = day_fixes(ana, T0)
    assert track["geometry"]["type"] == "LineString"
    assert track["geometry"]["coordinates"][0] == [pytest.approx(fixes[0].longitude), pytest.approx(fixes[0].latitude)]
    assert len(track["properties"]["times"]) == len(fixes) == len(track["geometry"]["coordinates"])
    assert track["properties"]["times"][0] == "2025-03-03T08:00:00+00:00"
    assert [round(f["properties"]["duration_s"]) for f in features[1:5]] == [620, 1820, 1810, 900]
    trips = client.get(f"/api/v1/workers/{ana}/trips", query_string=window, headers=app["manager"]).get_json()
    assert [(f["properties"]["start"], f["properties"]["distance_m"]) for f in features[5:]] == [
        (t["start"], t["distance_m"]) for t in trips
    ]
    assert all(f["geometry"]["type"] == "LineString" for f in features[5:])


def test_the_openapi_document_describes_plan_vs_actual_and_track_geojson(app):
    """Tests that /api/v1/openapi.json lists plan-vs-actual with its required date and track.geojson with its
    range."""
    doc = app["client"].get("/api/v1/openapi.json").get_json()
    pva = doc["paths"]["/api/v1/workers/{worker_id}/plan-vs-actual"]["get"]
    assert [(p["name"], p.get("required", False)) for p in pva["parameters"]] == [("worker_id", True), ("date", True)]
    geo = doc["paths"]["/api/v1/workers/{worker_id}/track.geojson"]["get"]
    assert [p["name"] for p in geo["parameters"]] == ["worker_id", "from", "to"]
    assert "has_plan" in doc["components"]["schemas"]["PlanVersusActual"]["required"]
