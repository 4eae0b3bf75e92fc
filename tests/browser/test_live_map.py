"""The dispatcher's wall screen in a real headless chromium, with no internet tiles."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

pytestmark = [pytest.mark.browser, pytest.mark.integration]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def fleet(console_server):
    ids = {}
    for n, name in enumerate(["Ana Rossi", "Luca Bianchi", "Marie Dupont"]):
        ids[name] = int(
            console_server.cli("data", "add-worker", "--name", name, "--device-id", f"b-{n}", "--skills", "gas")
        )
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
    context = browser.new_context(viewport={"width": 1600, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()


def login(page, server):
    page.goto(f"{server.url}/")
    assert "/login" in page.url  # the wall screen needs a login
    page.fill("input[name=name]", server.dispatcher_name)
    page.fill("input[name=password]", server.dispatcher_password)
    page.click("button[type=submit]")
    page.wait_for_selector(".conn-live", timeout=15_000)  # the socket is connected


def test_wrong_password_is_refused(page, console_server):
    """Tests that a wrong password keeps the dispatcher on the login page with a message."""
    page.goto(f"{console_server.url}/login")
    page.fill("input[name=name]", "dispatcher")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    assert page.locator(".error").inner_text() == "Wrong user name or password."


def test_markers_move_after_pings(page, console_server, fleet):
    """Tests that a dispatcher logs in, sees every worker as a marker, and sees a marker move after a ping."""
    login(page, console_server)
    page.wait_for_selector("path.worker-marker", timeout=10_000)
    assert page.locator("path.worker-marker").count() == 3
    assert page.locator(".worker-row").count() == 3
    marker = page.locator(f"path.worker-{fleet['Luca Bianchi']}")
    before = marker.get_attribute("d")

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
