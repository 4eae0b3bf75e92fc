"""A small day to plan, shared by the route-plan API, planner and browser tests.

Three Monaco sites, two workers on shift 07:00-19:00 every day (Ana: gas; Bo: gas and hvac), and
tomorrow's orders (UTC, so a test never crosses midnight) posted through the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.support.servers import wait_until

SITES = """external_ref,name,address,latitude,longitude,geofence_radius_m,category
p:casino,Casino de Monte-Carlo,Place du Casino,43.7394,7.4276,60,amenity=casino
p:port,Port Hercule,Quai Albert 1er,43.7347,7.4214,60,amenity=marina
p:fontvieille,Fontvieille,Rue du Port,43.7290,7.4160,60,amenity=mall
"""
WORKERS = """name,device_id,skills,team,home_lat,home_lon,shift_days,shift_start,shift_end
Plan Ana,p-ana,gas,Centre,43.7390,7.4270,Mon-Sun,07:00,19:00
Plan Bo,p-bo,gas;hvac,South,43.7290,7.4160,Mon-Sun,07:00,19:00
"""
# (site id, required skills, window end hour): every window opens at 09:00 and the service is 30 min.
# Three jobs by noon and one nobody is qualified for (plumbing).
JOBS: tuple[tuple[int, list[str], float], ...] = (
    (1, ["gas"], 12),
    (2, ["gas"], 12),
    (3, ["hvac"], 12),
    (2, ["plumbing"], 12),
)


def seed_day(
    server: Any, tmp_path_factory: pytest.TempPathFactory, jobs: Sequence[tuple[int, list[str], float]] = JOBS
) -> dict[str, Any]:
    """Import the sites and workers, post `jobs` for tomorrow; returns {date, orders, admin headers}."""
    d = tmp_path_factory.mktemp("plan-csv")
    (d / "sites.csv").write_text(SITES)
    (d / "workers.csv").write_text(WORKERS)
    server.cli("data", "import-csv", "sites", str(d / "sites.csv"))
    server.cli("data", "import-csv", "workers", str(d / "workers.csv"))
    admin = {"Authorization": f"Bearer {server.admin_token}"}
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    midnight = datetime.combine(tomorrow, datetime.min.time(), UTC)
    ids = []
    for site_id, skills, until in jobs:
        body = {"site_id": site_id, "type": "repair", "required_skills": skills, "service_minutes": 30,
                "window_start": (midnight + timedelta(hours=9)).isoformat(),
                "window_end": (midnight + timedelta(hours=until)).isoformat()}  # fmt: skip
        r = requests.post(f"{server.url}/api/v1/work-orders", json=body, headers=admin, timeout=10)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return {"date": tomorrow.isoformat(), "orders": ids, "admin": admin}


def wait_for(
    server: Any, headers: dict[str, str], plan_id: int, states: set[str], timeout_s: float = 60
) -> dict[str, Any]:
    """Poll GET /api/v1/plans/{id} until its status is one of `states`; returns the last body."""
    body: dict[str, Any] = {}

    def reached() -> bool:
        body.clear()
        body.update(requests.get(f"{server.url}/api/v1/plans/{plan_id}", headers=headers, timeout=5).json())
        return body["status"] in states

    wait_until(reached, timeout_s, lambda: f"plan {plan_id} in {states} (last: {body})", poll_s=0.2)
    return body
