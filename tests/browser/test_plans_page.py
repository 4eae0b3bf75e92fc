"""The managers' route-plan review page in a real headless chromium: optimise a day and review the plan."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.support import plan_day
from tests.support.browser import choose_option, cut_fields, hold_fetch, login

pytestmark = [pytest.mark.browser, pytest.mark.integration]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# The shared day plus two jobs that must start at 09:00 sharp: one at the Casino (gas) and one at
# Fontvieille that only Bo can do (hvac).
JOBS = (*plan_day.JOBS, (1, ["gas"], 9.5), (3, ["hvac"], 9.5))
# Every route is drawn inside the map's box and no zoom animation runs: the map has flown to the routes.
ROUTES_IN_VIEW = """() => {
  const box = document.querySelector('#plan-map').getBoundingClientRect();
  const routes = [...document.querySelectorAll('path.plan-route')].map((p) => p.getBoundingClientRect());
  return routes.length > 0 && !document.querySelector('#plan-map .leaflet-zoom-anim') && routes.every(
    (r) => r.left >= box.left && r.right <= box.right && r.top >= box.top && r.bottom <= box.bottom);
}"""


@pytest.fixture(scope="module")
def day(console_server, tmp_path_factory):
    seeded = plan_day.seed_day(console_server, tmp_path_factory, JOBS)
    console_server.cli("data", "create-user", "--role", "manager", "--name", "m1", "--password", "manager-pw-1")
    return {"date": seeded["date"], "orders": seeded["orders"], "headers": seeded["admin"]}


@pytest.fixture
def page(browser, console_server):
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    # What the server and the browser said, for the report of a failed wait (see `explain`).
    trail: list[str] = []
    page.on(
        "console", lambda m: trail.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None
    )
    page.on(
        "response", lambda r: trail.append(f"HTTP {r.status} {r.request.method} {r.url}") if r.status >= 400 else None
    )
    page.trail = trail  # type: ignore[attr-defined]
    yield page
    context.close()


def login_to_plans(page, server, name="m1", password="manager-pw-1"):
    login(page, server, name=name, password=password, path="/plans/", ready="#plan-start")


def test_manager_optimises_a_day_and_reviews_the_plan(page, console_server, day):
    """Tests that a manager opens /plans/, picks the day, optimises for 2 s, watches progress and sees KPIs, route polylines, the Gantt chart and the unplanned reason."""
    login_to_plans(page, console_server)
    assert page.locator("#plan-seconds").input_value() == "10"
    assert cut_fields(page) == []  # each field has room for its text (the seconds' box kept 2 px for 16 px)
    page.wait_for_selector('#plan-gantt:has-text("Pick a plan to see each worker\'s day on a timeline.")')
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
    assert page.locator(".kpi-planned .kpi-value").inner_text() == "5"
    assert page.locator(".kpi-unplanned .kpi-value").inner_text() == "1"
    assert page.locator(".kpi-on_time .kpi-value").inner_text() == "100%"
    assert page.locator(".kpi-utilisation .kpi-value").inner_text().endswith("%")
    page.wait_for_selector("path.plan-route", state="attached", timeout=10_000)
    assert page.locator("path.plan-route").count() == 2  # one per worker
    assert page.locator(".plan-stop").count() == 5
    assert page.locator("path.plan-base").count() == 2  # each route starts at its worker's start point
    page.wait_for_selector("#plan-gantt .bars path", state="attached", timeout=10_000)
    gantt = page.locator("#plan-gantt").inner_text()
    assert "Plan Ana" in gantt and "Plan Bo" in gantt
    unplanned = page.locator("#plan-unplanned").inner_text()
    assert f"Order {day['orders'][3]}" in unplanned and "no qualified worker" in unplanned
    assert page.locator("#plan-stop").is_disabled()
    page.wait_for_function(ROUTES_IN_VIEW, timeout=10_000)  # the map has flown to the routes
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "plans-page.png"), full_page=True)

    # A day with no plan: the timeline says so, where it went on showing the last plan's bars.
    date_input.fill((date.fromisoformat(day["date"]) + timedelta(days=1)).isoformat())
    date_input.press("Enter")
    page.wait_for_selector("#plan-unplanned:has-text('No plan picked.')", timeout=10_000)
    page.wait_for_selector('#plan-gantt:has-text("Pick a plan to see each worker\'s day on a timeline.")')
    assert page.locator("#plan-gantt .bars path").count() == 0
    assert not page.errors, page.errors


def start_held_job_until_done(page, console_server, day) -> int:
    """Logs in, starts a 1-second optimisation of `day` with the Start's answer held back in the browser, and waits
    (over the API) until that job is done; returns its plan id (the caller releases the answer: `window.__release()`)."""
    login_to_plans(page, console_server)
    date_input = page.locator("#plan-date")
    date_input.fill(day["date"])
    date_input.press("Enter")
    page.fill("#plan-seconds", "1")
    hold_fetch(page, "/plans/_dash-update-component", body_has='"plan-start.n_clicks"')
    page.click("#plan-start")
    page.wait_for_function("() => window.__fetchRead === true", timeout=10_000)
    plan_id = int(json.loads(page.evaluate("() => window.__fetchBody"))["response"]["plan-running"]["data"])
    plan_day.wait_for(console_server, day["headers"], plan_id, {"done"})
    return plan_id


def test_a_job_that_ends_before_its_start_is_answered_still_shows_as_done(page, console_server, day):
    """Tests that when an optimisation ends before the page has the answer to its Start (its progress pushes arrive
    before the page knows the job is its own), the page still shows it done, with its plan picked."""
    plan_id = start_held_job_until_done(page, console_server, day)
    page.evaluate("() => window.__release()")

    page.wait_for_function("() => document.querySelector('#plan-progress').textContent.startsWith('Done')",
                           timeout=15_000)  # fmt: skip
    page.wait_for_function(f"() => document.querySelector('#plan-picker').textContent.trim().startsWith('Plan {plan_id} ')",
                           timeout=10_000)  # fmt: skip
    page.wait_for_function("() => document.querySelectorAll('.plan-stop').length === 5", timeout=10_000)
    assert page.locator("#plan-stop").is_disabled()
    assert not page.errors, page.errors


def test_a_job_of_a_day_no_longer_shown_leaves_the_picker_on_the_day_shown(page, console_server, day):
    """Tests that when the manager changes the date while an optimisation of another day runs, the job's end says in
    the progress line that its plan is ready on its day, and the picker keeps the plans of the day the date field
    shows; going back to the job's day offers its plan."""
    # The page learns which job is its own only once the Start's answer is handed over: the job runs and ends, and
    # the manager changes the date, in between.
    plan_id = start_held_job_until_done(page, console_server, day)
    date_input = page.locator("#plan-date")
    next_day = (date.fromisoformat(day["date"]) + timedelta(days=1)).isoformat()
    with page.expect_response(
        lambda r: "_dash-update-component" in r.url and '"plan-date.date"' in (r.request.post_data or ""),
        timeout=10_000,
    ):
        date_input.fill(next_day)
        date_input.press("Enter")
    page.keyboard.press("Escape")  # close the calendar
    page.wait_for_function("() => /No plan for this day yet/.test(document.querySelector('#plan-picker').textContent)",
                           timeout=10_000)  # fmt: skip
    page.evaluate("() => window.__release()")

    ready = f"plan {plan_id} of {day['date']} is ready: pick that day to see it"
    page.wait_for_function(f"() => document.querySelector('#plan-progress').textContent.endsWith({json.dumps(ready)})",
                           timeout=15_000)  # fmt: skip
    assert page.locator("#plan-progress").inner_text().startswith("Done")
    assert date_input.input_value() == next_day
    assert "No plan for this day yet" in page.locator("#plan-picker").inner_text()
    page.wait_for_function("() => document.querySelectorAll('.plan-stop').length === 0", timeout=10_000)  # none drawn
    assert page.locator("#plan-stop").is_disabled()

    date_input.fill(day["date"])
    date_input.press("Enter")
    page.keyboard.press("Escape")
    choose(page, "plan-picker", f"Plan {plan_id} ")
    page.wait_for_function("() => document.querySelectorAll('.plan-stop').length === 5", timeout=10_000)
    assert not page.errors, page.errors


# Keep the text of each answer to a picker's callback run that a request to the picker (`plan-pick`) set off.
KEEP_PICKER_ANSWERS = """() => {
  const real = window.fetch;
  window.__pickerAnswers = [];
  window.fetch = (url, options) => {
    const answer = real(url, options);
    if (String((options && options.body) || "").includes('"plan-pick.data"')) {
      answer.then((a) => a.clone().text()).then((text) => window.__pickerAnswers.push(text));
    }
    return answer;
  };
}"""


def test_a_date_changed_while_the_jobs_end_is_on_its_way_keeps_the_picker_on_the_new_day(page, console_server, day):
    """Tests that when the manager changes the date after the job's end was read on the server but before the page
    has it (the job's day was the day shown when it ended), the picker still lists the day the date field shows."""
    plan_id = start_held_job_until_done(page, console_server, day)
    date_input = page.locator("#plan-date")
    # Hand the Start's answer over, and hold the answer of the job's end it leads to (read on the date of the job).
    page.evaluate("() => { window.__releaseStart = window.__release; }")
    hold_fetch(page, "/plans/_dash-update-component", body_has='"plan-running.data"')
    page.evaluate("() => window.__releaseStart()")
    page.wait_for_function("() => window.__fetchRead === true", timeout=10_000)
    assert json.loads(page.evaluate("() => window.__fetchBody"))["response"]["plan-pick"]["data"]["select"] == plan_id

    next_day = (date.fromisoformat(day["date"]) + timedelta(days=1)).isoformat()
    date_input.fill(next_day)
    date_input.press("Enter")
    page.keyboard.press("Escape")  # close the calendar
    page.evaluate(KEEP_PICKER_ANSWERS)
    page.evaluate("() => window.__release()")  # the job's end reaches the page after the date changed
    page.wait_for_function("() => window.__pickerAnswers.length > 0", timeout=10_000)
    answer = page.evaluate("() => window.__pickerAnswers[0]")
    # The picker is left as it is (no update), or given the new day's plans: none.
    if answer:
        picker = json.loads(answer)["response"]["plan-picker"]
        assert picker["options"] == [] and picker["value"] is None, picker
    page.wait_for_function("() => /No plan for this day yet/.test(document.querySelector('#plan-picker').textContent)",
                           timeout=10_000)  # fmt: skip
    page.wait_for_function("() => document.querySelectorAll('.plan-stop').length === 0", timeout=10_000)
    assert date_input.input_value() == next_day
    assert page.locator("#plan-progress").inner_text().startswith("Done")
    assert not page.errors, page.errors


def test_live_map_stays_at_root_for_the_manager(page, console_server, day):
    """Tests that the same manager session still gets the live wall screen at /, not the plan page."""
    login_to_plans(page, console_server)
    page.goto(f"{console_server.url}/")
    page.wait_for_selector(".wall", timeout=15_000)
    assert page.locator("#plan-start").count() == 0


def choose(page, dropdown_id: str, text: str) -> None:
    choose_option(page, page.locator(f"#{dropdown_id}"), text)


def explain(page, server) -> str:
    """What the page shows and what the server and browser said: the report of a failed wait."""
    shown = {sel: page.locator(sel).inner_text() for sel in ("#plan-picker", "#plan-badge", "#plan-message")}
    log = server.log_path.read_text(errors="replace")[-4000:]
    return f"shown: {shown}\nbrowser: {page.errors + page.trail}\nserver log tail:\n{log}"


def solved_plan(server, day) -> dict:
    r = requests.post(f"{server.url}/api/v1/plans", json={"date": day["date"], "order_ids": day["orders"], "seconds": 2},
                      headers=day["headers"], timeout=10)  # fmt: skip
    assert r.status_code == 202, r.text
    return plan_day.wait_for(server, day["headers"], r.json()["id"], {"done"})


def test_manager_loads_a_plan_moves_a_visit_sees_the_broken_window_and_publishes(page, console_server, day):
    """Tests the manager's review loop: load a plan, publish it, move a 09:00 job to a worker busy at 09:00, see the missed window and who gains or loses, be refused publishing that draft with the checker's reasons, then re-plan the published day."""
    base = solved_plan(console_server, day)
    owner = {s["order_id"]: r["name"] for r in base["plan"]["routes"] for s in r["stops"]}
    workers = {w["name"]: w["id"] for w in requests.get(f"{console_server.url}/api/v1/workers",
                                                         headers=day["headers"], timeout=5).json()}  # fmt: skip
    casino_at_nine, fontvieille_at_nine = day["orders"][4], day["orders"][5]
    assert owner[fontvieille_at_nine] == "Plan Bo" and owner[casino_at_nine] == "Plan Ana"

    login_to_plans(page, console_server)
    pick = page.locator("#plan-date")
    pick.fill(day["date"])
    pick.press("Enter")
    page.keyboard.press("Escape")  # close the calendar
    choose(page, "plan-picker", f"Plan {base['id']} ")
    page.wait_for_function("() => document.querySelectorAll('.plan-stop').length === 5", timeout=10_000)
    assert page.locator("#plan-badge").inner_text() == "Draft"
    assert "Nothing is published" in page.locator("#plan-compare").inner_text()
    assert page.locator("#plan-replan").is_disabled()  # only a published day is re-planned

    page.click("#plan-publish")
    page.wait_for_function("() => document.querySelector('#plan-badge').textContent === 'Published'", timeout=10_000)
    assert "published: 5 assignments sent" in page.locator("#plan-message").inner_text()
    # The picker's label says so too (refreshed by the shown plan's request to the picker).
    page.wait_for_function("() => /PUBLISHED/.test(document.querySelector('#plan-picker').textContent)",
                           timeout=10_000)  # fmt: skip
    assert page.locator("#plan-publish").is_disabled() and page.locator("#plan-replan").is_enabled()

    choose(page, "plan-move-order", f"Order {casino_at_nine} ")
    choose(page, "plan-move-worker", "Plan Bo")
    page.click("#plan-move")
    page.wait_for_function("() => document.querySelector('#plan-badge').textContent === 'Draft'", timeout=10_000)
    page.wait_for_selector(".plan-violation.violation-window", timeout=10_000)
    rules = page.locator("#plan-violations").inner_text()
    assert str(casino_at_nine) in rules or str(fontvieille_at_nine) in rules, rules
    assert "breaks" in page.locator("#plan-message").inner_text()
    assert page.locator(".plan-stop-violated").count() >= 1  # the late stop is ringed on the map
    assert page.locator(".kpi-on_time .kpi-value").inner_text() != "100%"
    compare = page.locator("#plan-compare").inner_text()
    assert f"Order {casino_at_nine}: Plan Ana → Plan Bo" in compare, compare
    assert "Plan Bo: +1 visit" in compare and "Plan Ana: -1 visit" in compare
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "plans-moved.png"), full_page=True)

    page.click("#plan-publish")  # a draft the plan checker faults is not published: the page says why
    page.wait_for_function("() => /cannot be published/.test(document.querySelector('#plan-message').textContent)",
                           timeout=10_000)  # fmt: skip
    message = page.locator("#plan-message").inner_text()
    assert "window: visit" in message and "outside its start window" in message, message
    assert page.locator("#plan-badge").inner_text() == "Draft"
    order = requests.get(f"{console_server.url}/api/v1/work-orders/{casino_at_nine}", headers=day["headers"], timeout=5)
    assert order.json()["assigned_worker_id"] == workers["Plan Ana"]  # still as published

    choose(page, "plan-picker", f"Plan {base['id']} ")
    try:
        page.wait_for_function(
            "() => document.querySelector('#plan-badge').textContent === 'Published'", timeout=20_000
        )
    except PlaywrightTimeout:
        page.screenshot(path=str(ARTIFACTS / "plans-back-to-published.png"), full_page=True)
        pytest.fail("the published plan, chosen again, does not show as published\n" + explain(page, console_server))
    page.fill("#plan-seconds", "1")
    page.click("#plan-replan")
    page.wait_for_function("() => document.querySelector('#plan-progress').textContent.startsWith('Done')",
                           timeout=30_000)  # fmt: skip
    page.wait_for_function("() => document.querySelector('#plan-badge').textContent === 'Draft'", timeout=10_000)
    picked = page.locator("#plan-picker").inner_text()
    assert "re-plan of" in picked, picked
    assert "Against published plan" in page.locator("#plan-compare").inner_text()
    assert not page.errors, page.errors


LEGEND_AND_TICKS = """() => ({
  legend: [...document.querySelectorAll('#plan-gantt .legend .traces')].map((t) => {
    const r = t.getBoundingClientRect(); return [t.textContent, r.left, r.right]; }),
  clip: document.querySelector('#plan-gantt .legend .scrollbox').getBoundingClientRect().right,
  ticks: [...document.querySelectorAll('#plan-gantt .xtick text')].map((t) => t.textContent),
})"""


def test_the_timeline_reads_in_chinese_its_legend_apart_and_its_ticks_times_only(page, console_server, day):
    """Tests that the plan timeline in Chinese names its legend's entries in Chinese, each clear of the next and none
    cut off, and that its ticks read times only. Before, Plotly spaced the entries by text it measured before the
    Chinese font arrived (each over the next, the last cut to '休'), and wrote the day in English under the first tick
    ('Dec 7, 2026')."""
    base = solved_plan(console_server, day)
    login_to_plans(page, console_server)
    page.click(".lang-switch button[value=zh_CN]")
    try:
        page.wait_for_selector("#plan-start:has-text('优化')", timeout=15_000)
        pick = page.locator("#plan-date")
        pick.fill(day["date"])
        pick.press("Enter")
        page.keyboard.press("Escape")
        choose(page, "plan-picker", f"计划 {base['id']} ")
        page.wait_for_selector("#plan-gantt .bars path", state="attached", timeout=10_000)
        page.evaluate("() => document.fonts.ready")
        shown = page.evaluate(LEGEND_AND_TICKS)
        names = [name for name, _, _ in shown["legend"]]
        assert names[:2] == ["路程", "服务"] and len(names) >= 3, shown
        apart = [a[2] <= b[1] for a, b in zip(shown["legend"], shown["legend"][1:], strict=False)]
        assert all(apart) and shown["legend"][-1][2] <= shown["clip"] + 0.5, shown
        assert shown["ticks"] and all(len(t) == 5 and t[2] == ":" for t in shown["ticks"]), shown
    finally:
        page.click(".lang-switch button[value=en]")
