"""The field worker's push-link page on a phone-sized headless chromium, against the real app.

A dispatcher's wall screen runs in a second browser context and must see every step the worker
taps. Offline, the page queues actions in IndexedDB and sends them once when the network returns.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from PIL import Image, ImageDraw

from tests.support.browser import hold_fetch, hold_fetch_at_load, login
from tests.support.consent import consent_on_paper

pytestmark = [pytest.mark.browser, pytest.mark.integration]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

SITES = """external_ref,name,address,latitude,longitude,geofence_radius_m,category
f:casino,Casino de Monte-Carlo,Place du Casino,43.7394,7.4276,60,amenity=casino
f:port,Port Hercule,Quai Albert 1er,43.7347,7.4214,60,amenity=marina
"""
WORKERS = """name,device_id,skills,team,home_lat,home_lon,shift_days,shift_start,shift_end
Ana Field,f-ana,gas,Centre,43.7390,7.4270,Mon-Sun,00:00,24:00
Ben Offline,f-ben,gas,Centre,43.7350,7.4220,Mon-Sun,00:00,24:00
Cleo Revoked,f-cleo,gas,Centre,43.7300,7.4170,Mon-Sun,00:00,24:00
Dan Sharing,f-dan,gas,Centre,43.7310,7.4180,Mon-Sun,00:00,24:00
Eve Opening,f-eve,gas,Centre,43.7320,7.4190,Mon-Sun,00:00,24:00
Finn Stale,f-finn,gas,Centre,43.7330,7.4200,Mon-Sun,00:00,24:00
Gus Photo,f-gus,gas,Centre,43.7340,7.4210,Mon-Sun,00:00,24:00
"""
CASINO = {"site_id": 1, "latitude": 43.7394, "longitude": 7.4276}
PORT = {"site_id": 2, "latitude": 43.7347, "longitude": 7.4214}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


@pytest.fixture(scope="module")
def world(console_server, tmp_path_factory):
    d = tmp_path_factory.mktemp("field-csv")
    (d / "sites.csv").write_text(SITES)
    (d / "workers.csv").write_text(WORKERS)
    console_server.cli("data", "import-csv", "sites", str(d / "sites.csv"))
    console_server.cli("data", "import-csv", "workers", str(d / "workers.csv"))
    admin = {"Authorization": f"Bearer {console_server.admin_token}"}
    workers = requests.get(f"{console_server.url}/api/v1/workers", headers=admin, timeout=5).json()
    ids = {w["name"]: w["id"] for w in workers}
    # Ana's phone tracker reports through /osmand: she consented on paper. Dan gives his on the page.
    consent_on_paper(requests.post, admin, [ids["Ana Field"]], url=console_server.url)
    return {"admin": admin, "workers": ids}


def assigned_order(server, world, worker: str, site: dict, notes: str) -> int:
    """A gas repair at `site` for today, assigned to `worker` through the dispatcher's API."""
    now = datetime.now(UTC)
    body = {
        "site_id": site["site_id"], "type": "repair", "priority": 2, "required_skills": ["gas"],
        "window_start": (now - timedelta(minutes=30)).isoformat(), "window_end": (now + timedelta(hours=4)).isoformat(),
        "service_minutes": 45, "notes": notes,
    }  # fmt: skip
    r = requests.post(f"{server.url}/api/v1/work-orders", json=body, headers=world["admin"], timeout=10)
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]
    r = requests.post(
        f"{server.url}/api/v1/work-orders/{order_id}/assign",
        json={"worker_id": world["workers"][worker], "reason": "browser test"},
        headers=world["admin"],
        timeout=10,
    )
    assert r.status_code == 200 and r.json()["status"] == "assigned", r.text
    return order_id


def push_link(server, world, worker: str) -> dict:
    r = requests.post(
        f"{server.url}/api/v1/workers/{world['workers'][worker]}/push-link", json={}, headers=world["admin"], timeout=10
    )
    assert r.status_code == 201, r.text
    return r.json()


def order_of(server, world, order_id: int) -> dict:
    return requests.get(f"{server.url}/api/v1/work-orders/{order_id}", headers=world["admin"], timeout=5).json()


# Whether the page's draft of order `orderId`'s report is in IndexedDB with the text, signature, part and signer: what a
# reload restores. Read straight from the page's store ("outfield-field", object store "kv").
DRAFT_SAVED = """async ([orderId, timeoutMs]) => {
  const request = (r) => new Promise((ok, ko) => { r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error); });
  const saved = async () => {
    const db = await request(indexedDB.open("outfield-field"));
    try {
      const key = `draft:${window.outfieldField.state.workerId}:${orderId}`;
      const report = (await request(db.transaction("kv").objectStore("kv").get(key)) || {}).report;
      return !!report && !!report.signature && report.signed_by === "M. Grimaldi" && (report.parts || []).length === 1
        && report.text.startsWith("Replaced the pressure valve");
    } finally {
      db.close();
    }
  };
  const deadline = Date.now() + timeoutMs;
  while (!(await saved())) {
    if (Date.now() > deadline) return false;
    await new Promise((next) => setTimeout(next, 50));  // poll the store again
  }
  return true;
}"""


def wait_for_draft(page, order_id: int, timeout_s: float = 10.0) -> None:
    """Wait until order `order_id`'s draft report is saved in full in the page's IndexedDB (`DRAFT_SAVED`).

    The store is polled inside the page: `wait_for_function` would take an async predicate's promise as true.
    """
    assert page.evaluate(DRAFT_SAVED, [order_id, timeout_s * 1000]), f"no full draft of order {order_id}"


# Counts the page's calls to navigator.geolocation.watchPosition (following the phone's position).
COUNT_GEOLOCATION_WATCHES = """
window.geolocationWatches = 0;
const watch = navigator.geolocation.watchPosition.bind(navigator.geolocation);
navigator.geolocation.watchPosition = (...args) => { window.geolocationWatches += 1; return watch(...args); };
"""


def phone(browser, site: dict):
    """A phone-sized context whose GPS reports a fix 10 m accurate at `site`, with permission granted."""
    context = browser.new_context(
        **PHONE,
        geolocation={"latitude": site["latitude"], "longitude": site["longitude"], "accuracy": 10},
        permissions=["geolocation"],
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append("FAILED " + r.url + " " + str(r.failure)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.errors = errors  # type: ignore[attr-defined]
    return context, page


def open_day(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("li.order", timeout=10_000)
    # The service worker takes control (clients.claim) so that the page also opens offline.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=10_000)
    page.wait_for_function("() => window.outfieldField.state.socketUp", timeout=10_000)
    # ... and has fetched the attendance through it once, so that the worker's cache holds it too.
    page.wait_for_function("() => (window.outfieldField.attendance || {}).keptOffline === true", timeout=10_000)
    # ... and the chunks of the Chinese font its "中文" button is drawn with.
    page.wait_for_function("() => window.outfieldField.state.fontsKeptOffline === true", timeout=10_000)


def login_dispatcher(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    login(page, server)
    return context, page


def card(page, order_id: int):
    return page.locator(f"li.order[data-order-id='{order_id}']")


def waiting(page) -> int:
    return int(page.locator("#queue").get_attribute("data-actions"))


def wait_synced(page) -> None:
    page.wait_for_function(
        "() => document.querySelector('#queue').dataset.actions === '0' && document.querySelector('#queue').dataset.photos === '0'",
        timeout=10_000,
    )


def small_jpeg() -> bytes:
    image = Image.new("RGB", (64, 48), "#2563eb")
    ImageDraw.Draw(image).rectangle((8, 8, 40, 30), fill="#f59e0b")
    out = io.BytesIO()
    image.save(out, "JPEG")
    return out.getvalue()


def sign(page, canvas) -> None:
    """Draw a signature with a finger: real touch events through the DevTools protocol."""
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    cdp = page.context.new_cdp_session(page)
    x0, y0 = box["x"] + 20, box["y"] + box["height"] * 0.7
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0, "y": y0}]})
    for i in range(1, 16):
        x = x0 + i * (box["width"] - 40) / 15
        y = y0 - (box["height"] * 0.4) * (i % 2)
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def test_worker_does_the_day_and_the_dispatcher_sees_each_step(browser, console_server, world):
    """Tests that a worker opens the link on a phone (the stop drawn over the streets), accepts, sets off, checks in
    (verified at the site), adds a photo, a report and a signature and checks out, while the dispatcher's map follows
    every step."""
    order_id = assigned_order(console_server, world, "Ana Field", CASINO, "Ring twice; boiler in the cellar")
    link = push_link(console_server, world, "Ana Field")
    # Ana's phone tracker has reported from near the casino, so she is on the dispatcher's map.
    fix = {"id": "f-ana", "lat": 43.7391, "lon": 7.4272, "timestamp": datetime.now(UTC).isoformat()}
    assert requests.get(f"{console_server.url}/osmand", params=fix, timeout=5).status_code == 200
    ana = world["workers"]["Ana Field"]
    office_context, office = login_dispatcher(browser, console_server)
    context, page = phone(browser, CASINO)
    try:
        office.wait_for_selector("path.order-marker.order-assigned", timeout=10_000)
        open_day(page, link["url"])
        order = card(page, order_id)
        assert "Casino de Monte-Carlo" in order.locator(".site-name").inner_text()
        assert order.locator(".address").inner_text() == "Place du Casino"
        assert order.locator(".notes").inner_text() == "Ring twice; boiler in the cellar"
        assert order.locator(".nav-geo").get_attribute("href").startswith("geo:43.739400,7.427600")
        assert "openstreetmap.org/directions" in order.locator(".nav-osm").get_attribute("href")
        assert page.locator("#map g.stop").count() == 1
        # The streets around the stop are drawn under it (the wall screen's basemap, no tiles), and credited.
        page.wait_for_selector("#map polyline.map-road", state="attached", timeout=10_000)
        assert page.locator("#map text.map-credit").text_content() == "© OpenStreetMap contributors"
        under = "() => { const c = [...document.querySelector('#map').children];"
        under += " return c.findIndex((e) => e.matches('.map-road')) < c.findIndex((e) => e.matches('g.stop')); }"
        assert page.evaluate(under)
        assert page.locator("#share-position").is_checked() is False  # no position sharing without consent
        assert page.locator("#net").inner_text() == "Online"
        height = order.locator("button.act-accept").bounding_box()["height"]
        assert height >= 48, f"the Accept button is {height} px high"

        steps = [("act-accept", "accepted"), ("act-en_route", "en_route"), ("act-check_in", "on_site")]
        for button, status in steps:
            order.locator(f"button.{button}").tap()
            office.wait_for_selector(f"path.order-marker.order-{status}", timeout=10_000)
            page.wait_for_selector(f"li.order[data-order-id='{order_id}'][data-status='{status}']", timeout=5_000)
        # The worker's own marker follows the order: on site once checked in.
        office.wait_for_selector(f"path.worker-{ana}.worker-state-on_site", timeout=10_000)
        wait_synced(page)
        page.wait_for_selector(".verdict-verified", timeout=5_000)
        assert "inside the geofence of Casino de Monte-Carlo" in order.locator(".verdict").inner_text()
        assert page.locator("#map circle.me").count() == 1  # the check-in's fix is drawn on the map

        order.locator(".photo-input").set_input_files(
            {"name": "boiler.jpg", "mimeType": "image/jpeg", "buffer": small_jpeg()}
        )
        page.wait_for_function(
            f"() => document.querySelector(\"li.order[data-order-id='{order_id}'] .photo-state\").textContent.startsWith('1 photo sent')",
            timeout=10_000,
        )
        order.locator(".report-text").fill("Replaced the pressure valve; pressure back at 1.5 bar.")
        order.locator(".checklist input[data-item='Fault found']").check()
        order.locator(".checklist input[data-item='Tested after repair']").check()
        order.locator(".add-part").tap()
        order.locator(".part-name").fill("Pressure valve 15 mm")
        order.locator(".part-qty").fill("2")
        order.locator(".signed-by").fill("M. Grimaldi")
        sign(page, order.locator("canvas.signature"))
        assert page.evaluate(f"() => document.getElementById('order-{order_id}').pad.signed") is True
        wait_for_draft(page, order_id)  # saved 0.4 s after the last change

        page.reload()  # a half-written report survives a reload (or a browser the phone closed)
        page.wait_for_selector(f"li.order[data-order-id='{order_id}'][data-status='on_site']", timeout=10_000)
        order = card(page, order_id)
        # The card is drawn first and its draft restored from IndexedDB after: text, parts and checklist, then
        # the signature last. Once the signature is back, the rest is too.
        page.wait_for_function(f"() => document.getElementById('order-{order_id}').pad.signed === true")
        assert order.locator(".report-text").input_value().startswith("Replaced the pressure valve")
        assert order.locator(".part-name").input_value() == "Pressure valve 15 mm"
        assert order.locator(".checklist input[data-item='Tested after repair']").is_checked()
        assert "verified" in order.locator(".verdict").inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(ARTIFACTS / "field-page-report.png"), full_page=True)

        order.locator("button.act-check_out").tap()  # saves the report first, then checks out
        office.wait_for_selector("path.order-marker.order-done", timeout=10_000)
        page.wait_for_selector(f"li.order[data-order-id='{order_id}'][data-status='done']", timeout=5_000)
        wait_synced(page)
        # The report counts as sent once the day read after the check-out's answer lists it (the photo as soon as
        # the office answered its upload): wait for that read, then hold the summary to both.
        page.wait_for_function(
            "(id) => document.querySelector(`li.order[data-order-id='${id}'] .summary`).textContent.startsWith('Report sent')",
            arg=order_id,
            timeout=10_000,
        )
        assert order.locator(".summary").inner_text() == "Report sent · 1 photo sent"
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(ARTIFACTS / "field-page.png"), full_page=True)
        office.screenshot(path=str(ARTIFACTS / "field-page-dispatcher.png"))

        record = requests.get(
            f"{console_server.url}/api/v1/work-orders/{order_id}/field-record", headers=world["admin"], timeout=5
        ).json()
        assert [(c["kind"], c["verdict"]) for c in record["checkins"]] == [("in", "verified"), ("out", "verified")]
        assert [(p["content_type"], p["photo_id"] > 0) for p in record["photos"]] == [("image/jpeg", True)]
        report = record["report"]
        assert report["text"] == "Replaced the pressure valve; pressure back at 1.5 bar."
        assert report["checklist"] == {
            "Fault found": True, "Part replaced or fixed": False, "Tested after repair": True, "Area left clean": False,
        }  # fmt: skip
        assert report["parts"] == [{"name": "Pressure valve 15 mm", "quantity": 2}]
        assert (report["signed_by"], report["has_signature"]) == ("M. Grimaldi", True)
        history = order_of(console_server, world, order_id)["history"]
        assert [h["to"] for h in history] == ["new", "assigned", "accepted", "en_route", "on_site", "done"]
        assert page.locator(".notice-refused").count() == 0
        assert not page.errors, page.errors
    finally:
        context.close()
        office_context.close()


def test_a_new_assignment_is_pushed_to_the_open_page(browser, console_server, world):
    """Tests that assigning another order to a worker whose page is open shows a banner and the new stop at once."""
    first = assigned_order(console_server, world, "Ana Field", PORT, "First of the afternoon")
    link = push_link(console_server, world, "Ana Field")
    context, page = phone(browser, PORT)
    try:
        open_day(page, link["url"])
        stops = page.locator("li.order").count()
        second = assigned_order(console_server, world, "Ana Field", CASINO, "Added while the page is open")
        page.wait_for_selector("#banner:not([hidden])", timeout=10_000)
        assert page.locator("#banner-text").inner_text() == "New order for you: repair · Casino de Monte-Carlo"
        page.wait_for_selector(f"li.order[data-order-id='{second}']", timeout=5_000)
        assert page.locator("li.order").count() == stops + 1
        assert page.locator("#map g.stop").count() == stops + 1
        assert card(page, first).get_attribute("data-status") == "assigned"
        page.screenshot(path=str(ARTIFACTS / "field-page-assignment.png"))

        page.locator("#banner-close").tap()
        card(page, first).locator("button.act-decline").tap()
        card(page, first).locator("textarea.reason").fill("Van broke down")
        card(page, first).locator("button.reason-send").tap()
        # A declined order is no longer the worker's: it leaves the list, without a banner about it.
        page.wait_for_selector(f"li.order[data-order-id='{first}']", state="detached", timeout=10_000)
        history = order_of(console_server, world, first)["history"]
        assert (history[-1]["to"], history[-1]["reason"]) == ("declined", "Van broke down")
        assert page.locator("#banner").is_hidden()
        assert not page.errors, page.errors
    finally:
        context.close()


def test_an_order_assigned_while_the_page_opens_shows_once_its_socket_is_up(browser, console_server, world):
    """Tests that an order assigned after the page read the worker's day but before its socket connected (its push
    reached nobody) is on the page once the socket is up: the connect reads the day again."""
    first = assigned_order(console_server, world, "Eve Opening", PORT, "Before the page opened")
    link = push_link(console_server, world, "Eve Opening")
    context, page = phone(browser, PORT)
    try:
        hold_fetch_at_load(page, f"/api/v1/field/{link['token']}/day")
        page.goto(link["url"])
        page.wait_for_function("() => window.__fetchRead === true", timeout=10_000)
        # The service worker takes over and reads the day once more (not held): the page shows it.
        page.wait_for_selector(f"li.order[data-order-id='{first}']", timeout=10_000)
        second = assigned_order(console_server, world, "Eve Opening", CASINO, "While the page opened")
        page.evaluate("() => window.__release()")  # the page goes on from its first read and connects its socket
        page.wait_for_function("() => window.outfieldField.state.socketUp", timeout=10_000)
        page.wait_for_selector(f"li.order[data-order-id='{second}']", timeout=10_000)
        assert page.locator("li.order").count() == 2
        assert not page.errors, page.errors
    finally:
        context.close()


def test_a_day_read_before_an_accept_was_synced_does_not_undo_it(browser, console_server, world):
    """Tests that a read of the day that the server answered before the worker's accept arrived, handed to the page
    after the accept was synced, does not show the order as not accepted again (with its Accept button)."""
    first = assigned_order(console_server, world, "Finn Stale", PORT, "Accepted while a read is under way")
    link = push_link(console_server, world, "Finn Stale")
    context, page = phone(browser, PORT)
    try:
        open_day(page, link["url"])
        hold_fetch(page, f"/api/v1/field/{link['token']}/day")
        second = assigned_order(console_server, world, "Finn Stale", CASINO, "Its push makes the page read the day")
        page.wait_for_function("() => window.__fetchRead === true", timeout=10_000)
        card(page, first).locator("button.act-accept").tap()
        wait_synced(page)
        # The reads asked after the accept (its own, and its push's) are answered and shown; only the held one waits.
        page.wait_for_function(
            "() => { const d = window.outfieldField.days; return d.asked - d.answered === 1; }", timeout=10_000
        )
        page.wait_for_selector(f"li.order[data-order-id='{second}']", timeout=5_000)
        assert card(page, first).get_attribute("data-status") == "accepted"
        page.evaluate("() => window.__release()")
        page.wait_for_function(
            "() => { const d = window.outfieldField.days; return d.asked === d.answered; }", timeout=10_000
        )
        assert card(page, first).get_attribute("data-status") == "accepted"
        assert card(page, first).locator("button.act-accept").count() == 0
        assert order_of(console_server, world, first)["status"] == "accepted"
        assert not page.errors, page.errors
    finally:
        context.close()


def test_a_photo_sent_while_an_older_read_of_the_day_is_under_way_stays_counted(browser, console_server, world):
    """Tests that a photo sent while a read of the day is under way (read on the server before the photo arrived,
    handed to the page after the read its push asked for) is still counted on the card: "1 photo sent", not none."""
    order_id = assigned_order(console_server, world, "Gus Photo", PORT, "On site, taking a photo")
    link = push_link(console_server, world, "Gus Photo")
    at = datetime.now(UTC).isoformat()
    steps = [{"client_action_id": f"gus-{a}", "order_id": order_id, "action": a, "at": at,
              **({"location": {"lat": PORT["latitude"], "lon": PORT["longitude"], "accuracy_m": 8, "at": at}}
                 if a == "check_in" else {})}
             for a in ("accept", "en_route", "check_in")]  # fmt: skip
    r = requests.post(f"{console_server.url}/api/v1/field/{link['token']}/actions", json={"actions": steps}, timeout=10)
    assert [x["status"] for x in r.json()["results"]] == ["applied"] * 3, r.text
    context, page = phone(browser, PORT)
    try:
        open_day(page, link["url"])
        page.wait_for_selector(f"li.order[data-order-id='{order_id}'][data-status='on_site']", timeout=10_000)
        hold_fetch(page, f"/api/v1/field/{link['token']}/day")
        assigned_order(console_server, world, "Gus Photo", CASINO, "Its push makes the page read the day")
        page.wait_for_function("() => window.__fetchRead === true", timeout=10_000)
        card(page, order_id).locator(".photo-input").set_input_files(
            {"name": "meter.jpg", "mimeType": "image/jpeg", "buffer": small_jpeg()}
        )
        photo_state = card(page, order_id).locator(".photo-state")
        page.wait_for_function(  # sent: the queue holds it no more
            "(id) => document.querySelector(`li.order[data-order-id='${id}'] .photo-state`).textContent === '1 photo sent'",
            arg=order_id,
            timeout=10_000,
        )
        # The read the photo's push asked for is answered and shown; only the held one waits.
        page.wait_for_function(
            "() => { const d = window.outfieldField.days; return d.asked - d.answered === 1; }", timeout=10_000
        )
        page.evaluate("() => window.__release()")
        page.wait_for_function(
            "() => { const d = window.outfieldField.days; return d.asked === d.answered; }", timeout=10_000
        )
        assert photo_state.inner_text() == "1 photo sent"
        assert not page.errors, page.errors
    finally:
        context.close()


def test_offline_accept_is_queued_and_sent_exactly_once(browser, console_server, world):
    """Tests that an accept tapped offline waits on the phone (and survives a reload with no network, the map's
    streets too), is sent
    when the network returns with the time of the tap, and that replaying it changes nothing."""
    order_id = assigned_order(console_server, world, "Ben Offline", PORT, "Gate code 1234")
    link = push_link(console_server, world, "Ben Offline")
    context, page = phone(browser, PORT)
    sent: list[dict] = []
    page.on(
        "request",
        lambda r: sent.append(json.loads(r.post_data)) if r.method == "POST" and r.url.endswith("/actions") else None,
    )
    try:
        open_day(page, link["url"])
        context.set_offline(True)
        page.wait_for_function("() => document.querySelector('#net').textContent === 'Offline'", timeout=5_000)
        card(page, order_id).locator("button.act-accept").tap()
        page.wait_for_function("() => document.querySelector('#queue').dataset.actions === '1'", timeout=5_000)
        assert page.locator("#queue").inner_text() == "1 action waiting to sync"
        assert card(page, order_id).get_attribute("data-status") == "accepted"  # shown at once, still queued
        assert order_of(console_server, world, order_id)["status"] == "assigned"

        page.reload()  # no network: the service worker's cache and IndexedDB bring the day back
        page.wait_for_selector(f"li.order[data-order-id='{order_id}'][data-status='accepted']", timeout=10_000)
        page.wait_for_selector("#map polyline.map-road", state="attached", timeout=10_000)  # the streets, cached
        assert waiting(page) == 1
        assert sent == []
        page.screenshot(path=str(ARTIFACTS / "field-page-offline.png"))

        context.set_offline(False)
        wait_synced(page)
        assert page.locator("#queue").inner_text() == "Everything is synced"
        assert len(sent) == 1 and len(sent[0]["actions"]) == 1
        action = sent[0]["actions"][0]
        assert action["action"] == "accept" and re.fullmatch(r"[0-9a-f-]{36}", action["client_action_id"])

        replay = requests.post(f"{console_server.url}/api/v1/field/{link['token']}/actions", json=sent[0], timeout=10)
        assert replay.json()["results"] == [{"client_action_id": action["client_action_id"], "status": "duplicate"}]
        history = order_of(console_server, world, order_id)["history"]
        accepted = [h for h in history if h["to"] == "accepted"]
        assert len(accepted) == 1
        tapped = datetime.fromisoformat(action["at"].replace("Z", "+00:00"))
        assert datetime.fromisoformat(accepted[0]["at"]) == tapped  # the server keeps the phone's time
        assert not [e for e in page.errors if "ERR_INTERNET_DISCONNECTED" not in e], page.errors
    finally:
        context.close()


def test_position_sharing_is_off_until_the_worker_switches_it_on(browser, console_server, world):
    """Tests that the page sends no position until the worker agrees on its consent screen and turns the switch
    on, then sends the phone's fix (stored as the worker's position), stops when switched off, and after the
    worker withdraws consent the switch cannot be turned on and the console reads "withdrawn"."""
    link = push_link(console_server, world, "Dan Sharing")
    worker_id = world["workers"]["Dan Sharing"]
    context, page = phone(browser, PORT)
    page.add_init_script(COUNT_GEOLOCATION_WATCHES)
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.url) if r.url.endswith("/positions") else None)
    positions_url = f"{console_server.url}/api/v1/workers/{worker_id}/positions"
    try:
        page.goto(link["url"])
        page.wait_for_function(
            "() => document.querySelector('#empty')?.textContent === 'No orders for today.'", timeout=10_000
        )
        page.wait_for_function("() => window.outfieldField.state.socketUp", timeout=10_000)
        # The page has started (its socket is up) and never asked the phone to follow its position: nothing to send.
        assert page.evaluate("() => [window.outfieldField.state.sharing, window.geolocationWatches]") == [False, 0]
        assert posted == []
        assert requests.get(positions_url, headers=world["admin"], timeout=5).json() == []

        assert page.locator("#share-position").is_disabled()  # a consent screen comes first
        page.locator("#consent-give").click()
        page.wait_for_function("() => !document.querySelector('#share-position').disabled", timeout=10_000)
        page.locator("#share-position").check()
        page.wait_for_function(
            "() => document.querySelector('#share-state').textContent.includes('1 of 1 position accepted')",
            timeout=10_000,
        )
        (stored,) = requests.get(positions_url, headers=world["admin"], timeout=5).json()
        assert (stored["latitude"], stored["longitude"]) == (PORT["latitude"], PORT["longitude"])
        page.locator("#share-position").uncheck()
        assert page.locator("#share-state").inner_text() == "Not sharing your position."
        assert len(posted) == 1
        assert page.evaluate("() => window.geolocationWatches") == 1
        page.locator("#consent-withdraw").click()  # withdrawn: the switch is off and stays off
        page.wait_for_function(
            "() => document.querySelector('#consent-state').textContent.includes('withdrew')", timeout=10_000
        )
        assert page.locator("#share-position").is_disabled()
        consent = requests.get(positions_url.replace("/positions", "/consent"), headers=world["admin"], timeout=5)
        assert consent.json()["state"] == "withdrawn"
    finally:
        context.close()


def test_a_tampered_link_is_refused_with_the_reason(browser, console_server, world):
    """Tests that a link whose signature was altered gets 401 and the page says the link is not one we issued."""
    link = push_link(console_server, world, "Cleo Revoked")
    token = link["token"]
    tampered = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    context, page = phone(browser, CASINO)
    try:
        response = page.goto(f"{console_server.url}/field/{tampered}")
        assert response.status == 401
        page.get_by_text("the link is not one we issued").first.wait_for(timeout=10_000)
    finally:
        context.close()


def test_a_revoked_link_shows_the_reason_and_forgets_the_day(browser, console_server, world):
    """Tests that after the dispatcher revokes a worker's links, reopening the page shows why it is refused
    and no longer shows the day's orders."""
    order_id = assigned_order(console_server, world, "Cleo Revoked", CASINO, "Customer's private notes")
    link = push_link(console_server, world, "Cleo Revoked")
    context, page = phone(browser, CASINO)
    try:
        open_day(page, link["url"])
        assert card(page, order_id).count() == 1
        r = requests.post(
            f"{console_server.url}/api/v1/workers/{world['workers']['Cleo Revoked']}/push-link/revoke",
            headers=world["admin"],
            timeout=10,
        )
        assert r.status_code == 200, r.text
        page.reload()
        page.wait_for_selector("#link-refused:not([hidden])", timeout=10_000)
        reason = page.locator("#link-refused-reason").inner_text()
        assert reason == f"this link for worker {world['workers']['Cleo Revoked']} has been revoked"
        assert page.locator("#app").is_hidden()
        assert "Customer's private notes" not in page.locator("body").inner_text()
        page.screenshot(path=str(ARTIFACTS / "field-page-revoked.png"))
    finally:
        context.close()
