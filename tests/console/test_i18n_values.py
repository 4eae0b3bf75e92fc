"""The last English inside Chinese answers (in-process app, real SQLite, fakeredis): the values the domain fills into
its refusals (roles, statuses, leave kinds, figures with units), the refusals of webhooks, privacy, the planner,
the CSV import and a check-in's location, and the attendance's clock verdicts and timesheet clock check."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from console import i18n
from data import users_repo
from data.csv_import import IMPORTERS
from data.db import make_engine, make_sessionmaker, session_scope
from data.migrate import migrate
from dispatch.access import Role
from dispatch.clock import ManualClock
from tests.support.inprocess import bare_app

NOW = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)
ZH = {"Accept-Language": "zh-CN"}
LATIN = re.compile(r"[A-Za-z]{4,}")
"""A word of four Latin letters or more: English left in a Chinese sentence (names and field names aside)."""


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):
    tmp_path = tmp_path_factory.mktemp("i18n-values")
    outfield, sessions = bare_app(tmp_path, clock=ManualClock(NOW), timezone="Europe/Monaco")
    with session_scope(sessions) as session:
        _admin, admin = users_repo.create_user(session, name="ada", role=Role.ADMIN, password="ada-password-1")
        _worker, field = users_repo.create_user(session, name="fei", role=Role.FIELD_WORKER, password="fei-pw-12345")
    client = outfield.server.test_client()
    auth = {"Authorization": f"Bearer {admin}"}
    site = client.post("/api/v1/sites", json={"name": "Casino", "location": {"lat": 43.7394, "lon": 7.4276}},
                       headers=auth)  # fmt: skip
    worker = client.post("/api/v1/workers", json={"name": "Wang Fang", "device_id": "wf-1",
                                                  "home_base": {"lat": 43.7390, "lon": 7.4270}}, headers=auth)  # fmt: skip
    assert site.status_code == worker.status_code == 201, (site.get_json(), worker.get_json())
    link = client.post(f"/api/v1/workers/{worker.get_json()['id']}/push-link", json={}, headers=auth)
    assert link.status_code == 201, link.get_json()
    return {
        "client": client, "auth": auth, "field_auth": {"Authorization": f"Bearer {field}"},
        "site_id": site.get_json()["id"], "worker_id": worker.get_json()["id"], "token": link.get_json()["token"],
    }  # fmt: skip


def both(app, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs):
    """The same request answered in English (no Accept-Language) and in Chinese (zh-CN)."""
    client, headers = app["client"], headers or app["auth"]
    english = client.open(path, method=method, headers=headers, **kwargs)
    chinese = client.open(path, method=method, headers={**headers, **ZH}, **kwargs)
    assert english.status_code == chinese.status_code, (english.get_json(), chinese.get_json())
    return english, chinese


def test_the_values_inside_a_refusal_read_in_chinese(app):
    """Tests that a field worker refused an order reads their role in Chinese, that a refused status change lists
    the allowed statuses in Chinese, and that leave kinds and figures with units ("45 min", "1.0 km") are
    Chinese inside the domain's sentences, while English readers get the English unchanged."""
    english, chinese = both(app, "POST", "/api/v1/work-orders", headers=app["field_auth"], json={})
    assert english.status_code == 403
    assert english.get_json()["error"] == "role field_worker may not manage-orders"
    assert chinese.get_json()["error"] == "角色 外勤人员 无权执行 管理工单"

    body = {"site_id": app["site_id"], "window_start": "2026-03-28T09:00:00Z", "window_end": "2026-03-28T11:00:00Z"}
    order = app["client"].post("/api/v1/work-orders", json=body, headers=app["auth"]).get_json()["id"]
    english, chinese = both(app, "POST", f"/api/v1/work-orders/{order}/status", json={"status": "done"})
    assert english.status_code == 409
    assert english.get_json()["error"] == f"order {order} is new and cannot become done (allowed: assigned, cancelled)"
    assert chinese.get_json()["error"] == f"工单 {order} 的状态为“新建”，不能变为“已完成”（允许：已分派，已取消）"

    zh = {
        "away until 17:00 (sick)": "病假至 17:00",
        "the fix was 45 min old at the check-in (fresh up to 2 min)": "签到时定位点已过去 45 分钟（2 分钟 内算新鲜）",
        "the fix is 1.0 km outside the geofence of Casino, within its ±20 m accuracy": "定位点在 Casino 的电子围栏外 1.0 公里，在其 ±20 米的精度之内",
        "the phone's clock is 1 h 05 min ahead of the server's (limit 2 min)": "手机时钟比服务器快 1 小时 05 分钟（上限 2 分钟）",
    }  # fmt: skip
    for english_reason, chinese_reason in zh.items():
        assert i18n.translate_reason(english_reason, language="zh_CN") == chinese_reason
        assert i18n.translate_reason(english_reason, language="en") == english_reason
    # A list is translated only when every word of it is known; else it stays whole rather than half English.
    assert i18n.translate_reason("status: 'x' is not one of new, bogus", language="zh_CN") == (
        "status: 'x' 不是 new, bogus 之一"
    )


REFUSALS = {
    "webhook": ("POST", "/api/v1/webhooks", {"url": "ftp://example.org/hook", "events": ["order.status_changed"],
                                             "secret": "s" * 20},
                "url", "url: must start with http:// or https://", "url: 必须以 http:// 或 https:// 开头"),
    "consent": ("POST", "/api/v1/workers/{worker}/consent", {"given": "yes"},
                "given", "given: true to give consent, false to withdraw it", "given: true 表示同意，false 表示撤回同意"),
    "plan": ("POST", "/api/v1/plans", {"date": "2026-03-28", "seconds": "ten"},
             "seconds", "seconds: expected a number", "seconds: 应为数字"),
    "check-in review": ("POST", "/api/v1/checkins/1/review", {"decision": "maybe"},
                        "decision", "decision: 'maybe' is not approve or reject", "decision: 'maybe' 不是 approve 或 reject"),
}  # fmt: skip


@pytest.mark.parametrize("kind", list(REFUSALS))
def test_a_refusal_of_each_kind_reads_in_chinese(app, kind):
    """Tests that a webhook, a consent, a plan and a check-in's review refused through the API read in Chinese for
    zh-CN (the field name and the `field` key kept) and in English otherwise."""
    method, path, body, field, english_reason, chinese_reason = REFUSALS[kind]
    english, chinese = both(app, method, path.format(worker=app["worker_id"]), json=body)
    assert english.status_code == 400
    assert english.get_json() == {"error": english_reason, "field": field}
    assert chinese.get_json() == {"error": chinese_reason, "field": field}


def test_a_check_ins_location_refused_reads_in_chinese(app):
    """Tests that check-ins uploaded from the phone with a fix time lacking its zone, or a latitude off the globe,
    are answered action by action with their reasons in Chinese for a Chinese phone (English for an English one)."""
    check_in = {"action": "check_in", "order_id": 1, "at": "2026-03-27T09:00:00Z"}
    actions = [
        {**check_in, "client_action_id": "zh-1", "location": {"lat": 43.7394, "lon": 7.4276, "at": "2026-03-27T09:00:00"}},
        {**check_in, "client_action_id": "zh-2", "location": {"lat": 95, "lon": 7.4276, "accuracy_m": 5}},
    ]  # fmt: skip
    english, chinese = both(app, "POST", f"/api/v1/field/{app['token']}/actions", headers={}, json={"actions": actions})
    assert [(r["status"], r["field"], r["error"]) for r in english.get_json()["results"]] == [
        ("invalid", "location.at", "location.at: needs a time zone"),
        ("invalid", "location", "location: expected {lat, lon, accuracy_m}: latitude 95.0 is not within -90..90"),
    ]
    assert [r["error"] for r in chinese.get_json()["results"]] == [
        "location.at: 需要时区",
        "location: 应为 {lat, lon, accuracy_m}：纬度 95.0 不在 -90..90 之内",
    ]


def test_a_csv_imports_row_errors_read_in_chinese(tmp_path):
    """Tests that the CSV import's row errors (line, column, reason) read in Chinese through the API's translation
    (the import is a command, `python -m data import-csv`; its reasons are the catalogue's like any other)."""
    path = tmp_path / "sites.csv"
    path.write_text("external_ref,name,latitude,longitude\nx:1,Somewhere,north,7.42\n")
    database = f"sqlite:///{tmp_path / 'import.sqlite'}"
    migrate(database)
    with session_scope(make_sessionmaker(make_engine(database))) as session:
        report = IMPORTERS["sites"](session, str(path))
    [error] = [str(e) for e in report.errors]
    assert error == "line 2: latitude: 'north' is not a number"
    assert i18n.translate_reason(error, language="zh_CN") == "第 2 行：latitude: 'north' 不是数字"


def test_a_clock_in_outside_the_home_base_reads_in_chinese_on_the_phone_and_in_the_timesheet(app):
    """Tests that a clock-in 1 km from the home base is judged in the phone's language (the upload's answer and
    /attendance), and that the timesheet's clock check reads in Chinese for a Chinese manager, English otherwise,
    and raw in the CSV."""
    clock_in = {"client_action_id": "zh-clock-1", "action": "clock_in", "at": "2026-03-27T08:30:00Z",
                "location": {"lat": 43.7480, "lon": 7.4270, "accuracy_m": 5}}  # fmt: skip
    answer = app["client"].post(f"/api/v1/field/{app['token']}/actions", json={"actions": [clock_in]}, headers=ZH)
    [result] = answer.get_json()["results"]
    assert (result["status"], result["verdict"]) == ("applied", "outside_geofence"), result
    assert result["verdict_reason"].startswith("在 常驻地点 的电子围栏外 ") and result["verdict_reason"].endswith(" 米")
    english, chinese = both(app, "GET", f"/api/v1/field/{app['token']}/attendance", headers={})
    [said] = english.get_json()["clock_events"]
    assert said["verdict_reason"].endswith(" m outside the geofence of home base")
    assert chinese.get_json()["clock_events"][0]["verdict_reason"] == result["verdict_reason"]

    query = f"/api/v1/timesheets?from=2026-03-27&to=2026-03-27&worker_id={app['worker_id']}"
    english, chinese = both(app, "GET", query)
    [row] = english.get_json()["rows"]
    assert row["clock_check"] == f"clock-in: {said['verdict_reason']}"
    [row] = chinese.get_json()["rows"]
    assert row["clock_check"] == f"上班打卡: {result['verdict_reason']}"
    assert not LATIN.search(row["clock_check"].replace("Wang Fang", ""))
    csv = app["client"].get(query + "&format=csv", headers={**app["auth"], **ZH}).get_data(as_text=True)
    assert f"clock-in: {said['verdict_reason']}" in csv


def test_a_reason_on_the_local_clock_reads_in_chinese_with_its_zone() -> None:
    """Tests that an early check-in's reason given on Monaco's clock ("10:00 CET") reads in Chinese with the time and
    the zone kept, as one stored in UTC still does."""
    from console.i18n import translate_reason

    local = "checked in 2 h 00 min before the window opens at 10:00 CET (limit 30 min)"
    stored = "checked in 2 h 00 min before the window opens at 09:00 UTC (limit 30 min)"
    assert (
        translate_reason(local, language="zh_Hans_CN")
        == "在时间窗 10:00 CET 开始前 2 小时 00 分钟 签到（上限 30 分钟）"
    )
    assert "09:00 UTC" in translate_reason(stored, language="zh_Hans_CN")
