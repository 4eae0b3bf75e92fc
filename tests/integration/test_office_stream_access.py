"""Who may join the office's live stream: a push link joins its own worker's stream only (real server and Redis)."""

from __future__ import annotations

import queue
import time
from datetime import UTC, datetime

import pytest
import requests
import socketio

from tests.support.consent import consent_on_paper, record_consent
from tests.support.servers import wait_until

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
    consent_on_paper(requests.post, admin, [worker_id], url=console_server.url)
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


def signed_in_socket(server, name: str, password: str) -> tuple[requests.Session, socketio.Client]:
    """A browser session (cookie) and the wall screen's socket connected with that cookie."""
    browser = requests.Session()
    r = browser.post(f"{server.url}/login", data={"name": name, "password": password},
                     headers={"Origin": server.url}, allow_redirects=False, timeout=10)  # fmt: skip
    assert r.status_code == 302, r.text
    cookie = f"session={browser.cookies['session']}"
    client = socketio.Client(reconnection=False)
    client.connect(server.url, headers={"Cookie": cookie}, transports=["websocket"], wait_timeout=10)
    assert client.connected
    return browser, client


def wait_until_disconnected(client: socketio.Client, timeout_s: float = 20.0) -> None:
    wait_until(lambda: not client.connected, timeout_s, "the socket's disconnection")


@pytest.mark.parametrize("ending", ["logout", "deactivate-user", "set-password", "set-scope"])
def test_a_connected_wall_screen_is_cut_off_when_its_sessions_end(console_server, ending):
    """Tests that a socket connected with a session cookie is disconnected by the server once that user logs
    out (anywhere), is deactivated or gets a new password, or its team scope changes (the page connects again
    in its new scope), while another user's socket stays connected."""
    name = f"wall-{ending}"
    console_server.cli("data", "create-user", "--role", "dispatcher", "--name", name, "--password", "wall-pw")
    browser, wall = signed_in_socket(console_server, name, "wall-pw")
    _, other = signed_in_socket(console_server, console_server.dispatcher_name, console_server.dispatcher_password)
    try:
        if ending == "logout":
            r = browser.post(f"{console_server.url}/logout", headers={"Origin": console_server.url},
                             allow_redirects=False, timeout=10)  # fmt: skip
            assert r.status_code == 302
        elif ending == "deactivate-user":
            console_server.cli("data", "deactivate-user", "--name", name)
        elif ending == "set-password":
            console_server.cli("data", "set-password", "--name", name, "--password", "other-pw")
        else:
            console_server.cli("data", "set-scope", "--name", name, "--teams", "North")
        wait_until_disconnected(wall)
        assert other.connected
    finally:
        wall.disconnect()
        other.disconnect()


def test_a_team_scoped_wall_screen_receives_only_its_teams_fixes(console_server):
    """Tests that a dispatcher scoped to team North (`python -m data set-scope`) gets the live fixes of North's
    worker on their socket and none of South's, while the admin's socket gets both."""
    from data import users_repo, workers_repo
    from data.db import make_engine, make_sessionmaker, session_scope
    from dispatch.access import Role

    with session_scope(make_sessionmaker(make_engine(console_server.env["DATABASE_URL"]))) as session:
        north = workers_repo.add_worker(session, name="Nora North", device_id="scope-n", team="North").id
        south = workers_repo.add_worker(session, name="Sam South", device_id="scope-s", team="South").id
        record_consent(session, north, south)
        users_repo.create_user(session, name="north-wall", role=Role.DISPATCHER, password="north-pw")
    console_server.cli("data", "set-scope", "--name", "north-wall", "--teams", "North")  # the CLI, as an admin would
    office: queue.Queue = queue.Queue()
    scoped: list[dict] = []
    admin = connected(console_server, {"token": console_server.admin_token}, office)
    browser, wall = signed_in_socket(console_server, "north-wall", "north-pw")
    wall.on("positions", lambda payload: scoped.extend(payload["updates"]))
    seen: set[int] = set()

    def send(device: str, lat: float) -> None:
        fix = {"id": device, "lat": lat, "lon": 7.42, "timestamp": datetime.now(UTC).isoformat()}
        assert requests.get(f"{console_server.url}/osmand", params=fix, timeout=5).status_code == 200

    try:
        send("scope-s", 43.7311)
        send("scope-n", 43.7312)

        def office_saw_both() -> bool:
            while not office.empty():
                seen.add(office.get()["worker_id"])
            return {north, south} <= seen

        wait_until(office_saw_both, 10, "both fixes on the admin's socket")
        wait_until(lambda: any(u["worker_id"] == north for u in scoped), 10, "North's fix on the scoped socket")
        assert {u["worker_id"] for u in scoped} == {north}
        r = browser.get(f"{console_server.url}/api/v1/live", timeout=10).json()
        assert [f["properties"]["worker_id"] for f in r["workers"]["features"]] == [north]
    finally:
        admin.disconnect()
        wall.disconnect()
