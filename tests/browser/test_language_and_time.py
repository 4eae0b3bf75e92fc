"""zh-CN and local time in a real headless chromium, on a console whose office is in Shanghai: the EN / 中文
switch, remembered after a reload and on another browser; the shipped CJK font with no internet; an order's
window on the office's clock in the console and on the worker's phone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.support.browser import hover_label, login, pick_date, type_in
from tests.support.consent import consent_on_paper
from tests.support.servers import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration]

SHANGHAI = ZoneInfo("Asia/Shanghai")
SITES = """external_ref,name,address,latitude,longitude,geofence_radius_m,category
t:casino,Casino de Monte-Carlo,Place du Casino,43.7394,7.4276,60,amenity=casino
"""
WORKERS = """name,device_id,skills,team,home_lat,home_lon,shift_days,shift_start,shift_end
Wang Fang,lt-wang,gas,Centre,43.7390,7.4270,Mon-Sun,00:00,24:00
"""
# Whether the page drew Chinese with the shipped Noto Sans SC: a face of that family loaded, from a chunk the
# console served (no other host), and the text needs nothing more to draw.
SHIPPED_FONT_USED = """() => {
  const faces = [...document.fonts].filter((f) => f.family.replace(/["']/g, "") === "Noto Sans SC" && f.status === "loaded");
  const chunks = performance.getEntriesByType("resource").map((e) => e.name)
    .filter((u) => u.startsWith(location.origin + "/assets/fonts/noto-sans-sc/") && u.endsWith(".woff2"));
  return faces.length > 0 && chunks.length > 0 && document.fonts.check('16px "Noto Sans SC"', "派工");
}"""


@pytest.fixture(scope="module")
def console_env() -> dict[str, str]:
    return {"OUTFIELD_TIMEZONE": "Asia/Shanghai"}


@pytest.fixture(scope="module")
def world(console_server, tmp_path_factory):
    d = tmp_path_factory.mktemp("i18n-csv")
    (d / "sites.csv").write_text(SITES)
    (d / "workers.csv").write_text(WORKERS)
    console_server.cli("data", "import-csv", "sites", str(d / "sites.csv"))
    console_server.cli("data", "import-csv", "workers", str(d / "workers.csv"))
    admin = {"Authorization": f"Bearer {console_server.admin_token}"}
    (worker,) = requests.get(f"{console_server.url}/api/v1/workers", headers=admin, timeout=5).json()
    return {"admin": admin, "worker_id": worker["id"]}


def offline_context(browser, server, **options):
    """A browser context that reaches the console and nothing else (no internet: every other host is refused)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US", **options)
    context.route(
        "**/*", lambda route: route.continue_() if route.request.url.startswith(server.url) else route.abort()
    )
    return context


def test_switching_to_chinese_is_shown_everywhere_and_remembered(browser, console_server):
    """Tests that a dispatcher on an English browser clicks 中文: the live map's navigation is Chinese, drawn with
    the console's own Noto Sans SC (no internet), still after a reload and on the route plans page; signing in
    on another (English) browser opens in Chinese too, and EN switches back."""
    context = offline_context(browser, console_server)
    page = context.new_page()
    login(page, console_server)
    assert page.locator(".plans-nav").inner_text() == "Route plans"
    page.click(".lang-switch button[value=zh_CN]")
    page.wait_for_selector(".plans-nav:has-text('路线计划')", timeout=15_000)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator(".admin-nav").inner_text() == "系统管理"
    assert page.locator("#tab-new-order").inner_text() == "新建工单"
    page.wait_for_function(SHIPPED_FONT_USED, timeout=15_000)

    page.reload()
    page.wait_for_selector(".plans-nav:has-text('路线计划')", timeout=15_000)
    page.goto(f"{console_server.url}/plans/")
    page.wait_for_selector(".plans-link:has-text('实时地图')", timeout=15_000)
    context.close()

    elsewhere = offline_context(browser, console_server)
    other = elsewhere.new_page()
    login(other, console_server)
    assert other.locator(".plans-nav").inner_text() == "路线计划"
    requests_seen: list[str] = []
    other.on("request", lambda r: requests_seen.append(f"{r.method} {r.url.removeprefix(console_server.url)}"))
    other.on("response", lambda r: requests_seen.append(f"{r.status} {r.url.removeprefix(console_server.url)}"))
    other.click(".lang-switch button[value=en]")
    try:
        other.wait_for_selector(".plans-nav:has-text('Route plans')", timeout=15_000)
    except PlaywrightTimeout:
        shown = other.evaluate("() => [location.href, document.documentElement.lang, document.title]")
        pytest.fail(f"EN did not switch back: the page shows {shown}; its requests since the click: {requests_seen}")
    elsewhere.close()


def test_an_order_window_reads_on_the_offices_clock_in_the_console_and_on_the_phone(browser, console_server, world):
    """Tests that in a Shanghai office a window of 01:00–03:00 UTC reads 09:00–11:00 CST on the dispatcher's order
    card and on the worker's phone (in English, and in Chinese once the worker switches to 中文), and that
    14:00–16:00 typed in the new-order form is stored as 06:00–08:00 UTC (the API answering ISO 8601 with the
    offset)."""
    day = datetime.now(SHANGHAI).date() + timedelta(days=1)
    start = datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)
    body = {
        "site_id": 1, "type": "repair", "priority": 2, "required_skills": ["gas"],
        "window_start": start.isoformat(), "window_end": (start + timedelta(hours=2)).isoformat(), "service_minutes": 45,
    }  # fmt: skip
    created = requests.post(f"{console_server.url}/api/v1/work-orders", json=body, headers=world["admin"], timeout=10)
    assert created.status_code == 201, created.text
    order_id = created.json()["id"]

    context = offline_context(browser, console_server)
    page = context.new_page()
    login(page, console_server)
    page.click("#tab-orders")
    page.click(f".order-row:has-text('#{order_id} ')", timeout=15_000)
    page.wait_for_selector("#order-card .candidate", timeout=15_000)
    assert "09:00–11:00 CST" in page.locator("#order-card").inner_text()

    page.click("#tab-new-order")
    assert f"({SHANGHAI.key})" in page.locator("label[for=order-start-date]").inner_text()
    page.wait_for_selector("path.site-marker", timeout=10_000)
    page.click("#order-site")
    page.locator(".dash-dropdown-search").fill("Casino")
    page.click(".dash-dropdown-option:has-text('Casino')", timeout=5_000)
    page.keyboard.press("Escape")
    for which, clock in (("start", "14:00"), ("end", "16:00")):
        pick_date(page, f"order-{which}-date", day.isoformat())
        type_in(page, f"order-{which}-time", clock)
    page.click("#order-submit")
    page.wait_for_selector(".tab-active#tab-orders", timeout=15_000)
    orders = requests.get(f"{console_server.url}/api/v1/work-orders", headers=world["admin"], timeout=5).json()
    typed = [o for o in orders if o["id"] != order_id]
    assert [(o["window_start"], o["window_end"]) for o in typed] == [
        (f"{day.isoformat()}T06:00:00+00:00", f"{day.isoformat()}T08:00:00+00:00")
    ]
    context.close()

    assigned = requests.post(f"{console_server.url}/api/v1/work-orders/{order_id}/assign",
                             json={"worker_id": world["worker_id"], "reason": "browser test"}, headers=world["admin"],
                             timeout=10)  # fmt: skip
    assert assigned.status_code == 200, assigned.text
    link = requests.post(f"{console_server.url}/api/v1/workers/{world['worker_id']}/push-link", json={"day": day.isoformat()},
                         headers=world["admin"], timeout=10)  # fmt: skip
    assert link.status_code == 201, link.text
    phone = offline_context(browser, console_server)
    field = phone.new_page()
    field.goto(link.json()["url"])
    field.wait_for_selector(f"li.order[data-order-id='{order_id}'] .window", timeout=15_000)
    assert "09:00–11:00 CST" in field.locator(f"li.order[data-order-id='{order_id}'] .window").inner_text()
    field.click(".lang-switch button[value=zh_CN]")  # the worker's own choice, kept on the phone
    field.wait_for_selector(f"li.order[data-order-id='{order_id}'] .window:has-text('约 45 分钟')", timeout=15_000)
    assert field.locator(f"li.order[data-order-id='{order_id}'] .facts dt").first.inner_text() == "时间"
    card = field.locator(f"li.order[data-order-id='{order_id}']")
    expect(card.locator(".job")).to_have_text("维修 · 优先级 2")
    expect(card.locator(".act-decline")).to_have_text("拒绝…")
    assert "09:00–11:00 CST" in field.locator(f"li.order[data-order-id='{order_id}'] .window").inner_text()
    phone.close()


def test_the_timesheets_period_opens_on_the_offices_calendar_days(browser, console_server):
    """Tests that at 01:30 on 3 March in Shanghai (17:30 UTC on 2 March) the manager's attendance page opens its
    timesheets on the office's last seven days, 25 February to 3 March, not on the UTC (or browser) dates."""
    console_server.cli("data", "create-user", "--role", "manager", "--name", "lin", "--password", "manager-pw")
    context = offline_context(browser, console_server, timezone_id="Europe/London")
    page = context.new_page()
    try:
        page.clock.set_fixed_time(datetime(2026, 3, 2, 17, 30, tzinfo=UTC))
        login(page, console_server, name="lin", password="manager-pw", path="/attendance/", ready="#ts-table")
        page.wait_for_function("() => document.querySelector('#ts-to').value !== ''")
        assert (page.input_value("#ts-from"), page.input_value("#ts-to")) == ("2026-02-25", "2026-03-03")
    finally:
        context.close()


def test_the_reports_page_and_the_admin_screens_read_in_chinese(browser, console_server, world):
    """Tests that a dispatcher who clicks 中文 on the reports page gets its heading, tabs and filters in Chinese, and
    the administration screens too, their rows drawn by the script included, with none of the English labels;
    EN switches back."""
    context = offline_context(browser, console_server)
    page = context.new_page()
    login(page, console_server, path="/reports/", ready=".rep-page")
    page.click(".lang-switch button[value=zh_CN]")
    page.wait_for_selector("h1:has-text('Outfield · 历史与报表')", timeout=15_000)
    page.wait_for_selector(".rep-page .tab:has-text('历史')", timeout=15_000)
    reports = page.locator(".rep-page").inner_text()
    assert "搜索" in reports and "客户" in reports and "状态" in reports, reports
    for english in ("History", "Reports", "Search", "Customer", "Status", "From", "Live map", "Route plans"):
        assert english not in reports, f"{english!r} on the Chinese reports page: {reports}"

    page.goto(f"{console_server.url}/admin/")
    page.wait_for_selector("#workers-table tbody tr:has-text('Wang Fang') button:has-text('编辑')", timeout=15_000)
    assert page.locator("h1").inner_text() == "Outfield · 系统管理"
    assert page.locator("#tabs button:visible").all_inner_texts() == ["人员", "地点"]
    admin = page.locator("body").inner_text()
    assert "设备 ID" in admin and "新建人员" in admin
    for english in ("Workers", "Sites", "New worker", "Device id", "Skills", "Shifts", "Active", "Edit", "Live map"):
        assert english not in admin, f"{english!r} on the Chinese administration screen: {admin}"
    page.click(".lang-switch button[value=en]")
    page.wait_for_selector("#tabs button:has-text('Workers')", timeout=15_000)
    context.close()


def test_the_audit_log_reads_and_filters_on_the_offices_clock(browser, console_server):
    """Tests that with a Shanghai office and a browser in London, the audit log shows when an admin created a
    worker on Shanghai's clock, names the zone, and its From filter is read on that clock too (a minute before
    the entry keeps it, a minute after leaves it out); the worker form gives the consent's time on that clock
    and asks for shifts on it."""
    console_server.cli("data", "create-user", "--role", "admin", "--name", "wei", "--password", "admin-pw-1")
    headers = {"Authorization": f"Bearer {console_server.admin_token}"}
    created = requests.post(f"{console_server.url}/api/v1/workers", json={"name": "Zhou Min", "device_id": "zhou-1"},
                            headers=headers, timeout=10)  # fmt: skip
    assert created.status_code == 201, created.text
    entries = requests.get(f"{console_server.url}/api/v1/audit?action=create-worker", headers=headers, timeout=10)
    [entry] = [e for e in entries.json()["entries"] if e["subject_id"] == created.json()["id"]]
    local = datetime.fromisoformat(entry["at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    context = offline_context(browser, console_server, timezone_id="Europe/London")
    page = context.new_page()
    try:
        login(page, console_server, name="wei", password="admin-pw-1", path="/admin/", ready="#tabs")
        page.click("#tabs button[data-tab=audit]")
        page.fill("#audit-form input[name=action]", "create-worker")
        page.fill("#audit-form input[name=from]", (local - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"))
        page.click("#audit-form button[type=submit]")
        row = page.locator("#audit-table tbody tr:has-text('Zhou Min')")
        row.wait_for(timeout=10_000)
        assert f"{local.hour % 12 or 12}:{local:%M:%S}" in row.locator("td").first.inner_text()
        assert page.locator("#audit-zone").inner_text() == "Asia/Shanghai"
        page.fill("#audit-form input[name=from]", (local + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"))
        page.click("#audit-form button[type=submit]")
        page.wait_for_function("() => !document.querySelector('#audit-table tbody').innerText.includes('Zhou Min')")

        # The worker form says when consent was given on the same clock, and asks for shifts on it.
        consent_on_paper(requests.post, headers, [created.json()["id"]], url=console_server.url)
        page.click("#tabs button[data-tab=workers]")
        page.click(f"tr[data-worker-id='{created.json()['id']}'] button.worker-edit")
        page.wait_for_selector("#consent-state:has-text('Consent given')", timeout=10_000)
        assert "GMT+8" in page.locator("#consent-state").inner_text()
        assert "on the office's clock" in page.locator("#worker-form").inner_text()
    finally:
        context.close()


def test_a_chinese_phone_reads_its_consent_and_a_pushed_reminder_in_chinese(browser, console_server, world):
    """Tests that on a phone in Chinese the field page's consent section (its label, text, state and buttons) is
    Chinese, that a clock-in 1 km from the home base reads its verdict and reason in Chinese, and that a reminder
    pushed over the socket (in the domain's English) shows its banner in Chinese at once, the site's name kept."""
    from realtime.bus import REMINDERS, Bus

    link = requests.post(f"{console_server.url}/api/v1/workers/{world['worker_id']}/push-link", json={},
                         headers=world["admin"], timeout=10)  # fmt: skip
    assert link.status_code == 201, link.text
    far = {"client_action_id": "zh-far", "action": "clock_in", "at": datetime.now(UTC).isoformat(),
           "location": {"lat": 43.7480, "lon": 7.4270, "accuracy_m": 5}}  # fmt: skip
    clocked = requests.post(f"{console_server.url}/api/v1/field/{link.json()['token']}/actions",
                            json={"actions": [far]}, timeout=10)  # fmt: skip
    assert clocked.json()["results"][0]["verdict"] == "outside_geofence", clocked.text
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    field = phone.new_page()
    try:
        field.goto(link.json()["url"])
        field.wait_for_selector("#consent:not([hidden]) #consent-state:not(:empty)", timeout=15_000)
        assert field.locator("section.share").get_attribute("aria-label") == "位置共享"
        assert field.locator("#consent p").first.inner_text().startswith("Outfield 仅在您当班时保存本页面共享的位置")
        assert field.locator("#consent-give").text_content() == "我同意"
        assert field.locator("#consent-withdraw").text_content() == "撤回我的同意"
        assert field.locator("#consent-state").inner_text() in (
            "共享位置前请先同意。",
            "请先联网，同意或确认您的授权后再共享位置。",
        )
        field.wait_for_selector("#clock-state:has-text('上班打卡')", timeout=10_000)
        clock = field.locator("#clock-state").inner_text()
        assert re.search(r"^已于 \d\d:\d\d 上班打卡 — 在电子围栏外：在 常驻地点 的电子围栏外 \d+ 米", clock), clock
        field.wait_for_function("() => window.outfieldField.state.socketUp", timeout=10_000)
        reminder = {"id": 10_001, "worker_id": world["worker_id"], "kind": "near_site", "order_id": None,
                    "text": "You are at Casino de Monte-Carlo, check in?", "at": datetime.now(UTC).isoformat()}  # fmt: skip
        Bus(console_server.env["REDIS_URL"]).send([(REMINDERS, [reminder])])
        field.wait_for_function(
            "() => document.querySelector('#banner-text').textContent === '您已到达 Casino de Monte-Carlo，要签到吗？'",
            timeout=10_000,
        )
    finally:
        phone.close()


def test_the_audit_log_labels_its_actions_in_chinese_and_keeps_the_raw_action(browser, console_server):
    """Tests that a Chinese reader of the audit log sees 新建人员 for create-worker (the raw action in the cell's
    title), the details' heading and the worker's field names inside it translated, and the CSV export keeps the raw
    action."""
    console_server.cli("data", "create-user", "--role", "admin", "--name", "zhao", "--password", "admin-pw-2")
    headers = {"Authorization": f"Bearer {console_server.admin_token}"}
    created = requests.post(f"{console_server.url}/api/v1/workers", json={"name": "Li Lei", "device_id": "li-1"},
                            headers=headers, timeout=10)  # fmt: skip
    assert created.status_code == 201, created.text
    context = offline_context(browser, console_server)
    page = context.new_page()
    try:
        login(page, console_server, name="zhao", password="admin-pw-2", path="/admin/", ready="#tabs")
        page.click(".lang-switch button[value=zh_CN]")
        page.wait_for_selector("html[lang=zh-CN] #tabs", timeout=10_000)
        page.click("#tabs button[data-tab=audit]")
        page.fill("#audit-form input[name=action]", "create-worker")
        page.click("#audit-form button[type=submit]")
        row = page.locator("#audit-table tbody tr:has-text('Li Lei')")
        row.wait_for(timeout=10_000)
        action = row.locator("td.action")
        assert (action.inner_text(), action.get_attribute("title")) == ("新建人员", "create-worker")
        assert row.locator("td").nth(3).inner_text() == f"人员 {created.json()['id']}"
        details = row.locator("td.details").inner_text()
        assert details.startswith('{"新值":{') and '"名称":"Li Lei"' in details  # the fields inside too
        csv = page.locator("#audit-csv").get_attribute("href")
    finally:
        context.close()
    export = requests.get(f"{console_server.url}{csv}", headers=headers, timeout=10).text
    assert "create-worker" in export and "新建人员" not in export


def fonts_drawing(page, selector: str) -> set[str]:
    """The families chromium drew `selector`'s text with (DevTools' CSS.getPlatformFontsForNode): what the reader
    sees, where `document.fonts` only says what was loaded."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        return {f["familyName"] for f in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]}
    finally:
        cdp.detach()


FONT_PROBE = """([scope, text]) => {
    document.querySelectorAll('[data-font-probe]').forEach((e) => e.removeAttribute('data-font-probe'));
    const hit = [...document.querySelectorAll(scope)].find((e) =>
        [...e.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.includes(text)));
    if (hit) hit.setAttribute('data-font-probe', '1');
    return Boolean(hit);
}"""


def drawn_with_the_shipped_font(page, selector: str, *, text: str | None = None) -> None:
    """Wait until `selector` is drawn (at least in part) with Noto Sans SC; with `text`, the first element under
    `selector` whose own text holds it, marked afresh on every look, as the page may draw it again meanwhile."""
    seen: list[set[str]] = []

    def drawn() -> bool:
        if text is None:
            seen.append(fonts_drawing(page, selector))
        else:
            found = page.evaluate(FONT_PROBE, [selector, text])
            seen.append(fonts_drawing(page, "[data-font-probe]") if found else set())
        # The chunks name their family "Noto Sans SC Thin" inside the file (fontsource's subsets of the variable font).
        return any(f.startswith("Noto Sans SC") for f in seen[-1])

    what = selector if text is None else f"{text!r} under {selector}"
    wait_until(drawn, 15, lambda: f"{what} on {page.url} drawn with Noto Sans SC (drawn with {seen[-1:]})")


def opened_in_the_shipped_font(page, url: str, ready: str, selector: str = ".lang-switch button[value=zh_CN]") -> None:
    """Open `url`, wait for `ready`, and check that `selector` (by default the "中文" button) is drawn in Noto Sans SC."""
    page.goto(url)
    page.wait_for_selector(ready, timeout=15_000)
    drawn_with_the_shipped_font(page, selector)


def test_chinese_is_drawn_with_the_shipped_font_on_every_kind_of_page(browser, console_server, world):
    """Tests that, on a machine with no Chinese font and no internet, the "中文" button of an English page is drawn
    with the console's own Noto Sans SC (a Dash page, the sign-in page, the attendance and administration pages,
    the worker's phone and the customer's page),
    and that the plain attendance and administration pages in Chinese draw their headings with it. Before, the
    button showed two empty boxes on every page but the sign-in one, and both plain pages all of their Chinese."""
    console_server.cli("data", "create-user", "--role", "admin", "--name", "qiu", "--password", "admin-pw-3")
    context = offline_context(browser, console_server)
    page = context.new_page()
    try:
        page.goto(f"{console_server.url}/login")
        drawn_with_the_shipped_font(page, ".lang-switch button[value=zh_CN]")
        login(page, console_server, name="qiu", password="admin-pw-3", path="/reports/", ready=".rep-page")
        drawn_with_the_shipped_font(page, ".lang-switch button[value=zh_CN]")
        for path, ready in (("/attendance/", "#ts-table"), ("/admin/", "#tabs button")):
            opened_in_the_shipped_font(page, f"{console_server.url}{path}", ready)
        page.click(".lang-switch button[value=zh_CN]")
        page.wait_for_selector("#tabs button:has-text('人员')", timeout=15_000)
        drawn_with_the_shipped_font(page, "h1")
        opened_in_the_shipped_font(page, f"{console_server.url}/attendance/", "h1:has-text('考勤与工时')", "h1")
        # A chart's text (Plotly's SVG, its font stack written inline): the plan timeline's "pick a plan" line.
        gantt = ".plans-gantt text.annotation-text"
        opened_in_the_shipped_font(page, f"{console_server.url}/plans/", gantt, gantt)
    finally:
        context.close()
    # The worker's phone and the customer's page, each in English, as a new browser opens them.
    link = requests.post(f"{console_server.url}/api/v1/workers/{world['worker_id']}/push-link", json={},
                         headers=world["admin"], timeout=10)  # fmt: skip
    assert link.status_code == 201, link.text
    phone = offline_context(browser, console_server)
    try:
        field = phone.new_page()
        for url in (link.json()["url"], f"{console_server.url}/c/not-a-link"):
            opened_in_the_shipped_font(field, url, ".lang-switch button[value=zh_CN]")
    finally:
        phone.close()


def new_worker(console_server, name: str, device_id: str) -> dict:
    """A worker made by the admin's API at a home base in Monaco; the API's answer."""
    admin = {"Authorization": f"Bearer {console_server.admin_token}"}
    created = requests.post(f"{console_server.url}/api/v1/workers", headers=admin, timeout=10,
                            json={"name": name, "device_id": device_id, "home_base": {"lat": 43.7385, "lon": 7.4240}})  # fmt: skip
    assert created.status_code == 201, created.text
    return created.json()


def test_a_worker_without_a_fix_is_labelled_in_chinese_on_the_map(browser, console_server):
    """Tests that on the live map in Chinese a tracked worker drawn at their home base before a first fix is labelled
    "… · 尚无定位", not "… · no fix yet" (the marker's label was left in English while their row was translated)."""
    admin = {"Authorization": f"Bearer {console_server.admin_token}"}
    created = new_worker(console_server, "Li Lei", "li-lei-1")
    consent_on_paper(requests.post, admin, [created["id"]], url=console_server.url)
    context = offline_context(browser, console_server)
    page = context.new_page()
    try:
        login(page, console_server)
        page.click(".lang-switch button[value=zh_CN]")
        page.wait_for_selector(".plans-nav:has-text('路线计划')", timeout=15_000)
        at_home = f"path.worker-{created['id']}"  # at home base: labelled on hover
        hover_label(page, at_home, lambda t: "Li Lei · 尚无定位" in t, label=".worker-label", timeout_s=15)
        assert page.locator(".worker-label:has-text('no fix yet')").count() == 0
    finally:
        page.click(".lang-switch button[value=en]")
        context.close()


def test_a_name_typed_in_chinese_is_drawn_with_the_shipped_font_on_the_english_console(browser, console_server):
    """Tests that on a machine with no Chinese font, an English console draws a worker named in Chinese with its own
    Noto Sans SC: on the live map's worker list (a button) and the administration's workers table. Before, both drew
    "王伟" as two empty boxes: chromium did not fall back to the font further down the pages' stacks."""
    new_worker(console_server, "王伟 Wang", "wang-wei-1")
    context = offline_context(browser, console_server)
    page = context.new_page()
    try:
        login(page, console_server)
        page.click(".lang-switch button[value=en]")
        page.wait_for_selector(".plans-nav:has-text('Route plans')", timeout=15_000)
        page.fill("input[placeholder^='Search']", "Wang")
        page.wait_for_selector(".worker-row:has-text('王伟 Wang')", timeout=15_000)
        drawn_with_the_shipped_font(page, ".worker-row .worker-name", text="王伟")
        page.goto(f"{console_server.url}/admin/")
        page.wait_for_selector("#workers-table td:has-text('王伟 Wang')", timeout=15_000)
        drawn_with_the_shipped_font(page, "#workers-table td", text="王伟")
    finally:
        context.close()


def test_a_late_entry_is_typed_and_shown_on_the_offices_clock_on_a_phone_set_to_another_zone(
    browser, console_server, world
):
    """Tests that a worker whose phone is set to London (8 hours behind the Shanghai office) enters a missed check-in
    at a time typed on the office's clock, the clock every window on the page reads: it is stored at that instant
    and listed at that time. Before, the page read the typed time on the phone's clock (8 hours later: "a time that
    has not passed"), and listed times on the phone's clock."""
    admin, url = world["admin"], console_server.url
    now = datetime.now(UTC)
    body = {
        "site_id": 1, "type": "repair", "priority": 3, "required_skills": ["gas"], "service_minutes": 30,
        "window_start": (now - timedelta(hours=2)).isoformat(), "window_end": (now + timedelta(hours=4)).isoformat(),
    }  # fmt: skip
    order = requests.post(f"{url}/api/v1/work-orders", json=body, headers=admin, timeout=10).json()
    assigned = requests.post(f"{url}/api/v1/work-orders/{order['id']}/assign", headers=admin, timeout=10,
                             json={"worker_id": world["worker_id"], "reason": "browser test"})  # fmt: skip
    assert assigned.status_code == 200, assigned.text
    link = requests.post(f"{url}/api/v1/workers/{world['worker_id']}/push-link", json={}, headers=admin, timeout=10)
    token = link.json()["token"]
    steps = [{"client_action_id": f"lt-{a}", "order_id": order["id"], "action": a, "at": now.isoformat()}
             for a in ("accept", "en_route")]  # fmt: skip
    moved = requests.post(f"{url}/api/v1/field/{token}/actions", json={"actions": steps}, timeout=10)
    assert [x["status"] for x in moved.json()["results"]] == ["applied", "applied"], moved.text
    office_now = now.astimezone(SHANGHAI)
    late = (office_now - timedelta(minutes=20)).replace(second=0, microsecond=0)
    if late.date() != office_now.date():  # just after the office's midnight: the day's first minute
        late = office_now.replace(hour=0, minute=0, second=0, microsecond=0)

    phone = offline_context(browser, console_server, timezone_id="Europe/London")
    page = phone.new_page()
    try:
        page.goto(link.json()["url"])
        card = page.locator(f"li.order[data-order-id='{order['id']}']")
        card.wait_for(timeout=15_000)
        card.locator(".late-entry summary").click()
        card.locator(".late-kind").select_option("in")
        card.locator(".late-time").fill(late.strftime("%H:%M"))
        card.locator(".late-reason").fill("No signal in the basement")
        card.locator(".late-send").click()
        expect(card.locator(".late-list li").first).to_have_text(
            f"Late check-in at {late:%H:%M} — waits for your manager's approval", timeout=15_000
        )
    finally:
        phone.close()
    entries = requests.get(f"{url}/api/v1/late-entries", headers=admin, timeout=5).json()["late_entries"]
    (entry,) = [e for e in entries if e["order_id"] == order["id"]]
    assert datetime.fromisoformat(entry["at"]) == late
