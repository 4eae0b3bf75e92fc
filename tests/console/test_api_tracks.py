"""A worker's stops, trips and track.gpx over HTTP (in-process app, real SQLite, fakeredis): shapes, access, ranges."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fakeredis
import gpxpy
import pytest

from console.app import create_app
from data import audit_repo, positions_repo, users_repo, workers_repo
from data.db import make_engine, make_sessionmaker, session_scope
from data.migrate import migrate
from data.settings import Settings
from dispatch.access import Role
from dispatch.clock import ManualClock
from dispatch.geo import EARTH_RADIUS_M, LatLon
from dispatch.positions import Position

DAY = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
NOW = DAY + timedelta(hours=4)
A = LatLon(43.7394, 7.4276)
M_PER_DEG_LAT = EARTH_RADIUS_M * math.pi / 180.0


def east_of(origin: LatLon, metres: float) -> LatLon:
    return LatLon(origin.lat, origin.lon + metres / (M_PER_DEG_LAT * math.cos(math.radians(origin.lat))))


B = east_of(A, 1000)


def day_of_fixes(worker_id: int) -> list[Position]:
    """10 minutes at A (a fix every 30 s), a 1 km drive east in 100 s (fixes at 50 m, 150 m, ... 950 m), 10 minutes
    at B."""
    points = [(s, A) for s in range(0, 601, 30)]
    points += [(600 + s, east_of(A, 10 * s)) for s in range(5, 100, 10)]
    points += [(700 + s, B) for s in range(0, 601, 30)]
    return [
        Position(worker_id, "dev", DAY + timedelta(seconds=s), DAY + timedelta(seconds=s), NOW, p.lat, p.lon)
        for s, p in points
    ]


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
        ana = workers_repo.add_worker(session, name="Ana", device_id="dev-ana")
        ben = workers_repo.add_worker(session, name="Ben", device_id="dev-ben")
        for position in day_of_fixes(ana.id) + day_of_fixes(ben.id):
            positions_repo.add_position(session, position)
        _, dispatcher = users_repo.create_user(session, name="dora", role=Role.DISPATCHER)
        _, ana_token = users_repo.create_user(session, name="ana", role=Role.FIELD_WORKER, worker_id=ana.id)
    return {
        "client": outfield.server.test_client(),
        "sessions": sessions,
        "ana": ana.id,
        "ben": ben.id,
        "dispatcher": {"Authorization": f"Bearer {dispatcher}"},
        "ana_token": {"Authorization": f"Bearer {ana_token}"},
    }


RANGE = {"from": "2025-03-03T07:00:00Z", "to": "2025-03-03T10:00:00+01:00"}  # 07:00-09:00 UTC


def test_stops_and_trips_of_a_day_have_the_contract_fields_in_utc(app):
    """Tests that a day of 10 min at A, a 1 km drive and 10 min at B gives two stops (start, end, latitude,
    longitude, duration_s) and one trip (start, end, distance_m, duration_s), times ISO 8601 with a zone. The
    first and last fixes of the drive are within 100 m of A and B, so they belong to the stops."""
    client, headers, ana = app["client"], app["dispatcher"], app["ana"]
    stops = client.get(f"/api/v1/workers/{ana}/stops", query_string=RANGE, headers=headers)
    assert stops.status_code == 200
    assert stops.get_json() == [
        {
            "start": "2025-03-03T08:00:00+00:00",
            "end": "2025-03-03T08:10:05+00:00",
            "latitude": pytest.approx(A.lat),
            "longitude": pytest.approx(A.lon, abs=1e-4),
            "duration_s": 605,
        },
        {
            "start": "2025-03-03T08:11:35+00:00",
            "end": "2025-03-03T08:21:40+00:00",
            "latitude": pytest.approx(B.lat),
            "longitude": pytest.approx(B.lon, abs=1e-4),
            "duration_s": 605,
        },
    ]
    trips = client.get(f"/api/v1/workers/{ana}/trips", query_string=RANGE, headers=headers)
    assert trips.status_code == 200
    [trip] = trips.get_json()
    assert set(trip) == {"start", "end", "distance_m", "duration_s"}
    assert (trip["start"], trip["end"], trip["duration_s"]) == (
        "2025-03-03T08:10:05+00:00",
        "2025-03-03T08:11:35+00:00",
        90,
    )
    assert trip["distance_m"] == pytest.approx(900, abs=1)  # from the fix at 50 m to the one at 950 m


def test_track_gpx_is_gpx_1_1_with_every_fix_of_the_range_in_utc(app):
    """Tests that track.gpx is a GPX 1.1 download holding exactly the stored fixes of the range, in order, with
    UTC times written with Z; a range with no fixes is a valid empty track."""
    client, headers, ana = app["client"], app["dispatcher"], app["ana"]
    window = {"from": "2025-03-03T08:05:00Z", "to": "2025-03-03T08:15:00Z"}
    response = client.get(f"/api/v1/workers/{ana}/track.gpx", query_string=window, headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "application/gpx+xml"
    assert response.headers["Content-Disposition"] == f'attachment; filename="worker-{ana}.gpx"'
    text = response.get_data(as_text=True)
    assert 'version="1.1"' in text and 'xmlns="http://www.topografix.com/GPX/1/1"' in text
    assert "<time>2025-03-03T08:05:00Z</time>" in text
    points = [p for t in gpxpy.parse(text).tracks for s in t.segments for p in s.points]
    expected = [p for p in day_of_fixes(ana) if DAY + timedelta(minutes=5) <= p.fix_time <= DAY + timedelta(minutes=15)]
    assert [(p.time, p.latitude, p.longitude) for p in points] == [
        (e.fix_time, pytest.approx(e.latitude), pytest.approx(e.longitude)) for e in expected
    ]
    nothing = {"from": "2025-03-02T00:00:00Z", "to": "2025-03-02T01:00:00Z"}
    empty = client.get(f"/api/v1/workers/{ana}/track.gpx", query_string=nothing, headers=headers)
    assert empty.status_code == 200 and gpxpy.parse(empty.get_data(as_text=True)).get_track_points_no() == 0


@pytest.mark.parametrize("view", ["stops", "trips", "track.gpx"])
def test_a_field_worker_sees_only_their_own_history_and_every_read_is_audited(app, view):
    """Tests that Ana's token reads her own stops/trips/track (200, audited as hers) but gets 403 for Ben's, and
    that without a token the answer is 401."""
    client, ana, ben = app["client"], app["ana"], app["ben"]
    own = client.get(f"/api/v1/workers/{ana}/{view}", query_string=RANGE, headers=app["ana_token"])
    assert own.status_code == 200
    other = client.get(f"/api/v1/workers/{ben}/{view}", query_string=RANGE, headers=app["ana_token"])
    assert other.status_code == 403
    assert other.get_json() == {"error": "a field worker may only view-positions of their own record"}
    assert client.get(f"/api/v1/workers/{ana}/{view}", query_string=RANGE).status_code == 401
    with session_scope(app["sessions"]) as session:
        entries = audit_repo.list_audit(session, subject_type="worker")
    action = "view-track" if view == "track.gpx" else f"view-{view}"
    assert [(e.action, e.subject_id, e.details["count"]) for e in entries] == [(action, ana, 52)]


@pytest.mark.parametrize("view", ["stops", "trips", "track.gpx"])
def test_bad_ranges_are_400_naming_the_field_and_an_unknown_worker_is_404(app, view):
    """Tests that a time without a zone, a time that is not one, `to` before `from` and a range over 31 days are
    refused with the field named, and nothing is audited; an unknown worker is 404."""
    client, headers, ana = app["client"], app["dispatcher"], app["ana"]
    cases = [
        ({"from": "2025-03-03T08:00:00"}, "from", "has no time zone"),
        ({"to": "tomorrow"}, "to", "is not an ISO 8601 time"),
        ({"from": "2025-03-03T09:00:00Z", "to": "2025-03-03T08:00:00Z"}, "to", "is before from"),
        ({"from": "2025-01-01T00:00:00Z", "to": "2025-03-03T00:00:00Z"}, "from", "at most 31 days"),
    ]
    for params, field, reason in cases:
        response = client.get(f"/api/v1/workers/{ana}/{view}", query_string=params, headers=headers)
        assert response.status_code == 400, params
        body = response.get_json()
        assert body["field"] == field and reason in body["error"], body
    with session_scope(app["sessions"]) as session:
        assert audit_repo.list_audit(session, subject_type="worker") == []
    assert client.get(f"/api/v1/workers/99999/{view}", headers=headers).status_code == 404


def test_the_openapi_document_describes_the_three_views(app):
    """Tests that /api/v1/openapi.json lists stops, trips and track.gpx with their range parameters."""
    doc = app["client"].get("/api/v1/openapi.json").get_json()
    for view in ("stops", "trips", "track.gpx"):
        operation = doc["paths"][f"/api/v1/workers/{{worker_id}}/{view}"]["get"]
        assert [p["name"] for p in operation["parameters"]] == ["worker_id", "from", "to"]
    assert doc["components"]["schemas"]["Stop"]["required"] == ["start", "end", "latitude", "longitude", "duration_s"]
