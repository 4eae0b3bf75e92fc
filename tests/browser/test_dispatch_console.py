"""The dispatcher's order panel in a real headless chromium: create, explain, override, assign, live colour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.integration]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

SITES = """external_ref,name,address,latitude,longitude,geofence_radius_m,category
t:casino,Casino de Monte-Carlo,Place du Casino,43.7394,7.4276,60,amenity=casino
t:port,Port Hercule,Quai Albert 1er,43.7347,7.4214,60,amenity=marina
t:fontvieille,Fontvieille,Rue du Port,43.7290,7.4160,60,amenity=mall
"""
WORKERS = """name,device_id,skills,team,home_lat,home_lon,shift_days,shift_start,shift_end
Near Gas,c-near,gas,Centre,43.7390,7.4270,Mon-Sun,00:00,23:59
Far Gas,c-far,gas;hvac,South,43.7290,7.4160,Mon-Sun,00:00,23:59
Sparks,c-elec,electrical,North,43.7392,7.4275,Mon-Sun,00:00,23:59
"""


@pytest.fixture(scope="module")
def world(console_server, tmp_path_factory):
    d = tmp_path_factory.mktemp("csv")
    (d / "sites.csv").write_text(SITES)
    (d / "workers.csv").write_text(WORKERS)
    console_server.cli("data", "import-csv", "sites", str(d / "sites.csv"))
    console_server.cli("data", "import-csv", "workers", str(d / "workers.csv"))
    return console_server


@pytest.fixture
def page(browser, world):
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
    page.fill("input[name=name]", server.dispatcher_name)
    page.fill("input[name=password]", server.dispatcher_password)
    page.click("button[type=submit]")
    page.wait_for_selector(".conn-live", timeout=15_000)  # the socket is connected


def tomorrow() -> str:
    """Windows are tomorrow 09:00–11:00 UTC, so the test never crosses midnight."""
    return (datetime.now(UTC) + timedelta(days=1)).date().isoformat()


def choose(page, dropdown_id: str, text: str, *, search: bool = True) -> None:
    """Open a dropdown, search it when it is searchable, click the option, and close the menu."""
    page.click(f"#{dropdown_id}")
    if search:
        page.locator(".dash-dropdown-search").fill(text)
    page.click(f".dash-dropdown-option:has-text('{text}')", timeout=5_000)
    page.keyboard.press("Escape")
    page.wait_for_selector(".dash-dropdown-content", state="detached", timeout=5_000)


def pick_date(page, date_id: str, day: str) -> None:
    page.fill(f"input#{date_id}", day)
    page.press(f"input#{date_id}", "Enter")
    page.keyboard.press("Escape")


def fill_order_form(page, *, site: str, order_type: str, skill: str, start: str, end: str) -> None:
    page.click("#tab-new-order")
    page.wait_for_selector("path.site-marker", timeout=10_000)  # the sites are loaded and shown
    choose(page, "order-site", site)
    choose(page, "order-type", order_type, search=False)
    choose(page, "order-skills", skill)
    pick_date(page, "order-start-date", tomorrow())
    page.fill("#order-start-time", start)
    pick_date(page, "order-end-date", tomorrow())
    page.fill("#order-end-time", end)
    page.fill("#order-duration", "45")
    page.fill("#order-notes", "Boiler pressure low")


def test_create_explain_override_and_assign(page, world):
    """Tests that a dispatcher creates a gas repair in the form, sees it listed and on the map, sees Near Gas
    ranked above Far Gas with Sparks excluded for 'no skill gas', is refused an override without a reason,
    assigns the top candidate with one click, and the order's marker turns 'assigned' (pushed live)."""
    login(page, world)
    fill_order_form(page, site="Casino", order_type="Repair", skill="gas", start="09:00", end="11:00")
    page.click("#order-submit")

    # The new order opens at once on the Orders tab, is listed and drawn on the map.
    page.wait_for_selector(".tab-active#tab-orders", timeout=5_000)
    page.wait_for_selector(".order-row.status-new", timeout=5_000)
    assert "Casino de Monte-Carlo" in page.locator(".order-row").first.inner_text()
    page.wait_for_selector("path.order-marker.order-new", timeout=5_000)
    assert page.locator("path.order-marker").count() == 1

    page.click(".order-row")
    page.wait_for_selector("#order-card .candidate", timeout=10_000)
    names = page.locator("#order-card .cand-name").all_inner_texts()
    assert names == ["Near Gas", "Far Gas"]
    assert "ETA" in page.locator(".candidate.best").inner_text()
    assert "09:00–11:00 UTC" in page.locator("#order-card").inner_text()
    page.click("#order-excluded summary")
    excluded = page.locator("#order-excluded").inner_text()
    assert "Sparks" in excluded and "no skill gas" in excluded

    # An override (the second candidate) without a reason is refused, and nothing changes.
    page.click(".candidate:not(.best) button.assign")
    page.wait_for_selector("#order-message .error", timeout=5_000)
    assert "needs a reason" in page.locator("#order-message").inner_text()
    assert page.locator("path.order-marker.order-new").count() == 1

    # One click on the top candidate assigns; the marker's colour changes through the socket push.
    started = datetime.now(UTC)
    page.click(".candidate.best button.assign")
    page.wait_for_selector("path.order-marker.order-assigned", timeout=3_000)
    pushed_after = datetime.now(UTC) - started
    page.wait_for_function(
        "() => document.querySelector('#order-message').innerText.includes('Assigned to Near Gas')", timeout=5_000
    )
    page.wait_for_selector(".order-row.status-assigned", timeout=5_000)
    assert "Near Gas" in page.locator(".order-row").first.inner_text()
    assert "assigned" in page.locator("#order-head .status-pill").inner_text()
    assert pushed_after < timedelta(seconds=2), pushed_after
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dispatch-console.png"))
    assert not [e for e in page.errors if "favicon" not in e], page.errors


def test_form_errors_and_automatic_emergency(page, world):
    """Tests that a window ending before it starts is refused next to the form, an emergency needing hvac
    is assigned to Far Gas automatically and says so, and cancelling it (after confirming) turns it grey."""
    login(page, world)
    fill_order_form(page, site="Port Hercule", order_type="Emergency", skill="hvac", start="11:00", end="09:00")
    page.click("#order-submit")
    page.wait_for_selector("#order-form-message .error", timeout=5_000)
    assert "Window end: must be after window start" in page.locator("#order-form-message").inner_text()

    page.fill("#order-end-time", "12:00")
    page.click("#order-submit")
    page.wait_for_function(
        "() => document.querySelector('#order-message').innerText.includes('assigned to Far Gas automatically')",
        timeout=10_000,
    )
    assert page.locator(".tab-active#tab-orders").count() == 1
    page.wait_for_selector(".order-row.selected:has-text('Port Hercule')", timeout=5_000)

    # Cancelling asks for confirmation, then the order leaves the open list and its marker turns grey.
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#cancel-order button")
    page.wait_for_function(
        "() => document.querySelector('#order-message').innerText.includes('Order cancelled.')", timeout=5_000
    )
    page.wait_for_selector("path.order-marker.order-cancelled", timeout=3_000)
    assert "Port Hercule" not in page.locator("#order-list").inner_text()
    assert not [e for e in page.errors if "favicon" not in e], page.errors
