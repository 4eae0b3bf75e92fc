"""Reports and order history over HTTP (in-process app, real SQLite, fakeredis): figures, exports, access."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import fakeredis
import openpyxl
import pytest

from console.app import create_app
from data import audit_repo, customer_repo, users_repo
from data.db import make_engine, make_sessionmaker, session_scope
from data.migrate import migrate
from data.settings import Settings
from dispatch.access import Role
from dispatch.clock import ManualClock
from tests.support.report_week import at, seed_week

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
WEEK = {"from": "2026-03-02", "to": "2026-03-08"}


@pytest.fixture
def app(tmp_path: Path):
    settings = replace(
        Settings.from_env(
            {"OUTFIELD_VAR": str(tmp_path), "SECRET_KEY": "test", "OUTFIELD_OSRM_DIR": str(tmp_path / "none")}
        ),
        redis_url="redis://fake:6379/0",
    )
    migrate(settings.database_url)
    outfield = create_app(settings, clock=ManualClock(NOW))
    outfield.bus._redis = fakeredis.FakeRedis()  # noqa: SLF001 - unit test: no Redis server needed for this edge
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with session_scope(sessions) as session:
        _, manager = users_repo.create_user(session, name="mia", role=Role.MANAGER)
        dispatcher_user, dispatcher = users_repo.create_user(session, name="dora", role=Role.DISPATCHER)
        week = seed_week(session, dispatcher_id=dispatcher_user.id)
    return {
        "client": outfield.server.test_client(),
        "sessions": sessions,
        "week": week,
        "manager": {"Authorization": f"Bearer {manager}"},
        "dispatcher": {"Authorization": f"Bearer {dispatcher}"},
    }


def test_report_list_is_for_managers_not_dispatchers(app):
    """Tests that a manager gets the report names with descriptions and a dispatcher gets 403 with a reason."""
    client = app["client"]
    listed = client.get("/api/v1/reports", headers=app["manager"])
    assert listed.status_code == 200
    names = [r["name"] for r in listed.get_json()]
    assert names == ["overview", "check-in-compliance", "response-times", "productivity", "visits-gone-wrong"]
    refused = client.get("/api/v1/reports", headers=app["dispatcher"])
    assert refused.status_code == 403
    assert "dispatcher" in refused.get_json()["error"]


def test_overview_per_team_gives_the_weeks_figures(app):
    """Tests that last week per team reads: north 2 visits done, half its check-ins verified, half on time,
    1.1 km driven; south no visit done, nothing first-time fixed; no survey answered: no rating."""
    body = app["client"].get("/api/v1/reports/overview", query_string={**WEEK, "group": "team"},
                             headers=app["manager"]).get_json()  # fmt: skip
    rows = {r["key"]: r for r in body["rows"]}
    north, south = rows["north"], rows["south"]
    assert (north["orders"], north["visits_done"], north["verified_share"], north["on_time_share"]) == (2, 2, 0.5, 0.5)
    assert north["km"] == pytest.approx(1.1, abs=0.05)
    assert (south["visits_done"], south["first_time_fix_rate"], south["anomaly_rate"]) == (0, 0.0, 1.0)
    assert north["ratings"] is None and body["figures"]["ratings"] == {"label": "customer rating", "unit": "1-5"}


def test_a_customers_survey_answer_shows_as_the_rating_of_its_worker_and_team(app):
    """Tests that a stored survey answer (4 of 5) on the good visit reads as the rating of its worker and team,
    and the ratings drill-down lists that order; an unrated worker has no rating."""
    week = app["week"]
    with session_scope(app["sessions"]) as session:
        customer_repo.add_answer(session, order_id=week.good, worker_id=week.ana, link_id="l1", rating=4,
                                 comment="on time", at=at(0, 12))  # fmt: skip
    client = app["client"]
    by_team = client.get("/api/v1/reports/overview", query_string={**WEEK, "group": "team"}, headers=app["manager"])
    assert {r["key"]: r["ratings"] for r in by_team.get_json()["rows"]}["north"] == 4.0
    by_worker = client.get("/api/v1/reports/overview", query_string={**WEEK, "group": "worker"}, headers=app["manager"])
    ratings = {r["key"]: r["ratings"] for r in by_worker.get_json()["rows"]}
    assert (ratings[str(week.ana)], ratings[str(week.ben)]) == (4.0, None)
    behind = client.get("/api/v1/reports/orders", headers=app["manager"],
                        query_string={**WEEK, "group": "team", "key": "north", "figure": "ratings"})  # fmt: skip
    assert behind.status_code == 200, behind.get_json()
    assert [o["id"] for o in behind.get_json()["orders"]] == [week.good]
    by_type = client.get("/api/v1/reports/overview", query_string={**WEEK, "group": "type"}, headers=app["manager"])
    rows = {r["key"]: r for r in by_type.get_json()["rows"]}
    assert (rows["repair"]["ratings"], rows["visit"]["ratings"], rows["repair"]["orders"]) == (4.0, None, 2)
    assert rows["repair"]["km"] is None  # kilometres are driven by people, not order types


def test_report_exports_as_csv_and_xlsx_with_a_filename(app):
    """Tests that the compliance report downloads as CSV and as XLSX, one row per team, named by report and period."""
    client = app["client"]
    got = client.get("/api/v1/reports/check-in-compliance", query_string={**WEEK, "format": "csv"},
                     headers=app["manager"])  # fmt: skip
    assert got.status_code == 200 and got.mimetype == "text/csv"
    assert (
        got.headers["Content-Disposition"]
        == 'attachment; filename="check-in-compliance-team-2026-03-02-2026-03-08.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(got.get_data(as_text=True))))
    assert [(r["key"], r["verified_share"]) for r in rows] == [("north", "0.5"), ("south", "0.0")]
    xlsx = client.get("/api/v1/reports/check-in-compliance", query_string={**WEEK, "format": "xlsx"},
                      headers=app["manager"])  # fmt: skip
    assert xlsx.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("group", "key", "label", "orders", "verified_share", "anomaly_rate")
    assert [v[1] for v in values[1:]] == ["north", "south"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"to": "2026-03-08"}, "from"),
        ({"from": "2026-13-01", "to": "2026-03-08"}, "from"),
        ({"from": "2026-03-08", "to": "2026-03-01"}, "to"),
        ({"from": "2025-01-01", "to": "2026-03-08"}, "to"),
        ({**WEEK, "format": "pdf"}, "format"),
        ({**WEEK, "group": "planet"}, "group"),
    ],
)
def test_bad_report_request_gets_400_naming_the_field(app, query, field):
    """Tests that a missing or bad date, a reversed or over-long range, an unknown format or grouping is a 400
    naming the field, never a 5xx."""
    got = app["client"].get("/api/v1/reports/overview", query_string=query, headers=app["manager"])
    assert got.status_code == 400
    assert got.get_json()["field"] == field


def test_unknown_report_is_404(app):
    """Tests that an unknown report name is a 404 pointing at the list."""
    got = app["client"].get("/api/v1/reports/happiness", query_string=WEEK, headers=app["manager"])
    assert got.status_code == 404 and "GET /api/v1/reports" in got.get_json()["error"]


def test_drill_down_lists_the_orders_that_went_wrong(app):
    """Tests that opening the north team's on-time figure lists the late visit, and the south team's
    first-time fix lists the failed repair."""
    client, week = app["client"], app["week"]
    late = client.get("/api/v1/reports/orders", query_string={**WEEK, "group": "team", "key": "north",
                      "figure": "on_time_share", "wrong": "1"}, headers=app["manager"]).get_json()  # fmt: skip
    assert [o["id"] for o in late["orders"]] == [week.late]
    failed = client.get("/api/v1/reports/orders", query_string={**WEEK, "group": "team", "key": "south",
                        "figure": "first_time_fix_rate", "wrong": "1"}, headers=app["manager"]).get_json()  # fmt: skip
    assert [(o["id"], o["reference"]) for o in failed["orders"]] == [(week.failed, "W-FAIL")]


def test_visits_gone_wrong_names_each_bad_visit_and_why(app):
    """Tests that the visits-gone-wrong report lists the late visit and the failed repair with their reasons."""
    body = app["client"].get("/api/v1/reports/visits-gone-wrong", query_string=WEEK, headers=app["manager"]).get_json()
    reasons = {r["order_id"]: r["reasons"] for r in body["rows"]}
    week = app["week"]
    assert reasons == {week.late: "late, check-in not verified, check-in/-out anomaly",
                       week.failed: "failed, check-in not verified, check-in/-out anomaly"}  # fmt: skip


def test_a_reports_json_rows_come_a_page_at_a_time_and_the_csv_holds_them_all(app):
    """Tests that `per_page=1` gives one visit gone wrong per page with the total, page 2 the other one, a
    per_page beyond 10,000 is refused naming `per_page`, and the CSV export holds both."""
    client, headers = app["client"], app["manager"]

    def page(**extra):
        return client.get("/api/v1/reports/visits-gone-wrong", query_string={**WEEK, **extra}, headers=headers)

    first, second = page(per_page="1").get_json(), page(per_page="1", page="2").get_json()
    assert (first["total"], first["page"], first["per_page"], len(first["rows"])) == (2, 1, 1, 1)
    assert {first["rows"][0]["order_id"], second["rows"][0]["order_id"]} == {app["week"].late, app["week"].failed}
    assert page(per_page="1", page="3").get_json()["rows"] == []
    refused = page(per_page="10001")
    assert refused.status_code == 400 and refused.get_json()["field"] == "per_page"
    exported = page(format="csv", per_page="1").get_data(as_text=True).strip().splitlines()
    assert len(exported) == 3  # the header and both visits


def test_history_filters_pages_and_exports(app):
    """Tests that the history finds orders by customer, status, worker and text, pages them with a total,
    exports the page as CSV, and refuses a bad status naming `status`."""
    client, week, headers = app["client"], app["week"], app["dispatcher"]

    def search(**extra):
        got = client.get("/api/v1/orders/history", query_string={**WEEK, **extra}, headers=headers)
        assert got.status_code == 200, got.get_json()
        return got.get_json()

    assert [o["id"] for o in search(customer="harbour")["orders"]] == [week.good]
    assert [o["id"] for o in search(status="failed")["orders"]] == [week.failed]
    assert {o["id"] for o in search(worker_id=str(week.ana))["orders"]} == {week.good, week.late}
    assert [o["reference"] for o in search(q="w-late")["orders"]] == ["W-LATE"]
    paged = search(per_page="2", page="2")
    assert (paged["total"], [o["id"] for o in paged["orders"]]) == (3, [week.good])  # latest window first
    assert search(**{"from": "2026-02-01", "to": "2026-02-07"})["total"] == 0
    exported = client.get("/api/v1/orders/history", query_string={**WEEK, "team": "south", "format": "csv"},
                          headers=headers)  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [(r["reference"], r["worker"], r["customer"]) for r in rows] == [("W-FAIL", "Ben Okafor", "Bakery Rossi")]
    bad = client.get("/api/v1/orders/history", query_string={**WEEK, "status": "lost"}, headers=headers)
    assert (bad.status_code, bad.get_json()["field"]) == (400, "status")
    too_many = client.get("/api/v1/orders/history", query_string={**WEEK, "per_page": "1000"}, headers=headers)
    assert (too_many.status_code, too_many.get_json()["field"]) == (400, "per_page")


def test_record_has_timeline_checkins_and_the_visits_track_read_through_the_audit(app):
    """Tests that an order's record gives its transitions with who, when and where, its check-in verdict and
    the worker's fixes from setting off to finishing, and that reading the track is audited."""
    client, week = app["client"], app["week"]
    got = client.get(f"/api/v1/orders/{week.good}/record", headers=app["dispatcher"])
    assert got.status_code == 200
    record = got.get_json()
    steps = [(t["to"], t["at"][11:16], t["by"]) for t in record["timeline"]]
    assert steps == [("new", "06:00", ""), ("assigned", "07:00", "dora"), ("accepted", "08:00", ""),
                     ("en_route", "09:00", ""), ("on_site", "09:30", ""), ("done", "10:30", "")]  # fmt: skip
    assert record["timeline"][4]["latitude"] == 43.735
    checkins = [{k: c[k] for k in ("kind", "verdict", "distance_m")} for c in record["checkins"]]
    assert checkins == [{"kind": "in", "verdict": "verified", "distance_m": 12.0}]
    assert "confidence" in record["checkins"][0] and "review" in record["checkins"][0]  # the field record's whole entry
    assert len(record["track"]) == 31 and record["track"][0]["at"] == "2026-03-02T09:00:00+00:00"
    with session_scope(app["sessions"]) as session:
        actions = [e.action for e in audit_repo.list_audit(session)]
    assert "view-visit-track" in actions
    assert client.get("/api/v1/orders/999999/record", headers=app["dispatcher"]).status_code == 404
