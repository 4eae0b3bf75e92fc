"""The order card's long lists in a real headless chromium: with more workers than the card lists at first, each list's
'Show all' button unfolds it, whether or not the other list has one (each button is drawn only when its list is long)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import requests
from playwright.sync_api import expect

from console import i18n
from tests.support.browser import login, watched_page

pytestmark = [pytest.mark.browser, pytest.mark.integration]

GASMEN = 22  # more than the card's first rows (console.pages.orders.detail.CARD_ROWS, 20)
SITES = """external_ref,name,address,latitude,longitude,geofence_radius_m,category
t:casino,Casino de Monte-Carlo,Place du Casino,43.7394,7.4276,60,amenity=casino
"""
WORKERS = "name,device_id,skills,team,home_lat,home_lon,shift_days,shift_start,shift_end\n" + "".join(
    f"Gas {n:02d},g-{n},gas,Centre,{43.7300 + n * 0.0004:.4f},7.4200,Mon-Sun,00:00,24:00\n" for n in range(GASMEN)
)


@pytest.fixture(scope="module")
def world(console_server, tmp_path_factory):
    console_server.import_csv(tmp_path_factory.mktemp("csv"), sites=SITES, workers=WORKERS)
    return console_server


def new_order(server, skill: str) -> int:
    day = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    body = {
        "site_id": 1, "type": "repair", "priority": 2, "required_skills": [skill],
        "window_start": f"{day}T09:00:00Z", "window_end": f"{day}T11:00:00Z", "service_minutes": 45, "notes": "",
    }  # fmt: skip
    r = requests.post(f"{server.url}/api/v1/work-orders", json=body, timeout=10,
                      headers={"Authorization": f"Bearer {server.admin_token}"})  # fmt: skip
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


@pytest.fixture
def page(browser, world):
    yield from watched_page(browser, viewport={"width": 1600, "height": 900})


def open_order(page, order_id: int) -> None:
    page.click("#tab-orders")
    page.click(f".order-row:has-text('#{order_id} repair')")
    page.wait_for_selector("#order-card dl", timeout=10_000)


@contextmanager
def order_in_chinese(page, world, order_id: int) -> Iterator[None]:
    """Signed in, the console switched to Chinese and the order's card open; back to English after."""
    login(page, world)
    page.click(".lang-switch button[value=zh_CN]")
    try:
        page.wait_for_selector(".plans-nav:has-text('路线计划')", timeout=15_000)
        page.click("#tab-orders")
        page.click(f".order-row:has-text('#{order_id} {i18n.messages('zh_CN')['repair']}')")
        page.wait_for_selector("#order-card dl", timeout=10_000)
        yield
    finally:
        page.click(".lang-switch button[value=en]")


def test_show_all_unfolds_the_excluded_workers_when_nobody_can_take_the_order(page, world):
    """Tests that on an order nobody can take (a skill no worker has) the excluded list shows 20 of the 22 workers and
    'Show all 22 excluded workers' lists every one, with no error on the page (the button did nothing while the card
    had no 'Show all' for candidates: Dash failed the callback over the missing button)."""
    order_id = new_order(world, "crane")
    login(page, world)
    open_order(page, order_id)
    rows = page.locator("#order-excluded li")
    expect(rows).to_have_count(20)
    page.click("#order-excluded button.show-all:has-text('Show all 22 excluded workers')")
    expect(rows).to_have_count(GASMEN)
    expect(page.locator("#order-excluded li", has_text="no skill crane")).to_have_count(GASMEN)
    assert page.errors == []


def test_show_all_unfolds_the_candidates_when_nobody_is_excluded(page, world):
    """Tests that on an order every worker can take the card lists 20 candidates and 'Show all 22 candidates' lists
    every one with an Assign button, with no error on the page."""
    order_id = new_order(world, "gas")
    login(page, world)
    open_order(page, order_id)
    assign = page.locator("#order-card button.assign")
    expect(assign).to_have_count(20)
    page.click("#order-card button.show-all:has-text('Show all 22 candidates')")
    expect(assign).to_have_count(GASMEN)
    assert page.errors == []


def test_the_order_card_and_list_are_in_chinese_for_a_chinese_reader(page, world):
    """Tests that in Chinese the order card's labels, facts and candidates, the order's status and the list's order
    type are in Chinese (they were in English beside a translated panel: Type, visit · priority 3, nobody yet, ETA 3
    min, new)."""
    zh = i18n.messages("zh_CN")
    with order_in_chinese(page, world, new_order(world, "gas")):
        labels = page.locator("#order-card dt").all_inner_texts()
        assert labels == [zh[w] for w in ("Type", "Window", "Duration", "Skills", "Assigned")]
        facts = page.locator("#order-card dd").all_inner_texts()
        assert facts[0] == f"{zh['repair']} · " + zh["priority {n}"].format(n=2)
        assert facts[2] == zh["{n} min"].format(n=45) and facts[4] == zh["nobody yet"]
        expect(page.locator("#order-head .status-pill")).to_have_text(zh["new"])
        expect(page.locator("#order-card h3")).to_have_text(zh["Candidates"])
        first = page.locator("#order-card li.candidate").first
        expect(first).to_contain_text(zh["ETA {time}"].split("{")[0])
        assert "ETA" not in first.inner_text() and "min" not in first.inner_text()
        assert page.errors == []


def test_an_assignment_is_announced_in_chinese_from_the_first_word(page, world):
    """Tests that in Chinese the notice of an assignment is Chinese every time it is drawn: first from the click's own
    answer (live.js), then with the card (before, the first read 'Assigned to Gas 00.' in English)."""
    zh = i18n.messages("zh_CN")
    with order_in_chinese(page, world, new_order(world, "gas")):
        page.wait_for_selector("#order-card button.assign.primary", timeout=10_000)
        page.evaluate("""() => { window.__notices = [];
          new MutationObserver(() => window.__notices.push(document.querySelector('#order-message').textContent))
            .observe(document.querySelector('#order-message'), {childList: true, subtree: true, characterData: true}); }""")
        page.click("#order-card button.assign.primary")
        prefix = zh["Assigned to {name}."].split("{")[0]
        page.wait_for_function("(p) => window.__notices.some((t) => t.startsWith(p))", arg=prefix, timeout=10_000)
        notices = [t for t in page.evaluate("() => window.__notices") if t]
        assert notices and all(t.startswith(prefix) for t in notices), notices
