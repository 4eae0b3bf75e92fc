"""The dispatcher's work-order API end to end: an emergency is auto-dispatched and pushed live to a socket.

The API's behaviour (create, explain, assign/override, lifecycle, batch, errors) is tested in-process in
tests/console/test_orders_api.py; this keeps what only the real server shows: the push through Redis.
"""

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
Near Gas,o-near,gas,Centre,43.7390,7.4270,Mon-Sun,00:00,24:00
Far Gas,o-far,gas;hvac,South,43.7290,7.4160,Mon-Sun,00:00,24:00
Sparks,o-elec,electrical,North,43.7392,7.4275,Mon-Sun,00:00,24:00
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
