"""The managers' history and reports page in a real headless chromium: find an order, open its record,
chart a report, drill into a bar and download the CSV."""

from __future__ import annotations

import csv
import io
import re

import pytest

from data.db import make_engine, make_sessionmaker, session_scope
from tests.support.browser import choose_option, login
from tests.support.report_week import seed_week

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture(scope="module")
def week(console_server):
    sessions = make_sessionmaker(make_engine(console_server.env["DATABASE_URL"]))
    with session_scope(sessions) as session:
        seeded = seed_week(session)
    console_server.cli("data", "create-user", "--role", "manager", "--name", "m2", "--password", "manager-pw-2")
    return seeded


@pytest.fixture
def page(browser, console_server):
    context = browser.new_context(viewport={"width": 1600, "height": 1200}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()


def choose(page, dropdown_id: str, text: str) -> None:
    choose_option(page, page.locator(f"#{dropdown_id}"), text)


def set_period(page, prefix: str) -> None:
    page.fill(f"#{prefix}-from", "2026-03-02")
    page.fill(f"#{prefix}-to", "2026-03-08")


def test_history_finds_an_order_and_opens_its_record_with_track(page, console_server, week):
    """Tests that a manager filtering last week's history by customer finds just the Harbour Ltd visit, and
    opening it shows the timeline with who assigned it, the verified check-in and the visit's track on the map."""
    login(page, console_server, name="m2", password="manager-pw-2", path="/reports/", ready="#hist-search")
    set_period(page, "hist")
    page.fill("#hist-customer", "harbour")
    page.click("#hist-search")
    page.wait_for_selector("#hist-count:has-text('1 order ')")
    rows = page.locator("#hist-table tbody tr")
    assert rows.count() == 1 and "W-GOOD" in rows.first.inner_text()
    # The window reads on the office's clock, named (the export keeps ISO 8601): before, '2026-03-03T09:00:00+00:00'.
    window = rows.first.locator("td").nth(2).inner_text()
    assert re.fullmatch(r"\w{3} \d\d \w{3} \d\d:\d\d UTC", window), window
    rows.first.locator("button.hist-open").click()
    page.wait_for_selector("#hist-record h3:has-text('W-GOOD')")
    timeline = page.locator("#hist-record .rep-step").all_inner_texts()
    assert timeline[1].endswith("new → assigned by dora-week")
    assert all(re.match(r"\w{3} \d\d \w{3} \d\d:\d\d UTC ", step) for step in timeline), timeline
    assert "on_site" in timeline[4] and "at 43.73500, 7.42100" in timeline[4]
    assert "in: verified (12 m)" in page.inner_text("#hist-record")
    assert page.inner_text("#hist-record .rep-track-count") == "Track: 31 fixes"
    page.wait_for_selector(".rep-map path.leaflet-interactive")
    assert page.errors == []


def test_the_history_filters_show_what_is_typed_into_them(page, console_server, week):
    """Tests that each history filter is a box as wide as what goes into it: both dates show whole, and the search,
    customer and team boxes are at least 100 px wide. Dash 3 had squeezed every one of them to 18 px, so the bar
    read as labels with nothing to type into (typing still worked, unseen)."""
    login(page, console_server, name="m2", password="manager-pw-2", path="/reports/", ready="#hist-search")
    set_period(page, "hist")
    boxes = page.evaluate("""() => Object.fromEntries(['hist-from', 'hist-to', 'hist-q', 'hist-customer', 'hist-team']
      .map((id) => { const e = document.getElementById(id); return [id, [e.clientWidth, e.scrollWidth]]; }))""")
    for date_box in ("hist-from", "hist-to"):
        shown, needed = boxes[date_box]
        assert shown >= needed, f"{date_box}: {shown} px shown of the {needed} px its date needs"
    assert all(boxes[box][0] >= 100 for box in ("hist-q", "hist-customer", "hist-team")), boxes


# The south bar has kept its place between two polls (plotly redraws the chart after a figure change).
STILL_BAR = """() => {
  const bar = document.querySelectorAll('#rep-chart g.point path')[1];
  if (!bar) return false;
  const r = bar.getBoundingClientRect(), now = [r.x, r.y, r.width, r.height].join();
  const same = window.__southBar === now;
  window.__southBar = now;
  return same && r.width > 0 && r.height > 0;
}"""


def test_report_charts_drills_into_a_bar_and_downloads_csv(page, console_server, week):
    """Tests that the overview per team charts a bar per team, clicking the south bar of the anomaly rate lists
    the failed repair checked in outside its geofence, and the CSV download holds one row per team."""
    login(page, console_server, name="m2", password="manager-pw-2", path="/reports/", ready="#hist-search")
    page.click("#rep-tabs .tab:has-text('Reports')")
    page.wait_for_selector("#rep-show")
    set_period(page, "rep")
    page.click("#rep-show")
    page.wait_for_selector("#rep-table tbody tr")
    bars = page.locator("#rep-chart g.point path")
    page.wait_for_function(
        "() => document.querySelectorAll('#rep-chart g.point path').length === 2"
    )  # a function: a bare expression is eval'd in the page, which its CSP forbids
    assert page.locator("#rep-table tbody tr").all_inner_texts()[1].startswith("team\tsouth\tsouth\t1\t0")
    choose(page, "rep-figure", "anomaly rate")
    page.wait_for_selector("#rep-chart .gtitle:has-text('anomaly rate')")
    page.wait_for_function(STILL_BAR, polling=100)  # plotly has finished redrawing: the bar is where we click
    box = bars.nth(1).bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("#rep-drill h4")
    assert page.inner_text("#rep-drill h4") == "south: 1 orders that went wrong for anomaly rate"
    assert "W-FAIL" in page.inner_text("#rep-drill table")
    with page.expect_download() as download:
        page.click("a.rep-csv")
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert [(r["key"], r["orders"], r["visits_done"]) for r in rows] == [("north", "2", "2"), ("south", "1", "0")]
    assert download.value.suggested_filename == "overview-team-2026-03-02-2026-03-08.csv"
    assert page.errors == []


def test_the_header_keeps_its_links_and_the_switch_together_at_the_right(page, console_server, week):
    """Tests that the reports page's header has its route-plans and live-map links and the language switch side by
    side at the right, as the day page has them; before, the live map's link stood alone in the header's middle."""
    login(page, console_server, name="m2", password="manager-pw-2", path="/reports/", ready="#hist-search")
    lefts = page.evaluate("""() => ["a[href='/plans/']", "a[href='/']", '.lang-switch'].map(
      (s) => document.querySelector('.plans-head ' + s).getBoundingClientRect().left)""")
    width = page.viewport_size["width"]
    assert lefts == sorted(lefts) and lefts[0] > 0.75 * width, lefts
