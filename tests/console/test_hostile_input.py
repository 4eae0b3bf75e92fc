"""Hostile input at every HTTP entry point answers 4xx JSON naming the field, and stores nothing (in-process app).

The app is the real one (`create_app`) on a temp SQLite file with a fakeredis bus and a ManualClock at
2025-03-03 08:00 UTC; "nothing stored" is checked by counting the rows of every table.
"""

from __future__ import annotations

import base64
import io
import json
import re
import struct
import zlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

import fakeredis
import pytest
from sqlalchemy import inspect, text

from console.app import create_app
from data import orders_repo, positions_repo, sites_repo, users_repo, workers_repo
from data.db import make_engine, make_sessionmaker, session_scope
from data.migrate import migrate
from data.settings import Settings
from dispatch.access import Role
from dispatch.clock import ManualClock
from dispatch.geo import LatLon
from dispatch.orders import OrderType, TimeWindow
from realtime.ingest import DROPPED, MAX_ATTRIBUTE_BYTES, MAX_ATTRIBUTES, MAX_ATTRIBUTES_BYTES
from tests.factories import EVERY_DAY_7_TO_19
from tests.support.consent import record_consent

NOW = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
BIG = 2**63


@dataclass
class World:
    client: Any
    sessions: Any
    headers: dict[str, str]
    login_headers: dict[str, str]
    worker_id: int
    device: str
    order_id: int
    token: str

    def rows(self) -> dict[str, int]:
        """Rows per table: a bad request must leave every count as it was."""
        with self.sessions() as session:
            names = inspect(session.get_bind()).get_table_names()
            return {n: session.execute(text(f'SELECT COUNT(*) FROM "{n}"')).scalar_one() for n in names}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    tmp_path = tmp_path_factory.mktemp("hostile")
    settings = replace(
        Settings.from_env(
            {"OUTFIELD_VAR": str(tmp_path), "SECRET_KEY": "test", "OUTFIELD_OSRM_DIR": str(tmp_path / "none")}
        ),
        redis_url="redis://fake:6379/0",
    )
    migrate(settings.database_url)
    app = create_app(settings, clock=ManualClock(NOW))
    app.bus._redis = fakeredis.FakeRedis()  # noqa: SLF001 - the edge is under test, not Redis
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with session_scope(sessions) as session:
        _, token = users_repo.create_user(session, name="root", role=Role.ADMIN, password="root-password")
        worker = workers_repo.add_worker(session, name="Ana", device_id="ana-1", shifts=(EVERY_DAY_7_TO_19,),
                                         home_base=LatLon(43.739, 7.427))  # fmt: skip
        record_consent(session, worker.id)
        site = sites_repo.add_site(session, name="Casino", location=LatLon(43.7394, 7.4276))
        window = TimeWindow(datetime.combine(NOW.date(), time(9), UTC), datetime.combine(NOW.date(), time(11), UTC))
        order = orders_repo.add_order(session, site_id=site.id, type=OrderType.REPAIR, priority=3, window=window,
                                      service_duration_s=1800, created_at=NOW)  # fmt: skip
    client = app.server.test_client()
    client.environ_base["HTTP_ORIGIN"] = "http://localhost"  # a browser on this site (console/security.py)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post(f"/api/v1/work-orders/{order.id}/assign", json={"worker_id": worker.id}, headers=headers).status_code == 200  # fmt: skip
    link = client.post(f"/api/v1/workers/{worker.id}/push-link", json={}, headers=headers).get_json()["token"]
    return World(client, sessions, headers, {}, worker.id, "ana-1", order.id, link)


def _routes(w: World) -> dict[str, str]:
    """Every POST route that reads a body, with real ids in its path."""
    return {
        "osmand": "/osmand",
        "positions": "/api/v1/positions",
        "create-order": "/api/v1/work-orders",
        "batch-assign": "/api/v1/work-orders/batch-assign",
        "assign": f"/api/v1/work-orders/{w.order_id}/assign",
        "status": f"/api/v1/work-orders/{w.order_id}/status",
        "start-plan": "/api/v1/plans",
        "move": "/api/v1/plans/1/move",
        "replan": "/api/v1/plans/1/replan",
        "push-link": f"/api/v1/workers/{w.worker_id}/push-link",
        "field-actions": f"/api/v1/field/{w.token}/actions",
        "field-positions": f"/api/v1/field/{w.token}/positions",
    }


ROUTES = [
    "osmand", "positions", "create-order", "batch-assign", "assign", "status", "start-plan", "move", "replan",
    "push-link", "field-actions", "field-positions",
]  # fmt: skip
# Where an array is the right type (a batch), `[1]` is a batch with one bad item: 200, naming index 0.
BATCHES = {"positions", "field-positions"}
BODIES = {
    "array": b"[1]",
    "null": b"null",
    "number": b"1",
    "invalid-utf8": b'{"worker_id": "\xff\xfe"}',
    "deep": b"[" * 100_000,
    "deep-object": b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    "1e309": b'{"seconds": 1e309, "worker_id": 1e309, "lat": 1e309, "timestamp": 1e309}',
    "nan": b'{"seconds": NaN}',
    "lone-surrogate": b'{"id": "\\ud800", "device_id": "\\udfff", "notes": "\\ud800"}',
}


@pytest.mark.parametrize("body_name", list(BODIES))
@pytest.mark.parametrize("route", ROUTES)
def test_every_post_route_refuses_a_hostile_body_with_4xx_json_and_stores_nothing(world, route, body_name):
    """Tests that [1], null, 1, invalid UTF-8, 100k-deep JSON, 1e309, NaN and lone surrogates never answer 5xx or store a row."""
    before = world.rows()
    r = world.client.post(
        _routes(world)[route], data=BODIES[body_name], headers={**world.headers, "Content-Type": "application/json"}
    )
    body = r.get_json()
    if route in BATCHES and body_name == "array":
        assert r.status_code == 200, body
        assert body.get("accepted") == 0
    else:
        assert 400 <= r.status_code < 500, (r.status_code, r.get_data()[:300])
        assert body["error"] and body["field"], body
    if body_name in ("invalid-utf8", "deep", "deep-object", "1e309", "nan", "lone-surrogate"):
        # /osmand takes at most 64 KiB: the 100 KB of brackets are refused as too large (413) first.
        assert body.get("field") == "body" and r.status_code in (400, 413), body
    assert world.rows() == before


BIG_BODIES = {
    "batch-assign": {"order_ids": [BIG]},
    "assign": {"worker_id": BIG},
    "start-plan": {"date": "2025-03-03", "worker_ids": [BIG], "order_ids": [1]},
    "move": {"order_id": BIG, "worker_id": 1},
    "create-order": {"site_id": BIG, "window_start": "2025-03-03T09:00:00Z", "window_end": "2025-03-03T10:00:00Z"},
}


@pytest.mark.parametrize("route", list(BIG_BODIES))
def test_an_id_of_2_63_in_a_body_is_refused_naming_the_field(world, route):
    """Tests that an id one past the largest BIGINT answers 400 naming the id field instead of failing in the database."""
    before = world.rows()
    r = world.client.post(_routes(world)[route], json=BIG_BODIES[route], headers=world.headers)
    assert r.status_code == 400, r.get_data()[:300]
    assert r.get_json()["field"] in {"order_ids", "worker_id", "worker_ids", "order_id", "site_id"}
    assert "9223372036854775808" in r.get_json()["error"]
    assert world.rows() == before


def test_a_field_action_or_photo_for_order_2_63_is_refused_naming_order_id(world):
    """Tests that the phone's queued action and photo upload refuse an order id past BIGINT, naming `order_id`."""
    before = world.rows()
    action = {"client_action_id": "a-1", "order_id": BIG, "action": "accept", "at": NOW.isoformat()}
    r = world.client.post(f"/api/v1/field/{world.token}/actions", json={"actions": [action]})
    assert r.status_code == 200 and r.get_json()["results"][0]["field"] == "order_id"
    photo = {"file": (io.BytesIO(_png(8, 8)), "p.png", "image/png"), "order_id": str(BIG), "client_action_id": "p-1"}
    r = world.client.post(f"/api/v1/field/{world.token}/photos", data=photo, content_type="multipart/form-data")
    assert r.status_code == 400 and r.get_json()["field"] == "order_id"
    assert world.rows() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [({"action": ["accept"]}, "action"), ({"action": {"accept": 1}}, "action"), ({"action": 1}, "action"),
     ({"location": {"lat": 43.7394, "lon": 7.4276, "accuracy_m": -5}}, "location"),
     ({"location": {"lat": 43.7394, "lon": 7.4276, "accuracy_m": "NaN"}}, "location"),
     ({"location": {"lat": 10**400, "lon": 7.4276}}, "location")],
)  # fmt: skip
def test_a_field_action_of_the_wrong_shape_is_answered_naming_its_field_and_stores_nothing(world, change, field):
    """Tests that an action named by a list, object or number, a negative or NaN accuracy and a 400-digit latitude are
    each answered as a refused action naming the field (they were 500s: an unhashable name, a ValueError, an
    OverflowError), and that the upload stores nothing."""
    before = world.rows()
    action = {"client_action_id": "shape-1", "order_id": world.order_id, "action": "accept", "at": NOW.isoformat()}
    r = world.client.post(f"/api/v1/field/{world.token}/actions", json={"actions": [{**action, **change}]})
    assert r.status_code == 200, r.get_data()[:300]
    (result,) = r.get_json()["results"]
    assert (result["status"], result["field"]) == ("invalid", field), result
    assert world.rows() == before


@pytest.mark.parametrize("decision", [["approve"], {"approve": True}, [], 1])
def test_a_check_in_decision_that_is_not_text_is_400_naming_decision(world, decision):
    """Tests that a review whose decision is a list, an object or a number answers 400 naming `decision` (a list or
    an object was a 500) and changes nothing."""
    before = world.rows()
    r = world.client.post("/api/v1/checkins/1/review", json={"decision": decision, "note": "x"}, headers=world.headers)
    assert r.status_code == 400 and r.get_json()["field"] == "decision", r.get_data()[:300]
    assert world.rows() == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/work-orders/{big}", "/api/v1/work-orders/{big}/candidates", "/api/v1/work-orders/{big}/field-record",
        "/api/v1/plans/{big}", "/api/v1/plans/{big}/compare", "/api/v1/workers/{big}/positions",
        "/api/v1/photos/{big}/thumbnail",
    ],
)  # fmt: skip
def test_an_id_of_2_63_in_a_path_answers_404_json_naming_it(world, path):
    """Tests that GET with a path id past BIGINT answers 404 JSON naming the id, not a database error."""
    r = world.client.get(path.format(big=BIG), headers=world.headers)
    assert r.status_code == 404 and r.get_json()["field"].endswith("_id"), r.get_data()[:300]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/work-orders/{big}/assign", "/api/v1/work-orders/{big}/status", "/api/v1/plans/{big}/move",
        "/api/v1/plans/{big}/replan", "/api/v1/plans/{big}/stop", "/api/v1/plans/{big}/publish",
        "/api/v1/workers/{big}/push-link", "/api/v1/workers/{big}/push-link/revoke",
    ],
)  # fmt: skip
def test_an_id_of_2_63_in_a_post_path_answers_404_and_stores_nothing(world, path):
    """Tests that POST with a path id past BIGINT answers 404 JSON naming it and leaves every table as it was."""
    before = world.rows()
    r = world.client.post(
        path.format(big=BIG), json={"worker_id": 1, "order_id": 1, "status": "done"}, headers=world.headers
    )
    assert r.status_code == 404 and r.get_json()["field"].endswith("_id"), r.get_data()[:300]
    assert world.rows() == before


# --- fix times at the calendar's edges and beyond ------------------------------------------

EDGE_TIMES = {
    "year 0": "0000-01-01T00:00:00Z",
    "year 1": "0001-01-01T00:00:00Z",
    "year 1, +01:00 (year 0 in UTC)": "0001-01-01T00:30:00+01:00",
    "year 9999": "9999-12-31T23:59:59Z",
    "year 9999, -01:00 (year 10000 in UTC)": "9999-12-31T23:30:00-01:00",
    "year 10000": "10000-01-01T00:00:00Z",
    "1e20": 1e20,
    "-1e20": -1e20,
    "NaN": "NaN",
    "inf": "inf",
    "Unix 0 (1970)": 0,
    "1970 as text": "1970-01-01 00:00:01",
    "microseconds (ms reading: year 57000)": 1_741_000_000_000_000,
    "ms sent as seconds text (year 56000)": "1733300000000000",
    "11 minutes ahead": (NOW + timedelta(minutes=11)).isoformat(),
    "91 days back (retention 90)": (NOW - timedelta(days=91)).isoformat(),
}


@pytest.mark.parametrize("name", list(EDGE_TIMES))
def test_osmand_refuses_a_fix_time_at_the_calendar_edge_or_outside_the_window_naming_timestamp(world, name):
    """Tests that /osmand answers 400 naming `timestamp` (and stores nothing) for every edge time: dated 0001 or 1970 included."""
    before = world.rows()
    fix = {"id": world.device, "lat": 43.74, "lon": 7.42, "timestamp": EDGE_TIMES[name]}
    r = world.client.post("/osmand", json=fix)
    assert r.status_code == 400, (name, r.get_data()[:300])
    assert r.get_json()["field"] == "timestamp"
    assert world.rows() == before


def test_a_fix_within_the_window_is_kept(world):
    """Tests that fixes 9 minutes ahead and 89 days back are stored: the window is 10 minutes ahead and 90 days back."""
    before = world.rows()["positions"]
    for at in (NOW + timedelta(minutes=9), NOW - timedelta(days=89)):
        r = world.client.post(
            "/osmand", query_string={"id": world.device, "lat": 43.74, "lon": 7.42, "timestamp": at.isoformat()}
        )
        assert r.status_code == 200, r.get_data()
    assert world.rows()["positions"] == before + 2


def test_a_batch_stores_the_good_items_and_names_each_bad_one_by_index(world):
    """Tests that a batch mixing calendar-edge items with good ones stores the good ones and lists every bad one by index."""
    good = [{"id": world.device, "lat": 43.75, "lon": 7.42 + i / 1000, "timestamp": (NOW - timedelta(minutes=i, seconds=7)).isoformat()} for i in range(3)]  # fmt: skip
    bad = [{"id": world.device, "lat": 43.74, "lon": 7.42, "timestamp": t} for t in EDGE_TIMES.values()]
    items = [good[0], *bad[:8], good[1], *bad[8:], good[2]]
    before = world.rows()["positions"]
    r = world.client.post("/api/v1/positions", json=items, headers=world.headers)
    assert r.status_code == 200, r.get_data()[:300]
    body = r.get_json()
    assert body["accepted"] == 3
    bad_indexes = [i for i, item in enumerate(items) if item not in good]
    assert [e["index"] for e in body["rejected"]] == bad_indexes
    assert all(e["field"] == "timestamp" and e["error"] for e in body["rejected"])
    assert world.rows()["positions"] == before + 3


# --- oversize bodies and unknown attributes -------------------------------------------------


def test_osmand_bodies_over_64_kib_are_413_naming_body(world):
    """Tests that a /osmand JSON or form body over 64 KiB answers 413 naming `body` and nothing is stored."""
    before = world.rows()
    big = b'{"id": "ana-1", "lat": 43.7, "lon": 7.4, "junk": "' + b"x" * 70_000 + b'"}'
    r = world.client.post("/osmand", data=big, content_type="application/json")
    assert r.status_code == 413 and r.get_json() == {"error": "body: larger than 65536 bytes", "field": "body"}
    r = world.client.post("/osmand", data={"id": "ana-1", "lat": "43.7", "lon": "7.4", "junk": "x" * 70_000})
    assert r.status_code == 413 and r.get_json()["field"] == "body"
    assert world.rows() == before


def test_unknown_attributes_are_kept_within_bounds_and_the_rest_counted(world):
    """Tests that 32 KB of junk in 100 unknown parameters is cut to at most 32 attributes and 4 KiB, with the drop counted."""
    at = NOW + timedelta(seconds=570)  # the newest fix of the module's world, so it is the last position
    params = {"id": world.device, "lat": "43.74", "lon": "7.42", "timestamp": at.isoformat()}
    params.update({f"junk{i}": "j" * 300 if i % 10 == 0 else f"v{i}" for i in range(100)})
    params["huge"] = "x" * 32_000
    assert world.client.post("/osmand", data=params).status_code == 200
    with session_scope(world.sessions) as session:
        stored = positions_repo.last_position(session, worker_id=world.worker_id)
    assert stored.fix_time == at
    attributes = dict(stored.attributes)
    dropped = attributes.pop(DROPPED)
    assert len(attributes) <= MAX_ATTRIBUTES
    assert sum(len(k) + len(str(v)) for k, v in attributes.items()) <= MAX_ATTRIBUTES_BYTES
    assert all(len(k) + len(str(v)) <= MAX_ATTRIBUTE_BYTES for k, v in attributes.items())
    assert "huge" not in attributes and "junk0" not in attributes and attributes["junk1"] == "v1"
    assert dropped == 101 - len(attributes)


# --- unknown routes and Dash calls -----------------------------------------------------------


def test_unknown_api_paths_answer_404_json_and_wrong_methods_405_json(world):
    """Tests that an unknown /api/ path is 404 JSON (not the console's HTML) and a wrong method 405 JSON with Allow."""
    for method in ("get", "post", "delete"):
        r = getattr(world.client, method)("/api/v1/no-such-thing", headers=world.headers)
        assert r.status_code == 404 and r.get_json() == {
            "error": "path: no API route /api/v1/no-such-thing", "field": "path"
        }  # fmt: skip
    r = world.client.get(f"/api/v1/work-orders/{world.order_id}/assign", headers=world.headers)
    assert r.status_code == 405 and r.get_json()["field"] == "method" and "POST" in r.headers["Allow"]
    r = world.client.delete("/api/v1/work-orders", headers=world.headers)
    assert r.status_code == 405 and "GET, POST" in r.get_json()["error"]


def test_a_path_no_page_has_answers_404_not_a_page_of_the_console(world):
    """Tests that an unknown path, at the root or under a Dash app's prefix, is a 404 page saying so (in the reader's
    language) with a link to the live map, where Dash's catch-all served the wall screen or the app's page with 200."""
    assert world.client.post("/login", data={"name": "root", "password": "root-password"}).status_code == 302
    for path in ("/privacy/", "/audit", "/plans/old", "/day/x/y", "/review/a", "/reports/2025",
                 "/forms/z", "/admin/../nope"):  # fmt: skip
        r = world.client.get(path)
        page = r.get_data(as_text=True)
        assert r.status_code == 404, (path, r.status_code)
        assert "There is no page at this address." in page and '<a href="/">Live map</a>' in page, path
        assert "_dash-config" not in page  # not a Dash page
    r = world.client.get("/privacy/", headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 404 and "此地址没有页面。" in r.get_data(as_text=True)
    for path in ("/", "/plans/", "/day/", "/review/", "/reports/", "/forms/"):  # the pages themselves still open
        r = world.client.get(path)
        assert r.status_code == 200 and "_dash-config" in r.get_data(as_text=True), path
    world.client.post("/logout")
    r = world.client.get("/favicon.ico")  # signed out too: a browser asks for it on the sign-in page
    assert r.status_code == 200 and r.mimetype == "image/x-icon" and r.data.startswith(b"\x00\x00\x01\x00")


@pytest.mark.parametrize("prefix", ["", "/plans"])
@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1]", b"null", b'{"output": 1}', b'{"output": "nope..x", "inputs": []}', b"[" * 100_000,
     b'{"output": "%s", "inputs": 1}', b'{"output": "%s", "inputs": [1], "state": []}', b'{"output": "%s", "inputs": []}'],
)  # fmt: skip
def test_a_malformed_dash_callback_call_answers_400(world, prefix, body):
    """Tests that a logged-in user's malformed _dash-update-component call (either Dash app) is 400, not a 500."""
    assert world.client.post("/login", data={"name": "root", "password": "root-password"}).status_code == 302
    dash_output = _any_callback_output(world.client, prefix)
    r = world.client.post(
        f"{prefix}/_dash-update-component",
        data=body.replace(b"%s", dash_output.encode()),
        content_type="application/json",
    )
    assert r.status_code == 400 and r.get_json()["field"] == "body", r.get_data()[:300]


@pytest.mark.parametrize("prefix", ["", "/plans"])
def test_a_chunked_dash_call_over_the_body_cap_is_413_naming_body(world, prefix):
    """Tests that a logged-in user's _dash-update-component call sent chunked (no Content-Length) past the 16 MiB cap
    answers 413 naming `body`: Werkzeug stops reading such a body at the cap without saying so, and the cut body was
    parsed (400, invalid JSON) as if it were whole."""
    assert world.client.post("/login", data={"name": "root", "password": "root-password"}).status_code == 302
    body = b'{"output": "' + b"x" * (17 * 1024 * 1024) + b'"}'
    r = world.client.post(f"{prefix}/_dash-update-component", input_stream=io.BytesIO(body),
                          content_type="application/json", environ_overrides={"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"})  # fmt: skip
    assert r.status_code == 413 and r.get_json()["field"] == "body", r.get_data()[:300]


def _any_callback_output(client: Any, prefix: str) -> str:
    """The output id of a callback the Dash app serves, as its renderer reads it from `_dash-dependencies`."""
    dependencies = client.get(f"{prefix}/_dash-dependencies").get_json()
    return str(dependencies[0]["output"])


DASH_APPS = ["", "/plans", "/day", "/reports", "/forms", "/review"]
HOSTILE_VALUES = [None, "", "x", -1, 2**63, 1.5, True, [], ["x"], [None], {}, {"a": 1}, "2026-02-30"]


def _concrete(raw_id: str) -> Any:
    """A component id of `_dash-dependencies` as a request names it: a pattern's wildcards (ALL, MATCH) as index 1."""
    if not raw_id.startswith("{"):
        return raw_id
    return {k: 1 if isinstance(v, list) else v for k, v in json.loads(raw_id).items()}


def _is_all(raw_id: str) -> bool:
    return raw_id.startswith("{") and '["ALL"]' in raw_id.replace(" ", "")


def _dash_call(dependency: dict[str, Any], values: dict[tuple[str, str], Any]) -> dict[str, Any]:
    """The renderer's `_dash-update-component` body for `dependency`, every input and state `values[...]` (else None),
    the first input marked as the one that changed."""

    def item(spec: dict[str, str]) -> Any:
        one = {
            "id": _concrete(spec["id"]),
            "property": spec["property"],
            "value": values.get((spec["id"], spec["property"])),
        }
        return [one] if _is_all(spec["id"]) else one

    inputs = [item(spec) for spec in dependency["inputs"]]
    state = [item(spec) for spec in dependency.get("state", [])]
    outputs = []
    for part in dependency["output"].strip(".").split("..."):
        ident, _, prop = part.rpartition(".")
        outputs.append(
            [{"id": _concrete(ident), "property": prop}]
            if _is_all(ident)
            else {"id": _concrete(ident), "property": prop}
        )
    first = dependency["inputs"][0]
    changed = _concrete(first["id"])
    changed_id = changed if isinstance(changed, str) else json.dumps(changed, sort_keys=True, separators=(",", ":"))
    return {"output": dependency["output"], "outputs": outputs if len(outputs) > 1 else outputs[0], "inputs": inputs,
            "state": state, "changedPropIds": [f"{changed_id}.{first['property']}"]}  # fmt: skip


def test_the_hostile_callback_test_covers_every_dash_app_the_server_mounts(world):
    """Tests that DASH_APPS lists every Dash app the server answers callbacks for, so a new page's app is not left
    out of the test below."""
    mounted = {rule.rule.removesuffix("/_dash-update-component") for rule in world.client.application.url_map.iter_rules()
               if rule.rule.endswith("/_dash-update-component")}  # fmt: skip
    assert mounted == set(DASH_APPS)


@pytest.mark.parametrize("prefix", DASH_APPS)
def test_no_dash_callback_answers_5xx_to_hostile_input_values(world, prefix):
    """Tests that every server-side callback of every Dash app answers below 500 when any one of its inputs or states
    carries a value its page never sends (a list, an object, a huge or negative number, text where an id belongs): a
    forged callback call is input like any other (a fuzz against the demo found 23 places that were 500s)."""
    assert world.client.post("/login", data={"name": "root", "password": "root-password"}).status_code == 302
    failures = []
    for dependency in world.client.get(f"{prefix}/_dash-dependencies").get_json():
        if dependency.get("clientside_function") or not dependency["inputs"]:
            continue
        specs = [(spec["id"], spec["property"]) for spec in [*dependency["inputs"], *dependency.get("state", [])]]
        trials = [({key: value}, key) for key in specs for value in HOSTILE_VALUES]  # one at a time, the rest None
        trials += [(dict.fromkeys(specs, value), ("every input", "")) for value in HOSTILE_VALUES[1:]]  # all at once
        for values, key in trials:
            r = world.client.post(f"{prefix}/_dash-update-component", json=_dash_call(dependency, values))
            if r.status_code >= 500:
                failures.append((dependency["output"][:60], *key, values[specs[0]] if key[1] == "" else values[key]))
    assert failures == [], f"{len(failures)} 5xx, first: {failures[:5]}"


# --- photos -----------------------------------------------------------------------------------


def _png(width: int, height: int) -> bytes:
    """A PNG declaring width × height (RGB): real pixels for small sizes, a few zero rows for a bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = min(height, 4)
    raw = zlib.compress(b"".join(b"\0" + b"\x80" * (3 * width) for _ in range(rows)))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


@pytest.mark.parametrize(("width", "height"), [(60_000, 60_000), (8_000, 6_000)])
def test_an_image_bomb_is_refused_naming_its_size_before_decoding(world, width, height):
    """Tests that a small PNG declaring 60,000 × 60,000 (or 48 MP) pixels answers 400 naming the size, and nothing is stored."""
    before = world.rows()
    # Past twice Pillow's own bomb limit its header parser refuses first; its message gives the pixel count.
    photo = {"file": (io.BytesIO(_png(width, height)), "bomb.png", "image/png"), "order_id": str(world.order_id),
             "client_action_id": "bomb-1"}  # fmt: skip
    r = world.client.post(f"/api/v1/field/{world.token}/photos", data=photo, content_type="multipart/form-data")
    assert r.status_code == 400, r.get_data()[:300]
    shown = f"{width} × {height} pixels" if width * height < 178_956_970 else f"{width * height} pixels"
    assert r.get_json()["field"] == "file" and shown in r.get_json()["error"]
    assert world.rows() == before


def test_the_openapi_document_describes_every_api_route_and_method(world):
    """Tests that every /api/ and /osmand route the server answers (field-record included) is in /api/v1/openapi.json with its methods."""
    documented = world.client.get("/api/v1/openapi.json").get_json()["paths"]
    missing = []
    for rule in world.client.application.url_map.iter_rules():
        if not rule.rule.startswith(("/api/", "/osmand")) or rule.rule == "/osmand/":
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if method.lower() not in documented.get(path, {}):
                missing.append(f"{method} {path}")
    assert missing == []
    assert "get" in documented["/api/v1/work-orders/{order_id}/field-record"]


def test_a_signature_bomb_in_a_service_report_is_refused_naming_the_signature(world):
    """Tests that a report whose signature PNG declares 60,000 × 60,000 pixels is refused naming `report.signature`, and no report is stored."""
    signature = "data:image/png;base64," + base64.b64encode(_png(60_000, 60_000)).decode()
    report = {"client_action_id": "sig-bomb", "order_id": world.order_id, "action": "report", "at": NOW.isoformat(),
              "report": {"text": "done", "signature": signature}}  # fmt: skip
    r = world.client.post(f"/api/v1/field/{world.token}/actions", json={"actions": [report]})
    assert r.status_code == 200, r.get_data()[:300]
    (result,) = r.get_json()["results"]
    assert result["status"] == "refused" and result["error"].startswith("report.signature:")
    assert "pixels" in result["error"]
    assert (
        world.client.get(f"/api/v1/work-orders/{world.order_id}/field-record", headers=world.headers).get_json()[
            "report"
        ]
        is None
    )


def _calendar_requests(w: World, day: str) -> dict[str, tuple[str, str, dict[str, Any] | None, str]]:
    """Every request naming a calendar day: (method, path, JSON body or None, the field that names the day)."""
    return {
        "start-plan": ("POST", "/api/v1/plans", {"date": day, "seconds": 1}, "date"),
        "report": ("GET", f"/api/v1/reports/overview?from={day}&to={day}", None, "from"),
        "order-history": ("GET", f"/api/v1/orders/history?from={day}&to={day}", None, "from"),
        "timesheets": ("GET", f"/api/v1/timesheets?from={day}&to={day}", None, "from"),
        "day-reports": ("GET", f"/api/v1/day-reports?from={day}&to={day}", None, "from"),
        "plan-vs-actual": ("GET", f"/api/v1/workers/{w.worker_id}/plan-vs-actual?date={day}", None, "date"),
        "push-link": ("POST", f"/api/v1/workers/{w.worker_id}/push-link", {"day": day}, "day"),
        "approve-timesheet": ("POST", "/api/v1/timesheets/approve", {"worker_id": w.worker_id, "day": day}, "day"),
        "leave": ("POST", f"/api/v1/workers/{w.worker_id}/leaves", {"start": day, "end": day}, "start"),
    }


CALENDAR_REQUESTS = [
    "start-plan", "report", "order-history", "timesheets", "day-reports", "plan-vs-actual", "push-link",
    "approve-timesheet", "leave",
]  # fmt: skip


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1999-12-31"])
@pytest.mark.parametrize("request_name", CALENDAR_REQUESTS)
def test_a_day_outside_the_years_orders_may_have_is_refused_naming_its_field_and_stores_nothing(
    world, request_name, day
):
    """Tests that a plan, report, timesheet, day, push link or leave for a day outside 2000..2099 (where every order's
    window lies) is 400 naming the field that says the day, and stores nothing: a plan of 9999-12-31 was accepted and
    its job failed with "OverflowError: date value out of range", a leave in year 9999 was stored, a push link or
    report for year 1 was refused naming "body", which is not what was wrong."""
    before = world.rows()
    method, path, body, field = _calendar_requests(world, day)[request_name]
    r = world.client.open(path, method=method, json=body, headers=world.headers)
    assert r.status_code == 400, r.get_data(as_text=True)
    assert r.get_json() == {"error": f"{field}: '{day}' is not within the years 2000..2099", "field": field}
    assert world.rows() == before


def test_a_traccar_client_9_fix_time_outside_the_window_is_refused_naming_location_timestamp(world):
    """Tests that the JSON form's refusal names the field as sent (`location.timestamp`), not the flat form's `timestamp`."""
    fix = {"device_id": world.device, "location": {"timestamp": "1970-01-01T00:00:00Z", "coords": {"latitude": 43.74, "longitude": 7.42}}}  # fmt: skip
    r = world.client.post("/osmand", json=fix)
    assert r.status_code == 400 and r.get_json()["field"] == "location.timestamp"
    assert "retention period" in r.get_json()["error"]


def test_a_value_the_database_refuses_is_400_naming_the_body_not_500():
    """Tests that a value PostgreSQL refuses (text longer than its column, a number beyond its type) answers
    400 naming the body, the last net behind the input checks."""
    import flask
    from sqlalchemy.exc import DataError

    from console import http_errors

    server = flask.Flask("edge")

    @server.post("/api/v1/too-long")
    def too_long() -> str:
        raise DataError("INSERT ...", {}, Exception("value too long for type character varying(100)"))

    http_errors.register(server, dash_apps={})
    r = server.test_client().post("/api/v1/too-long", json={})
    assert r.status_code == 400
    assert r.get_json() == {"error": "body: a value is too long or out of range for what is stored", "field": "body"}
