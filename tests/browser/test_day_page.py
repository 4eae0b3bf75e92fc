"""A worker's day on the map (/day/) in a real headless chromium: the plan-versus-actual table and the playback."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from data.db import make_engine, make_sessionmaker, session_scope
from tests.support.browser import choose_option, login
from tests.support.field_day import seed_field_day

pytestmark = [pytest.mark.browser, pytest.mark.integration]
T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
MARKER = "path.day-marker"


@pytest.fixture(scope="module")
def seeded(console_server):
    sessions = make_sessionmaker(make_engine(console_server.env["DATABASE_URL"]))
    with session_scope(sessions) as session:
        return seed_field_day(session, t0=T0)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()


def test_a_dispatcher_replays_a_seeded_day_against_its_plan(page, console_server, seeded):
    """Tests that the seeded day opens on /day/ for its worker and date: the table shows visit A on time, B late
    (14 min after its window, 24 min behind plan) and C missed; the map draws the planned route, the four stops
    and three trips; at ×60 the playback moves the marker along the track and its clock runs, stops at the end of
    the track and starts over from the first fix."""
    login(page, console_server, path=f"/day/?worker={seeded.worker_id}&date=2025-03-03", ready="#day-play")
    page.wait_for_selector("tr.pva-late", timeout=15_000)
    late = page.locator("tr.pva-late").inner_text()
    assert "Site B" in late and "14 min after the window" in late and "24 min behind plan" in late
    assert "geofence" in late
    missed = page.locator("tr.pva-missed").inner_text()
    assert "Site C" in missed and "missed" in missed
    assert "check-in" in page.locator("tr.pva-on_time").inner_text()
    summary = page.locator(".pva-summary").inner_text()
    assert "3.2 km planned" in summary and "2.5 km driven" in summary
    assert page.locator("path.day-plan").count() == 1
    assert page.locator("path.day-stop").count() == 4
    assert page.locator("path.day-stop-unplanned").count() == 2
    assert page.locator("path.day-trip").count() == 3
    # The map is brought to the day (it opens on Monaco's centre at zoom 14): the planned route (2 km east, 1 km
    # north) then fills most of the map's width; before, it stayed a small shape in a corner, or out of view.
    fills = """() => {
        const map = document.querySelector('#day-map').getBoundingClientRect();
        const plan = document.querySelector('path.day-plan').getBoundingClientRect();
        return plan.width > 0.6 * (map.width - 48) || plan.height > 0.6 * (map.height - 48);
    }"""
    page.wait_for_function(fills, timeout=10_000)
    assert page.locator("a.day-gpx").get_attribute("href").startswith(f"/api/v1/workers/{seeded.worker_id}/track.gpx?")
    assert page.locator("a.day-geojson").count() == 1

    page.wait_for_function(f"() => document.querySelector('{MARKER}')?.getAttribute('d')", timeout=10_000)
    assert page.locator("#day-clock").inner_text() == "08:00:00 UTC"
    start = page.locator(MARKER).get_attribute("d")
    page.locator(".day-speed").click()
    page.get_by_text("×60", exact=True).click()
    page.click("#day-play")
    page.wait_for_function(
        f"(d) => document.querySelector('{MARKER}').getAttribute('d') !== d", arg=start, timeout=15_000
    )
    page.wait_for_function("() => document.querySelector('#day-clock').textContent > '08:01:00 UTC'", timeout=15_000)
    assert page.locator(MARKER).get_attribute("fill-opacity") == "1"  # shown once there is a track
    # Jumping to the end stops the playback there; Play then starts over from the first fix.
    page.locator(".day-slider [role=slider]").focus()
    page.keyboard.press("End")
    page.wait_for_function("() => document.querySelector('#day-play').textContent === 'Play'", timeout=5_000)
    assert page.locator("#day-clock").inner_text() == "09:31:00 UTC"
    page.click("#day-play")
    page.wait_for_function("() => document.querySelector('#day-clock').textContent < '08:05:00 UTC'", timeout=5_000)
    assert page.locator("#day-play").inner_text() == "Pause"
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_wall_maps_worker_card_opens_the_workers_day(page, console_server, seeded):
    """Tests that on the live map, a worker's card links to /day/, which opens with that worker picked."""
    login(page, console_server)
    page.fill("#worker-search", "Day Ana")
    page.wait_for_function("() => document.querySelectorAll('.worker-row').length === 1")
    page.click(".worker-row")
    page.wait_for_selector("#worker-card a.card-day-link", timeout=5_000)
    page.click("#worker-card a.card-day-link")
    page.wait_for_url(f"**/day/?worker={seeded.worker_id}", timeout=10_000)
    page.wait_for_function(
        "() => document.querySelector('.day-worker')?.textContent.includes('Day Ana')", timeout=10_000
    )
    page.wait_for_selector(".day-noplan", timeout=10_000)  # today: nothing published for this worker


def test_site_names_typed_as_html_are_shown_as_text(page, console_server, seeded):
    """Tests that a day whose sites are named like HTML shows the names literally in the table and in a map
    tooltip, and that no element is made from them."""
    hostile = '<img src=x onerror="window.pwned=1">'
    sessions = make_sessionmaker(make_engine(console_server.env["DATABASE_URL"]))
    with session_scope(sessions) as session:
        other = seed_field_day(session, t0=T0, name="Hostile Day", device_id="day-hostile", site_prefix=hostile)
    login(page, console_server, path=f"/day/?worker={other.worker_id}&date=2025-03-03", ready="#day-play")
    page.wait_for_selector("tr.pva-late", timeout=15_000)
    assert f"{hostile}B" in page.locator("tr.pva-late").inner_text()
    # The site's marker lies under the stop there, so the pointer cannot reach it: Leaflet is told of the hover.
    page.locator("path.day-site-late").dispatch_event("mouseover")
    page.wait_for_selector(".leaflet-tooltip", timeout=5_000)
    assert f"{hostile}B" in page.locator(".leaflet-tooltip").inner_text()
    assert page.evaluate("() => document.querySelectorAll('img[src=x]').length === 0 && !window.pwned")


def test_switching_the_language_keeps_the_worker_and_day_the_address_names(page, console_server, seeded):
    """Tests that on /day/?worker=…&date=… the 中文 switch brings the reader back to the same worker and day, in
    Chinese; before, it went back to /day/ without the query and the reader had to pick the worker again."""
    address = f"/day/?worker={seeded.worker_id}&date=2025-03-03"
    picked = "() => document.querySelector('.day-worker')?.textContent.includes('Day Ana')"
    login(page, console_server, path=address, ready="#day-play")
    page.wait_for_function(picked, timeout=10_000)
    page.click(".lang-switch button[value=zh_CN]")
    try:
        page.wait_for_selector("#day-play:has-text('播放')", timeout=15_000)
        assert page.url.endswith(address), page.url
        page.wait_for_function(picked, timeout=10_000)
        page.click("#day-play")  # the playback's button in Chinese too (day.js wrote "Pause" and "Play")
        page.wait_for_selector("#day-play:has-text('暂停')", timeout=5_000)
        page.click("#day-play")
        page.wait_for_selector("#day-play:has-text('播放')", timeout=5_000)
    finally:
        page.click(".lang-switch button[value=en]")
    page.wait_for_selector("#day-play:has-text('Play')", timeout=15_000)
    assert page.url.endswith(address), page.url


def test_the_address_follows_the_worker_picked_so_a_reload_comes_back_to_them(page, console_server, seeded):
    """Tests that picking a worker on /day/ writes them and the day into the address, so a reload (or the language
    switch) opens the same worker and day; before, the address stayed /day/ and a reload lost the pick."""
    login(page, console_server, path="/day/", ready="#day-play")
    choose_option(page, page.locator("#day-worker"), "Day Ana")
    page.wait_for_function("(id) => location.search.includes('worker=' + id)", arg=seeded.worker_id, timeout=10_000)
    assert "date=" in page.url
    page.reload()
    page.wait_for_function(
        "() => document.querySelector('.day-worker')?.textContent.includes('Day Ana')", timeout=10_000
    )
