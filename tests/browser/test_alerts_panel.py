"""The exceptions panel end to end: a phone's fixes through /osmand make an arrival and alerts that reach the wall
map live, in a real headless chromium; the dispatcher focuses, reassigns and acknowledges them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from console import i18n
from tests.support.browser import hover_label, login, reread_held, watched_page
from tests.support.consent import consent_all
from tests.support.windows import window_fields

pytestmark = [pytest.mark.browser, pytest.mark.integration]

SITES = """external_ref,name,address,latitude,longitude,geofence_radius_m,category
p:casino,Casino de Monte-Carlo,Place du Casino,43.7394,7.4276,60,amenity=casino
"""
WORKERS = """name,device_id,skills,team,home_lat,home_lon,shift_days,shift_start,shift_end
Ana <b>Panel</b>,pa-ana,gas,Centre,43.7390,7.4270,Mon-Sun,00:00,24:00
"""
CASINO = (43.7394, 7.4276)
FAR = (43.7394, 7.4240)  # 290 m west: outside the geofence, a short walk (no impossible jump)


@pytest.fixture(scope="module")
def day(console_server, tmp_path_factory):
    console_server.import_csv(tmp_path_factory.mktemp("csv"), sites=SITES, workers=WORKERS)
    admin = {"Authorization": f"Bearer {console_server.admin_token}"}
    (ana,) = consent_all(requests.get, requests.post, admin, url=console_server.url)
    body = {"site_id": 1, "type": "repair", "required_skills": ["gas"], "service_minutes": 30, **window_fields()}
    order = requests.post(f"{console_server.url}/api/v1/work-orders", json=body, headers=admin, timeout=10).json()
    r = requests.post(
        f"{console_server.url}/api/v1/work-orders/{order['id']}/assign",
        json={"worker_id": ana["id"], "reason": "test set-up"},
        headers=admin,
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return {"admin": admin, "worker": ana["id"], "order": order["id"]}


def fix(server, at: datetime, where: tuple[float, float], **extra) -> None:
    params = {
        "id": "pa-ana",
        "timestamp": int(at.timestamp()),
        "lat": where[0],
        "lon": where[1],
        "accuracy": 8,
        **extra,
    }
    r = requests.post(f"{server.url}/osmand", params=params, timeout=10)
    assert r.status_code == 200, r.text


@pytest.fixture
def page(browser):
    yield from watched_page(browser, viewport={"width": 1600, "height": 900})


def test_an_arrival_and_alerts_reach_the_wall_map_and_are_acknowledged(page, console_server, day):
    """Tests that a phone dwelling at the casino turns its order on site on the map, that leaving without checking
    out and an SOS appear in the exceptions panel live (SOS first, count 2, names as text), that clicking one
    focuses the worker, Reassign opens the order's card, and that acknowledging with a note removes it here and
    stores the note, while the other alert is still listed after a reload."""
    login(page, console_server)
    order, worker = day["order"], day["worker"]
    page.wait_for_selector(f"path.order-id-{order}.order-assigned", timeout=10_000)
    assert page.locator("#alerts-count").inner_text() == "0"

    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=4)
    fix(console_server, t0, FAR)
    for s in (10, 40, 75):
        fix(console_server, t0 + timedelta(seconds=s), CASINO)
    page.wait_for_selector(f"path.order-id-{order}.order-on_site", timeout=10_000)

    for s in (100, 135, 170):
        fix(console_server, t0 + timedelta(seconds=s), FAR)
    page.wait_for_selector(".alert-item.alert-kind-left_site_without_check_out", timeout=10_000)
    fix(console_server, t0 + timedelta(seconds=180), FAR, alarm="sos")
    page.wait_for_selector(".alert-item.alert-kind-sos", timeout=10_000)
    page.wait_for_function("() => document.getElementById('alerts-count').textContent === '2'", timeout=5_000)
    kinds = page.locator(".alert-item .alert-kind").all_inner_texts()
    assert kinds == ["SOS", "Left site without check-out"]
    assert page.locator(".alert-item .alert-worker").first.inner_text() == "Ana <b>Panel</b>"  # text, not markup
    assert page.locator(".alerts-list b").count() == 0

    page.click(".alert-kind-sos .alert-focus")
    page.wait_for_function(
        "() => (document.getElementById('worker-card') || {}).textContent.includes('Ana <b>Panel</b>')",
        timeout=10_000,
    )
    page.click(".alert-kind-left_site_without_check_out .alert-reassign")
    page.wait_for_function(
        f"() => (document.getElementById('order-head') || {{}}).textContent.includes('#{order}')", timeout=10_000
    )

    page.fill(".alert-kind-sos .alert-note", "Called Ana: dropped the phone")
    page.click(".alert-kind-sos .alert-ack")
    page.wait_for_function("() => document.getElementById('alerts-count').textContent === '1'", timeout=5_000)
    assert page.locator(".alert-item.alert-kind-sos").count() == 0
    acked = requests.get(
        f"{console_server.url}/api/v1/alerts", params={"status": "acknowledged", "worker_id": worker},
        headers=day["admin"], timeout=5,
    ).json()  # fmt: skip
    assert [(a["kind"], a["note"]) for a in acked] == [("sos", "Called Ana: dropped the phone")]

    page.reload()
    page.wait_for_selector(".alert-item.alert-kind-left_site_without_check_out", timeout=15_000)
    assert page.locator(".alert-item").count() == 1
    assert not [e for e in page.errors if "favicon" not in e], page.errors


def test_alerts_raised_or_acknowledged_while_the_panel_rereads_its_list_stay_as_pushed(page, console_server, day):
    """Tests that an alert raised, and another acknowledged, after the panel's list of open alerts was read on the
    server but before the page used it, stay as their pushes left them: the new one listed, the acknowledged one
    gone (the older list neither takes the first away nor brings the second back)."""
    login(page, console_server)
    now = datetime.now(UTC).replace(microsecond=0)
    fix(console_server, now, FAR, alarm="sos")
    page.wait_for_selector(".alert-item.alert-kind-sos", timeout=10_000)
    page.wait_for_function("() => window.outfield.alertReads >= 1", timeout=10_000)  # the connect's own read is done
    sos = requests.get(
        f"{console_server.url}/api/v1/alerts", params={"status": "open", "worker_id": day["worker"]},
        headers=day["admin"], timeout=5,
    ).json()  # fmt: skip
    [sos_id] = [a["id"] for a in sos if a["kind"] == "sos"]
    read = page.evaluate("() => window.outfield.alertReads")
    reread_held(page, console_server, "/api/v1/alerts?status=open")

    acked = requests.post(
        f"{console_server.url}/api/v1/alerts/{sos_id}/ack", json={"note": "Phone dropped, called back"},
        headers=day["admin"], timeout=5,
    )  # fmt: skip
    assert acked.status_code == 200, acked.text
    fix(console_server, now + timedelta(seconds=20), FAR, batt=5)
    page.wait_for_selector(".alert-item.alert-kind-low_battery", timeout=10_000)
    page.wait_for_selector(".alert-item.alert-kind-sos", state="detached", timeout=10_000)
    page.evaluate("() => window.__release()")
    page.wait_for_function("(read) => window.outfield.alertReads > read", arg=read, timeout=10_000)

    assert page.locator(".alert-item.alert-kind-low_battery").count() == 1
    assert page.locator(".alert-item.alert-kind-sos").count() == 0
    assert not [e for e in page.errors if "favicon" not in e], page.errors


def test_a_chinese_wall_words_the_alerts_reasons_in_chinese(page, console_server, day):
    """Tests that on the wall in Chinese the exceptions panel words each alert's reason in Chinese, the same words the
    API gives a Chinese reader (console/i18n.py's templates, which live.js applies to reasons pushed live): before,
    the kind was Chinese and the reason English ('battery at 4 % (alert below 15 %)')."""
    login(page, console_server)
    page.click(".lang-switch button[value=zh_CN]")
    try:
        page.wait_for_selector(".plans-nav:has-text('路线计划')", timeout=15_000)
        at = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
        fix(console_server, at, FAR, alarm="sos", batt=4)
        page.wait_for_selector(".alert-item.alert-kind-sos", timeout=10_000)
        page.wait_for_selector(".alert-item.alert-kind-low_battery", timeout=10_000)
        listed = requests.get(f"{console_server.url}/api/v1/alerts", params={"status": "open"}, headers=day["admin"],
                              timeout=5).json()  # fmt: skip
        for kind in ("sos", "low_battery"):
            (reason,) = [a["reason"] for a in listed if a["kind"] == kind]
            chinese = i18n.translate_reason(reason, language="zh_CN")
            assert chinese != reason and not any(c.isascii() and c.isalpha() for c in chinese.replace("SOS", "")), (
                chinese
            )
            shown = page.locator(f".alert-item.alert-kind-{kind} .alert-reason").inner_text()
            assert shown == chinese, (kind, shown)
        # An order's label on hover: its type and status in Chinese too (the feature's label is English).
        status = requests.get(f"{console_server.url}/api/v1/work-orders/{day['order']}", headers=day["admin"],
                              timeout=5).json()["status"]  # fmt: skip
        zh = i18n.messages("zh_CN")
        expected = f"{zh['repair']} · Casino de Monte-Carlo · {zh[status.replace('_', ' ')]}"
        hover_label(page, f"path.order-marker.order-id-{day['order']}", lambda t: expected in t, label=".order-label")
        page.mouse.move(0, 0)
        # The page's port words every kind of reason as the server does: figures with units, parts in turn.
        samples = [
            "moved 1.2 km in 30 s (144 km/h; limit 120 km/h)", "no fix for 12 min on shift (alert after 10 min)",
            "arrives about 12 min after the window ends (25 min away)", "stopped away from any site for over 30 min",
            "stopped away from any site or home for over 50 min (in the break window: 30 min of break allowed)",
            "1.2 km from the planned route for 5 min (alert beyond 300 m)", "the phone reports a mock (simulated) location",
            "left the site of order 7 while on site, without checking out", "a reason nobody wrote a template for",
            "suspicious check-in: 290 m outside the geofence of Casino; and 5 min after the window closed at 10:00",
            "suspicious check-out: the fix was taken 12 min before the check-in (limit 10 min)",
        ]  # fmt: skip
        for reason in samples:
            assert page.evaluate("(r) => window.outfield.reasonText(r)", reason) == i18n.translate_reason(
                reason, language="zh_CN"
            ), reason
        assert not [e for e in page.errors if "favicon" not in e], page.errors
    finally:
        page.click(".lang-switch button[value=en]")
