"""The dispatcher's work-order API end to end: create, explain, assign/override, lifecycle, live push."""

from __future__ import annotations

import queue
from datetime import UTC, datetime, time, timedelta

import pytest
import requests
import socketio

pytestmark = pytest.mark.integration

SITES = """external_ref,name,address,latitude,longitude,geofence_radius_m,category
t:casino,Casino de Monte-Carlo,Place du Casino,43.7394,7.4276,60,amenity=casino
t:port,Port Hercule,Quai Albert 1er,43.7347,7.4214,60,amenity=marina
t:fontvieille,Fontvieille,Rue du Port,43.7290,7.4160,60,amenity=mall
"""
WORKERS = """name,device_id,skills,team,home_lat,home_lon,shift_days,shift_start,shift_end
Near Gas,o-near,gas,Centre,43.7390,7.4270,Mon-Sun,00:00,23:59
Far Gas,o-far,gas;hvac,South,43.7290,7.4160,Mon-Sun,00:00,23:59
Sparks,o-elec,electrical,North,43.7392,7.4275,Mon-Sun,00:00,23:59
"""


@pytest.fixture(scope="module")
def world(console_server, tmp_path_factory):
    d = tmp_path_factory.mktemp("csv")
    (d / "sites.csv").write_text(SITES)
    (d / "workers.csv").write_text(WORKERS)
    console_server.cli("data", "import-csv", "sites", str(d / "sites.csv"))
    console_server.cli("data", "import-csv", "workers", str(d / "workers.csv"))
    dispatcher_token = console_server.cli("data", "create-user", "--role", "dispatcher", "--name", "desk")
    manager_token = console_server.cli("data", "create-user", "--role", "manager", "--name", "boss")
    admin = {"Authorization": f"Bearer {console_server.admin_token}"}
    workers = {
        w["name"]: w["id"]
        for w in requests.get(f"{console_server.url}/api/v1/workers", headers=admin, timeout=5).json()
    }
    orders = requests.get(f"{console_server.url}/api/v1/work-orders", headers=admin, timeout=5)
    assert orders.status_code == 200
    return {
        "dispatcher": {"Authorization": f"Bearer {dispatcher_token}"},
        "manager": {"Authorization": f"Bearer {manager_token}"},
        "workers": workers,
        "site": _site_id(console_server, admin),
    }


def _site_id(server, headers) -> int:
    live = requests.get(f"{server.url}/api/v1/live", headers=headers, timeout=5).json()
    assert live["orders"]["features"] == []
    # Sites get ids in CSV order on a fresh database: the casino is 1.
    return 1


def window() -> tuple[str, str]:
    day = (datetime.now(UTC) + timedelta(days=1)).date()
    return (datetime.combine(day, time(9), UTC).isoformat(), datetime.combine(day, time(11), UTC).isoformat())


def new_order(server, headers, **fields):
    start, end = window()
    body = {
        "site_id": 1,
        "type": "repair",
        "priority": 3,
        "required_skills": ["gas"],
        "window_start": start,
        "window_end": end,
        "service_minutes": 45,
        "notes": "Boiler pressure low",
    }
    body.update(fields)
    return requests.post(f"{server.url}/api/v1/work-orders", json=body, headers=headers, timeout=10)


def test_create_explain_and_assign_the_top_candidate(console_server, world):
    """Tests that a new gas repair is proposed to the nearest gas worker, the electrician is excluded with 'no skill gas', and assigning the top choice works."""
    r = new_order(console_server, world["dispatcher"])
    assert r.status_code == 201, r.text
    order = r.json()
    assert (order["status"], order["assigned_worker_id"], order["dispatch"]["mode"]) == ("new", None, "manual")

    c = requests.get(
        f"{console_server.url}/api/v1/work-orders/{order['id']}/candidates", headers=world["dispatcher"], timeout=10
    ).json()
    assert [x["name"] for x in c["candidates"]] == ["Near Gas", "Far Gas"]
    assert c["candidates"][0]["eta_s"] < c["candidates"][1]["eta_s"]
    (excluded,) = c["excluded"]
    assert excluded["name"] == "Sparks" and "no skill gas" in excluded["reason"]

    r = requests.post(
        f"{console_server.url}/api/v1/work-orders/{order['id']}/assign",
        json={"worker_id": world["workers"]["Near Gas"]},
        headers=world["dispatcher"],
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["assigned_worker_id"]) == ("assigned", world["workers"]["Near Gas"])


def test_override_needs_a_reason_and_nothing_changes_without_one(console_server, world):
    """Tests that picking the second-best worker without a reason is refused (409) and leaves the order new; with a reason it is assigned."""
    order = new_order(console_server, world["dispatcher"]).json()
    far = world["workers"]["Far Gas"]
    url = f"{console_server.url}/api/v1/work-orders/{order['id']}"
    r = requests.post(f"{url}/assign", json={"worker_id": far}, headers=world["dispatcher"], timeout=10)
    assert r.status_code == 409 and "reason" in r.json()["error"]
    assert requests.get(url, headers=world["dispatcher"], timeout=5).json()["status"] == "new"
    r = requests.post(
        f"{url}/assign",
        json={"worker_id": far, "reason": "customer asked for Far"},
        headers=world["dispatcher"],
        timeout=10,
    )
    assert r.status_code == 200 and r.json()["assigned_worker_id"] == far
    history = requests.get(url, headers=world["dispatcher"], timeout=5).json()["history"]
    assert [(h["from"], h["to"]) for h in history] == [(None, "new"), ("new", "assigned")]
    assert history[-1]["reason"] == "customer asked for Far"


def test_illegal_transition_is_refused_and_nothing_half_applied(console_server, world):
    """Tests that jumping a new order to done is refused with a clear message and the order stays new."""
    order = new_order(console_server, world["dispatcher"]).json()
    url = f"{console_server.url}/api/v1/work-orders/{order['id']}"
    r = requests.post(f"{url}/status", json={"status": "done"}, headers=world["dispatcher"], timeout=10)
    assert r.status_code == 409
    assert "new" in r.json()["error"] and "done" in r.json()["error"]
    assert requests.get(url, headers=world["dispatcher"], timeout=5).json()["status"] == "new"
    r = requests.post(f"{url}/status", json={"status": "cancelled"}, headers=world["dispatcher"], timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = requests.post(f"{url}/status", json={"status": "new"}, headers=world["dispatcher"], timeout=10)
    assert r.status_code == 409  # cancelled is final


def test_emergency_is_auto_dispatched_to_nearest_qualified(console_server, world):
    """Tests that an emergency order is assigned at creation to the nearest worker with the skill, and pushed live."""
    updates: queue.Queue = queue.Queue()
    client = socketio.Client(reconnection=False)
    client.on("orders", updates.put)
    client.connect(
        console_server.url, auth={"token": console_server.admin_token}, transports=["websocket"], wait_timeout=10
    )
    try:
        r = new_order(console_server, world["dispatcher"], type="emergency", priority=1, required_skills=["hvac"])
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["dispatch"]["mode"] == "auto"
        assert (body["status"], body["assigned_worker_id"]) == ("assigned", world["workers"]["Far Gas"])
        pushed = updates.get(timeout=3)
        assert pushed["order"]["order_id"] == body["id"] and pushed["order"]["status"] == "assigned"
    finally:
        client.disconnect()


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"site_id": None}, "site_id"), ({"window_start": "2025-03-03T09:00:00"}, "window_start"),
     ({"type": "party"}, "type"), ({"priority": 9}, "priority"), ({"required_skills": "gas"}, None)],
)  # fmt: skip
def test_bad_order_input_names_the_field(console_server, world, fields, field):
    """Tests that bad order input is refused with 400 naming the field (a comma list of skills is accepted)."""
    r = new_order(console_server, world["dispatcher"], **fields)
    if field is None:
        assert r.status_code == 201
    else:
        assert r.status_code == 400 and r.json()["field"] == field


def test_errors_for_unknown_order_bad_token_and_wrong_role(console_server, world):
    """Tests 404 for an unknown order, 401 for a bad token, 403 for a manager creating orders, 404 for an unknown site."""
    url = console_server.url
    assert (
        requests.get(f"{url}/api/v1/work-orders/9999/candidates", headers=world["dispatcher"], timeout=5).status_code
        == 404
    )
    assert (
        requests.post(
            f"{url}/api/v1/work-orders/9999/assign", json={"worker_id": 1}, headers=world["dispatcher"], timeout=5
        ).status_code
        == 404
    )
    assert new_order(console_server, {"Authorization": "Bearer forged"}).status_code == 401
    r = new_order(console_server, world["manager"])
    assert r.status_code == 403 and "manager" in r.json()["error"]
    assert new_order(console_server, world["dispatcher"], site_id=999).status_code == 404


def test_openapi_describes_the_contract(console_server):
    """Tests that the OpenAPI document lists the work-order endpoints other tools rely on."""
    doc = requests.get(f"{console_server.url}/api/v1/openapi.json", timeout=5).json()
    assert doc["openapi"].startswith("3.")
    for path in (
        "/api/v1/work-orders",
        "/api/v1/work-orders/{order_id}/candidates",
        "/api/v1/work-orders/{order_id}/assign",
        "/api/v1/workers/{worker_id}/positions",
        "/osmand",
    ):
        assert path in doc["paths"]


def test_who_is_near_lists_available_qualified_workers_by_eta(console_server, world):
    """Tests that 'who is near' the casino for gas lists the two gas workers nearest first, and refuses a bad point."""
    url = f"{console_server.url}/api/v1/who-is-near"
    near = requests.get(
        url, params={"lat": 43.7394, "lon": 7.4276, "n": 5, "skills": "gas"}, headers=world["dispatcher"], timeout=5
    ).json()
    assert [w["name"] for w in near] == ["Near Gas", "Far Gas"]
    assert near[0]["eta_s"] < near[1]["eta_s"]
    one = requests.get(
        url, params={"lat": 43.7394, "lon": 7.4276, "n": 1}, headers=world["dispatcher"], timeout=5
    ).json()
    assert len(one) == 1
    bad = requests.get(url, params={"lat": 95, "lon": 7.4}, headers=world["dispatcher"], timeout=5)
    assert bad.status_code == 400


def test_batch_assignment_is_optimal_and_explains_what_is_left(console_server, world):
    """Tests that two gas repairs go one to each gas worker (least total travel), and a plumbing job nobody can do is left with a reason."""
    casino = new_order(console_server, world["dispatcher"], site_id=1).json()["id"]
    fontvieille = new_order(console_server, world["dispatcher"], site_id=3).json()["id"]
    plumbing = new_order(console_server, world["dispatcher"], required_skills=["plumbing"]).json()["id"]
    r = requests.post(
        f"{console_server.url}/api/v1/work-orders/batch-assign",
        json={"order_ids": [casino, fontvieille, plumbing]},
        headers=world["dispatcher"],
        timeout=30,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assigned = {a["order_id"]: a["worker_id"] for a in body["assigned"]}
    assert assigned == {casino: world["workers"]["Near Gas"], fontvieille: world["workers"]["Far Gas"]}
    assert body["total_cost_s"] == pytest.approx(sum(a["eta_s"] for a in body["assigned"]), abs=0.5)
    (left,) = body["unassigned"]
    assert left["order_id"] == plumbing and left["reason"]
    for order_id, worker_id in assigned.items():
        order = requests.get(
            f"{console_server.url}/api/v1/work-orders/{order_id}", headers=world["dispatcher"], timeout=5
        ).json()
        assert (order["status"], order["assigned_worker_id"]) == ("assigned", worker_id)
    again = requests.post(
        f"{console_server.url}/api/v1/work-orders/batch-assign",
        json={"order_ids": [casino]},
        headers=world["dispatcher"],
        timeout=10,
    )
    assert again.status_code == 404 and "not new" in again.json()["error"]
