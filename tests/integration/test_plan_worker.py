"""Route plans solved by the planner process (`python -m console plan-worker`) beside `python -m console`."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests
import socketio

from data import plans_repo
from data.db import make_engine, make_sessionmaker, session_scope
from tests.support.plan_day import seed_day, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def day(console_server, tmp_path_factory):
    seeded = seed_day(console_server, tmp_path_factory)
    token = console_server.cli("data", "create-user", "--role", "manager", "--name", "planner")
    return {
        "date": seeded["date"],
        "orders": seeded["orders"],
        "token": token,
        "headers": {"Authorization": f"Bearer {token}"},
    }


def stored_job(console_server, plan_id: int) -> dict[str, Any]:
    engine = make_engine(console_server.env["DATABASE_URL"])
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            stored = plans_repo.get_plan(session, plan_id)
    finally:
        engine.dispose()
    assert stored is not None
    return dict(stored.payload["job"])


def test_the_planner_process_solves_the_plan_and_streams_progress_to_a_managers_socket(
    console_server, plan_worker, day
):
    """Tests that with a planner running, the plan is solved in the planner process (never in the web process),
    and a manager's socket receives its plan-progress events, from running to done."""
    events: list[dict[str, Any]] = []
    arrived = threading.Event()
    client = socketio.Client(reconnection=False)

    @client.on("plan-progress")
    def progress(payload: dict[str, Any]) -> None:
        events.append(payload)
        if payload["status"] == "done":
            arrived.set()

    client.connect(console_server.url, auth={"token": day["token"]}, transports=["websocket"], wait_timeout=10)
    try:
        r = requests.post(f"{console_server.url}/api/v1/plans", json={"date": day["date"], "order_ids": day["orders"], "seconds": 2},
                          headers=day["headers"], timeout=10)  # fmt: skip
        assert r.status_code == 202, r.text
        plan_id = r.json()["id"]
        done = wait_for(console_server, day["headers"], plan_id, {"done", "failed", "interrupted"})
        assert done["status"] == "done", done
        assert arrived.wait(10), events
    finally:
        client.disconnect()
    routed = {s["order_id"] for route in done["plan"]["routes"] for s in route["stops"]}
    assert routed == set(day["orders"][:3])
    assert stored_job(console_server, plan_id)["runner"] == plan_worker.name
    assert f"plan {plan_id} running in {plan_worker.name}" in plan_worker.log()
    assert "running in web-" not in console_server.log_path.read_text(errors="replace")
    mine = [e for e in events if e["id"] == plan_id]
    assert mine[0]["status"] == "running" and mine[-1]["status"] == "done"
    assert mine[-1]["progress"]["best_cost"] == done["progress"]["best_cost"]


def test_a_plan_in_the_planner_can_be_stopped_early_keeping_the_best(console_server, plan_worker, day):
    """Tests that stopping a 60 s optimisation running in the planner ends it "stopped" with a plan, well before
    its budget (the planner reads the stop flag from Redis)."""
    r = requests.post(f"{console_server.url}/api/v1/plans", json={"date": day["date"], "seconds": 60},
                      headers=day["headers"], timeout=10)  # fmt: skip
    plan_id = r.json()["id"]
    wait_for(console_server, day["headers"], plan_id, {"running"})
    stop = requests.post(f"{console_server.url}/api/v1/plans/{plan_id}/stop", headers=day["headers"], timeout=5)
    assert stop.json() == {"id": plan_id, "stopping": True}
    stopped = wait_for(
        console_server, day["headers"], plan_id, {"stopped", "done", "failed", "interrupted"}, timeout_s=45
    )
    assert stopped["status"] == "stopped" and stopped["plan"]["routes"], stopped
    assert stored_job(console_server, plan_id)["runner"] == plan_worker.name
    again = requests.post(f"{console_server.url}/api/v1/plans/{plan_id}/stop", headers=day["headers"], timeout=5)
    assert again.json()["stopping"] is False
