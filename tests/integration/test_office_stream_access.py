"""Who may join the office's live stream: a push link joins its own worker's stream only (real server and Redis)."""

from __future__ import annotations

import queue
import time
from datetime import UTC, datetime

import pytest
import requests
import socketio

pytestmark = pytest.mark.integration


def connected(server, auth: dict, updates: queue.Queue) -> socketio.Client:
    client = socketio.Client(reconnection=False)
    client.on("positions", lambda payload: [updates.put(u) for u in payload["updates"]])
    client.connect(server.url, auth=auth, transports=["websocket"], wait_timeout=10)
    return client


def ping(server, lat: float) -> None:
    fix = {"id": "acl-1", "lat": lat, "lon": 7.42, "timestamp": datetime.now(UTC).isoformat()}
    assert requests.get(f"{server.url}/osmand", params=fix, timeout=5).status_code == 200


def wait_for_lat(updates: queue.Queue, lat: float, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if abs(updates.get(timeout=max(0.01, deadline - time.monotonic()))["lat"] - lat) < 1e-6:
                return
        except queue.Empty:
            break
    raise AssertionError(f"no live update at lat {lat} within {timeout_s} s")


def test_a_push_link_never_receives_the_office_stream(console_server):
    """Tests that a worker's push link is refused as an office token, and connected as a link it gets none of
    the live map's position batches the office receives; a field worker's own API token is refused too."""
    worker_id = int(console_server.cli("data", "add-worker", "--name", "Acl Ana", "--device-id", "acl-1"))
    admin = {"Authorization": f"Bearer {console_server.admin_token}"}
    r = requests.post(f"{console_server.url}/api/v1/workers/{worker_id}/push-link", json={}, headers=admin, timeout=10)
    link = r.json()["token"]
    field_token = console_server.cli("data", "create-user", "--role", "field_worker", "--name", "acl-field")

    for token in (link, field_token):
        with pytest.raises(socketio.exceptions.ConnectionError):
            connected(console_server, {"token": token}, queue.Queue())

    office_updates: queue.Queue = queue.Queue()
    link_updates: queue.Queue = queue.Queue()
    office = connected(console_server, {"token": console_server.admin_token}, office_updates)
    phone = connected(console_server, {"link": link}, link_updates)
    try:
        ping(console_server, 43.7301)
        wait_for_lat(office_updates, 43.7301)
        ping(console_server, 43.7302)  # a second batch: the first has reached every client by now
        wait_for_lat(office_updates, 43.7302)
        assert phone.connected and link_updates.empty()
    finally:
        office.disconnect()
        phone.disconnect()
    r = requests.get(f"{console_server.url}/api/v1/work-orders/1/candidates",
                     headers={"Authorization": f"Bearer {link}"}, timeout=5)  # fmt: skip
    assert r.status_code == 401
