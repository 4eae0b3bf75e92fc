"""Check-in confidence end to end: the score and its reasons, photo evidence, and the managers' review queue."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from PIL import Image

from data import audit_repo
from data.db import make_engine, make_sessionmaker, session_scope
from tests.support.consent import consent_all
from tests.support.windows import window_fields

pytestmark = pytest.mark.integration

SITES = """external_ref,name,address,latitude,longitude,geofence_radius_m,category
r:casino,Casino de Monte-Carlo,Place du Casino,43.7394,7.4276,60,amenity=casino
"""
WORKERS = """name,device_id,skills,team,home_lat,home_lon,shift_days,shift_start,shift_end
Cleo Review,r-cleo,gas,Centre,43.7390,7.4270,Mon-Sun,00:00,24:00
"""
CASINO = {"lat": 43.7394, "lon": 7.4276}
ONE_KM_NORTH = {"lat": 43.7484, "lon": 7.4276}


def audit_of_checkin(console_server, checkin_id: int) -> list[tuple[str, dict]]:
    """(action, details) of the audit entries about a check-in, read from the server's database."""
    engine = make_engine(console_server.env["DATABASE_URL"])
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            entries = audit_repo.list_audit(session, subject_type="checkin", subject_id=checkin_id)
            return [(e.action, dict(e.details)) for e in entries]
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def setup(console_server, tmp_path_factory):
    d = tmp_path_factory.mktemp("csv")
    (d / "sites.csv").write_text(SITES)
    (d / "workers.csv").write_text(WORKERS)
    console_server.cli("data", "import-csv", "sites", str(d / "sites.csv"))
    console_server.cli("data", "import-csv", "workers", str(d / "workers.csv"))
    admin = {"Authorization": f"Bearer {console_server.admin_token}"}
    manager = console_server.cli("data", "create-user", "--role", "manager", "--name", "Mona Manager").strip()
    dispatcher = console_server.cli("data", "create-user", "--role", "dispatcher", "--name", "Dan Dispatch").strip()
    (worker,) = consent_all(requests.get, requests.post, admin, url=console_server.url)
    token = requests.post(
        f"{console_server.url}/api/v1/workers/{worker['id']}/push-link", json={}, headers=admin, timeout=5
    ).json()["token"]
    return {
        "url": console_server.url,
        "admin": admin,
        "manager": {"Authorization": f"Bearer {manager}"},
        "dispatcher": {"Authorization": f"Bearer {dispatcher}"},
        "worker_id": worker["id"],
        "token": token,
    }


def new_order(setup) -> int:
    body = {"site_id": 1, "type": "repair", "required_skills": ["gas"], "service_minutes": 30, **window_fields()}
    order = requests.post(f"{setup['url']}/api/v1/work-orders", json=body, headers=setup["admin"], timeout=10).json()
    r = requests.post(
        f"{setup['url']}/api/v1/work-orders/{order['id']}/assign",
        json={"worker_id": setup["worker_id"], "reason": "test set-up"},
        headers=setup["admin"],
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return int(order["id"])


def act(order_id: int, kind: str, **extra) -> dict:
    return {
        "client_action_id": str(uuid.uuid4()),
        "order_id": order_id,
        "action": kind,
        "at": datetime.now(UTC).isoformat(),
        **extra,
    }


def visit(setup, location: dict, *, sent_at: datetime | None = None) -> tuple[int, dict]:
    """A fresh order: accept, check in at `location`, check straight out (so the worker is free again)."""
    order_id = new_order(setup)
    steps = [act(order_id, "accept"), act(order_id, "en_route"), act(order_id, "check_in", location=location)]
    body: dict = {"actions": steps}
    if sent_at is not None:
        body["sent_at"] = sent_at.isoformat()
    r = requests.post(f"{setup['url']}/api/v1/field/{setup['token']}/actions", json=body, timeout=10)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["applied"] * 3, results
    out = act(order_id, "check_out", location={**CASINO, "accuracy_m": 10})
    requests.post(f"{setup['url']}/api/v1/field/{setup['token']}/actions", json={"actions": [out]}, timeout=10)
    return order_id, results[2]


def record(setup, order_id: int, who: str = "admin") -> dict:
    r = requests.get(f"{setup['url']}/api/v1/work-orders/{order_id}/field-record", headers=setup[who], timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def check_in_of(setup, order_id: int) -> dict:
    (checkin,) = [c for c in record(setup, order_id)["checkins"] if c["kind"] == "in"]
    return checkin


def queue(setup, status: str = "pending", who: str = "manager") -> requests.Response:
    return requests.get(
        f"{setup['url']}/api/v1/checkins/review", params={"status": status}, headers=setup[who], timeout=5
    )


def review(setup, checkin_id: int, body: dict, who: str = "manager") -> requests.Response:
    return requests.post(
        f"{setup['url']}/api/v1/checkins/{checkin_id}/review", json=body, headers=setup[who], timeout=5
    )


def jpeg_with_exif(taken: str, lat_dms: tuple[float, float, float], lon_dms: tuple[float, float, float]) -> bytes:
    image = Image.new("RGB", (640, 480), (40, 120, 200))
    exif = Image.Exif()
    exif.get_ifd(0x8769).update({0x9003: taken, 0x9011: "+00:00"})
    exif.get_ifd(0x8825).update({1: "N", 2: lat_dms, 3: "E", 4: lon_dms})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def upload(setup, order_id: int, data: bytes) -> dict:
    r = requests.post(
        f"{setup['url']}/api/v1/field/{setup['token']}/photos",
        files={"file": ("p.jpg", data, "image/jpeg")},
        data={"order_id": str(order_id), "client_action_id": str(uuid.uuid4())},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_a_checkin_far_from_the_site_with_a_wrong_phone_clock_is_scored_low_with_reasons(setup):
    """Tests that a check-in 1 km from the site from a phone 10 min slow scores 40 with both reasons in words,
    in the sync answer and the field record, and waits in the managers' queue."""
    order_id, result = visit(
        setup, {**ONE_KM_NORTH, "accuracy_m": 15}, sent_at=datetime.now(UTC) - timedelta(minutes=10)
    )
    assert result["confidence"] == 40
    checkin = check_in_of(setup, order_id)
    assert checkin["confidence"] == 40
    reasons = {r["code"]: r for r in checkin["reasons"]}
    assert set(reasons) == {"outside_geofence", "clock_offset"}
    assert reasons["outside_geofence"]["points_lost"] == 45
    assert (
        "outside the geofence of Casino de Monte-Carlo, beyond its ±15 m accuracy"
        in reasons["outside_geofence"]["text"]
    )
    assert reasons["clock_offset"]["text"].startswith("the phone's clock is 10 min behind the server's")
    assert checkin["review"]["status"] == "needs_review"
    pending = queue(setup).json()
    assert pending["threshold"] == 60
    (item,) = [c for c in pending["checkins"] if c["id"] == checkin["id"]]
    assert (item["order_id"], item["site"]["name"], item["worker"]["name"]) == (
        order_id,
        "Casino de Monte-Carlo",
        "Cleo Review",
    )


def test_a_clean_checkin_scores_100_and_stays_out_of_the_queue(setup):
    """Tests that an accurate fix at the site with a fresh fix time and a right clock scores 100, not queued."""
    now = datetime.now(UTC)
    order_id, result = visit(setup, {**CASINO, "accuracy_m": 8, "at": now.isoformat()}, sent_at=now)
    assert result["confidence"] == 100
    checkin = check_in_of(setup, order_id)
    assert (checkin["confidence"], checkin["reasons"], checkin["review"]["status"]) == (100, [], "not_needed")
    assert checkin["id"] not in [c["id"] for c in queue(setup, "all").json()["checkins"]]


def test_a_photo_arriving_later_rescores_the_checkin_and_gets_a_stamped_copy(setup):
    """Tests that a photo whose EXIF says two days ago and 3 km away lowers a clean check-in to 55 and queues it;
    the server keeps a stamped copy (a band added under the picture) beside the untouched original."""
    order_id, result = visit(setup, {**CASINO, "accuracy_m": 8})
    assert result["confidence"] == 100
    taken = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y:%m:%d %H:%M:%S")
    data = jpeg_with_exif(taken, (43.0, 46.0, 30.0), (7.0, 25.0, 39.0))  # 43.775 N: ~4 km north of the casino
    photo = upload(setup, order_id, data)
    checkin = check_in_of(setup, order_id)
    reasons = {r["code"]: r for r in checkin["reasons"]}
    assert set(reasons) == {"photo_time", "photo_place"}
    assert reasons["photo_time"]["text"].startswith(f"photo {photo['photo_id']} was taken 2 d 0 h before the check-in")
    assert "km from the check-in (EXIF GPS; limit 250 m)" in reasons["photo_place"]["text"]
    assert (checkin["confidence"], checkin["review"]["status"]) == (55, "needs_review")

    (listed,) = [p for p in record(setup, order_id)["photos"] if p["photo_id"] == photo["photo_id"]]
    assert listed["watermarked_url"] == f"/api/v1/photos/{photo['photo_id']}/watermarked"
    original = requests.get(f"{setup['url']}{listed['original_url']}", headers=setup["admin"], timeout=5)
    assert original.content == data
    stamped = requests.get(f"{setup['url']}{listed['watermarked_url']}", headers=setup["admin"], timeout=5)
    assert stamped.headers["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(stamped.content)) as image:
        width, height = image.size
        band = image.convert("L").crop((0, 480, width, height))
        assert width == 640 and height > 480
        assert band.getextrema()[1] > 200  # white text on the dark band


def test_a_manager_rejects_with_a_note_and_the_decision_shows_in_the_record(setup, console_server):
    """Tests that a reject without a note is refused naming `note`, an unknown decision naming `decision`, and
    neither is stored; a reject with a note is kept with who and when, audited once, and a second decision gets 409."""
    order_id, _ = visit(setup, {**ONE_KM_NORTH, "accuracy_m": 15})
    checkin_id = check_in_of(setup, order_id)["id"]
    no_note = review(setup, checkin_id, {"decision": "reject", "note": "  "})
    assert (no_note.status_code, no_note.json()["field"]) == (400, "note")
    odd = review(setup, checkin_id, {"decision": "maybe"})
    assert (odd.status_code, odd.json()["field"]) == (400, "decision")
    assert check_in_of(setup, order_id)["review"]["status"] == "needs_review"

    done = review(setup, checkin_id, {"decision": "reject", "note": "Phone was at home, not at the casino"})
    assert done.status_code == 200, done.text
    assert done.json()["review"]["status"] == "rejected"
    again = review(setup, checkin_id, {"decision": "approve"})
    assert again.status_code == 409
    assert again.json()["error"].startswith(f"check-in {checkin_id} was already rejected by Mona Manager at ")

    field = record(setup, order_id)
    (checkin,) = [c for c in field["checkins"] if c["id"] == checkin_id]
    assert (checkin["review"]["status"], checkin["review"]["by"], checkin["review"]["note"]) == (
        "rejected",
        "Mona Manager",
        "Phone was at home, not at the casino",
    )
    (event,) = field["reviews"]
    assert (event["checkin_id"], event["decision"], event["by"]) == (checkin_id, "rejected", "Mona Manager")
    assert audit_of_checkin(console_server, checkin_id) == [
        ("review-checkin", {"decision": "rejected", "order_id": order_id})
    ]
    rejected = queue(setup, "rejected").json()["checkins"]
    assert checkin_id in [c["id"] for c in rejected]
    assert checkin_id not in [c["id"] for c in queue(setup, "pending").json()["checkins"]]


def test_approving_needs_no_note_and_a_checkin_that_never_needed_review_gets_409(setup):
    """Tests that an approval without a note is kept, and reviewing a check-in that scored 100 is a 409 saying why."""
    order_id, _ = visit(setup, {**ONE_KM_NORTH, "accuracy_m": 15})
    checkin_id = check_in_of(setup, order_id)["id"]
    assert review(setup, checkin_id, {"decision": "approve"}, who="admin").status_code == 200
    assert check_in_of(setup, order_id)["review"]["status"] == "approved"
    clean_order, _ = visit(setup, {**CASINO, "accuracy_m": 8})
    clean = check_in_of(setup, clean_order)["id"]
    r = review(setup, clean, {"decision": "approve"})
    assert (r.status_code, r.json()["error"]) == (
        409,
        f"check-in {clean} scored 100, not under the review threshold 60: nothing to review",
    )
    assert review(setup, 999_999, {"decision": "approve"}).status_code == 404


def test_dispatchers_and_field_links_may_not_review(setup):
    """Tests that a dispatcher gets 403 on the queue and on a decision (managers only), the link's token is no
    credential here (401), and a bad status filter is a 400 naming `status`."""
    order_id, _ = visit(setup, {**ONE_KM_NORTH, "accuracy_m": 15})
    checkin_id = check_in_of(setup, order_id)["id"]
    listed = queue(setup, who="dispatcher")
    assert (listed.status_code, listed.json()["error"]) == (403, "role dispatcher may not review-checkins")
    decided = review(setup, checkin_id, {"decision": "approve"}, who="dispatcher")
    assert decided.status_code == 403
    as_worker = requests.post(
        f"{setup['url']}/api/v1/checkins/{checkin_id}/review",
        json={"decision": "approve"},
        headers={"Authorization": f"Bearer {setup['token']}"},
        timeout=5,
    )
    assert as_worker.status_code == 401
    assert check_in_of(setup, order_id)["review"]["status"] == "needs_review"
    bad = queue(setup, "everything")
    assert (bad.status_code, bad.json()["field"]) == (400, "status")


def test_a_malformed_fix_time_or_sent_at_is_refused_naming_the_field(setup):
    """Tests that `location.at` without a zone makes that action invalid naming it, and a bad `sent_at` is a 400."""
    order_id = new_order(setup)
    bad_fix = act(order_id, "accept", location={**CASINO, "accuracy_m": 5, "at": "2026-12-04T09:00:00"})
    r = requests.post(f"{setup['url']}/api/v1/field/{setup['token']}/actions", json={"actions": [bad_fix]}, timeout=10)
    (result,) = r.json()["results"]
    assert (result["status"], result["field"]) == ("invalid", "location.at")
    r = requests.post(
        f"{setup['url']}/api/v1/field/{setup['token']}/actions",
        json={"actions": [act(order_id, "accept")], "sent_at": "soon"},
        timeout=10,
    )
    assert (r.status_code, r.json()["field"]) == (400, "sent_at")


def test_a_mock_jump_in_the_stored_track_and_a_stale_fix_lower_the_score(setup):
    """Tests that a check-in whose fix is 100 s old, 20 s after the phone reported a mock fix 5 km away,
    loses points for the fix's age, the impossible jump (with its speed) and the mock location.

    Kept last in this module: the track it stores would count in the next check-ins' look-back."""
    now = datetime.now(UTC)
    away = {"lat": CASINO["lat"] + 0.045, "lon": CASINO["lon"], "accuracy": 10, "mock": "true"}
    r = requests.post(
        f"{setup['url']}/api/v1/field/{setup['token']}/positions",
        json={"positions": [{**away, "timestamp": (now - timedelta(seconds=120)).isoformat()}]},
        timeout=10,
    )
    assert r.json() == {"accepted": 1, "received": 1}, r.text
    fix_at = (now - timedelta(seconds=100)).isoformat()
    order_id, result = visit(setup, {**CASINO, "accuracy_m": 8, "at": fix_at}, sent_at=datetime.now(UTC))
    reasons = {r["code"]: r for r in check_in_of(setup, order_id)["reasons"]}
    assert set(reasons) == {"fix_age", "impossible_jump", "mock_location"}
    assert reasons["fix_age"]["text"].startswith("the fix was 1 min 4")  # 100 s and the seconds the test took
    assert reasons["impossible_jump"]["text"].startswith("the track jumped 5.0 km in 20 s (")
    assert "m/s, limit 70 m/s)" in reasons["impossible_jump"]["text"]
    assert result["confidence"] == 100 - sum(r["points_lost"] for r in reasons.values())
