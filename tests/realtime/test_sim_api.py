"""The demo simulator as an API client: reading the demo from the API's answers, its token given to it, and the
road paths asked once (pure functions and fakes; the end-to-end run is tests/integration/test_demo_simulator.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from dispatch.geo import LatLon
from dispatch.road_path import RoadRoute
from realtime.sim_api import HttpRoads, demo_world
from realtime.sim_staff import Failure
from realtime.simulate_cmd import NO_TOKEN, SimConfig, config_from_env

REPO = Path(__file__).resolve().parents[2]
MONACO = ZoneInfo("Europe/Monaco")
HOME = {"lat": 43.7384, "lon": 7.4246}
SITE = {"lat": 43.7311, "lon": 7.4197}


def worker(id_: int, device: str, *, shifts: list[str], active: bool = True) -> dict[str, object]:
    """A worker as GET /api/v1/workers answers."""
    return {"id": id_, "name": f"W{id_}", "device_id": device, "skills": [], "team": "", "team_id": None,
            "home_base": HOME, "shifts": shifts, "active": active}  # fmt: skip


def order(id_: int, status: str, worker_id: int | None, start: str = "2025-03-03T07:00:00+00:00") -> dict[str, object]:
    """A work order as GET /api/v1/work-orders answers."""
    return {"id": id_, "site_id": 7, "status": status, "assigned_worker_id": worker_id,
            "window_start": start, "window_end": "2025-03-03T15:00:00+00:00"}  # fmt: skip


def test_the_demo_is_read_from_the_apis_answers():
    """Tests that only active demo phones are simulated, one on site starts at their order's site and the others at
    home, the order sites are the destinations, and a phone sends only on shift on the office's clock (± 15 min)."""
    workers = [
        worker(1, "demo-01", shifts=["Mon-Fri 08:00-16:00"]),
        worker(2, "demo-02", shifts=["Mon-Fri 08:00-16:00"]),
        worker(3, "ana-phone", shifts=[]),
        worker(4, "demo-03", shifts=[], active=False),
    ]
    sites = [{"id": 7, "location": SITE, "geofence_radius_m": 50}]
    monday_9_local = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
    world = demo_world(workers, sites, [order(10, "on_site", 2), order(11, "new", None)], zone=MONACO,
                       today_at=monday_9_local)  # fmt: skip
    assert [(w.device_id, w.home) for w in world.workers] == [
        ("demo-01", LatLon(HOME["lat"], HOME["lon"])),
        ("demo-02", LatLon(SITE["lat"], SITE["lon"])),
    ]
    assert world.worker_ids == {"demo-01": 1, "demo-02": 2}
    assert world.destinations == (LatLon(SITE["lat"], SITE["lon"]),)
    assert world.orders_today == 2
    assert world.on_duty("demo-01", monday_9_local)
    assert world.on_duty("demo-01", datetime(2025, 3, 3, 6, 50, tzinfo=UTC))  # 07:50 in Monaco: within the grace
    assert not world.on_duty("demo-01", datetime(2025, 3, 3, 6, 0, tzinfo=UTC))  # 07:00 in Monaco
    assert not world.on_duty("demo-01", datetime(2025, 3, 8, 10, 0, tzinfo=UTC))  # a Saturday


def test_the_token_is_given_by_a_file_or_the_environment_and_none_is_refused(tmp_path):
    """Tests that the token comes from OUTFIELD_SIM_TOKEN_FILE or OUTFIELD_SIM_TOKEN, and that none, an empty file
    or an unreadable one is a reason naming how to make one."""
    token_file = tmp_path / "simulator.token"
    token_file.write_text("tok-1\n")
    env = {"OUTFIELD_SIM_TOKEN_FILE": str(token_file), "PORT": "8123", "OUTFIELD_SIM_SPEED": "5"}
    assert config_from_env(env, url=None, speed=None) == SimConfig("http://127.0.0.1:8123", "tok-1", 5.0, 0)
    assert config_from_env({"OUTFIELD_SIM_TOKEN": "tok-2"}, url="http://x:1", speed=2).api_token == "tok-2"
    assert config_from_env({}, url=None, speed=None) == NO_TOKEN
    token_file.write_text("")
    assert "is empty" in config_from_env(env, url=None, speed=None)
    assert "cannot read" in config_from_env({"OUTFIELD_SIM_TOKEN_FILE": str(tmp_path / "none")}, url=None, speed=None)


def test_python_m_realtime_simulate_without_a_token_says_why_and_exits_2():
    """Tests that the simulator given no token exits 2 at once with one line saying how to give it one (no traceback)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTFIELD_SIM_TOKEN")}
    result = subprocess.run([sys.executable, "-m", "realtime", "simulate", "--url", "http://127.0.0.1:9"], env=env,
                            cwd=REPO, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2
    assert "refusing to start: no API token" in result.stderr and "create-token" in result.stderr
    assert "Traceback" not in result.stderr


def test_road_paths_are_asked_once_and_a_failure_to_answer_is_asked_again():
    """Tests that a path (or the server's 404 "no route") is asked of the server once, and that an unanswered ask
    drives a straight line this time (None) and is asked again the next."""
    a, b, c = LatLon(43.73, 7.42), LatLon(43.74, 7.43), LatLon(43.75, 7.44)
    path = RoadRoute(points=(a, LatLon(43.735, 7.421), b), duration_s=120.0, distance_m=1500.0)
    answers: dict[tuple[LatLon, LatLon], list[RoadRoute | Failure]] = {
        (a, b): [path],
        (a, c): [Failure(404, "no road route")],
        (b, c): [Failure(None, "server not reachable"), path],
    }
    asked: list[tuple[LatLon, LatLon]] = []

    def route(x: LatLon, y: LatLon) -> RoadRoute | Failure:
        asked.append((x, y))
        return answers[(x, y)].pop(0)

    roads = HttpRoads(route)
    assert roads.route(a, b) is path and roads.route(a, b) is path
    assert roads.route(a, c) is None and roads.route(a, c) is None
    assert roads.route(b, c) is None and roads.route(b, c) is path
    assert asked == [(a, b), (a, c), (b, c), (b, c)]
