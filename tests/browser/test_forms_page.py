"""Forms without code, in real headless chromium: a manager defines a form with a required choice, the
worker's phone page shows it and submits, the manager returns it with a note, the worker sees the note and
resubmits, the manager approves; the order's report history has each step."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.browser.test_field_page import PHONE, card, wait_synced
from tests.support.browser import choose_option, login

pytestmark = [pytest.mark.browser, pytest.mark.integration]

SITES = """external_ref,name,address,latitude,longitude,geofence_radius_m,category
g:casino,Casino de Monte-Carlo,Place du Casino,43.7394,7.4276,60,amenity=casino
"""
WORKERS = """name,device_id,skills,team,home_lat,home_lon,shift_days,shift_start,shift_end
Gil Forms,g-gil,gas,Centre,43.7390,7.4270,Mon-Sun,00:00,24:00
"""
NOTE = "Meter is <b>not</b> worn: look again"


@pytest.fixture(scope="module")
def world(console_server, tmp_path_factory):
    d = tmp_path_factory.mktemp("forms-csv")
    (d / "sites.csv").write_text(SITES)
    (d / "workers.csv").write_text(WORKERS)
    console_server.cli("data", "import-csv", "sites", str(d / "sites.csv"))
    console_server.cli("data", "import-csv", "workers", str(d / "workers.csv"))
    console_server.cli("data", "create-user", "--role", "manager", "--name", "Mia", "--password", "manager-pw-2")
    admin = {"Authorization": f"Bearer {console_server.admin_token}"}
    (worker,) = requests.get(f"{console_server.url}/api/v1/workers", headers=admin, timeout=5).json()
    return {"url": console_server.url, "admin": admin, "worker_id": worker["id"]}


def inspection_on_site(world) -> tuple[int, str]:
    """An inspection assigned to the worker, who is on site; (order id, push-link token)."""
    now = datetime.now(UTC)
    body = {"site_id": 1, "type": "inspection", "required_skills": ["gas"], "service_minutes": 30,
            "window_start": (now - timedelta(minutes=30)).isoformat(), "window_end": (now + timedelta(hours=4)).isoformat()}  # fmt: skip
    order_id = requests.post(
        f"{world['url']}/api/v1/work-orders", json=body, headers=world["admin"], timeout=10
    ).json()["id"]
    r = requests.post(f"{world['url']}/api/v1/work-orders/{order_id}/assign",
                      json={"worker_id": world["worker_id"], "reason": "browser test"}, headers=world["admin"], timeout=10)  # fmt: skip
    assert r.status_code == 200, r.text
    token = requests.post(
        f"{world['url']}/api/v1/workers/{world['worker_id']}/push-link", json={}, headers=world["admin"], timeout=5
    ).json()["token"]
    steps = [
        {"client_action_id": str(uuid.uuid4()), "order_id": order_id, "action": kind,
         "at": (now - timedelta(minutes=m)).isoformat(), "location": {"lat": 43.7394, "lon": 7.4276, "accuracy_m": 8}}
        for kind, m in (("accept", 6), ("en_route", 5), ("check_in", 4))
    ]  # fmt: skip
    r = requests.post(f"{world['url']}/api/v1/field/{token}/actions", json={"actions": steps}, timeout=10)
    assert [x["status"] for x in r.json()["results"]] == ["applied"] * 3, r.text
    return order_id, token


def text_input(row, class_name: str):
    """The text box of a dcc.Input with `class_name` (on the input, or on Dash's wrapper around it)."""
    return row.locator(f"input.{class_name}, .{class_name} input").first


def pick(page, dropdown, text: str) -> None:
    choose_option(page, dropdown, text, exact=True, timeout_ms=5_000)


def test_a_manager_defines_a_form_the_worker_fills_it_and_the_manager_returns_then_approves(
    browser, console_server, world
):
    """Tests that a manager adds a required choice field on /forms/ (and removes and moves fields), the phone page
    refuses the report without it and sends it with it, the manager returns it with a note the worker sees as text,
    the worker's resubmission waits again, the manager approves, and the order's report history lists each step."""
    order_id, token = inspection_on_site(world)
    office = browser.new_context(viewport={"width": 1400, "height": 1000})
    phone_context = browser.new_context(**PHONE)
    try:
        manager = office.new_page()
        errors: list[str] = []
        manager.on("pageerror", lambda e: errors.append(str(e)))
        login(manager, console_server, name="Mia", password="manager-pw-2", path="/forms/", ready="#forms-row-0")
        pick(manager, manager.locator("#forms-type"), "inspection")
        manager.wait_for_function(
            "() => document.querySelector('#forms-row-0 .ff-label input, #forms-row-0 input.ff-label').value === 'Safety check passed'",
            timeout=10_000,
        )
        assert "Version 1 (current): Inspection checklist · 3 fields" in manager.locator("#forms-versions").inner_text()
        manager.click("#forms-add")
        row = manager.locator("#forms-row-3")
        row.wait_for(timeout=10_000)
        text_input(row, "ff-label").fill("Meter condition")
        pick(manager, row.locator(".ff-type"), "choice")
        row.locator(".ff-required input[type=checkbox]").check()
        text_input(row, "ff-choices").fill("good, worn, broken")
        manager.locator("#forms-row-2 .ff-remove").click()  # "Photos of the installation taken" goes
        manager.wait_for_function("() => !document.querySelector('#forms-row-3')", timeout=10_000)
        manager.locator("#forms-row-2 .ff-up").click()  # the new question moves up, above "Meter read"
        manager.wait_for_function(
            "() => document.querySelector('#forms-row-1 .ff-label input, #forms-row-1 input.ff-label').value === 'Meter condition'",
            timeout=10_000,
        )
        manager.fill("#forms-name", "Meter inspection")
        manager.locator("#forms-approval input[type=checkbox]").check()
        manager.click("#forms-save")
        manager.wait_for_selector(
            ".forms-message:has-text('Saved Meter inspection as version 2 of the inspection form.')", timeout=10_000
        )
        manager.wait_for_selector(
            "#forms-versions:has-text('Version 2 (current): Meter inspection · 3 fields · needs approval')"
        )

        phone = phone_context.new_page()
        phone.on("pageerror", lambda e: errors.append(str(e)))
        phone.goto(f"{console_server.url}/field/{token}")
        phone.wait_for_selector(f"li.order[data-order-id='{order_id}'][data-status='on_site']", timeout=15_000)
        order = card(phone, order_id)
        labels = order.locator(".form-fields .form-field").all_inner_texts()
        assert [t.split("\n")[0].strip() for t in labels][:1] == ["Safety check passed"]
        condition = order.locator(".form-field[data-field-id='meter_condition']")
        assert "Meter condition (required)" in condition.inner_text()
        order.locator(".save-report").tap()  # the required choice is missing: nothing is queued
        condition.locator(".ff-error:text-is('Required')").wait_for(timeout=5_000)
        assert int(phone.locator("#queue").get_attribute("data-actions")) == 0
        condition.locator("select").select_option("worn")
        order.locator(".form-field[data-field-id='safety_check_passed'] input").check()
        order.locator(".save-report").tap()
        wait_synced(phone)
        order.locator(".report-state:has-text('waiting for approval')").wait_for(timeout=10_000)

        manager.reload()
        item = manager.locator(f"#approval-{order_id}")
        item.wait_for(timeout=15_000)
        text = item.inner_text()
        assert f"Order #{order_id} · Casino de Monte-Carlo · Gil Forms" in text
        assert "Meter inspection (version 2)" in text and "Meter condition\tworn" in text
        item.locator("textarea").fill(NOTE)
        item.locator(".approval-return").click()
        manager.wait_for_selector(
            f".forms-queue-message:has-text('Order #{order_id}: report returned.')", timeout=10_000
        )
        manager.wait_for_selector(f"#approval-{order_id}", state="detached", timeout=10_000)

        phone.reload()  # the worker opens the page again
        order = card(phone, order_id)
        returned = order.locator(".report-returned")
        returned.wait_for(state="visible", timeout=15_000)
        assert returned.inner_text() == f"Returned by the office: {NOTE}"  # the note as text, markup and all
        order.locator(".form-field[data-field-id='meter_condition'] select").select_option("broken")
        order.locator(".save-report").tap()  # a new queued action with its own id
        wait_synced(phone)
        order.locator(".report-state:has-text('waiting for approval')").wait_for(timeout=10_000)
        assert order.locator(".report-returned").is_hidden()

        manager.reload()
        item = manager.locator(f"#approval-{order_id}")
        item.wait_for(timeout=15_000)
        assert "Meter condition\tbroken" in item.inner_text()
        steps = item.locator(".report-step").all_inner_texts()
        assert [s.split(" by ")[0] for s in steps] == ["submitted", "returned", "resubmitted"]
        assert steps[1].startswith("returned by Mia at ") and steps[1].endswith(f": {NOTE}")
        item.locator(".approval-approve").click()
        manager.wait_for_selector(
            f".forms-queue-message:has-text('Order #{order_id}: report approved.')", timeout=10_000
        )

        record = requests.get(
            f"{console_server.url}/api/v1/work-orders/{order_id}/field-record", headers=world["admin"], timeout=5
        ).json()
        assert record["report"]["status"] == "approved"
        assert record["report"]["answers"]["meter_condition"] == "broken"
        assert [(s["step"], s["by"]) for s in record["report_steps"]] == [
            ("submitted", "Gil Forms"), ("returned", "Mia"), ("resubmitted", "Gil Forms"), ("approved", "Mia"),
        ]  # fmt: skip
        phone.reload()
        card(phone, order_id).locator(".report-state:has-text('Report approved by the office')").wait_for(
            timeout=15_000
        )
        assert not errors, errors
    finally:
        office.close()
        phone_context.close()
