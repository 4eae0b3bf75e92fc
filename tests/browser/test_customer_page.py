"""The customer's page: status and no position before departure, the technician and an ETA while en route,
nothing after check-out, then the survey, taken once."""

from __future__ import annotations

import re
import time as clock
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import expect

from tests.integration.test_field_api import CASINO, action, assigned_order, link, off_every_site, sync
from tests.integration.test_field_api import setup as setup  # noqa: F401 - the module's fixture
from tests.support.browser import hold_fetch

pytestmark = pytest.mark.browser
WAIT_MS = 15_000  # the page polls every 3 s


def customer_link(setup, order_id: int) -> dict:
    r = requests.post(
        f"{setup['url']}/api/v1/work-orders/{order_id}/customer-link", json={}, headers=setup["admin"], timeout=5
    )
    assert r.status_code == 201, r.text
    return r.json()


def fix(setup, device: str, lat: float, lon: float, *, ahead_s: int = 0) -> None:
    params = {"id": device, "lat": lat, "lon": lon, "timestamp": int(clock.time()) + ahead_s, "accuracy": 8}
    assert requests.get(f"{setup['url']}/osmand", params=params, timeout=5).status_code == 200


def test_the_customer_follows_the_arrival_and_rates_the_visit_once(browser, setup):
    """Tests the customer's page through a whole visit, and that a second survey answer is refused on the page."""
    order_id = assigned_order(setup, "Ana Field")
    issued = customer_link(setup, order_id)
    worker = link(setup, "Ana Field")
    page = browser.new_page()
    page.goto(issued["url"])
    expect(page.locator("#status")).to_have_text("scheduled", timeout=WAIT_MS)
    expect(page.locator("#worker")).to_have_text("Ana")
    expect(page.locator("#map")).to_be_hidden()
    expect(page.locator("#eta-line")).to_be_hidden()
    assert page.locator("#worker-marker").count() == 0

    sync(setup, worker, [action(order_id, "accept", 0.0), action(order_id, "en_route", -0.05)])
    fix(setup, "f-ana", 43.7370, 7.4240, ahead_s=5)
    expect(page.locator("#status")).to_have_text("on the way", timeout=WAIT_MS)
    expect(page.locator("#worker-marker")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#eta")).to_contain_text("min")
    # The arrival's clock time reads as the window does, on the 24-hour clock ("14:05", not "02:05 PM" beside a
    # window of "14:00–16:00" on a phone set to US English).
    expect(page.locator("#eta-at")).to_have_text(re.compile(r"^\d{2}:\d{2}$"))

    sync(setup, worker, [action(order_id, "check_in", -0.1, location={**CASINO, "accuracy_m": 8})])
    sync(setup, worker, [action(order_id, "check_out", -0.15, location={**CASINO, "accuracy_m": 8})])
    expect(page.locator("#status")).to_have_text("done", timeout=WAIT_MS)
    expect(page.locator("#map")).to_be_hidden()
    assert page.locator("#worker-marker").count() == 0
    expect(page.locator("#eta-line")).to_be_hidden()
    expect(page.locator("#survey")).to_be_visible()

    second_tab = browser.new_page()  # the same link open twice: only one answer counts
    second_tab.goto(issued["url"])
    expect(second_tab.locator("#survey")).to_be_visible(timeout=WAIT_MS)
    # Its polls stop here (the next is held), so it still shows the form when the first tab's answer is in: a poll
    # after that answer would rightly thank it instead, and leave nothing to send.
    hold_fetch(second_tab, f"/api/v1/track/{issued['token']}")
    second_tab.wait_for_function("() => window.__fetchRead === true", timeout=WAIT_MS)

    page.locator("input[name=rating][value='4']").check()
    typed = "<img src=x onerror=alert(1)> great"
    page.locator("#comment").fill(typed)
    page.locator("#send-survey").click()
    expect(page.locator("#thanks")).to_be_visible()
    expect(page.locator("#survey")).to_be_hidden()

    second_tab.locator("input[name=rating][value='1']").check()
    second_tab.locator("#send-survey").click()
    expect(second_tab.locator("#survey-result")).to_have_text("this visit has already been rated")
    r = requests.get(f"{setup['url']}/api/v1/track/{issued['token']}", timeout=5)
    assert r.json()["survey"] == {"open": False, "answered": True}
    page.close()
    second_tab.close()


def test_a_poll_answered_before_the_rating_does_not_bring_the_survey_back(browser, setup):
    """Tests that a poll the server answered while the survey was still open, handed to the page after the customer's
    rating was taken, leaves the thanks shown and the form hidden (the customer is not asked again)."""
    order_id = assigned_order(setup, "Ana Field")
    worker = link(setup, "Ana Field")
    off_every_site(setup, "Ana Field", worker)
    issued = customer_link(setup, order_id)
    sync(setup, worker, [action(order_id, "accept", 0.0), action(order_id, "en_route", -0.05),
                         action(order_id, "check_in", -0.1, location={**CASINO, "accuracy_m": 8}),
                         action(order_id, "check_out", -0.15, location={**CASINO, "accuracy_m": 8})])  # fmt: skip
    page = browser.new_page()
    page.goto(issued["url"])
    expect(page.locator("#survey")).to_be_visible(timeout=WAIT_MS)
    hold_fetch(page, f"/api/v1/track/{issued['token']}")
    page.wait_for_function("() => window.__fetchRead === true", timeout=WAIT_MS)  # a poll read: the survey is open
    shown = page.evaluate("() => window.outfieldTrack.shown")

    page.locator("input[name=rating][value='5']").check()
    page.locator("#send-survey").click()
    expect(page.locator("#thanks")).to_be_visible()
    page.evaluate("() => window.__release()")
    page.wait_for_function("(shown) => window.outfieldTrack.shown > shown", arg=shown, timeout=WAIT_MS)

    assert page.locator("#survey").is_hidden()
    assert page.locator("#thanks").is_visible()
    page.close()


def test_a_bad_link_shows_the_reason(browser, setup):
    """Tests that a link we did not issue shows its reason as text and no order."""
    page = browser.new_page()
    page.goto(f"{setup['url']}/c/not-a-link")
    expect(page.locator("#problem")).to_have_text("link: the link is not one we issued", timeout=WAIT_MS)
    expect(page.locator("#order")).to_be_hidden()
    page.close()


def test_the_customer_sees_when_the_visit_is_expected_on_their_own_clock(browser, setup):
    """Tests that the customer's page says when the visit is expected, the window's start and end on the phone's
    clock (a phone in Monaco), and no longer once the visit is done; before, it said only 'scheduled'."""
    order_id = assigned_order(setup, "Ana Field")
    issued = customer_link(setup, order_id)
    view = requests.get(f"{setup['url']}/api/v1/track/{issued['token']}", timeout=5).json()
    monaco = ZoneInfo("Europe/Monaco")
    start, end = (datetime.fromisoformat(view[k]).astimezone(monaco) for k in ("window_start", "window_end"))
    context = browser.new_context(timezone_id="Europe/Monaco")
    try:
        page = context.new_page()
        page.goto(issued["url"])
        expect(page.locator("#window")).to_contain_text(f"{start:%H:%M}", timeout=WAIT_MS)
        expect(page.locator("#window")).to_contain_text(f"{end:%H:%M}")
        expect(page.locator("#window")).to_contain_text(f"{start.day} {start:%b}")
        worker = link(setup, "Ana Field")
        sync(setup, worker, [action(order_id, "accept", 0.0), action(order_id, "en_route", -0.05)])
        sync(setup, worker, [action(order_id, "check_in", -0.1, location={**CASINO, "accuracy_m": 8})])
        sync(setup, worker, [action(order_id, "check_out", -0.15, location={**CASINO, "accuracy_m": 8})])
        expect(page.locator("#status")).to_have_text("done", timeout=WAIT_MS)
        expect(page.locator("#window-line")).to_be_hidden()
    finally:
        context.close()
