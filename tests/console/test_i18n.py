"""zh-CN and English, and the office's clock, at the HTTP edge (in-process app, real SQLite, fakeredis):
the language of a request, the switch remembered per user, API error reasons, the catalogues, the font."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from plotly.utils import PlotlyJSONEncoder

from console import i18n
from console.pages.checkin_confidence import checkin_confidence
from console.pages.orders.new_order import form_time
from data import users_repo
from data.db import session_scope
from dispatch.access import Role
from dispatch.clock import ManualClock
from services.order_input import FieldError
from tests.support.inprocess import bare_app

REPO = Path(__file__).resolve().parents[2]
ZH_PO = REPO / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
ZH_MO = ZH_PO.with_suffix(".mo")
NOW = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)
SAME_ORIGIN = {"Origin": "http://localhost"}  # what a browser's form post carries
PLAIN_PAGES = ("admin", "attendance", "customer")
"""The plain HTML pages (not Dash's, not the field page's), whose every text is translated as it is served."""


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):
    tmp_path = tmp_path_factory.mktemp("i18n")
    outfield, sessions = bare_app(tmp_path, clock=ManualClock(NOW), timezone="Europe/Monaco")
    with session_scope(sessions) as session:
        user, token = users_repo.create_user(session, name="dora", role=Role.DISPATCHER, password="dora-password-1")
        users_repo.create_user(session, name="mona", role=Role.MANAGER, password="mona-password-1")
    return {"server": outfield.server, "sessions": sessions, "user_id": user.id, "token": token}


def sign_in(client, *, lang_header: str | None = None):
    headers = {"Accept-Language": lang_header} if lang_header else {}
    answer = client.post("/login", data={"name": "dora", "password": "dora-password-1", "next": "/"}, headers=headers)
    assert answer.status_code == 302, answer.get_data(as_text=True)


def test_the_sign_in_page_follows_the_browsers_language_and_else_is_english(app):
    """Tests that the sign-in page is Chinese for Accept-Language zh-CN, English without one, and says so in lang."""
    client = app["server"].test_client()
    chinese = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in chinese and "用户名" in chinese and ">登录</button>" in chinese
    english = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in english and "User name" in english and "用户名" not in english
    assert "/assets/fonts/noto-sans-sc/noto-sans-sc.css" in english  # the font is there before anyone switches


def test_a_lang_cookie_or_parameter_beats_the_browsers_language(app):
    """Tests that ?lang=zh_CN and a lang cookie each give Chinese to an English browser, and an unknown one English."""
    client = app["server"].test_client()
    assert "用户名" in client.get("/login?lang=zh_CN", headers={"Accept-Language": "en"}).get_data(as_text=True)
    client.set_cookie("lang", "zh_CN")
    assert "用户名" in client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    client.set_cookie("lang", "klingon")
    assert "User name" in client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_the_switch_is_remembered_for_the_user_on_another_browser(app):
    """Tests that switching to 中文 stores the user's choice, so signing in on a fresh English browser is Chinese."""
    first = app["server"].test_client()
    sign_in(first)
    switched = first.post("/lang?next=/plans/", data={"lang": "zh_CN"}, headers=SAME_ORIGIN)
    assert (switched.status_code, switched.headers["Location"]) == (303, "/plans/")
    with session_scope(app["sessions"]) as session:
        assert users_repo.language(session, app["user_id"]) == "zh_CN"
    fresh = app["server"].test_client()
    sign_in(fresh, lang_header="en-US,en;q=0.9")
    answer = fresh.get("/i18n/catalogue.json", headers={"Accept-Language": "en"}).get_json()
    assert answer["lang"] == "zh_CN" and answer["messages"]["Route plans"] == "路线计划"
    assert answer["timezone"] == "Europe/Monaco"


def test_an_answer_to_a_request_sent_before_the_switch_does_not_bring_the_old_language_back(app):
    """Tests that after switching from 中文 to EN, the answer to a request the page sent before the switch
    (carrying the old cookies, answered after) leaves the browser in English: the session cookie it sends
    again carries no language."""
    client = app["server"].test_client()
    sign_in(client)
    client.post("/lang?next=/", data={"lang": "zh_CN"}, headers=SAME_ORIGIN)
    assert client.get("/i18n/catalogue.json").get_json()["lang"] == "zh_CN"
    session_before = client.get_cookie("session").value
    client.post("/lang?next=/", data={"lang": "en"}, headers=SAME_ORIGIN)
    # A request sent with the cookies from before the switch is answered now, and its cookies are stored.
    stale = app["server"].test_client()
    stale.set_cookie("session", session_before)
    stale.set_cookie("lang", "zh_CN")
    late = stale.get("/i18n/catalogue.json")
    assert late.status_code == 200
    for header in late.headers.getlist("Set-Cookie"):
        name, _, rest = header.partition("=")
        if name in ("session", "lang"):
            client.set_cookie(name, rest.split(";")[0])
    assert client.get("/i18n/catalogue.json").get_json()["lang"] == "en"
    with session_scope(app["sessions"]) as session:
        assert users_repo.language(session, app["user_id"]) == "en"


def test_an_unknown_language_is_refused_naming_the_field_and_nothing_is_stored(app):
    """Tests that POST /lang with lang=fr answers 400 naming `lang` and leaves the stored choice alone."""
    client = app["server"].test_client()
    sign_in(client)
    with session_scope(app["sessions"]) as session:
        before = users_repo.language(session, app["user_id"])
    refused = client.post("/lang", data={"lang": "fr"}, headers=SAME_ORIGIN)
    assert refused.status_code == 400 and refused.get_json()["field"] == "lang"
    with session_scope(app["sessions"]) as session:
        assert users_repo.language(session, app["user_id"]) == before


def test_api_errors_are_chinese_for_a_chinese_reader_and_english_otherwise(app):
    """Tests that one bad order is refused in English without Accept-Language and in Chinese with zh-CN,
    the field name and the `field` key unchanged either way."""
    client = app["server"].test_client()
    auth = {"Authorization": f"Bearer {app['token']}"}
    body = {"site_id": 1, "priority": 9, "window_start": "2026-03-28T09:00:00Z", "window_end": "2026-03-28T11:00:00Z"}
    english = client.post("/api/v1/work-orders", json=body, headers=auth)
    chinese = client.post("/api/v1/work-orders", json=body, headers={**auth, "Accept-Language": "zh-CN"})
    assert english.status_code == chinese.status_code == 400
    assert english.get_json() == {"error": "priority: 9 is not within 1..5 (1 = most urgent)", "field": "priority"}
    assert chinese.get_json() == {"error": "priority: 9 不在 1..5 之内（1 = 最紧急）", "field": "priority"}
    nobody = client.get("/api/v1/work-orders", headers={"Accept-Language": "zh-CN"})
    assert nobody.status_code == 401 and nobody.get_json()["error"] == "未登录"


def test_a_reason_the_catalogue_does_not_know_stays_english():
    """Tests that an unknown reason is passed through whole rather than half translated."""
    assert i18n.translate_reason("site_id: no such site 7", language="zh_CN") == "site_id: no such site 7"
    assert i18n.translate_reason("window_end: must be after window_start", language="en") == (
        "window_end: must be after window_start"
    )


def test_a_window_typed_in_the_form_is_office_time_across_the_march_change(app):
    """Tests that 09:00 typed on the new-order form in Monaco is 08:00 UTC on Saturday 28 March 2026 and 07:00 UTC
    on Sunday 29 March, and that 02:30 on the Sunday (skipped) is refused naming the field."""
    with app["server"].test_request_context("/"):
        assert form_time("window_start", "2026-03-28", "09:00") == "2026-03-28T08:00:00Z"
        assert form_time("window_start", "2026-03-29", "09:00") == "2026-03-29T07:00:00Z"
        with pytest.raises(FieldError) as refused:
            form_time("window_start", "2026-03-29", "02:30")
    assert refused.value.field == "window_start" and "does not exist in Europe/Monaco" in str(refused.value)


def test_stored_times_read_on_the_office_clock_with_the_zone(app):
    """Tests that a 07:00–09:00 UTC window on 29 March 2026 reads 'Sun 29 Mar 09:00–11:00 CEST' in Monaco, in Chinese
    with a Chinese weekday."""
    start, end = datetime(2026, 3, 29, 7, 0, tzinfo=UTC), datetime(2026, 3, 29, 9, 0, tzinfo=UTC)
    with app["server"].test_request_context("/", headers={"Accept-Language": "en"}):
        assert i18n.window_words(start, end) == "Sun 29 Mar 09:00–11:00 CEST"
        assert i18n.clock_time("2026-01-10T07:00:05+00:00", seconds=True) == "08:00:05 CET"
    with app["server"].test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert i18n.window_words(start, end).startswith("3月29日 周日 09:00–11:00 CEST")


def test_the_shipped_font_is_served_without_a_login(app):
    """Tests that the Noto Sans SC stylesheet and a chunk it names are served to a signed-out browser."""
    client = app["server"].test_client()
    css = client.get("/assets/fonts/noto-sans-sc/noto-sans-sc.css")
    assert css.status_code == 200 and "font-family: 'Noto Sans SC'" in css.get_data(as_text=True)
    chunk = re.search(r"url\(\./([^)]+\.woff2)\)", css.get_data(as_text=True))
    assert chunk is not None
    font = client.get(f"/assets/fonts/noto-sans-sc/{chunk[1]}")
    assert font.status_code == 200 and font.data[:4] == b"wOF2"


def wrapped_messages() -> set[str]:
    """Every English string the code wraps for translation: `_()`/`N_()` in Python and JS, the field page's
    `data-i18n` elements, and every text of the plain pages."""
    with (REPO / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {"_": None, "gettext": None, "N_": None}
    found = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(REPO), method_map, options_map, keywords=keywords
        )
        if isinstance(message, str) and message
    }
    page = (REPO / "console" / "field" / "index.html").read_text()
    for match in re.finditer(r"<\w+[^>]*data-i18n[^>]*>([^<]+)<", page):
        found.add(re.sub(r"\s+", " ", match[1]).strip())
    found.discard("")  # the space between an element marked data-i18n-label and its first child
    for match in re.finditer(r'aria-label="([^"]+)"[^>]*data-i18n-label', page):
        found.add(match[1])
    for plain in PLAIN_PAGES:  # translated whole as they are served (i18n.plain_page)
        found.update(i18n.page_texts((REPO / "console" / plain / "index.html").read_text()))
    return found


def test_every_wrapped_string_has_a_chinese_translation():
    """Tests that the zh_CN catalogue translates every string the console, the field page and the API wrap,
    so no page shows English in the middle of Chinese (a new `_("…")` without its translation fails here)."""
    catalogue = read_po(ZH_PO.open("rb"))
    translated = {m.id for m in catalogue if m.id and m.string}
    wrapped = wrapped_messages()
    # The extraction itself works: a page's, live.js's, the field script's and the field page's own words are found.
    assert {"That order no longer exists.", "Acknowledge", " and ", "My day", "not authenticated"} <= wrapped
    missing = sorted(wrapped - translated)
    assert missing == [], f"add these to {ZH_PO.relative_to(REPO)}: {missing}"


def test_the_compiled_catalogue_is_the_po_file():
    """Tests that the committed .mo holds exactly the .po's translations (run `pybabel compile -d translations`)."""
    compiled = io.BytesIO()
    write_mo(compiled, read_po(ZH_PO.open("rb")))
    compiled.seek(0)
    expected = {m.id: m.string for m in read_mo(compiled) if m.id}
    shipped = {m.id: m.string for m in read_mo(ZH_MO.open("rb")) if m.id}
    assert shipped == expected


# English a person would read on each page when it is not translated (labels, headings, buttons, messages).
ENGLISH_ON = {
    "/admin/": ("Workers", "New worker", "Device id", "Audit log", "Who (user name)", "Save", "Cancel", "Add team",
                "Geofence radius (m)", "Your role has no administration screens.", "Outfield · administration"),
    "/attendance/": ("Attendance and hours", "Late entries waiting for a decision", "Timesheets", "Overtime",
                     "Day reports per team", "Approve", "Reject", "Note (required to reject)", "Nothing waits."),
    "/c/not-a-link": ("Your visit", "How was the visit?", "Your rating", "Comment (optional)", "Send",
                      "Thank you for rating this visit.", "Where your technician is"),
    "/reports/_dash-layout": ("From", "To", "Search", "Customer", "Status", "Report", "Per", "Chart",
                              "only what went wrong", "overview", "visits done", "check-in-compliance", "cancelled"),
    "/forms/_dash-layout": ("Order type", "Form name", "Reports need a manager's approval", "repair", "inspection"),
    "/review/_dash-layout": ("pending", "approved", "rejected", "all"),
    "/plans/_dash-layout": ("Day", "Seconds", "Minimise", "travel time", "time and distance", "Balance workload", "Plan"),
    "/day/_dash-layout": ("Worker", "Speed"),
}  # fmt: skip
CHINESE_ON = {
    "/admin/": ("人员", "审计日志", "系统管理"),
    "/attendance/": ("考勤与工时", "工时表", "待处理的补录"),
    "/c/not-a-link": ("您的上门服务", "您的评分"),
    "/reports/_dash-layout": ("客户", "总览", "仅显示出问题的"),
    "/forms/_dash-layout": ("工单类型", "维修"),
    "/review/_dash-layout": ("待审核", "已驳回"),
    "/plans/_dash-layout": ("秒数", "优化目标", "均衡工作量"),
    "/day/_dash-layout": ("人员",),
}


def shown_texts(path: str, body: str) -> list[str]:
    """What a person reads of a served page: a plain page's texts and labels, or a Dash layout's children,
    labels, placeholders and titles (not the catalogue the page carries for its script)."""
    if not path.endswith("_dash-layout"):
        return i18n.page_texts(re.sub(r' data-messages="[^"]*"', "", body))
    texts: list[str] = []

    def walk(node: object, key: str = "") -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and key in ("children", "label", "placeholder", "title"):
            texts.append(node.strip())

    walk(json.loads(body))
    return texts


@pytest.mark.parametrize("path", list(ENGLISH_ON))
def test_a_page_rendered_in_chinese_shows_no_english_label(app, path):
    """Tests that a manager who chose 中文 gets the administration, attendance, customer, reports, forms, review,
    plans and day pages with Chinese headings and labels, and none of the English ones (the same page in English has them)."""
    client = app["server"].test_client()
    answer = client.post("/login", data={"name": "mona", "password": "mona-password-1", "next": "/"})
    assert answer.status_code == 302
    english = shown_texts(path, client.get(path, headers={"Accept-Language": "en"}).get_data(as_text=True))
    assert set(ENGLISH_ON[path]) <= set(english)  # the list is what the page shows in English
    client.set_cookie("lang", "zh_CN")
    served = client.get(path)
    assert served.status_code == 200
    chinese = shown_texts(path, served.get_data(as_text=True))
    assert sorted(set(ENGLISH_ON[path]) & set(chinese)) == []
    assert all(any(word in text for text in chinese) for word in CHINESE_ON[path]), chinese


def test_the_field_pages_reminders_read_in_the_workers_language(app):
    """Tests that the reminders the domain words in English reach a Chinese phone in Chinese, times and site
    names kept, and an English phone unchanged."""
    with app["server"].test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert i18n.reason("Your shift began at 07:30: clock in?") == "您的班次已于 07:30 开始：要上班打卡吗？"
        assert (
            i18n.reason("You are at Casino de Monte-Carlo, check in?") == "您已到达 Casino de Monte-Carlo，要签到吗？"
        )
    with app["server"].test_request_context("/", headers={"Accept-Language": "en"}):
        assert i18n.reason("Your shift began at 07:30: clock in?") == "Your shift began at 07:30: clock in?"


def test_a_refusal_from_the_domain_reaches_a_chinese_reader_in_chinese(app):
    """Tests that cancelling a cancelled order is refused in English without Accept-Language and in Chinese with
    zh-CN, the status word translated too (the domain words it; the API translates it on the way out)."""
    client = app["server"].test_client()
    auth = {"Authorization": f"Bearer {app['token']}"}
    site = client.post("/api/v1/sites", json={"name": "Casino", "location": {"lat": 43.7394, "lon": 7.4276}},
                       headers=auth)  # fmt: skip
    assert site.status_code == 201, site.get_json()
    body = {
        "site_id": site.get_json()["id"],
        "window_start": "2026-03-28T09:00:00Z",
        "window_end": "2026-03-28T11:00:00Z",
    }
    order = client.post("/api/v1/work-orders", json=body, headers=auth).get_json()["id"]
    cancel = {"status": "cancelled", "reason": "the customer called"}
    assert client.post(f"/api/v1/work-orders/{order}/status", json=cancel, headers=auth).status_code == 200
    english = client.post(f"/api/v1/work-orders/{order}/status", json=cancel, headers=auth)
    chinese = client.post(
        f"/api/v1/work-orders/{order}/status", json=cancel, headers={**auth, "Accept-Language": "zh-CN"}
    )
    assert english.status_code == chinese.status_code == 409
    assert english.get_json()["error"] == f"order {order} is cancelled; a cancelled order cannot change"
    assert chinese.get_json()["error"] == f"工单 {order} 的状态为“已取消”，不能再更改"


def test_a_check_ins_confidence_reads_in_chinese(app):
    """Tests that the review page's confidence block (head, the domain's reasons, the review state) is Chinese for a
    Chinese reader, the site's name and the figures kept."""
    checkin = {
        "kind": "in", "confidence": 55, "at": None, "review": {"status": "needs_review"},
        "reasons": [{"points_lost": 45, "text": "the fix is 1.0 km outside the geofence of Casino, beyond its ±20 m accuracy"}],
    }  # fmt: skip
    with app["server"].test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        shown = json.dumps(checkin_confidence(checkin), cls=PlotlyJSONEncoder, ensure_ascii=False)
    assert "签到 · 可信度 55/100" in shown and "等待经理审核" in shown
    assert "−45 定位点在 Casino 的电子围栏外 1.0 公里，超出其 ±20 米的精度" in shown
    assert "outside the geofence" not in shown and "Check-in" not in shown


def test_an_orders_record_reads_its_type_and_site_in_chinese_without_empty_brackets(app):
    """Tests that the history's order record says '赌场的拜访' style words in Chinese ('{site}的{type}', the type
    translated) and names the customer only when there is one; before, it read 'CAP D AIL（）的visit'."""
    from console.pages import reports

    record = {"order": {"id": 7, "reference": "R-7", "status": "assigned", "type": "visit", "site": "Casino",
                        "customer": "", "worker": "Ana"},
              "timeline": [], "checkins": [], "report": None, "photos": [], "track": []}  # fmt: skip
    with app["server"].test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        zh = i18n.messages("zh_CN")
        heading = _texts(reports.record_view(record))
        assert f"Casino的{zh['visit']} · Ana" in heading and "（）" not in heading and "visit" not in heading
    with app["server"].test_request_context("/", headers={"Accept-Language": "en"}):
        assert "visit at Casino · Ana" in _texts(reports.record_view(record))
        with_customer = {**record, "order": {**record["order"], "customer": "Harbour Ltd"}}
        assert "visit at Casino (Harbour Ltd) · Ana" in _texts(reports.record_view(with_customer))


def _texts(node: object) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, list | tuple):
        return " ".join(_texts(n) for n in node)
    children = getattr(node, "children", None)
    return "" if children is None else _texts(children)


def test_the_worker_card_words_tracking_and_the_current_order_in_chinese(app):
    """Tests that the live map's worker card says the worker's consent and current order in Chinese for a Chinese
    reader (they read 'consent given' and 'repair at Casino (accepted)' in a translated card)."""
    from console.pages.live import card_view

    card = {"worker_id": 1, "name": "Ana", "team": "Centre", "skills": ["gas"], "on_shift": True, "last_fix_time": None,
            "battery_pct": None, "speed_mps": None, "consent": "given",
            "current_order": {"type": "repair", "site": "Casino", "status": "en_route"}}  # fmt: skip
    with app["server"].test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        zh = i18n.messages("zh_CN")
        text = _texts(card_view(card))
    assert zh["consent given"] in text and f"Casino的{zh['repair']}（{zh['en route']}）" in text, text
    assert "consent" not in text and "repair" not in text, text


def test_a_long_stop_in_the_break_window_reads_in_chinese():
    """Tests that the long_stop reasons, with and without the break allowed, are wholly Chinese for a Chinese reader,
    and that an alert stored with the older wording still is."""
    zh = {
        "stopped away from any site or home for over 50 min (in the break window: 30 min of break allowed)": (
            "在现场和常驻地点以外停留超过 50 分钟（处于休息时段：允许休息 30 分钟）"
        ),
        "stopped away from any site or home for over 20 min": "在现场和常驻地点以外停留超过 20 分钟",
        "stopped away from any site for over 20 min": "在现场以外停留超过 20 分钟",
    }
    for reason, chinese in zh.items():
        assert i18n.translate_reason(reason, language="zh_CN") == chinese
