"""Geofence events, auto-arrival and alerts in-process (Flask test client over the whole app, SQLite, fakeredis):
phone fixes through /osmand, the evaluator thread, the API contract, access."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.consent import consent_all
from tests.support.inprocess import InProcessApp, make_app
from tests.support.servers import wait_until

SITES = """external_ref,name,address,latitude,longitude,geofence_radius_m,category
a:casino,Casino de Monte-Carlo,Place du Casino,43.7394,7.4276,60,amenity=casino
a:port,Port Hercule,Quai Albert 1er,43.7347,7.4214,60,amenity=marina
"""
WORKERS = """name,device_id,skills,team,home_lat,home_lon,shift_days,shift_start,shift_end
Ana Alert,al-ana,gas,Centre,43.7390,7.4270,Mon-Sun,00:00,24:00
Bo Alert,al-bo,gas,South,43.7290,7.4160,Mon-Sun,00:00,24:00
"""
CASINO = (43.7394, 7.4276)
FAR = (43.7310, 7.4180)  # a street away from both sites
BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=50)
_SECONDS = itertools.count(0, 5)


def next_time(gap_s: int = 5) -> datetime:
    """A fix time later than every earlier one of this module (fixes older than a worker's last are history)."""
    for _ in range(max(1, gap_s // 5) - 1):
        next(_SECONDS)
    return BASE + timedelta(seconds=next(_SECONDS))


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> InProcessApp:
    return make_app(tmp_path_factory.mktemp("var"))


@pytest.fixture(scope="module")
def setup(app):
    app.import_csv("sites", SITES)
    app.import_csv("workers", WORKERS)
    workers = {w["device_id"]: w["id"] for w in consent_all(app.http.get, app.http.post, app.admin)}
    return {"admin": app.admin, "workers": workers, "http": app.http}


def fix(setup, device: str, at: datetime, where: tuple[float, float], **extra) -> None:
    params = {"id": device, "timestamp": int(at.timestamp()), "lat": where[0], "lon": where[1], "accuracy": 8, **extra}
    r = setup["http"].post("/osmand", params=params, timeout=10)
    assert r.status_code == 200, r.text


def eventually(check, what: str) -> None:
    """Wait for an effect of the fixes sent (evaluated by the server's evaluator thread after they are stored)."""
    wait_until(check, 10, what)


def order_status(setup, order_id: int) -> str:
    return setup["http"].get(f"/api/v1/work-orders/{order_id}", headers=setup["admin"], timeout=5).json()["status"]


def kinds(setup, **params) -> list[str]:
    return [a["kind"] for a in alerts(setup, **params)]


def alerts(setup, **params) -> list[dict]:
    r = setup["http"].get("/api/v1/alerts", params=params, headers=setup["admin"], timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def assigned_order(setup, device: str, site_id: int) -> int:
    # A window around this module's fix times (not the UTC day: from 00:00 to 00:50 UTC they are yesterday's).
    body = {
        "site_id": site_id,
        "type": "repair",
        "required_skills": ["gas"],
        "service_minutes": 30,
        "window_start": (BASE - timedelta(hours=1)).isoformat(),
        "window_end": (BASE + timedelta(hours=8)).isoformat(),
    }
    order = setup["http"].post("/api/v1/work-orders", json=body, headers=setup["admin"], timeout=10).json()
    r = setup["http"].post(
        f"/api/v1/work-orders/{order['id']}/assign",
        json={"worker_id": setup["workers"][device], "reason": "test set-up"},
        headers=setup["admin"],
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return order["id"]


def test_dwelling_at_the_site_makes_the_order_on_site_and_leaving_raises_an_alert(setup):
    """Tests that a phone's fixes inside the casino for a minute make the worker's order on site (source geofence,
    at the first fix inside), the events API lists the enter and exit, and leaving without checking out raises
    one left_site_without_check_out alert for that order."""
    http, ana = setup["http"], setup["workers"]["al-ana"]
    order_id = assigned_order(setup, "al-ana", site_id=1)
    fix(setup, "al-ana", next_time(), FAR)
    entered = next_time(10)
    for at in (entered, next_time(30), next_time(35)):
        fix(setup, "al-ana", at, CASINO)
    eventually(lambda: order_status(setup, order_id) == "on_site", "the arrival")
    order = http.get(f"/api/v1/work-orders/{order_id}", headers=setup["admin"], timeout=5).json()
    assert order["status"] == "on_site"
    (arrival,) = [h for h in order["history"] if h["to"] == "on_site"]
    assert (arrival["from"], arrival["source"], arrival["at"], arrival["actor_id"]) == (
        "assigned",
        "geofence",
        entered.isoformat(),
        None,
    )

    left = next_time(10)
    for at in (left, next_time(35), next_time(35)):
        fix(setup, "al-ana", at, FAR)
    eventually(lambda: "left_site_without_check_out" in kinds(setup, worker_id=ana), "the left-site alert")
    r = http.get(
        f"/api/v1/workers/{ana}/events",
        params={"from": (entered - timedelta(seconds=1)).isoformat(), "to": (left + timedelta(hours=1)).isoformat()},
        headers=setup["admin"],
        timeout=5,
    )
    assert r.json() == [
        {"type": "enter", "site_id": 1, "at": entered.isoformat()},
        {"type": "exit", "site_id": 1, "at": left.isoformat()},
    ]
    raised = [a for a in alerts(setup, worker_id=ana) if a["kind"] == "left_site_without_check_out"]
    assert [(a["order_id"], a["raised_at"], a["status"]) for a in raised] == [(order_id, left.isoformat(), "open")]


def test_the_phone_check_in_after_a_geofence_arrival_is_kept_not_refused(setup):
    """Tests that a worker whose order the geofence made on site can still check in from the phone: the check-in is
    applied and verified (not refused as "already on site"), and the order's history has one arrival."""
    bo = setup["workers"]["al-bo"]
    order_id = assigned_order(setup, "al-bo", site_id=2)
    port = (43.7347, 7.4214)
    for gap in (10, 30, 35):
        fix(setup, "al-bo", next_time(gap), port)
    eventually(lambda: order_status(setup, order_id) == "on_site", "the arrival")
    r = setup["http"].post(f"/api/v1/workers/{bo}/push-link", json={}, headers=setup["admin"], timeout=5)
    token = r.json()["token"]
    check_in = {
        "client_action_id": f"ci-{order_id}", "order_id": order_id, "action": "check_in",
        "at": next_time().isoformat(), "location": {"lat": port[0], "lon": port[1], "accuracy_m": 8},
    }  # fmt: skip
    r = setup["http"].post(f"/api/v1/field/{token}/actions", json={"actions": [check_in]}, timeout=10)
    (result,) = r.json()["results"]
    assert (result["status"], result["verdict"], result["order_status"]) == ("applied", "verified", "on_site")
    order = setup["http"].get(f"/api/v1/work-orders/{order_id}", headers=setup["admin"], timeout=5).json()
    assert [(h["to"], h["source"]) for h in order["history"] if h["to"] == "on_site"] == [("on_site", "geofence")]


def test_an_sos_is_raised_once_while_open_and_acknowledged_with_a_note(setup):
    """Tests that two SOS alarms from a phone make one open sos alert (no flood), and acknowledging it with a note
    closes it: it leaves the open list and shows acknowledged with the note."""
    bo = setup["workers"]["al-bo"]
    first = next_time()
    fix(setup, "al-bo", first, FAR, alarm="sos")
    fix(setup, "al-bo", next_time(), FAR, alarm="sos")
    fix(setup, "al-bo", next_time(), FAR, mock="true")  # evaluated after both SOS fixes (one queue, in order)
    eventually(lambda: "mock_location" in kinds(setup, worker_id=bo), "the fixes' evaluation")
    (sos,) = [a for a in alerts(setup, worker_id=bo) if a["kind"] == "sos"]
    assert {k: sos[k] for k in ("worker_id", "order_id", "raised_at", "reason", "status")} == {
        "worker_id": bo, "order_id": None, "raised_at": first.isoformat(), "reason": "the phone sent an SOS alarm",
        "status": "open",
    }  # fmt: skip
    r = setup["http"].post(
        f"/api/v1/alerts/{sos['id']}/ack",
        json={"note": "called Bo: fine", "nte": "typo"},
        headers=setup["admin"],
        timeout=5,
    )
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"
    assert r.json()["ignored"] == ["nte"]  # a key the route does not read is taken, and named
    assert [a["id"] for a in alerts(setup, worker_id=bo, status="open") if a["kind"] == "sos"] == []
    (done,) = [a for a in alerts(setup, worker_id=bo, status="acknowledged") if a["id"] == sos["id"]]
    assert done["note"] == "called Bo: fine"


def test_acknowledging_needs_a_note_and_a_known_alert(setup):
    """Tests that an acknowledgement without a note is refused naming `note`, and an unknown alert is 404."""
    bo = setup["workers"]["al-bo"]
    fix(setup, "al-bo", next_time(), FAR, mock="true")
    eventually(lambda: "mock_location" in kinds(setup, worker_id=bo), "the mock-location alert")
    (mock,) = [a for a in alerts(setup, worker_id=bo) if a["kind"] == "mock_location"]
    r = setup["http"].post(f"/api/v1/alerts/{mock['id']}/ack", json={"note": " "}, headers=setup["admin"], timeout=5)
    assert (r.status_code, r.json()["field"]) == (400, "note")
    assert [a["status"] for a in alerts(setup, worker_id=bo) if a["id"] == mock["id"]] == ["open"]
    r = setup["http"].post("/api/v1/alerts/999999/ack", json={"note": "x"}, headers=setup["admin"], timeout=5)
    assert r.status_code == 404


def test_low_battery_is_raised_and_cleared_when_the_phone_charges(setup):
    """Tests that a fix at 9 % raises low_battery and a later fix at 80 % clears it (gone from open, cleared in all)."""
    ana = setup["workers"]["al-ana"]
    fix(setup, "al-ana", next_time(), FAR, batt=9)
    eventually(lambda: "low_battery" in kinds(setup, worker_id=ana), "the low-battery alert")
    (low,) = [a for a in alerts(setup, worker_id=ana) if a["kind"] == "low_battery"]
    assert low["reason"] == "battery at 9 % (alert below 15 %)"
    fix(setup, "al-ana", next_time(), FAR, batt=80)
    eventually(lambda: "low_battery" not in kinds(setup, worker_id=ana), "the low-battery alert cleared")
    assert [a for a in alerts(setup, worker_id=ana) if a["kind"] == "low_battery"] == []
    assert [a["status"] for a in alerts(setup, worker_id=ana, status="all") if a["id"] == low["id"]] == ["cleared"]


def test_fixes_of_the_batch_endpoint_raise_and_clear_alerts_too(setup):
    """Tests that the batch endpoint's fixes (its lean path) are evaluated like /osmand's: a plain item at 7 %
    battery raises low_battery for that worker, and a later item at 90 % clears it."""
    bo = setup["workers"]["al-bo"]

    def batch(battery: int) -> None:
        item = {"id": "al-bo", "timestamp": int(next_time().timestamp()), "lat": FAR[0], "lon": FAR[1],
                "accuracy": 8, "batt": battery}  # fmt: skip
        r = setup["http"].post("/api/v1/positions", json=[item], headers=setup["admin"], timeout=10)
        assert r.status_code == 200 and r.json()["accepted"] == 1, r.text

    batch(7)
    eventually(lambda: "low_battery" in kinds(setup, worker_id=bo), "the batch fix's low-battery alert")
    (low,) = [a for a in alerts(setup, worker_id=bo) if a["kind"] == "low_battery"]
    assert low["reason"] == "battery at 7 % (alert below 15 %)"
    batch(90)
    eventually(lambda: "low_battery" not in kinds(setup, worker_id=bo), "the low-battery alert cleared")


def test_a_bad_status_filter_is_refused_naming_the_field(setup):
    """Tests that status=closed gets 400 naming `status`, and a worker id that is not a number 400 naming `worker_id`."""
    r = setup["http"].get("/api/v1/alerts", params={"status": "closed"}, headers=setup["admin"], timeout=5)
    assert (r.status_code, r.json()["field"]) == (400, "status")
    r = setup["http"].get("/api/v1/alerts", params={"worker_id": "x"}, headers=setup["admin"], timeout=5)
    assert (r.status_code, r.json()["field"]) == (400, "worker_id")


def test_a_field_worker_sees_only_their_own_alerts_and_events_and_cannot_acknowledge(app, setup):
    """Tests that a field worker's token lists only their own alerts, is refused another worker's alerts and
    events (403), and may not acknowledge."""
    ana, bo = setup["workers"]["al-ana"], setup["workers"]["al-bo"]
    own = app.user("field_worker", "ana-phone", worker_id=ana)
    fix(setup, "al-bo", next_time(), FAR, alarm="sos")  # Bo has an open alert
    fix(setup, "al-ana", next_time(), FAR, alarm="sos")
    eventually(lambda: "sos" in kinds(setup, worker_id=ana), "Ana's SOS")
    mine = setup["http"].get("/api/v1/alerts", params={"status": "all"}, headers=own, timeout=5).json()
    assert mine and {a["worker_id"] for a in mine} == {ana}
    r = setup["http"].get("/api/v1/alerts", params={"worker_id": bo}, headers=own, timeout=5)
    assert r.status_code == 403
    r = setup["http"].get(f"/api/v1/workers/{bo}/events", headers=own, timeout=5)
    assert r.status_code == 403
    r = setup["http"].post(f"/api/v1/alerts/{mine[0]['id']}/ack", json={"note": "ok"}, headers=own, timeout=5)
    assert r.status_code == 403
