"""Text users type (worker, site and address names, notes, report text, part names, reasons) reaches every
page as text: a name that is an HTML tag with a script shows as typed and runs nothing, under the CSP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.support import plan_day
from tests.support.browser import hover_label, login
from tests.support.consent import consent_all

pytestmark = [pytest.mark.browser, pytest.mark.integration]

XSS = "<img src=x onerror=window.__xss=1>"
SITE, WORKER, NOTE = f"Site {XSS}", f"<b>Worker</b> {XSS}", f"Note {XSS}"  # Plotly reads <b> as markup
REPORT, PART, REASON = f"Report {XSS}", f"Part {XSS}", f"Reason {XSS}"
SITES = f"""external_ref,name,address,latitude,longitude,geofence_radius_m,category
x:site,{SITE},Street {XSS},43.7394,7.4276,60,amenity=casino
"""
WORKERS = f"""name,device_id,skills,team,home_lat,home_lon,shift_days,shift_start,shift_end
{WORKER},x-worker,gas,Centre,43.7310,7.4180,Mon-Sun,00:00,24:00
"""
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def world(console_server, tmp_path_factory):
    """The site and worker above; today a gas repair there, assigned, accepted, checked in and reported on,
    and a second one the worker declined; tomorrow one more at the site, planned (the plan solved)."""
    d = tmp_path_factory.mktemp("xss-csv")
    (d / "sites.csv").write_text(SITES)
    (d / "workers.csv").write_text(WORKERS)
    console_server.cli("data", "import-csv", "sites", str(d / "sites.csv"))
    console_server.cli("data", "import-csv", "workers", str(d / "workers.csv"))
    admin = {"Authorization": f"Bearer {console_server.admin_token}"}
    url = console_server.url
    worker_id = consent_all(requests.get, requests.post, admin, url=url)[0]["id"]
    now = datetime.now(UTC)
    ping = {"id": "x-worker", "lat": 43.7310, "lon": 7.4180, "timestamp": now.isoformat()}
    assert requests.get(f"{url}/osmand", params=ping, timeout=5).status_code == 200

    def order(start: datetime, end: datetime, assign: bool) -> int:
        body = {"site_id": 1, "type": "repair", "priority": 2, "required_skills": ["gas"], "notes": NOTE,
                "window_start": start.isoformat(), "window_end": end.isoformat(), "service_minutes": 30}  # fmt: skip
        r = requests.post(f"{url}/api/v1/work-orders", json=body, headers=admin, timeout=10)
        assert r.status_code == 201, r.text
        order_id = int(r.json()["id"])
        if assign:
            r = requests.post(f"{url}/api/v1/work-orders/{order_id}/assign", headers=admin, timeout=10,
                              json={"worker_id": worker_id, "reason": REASON})  # fmt: skip
            assert r.status_code == 200, r.text
        return order_id

    today, declined = (order(now - timedelta(minutes=30), now + timedelta(hours=4), True) for _ in range(2))
    link = requests.post(f"{url}/api/v1/workers/{worker_id}/push-link", json={}, headers=admin, timeout=10).json()
    fix = {"lat": 43.7394, "lon": 7.4276, "accuracy_m": 10}
    report = {"text": REPORT, "checklist": {}, "parts": [{"name": PART, "quantity": 1}], "signed_by": WORKER}
    steps = [(today, "accept", {}), (today, "en_route", {}), (today, "check_in", {}), (today, "report", {"report": report}),
             (declined, "decline", {"reason": REASON})]  # fmt: skip
    actions = [{"client_action_id": uuid.uuid4().hex, "action": action, "order_id": order_id,
                "at": datetime.now(UTC).isoformat(), "location": fix, **extra}
               for order_id, action, extra in steps]  # fmt: skip
    r = requests.post(f"{url}/api/v1/field/{link['token']}/actions", json={"actions": actions}, timeout=10)
    assert [a["status"] for a in r.json()["results"]] == ["applied"] * 5, r.text

    midnight = datetime.combine((now + timedelta(days=1)).date(), datetime.min.time(), UTC)
    planned = order(midnight + timedelta(hours=9), midnight + timedelta(hours=12), False)
    r = requests.post(f"{url}/api/v1/plans", headers=admin, timeout=10,
                      json={"date": midnight.date().isoformat(), "order_ids": [planned], "seconds": 1})  # fmt: skip
    assert r.status_code == 202, r.text
    plan = plan_day.wait_for(console_server, admin, r.json()["id"], {"done"})
    return {"worker_id": worker_id, "today": today, "token": link["token"], "plan": plan, "day": midnight.date()}


@pytest.fixture
def page(browser, console_server):
    context = browser.new_context(viewport={"width": 1600, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.problems = problems  # type: ignore[attr-defined]
    yield page
    context.close()


def assert_nothing_ran(page) -> None:
    assert page.evaluate("() => typeof window.__xss") == "undefined"
    assert page.locator("img[src=x]").count() == 0
    assert not page.problems, page.problems


def test_the_live_map_and_the_order_card_show_typed_html_as_text(page, console_server, world):
    """Tests that on the wall screen the worker's tooltip and list entry, the order's and the site's tooltips,
    and the order card (site, notes, report text, part name) show the typed tag literally, and no
    script runs."""
    login(page, console_server)
    marker = f"path.worker-marker.worker-{world['worker_id']}"
    page.wait_for_selector(marker, timeout=10_000)
    hover_label(page, marker, WORKER, label=".worker-label")
    assert WORKER in page.locator("#worker-list").inner_text()
    hover_label(page, f"path.order-marker.order-id-{world['today']}", lambda t: SITE in t, label=".order-label")

    page.click("#tab-orders")
    page.click(f".order-row:has-text('#{world['today']} repair')")
    page.wait_for_selector("#order-field .report-signed", timeout=10_000)
    page.wait_for_selector("#order-card dl", timeout=10_000)  # the card is drawn by its own answer, maybe later
    card = page.locator("#order-detail").inner_text()
    for text in (SITE, NOTE, REPORT, PART):
        assert text in card, (text, card)
    # The worker's name as live.js draws the card's lists (a candidate's or an excluded worker's row), as text.
    assert WORKER in page.locator("#order-card .cand-name, #order-excluded .ex-name").all_text_contents()

    page.click("#tab-new-order")
    page.wait_for_selector("path.site-marker", timeout=10_000)
    hover_label(page, "path.site-marker", SITE)
    assert_nothing_ran(page)


def test_the_field_page_shows_typed_html_as_text(browser, console_server, world):
    """Tests that the worker's push-link page shows the site, its address and the notes as typed, and no script runs."""
    context = browser.new_context(**PHONE)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.problems = problems  # type: ignore[attr-defined]
    try:
        page.goto(f"{console_server.url}/field/{world['token']}")
        page.wait_for_selector(".site-name", timeout=10_000)
        assert page.locator("#worker-name").inner_text() == WORKER
        assert SITE in page.locator(".site-name").all_inner_texts()
        assert f"Street {XSS}" in page.locator(".address").all_inner_texts()
        assert NOTE in page.locator(".notes").all_inner_texts()
        assert_nothing_ran(page)
    finally:
        context.close()


def test_the_plans_page_shows_typed_html_as_text(page, console_server, world):
    """Tests that on /plans/ a stop's tooltip and the Gantt chart name the worker and the site as typed, and no
    script runs."""
    login(page, console_server, path="/plans/", ready="#plan-start")
    pick = page.locator("#plan-date")
    pick.fill(world["day"].isoformat())
    pick.press("Enter")
    page.keyboard.press("Escape")
    page.click("#plan-picker")
    page.click(f".dash-dropdown-option:has-text('Plan {world['plan']['id']} ')", timeout=5_000)
    page.keyboard.press("Escape")
    page.wait_for_selector(".plan-stop", timeout=10_000)
    hover_label(page, ".plan-stop", lambda t: WORKER in t and SITE in t)
    page.wait_for_selector("#plan-gantt .bars path", state="attached", timeout=10_000)
    assert WORKER in page.locator("#plan-gantt").inner_text()
    assert_nothing_ran(page)
