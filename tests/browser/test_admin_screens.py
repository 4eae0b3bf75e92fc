"""The administration screens and the live map's reaction to them, in a real headless chromium."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from tests.support.browser import hold_fetch, hold_send, hover_label, login, reread_held

pytestmark = [pytest.mark.browser, pytest.mark.integration]

HOME = {"lat": 43.7312, "lon": 7.4195}
BOSS = ("boss", "boss-password-1")


@pytest.fixture(scope="module")
def admin_login(console_server):
    """An admin who signs in with a password (the server's own admin has an API token only), made through the API."""
    body = {"name": BOSS[0], "role": "admin", "password": BOSS[1]}
    answer = requests.post(
        f"{console_server.url}/api/v1/users", json=body, headers=admin_api(console_server), timeout=10
    )
    assert answer.status_code == 201, answer.text
    return BOSS


@pytest.fixture
def page(browser, console_server):
    context = browser.new_context(viewport={"width": 1600, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()


def admin_api(console_server):
    return {"Authorization": f"Bearer {console_server.admin_token}"}


def add_worker(console_server, **body) -> dict:
    """A worker made through POST /api/v1/workers (201), as stored."""
    answer = requests.post(
        f"{console_server.url}/api/v1/workers", json=body, headers=admin_api(console_server), timeout=10
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def open_admin(page, console_server, admin_login, ready: str) -> None:
    """The administration screens, signed in as the password admin, once `ready` shows."""
    name, password = admin_login
    login(page, console_server, name=name, password=password, path="/admin/", ready=ready)


def test_a_worker_created_through_the_api_appears_on_the_open_live_map_at_home_marked_not_tracked(page, console_server):
    """Tests that while a dispatcher watches the live map, a worker created with POST /api/v1/workers appears at once,
    without a reload: a marker at their home base whose label says "no consent: not tracked" (consent is required
    by default and a new worker has none), and a row in the worker list saying so; and that deactivating them takes
    the marker and the row off the map, again without a reload."""
    login(page, console_server)
    page.evaluate("() => { window.__sameDocument = true; }")
    worker_id = add_worker(console_server, name="Zoe Martin", device_id="zoe-1", skills=["gas"], home_base=HOME)["id"]
    marker = f"path.worker-marker.worker-{worker_id}"
    page.wait_for_selector(marker, timeout=10_000)
    page.wait_for_function(
        "() => document.querySelector('#worker-list').innerText.includes('Zoe Martin')", timeout=5_000
    )
    row = page.locator("#worker-list .worker-row", has_text="Zoe Martin")
    assert "no consent: not tracked" in row.inner_text()
    hover_label(page, marker, "Zoe Martin · no consent: not tracked", label=".worker-label")
    layer = page.evaluate("() => window.dash_component_api.getLayout('workers-layer').props.data")
    [feature] = [f for f in layer["features"] if f["properties"]["worker_id"] == worker_id]
    assert feature["geometry"]["coordinates"] == [HOME["lon"], HOME["lat"]]
    assert page.evaluate("() => window.__sameDocument") is True

    off = requests.patch(
        f"{console_server.url}/api/v1/workers/{worker_id}",
        json={"active": False},
        headers=admin_api(console_server),
        timeout=10,
    )
    assert off.status_code == 200, off.text
    page.wait_for_selector(marker, state="detached", timeout=10_000)
    assert "Zoe Martin" not in page.locator("#worker-list").inner_text()
    assert page.evaluate("() => window.__sameDocument") is True
    assert not page.errors, page.errors


def test_workers_created_or_deactivated_while_the_map_rereads_its_snapshot_stay_as_pushed(page, console_server):
    """Tests that a worker created, and another deactivated, after the wall screen's snapshot was read on the server
    but before the page used it, stay as their pushes left them: the new one on the map and in the list, the
    deactivated one off both (the older snapshot neither takes the first away nor brings the second back)."""
    headers = admin_api(console_server)
    login(page, console_server)
    leaving = add_worker(console_server, name="Paul Leaving", device_id="leave-1", home_base=HOME)["id"]
    page.wait_for_selector(f"path.worker-marker.worker-{leaving}", timeout=10_000)
    page.wait_for_function("() => window.outfield.resyncs >= 1", timeout=10_000)  # the connect's own read is done
    read = page.evaluate("() => window.outfield.resyncs")
    reread_held(page, console_server, "/api/v1/live")

    joining = add_worker(console_server, name="Ines Joining", device_id="join-1", home_base=HOME)["id"]
    off = requests.patch(
        f"{console_server.url}/api/v1/workers/{leaving}", json={"active": False}, headers=headers, timeout=10
    )
    assert off.status_code == 200, off.text
    page.wait_for_selector(f"path.worker-marker.worker-{joining}", timeout=10_000)
    page.wait_for_selector(f"path.worker-marker.worker-{leaving}", state="detached", timeout=10_000)
    page.evaluate("() => window.__release()")
    page.wait_for_function("(read) => window.outfield.resyncs > read", arg=read, timeout=10_000)

    layer = page.evaluate("() => window.dash_component_api.getLayout('workers-layer').props.data")
    drawn = {f["properties"]["worker_id"] for f in layer["features"]}
    assert joining in drawn and leaving not in drawn
    page.wait_for_function(  # the list is drawn on the next frame
        "() => { const t = document.querySelector('#worker-list').innerText;"
        " return t.includes('Ines Joining') && !t.includes('Paul Leaving'); }",
        timeout=5_000,
    )
    assert page.locator(f"path.worker-marker.worker-{joining}").count() == 1
    assert page.locator(f"path.worker-marker.worker-{leaving}").count() == 0
    assert not page.errors, page.errors


def test_an_admin_edits_a_worker_and_adds_a_site_by_clicking_the_map(page, console_server, admin_login):
    """Tests that an admin opens the administration screens, edits a worker's name, team and shift in the form, sees
    the change in the workers table and in the stored worker (and no stale "Saved" when the browser stops a submit
    with the name emptied), adds a site placed by a click on the map, and finds
    their edit in the audit log filtered by action, with the CSV export link carrying the same filter."""
    headers = admin_api(console_server)
    team = requests.post(f"{console_server.url}/api/v1/teams", json={"name": "Harbour"}, headers=headers, timeout=10)
    worker = add_worker(console_server, name="Luc Moreau", device_id="luc-1")
    open_admin(page, console_server, admin_login, f"tr[data-worker-id='{worker['id']}']")
    page.click(f"tr[data-worker-id='{worker['id']}'] button.worker-edit")
    page.wait_for_selector("#worker-form:not([hidden])")
    page.fill("#worker-form input[name=name]", "Luc Moreau-Blanc")
    page.select_option("#worker-form select[name=team_id]", str(team.json()["id"]))
    page.fill("#worker-form textarea[name=shifts]", "Mon-Fri 08:00-16:00")
    page.click("#worker-form button[type=submit]")
    page.wait_for_selector("#message.ok:has-text('Saved Luc Moreau-Blanc')", timeout=5_000)
    row = page.locator(f"tr[data-worker-id='{worker['id']}']")
    assert row.locator("td").nth(0).inner_text() == "Luc Moreau-Blanc"
    assert (row.locator("td").nth(2).inner_text(), row.locator("td").nth(4).inner_text()) == (
        "Harbour",
        "Mon-Fri 08:00-16:00",
    )
    stored = requests.get(f"{console_server.url}/api/v1/workers/{worker['id']}", headers=headers, timeout=10).json()
    assert (stored["name"], stored["team"], stored["shifts"]) == (
        "Luc Moreau-Blanc",
        "Harbour",
        ["Mon-Fri 08:00-16:00"],
    )
    # The name emptied: the browser's own check stops the submit, and the last "Saved …" does not stay beside it.
    page.click(f"tr[data-worker-id='{worker['id']}'] button.worker-edit")
    page.wait_for_selector("#worker-form:not([hidden])")
    expect(page.locator("#message")).to_contain_text("Saved Luc Moreau-Blanc")
    page.fill("#worker-form input[name=name]", "")
    page.click("#worker-form button[type=submit]")
    expect(page.locator("#message")).to_have_text("")
    assert page.evaluate("() => document.querySelector('#worker-form input[name=name]').validity.valueMissing")

    page.click("#tabs button[data-tab=sites]")
    page.click("#site-new")
    page.fill("#site-form input[name=name]", "Port Hercule")
    page.locator("#site-picker").click(position={"x": 240, "y": 150})
    assert page.input_value("#site-form input[name=lat]") != ""
    page.fill("#site-form input[name=geofence_radius_m]", "120")
    page.click("#site-form button[type=submit]")
    page.wait_for_selector("#sites-table td:text('Port Hercule')", timeout=5_000)
    [site] = [
        s
        for s in requests.get(f"{console_server.url}/api/v1/sites", headers=headers, timeout=10).json()
        if s["name"] == "Port Hercule"
    ]
    assert site["geofence_radius_m"] == 120.0
    assert 43.723 < site["location"]["lat"] < 43.752 and 7.405 < site["location"]["lon"] < 7.44

    page.click("#tabs button[data-tab=audit]")
    page.fill("#audit-form input[name=action]", "update-worker")
    page.click("#audit-form button[type=submit]")
    filtered = "/api/v1/audit?action=update-worker&format=csv"
    page.wait_for_function(f"() => document.getElementById('audit-csv').getAttribute('href') === '{filtered}'")
    cells = page.locator("#audit-table tbody tr").first.locator("td")
    assert (cells.nth(1).inner_text(), cells.nth(3).inner_text()) == ("boss", f"worker {worker['id']}")
    assert '"name":["Luc Moreau","Luc Moreau-Blanc"]' in cells.nth(4).inner_text()
    assert page.locator("#audit-table tbody tr").count() == 1
    assert not page.errors, page.errors


def test_an_admin_records_consent_given_on_paper_in_the_worker_form_and_withdraws_it(page, console_server, admin_login):
    """Tests that the worker form shows that a new worker has no consent (not tracked), that an admin records the
    consent the worker signed on paper there (stored under the current text's version, with who recorded it, and
    audited), and withdraws it, the form saying each state."""
    headers = admin_api(console_server)
    worker = add_worker(console_server, name="Ines Paper", device_id="ines-1")
    open_admin(page, console_server, admin_login, f"tr[data-worker-id='{worker['id']}']")
    page.click(f"tr[data-worker-id='{worker['id']}'] button.worker-edit")
    state = page.locator("#consent-state")
    page.wait_for_selector("#consent-state:has-text('No consent on record: not tracked.')", timeout=5_000)
    assert page.locator("#consent-withdraw").is_hidden()
    page.click("#consent-give:has-text('Record consent given on paper (text version 1)')")
    page.wait_for_selector("#message.ok:has-text('Consent recorded')", timeout=5_000)
    assert state.inner_text().startswith("Consent given on paper, recorded by boss on ")
    assert state.inner_text().endswith("(text version 1): tracked.")
    consent_url = f"{console_server.url}/api/v1/workers/{worker['id']}/consent"
    stored = requests.get(consent_url, headers=headers, timeout=10).json()
    assert (stored["state"], stored["source"], stored["given_text_version"], stored["recorded_by"]) == (
        "given", "paper", "1", "boss"
    )  # fmt: skip
    audit = requests.get(
        f"{console_server.url}/api/v1/audit", params={"action": "give-consent", "worker_id": worker["id"]},
        headers=headers, timeout=10,
    ).json()["entries"]  # fmt: skip
    assert [(e["actor"], e["details"]) for e in audit] == [("boss", {"text_version": "1", "source": "paper"})]
    page.click("#consent-withdraw")
    page.wait_for_selector("#consent-state:has-text('Consent withdrawn on ')", timeout=5_000)
    assert state.inner_text().endswith(": not tracked.")
    assert requests.get(consent_url, headers=headers, timeout=10).json()["state"] == "withdrawn"
    assert not page.errors, page.errors


def test_a_worker_saved_while_an_older_read_of_the_list_is_answered_stays_in_the_table(
    page, console_server, admin_login
):
    """Tests that when the workers tab's read of the list was answered by the server before the admin saved a new
    worker, but reaches the page after the re-read that followed the save, the table keeps the new worker."""
    known = add_worker(console_server, name="Olga Listed", device_id="olga-1")
    open_admin(page, console_server, admin_login, f"tr[data-worker-id='{known['id']}']")
    hold_fetch(page, "/api/v1/workers")
    page.click("#tabs button[data-tab=sites]")
    page.click("#tabs button[data-tab=workers]")
    page.wait_for_function("() => window.__fetchRead === true", timeout=10_000)

    page.click("#worker-new")
    page.fill("#worker-form input[name=name]", "Noor Saved")
    page.fill("#worker-form input[name=device_id]", "noor-1")
    page.click("#worker-form button[type=submit]")
    page.wait_for_selector("#message.ok:has-text('Saved Noor Saved')", timeout=10_000)
    page.wait_for_selector("#workers-table td:text-is('Noor Saved')", timeout=10_000)
    answers = page.evaluate("() => window.outfieldAdmin.answers")
    page.evaluate("() => window.__release()")
    page.wait_for_function("(n) => window.outfieldAdmin.answers > n", arg=answers, timeout=10_000)

    assert page.locator("#workers-table td:text-is('Noor Saved')").count() == 1
    assert not page.errors, page.errors


def test_two_teams_ticked_in_turn_for_a_user_are_both_stored(page, console_server, admin_login):
    """Tests that when an admin ticks two teams for a user one after the other, and the first change is slow to reach
    the server, both teams are stored: the second change (both teams) is not undone by the first (one team)."""
    headers = admin_api(console_server)
    made = [
        requests.post(f"{console_server.url}/api/v1/teams", json={"name": name}, headers=headers, timeout=10)
        for name in ("Turn East", "Turn West")
    ]
    teams = [team.json()["id"] for team in made]
    user = requests.post(
        f"{console_server.url}/api/v1/users", json={"name": "tia", "role": "dispatcher", "teams": []}, headers=headers,
        timeout=10,
    ).json()  # fmt: skip
    open_admin(page, console_server, admin_login, "#tabs button[data-tab=users]")
    page.click("#tabs button[data-tab=users]")
    row = page.locator(f"tr[data-user-id='{user['id']}']")
    row.wait_for(timeout=10_000)
    hold_send(page, f"/api/v1/users/{user['id']}")
    changes, answers = page.evaluate("() => [window.outfieldAdmin.changes, window.outfieldAdmin.answers]")
    row.locator(f"input[type=checkbox][value='{teams[0]}']").check()
    row.locator(f"input[type=checkbox][value='{teams[1]}']").check()
    # The second change is answered (sent at once), or waits its turn after the first.
    page.wait_for_function(
        "(n) => window.__answeredAfterHeld >= 1 || window.outfieldAdmin.changes >= n + 2", arg=changes, timeout=10_000
    )
    page.evaluate("() => window.__release()")
    page.wait_for_function("(n) => window.outfieldAdmin.answers >= n + 2", arg=answers, timeout=10_000)  # both

    stored = requests.get(f"{console_server.url}/api/v1/users", headers=headers, timeout=10).json()
    assert sorted(next(u for u in stored if u["id"] == user["id"])["teams"]) == sorted(teams)
    assert not page.errors, page.errors
