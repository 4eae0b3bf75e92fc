"""The day page's presenters (pure) and who may open it (in-process app, real SQLite, fakeredis)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dash_leaflet as dl
import fakeredis
import pytest
from dash import html

from console.app import create_app
from console.pages import day as day_page
from console.pages.live import card_view
from data import users_repo, workers_repo
from data.db import make_engine, make_sessionmaker, session_scope
from data.migrate import migrate
from data.settings import Settings
from dispatch.access import Actor, Role
from dispatch.clock import ManualClock
from services.day_service import DayService
from tests.support.field_day import seed_field_day

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=6)
HOSTILE = '<img src=x onerror="alert(1)">'


def text_of(component: Any) -> str:
    if isinstance(component, list | tuple):
        return " ".join(text_of(c) for c in component)
    if isinstance(component, str):
        return component
    return text_of(getattr(component, "children", None) or [])


@pytest.fixture
def world(tmp_path: Path):
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
        seeded = seed_field_day(session, t0=T0, site_prefix=HOSTILE)
        ben = workers_repo.add_worker(session, name="Ben", device_id="dev-ben")
        _, dispatcher = users_repo.create_user(session, name="dora", role=Role.DISPATCHER)
        _, ana = users_repo.create_user(session, name="ana", role=Role.FIELD_WORKER, worker_id=seeded.worker_id)
    manager = Actor(1, "mia", Role.MANAGER)
    worker_day = DayService(sessions=sessions, clock=ManualClock(NOW)).worker_day(
        actor=manager, worker_id=seeded.worker_id, day=T0.date()
    )
    return {
        "client": outfield.server.test_client(),
        "app": outfield,
        "day": worker_day,
        "seeded": seeded,
        "ben": ben.id,
        "dispatcher": {"Authorization": f"Bearer {dispatcher}"},
        "ana": {"Authorization": f"Bearer {ana}"},
    }


def test_the_table_says_which_visit_was_late_by_how_much_and_which_was_missed(world):
    """Tests that the plan-versus-actual table has one row per planned visit in route order, classed by status,
    with the arrival's source, the lateness in minutes against the window and the plan, and 'missed'."""
    table = day_page.comparison_table(day_page.plan_vs_actual_json(world["day"]))
    rows = table.children[1].children
    assert [r.className for r in rows] == ["pva-row pva-on_time", "pva-row pva-late", "pva-row pva-missed"]
    assert "08:13 (check-in)" in text_of(rows[0]) and "on time (-2 min vs plan)" in text_of(rows[0])
    assert "late: 14 min after the window, 24 min behind plan" in text_of(rows[1])
    assert "08:44 (geofence)" in text_of(rows[1])
    assert text_of(rows[2]).endswith("missed")


def test_the_table_reads_its_sources_and_minutes_in_chinese(world):
    """Tests that for a Chinese reader the table's arrival sources and minutes are Chinese ('08:44 (地理围栏)', '14 分钟');
    they were 'geofence' and '14 min' in a translated table."""
    from console import i18n

    zh = i18n.messages("zh_CN")
    with world["app"].server.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        rows = day_page.comparison_table(day_page.plan_vs_actual_json(world["day"])).children[1].children
        late = text_of(rows[1])
    assert f":44 ({zh['geofence']})" in late and zh["{n} min"].format(n=14) in late, late
    assert "geofence" not in late and " min" not in late, late


def test_a_day_without_a_published_route_says_so_instead_of_a_table(world):
    """Tests that without a plan the side panel says only what happened is shown."""
    pva = {**day_page.plan_vs_actual_json(world["day"]), "has_plan": False, "visits": []}
    assert "No published route" in text_of(day_page.comparison_table(pva))


def test_map_texts_are_text_children_never_html(world):
    """Tests that every tooltip on the day's map is a plain text child (a site named like HTML stays text) and that
    the planned route, the trips and the stops are drawn with their own classes."""
    layers = day_page.map_layers(world["day"])
    tooltips = [layer.children for layer in layers if getattr(layer, "children", None) is not None]
    assert all(isinstance(t, dl.Tooltip) and isinstance(t.children, str) for t in tooltips)
    assert f"#2 · order {world['seeded'].orders['B']} · {HOSTILE}B · planned 08:20–08:50 · late" in [
        t.children for t in tooltips
    ]
    classes = [layer.className.split()[0] for layer in layers]
    assert classes.count("day-plan") == 1 and classes.count("day-trip") == 3 and classes.count("day-stop") == 4
    assert "dangerously_allow_html" not in json.dumps([layer.to_plotly_json() for layer in layers], default=str)


def test_the_address_picks_worker_and_day():
    """Tests that ?worker=&date= picks both, and that anything else picks nothing rather than failing."""
    assert day_page.address_choice("?worker=12&date=2025-03-03") == (12, date(2025, 3, 3))
    assert day_page.address_choice("?worker=x&date=2025-02-30") == (None, None)
    assert day_page.address_choice(None) == (None, None)


def test_the_wall_maps_worker_card_links_to_the_workers_day():
    """Tests that the worker card on the live map links to /day/ for that worker."""
    card = {
        "worker_id": 7, "name": "Ana", "team": "", "skills": [], "on_shift": True, "last_fix_time": None,
        "battery_pct": None, "speed_mps": None, "current_order": None,
    }  # fmt: skip
    [link] = [c for c in card_view(card) if isinstance(c, html.A)]
    assert link.href == "/day/?worker=7"


def test_office_roles_open_the_day_page_and_a_field_worker_is_refused(world):
    """Tests that a dispatcher gets the day page's layout (worker picker, playback) and a field worker gets the
    refusal, and without a login Dash's layout answers 401."""
    client = world["client"]
    office = json.dumps(client.get("/day/_dash-layout", headers=world["dispatcher"]).get_json())
    assert "day-worker" in office and "day-play" in office
    field = json.dumps(client.get("/day/_dash-layout", headers=world["ana"]).get_json())
    assert "may not view workers' days" in field and "day-play" not in field
    assert client.get("/day/_dash-layout").status_code == 401
