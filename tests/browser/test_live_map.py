"""The dispatcher's wall screen in a real headless chromium, with no internet tiles."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from tests.support.browser import hover_label, login, reread_held, watched_page
from tests.support.consent import consent_on_paper, record_consent

pytestmark = [pytest.mark.browser, pytest.mark.integration]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def fleet(console_server):
    ids = {}
    for n, name in enumerate(["Ana Rossi", "Luca Bianchi", "Marie Dupont"]):
        ids[name] = int(
            console_server.cli("data", "add-worker", "--name", name, "--device-id", f"b-{n}", "--skills", "gas")
        )
        token = {"Authorization": f"Bearer {console_server.admin_token}"}
        consent_on_paper(requests.post, token, [ids[name]], url=console_server.url)
        ping(console_server, f"b-{n}", 43.735 + n * 0.002, 7.42 + n * 0.002)
    return ids


def ping(server, device, lat, lon, speed_kn=0.0):
    r = requests.get(
        f"{server.url}/osmand",
        params={
            "id": device,
            "lat": lat,
            "lon": lon,
            "speed": speed_kn,
            "timestamp": datetime.now(UTC).isoformat(),
            "batt": 64,
        },
        timeout=5,
    )
    assert r.status_code == 200, r.text


@pytest.fixture
def page(browser, console_server):
    yield from watched_page(browser, viewport={"width": 1600, "height": 900})


def test_wrong_password_is_refused(page, console_server):
    """Tests that a wrong password keeps the dispatcher on the login page with a message."""
    page.goto(f"{console_server.url}/login")
    page.fill("input[name=name]", "dispatcher")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    assert page.locator(".error").inner_text() == "Wrong user name or password."


def dash_prop(page, component_id: str, prop: str):
    """A prop as Dash's store holds it (dash-renderer's component API)."""
    return page.evaluate("([id, prop]) => window.dash_component_api.getLayout(id).props[prop]", [component_id, prop])


def test_markers_move_after_pings(page, console_server, fleet):
    """Tests that a dispatcher logs in, sees every worker as a marker, and sees a marker move after a ping,
    the position going straight to the map and the panel without passing through Dash's store."""
    login(page, console_server)
    page.wait_for_selector("path.worker-marker", timeout=10_000)
    assert page.locator("path.worker-marker").count() == 3
    page.wait_for_function("() => document.querySelectorAll('.worker-row').length === 3", timeout=5_000)
    assert page.locator(".count-orders .count-n").inner_text() == "0"
    marker = page.locator(f"path.worker-{fleet['Luca Bianchi']}")
    before = marker.get_attribute("d")
    layer_before = dash_prop(page, "workers-layer", "data")

    ping(console_server, "b-1", 43.7405, 7.4290, speed_kn=20)
    page.wait_for_function(
        "([sel, before]) => { const el = document.querySelector(sel); return el && el.getAttribute('d') !== before; }",
        arg=[f"path.worker-{fleet['Luca Bianchi']}", before],
        timeout=5_000,
    )
    # 20 knots is driving: the marker turns "en route" and the side panel counts it.
    page.wait_for_function(
        "() => document.querySelector('.count-en_route .count-n').textContent === '1'", timeout=5_000
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "live-map.png"))
    assert page.evaluate("window.outfield.updatesReceived") >= 1
    assert page.evaluate("window.outfield.positionBatches") >= 1
    # Dash never saw it: the layer's data is the page's snapshot.
    assert dash_prop(page, "workers-layer", "data") == layer_before
    assert not [e for e in page.errors if "favicon" not in e], page.errors


def test_marker_follows_the_workers_order(page, console_server, fleet, tmp_path):
    """Tests that a new order is counted, and that a worker's marker and list row turn "en route" when their
    order does and back when it is cancelled, without a reload."""
    sites = tmp_path / "sites.csv"
    sites.write_text(
        "external_ref,name,address,latitude,longitude,geofence_radius_m,category\n"
        "t:casino,Casino de Monte-Carlo,Place du Casino,43.7394,7.4276,60,amenity=casino\n"
    )
    console_server.cli("data", "import-csv", "sites", str(sites))
    admin = {"Authorization": f"Bearer {console_server.admin_token}"}
    now = datetime.now(UTC)
    body = {
        "site_id": 1, "type": "repair", "priority": 2, "required_skills": ["gas"], "service_minutes": 30,
        "window_start": (now - timedelta(minutes=30)).isoformat(), "window_end": (now + timedelta(hours=4)).isoformat(),
    }  # fmt: skip
    login(page, console_server)
    marie = fleet["Marie Dupont"]
    page.wait_for_selector(f"path.worker-{marie}.worker-state-idle", timeout=10_000)

    def move(order_id: int, path: str, **payload) -> None:
        r = requests.post(
            f"{console_server.url}/api/v1/work-orders/{order_id}/{path}", json=payload, headers=admin, timeout=10
        )
        assert r.status_code == 200, r.text

    r = requests.post(f"{console_server.url}/api/v1/work-orders", json=body, headers=admin, timeout=10)
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]
    page.wait_for_function("() => document.querySelector('.count-orders .count-n').textContent === '1'")
    move(order_id, "assign", worker_id=marie, reason="browser test")
    move(order_id, "status", status="accepted")
    move(order_id, "status", status="en_route")
    page.wait_for_selector(f"path.worker-{marie}.worker-state-en_route", timeout=5_000)
    page.wait_for_selector(".worker-row.state-en_route:has-text('Marie Dupont')", timeout=5_000)
    move(order_id, "status", status="cancelled")
    page.wait_for_selector(f"path.worker-{marie}.worker-state-idle", timeout=5_000)
    page.wait_for_function("() => document.querySelector('.count-orders .count-n').textContent === '0'")
    assert not [e for e in page.errors if "favicon" not in e], page.errors


def test_search_and_worker_card(page, console_server, fleet):
    """Tests that searching filters the list and clicking a worker opens their card with skills and battery."""
    login(page, console_server)
    page.fill("#worker-search", "marie")
    page.wait_for_function("() => document.querySelectorAll('.worker-row').length === 1")
    page.click(".worker-row")
    page.wait_for_selector("#worker-card h2", timeout=5_000)
    card = page.locator("#worker-card").inner_text()
    assert "Marie Dupont" in card
    assert "gas" in card
    assert "64 %" in card


def test_unauthenticated_dash_requests_are_refused(console_server):
    """Tests that the console's data endpoints refuse a caller without a session."""
    r = requests.post(f"{console_server.url}/_dash-update-component", json={}, timeout=5)
    assert r.status_code == 401
    r = requests.get(f"{console_server.url}/", allow_redirects=False, timeout=5)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_wall_screen_rereads_the_snapshot_when_the_feed_resumes(page, console_server, fleet):
    """Tests that when the feed resumes after a gap (the relay says `resync` once Redis is back), the wall
    screen re-reads the snapshot and shows a position it was never pushed."""
    from flask_socketio import SocketIO

    from data import positions_repo
    from data.db import make_engine, make_sessionmaker, session_scope
    from dispatch.positions import Position
    from realtime.relay import LIVE_ROOM

    login(page, console_server)
    ana = fleet["Ana Rossi"]
    page.wait_for_selector(f"path.worker-{ana}", timeout=10_000)
    page.wait_for_function(  # the page's own socket is up, so it can hear the event
        "() => (window.dash_component_api.getLayout('live-feed').props.data || {}).connected === true",
        timeout=10_000,
    )
    before = page.locator(f"path.worker-{ana}").get_attribute("d")
    now = datetime.now(UTC)
    # Stored while the stream was down: nobody published it.
    with session_scope(make_sessionmaker(make_engine(console_server.env["DATABASE_URL"]))) as session:
        positions_repo.add_position(
            session,
            Position(worker_id=ana, device_id="b-0", fix_time=now, device_time=now, server_time=now,
                     latitude=43.7290, longitude=7.4150),
        )  # fmt: skip
    page.wait_for_function("() => window.outfield.resyncs >= 1", timeout=10_000)  # the connect's own read
    read = page.evaluate("() => window.outfield.resyncs")
    SocketIO(message_queue=console_server.env["REDIS_URL"]).emit("resync", {}, to=LIVE_ROOM)
    page.wait_for_function("(read) => window.outfield.resyncs > read", arg=read, timeout=10_000)
    page.wait_for_function(
        "([sel, before]) => document.querySelector(sel).getAttribute('d') !== before",
        arg=[f"path.worker-{ana}", before],
        timeout=5_000,
    )
    assert not [e for e in page.errors if "favicon" not in e], page.errors


def test_a_fix_pushed_while_the_wall_screen_rereads_its_snapshot_is_not_undone_by_it(page, console_server, fleet):
    """Tests that a worker's fix pushed after the wall screen's snapshot was read on the server, but before the page
    used it, keeps the marker where the fix put it: the snapshot's older fix does not move it back."""
    login(page, console_server)
    marie = fleet["Marie Dupont"]
    page.wait_for_selector(f"path.worker-{marie}", timeout=10_000)
    page.wait_for_function("() => window.outfield.resyncs >= 1", timeout=10_000)  # the connect's own read is done
    read = page.evaluate("() => window.outfield.resyncs")
    reread_held(page, console_server, "/api/v1/live")

    ping(console_server, "b-2", 43.7360, 7.4210)
    moved = [43.7360, 7.4210]
    page.wait_for_function(
        "([id, at]) => JSON.stringify(window.outfield.markerAt(id)) === JSON.stringify(at)", arg=[marie, moved],
        timeout=10_000,
    )  # fmt: skip
    page.evaluate("() => window.__release()")
    page.wait_for_function("(read) => window.outfield.resyncs > read", arg=read, timeout=10_000)

    assert page.evaluate("(id) => window.outfield.markerAt(id)", marie) == moved
    assert not [e for e in page.errors if "favicon" not in e], page.errors


def test_a_team_scoped_dispatchers_wall_screen_shows_only_their_teams_workers(page, console_server, fleet):
    """Tests that a dispatcher scoped to team North sees North's worker on the map and in the list, never
    South's or the unteamed fleet, also after fresh fixes of both arrive live, that the worker card says whether
    the worker consented to tracking, and that the open wall screen follows a change of the desk's scope."""
    from data import users_repo, workers_repo
    from data.db import make_engine, make_sessionmaker, session_scope
    from dispatch.access import Role, TeamScope

    # Stored directly (as `python -m data add-worker --team`, `create-user` and `set-scope` would): quicker.
    with session_scope(make_sessionmaker(make_engine(console_server.env["DATABASE_URL"]))) as session:
        nadia = workers_repo.add_worker(session, name="Nadia North", device_id="team-n", team="North").id
        sven = workers_repo.add_worker(session, name="Sven South", device_id="team-s", team="South").id
        record_consent(session, nadia, sven)
        desk, _ = users_repo.create_user(session, name="north-desk", role=Role.DISPATCHER, password="north-pw")
        users_repo.set_scope(session, user_id=desk.id, scope=TeamScope.of(["North"]))
    ping(console_server, "team-n", 43.736, 7.421)
    ping(console_server, "team-s", 43.737, 7.422)
    login(page, console_server, name="north-desk", password="north-pw")
    page.wait_for_selector(f"path.worker-{nadia}", timeout=10_000)
    before = page.locator(f"path.worker-{nadia}").get_attribute("d")
    ping(console_server, "team-s", 43.738, 7.423)  # South's fix first, then North's: both reach the relay
    ping(console_server, "team-n", 43.731, 7.416)
    page.wait_for_function(
        "([sel, before]) => document.querySelector(sel).getAttribute('d') !== before",
        arg=[f"path.worker-{nadia}", before],
        timeout=10_000,
    )
    assert page.locator("path.worker-marker").count() == 1
    assert page.locator(f"path.worker-{sven}").count() == 0
    assert page.locator(".worker-row").count() == 1 and "Nadia North" in page.locator(".worker-row").inner_text()
    page.click(".worker-row")
    page.wait_for_selector("#worker-card h2", timeout=5_000)
    assert "consent given" in page.locator("#worker-card").inner_text()

    # An admin moves the desk to team South: the open wall screen follows without a reload (the server
    # ends its stream within seconds, the page connects again in the new scope and re-reads the snapshot).
    with session_scope(make_sessionmaker(make_engine(console_server.env["DATABASE_URL"]))) as session:
        users_repo.set_scope(session, user_id=desk.id, scope=TeamScope.of(["South"]))
    page.wait_for_selector(f"path.worker-{sven}", timeout=20_000)
    page.wait_for_function(
        "(id) => !document.querySelector('path.worker-' + id) && document.querySelectorAll('.worker-row').length === 1",
        arg=nadia,
        timeout=5_000,
    )
    assert "Sven South" in page.locator(".worker-row").inner_text()
    page.wait_for_selector(".conn-live", timeout=5_000)
    assert not [e for e in page.errors if "favicon" not in e], page.errors


def test_a_worker_without_a_fix_is_drawn_small_and_named_on_hover_until_the_first_fix(page, console_server, fleet):
    """Tests that a worker drawn at their home base before a first fix gets a smaller, paler marker and no permanent
    label (twenty off-shift names covered the active fleet on the demo's wall), says "no fix yet" on hover, and that
    their first fix moves the marker, makes it full size and gives it the permanent label with their name."""
    admin = {"Authorization": f"Bearer {console_server.admin_token}"}
    r = requests.post(f"{console_server.url}/api/v1/workers", headers=admin, timeout=5,
                      json={"name": "Hana Home", "device_id": "h-1", "home_base": {"lat": 43.734, "lon": 7.419}})  # fmt: skip
    assert r.status_code == 201, r.text
    hana = r.json()["id"]
    consent_on_paper(requests.post, admin, [hana], url=console_server.url)
    login(page, console_server)
    marker = page.locator(f"path.worker-{hana}")
    marker.wait_for(timeout=10_000)
    placed = page.locator(f"path.worker-{fleet['Ana Rossi']}")
    radius = "(el) => el.getBoundingClientRect().width"
    assert "worker-home" in marker.get_attribute("class")
    assert marker.evaluate(radius) < placed.evaluate(radius)
    permanent = page.locator(".worker-label.label-permanent")
    expect(permanent.filter(has_text="Ana Rossi")).to_have_count(1)
    expect(permanent.filter(has_text="Hana Home")).to_have_count(0)
    hover_label(page, f"path.worker-{hana}", "Hana Home · no fix yet", label=".worker-label")
    page.mouse.move(5, 5)

    ping(console_server, "h-1", 43.7391, 7.4272)
    expect(permanent.filter(has_text="Hana Home")).to_have_text("Hana Home", timeout=10_000)
    assert "worker-home" not in marker.get_attribute("class")
    assert marker.evaluate(radius) == placed.evaluate(radius)
    # The legend says what the colours are: Hana, standing still, is drawn in the legend's "Idle" colour.
    expect(page.locator(".legend-key")).to_have_text(
        ["Idle", "En route", "On site", "Offline", "No fix yet", "Off shift"]
    )
    colour = (
        "(el) => { const c = document.createElement('canvas').getContext('2d'); c.fillStyle = el.tagName === 'path'"
    )
    colour += " ? el.getAttribute('fill') : getComputedStyle(el).backgroundColor; return c.fillStyle; }"
    expect(marker).to_have_class(re.compile(r"worker-state-idle"))
    assert marker.evaluate(colour) == page.locator(".legend .state-idle .dot").evaluate(colour)
    assert not [e for e in page.errors if "favicon" not in e], page.errors


def test_a_worker_off_shift_is_drawn_at_home_not_counted_offline_and_the_map_is_read_again_at_their_turn(
    page, console_server, fleet
):
    """Tests that a worker whose one-hour shift is hours away is listed "off shift", drawn small at their home base in
    no state the counts show (before, every worker of a later shift counted "offline" on the wall), that their fix is
    not kept, and that when the page's clock reaches their turn (their shift's start less 15 minutes) it reads the map
    again, once."""
    admin = {"Authorization": f"Bearer {console_server.admin_token}"}
    hour = datetime.now(UTC).hour  # the test server's office clock is UTC
    start = (hour + 12) % 24 if (hour + 12) % 24 < 23 else (hour + 10) % 24
    shift = f"Mon-Sun {start:02d}:00-{start + 1:02d}:00"
    r = requests.post(f"{console_server.url}/api/v1/workers", headers=admin, timeout=5,
                      json={"name": "Otto Later", "device_id": "o-1", "home_base": {"lat": 43.736, "lon": 7.421},
                            "shifts": [shift]})  # fmt: skip
    assert r.status_code == 201, r.text
    otto = r.json()["id"]
    consent_on_paper(requests.post, admin, [otto], url=console_server.url)
    ping(console_server, "o-1", 43.7391, 7.4272)
    positions = requests.get(f"{console_server.url}/api/v1/workers/{otto}/positions", headers=admin, timeout=5)
    assert positions.json() == []  # off shift: not kept
    login(page, console_server)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.worker-row')].some("
        "(r) => r.textContent.includes('Otto Later') && r.textContent.includes('off shift'))",
        timeout=10_000,
    )
    marker = page.locator(f"path.worker-{otto}")
    expect(marker).to_have_class(re.compile(r"worker-state-off_shift.*worker-home"))
    offline = page.locator(".count-offline .count-n")
    expect(offline).to_have_text(str(page.locator("path.worker-state-offline").count()))
    snapshot = requests.get(f"{console_server.url}/api/v1/live", headers=admin, timeout=5).json()
    (props,) = [f["properties"] for f in snapshot["workers"]["features"] if f["properties"]["worker_id"] == otto]
    turn = datetime.fromisoformat(props["tracking_turns_at"])
    assert turn.minute == 45 and (turn.hour + 1) % 24 == start, props
    before = page.evaluate("() => window.outfield.resyncs")
    page.evaluate("(ms) => window.outfield.checkTurns(ms)", (turn - timedelta(seconds=1)).timestamp() * 1000)
    assert page.evaluate("() => window.outfield.shiftTurns") == 0  # not yet
    page.evaluate("(ms) => window.outfield.checkTurns(ms)", (turn + timedelta(seconds=1)).timestamp() * 1000)
    page.evaluate("(ms) => window.outfield.checkTurns(ms)", (turn + timedelta(seconds=30)).timestamp() * 1000)
    page.wait_for_function("(n) => window.outfield.resyncs > n", arg=before, timeout=10_000)
    assert page.evaluate("() => window.outfield.shiftTurns") == 1  # the turn asked once, the next ask a minute on
    assert not [e for e in page.errors if "favicon" not in e], page.errors


def test_the_wall_screen_says_who_is_not_tracked_and_why(page, console_server, fleet):
    """Tests that with the default settings a fix of a worker without consent is answered 200 but not stored, and the
    wall screen shows them at their home base saying "no consent: not tracked" (one without a home base in the list
    only); once an admin records their consent on paper their fix is stored and drawn, and when it is withdrawn the
    wall screen says "consent withdrawn: not tracked" at once and the next fix is not stored."""
    admin = {"Authorization": f"Bearer {console_server.admin_token}"}

    def new_worker(body):
        r = requests.post(f"{console_server.url}/api/v1/workers", json=body, headers=admin, timeout=5)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    zoe = new_worker({"name": "Zoe Unconsented", "device_id": "u-1", "home_base": {"lat": 43.733, "lon": 7.418}})
    yan = new_worker({"name": "Yan Homeless", "device_id": "u-2"})
    positions = f"{console_server.url}/api/v1/workers/{zoe}/positions"
    ping(console_server, "u-1", 43.7391, 7.4272)  # answered 200 (the phone would only retry a refusal) ...
    assert requests.get(positions, headers=admin, timeout=5).json() == []  # ... and not kept
    login(page, console_server)

    def row_says(name: str, words: str) -> None:
        page.wait_for_function(
            "([name, words]) => [...document.querySelectorAll('.worker-row')].some("
            "(r) => r.textContent.includes(name) && r.textContent.includes(words))",
            arg=[name, words],
            timeout=10_000,
        )

    row_says("Zoe Unconsented", "no consent: not tracked")
    row_says("Yan Homeless", "no consent: not tracked")
    assert page.locator(f"path.worker-{yan}").count() == 0  # no place to draw: listed only
    hover_label(
        page, f"path.worker-{zoe}", lambda t: "Zoe Unconsented" in t and "not tracked" in t, label=".worker-label"
    )

    consent_on_paper(requests.post, admin, [zoe], url=console_server.url)
    row_says("Zoe Unconsented", "no fix yet")  # the console's push: tracked from now on
    ping(console_server, "u-1", 43.7391, 7.4272)
    (kept,) = requests.get(positions, headers=admin, timeout=5).json()
    row_says("Zoe Unconsented", "ago")

    r = requests.post(
        f"{console_server.url}/api/v1/workers/{zoe}/consent", json={"given": False}, headers=admin, timeout=5
    )
    assert r.json()["state"] == "withdrawn"
    row_says("Zoe Unconsented", "consent withdrawn: not tracked")
    ping(console_server, "u-1", 43.7395, 7.4280)
    assert requests.get(positions, headers=admin, timeout=5).json() == [kept]
    assert not [e for e in page.errors if "favicon" not in e], page.errors


CROWD = ["Crowd Amal", "Crowd Bert", "Crowd Cleo", "Crowd Dina"]
SHOWN_LABELS = """(names) => [...document.querySelectorAll('.leaflet-tooltip.worker-label.label-permanent')]
    .filter((el) => names.includes(el.textContent) && getComputedStyle(el).visibility === 'visible')
    .map((el) => el.textContent)"""
LABEL_TOPS = """(names) => names.map((name) => [...document.querySelectorAll('.leaflet-tooltip.worker-label')]
    .find((el) => el.textContent === name).getBoundingClientRect()).map((r) => [r.top, r.height])"""
NO_TWO_SHOWN_LABELS_OVERLAP = """() => {
    const shown = [...document.querySelectorAll('.leaflet-tooltip.label-permanent')]
      .filter((el) => getComputedStyle(el).visibility === 'visible').map((el) => el.getBoundingClientRect());
    return shown.every((a, i) => shown.slice(i + 1).every((b) =>
      a.right <= b.left || b.right <= a.left || a.bottom <= b.top || b.bottom <= a.top));
}"""


ROOM = f"""(names) => {{ const [a, b] = ({LABEL_TOPS})(names); return Math.abs(b[0] - a[0]); }}"""


def zoom(page, way: str, *, until) -> None:
    """Click the map's zoom control (half a level a click, the wall's zoomDelta) until `until(room)` holds for the
    room between the crowd's first two labels; Leaflet ignores a click made while it still zooms, so each click waits
    for the map to stand still before it and for the room to change after it."""
    settled = f"""(names) => {{
        const room = ({ROOM})(names), same = window.crowdRoom === room;
        window.crowdRoom = room;
        return same;
    }}"""  # the same room at two looks 200 ms apart: the map is not moving (a fit, a zoom under way)
    for _ in range(12):
        page.wait_for_function(settled, arg=CROWD, polling=200, timeout=5_000)
        room = page.evaluate(ROOM, CROWD)
        if until(room):
            return
        page.click(f"a.leaflet-control-zoom-{way}")
        page.wait_for_function(f"([names, was]) => Math.abs(({ROOM})(names) - was) > was * 0.2", arg=[CROWD, room],
                               timeout=5_000)  # fmt: skip
    raise AssertionError(f"zooming {way} never gave the labels the room asked for (last: {room} px)")


def test_labels_of_crowded_workers_do_not_pile_up_and_come_back_on_hover_and_when_zoomed_in(page, console_server):
    """Tests that four workers standing 28 m apart, one above the other, show fewer names than four where the map is
    too small to part them (before, four names piled into an unreadable block), that no two names shown on the wall
    overlap, that hovering a hidden one's marker shows its name, that the names shown stay shown when the map moves
    after a shown one was hovered, that picking a hidden one in the list shows theirs,
    that a hidden one who sends an SOS has their name shown first, and that zoomed in far enough all four show
    again."""
    admin = {"Authorization": f"Bearer {console_server.admin_token}"}
    ids = []
    for n, name in enumerate(CROWD):
        ids.append(int(console_server.cli("data", "add-worker", "--name", name, "--device-id", f"crowd-{n}")))
        consent_on_paper(requests.post, admin, [ids[-1]], url=console_server.url)
        ping(console_server, f"crowd-{n}", 43.7440 + n * 0.00025, 7.4300)
    login(page, console_server)
    page.wait_for_function("(n) => document.querySelectorAll('.leaflet-tooltip.worker-label.label-permanent').length >= n",
                           arg=len(CROWD), timeout=10_000)  # fmt: skip
    page.wait_for_function("() => window.outfield.fits > 0", timeout=10_000)  # the view fitted to the fleet
    tall = page.evaluate(LABEL_TOPS, CROWD)[0][1]
    zoom(page, "out", until=lambda room: room < tall / 2)  # the map is too small to part them
    page.wait_for_function(f"(names) => ({SHOWN_LABELS})(names).length < 4", arg=CROWD, timeout=10_000)
    assert page.evaluate(NO_TWO_SHOWN_LABELS_OVERLAP)
    shown = page.evaluate(SHOWN_LABELS, CROWD)
    assert shown, "the first name of the crowd is kept"
    hidden = ids[CROWD.index(next(name for name in CROWD if name not in shown))]
    page.locator(f"path.worker-{hidden}").dispatch_event("mouseover")  # under the crowd: Leaflet told of the hover
    page.wait_for_function(f"(n) => ({SHOWN_LABELS})({CROWD!r}).length === n", arg=len(shown) + 1, timeout=5_000)
    page.locator(f"path.worker-{hidden}").dispatch_event("mouseout")
    page.wait_for_function(f"(n) => ({SHOWN_LABELS})({CROWD!r}).length === n", arg=len(shown), timeout=5_000)
    # Hovering a shown name brings its label to the front of the others; when the map moves after, the same names
    # stay shown (before, the hovered name gave its place to a hidden one: names came and went on the wall).
    front = ids[CROWD.index(shown[0])]
    page.locator(f"path.worker-{front}").dispatch_event("mouseover")
    page.locator(f"path.worker-{front}").dispatch_event("mouseout")
    passes = page.evaluate("() => window.outfield.declutters")
    page.focus(".leaflet-container")
    page.keyboard.press("ArrowLeft")  # Leaflet pans the map: its labels are looked over again
    page.wait_for_function("(n) => window.outfield.declutters > n", arg=passes, timeout=5_000)
    assert sorted(page.evaluate(SHOWN_LABELS, CROWD)) == sorted(shown)
    # The dispatcher picks a worker whose name is hidden, in the list: their name is kept before the others'.
    chosen = next(name for name in CROWD if name not in shown)
    page.fill("#worker-search", chosen)
    page.click(f".worker-row:has-text('{chosen}')")
    page.wait_for_function(f"(names) => ({SHOWN_LABELS})(names).includes({chosen!r})", arg=CROWD, timeout=5_000)
    assert page.evaluate(NO_TWO_SHOWN_LABELS_OVERLAP)
    shown = page.evaluate(SHOWN_LABELS, CROWD)
    # An SOS from a worker whose name is hidden: their name is kept first, so it shows in the crowd.
    sos = next(name for name in CROWD if name not in shown)
    n = CROWD.index(sos)
    r = requests.get(f"{console_server.url}/osmand", timeout=5, params={
        "id": f"crowd-{n}", "lat": 43.7440 + n * 0.00025, "lon": 7.4300, "alarm": "sos",
        "timestamp": datetime.now(UTC).isoformat(),
    })  # fmt: skip
    assert r.status_code == 200, r.text
    page.wait_for_selector(".alert-item.alert-kind-sos", timeout=10_000)
    page.wait_for_function(f"(names) => ({SHOWN_LABELS})(names).includes({sos!r})", arg=CROWD, timeout=5_000)
    assert page.evaluate(NO_TWO_SHOWN_LABELS_OVERLAP)
    zoom(page, "in", until=lambda room: room > tall + 4)  # 28 m apart: room for their labels by zoom 18
    page.wait_for_function(f"(names) => ({SHOWN_LABELS})(names).length === 4", arg=CROWD, timeout=10_000)
    assert page.evaluate(NO_TWO_SHOWN_LABELS_OVERLAP)
    assert not [e for e in page.errors if "favicon" not in e], page.errors
