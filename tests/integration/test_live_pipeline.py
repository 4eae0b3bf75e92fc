"""End to end with real parts: redis-server, SQLite, `python -m console`, a python-socketio client."""

from __future__ import annotations

import json
import queue
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
import socketio

from tests.factories import ALL_DAY_CSV
from tests.support.consent import consent_all

pytestmark = pytest.mark.integration


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@pytest.fixture(scope="module")
def registered(console_server, tmp_path_factory):
    """Ana works all day every day (the tests run on the wall clock); Otto works one hour, three days from today."""
    off_day = WEEKDAYS[(datetime.now(UTC).weekday() + 3) % 7]
    csv = tmp_path_factory.mktemp("live-csv") / "workers.csv"
    csv.write_text(
        "name,device_id,skills,team,home_lat,home_lon,shift_days,shift_start,shift_end\n"
        f"Ana Rossi,phone-ana,gas;hvac,Centre,43.7390,7.4270,{ALL_DAY_CSV}\n"
        f"Otto Offduty,phone-otto,gas,Centre,43.7350,7.4220,{off_day},12:00,13:00\n"
    )
    console_server.cli("data", "import-csv", "workers", str(csv))
    admin = {"Authorization": f"Bearer {console_server.admin_token}"}
    workers = consent_all(requests.get, requests.post, admin, url=console_server.url)
    return {w["device_id"]: {"id": w["id"], "device_id": w["device_id"]} for w in workers}


@pytest.fixture(scope="module")
def worker(registered):
    return registered["phone-ana"]


@pytest.fixture(scope="module")
def off_duty(registered):
    return registered["phone-otto"]


@pytest.fixture
def live_client(console_server):
    """A socket client connected as the admin, collecting `positions` updates in a queue."""
    updates: queue.Queue = queue.Queue()
    client = socketio.Client(reconnection=False)
    client.on("positions", lambda payload: [updates.put(u) for u in payload["updates"]])
    client.connect(
        console_server.url, auth={"token": console_server.admin_token}, transports=["websocket"], wait_timeout=10
    )
    yield updates
    client.disconnect()


def wait_for_update(updates: queue.Queue, worker_id: int, lat: float, timeout_s: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            update = updates.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        if update["worker_id"] == worker_id and abs(update["lat"] - lat) < 1e-6:
            return update
    raise AssertionError(f"no live update for worker {worker_id} at lat {lat} within {timeout_s} s")


def positions(console_server, worker_id, **params):
    return requests.get(
        f"{console_server.url}/api/v1/workers/{worker_id}/positions",
        params=params,
        headers={"Authorization": f"Bearer {console_server.admin_token}"},
        timeout=5,
    )


def test_osmand_ping_is_stored_and_reaches_a_socket_client(console_server, worker, live_client):
    """Tests that a Traccar Client ping is answered 200 with an empty body, stored, and pushed to a connected console."""
    ts = int(datetime.now(UTC).timestamp())
    r = requests.post(
        f"{console_server.url}/osmand",
        params={
            "id": "phone-ana",
            "timestamp": ts,
            "lat": 43.7384,
            "lon": 7.4246,
            "speed": 10.0,
            "bearing": 90,
            "altitude": 40,
            "accuracy": 8,
            "batt": 87,
        },
        timeout=5,
    )
    assert (r.status_code, r.text) == (200, "")
    update = wait_for_update(live_client, worker["id"], 43.7384)  # how fast: bench/ingest.py, not a test
    assert update["speed_mps"] == pytest.approx(5.14444, rel=1e-3)  # 10 knots
    assert update["state"] == "en_route"

    stored = positions(console_server, worker["id"]).json()
    match = [p for p in stored if p["fix_time"] == datetime.fromtimestamp(ts, UTC).isoformat()]
    assert match, stored
    assert match[0]["latitude"] == pytest.approx(43.7384)
    assert match[0]["longitude"] == pytest.approx(7.4246)
    assert match[0]["accuracy_m"] == 8
    assert match[0]["battery_pct"] == 87


def test_json_body_of_traccar_client_9_is_accepted(console_server, worker, live_client):
    """Tests that the JSON form sent by Traccar Client 9.x (speed in m/s, battery 0..1) is stored and pushed."""
    body = {
        "device_id": "phone-ana",
        "location": {
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "coords": {
                "latitude": 43.7401,
                "longitude": 7.4266,
                "accuracy": 5,
                "speed": 3.5,
                "heading": 180,
                "altitude": 12,
            },
            "battery": {"level": 0.79, "is_charging": True},
            "is_moving": True,
            "extras": {"shift": "am"},
        },
    }
    r = requests.post(
        f"{console_server.url}/osmand", data=json.dumps(body), headers={"Content-Type": "application/json"}, timeout=5
    )
    assert (r.status_code, r.text) == (200, "")
    update = wait_for_update(live_client, worker["id"], 43.7401)
    assert update["speed_mps"] == pytest.approx(3.5)
    assert update["battery_pct"] == pytest.approx(79)


def test_unknown_device_is_refused_and_nothing_stored(console_server, worker):
    """Tests that a phone that was never registered gets 400 with the reason, and no row appears."""
    before = len(positions(console_server, worker["id"]).json())
    r = requests.get(f"{console_server.url}/osmand", params={"id": "stranger", "lat": 43.7, "lon": 7.4}, timeout=5)
    assert r.status_code == 400
    assert "unknown device" in r.json()["error"]
    assert len(positions(console_server, worker["id"]).json()) == before


@pytest.mark.parametrize(
    ("param", "value"), [("lat", "north"), ("lon", "200"), ("timestamp", "yesterday"), ("speed", "-3")]
)
def test_malformed_value_is_refused_naming_the_field(console_server, worker, param, value):
    """Tests that a garbage value is answered 400 with the field's name, and nothing is stored."""
    before = len(positions(console_server, worker["id"]).json())
    params = {"id": "phone-ana", "lat": "43.74", "lon": "7.42", param: value}
    r = requests.get(f"{console_server.url}/osmand", params=params, timeout=5)
    assert r.status_code == 400
    assert r.json()["field"] == param
    assert len(positions(console_server, worker["id"]).json()) == before


def test_batch_endpoint_stores_good_items_and_reports_bad_ones(console_server, worker):
    """Tests that a batch with one bad item stores the others and names the bad item's index and field."""
    t0 = datetime.now(UTC) - timedelta(minutes=30)
    items = [
        {
            "id": "phone-ana",
            "lat": 43.73 + i * 0.001,
            "lon": 7.42,
            "timestamp": int((t0 + timedelta(seconds=i)).timestamp()),
        }
        for i in range(5)
    ]
    items[2]["lat"] = "x"
    r = requests.post(
        f"{console_server.url}/api/v1/positions",
        json=items,
        headers={"Authorization": f"Bearer {console_server.admin_token}"},
        timeout=5,
    )
    assert r.status_code == 200
    body = r.json()
    assert body["accepted"] == 4
    assert [(e["index"], e["field"]) for e in body["rejected"]] == [(2, "lat")]
    window = positions(
        console_server,
        worker["id"],
        **{"from": (t0 - timedelta(seconds=1)).isoformat(), "to": (t0 + timedelta(seconds=10)).isoformat()},
    ).json()
    assert len(window) == 4


def test_osmand_ping_off_shift_is_answered_200_but_neither_stored_nor_pushed(
    console_server, worker, off_duty, live_client
):
    """Tests that a phone reporting outside its worker's shift gets 200 (it cannot act on an error), and that the
    fix appears neither in the history nor on a connected console, while an on-shift ping sent after it does."""
    ts = datetime.now(UTC).isoformat()  # to the microsecond: Ana's ping must be newer than her last one to go live
    off = {"id": off_duty["device_id"], "timestamp": ts, "lat": 43.7311, "lon": 7.4211, "speed": 10.0}
    r = requests.post(f"{console_server.url}/osmand", params=off, timeout=5)
    assert (r.status_code, r.text) == (200, "")
    on = {"id": worker["device_id"], "timestamp": ts, "lat": 43.7322, "lon": 7.4222}
    assert requests.post(f"{console_server.url}/osmand", params=on, timeout=5).status_code == 200
    seen: list[dict] = []  # everything pushed until Ana's ping, which comes after the off-shift one would have
    while not any(u["worker_id"] == worker["id"] and abs(u["lat"] - 43.7322) < 1e-6 for u in seen):
        seen.append(live_client.get(timeout=5))
    assert [u for u in seen if u["worker_id"] == off_duty["id"]] == []
    assert positions(console_server, off_duty["id"]).json() == []


def test_batch_outcome_says_off_shift_for_each_fix_taken_off_shift(console_server, worker, off_duty):
    """Tests that the batch endpoint stores the on-shift items and names each off-shift one "off shift", counting them."""
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    items = [
        {"id": device, "lat": 43.73 + i * 0.001, "lon": 7.42, "timestamp": int((t0 + timedelta(seconds=i)).timestamp())}
        for i, device in enumerate(["phone-ana", "phone-otto", "phone-ana", "phone-otto"])
    ]
    r = requests.post(
        f"{console_server.url}/api/v1/positions",
        json=items,
        headers={"Authorization": f"Bearer {console_server.admin_token}"},
        timeout=5,
    )
    assert r.status_code == 200
    body = r.json()
    assert (body["accepted"], body["off_shift"]) == (2, 2)
    assert body["rejected"] == [
        {"index": 1, "field": "timestamp", "error": "off shift"},
        {"index": 3, "field": "timestamp", "error": "off shift"},
    ]
    assert positions(console_server, off_duty["id"]).json() == []


def test_batch_and_history_need_a_token(console_server, worker):
    """Tests that the API refuses callers without a valid bearer token (401 with a reason)."""
    r = requests.post(f"{console_server.url}/api/v1/positions", json=[], timeout=5)
    assert r.status_code == 401 and r.json()["error"] == "not authenticated"
    r = requests.get(
        f"{console_server.url}/api/v1/workers/{worker['id']}/positions",
        headers={"Authorization": "Bearer nope"},
        timeout=5,
    )
    assert r.status_code == 401


def test_history_range_must_be_valid(console_server, worker):
    """Tests that a time without a zone or an inverted range gets 400 naming the parameter."""
    r = positions(console_server, worker["id"], **{"from": "2025-03-03T08:00:00"})
    assert r.status_code == 400 and r.json()["field"] == "from"
    r = positions(console_server, worker["id"], **{"from": "2025-03-03T09:00:00Z", "to": "2025-03-03T08:00:00Z"})
    assert r.status_code == 400 and r.json()["field"] == "to"
    assert positions(console_server, 99999).status_code == 404


def test_socket_without_credentials_is_refused(console_server):
    """Tests that an unauthenticated socket connection is refused by the server."""
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(console_server.url, transports=["websocket"], wait_timeout=5)
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(console_server.url, auth={"token": "forged"}, transports=["websocket"], wait_timeout=5)
