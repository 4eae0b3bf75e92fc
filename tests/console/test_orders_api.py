"""The dispatcher's work-order API in-process (Flask test client, SQLite, fakeredis): create, explain,
assign/override, lifecycle, batch assignment, who-is-near, errors. The live push of an auto-dispatched
emergency is proved end to end in tests/integration/test_orders_api.py."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from dispatch.clock import ManualClock
from services.order_input import NEW_ORDER_FIELDS
from tests.support.inprocess import InProcessApp, make_app

SITES = """external_ref,name,address,latitude,longitude,geofence_radius_m,category
t:casino,Casino de Monte-Carlo,Place du Casino,43.7394,7.4276,60,amenity=casino
t:port,Port Hercule,Quai Albert 1er,43.7347,7.4214,60,amenity=marina
t:fontvieille,Fontvieille,Rue du Port,43.7290,7.4160,60,amenity=mall
"""
WORKERS = """name,device_id,skills,team,home_lat,home_lon,shift_days,shift_start,shift_end
Near Gas,o-near,gas,Centre,43.7390,7.4270,Mon-Sun,00:00,24:00
Far Gas,o-far,gas;hvac,South,43.7290,7.4160,Mon-Sun,00:00,24:00
Sparks,o-elec,electrical,North,43.7392,7.4275,Mon-Sun,00:00,24:00
"""
NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
"""The app's clock: a Tuesday morning, inside the workers' shifts (on the wall clock, from 23:59 to midnight UTC
nobody was on shift and no one was near)."""


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> InProcessApp:
    return make_app(tmp_path_factory.mktemp("var"), clock=ManualClock(NOW))


@pytest.fixture(scope="module")
def world(app):
    app.import_csv("sites", SITES)
    app.import_csv("workers", WORKERS)
    admin = app.admin
    workers = {w["name"]: w["id"] for w in app.client.get("/api/v1/workers", headers=admin).json}
    assert app.client.get("/api/v1/work-orders", headers=admin).status_code == 200
    live = app.client.get("/api/v1/live", headers=admin).json
    assert live["orders"]["features"] == []
    return {
        "dispatcher": app.user("dispatcher", "desk"),
        "manager": app.user("manager", "boss"),
        "workers": workers,
        "site": 1,  # sites get ids in CSV order on a fresh database: the casino is 1
    }


def window() -> tuple[str, str]:
    day = (NOW + timedelta(days=1)).date()
    return (datetime.combine(day, time(9), UTC).isoformat(), datetime.combine(day, time(11), UTC).isoformat())


def new_order(app, headers, **fields):
    start, end = window()
    body = {
        "site_id": 1,
        "type": "repair",
        "priority": 3,
        "required_skills": ["gas"],
        "window_start": start,
        "window_end": end,
        "service_minutes": 45,
        "notes": "Boiler pressure low",
    }
    body.update(fields)
    return app.client.post("/api/v1/work-orders", json=body, headers=headers)


def test_create_explain_and_assign_the_top_candidate(app, world):
    """Tests that a new gas repair is proposed to the nearest gas worker, the electrician is excluded with 'no skill gas', and assigning the top choice works."""
    r = new_order(app, world["dispatcher"])
    assert r.status_code == 201, r.get_data(as_text=True)
    order = r.json
    assert (order["status"], order["assigned_worker_id"], order["dispatch"]["mode"]) == ("new", None, "manual")

    c = app.client.get(f"/api/v1/work-orders/{order['id']}/candidates", headers=world["dispatcher"]).json
    assert [x["name"] for x in c["candidates"]] == ["Near Gas", "Far Gas"]
    assert c["candidates"][0]["eta_s"] < c["candidates"][1]["eta_s"]
    (excluded,) = c["excluded"]
    assert excluded["name"] == "Sparks" and "no skill gas" in excluded["reason"]

    r = app.client.post(
        f"/api/v1/work-orders/{order['id']}/assign",
        json={"worker_id": world["workers"]["Near Gas"], "reasn": "typo"},
        headers=world["dispatcher"],
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    assert (r.json["status"], r.json["assigned_worker_id"]) == ("assigned", world["workers"]["Near Gas"])
    assert r.json["ignored"] == ["reasn"]  # a key the route does not read is taken, and named


def test_override_needs_a_reason_and_nothing_changes_without_one(app, world):
    """Tests that picking the second-best worker without a reason is refused (409) and leaves the order new; with a reason it is assigned."""
    order = new_order(app, world["dispatcher"]).json
    far = world["workers"]["Far Gas"]
    url = f"/api/v1/work-orders/{order['id']}"
    r = app.client.post(f"{url}/assign", json={"worker_id": far}, headers=world["dispatcher"])
    assert r.status_code == 409 and "reason" in r.json["error"]
    assert app.client.get(url, headers=world["dispatcher"]).json["status"] == "new"
    r = app.client.post(
        f"{url}/assign",
        json={"worker_id": far, "reason": "customer asked for Far"},
        headers=world["dispatcher"],
    )
    assert r.status_code == 200 and r.json["assigned_worker_id"] == far
    history = app.client.get(url, headers=world["dispatcher"]).json["history"]
    assert [(h["from"], h["to"]) for h in history] == [(None, "new"), ("new", "assigned")]
    assert history[-1]["reason"] == "customer asked for Far"


def test_illegal_transition_is_refused_and_nothing_half_applied(app, world):
    """Tests that jumping a new order to done is refused with a clear message and the order stays new."""
    order = new_order(app, world["dispatcher"]).json
    url = f"/api/v1/work-orders/{order['id']}"
    r = app.client.post(f"{url}/status", json={"status": "done"}, headers=world["dispatcher"])
    assert r.status_code == 409
    assert "new" in r.json["error"] and "done" in r.json["error"]
    assert app.client.get(url, headers=world["dispatcher"]).json["status"] == "new"
    r = app.client.post(f"{url}/status", json={"status": "cancelled"}, headers=world["dispatcher"])
    assert r.status_code == 200 and r.json["status"] == "cancelled"
    r = app.client.post(f"{url}/status", json={"status": "new"}, headers=world["dispatcher"])
    assert r.status_code == 409  # cancelled is final


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"site_id": None}, "site_id"), ({"window_start": "2025-03-03T09:00:00"}, "window_start"),
     ({"type": "party"}, "type"), ({"priority": 9}, "priority"), ({"required_skills": "gas"}, None)],
)  # fmt: skip
def test_bad_order_input_names_the_field(app, world, fields, field):
    """Tests that bad order input is refused with 400 naming the field (a comma list of skills is accepted)."""
    r = new_order(app, world["dispatcher"], **fields)
    if field is None:
        assert r.status_code == 201
    else:
        assert r.status_code == 400 and r.json["field"] == field


def test_a_misspelt_field_of_a_new_order_is_named_as_ignored_in_the_answer(app, world):
    """Tests that a new order with a key the API does not know ("priorty": 1, a typo of priority) is still made, as
    the contract of `POST /api/v1/work-orders` has always taken it (other tools rely on it), and the answer lists the
    key as `ignored`, so the caller sees the order was made with the default priority 3; an answer without unknown
    keys has no `ignored`."""
    r = new_order(app, world["dispatcher"], priorty=1)
    assert r.status_code == 201, r.json
    assert (r.json["priority"], r.json["ignored"]) == (3, ["priorty"])
    empty = new_order(app, world["dispatcher"], **{"": 1})  # an empty key (found by the property test) is listed too
    assert empty.status_code == 201 and empty.json["ignored"] == [""], empty.json
    assert "ignored" not in new_order(app, world["dispatcher"]).json
    # The answer does not echo a flood: at most 20 names, each cut to 80 characters.
    flood = new_order(app, world["dispatcher"], **{f"k{n:05d}": 1 for n in range(5000)}, **{"x" * 100_000: 1})
    assert flood.status_code == 201 and len(flood.json["ignored"]) == 20, flood.status_code
    assert flood.json["ignored"][0] == "k00000" and max(len(k) for k in flood.json["ignored"]) <= 81
    long = new_order(app, world["dispatcher"], **{"x" * 100_000: 1}).json["ignored"]
    assert long == ["x" * 80 + "…"]


def test_an_order_with_a_reference_another_order_has_is_refused_409_naming_it_and_nothing_stored(app, world):
    """Tests that an ERP sending the same order twice (its `reference`) gets 409 naming `reference`, not a 500, and that
    the second copy is not stored; a new reference is still accepted."""
    first = new_order(app, world["dispatcher"], reference="ERP-4711")
    assert first.status_code == 201, first.get_data(as_text=True)
    before = len(app.client.get("/api/v1/work-orders", headers=world["dispatcher"]).json)
    again = new_order(app, world["dispatcher"], reference=" ERP-4711 ", notes="sent again")
    assert again.status_code == 409, again.get_data(as_text=True)
    assert again.json["field"] == "reference" and "ERP-4711" in again.json["error"]
    assert len(app.client.get("/api/v1/work-orders", headers=world["dispatcher"]).json) == before
    assert new_order(app, world["dispatcher"], reference="ERP-4712").status_code == 201


def test_errors_for_unknown_order_bad_token_and_wrong_role(app, world):
    """Tests 404 for an unknown order, 401 for a bad token, 403 for a manager creating orders, 404 for an unknown site."""
    assert app.client.get("/api/v1/work-orders/9999/candidates", headers=world["dispatcher"]).status_code == 404
    assert (
        app.client.post(
            "/api/v1/work-orders/9999/assign", json={"worker_id": 1}, headers=world["dispatcher"]
        ).status_code
        == 404
    )
    assert new_order(app, {"Authorization": "Bearer forged"}).status_code == 401
    r = new_order(app, world["manager"])
    assert r.status_code == 403 and "manager" in r.json["error"]
    assert new_order(app, world["dispatcher"], site_id=999).status_code == 404


def test_openapi_describes_the_contract(app):
    """Tests that the OpenAPI document lists the work-order endpoints other tools rely on, and a new order's keys."""
    doc = app.client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    for path in (
        "/api/v1/work-orders",
        "/api/v1/work-orders/{order_id}/candidates",
        "/api/v1/work-orders/{order_id}/assign",
        "/api/v1/workers/{worker_id}/positions",
        "/osmand",
    ):
        assert path in doc["paths"]
    # A new order's documented keys are the ones the server reads; it takes others too and lists them as ignored.
    new_order = doc["components"]["schemas"]["NewOrder"]
    assert set(new_order["properties"]) == set(NEW_ORDER_FIELDS) and "additionalProperties" not in new_order
    assert "ignored" in new_order["description"]


def test_who_is_near_lists_available_qualified_workers_by_eta(app, world):
    """Tests that 'who is near' the casino for gas lists the two gas workers nearest first, and refuses a bad point."""
    url = "/api/v1/who-is-near"
    near = app.client.get(
        url, query_string={"lat": 43.7394, "lon": 7.4276, "n": 5, "skills": "gas"}, headers=world["dispatcher"]
    ).json
    assert [w["name"] for w in near] == ["Near Gas", "Far Gas"]
    assert near[0]["eta_s"] < near[1]["eta_s"]
    one = app.client.get(url, query_string={"lat": 43.7394, "lon": 7.4276, "n": 1}, headers=world["dispatcher"]).json
    assert len(one) == 1
    bad = app.client.get(url, query_string={"lat": 95, "lon": 7.4}, headers=world["dispatcher"])
    assert bad.status_code == 400


def test_batch_assignment_is_optimal_and_explains_what_is_left(app, world):
    """Tests that two gas repairs go one to each gas worker (least total travel), and a plumbing job nobody can do is left with a reason."""
    casino = new_order(app, world["dispatcher"], site_id=1).json["id"]
    fontvieille = new_order(app, world["dispatcher"], site_id=3).json["id"]
    plumbing = new_order(app, world["dispatcher"], required_skills=["plumbing"]).json["id"]
    r = app.client.post(
        "/api/v1/work-orders/batch-assign",
        json={"order_ids": [casino, fontvieille, plumbing]},
        headers=world["dispatcher"],
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.json
    assigned = {a["order_id"]: a["worker_id"] for a in body["assigned"]}
    assert assigned == {casino: world["workers"]["Near Gas"], fontvieille: world["workers"]["Far Gas"]}
    assert body["total_cost_s"] == pytest.approx(sum(a["eta_s"] for a in body["assigned"]), abs=0.5)
    (left,) = body["unassigned"]
    assert left["order_id"] == plumbing and left["reason"]
    for order_id, worker_id in assigned.items():
        order = app.client.get(f"/api/v1/work-orders/{order_id}", headers=world["dispatcher"]).json
        assert (order["status"], order["assigned_worker_id"]) == ("assigned", worker_id)
    again = app.client.post(
        "/api/v1/work-orders/batch-assign",
        json={"order_ids": [casino]},
        headers=world["dispatcher"],
    )
    assert again.status_code == 404 and "not new" in again.json["error"]


def test_a_worker_who_withdrew_consent_is_ranked_from_home_not_from_a_stored_fix(app, world):
    """Tests that a gas worker's fix at the casino makes their trip start there while they consent, and that once
    they withdraw, candidates start them from their home base: a fix kept from before is not used to place them."""
    admin, far = app.admin, world["workers"]["Far Gas"]
    consent = f"/api/v1/workers/{far}/consent"
    assert app.client.post(consent, json={"given": True, "text_version": "1"}, headers=admin).status_code == 200
    fix = {"id": "o-far", "lat": 43.7393, "lon": 7.4275, "timestamp": NOW.isoformat()}
    assert app.client.get("/osmand", query_string=fix).status_code == 200
    order = new_order(app, world["dispatcher"]).json

    def origin_of_far() -> str:
        c = app.client.get(f"/api/v1/work-orders/{order['id']}/candidates", headers=world["dispatcher"]).json
        return next(x["origin"] for x in c["candidates"] if x["name"] == "Far Gas")

    assert origin_of_far() == "fix"
    assert app.client.post(consent, json={"given": False}, headers=admin).json["state"] == "withdrawn"
    assert origin_of_far() == "home_base"


def test_a_dispatcher_opening_the_timesheets_page_gets_a_page_saying_why_not_json(app, world):
    """Tests that a dispatcher who opens /attendance/ (a manager's page) gets a 403 HTML page with the reason in their
    language and a way back to the live map, not the API's JSON."""
    english = app.client.get("/attendance/", headers=world["dispatcher"])
    assert english.status_code == 403 and english.mimetype == "text/html"
    page = english.get_data(as_text=True)
    assert "Your role may not see timesheets (managers and admins do)." in page and 'href="/"' in page
    assert "view-timesheets" not in page  # the permission's own name, which the page said before
    chinese = app.client.get("/attendance/", headers={**world["dispatcher"], "Accept-Language": "zh-CN"})
    assert chinese.status_code == 403 and "工时表" in chinese.get_data(as_text=True)
    assert app.client.get("/attendance/", headers=world["manager"]).status_code == 200
