"""Attendance in the browser: the worker clocks in and enters a missed check-in on the push-link page; the
manager sees it on /attendance/ with its reason, the site and the track around that time, and approves it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import Locator, Route, expect

from tests.support.browser import hold_fetch, login
from tests.support.consent import consent_all

pytestmark = [pytest.mark.browser, pytest.mark.integration]

SITES = """external_ref,name,address,latitude,longitude,geofence_radius_m,category
a:casino,Casino de Monte-Carlo,Place du Casino,43.7394,7.4276,60,amenity=casino
"""
WORKERS = """name,device_id,skills,team,home_lat,home_lon,shift_days,shift_start,shift_end
Ana Late,a-ana,gas,Centre,43.7390,7.4270,Mon-Sun,00:00,24:00
Bo Near,a-bo,gas,Centre,43.7380,7.4260,Mon-Sun,00:00,24:00
Zed Twice,a-zed,gas,Centre,43.7370,7.4250,Mon-Sun,00:00,24:00
Yan Clock,a-yan,gas,Centre,43.7360,7.4240,Mon-Sun,00:00,24:00
"""
HOME = {"latitude": 43.7390, "longitude": 7.4270}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "timezone_id": "UTC",
    "locale": "en-GB",
}
REASON = "Phone was flat <b>at the door</b>"


def assigned_order(
    url: str, admin: dict[str, str], worker_id: int, *, now: datetime, opened_h: float, reason: str = "browser test"
) -> dict:
    """A gas repair at the Casino, its window opened `opened_h` hours before `now` and closing 4 h after, assigned to
    the worker."""
    order = requests.post(
        f"{url}/api/v1/work-orders",
        headers=admin,
        timeout=10,
        json={
            "site_id": 1,
            "type": "repair",
            "priority": 3,
            "required_skills": ["gas"],
            "service_minutes": 30,
            "window_start": (now - timedelta(hours=opened_h)).isoformat(),
            "window_end": (now + timedelta(hours=4)).isoformat(),
        },
    ).json()
    r = requests.post(
        f"{url}/api/v1/work-orders/{order['id']}/assign",
        headers=admin,
        timeout=10,
        json={"worker_id": worker_id, "reason": reason},
    )
    assert r.status_code == 200, r.text
    return order  # fmt: skip


@pytest.fixture(scope="module")
def world(console_server, tmp_path_factory):
    d = tmp_path_factory.mktemp("attendance-csv")
    (d / "sites.csv").write_text(SITES)
    (d / "workers.csv").write_text(WORKERS)
    console_server.cli("data", "import-csv", "sites", str(d / "sites.csv"))
    console_server.cli("data", "import-csv", "workers", str(d / "workers.csv"))
    console_server.cli("data", "create-user", "--role", "manager", "--name", "mia", "--password", "manager-pw")
    url, admin = console_server.url, {"Authorization": f"Bearer {console_server.admin_token}"}
    workers = {w["name"]: w for w in consent_all(requests.get, requests.post, admin, url=url)}
    worker = workers["Ana Late"]
    now = datetime.now(UTC)
    order = assigned_order(url, admin, worker["id"], now=now, opened_h=2)
    link = requests.post(f"{url}/api/v1/workers/{worker['id']}/push-link", json={}, headers=admin, timeout=10).json()
    steps = [{"client_action_id": f"pre-{a}", "order_id": order["id"], "action": a, "at": now.isoformat()}
             for a in ("accept", "en_route")]  # fmt: skip
    r = requests.post(f"{url}/api/v1/field/{link['token']}/actions", json={"actions": steps}, timeout=10)
    assert [x["status"] for x in r.json()["results"]] == ["applied", "applied"], r.text
    # The track around the missed check-in: the worker stood at the Casino.
    late = (
        now - timedelta(minutes=20)
        if (now - timedelta(minutes=20)).date() == now.date()
        else now.replace(hour=0, minute=0)
    )
    late = late.replace(second=0, microsecond=0)
    for minutes in (-4, -2, 0, 2, 4):
        at = max(late + timedelta(minutes=minutes), now.replace(hour=0, minute=0, second=0, microsecond=0))
        r = requests.get(f"{url}/osmand", timeout=5, params={
            "id": "a-ana", "lat": 43.7394 + minutes * 1e-5, "lon": 7.4276, "timestamp": int(at.timestamp()), "accuracy": 8,
        })  # fmt: skip
        assert r.status_code == 200, r.text
    return {
        "url": url,
        "admin": admin,
        "order_id": order["id"],
        "link": link["url"],
        "late": late,
        "bo": workers["Bo Near"],
        "zed": workers["Zed Twice"],
        "yan": workers["Yan Clock"],
    }


def test_a_worker_clocks_in_and_enters_a_missed_check_in_with_its_time_and_reason(browser, console_server, world):
    """Tests the field page: its shift box lines up with the other boxes; Clock in (the phone's fix at home) shows
    "Clocked in at …"; the card's "Missed a check-in or check-out?" form takes the real time and a reason; the order
    shows on site and, once synced, the late check-in "waits for your manager's approval"; the office holds one
    pending late entry with that reason."""
    context = browser.new_context(**PHONE, geolocation={**HOME, "accuracy": 10}, permissions=["geolocation"])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(world["link"])
        card = page.locator(f"li.order[data-order-id='{world['order_id']}']")
        card.wait_for(timeout=10_000)
        page.wait_for_selector("#shift:not([hidden])", timeout=10_000)
        # The shift's box lines up with the map, the sharing box, the orders and the day's report (it stood 12 px
        # further in on each side).
        edges = {
            sel: page.locator(sel).bounding_box() for sel in ("#map", ".share", "#shift", "#orders", ".day-report-box")
        }
        assert len({(round(b["x"]), round(b["x"] + b["width"])) for b in edges.values()}) == 1, edges
        page.click("#clock-in")
        page.wait_for_function("() => document.querySelector('#clock-state').textContent.startsWith('Clocked in at')",
                               timeout=10_000)  # fmt: skip
        card.locator(".late-entry summary").click()
        card.locator(".late-kind").select_option("in")
        card.locator(".late-time").fill(world["late"].strftime("%H:%M"))
        card.locator(".late-reason").fill(REASON)
        card.locator(".late-send").click()
        page.wait_for_function(
            f"""() => {{
              const c = document.querySelector("li.order[data-order-id='{world["order_id"]}']");
              return c.dataset.status === "on_site"
                && [...c.querySelectorAll('.late-list li')].some((li) => li.textContent.includes("waits for your manager's approval"));
            }}""",
            timeout=15_000,
        )
        assert card.locator(".late-list li").first.text_content() == (
            f"Late check-in at {world['late']:%H:%M} — waits for your manager's approval"
        )
        assert errors == []
    finally:
        context.close()
    queue = requests.get(f"{world['url']}/api/v1/late-entries", headers=world["admin"], timeout=5).json()
    (entry,) = queue["late_entries"]
    assert (entry["reason"], entry["kind"], entry["at"]) == (REASON, "in", world["late"].isoformat())


def test_the_manager_sees_reason_site_and_track_and_approves(browser, console_server, world):
    """Tests /attendance/: the pending late entry lists with the worker's reason as typed (markup as text); Show
    draws the site and the track around that time; Approve empties the queue and the entry counts (the office's
    list of approved entries holds it, decided by the manager)."""
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    try:
        login(page, console_server, name="mia", password="manager-pw", path="/attendance/", ready="#late-list li")
        assert REASON in page.locator("#late-list li").first.text_content()
        page.locator("#late-list li button").first.click()
        page.wait_for_selector("#late-detail:not([hidden])")
        assert page.text_content("#ld-reason") == REASON
        assert page.text_content("#ld-site") == "Casino de Monte-Carlo"
        assert page.locator("#ld-map circle.site").count() == 1
        assert page.locator("#ld-map polyline.track").count() == 1
        assert page.locator("#ld-map b").count() == 0
        page.click("#ld-approve")
        page.wait_for_selector("#late-empty:not([hidden])", timeout=10_000)
        page.wait_for_selector("#ts-table tbody tr[data-worker-id]")  # the rows, not the note of their loading
        assert page.locator("#ts-table tbody tr").first.locator("td").first.text_content() == "Ana Late"
    finally:
        context.close()
    approved = requests.get(f"{world['url']}/api/v1/late-entries?status=approved", headers=world["admin"], timeout=5)
    (entry,) = approved.json()["late_entries"]
    assert entry["decided_by"] == "mia"


def test_the_worker_near_an_accepted_orders_site_is_asked_to_check_in(browser, console_server, world):
    """Tests a reminder round (the worker process's, run here against the server's database and Redis) for Bo,
    whose accepted order is at the Casino and whose latest fix is 30 m from it: the open field page shows
    "You are at Casino de Monte-Carlo, check in?" at once (banner and the reminders list)."""
    from data.db import make_engine, make_sessionmaker
    from dispatch.clock import ManualClock
    from dispatch.reminders import ReminderSettings
    from realtime.bus import Bus
    from realtime.reminders import remind_once

    url, admin, bo = world["url"], world["admin"], world["bo"]
    now = datetime.now(UTC)
    # The round runs at a time of this UTC day when Bo's 00:00-24:00 shift is not ending (the day's report is
    # due from 23:44, before its end at midnight): now, or noon today late in the evening.
    if now.hour == 23:
        now = now.replace(hour=12, minute=0, second=0, microsecond=0)
    order = assigned_order(url, admin, bo["id"], now=now, opened_h=1)
    link = requests.post(f"{url}/api/v1/workers/{bo['id']}/push-link", json={}, headers=admin, timeout=10).json()
    accept = [{"client_action_id": "bo-accept", "order_id": order["id"], "action": "accept", "at": now.isoformat()}]
    requests.post(f"{url}/api/v1/field/{link['token']}/actions", json={"actions": accept}, timeout=10)
    fix = {"id": "a-bo", "lat": 43.7397, "lon": 7.4276, "timestamp": int(now.timestamp()), "accuracy": 8}
    assert requests.get(f"{url}/osmand", params=fix, timeout=5).status_code == 200
    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        page.goto(link["url"])
        page.wait_for_selector(f"li.order[data-order-id='{order['id']}']", timeout=10_000)
        page.wait_for_function("() => window.outfieldField.state.socketUp", timeout=10_000)
        engine = make_engine(console_server.env["DATABASE_URL"])
        try:
            sent = remind_once(
                sessions=make_sessionmaker(engine), clock=ManualClock(now), bus=Bus(console_server.env["REDIS_URL"]),
                settings=ReminderSettings(), uses_clock_in=False, worker_id=bo["id"],
            )  # fmt: skip
        finally:
            engine.dispose()
        assert [m["text"] for m in sent] == ["You are at Casino de Monte-Carlo, check in?"]
        page.wait_for_function(
            """() => document.querySelector('#banner-text').textContent === 'You are at Casino de Monte-Carlo, check in?'
                && [...document.querySelectorAll('#reminder-list li')].some(
                     (li) => li.textContent.startsWith('You are at Casino de Monte-Carlo, check in?'))""",
            timeout=10_000,
        )
    finally:
        context.close()


def test_the_entry_decided_is_the_one_shown_when_two_were_asked_for(browser, console_server, world):
    """Tests that when a manager shows one late entry, then another before the first arrived, the detail (and so its
    Reject button) is the second's even when the first's answer comes last: the first is not the one rejected."""
    url, admin, zed = world["url"], world["admin"], world["zed"]
    now = datetime.now(UTC)
    order = assigned_order(url, admin, zed["id"], now=now, opened_h=1)
    link = requests.post(f"{url}/api/v1/workers/{zed['id']}/push-link", json={}, headers=admin, timeout=10).json()
    reasons = {"in": "First: the phone was flat", "out": "Second: the app would not open"}
    late = [{"client_action_id": f"zed-{kind}", "order_id": order["id"], "action": "late_entry", "kind": kind,
             "at": (now - timedelta(minutes=3 - i)).isoformat(), "reason": reason}
            for i, (kind, reason) in enumerate(reasons.items())]  # fmt: skip
    r = requests.post(f"{url}/api/v1/field/{link['token']}/actions", json={"actions": late}, timeout=10)
    first, second = (x["late_entry_id"] for x in r.json()["results"])
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    try:
        login(page, console_server, name="mia", password="manager-pw", path="/attendance/",
              ready=f"#late-list button[data-entry-id='{second}']")  # fmt: skip
        hold_fetch(page, f"/api/v1/late-entries/{first}")
        page.click(f"#late-list button[data-entry-id='{first}']")
        page.wait_for_function("() => window.__fetchRead === true", timeout=10_000)
        page.click(f"#late-list button[data-entry-id='{second}']")
        page.wait_for_function(
            "(reason) => document.querySelector('#ld-reason').textContent === reason",
            arg=reasons["out"],
            timeout=10_000,
        )
        page.evaluate("() => window.__release()")
        page.wait_for_function("() => window.outfieldAttendance.entryAnswers >= 2", timeout=10_000)
        assert page.text_content("#ld-reason") == reasons["out"]

        page.fill("#ld-note", "Tap check-in on the phone next time")
        page.click("#ld-reject")
        page.wait_for_selector(f"#late-list button[data-entry-id='{second}']", state="detached", timeout=10_000)
        rejected = requests.get(f"{url}/api/v1/late-entries?status=rejected", headers=admin, timeout=5).json()
        pending = requests.get(f"{url}/api/v1/late-entries?status=pending", headers=admin, timeout=5).json()
        assert second in [e["id"] for e in rejected["late_entries"]]
        assert first in [e["id"] for e in pending["late_entries"]]
    finally:
        context.close()
        requests.post(f"{url}/api/v1/late-entries/{first}/decision", headers=admin, timeout=5,
                      json={"decision": "reject", "note": "test over"})  # fmt: skip


def test_a_clock_in_synced_while_an_older_attendance_read_is_under_way_stays_shown(browser, console_server, world):
    """Tests that a read of the worker's attendance the server answered before their clock-in arrived, handed to the
    page after the clock-in was synced (and read again), does not show them as not clocked in, Clock in enabled."""
    url, admin, yan = world["url"], world["admin"], world["yan"]
    link = requests.post(f"{url}/api/v1/workers/{yan['id']}/push-link", json={}, headers=admin, timeout=10).json()
    context = browser.new_context(**PHONE, geolocation={**HOME, "accuracy": 10}, permissions=["geolocation"])
    page = context.new_page()
    try:
        page.goto(link["url"])
        page.wait_for_selector("#shift:not([hidden])", timeout=10_000)
        page.wait_for_function("() => window.outfieldField.state.socketUp", timeout=10_000)
        hold_fetch(page, f"/api/v1/field/{link['token']}/attendance")
        now = datetime.now(UTC)
        assigned_order(url, admin, yan["id"], now=now, opened_h=1, reason="its push makes the page read again")
        page.wait_for_function("() => window.__fetchRead === true", timeout=10_000)  # read: not clocked in
        page.click("#clock-in")
        page.wait_for_function(
            "() => document.querySelector('#clock-state').textContent.startsWith('Clocked in at')", timeout=10_000
        )
        # Synced, and read again after (the day's read once the clock-in is answered, and the attendance's after it);
        # only the held read waits.
        page.wait_for_function(
            """() => { const f = window.outfieldField, a = f.attendance;
                       return document.querySelector('#queue').dataset.actions === '0'
                         && f.days.asked === f.days.answered && a.asked - a.answered === 1; }""",
            timeout=10_000,
        )
        page.evaluate("() => window.__release()")
        page.wait_for_function(
            "() => { const a = window.outfieldField.attendance; return a.asked === a.answered; }", timeout=10_000
        )
        assert page.text_content("#clock-state").startswith("Clocked in at")
        assert page.locator("#clock-in").is_disabled()
    finally:
        context.close()


def test_the_timesheets_say_leave_nothing_recorded_and_a_day_not_over_instead_of_offering_it(
    browser, console_server, world
):
    """Tests that the manager's timesheets flag the days a worker was on leave ("on leave (sick)") and the days that are
    over with shifts planned and nothing recorded ("nothing recorded"), and that today reads "day not over" with no
    Approve button: the server refuses to approve a day that is not over, and the page offered it anyway."""
    today = datetime.now(ZoneInfo(console_server.env["OUTFIELD_TIMEZONE"])).date()  # the test server office's day
    away = [str(today - timedelta(days=2)), str(today - timedelta(days=1))]
    bo = world["bo"]["id"]
    leave = requests.post(f"{world['url']}/api/v1/workers/{bo}/leaves", json={"start": away[0], "end": away[1], "reason": "sick"},
                          headers=world["admin"], timeout=10)  # fmt: skip
    assert leave.status_code == 201, leave.text
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    try:
        login(page, console_server, name="mia", password="manager-pw", path="/attendance/",
              ready="#ts-table tbody tr[data-worker-id]")  # fmt: skip
        rows = {
            r.get_attribute("data-day"): r for r in page.locator(f"#ts-table tbody tr[data-worker-id='{bo}']").all()
        }
        flags = {day: row.locator("td.flag").text_content() for day, row in rows.items()}
        assert [day for day, text in sorted(flags.items()) if "on leave (sick)" in text] == away
        last = max(rows)  # today on the server's clock
        assert rows[last].locator("button.approve").count() == 0
        assert rows[last].locator("td").last.text_content() == "day not over"
        over = [day for day in sorted(rows) if day not in away and day != last]
        assert over and all(flags[day] == "nothing recorded" for day in over), flags
        assert all(rows[day].locator("button.approve").count() == 1 for day in [*away, *over])
    finally:
        context.close()


def test_the_timesheets_say_they_are_being_added_up_and_when_a_period_has_none(browser, console_server, world):
    """Tests that while a period's timesheets are on their way the table says "Adding up the hours…" across its
    columns (a month of a large team takes seconds: before, the headings stood over an empty table, which read as no
    hours), that the rows then replace it, and that a team with nobody says "No shifts planned and no hours recorded
    in this period." instead of an empty table."""
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    try:
        login(page, console_server, name="mia", password="manager-pw", path="/attendance/",
              ready="#ts-table tbody tr[data-worker-id]")  # fmt: skip
        hold_fetch(page, "/api/v1/timesheets")
        page.fill("#ts-team", "Nobody's team")
        page.click("#ts-filter button[type=submit]")
        note = page.locator("#ts-table tbody tr.ts-note td")
        page.wait_for_function("() => window.__fetchRead === true")  # answered, and held from the page
        assert note.text_content() == "Adding up the hours…"
        assert note.get_attribute("colspan") == "13"
        assert page.locator("#ts-table tbody tr[data-worker-id]").count() == 0
        page.evaluate("() => window.__release()")
        page.wait_for_selector("#ts-table tbody tr.ts-note td:has-text('No shifts planned')")
        assert note.text_content() == "No shifts planned and no hours recorded in this period."
        page.fill("#ts-team", "")
        page.click("#ts-filter button[type=submit]")
        page.wait_for_selector("#ts-table tbody tr[data-worker-id]")
        assert page.locator("#ts-table tbody tr.ts-note").count() == 0
    finally:
        context.close()


def test_approving_a_day_redraws_its_row_without_adding_up_the_table_again(browser, console_server, world):
    """Tests that the manager's Approve on a day that is over turns that row into "approved by mia" without the page
    reading the period's timesheets again (it did after every click: seconds each for a month of a large team), and
    that a day someone approved meanwhile is answered with the reason and the table read again, naming who did."""
    today = datetime.now(ZoneInfo(console_server.env["OUTFIELD_TIMEZONE"])).date()  # the test server office's day
    zed = world["zed"]["id"]
    mine, theirs = str(today - timedelta(days=3)), str(today - timedelta(days=4))
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    try:
        login(page, console_server, name="mia", password="manager-pw", path="/attendance/",
              ready="#ts-table tbody tr[data-worker-id]")  # fmt: skip
        reads: list[str] = []
        page.on("request", lambda r: reads.append(r.url) if "/api/v1/timesheets?" in r.url else None)

        def row(day: str) -> Locator:
            return page.locator(f"#ts-table tbody tr[data-worker-id='{zed}'][data-day='{day}']")

        with page.expect_response(lambda r: "/api/v1/timesheets/approve" in r.url):
            row(mine).locator("button.approve").click()
        expect(row(mine).locator("td").last).to_have_text("approved by mia")
        assert reads == []
        assert row(theirs).locator("button.approve").count() == 1

        elsewhere = requests.post(f"{world['url']}/api/v1/timesheets/approve", json={"worker_id": zed, "day": theirs},
                                  headers=world["admin"], timeout=10)  # fmt: skip
        assert elsewhere.status_code == 201, elsewhere.text
        with page.expect_response(lambda r: "/api/v1/timesheets?" in r.url):
            row(theirs).locator("button.approve").click()
        expect(row(theirs).locator("td").last).to_have_text("approved by admin")
        assert "was approved already" in page.text_content("#error")
        expect(row(mine).locator("td").last).to_have_text("approved by mia")
    finally:
        context.close()


def test_the_timesheets_round_minutes_before_splitting_them_into_hours(browser, console_server, world):
    """Tests that the timesheets read a figure of 179.6 minutes (the server gives tenths) as "3 h 00" and 59.5 as
    "1 h 00": the page split them into hours first and read "2 h 60" and "0 h 60" (seen on the demo's breaks)."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()

    def tenths(route: Route) -> None:
        answer = route.fetch()
        body = answer.json()
        for row in body["rows"]:
            row.update(planned_min=480.0, worked_min=179.6, on_site_min=59.5, travel_min=0.4, break_min=0.0)
        route.fulfill(response=answer, json=body)

    try:
        page.route("**/api/v1/timesheets?*", tenths)
        login(page, console_server, name="mia", password="manager-pw", path="/attendance/",
              ready="#ts-table tbody tr[data-worker-id]")  # fmt: skip
        cells = page.locator("#ts-table tbody tr[data-worker-id]").first.locator("td.num").all_text_contents()
        assert cells[:5] == ["8 h 00", "3 h 00", "1 h 00", "0 h 00", "—"]
    finally:
        context.close()


DST_TIMES = {  # (day, typed on the office's clock, Europe/Monaco) -> the instant meant, in UTC
    ("2027-03-27", "09:00"): "2027-03-27T08:00:00.000Z",  # winter time, UTC+1
    ("2027-03-28", "01:30"): "2027-03-28T00:30:00.000Z",  # the clocks go forward at 02:00: still winter time
    ("2027-03-28", "03:30"): "2027-03-28T01:30:00.000Z",  # ... and summer time after, UTC+2
    ("2027-03-28", "09:00"): "2027-03-28T07:00:00.000Z",
    ("2026-10-24", "09:00"): "2026-10-24T07:00:00.000Z",  # summer time the day before they go back
    ("2026-10-25", "09:00"): "2026-10-25T08:00:00.000Z",  # winter time again from 03:00
    ("2027-03-14", "09:00"): "2027-03-14T08:00:00.000Z",  # New York's change (the phone's zone): none here
}


def test_a_late_entrys_time_is_read_on_the_offices_clock_across_its_changes_of_the_clocks(browser, world):
    """Tests that the time a worker types for a late entry is read on the office's clock (an office in Europe/Monaco:
    the page's zone, which the server gives it, set so) on the link's day, winter and summer time, the days the clocks
    change included, on a phone set to New York, whose own changes fall on other days (`atOnDay` in
    console/field/i18n.js; until now checked only by a throwaway script)."""
    context = browser.new_context(**{**PHONE, "timezone_id": "America/New_York"})
    page = context.new_page()
    try:
        page.goto(world["link"])
        page.wait_for_selector(f"li.order[data-order-id='{world['order_id']}']", timeout=10_000)
        read = page.evaluate(
            """async (cases) => { await window.Field.i18n.ready;
                 window.Field.i18n.state.timezone = "Europe/Monaco";  // this suite's office reads UTC
                 return cases.map(([day, hhmm]) => window.Field.i18n.atOnDay(day, hhmm).toISOString()); }""",
            [list(k) for k in DST_TIMES],
        )
        assert dict(zip(DST_TIMES, read, strict=True)) == DST_TIMES
    finally:
        context.close()
