"""The customer's link, in-process (Flask test client, SQLite, fakeredis): status and first name, a position and
ETA only while en route, the survey once, the audit of each position read, and the refusals."""

from __future__ import annotations

import time as clock
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from tests.support.consent import consent_all
from tests.support.inprocess import InProcessApp, make_app
from tests.support.windows import window_fields

SITES = """external_ref,name,address,latitude,longitude,geofence_radius_m,category
f:casino,Casino de Monte-Carlo,Place du Casino,43.7394,7.4276,60,amenity=casino
f:port,Port Hercule,Quai Albert 1er,43.7347,7.4214,60,amenity=marina
"""
WORKERS = """name,device_id,skills,team,home_lat,home_lon,shift_days,shift_start,shift_end
Ana Field,f-ana,gas,Centre,43.7390,7.4270,Mon-Sun,00:00,24:00
Bo Field,f-bo,gas,South,43.7290,7.4160,Mon-Sun,00:00,24:00
"""
CASINO = {"lat": 43.7394, "lon": 7.4276}


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> InProcessApp:
    return make_app(tmp_path_factory.mktemp("var"))


@pytest.fixture(scope="module")
def setup(app):
    app.import_csv("sites", SITES)
    app.import_csv("workers", WORKERS)
    workers = {w["name"]: w["id"] for w in consent_all(app.http.get, app.http.post, app.admin)}
    return {"admin": app.admin, "workers": workers, "http": app.http}


def assigned_order(setup, worker: str, site_id: int = 1) -> int:
    body = {"site_id": site_id, "type": "repair", "required_skills": ["gas"], "service_minutes": 30,
            **window_fields()}  # fmt: skip
    order = setup["http"].post("/api/v1/work-orders", json=body, headers=setup["admin"]).json()
    r = setup["http"].post(f"/api/v1/work-orders/{order['id']}/assign", headers=setup["admin"],
                           json={"worker_id": setup["workers"][worker], "reason": "test set-up"})  # fmt: skip
    assert r.status_code == 200, r.text
    return int(order["id"])


def off_every_site(setup, worker: str, token: str) -> None:
    """Check `worker` out of any order an earlier test left them on site at: a worker is on one site at a time."""
    for o in setup["http"].get("/api/v1/work-orders", headers=setup["admin"]).json():
        if o["assigned_worker_id"] == setup["workers"][worker] and o["status"] == "on_site":
            (done,) = sync(setup, token, [action(o["id"], "check_out", 0.5, location={**CASINO, "accuracy_m": 10})])
            assert done["status"] == "applied", done


def link(setup, worker: str) -> str:
    r = setup["http"].post(f"/api/v1/workers/{setup['workers'][worker]}/push-link", json={}, headers=setup["admin"])
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


def action(order_id: int, kind: str, minutes_ago: float, **extra) -> dict:
    at = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()
    return {"client_action_id": str(uuid.uuid4()), "order_id": order_id, "action": kind, "at": at, **extra}


def sync(setup, token: str, actions: list[dict]) -> list[dict]:
    r = setup["http"].post(f"/api/v1/field/{token}/actions", json={"actions": actions})
    assert r.status_code == 200, r.text
    return list(r.json()["results"])


def customer_link(setup, order_id: int) -> dict:
    r = setup["http"].post(f"/api/v1/work-orders/{order_id}/customer-link", json={}, headers=setup["admin"])
    assert r.status_code == 201, r.text
    return r.json()


def track(setup, token: str) -> dict:
    r = setup["http"].get(f"/api/v1/track/{token}")
    assert r.status_code == 200, r.text
    return r.json()


def fix(setup, device: str, lat: float, lon: float, *, ahead_s: int = 0) -> None:
    params = {"id": device, "lat": lat, "lon": lon, "timestamp": int(clock.time()) + ahead_s, "accuracy": 8}
    assert setup["http"].get("/osmand", params=params).status_code == 200


def test_the_customer_sees_the_worker_only_while_on_the_way_then_rates_once(setup):
    """Tests that the link shows status and first name with no position before departure, the position and an
    ETA while en route, no position on site or after check-out, then takes one survey answer and refuses a second."""
    order_id = assigned_order(setup, "Ana Field")
    issued = customer_link(setup, order_id)
    assert issued["url"].endswith(f"/c/{issued['token']}") and issued["expires_at"]
    worker = link(setup, "Ana Field")
    off_every_site(setup, "Ana Field", worker)
    fix(setup, "f-ana", 43.7360, 7.4200)  # somewhere before setting off: never shown
    before = track(setup, issued["token"])
    assert before["status"] == "assigned" and before["worker_first_name"] == "Ana"
    assert before["position"] is None and before["eta"] is None and before["survey"]["open"] is False

    # Set off 3 s from now (by the phone's clock): the fix above was taken before.
    setting_off = [action(order_id, "accept", 0.0), action(order_id, "en_route", -0.05)]
    assert [r["status"] for r in sync(setup, worker, setting_off)] == ["applied"] * 2
    assert track(setup, issued["token"])["position"] is None  # the only fix is from before setting off
    fix(setup, "f-ana", 43.7370, 7.4240, ahead_s=5)
    moving = track(setup, issued["token"])
    assert moving["status"] == "en_route"
    assert moving["position"]["lat"] == pytest.approx(43.7370) and moving["position"]["lon"] == pytest.approx(7.4240)
    assert moving["eta"]["seconds"] > 0
    assert datetime.fromisoformat(moving["eta"]["at"]) > datetime.now(UTC)

    (checked_in,) = sync(setup, worker, [action(order_id, "check_in", -0.1, location={**CASINO, "accuracy_m": 8})])
    assert checked_in["status"] == "applied"
    on_site = track(setup, issued["token"])
    assert on_site["status"] == "on_site" and on_site["position"] is None and on_site["eta"] is None
    (out,) = sync(setup, worker, [action(order_id, "check_out", -0.15, location={**CASINO, "accuracy_m": 8})])
    assert out["status"] == "applied"
    done = track(setup, issued["token"])
    assert done["status"] == "done" and done["position"] is None and done["survey"] == {"open": True, "answered": False}

    url, http = f"/api/v1/track/{issued['token']}/survey", setup["http"]
    bad = http.post(url, json={"rating": 6, "comment": "x"})
    assert bad.status_code == 400 and bad.json()["field"] == "rating"
    long = http.post(url, json={"rating": 4, "comment": "x" * 1001})
    assert long.status_code == 400 and long.json()["field"] == "comment"
    answered = http.post(url, json={"rating": 2, "comment": "<b>late</b>"})
    assert answered.status_code == 201, answered.text
    assert answered.json()["comment"] == "<b>late</b>" and answered.json()["alert_id"] is not None
    again = http.post(url, json={"rating": 5})
    assert again.status_code == 409
    assert track(setup, issued["token"])["survey"] == {"open": False, "answered": True}


def test_a_position_read_through_the_link_is_audited(setup, app):
    """Tests that each read showing the worker's position is in the audit log as a location view by the customer link."""
    order_id = assigned_order(setup, "Bo Field")
    issued = customer_link(setup, order_id)
    worker = link(setup, "Bo Field")
    sync(setup, worker, [action(order_id, "accept", 0.2), action(order_id, "en_route", 0.1)])
    fix(setup, "f-bo", 43.7300, 7.4170, ahead_s=1)
    assert track(setup, issued["token"])["position"] is not None
    with app.sessions() as session:
        rows = session.execute(
            text("SELECT actor_id, subject_id FROM audit_log WHERE action = 'view-location-customer-link'")
        ).all()
    assert (None, setup["workers"]["Bo Field"]) in [tuple(r) for r in rows]


@pytest.mark.parametrize(
    ("token", "status"),
    [("not-a-token", 404), ("eyJpIjoiYWJjIn0.forged", 404)],
)
def test_a_bad_link_gets_a_reason(setup, token, status):
    """Tests that a token we did not issue gets 404 naming the link, on the JSON and the survey."""
    r = setup["http"].get(f"/api/v1/track/{token}")
    assert r.status_code == status and r.json()["field"] == "link"
    s = setup["http"].post(f"/api/v1/track/{token}/survey", json={"rating": 3})
    assert s.status_code == status


def test_issuing_needs_an_office_role_and_a_known_order(setup):
    """Tests that an unknown order gets 404, an anonymous caller 401, a bad body or sending with no hook 400
    naming the field, and a revoked link 410."""
    assert setup["http"].post("/api/v1/work-orders/999999/customer-link", headers=setup["admin"]).status_code == 404  # fmt: skip
    assert setup["http"].post("/api/v1/work-orders/1/customer-link").status_code == 401
    order_id = assigned_order(setup, "Ana Field")
    for body, field in (({"send": "yes"}, "send"), ({"send": True}, "send"), ([1], "body")):
        bad = setup["http"].post(f"/api/v1/work-orders/{order_id}/customer-link", json=body, headers=setup["admin"])  # fmt: skip
        assert bad.status_code == 400 and bad.json()["field"] == field, bad.text
    issued = customer_link(setup, order_id)
    r = setup["http"].post(f"/api/v1/work-orders/{order_id}/customer-link/revoke", headers=setup["admin"])  # fmt: skip
    assert r.json()["revoked"] == 1
    gone = setup["http"].get(f"/api/v1/track/{issued['token']}")
    assert gone.status_code == 410 and gone.json()["field"] == "link"
