"""Route optimisation as a background job through the API: start, progress, result, early stop.

No planner process runs here, so `python -m console` runs the jobs itself (the fallback);
tests/integration/test_plan_worker.py covers the planner process.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import requests

from tests.support.plan_day import seed_day, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def day(console_server, tmp_path_factory):
    seeded = seed_day(console_server, tmp_path_factory)
    manager = console_server.cli("data", "create-user", "--role", "manager", "--name", "planner")
    return {"date": seeded["date"], "orders": seeded["orders"], "headers": {"Authorization": f"Bearer {manager}"}}


def test_manager_plans_the_day_in_the_background(console_server, day):
    """Tests that a plan starts at once, runs in the background, and ends with every servable order routed in its window and the plumbing job unplanned with a reason."""
    r = requests.post(f"{console_server.url}/api/v1/plans", json={"date": day["date"], "order_ids": day["orders"], "seconds": 2},
                      headers=day["headers"], timeout=10)  # fmt: skip
    assert r.status_code == 202, r.text
    done = wait_for(console_server, day["headers"], r.json()["id"], {"done", "failed"})
    assert done["status"] == "done", done
    plan = done["plan"]
    routed = {s["order_id"]: s for route in plan["routes"] for s in route["stops"]}
    assert set(routed) == set(day["orders"][:3])
    for stop in routed.values():
        assert f"{day['date']}T09:00:00" <= stop["start"] <= f"{day['date']}T11:30:00"
    (unplanned,) = plan["unplanned"]
    assert unplanned["order_id"] == day["orders"][3] and unplanned["reason"] == "no qualified worker"
    hvac = routed[day["orders"][2]]
    bo = next(route for route in plan["routes"] if hvac in route["stops"])
    assert bo["name"] == "Plan Bo"  # only Bo has hvac
    assert done["progress"]["best_cost"] >= 0
    assert datetime.fromisoformat(done["created_at"]) <= datetime.now(UTC)
    assert (done["edited_from"], done["moved"], done["replan_of"]) == (None, None, None)
    # No planner process in this module: the web process ran the job itself, and said so once.
    assert console_server.log_path.read_text(errors="replace").count("no plan worker is running") == 1


def test_a_running_plan_can_be_stopped_early_keeping_the_best(console_server, day):
    """Tests that stopping a 60 s optimisation returns within seconds with the best plan so far."""
    r = requests.post(
        f"{console_server.url}/api/v1/plans",
        json={"date": day["date"], "seconds": 60},
        headers=day["headers"],
        timeout=10,
    )
    plan_id = r.json()["id"]
    wait_for(console_server, day["headers"], plan_id, {"running"})
    began = time.monotonic()
    assert requests.post(f"{console_server.url}/api/v1/plans/{plan_id}/stop", headers=day["headers"], timeout=5).json()[
        "stopping"
    ]
    stopped = wait_for(console_server, day["headers"], plan_id, {"stopped", "done", "failed"}, timeout_s=30)
    assert stopped["status"] == "stopped" and stopped["plan"]["routes"]
    assert time.monotonic() - began < 30


@pytest.mark.parametrize(("body", "field"), [({"date": "tomorrow"}, "date"), ({"date": "2025-03-03", "seconds": 0}, "seconds"),
                                             ({"date": "2025-03-03", "order_ids": [99999]}, "order_ids"),
                                             ({"date": "2025-03-03", "minimise": "fuel"}, "minimise"),
                                             ({"date": "2025-03-03", "balance_workload": "yes"}, "balance_workload")])  # fmt: skip
def test_bad_plan_requests_name_the_field(console_server, day, body, field):
    """Tests that a bad plan request is refused with 400 naming the field, and an unknown plan is 404."""
    r = requests.post(f"{console_server.url}/api/v1/plans", json=body, headers=day["headers"], timeout=5)
    assert r.status_code == 400 and r.json()["field"] == field
    assert (
        requests.get(f"{console_server.url}/api/v1/plans/99999", headers=day["headers"], timeout=5).status_code == 404
    )


def test_publishing_assigns_the_planned_workers_and_orders_their_day(console_server, day):
    """Tests that publishing a finished plan assigns every routed order to its planned worker and the worker's push-link day follows the planned order."""
    r = requests.post(f"{console_server.url}/api/v1/plans", json={"date": day["date"], "order_ids": day["orders"], "seconds": 2},
                      headers=day["headers"], timeout=10)  # fmt: skip
    plan_id = r.json()["id"]
    done = wait_for(console_server, day["headers"], plan_id, {"done", "failed"})
    published = requests.post(
        f"{console_server.url}/api/v1/plans/{plan_id}/publish", headers=day["headers"], timeout=10
    )
    assert published.status_code == 200, published.text
    assert requests.get(f"{console_server.url}/api/v1/plans/{plan_id}", headers=day["headers"], timeout=5).json()[
        "published"
    ]
    admin = {"Authorization": f"Bearer {console_server.admin_token}"}
    for route in done["plan"]["routes"]:
        for stop in route["stops"]:
            order = requests.get(
                f"{console_server.url}/api/v1/work-orders/{stop['order_id']}", headers=admin, timeout=5
            ).json()
            assert (order["status"], order["assigned_worker_id"]) == ("assigned", route["worker_id"])
        link = requests.post(f"{console_server.url}/api/v1/workers/{route['worker_id']}/push-link", json={"day": day["date"]},
                             headers=admin, timeout=5).json()  # fmt: skip
        page = requests.get(f"{console_server.url}/api/v1/field/{link['token']}/day", timeout=5).json()
        assert [o["id"] for o in page["orders"]] == [s["order_id"] for s in route["stops"]]


def test_an_unfinished_plan_cannot_be_published(console_server, day):
    """Tests that publishing a plan that is still running is refused with the reason, and an unknown plan is 404."""
    r = requests.post(
        f"{console_server.url}/api/v1/plans",
        json={"date": day["date"], "seconds": 30},
        headers=day["headers"],
        timeout=10,
    )
    plan_id = r.json()["id"]
    wait_for(console_server, day["headers"], plan_id, {"running"})
    refused = requests.post(f"{console_server.url}/api/v1/plans/{plan_id}/publish", headers=day["headers"], timeout=10)
    assert refused.status_code == 400 and "only a finished plan" in refused.json()["error"]
    requests.post(f"{console_server.url}/api/v1/plans/{plan_id}/stop", headers=day["headers"], timeout=5)
    wait_for(console_server, day["headers"], plan_id, {"stopped", "done", "failed"})
    assert (
        requests.post(f"{console_server.url}/api/v1/plans/99999/publish", headers=day["headers"], timeout=5).status_code
        == 404
    )


def test_mid_day_replan_keeps_work_under_way_and_lists_changes(console_server, day):
    """Tests that after Ana goes off sick and an urgent order comes in, the re-plan keeps Bo's visit under way with Bo, moves Ana's work, and says so."""
    admin = {"Authorization": f"Bearer {console_server.admin_token}"}
    r = requests.post(f"{console_server.url}/api/v1/plans", json={"date": day["date"], "order_ids": day["orders"], "seconds": 2},
                      headers=day["headers"], timeout=10)  # fmt: skip
    plan_id = r.json()["id"]
    base = wait_for(console_server, day["headers"], plan_id, {"done"})
    assert (
        requests.post(
            f"{console_server.url}/api/v1/plans/{plan_id}/publish", headers=day["headers"], timeout=10
        ).status_code
        == 200
    )
    routes = {route["name"]: route for route in base["plan"]["routes"]}
    under_way = routes["Plan Bo"]["stops"][0]["order_id"]
    requests.post(
        f"{console_server.url}/api/v1/work-orders/{under_way}/status",
        json={"status": "accepted"},
        headers=admin,
        timeout=5,
    )
    r = requests.post(
        f"{console_server.url}/api/v1/work-orders/{under_way}/status",
        json={"status": "en_route"},
        headers=admin,
        timeout=5,
    )
    assert r.status_code == 200, r.text
    workers = {
        w["name"]: w["id"]
        for w in requests.get(f"{console_server.url}/api/v1/workers", headers=admin, timeout=5).json()
    }
    console_server.cli(
        "data",
        "add-leave",
        "--worker-id",
        str(workers["Plan Ana"]),
        "--start",
        day["date"],
        "--end",
        day["date"],
        "--reason",
        "sick",
    )
    urgent = {"site_id": 3, "type": "repair", "priority": 1, "required_skills": ["gas"], "service_minutes": 20,
              "window_start": f"{day['date']}T09:00:00+00:00", "window_end": f"{day['date']}T12:00:00+00:00"}  # fmt: skip
    urgent_id = requests.post(
        f"{console_server.url}/api/v1/work-orders", json=urgent, headers=admin, timeout=10
    ).json()["id"]

    r = requests.post(
        f"{console_server.url}/api/v1/plans/{plan_id}/replan", json={"seconds": 2}, headers=day["headers"], timeout=10
    )
    assert r.status_code == 202, r.text
    again = wait_for(console_server, day["headers"], r.json()["id"], {"done", "failed"})
    assert again["status"] == "done", again
    new_routes = {route["name"]: [s["order_id"] for s in route["stops"]] for route in again["plan"]["routes"]}
    assert "Plan Ana" not in new_routes  # off sick
    assert under_way in new_routes["Plan Bo"]  # the visit under way stays with Bo
    assert urgent_id in new_routes["Plan Bo"]
    kinds = {(c["order_id"], c["kind"]) for c in again["changes"]}
    assert (urgent_id, "added") in kinds
    for order_id in [s["order_id"] for s in routes.get("Plan Ana", {"stops": []})["stops"]]:
        assert (order_id, "moved") in kinds or (order_id, "removed") in kinds
    assert not again["published"]  # nothing changes for anyone until a person publishes it


def test_moving_a_visit_retimes_and_shows_a_violated_window(console_server, day):
    """Tests that moving a gas job to the other gas worker re-times it cleanly (routes leave just in time, not at
    the shift start), while giving the hvac job to a worker without hvac is flagged and publishing that draft is
    refused with 409 and the checker's reasons."""
    r = requests.post(f"{console_server.url}/api/v1/plans", json={"date": day["date"], "order_ids": day["orders"], "seconds": 2},
                      headers=day["headers"], timeout=10)  # fmt: skip
    base = wait_for(console_server, day["headers"], r.json()["id"], {"done"})
    admin = {"Authorization": f"Bearer {console_server.admin_token}"}
    workers = {
        w["name"]: w["id"]
        for w in requests.get(f"{console_server.url}/api/v1/workers", headers=admin, timeout=5).json()
    }
    owner = {s["order_id"]: route["name"] for route in base["plan"]["routes"] for s in route["stops"]}
    gas_job = day["orders"][0]
    other = "Plan Bo" if owner[gas_job] == "Plan Ana" else "Plan Ana"
    moved = requests.post(f"{console_server.url}/api/v1/plans/{base['id']}/move",
                          json={"order_id": gas_job, "worker_id": workers[other]}, headers=day["headers"], timeout=10)  # fmt: skip
    assert moved.status_code == 201, moved.text
    body = moved.json()
    assert body["violations"] == []
    new_owner = {s["order_id"]: route["name"] for route in body["plan"]["routes"] for s in route["stops"]}
    assert new_owner[gas_job] == other
    for route in body["plan"]["routes"]:  # leaving just in time for the 09:00 windows, not at the 07:00 shift start
        first = route["stops"][0]
        assert route["start"] > f"{day['date']}T08:00:00" and first["wait_s"] == 0, route
    assert (
        requests.get(f"{console_server.url}/api/v1/plans/{body['id']}", headers=day["headers"], timeout=5).json()[
            "status"
        ]
        == "done"
    )

    hvac_job = day["orders"][2]  # only Bo has hvac: giving it to Ana breaks a rule
    bad = requests.post(f"{console_server.url}/api/v1/plans/{base['id']}/move",
                        json={"order_id": hvac_job, "worker_id": workers["Plan Ana"]}, headers=day["headers"], timeout=10).json()  # fmt: skip
    assert any(v["order_id"] == hvac_job and v["kind"] == "skill" for v in bad["violations"]), bad["violations"]
    refused = requests.post(
        f"{console_server.url}/api/v1/plans/{bad['id']}/publish", headers=day["headers"], timeout=10
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["violations"] == bad["violations"] and "lacks" in refused.json()["error"]
    admin_order = requests.get(f"{console_server.url}/api/v1/work-orders/{hvac_job}", headers=admin, timeout=5).json()
    assert admin_order["assigned_worker_id"] != workers["Plan Ana"]  # nothing of the refused plan was applied


def test_a_draft_is_compared_with_the_published_plan(console_server, day):
    """Tests that GET /compare on an edited draft names the moved visit and who gains and loses it against the day's published plan."""
    r = requests.post(f"{console_server.url}/api/v1/plans", json={"date": day["date"], "order_ids": day["orders"], "seconds": 2},
                      headers=day["headers"], timeout=10)  # fmt: skip
    base = wait_for(console_server, day["headers"], r.json()["id"], {"done"})
    published = requests.post(
        f"{console_server.url}/api/v1/plans/{base['id']}/publish", headers=day["headers"], timeout=10
    )
    assert published.status_code == 200, published.text
    same = requests.get(f"{console_server.url}/api/v1/plans/{base['id']}/compare", headers=day["headers"], timeout=5)
    assert same.status_code == 200 and same.json() == {"published_id": None}  # the published plan itself
    routes = {route["worker_id"]: [s["order_id"] for s in route["stops"]] for route in base["plan"]["routes"]}
    (from_worker, orders), (to_worker, _) = sorted(routes.items(), key=lambda kv: -len(kv[1]))[:2]
    moved = requests.post(f"{console_server.url}/api/v1/plans/{base['id']}/move",
                          json={"order_id": orders[0], "worker_id": to_worker}, headers=day["headers"], timeout=10).json()  # fmt: skip
    diff = requests.get(
        f"{console_server.url}/api/v1/plans/{moved['id']}/compare", headers=day["headers"], timeout=5
    ).json()
    assert diff["published_id"] == base["id"]
    assert [(m["order_id"], m["from_worker_id"], m["to_worker_id"]) for m in diff["moved"]] == [
        (orders[0], from_worker, to_worker)
    ]
    gains = {w["worker_id"]: (w["gained"], w["lost"]) for w in diff["workers"]}
    assert gains[to_worker] == ([orders[0]], []) and gains[from_worker] == ([], [orders[0]])
    assert "1 visit moves" in diff["summary"]
    missing = requests.get(f"{console_server.url}/api/v1/plans/999999/compare", headers=day["headers"], timeout=5)
    assert missing.status_code == 404


def test_a_plan_minimises_what_the_manager_asks_and_a_replan_keeps_it(console_server, day):
    """Tests that minimise=distance with workload balancing is stored with the plan, solved, and carried into its re-plan."""
    body = {
        "date": day["date"],
        "order_ids": day["orders"],
        "seconds": 1,
        "minimise": "distance",
        "balance_workload": True,
    }
    r = requests.post(f"{console_server.url}/api/v1/plans", json=body, headers=day["headers"], timeout=10)
    done = wait_for(console_server, day["headers"], r.json()["id"], {"done"})
    assert (done["minimise"], done["balance_workload"]) == ("distance", True)
    assert done["plan"]["planned"] == 3
    requests.post(f"{console_server.url}/api/v1/plans/{done['id']}/publish", headers=day["headers"], timeout=10)
    again = requests.post(f"{console_server.url}/api/v1/plans/{done['id']}/replan", json={"seconds": 1},
                          headers=day["headers"], timeout=10).json()  # fmt: skip
    replanned = wait_for(console_server, day["headers"], again["id"], {"done"})
    assert (replanned["minimise"], replanned["balance_workload"]) == ("distance", True)
