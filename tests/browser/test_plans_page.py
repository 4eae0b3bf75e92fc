"""The managers' route-plan review page in a real headless chromium: optimise a day and review the plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import pytest
import requests

pytestmark = [pytest.mark.browser, pytest.mark.integration]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

SITES = """external_ref,name,address,latitude,longitude,geofence_radius_m,category
pp:casino,Casino de Monte-Carlo,Place du Casino,43.7394,7.4276,60,amenity=casino
pp:port,Port Hercule,Quai Albert 1er,43.7347,7.4214,60,amenity=marina
pp:fontvieille,Fontvieille,Rue du Port,43.7290,7.4160,60,amenity=mall
"""
WORKERS = """name,device_id,skills,team,home_lat,home_lon,shift_days,shift_start,shift_end
Plan Ana,pp-ana,gas,Centre,43.7390,7.4270,Mon-Sun,07:00,19:00
Plan Bo,pp-bo,gas;hvac,South,43.7290,7.4160,Mon-Sun,07:00,19:00
"""


@pytest.fixture(scope="module")
def day(console_server, tmp_path_factory):
    d = tmp_path_factory.mktemp("plan-csv")
    (d / "sites.csv").write_text(SITES)
    (d / "workers.csv").write_text(WORKERS)
    console_server.cli("data", "import-csv", "sites", str(d / "sites.csv"))
    console_server.cli("data", "import-csv", "workers", str(d / "workers.csv"))
    headers = {"Authorization": f"Bearer {console_server.admin_token}"}
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    ids = []
    for site_id, skills in ((1, ["gas"]), (2, ["gas"]), (3, ["hvac"]), (2, ["plumbing"])):
        body = {"site_id": site_id, "type": "repair", "required_skills": skills, "service_minutes": 30,
                "window_start": datetime.combine(tomorrow, clock_time(9), UTC).isoformat(),
                "window_end": datetime.combine(tomorrow, clock_time(12), UTC).isoformat()}  # fmt: skip
        r = requests.post(f"{console_server.url}/api/v1/work-orders", json=body, headers=headers, timeout=10)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    console_server.cli("data", "create-user", "--role", "manager", "--name", "m1", "--password", "manager-pw-1")
    return {"date": tomorrow.isoformat(), "orders": ids}


@pytest.fixture
def page(browser, console_server):
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()


def login_to_plans(page, server, name="m1", password="manager-pw-1"):
    page.goto(f"{server.url}/plans")
    assert "/login" in page.url  # the plan page needs a login
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_selector("#plan-start", timeout=15_000)


def test_manager_optimises_a_day_and_reviews_the_plan(page, console_server, day):
    """Tests that a manager opens /plans, picks the day, optimises for 2 s, watches progress and sees KPIs, route polylines, the Gantt chart and the unplanned reason."""
    login_to_plans(page, console_server)
    assert page.locator("#plan-seconds").input_value() == "10"
    date_input = page.locator("#plan-date")
    date_input.fill(day["date"])
    date_input.press("Enter")
    assert date_input.input_value() == day["date"]
    page.fill("#plan-seconds", "2")
    page.click("#plan-start")

    page.wait_for_function("() => /Running|Queued/.test(document.querySelector('#plan-progress').textContent)",
                           timeout=10_000)  # fmt: skip
    assert page.locator("#plan-stop").is_enabled()
    page.wait_for_function("() => document.querySelector('#plan-progress').textContent.startsWith('Done')",
                           timeout=30_000)  # fmt: skip
    assert "best cost" in page.locator("#plan-progress").inner_text()
    page.wait_for_selector(".kpi-planned .kpi-value", timeout=10_000)
    assert page.locator(".kpi-planned .kpi-value").inner_text() == "3"
    assert page.locator(".kpi-unplanned .kpi-value").inner_text() == "1"
    assert page.locator(".kpi-on_time .kpi-value").inner_text() == "100%"
    assert page.locator(".kpi-utilisation .kpi-value").inner_text().endswith("%")
    page.wait_for_selector("path.plan-route", state="attached", timeout=10_000)
    assert page.locator("path.plan-route").count() == 2  # one per worker
    assert page.locator(".plan-stop").count() == 3
    page.wait_for_selector("#plan-gantt .bars path", state="attached", timeout=10_000)
    gantt = page.locator("#plan-gantt").inner_text()
    assert "Plan Ana" in gantt and "Plan Bo" in gantt
    unplanned = page.locator("#plan-unplanned").inner_text()
    assert f"Order {day['orders'][3]}" in unplanned and "no qualified worker" in unplanned
    assert page.locator("#plan-stop").is_disabled()
    page.wait_for_timeout(800)  # let the map fly to the routes
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "plans-page.png"), full_page=True)
    assert not page.errors, page.errors


def test_live_map_stays_at_root_for_the_manager(page, console_server, day):
    """Tests that the same manager session still gets the live wall screen at /, not the plan page."""
    login_to_plans(page, console_server)
    page.goto(f"{console_server.url}/")
    page.wait_for_selector(".wall", timeout=15_000)
    assert page.locator("#plan-start").count() == 0
