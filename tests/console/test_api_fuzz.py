"""Every API route the OpenAPI document lists, driven with bodies grown from its own refusals and then spoilt.

A route's body is grown field by field: each 400 names the field at fault, which gets a plausible value
(a date, an id, a number, text, a list, ...) until the route accepts the body or stops naming fields. Every
field met on the way is then given values the route never expects (null, a list, an object, -1, text, a
400-digit number, a lone NUL) and the route must answer below 500 every time. A fuzz of this kind against
the demo found 500s fixed alongside this test; this is its deterministic, in-process form, and it fails again
when a check-in decision or a field action's name that is a list is let through to a lookup (checked by
putting each bug back). A duplicate order reference, found the same way, has a test of its own: the grown
body never sends one reference twice.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, time
from typing import Any

import pytest
from sqlalchemy import select

from console import i18n
from data.db import session_scope
from data.tables import AuditRow
from dispatch.clock import ManualClock
from tests.factories import ALL_DAY_CSV
from tests.support.consent import consent_all
from tests.support.inprocess import InProcessApp, make_app
from tests.support.servers import REPO

NOW = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
SITES = "external_ref,name,address,latitude,longitude\nf:casino,Casino,Place,43.7394,7.4276\nf:port,Port,Quai,43.7347,7.4214\n"
WORKERS = (
    "name,device_id,skills,team,home_lat,home_lon,shift_days,shift_start,shift_end\n"
    f"Ana,f-ana,gas,,43.739,7.427,{ALL_DAY_CSV}\nBo,f-bo,gas,,43.735,7.421,{ALL_DAY_CSV}\n"
)
PLAUSIBLE: list[Any] = ["2026-03-03", 1, "x", 43.7, [1], True, {}, "2026-03-03T10:00:00+00:00", [], "repair", "10:00"]
"""Values tried, in turn, for a field a refusal names, until the route names another field or accepts."""
BY_NAME: dict[str, list[Any]] = {
    "date": ["2026-03-03"], "day": ["2026-03-03"], "start": ["2026-03-03"], "end": ["2026-03-03"],
    "from": ["2026-03-03"], "to": ["2026-03-04"], "lat": [43.74], "lon": [7.42], "seconds": [1],
    "actions": [[{}]], "positions": [[{}]], "action": ["check_in"], "client_action_id": ["c-1"],
    "at": ["2026-03-03T10:00:00+00:00"], "location": [{"lat": 43.7394, "lon": 7.4276, "accuracy_m": 5}],
    "home_base": [{"lat": 43.74, "lon": 7.42}], "shifts": [["Mon-Sun 00:00-24:00"]], "role": ["dispatcher"],
    "events": [["order.status_changed"]], "url": ["https://erp.example/hook"], "decision": ["approve"],
    "endpoint": ["https://push.example/x"], "keys": [{"p256dh": "k", "auth": "a"}], "text_version": ["v1"],
    "latitude": [43.74], "longitude": [7.42], "fix_time": ["2026-03-03T08:59:00+00:00"], "type": ["text"],
    "window_start": ["2026-03-03T10:00:00+00:00"], "window_end": ["2026-03-03T12:00:00+00:00"],
    "status": ["accepted", "cancelled"], "reason": ["fuzz"],
}  # fmt: skip
BY_NAME["location"].append({"lat": 43.74, "lon": 7.42})  # a site's location: no accuracy
BY_NAME["day"].append("2026-03-02")  # a timesheet is approved once its day is over
HOSTILE: list[Any] = [None, [], ["x"], {}, {"a": 1}, -1, 0, "x", "", 10**400, "\x00", True, 1.5]
SKIPPED = {"/api/v1/tokens/current"}
"""Routes left out: revoking the admin's own token would end the test's access."""


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> InProcessApp:
    return make_app(tmp_path_factory.mktemp("fuzz"), clock=ManualClock(NOW))


@pytest.fixture(scope="module")
def ids(app: InProcessApp) -> dict[str, str]:
    """The path values: the second worker and a second user for the routes that change or anonymise them (the first
    worker holds the push link the field routes use), an order assigned to the first worker, its push link."""
    app.import_csv("sites", SITES)
    app.import_csv("workers", WORKERS)
    workers = consent_all(app.http.get, app.http.post, app.admin)
    ana, bo = workers[0]["id"], workers[1]["id"]
    day = NOW.date()
    order = app.client.post(
        "/api/v1/work-orders", headers=app.admin,
        json={"site_id": 1, "window_start": datetime.combine(day, time(10), UTC).isoformat(),
              "window_end": datetime.combine(day, time(12), UTC).isoformat()},
    ).get_json()  # fmt: skip
    assigned = app.client.post(f"/api/v1/work-orders/{order['id']}/assign", headers=app.admin,
                               json={"worker_id": ana, "reason": "fuzz"})  # fmt: skip
    assert assigned.status_code == 200, assigned.get_data()[:300]
    link = app.client.post(f"/api/v1/workers/{ana}/push-link", json={}, headers=app.admin).get_json()["token"]
    app.user("dispatcher", "other")
    users = app.client.get("/api/v1/users", headers=app.admin).get_json()
    other = next(u["id"] for u in users if u["name"] == "other")
    return {"worker_id": str(bo), "order_id": str(order["id"]), "token": link, "user_id": str(other)}


def _routes(app: InProcessApp) -> list[tuple[str, str]]:
    spec = app.client.get("/api/v1/openapi.json").get_json()
    return [(method.upper(), path) for path, ops in spec["paths"].items() for method in ops
            if method in ("post", "put", "patch") and path.startswith("/api/") and path not in SKIPPED]  # fmt: skip


def _url(path: str, ids: dict[str, str]) -> str:
    """`path` of the OpenAPI document with its `{name}` parts filled from `ids` (1 for any other)."""
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "1"), path)


def _set(body: dict[str, Any], dotted: str, value: Any) -> bool:
    """Put `value` at `a.b[0].c` in `body`, making the objects and lists on the way; False when the path cannot be."""
    parts = [p for p in re.split(r"\.|\[(\d+)\]", dotted) if p]
    here: Any = body
    for n, part in enumerate(parts):
        key: int | str = int(part) if part.isdigit() else part
        last = n == len(parts) - 1
        if isinstance(here, list) and isinstance(key, int):
            while len(here) <= key:
                here.append({})
        elif not (isinstance(here, dict) and isinstance(key, str)):
            return False
        if last:
            here[key] = value
            return True
        if not isinstance(here[key] if isinstance(here, list) else here.get(key), dict | list):
            here[key] = [] if parts[n + 1].isdigit() else {}
        here = here[key]
    return False


def _leaves(value: Any, prefix: str = "") -> list[str]:
    if isinstance(value, dict):
        return [
            p
            for k, v in value.items()
            for p in [*_leaves(v, f"{prefix}.{k}" if prefix else k), f"{prefix}.{k}" if prefix else k]
        ]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaves(v, f"{prefix}[{i}]")]
    return []


def _field_at_fault(body: dict[str, Any], answer: Any) -> str | None:
    """The field a refusal names: a 400's `field`, or, for a batch answered item by item (the phone's actions, a
    batch of fixes), the first refused item's field inside the body's list of objects; None when none is named."""
    found = answer.get_json(silent=True)
    if not isinstance(found, dict):
        return None
    if answer.status_code == 400:
        field = found.get("field")
        return field if isinstance(field, str) and field != "body" else None
    items = [
        i for key in ("results", "rejected") for i in found.get(key) or [] if isinstance(i, dict) and i.get("field")
    ]
    lists = [k for k, v in body.items() if isinstance(v, list) and v and all(isinstance(i, dict) for i in v)]
    if answer.status_code != 200 or not items or len(lists) != 1:
        return None
    return f"{lists[0]}[{items[0].get('index', 0)}].{items[0]['field']}"


def _grown(post: Any) -> dict[str, Any]:
    """The body grown from the route's refusals: each names a field, which gets the next plausible value."""
    body: dict[str, Any] = {}
    tried: dict[str, int] = {}
    for _ in range(60):
        answer = post(body)
        field = _field_at_fault(body, answer)
        if field is None:
            return body
        options = BY_NAME.get(re.split(r"\.|\[", field)[-1], []) + PLAUSIBLE
        tried[field] = tried.get(field, 0) + 1
        if tried[field] > len(options) or not _set(body, field, copy.deepcopy(options[tried[field] - 1])):
            return body
    return body


def test_no_api_route_answers_5xx_to_a_hostile_value_in_any_field_it_names(app, ids):
    """Tests that every POST, PUT and PATCH route of the OpenAPI document answers below 500 while its body is grown
    from its refusals, and when any field met is then null, a list, an object, -1, 0, text, empty, a 400-digit
    number, a NUL, true or 1.5."""
    failures = []
    for method, path in _routes(app):
        url = _url(path, ids)
        headers = {} if "{token}" in path else app.admin

        def post(
            body: dict[str, Any], method: str = method, path: str = path, url: str = url, headers: Any = headers
        ) -> Any:
            answer = app.client.open(url, method=method, json=body, headers=headers)
            if answer.status_code >= 500:
                failures.append((method, path, body, answer.get_data()[:200]))
            return answer

        grown = _grown(post)
        for leaf in sorted(set(_leaves(grown))):
            for value in HOSTILE:
                spoilt = copy.deepcopy(grown)
                _set(spoilt, leaf, value)
                post(spoilt)
    assert failures == [], f"{len(failures)} 5xx, first: {failures[:3]}"
    assert len(_routes(app)) >= 40  # the document lists the routes (a broken fixture would test none)


QUERY_NAMES = ["from", "to", "date", "day", "status", "worker_id", "team", "page", "per_page", "format"]
QUERY_VALUES = ["", "x", "-1", "9" * 30, "2026-02-30", "9999-12-31", "\x00", "1,2", "1e999"]


def test_no_get_route_answers_5xx_to_a_hostile_query_value(app, ids):
    """Tests that every GET route of the OpenAPI document answers below 500 when any one of its documented query
    parameters, or one of the names routes commonly read (from, to, date, status, page, format, ...), is empty, text,
    negative, a 30-digit number, a day that does not exist or is out of range, a NUL, a list or 1e999."""
    spec = app.client.get("/api/v1/openapi.json").get_json()
    failures = []
    routes = 0
    for path, ops in spec["paths"].items():
        if "get" not in ops or not path.startswith("/api/"):
            continue
        routes += 1
        url = _url(path, ids)
        headers = {} if "{token}" in path else app.admin
        documented = [p["name"] for p in ops["get"].get("parameters", []) if p.get("in") == "query"]
        for name in dict.fromkeys([*documented, *QUERY_NAMES]):
            for value in QUERY_VALUES:
                answer = app.client.get(url, query_string={name: value}, headers=headers)
                if answer.status_code >= 500:
                    failures.append((path, name, value, answer.get_data()[:200]))
    assert failures == [], f"{len(failures)} 5xx, first: {failures[:3]}"
    assert routes >= 40  # the document lists the routes (a broken fixture would test none)


READ_NO_BODY = {
    "/api/v1/plans/{plan_id}/stop", "/api/v1/plans/{plan_id}/publish", "/api/v1/webhook-deliveries/{delivery_id}/replay",
    "/api/v1/work-orders/{order_id}/customer-link/revoke", "/api/v1/workers/{worker_id}/push-link/revoke",
}  # fmt: skip
"""Routes whose action takes no fields: a body sent to them is not read."""
LENIENT = ("/api/v1/field/", "/api/v1/positions")
"""The phone page's own calls and the trackers' batches: an older or newer client may send a key these do not know."""
CONTRACT = {
    ("POST", "/api/v1/work-orders"), ("POST", "/api/v1/work-orders/{order_id}/assign"), ("POST", "/api/v1/plans"),
    ("POST", "/api/v1/alerts/{alert_id}/ack"),
}  # fmt: skip
"""Routes other tools rely on (issues #3, #4, #11): they take a key they do not know, as they always did, and list it."""


def test_every_route_that_reads_an_object_refuses_a_key_it_does_not_know_naming_it(app, ids):
    """Tests that every POST, PUT and PATCH route of the office, the admin and the customer's link that reads a JSON
    object answers 400 naming a misspelt key ("reasn"), sent first in a body grown from its refusals, and lists the
    keys it knows: a misspelt optional field is not dropped without a word while the rest goes through."""
    checked, missed = 0, []
    for method, path in _routes(app):
        if path in READ_NO_BODY or path.startswith(LENIENT) or (method, path) in CONTRACT:
            continue
        url = _url(path, ids)

        def post(body: dict[str, Any], method: str = method, url: str = url) -> Any:
            return app.client.open(url, method=method, json=body, headers=app.admin)

        typo_first = json.dumps({"reasn": "typo", **_grown(post)})  # in this order (the test client sorts keys)
        answer = app.client.open(
            url, method=method, data=typo_first, content_type="application/json", headers=app.admin
        )
        found = answer.get_json(silent=True) or {}
        if answer.status_code != 400 or found.get("field") != "reasn" or "known:" not in found.get("error", ""):
            missed.append((method, path, answer.status_code, found))
        checked += 1
    assert missed == [], missed
    assert checked >= 25  # the document lists the routes (a broken fixture would test none)


def test_the_routes_other_tools_rely_on_take_a_key_they_do_not_know(app, ids):
    """Tests that no route of the issues' contracts (a new order, an assignment, a new plan, an alert's ack) refuses a
    body for one key more than it reads ("reasn", sent first in a body grown from its refusals), as none did before
    unknown keys were refused elsewhere; a new plan, made here, lists the key as `ignored` (the others' own tests
    check their answers: test_orders_api.py, test_alerts_api.py)."""
    answers = {}
    for method, path in sorted(CONTRACT):
        url = _url(path, ids)

        def post(body: dict[str, Any], method: str = method, url: str = url) -> Any:
            return app.client.open(url, method=method, json=body, headers=app.admin)

        typo_first = json.dumps({"reasn": "typo", **_grown(post)})
        answer = app.client.open(
            url, method=method, data=typo_first, content_type="application/json", headers=app.admin
        )
        found = answer.get_json(silent=True) or {}
        answers[path] = answer.status_code != 400 and found.get("field") != "reasn"
        if answer.status_code < 300:
            assert found.get("ignored") == ["reasn"], (path, found)
    assert answers == dict.fromkeys((path for _, path in CONTRACT), True)
    plan = app.client.post(
        "/api/v1/plans", json={"date": NOW.date().isoformat(), "seconds": 1, "secnds": 1}, headers=app.admin
    )
    assert plan.status_code == 202 and plan.get_json()["ignored"] == ["secnds"], plan.get_json()


def test_every_detail_key_of_the_audit_log_has_a_heading_the_admin_screens_translate(app, ids):
    """Tests that each key of the audit entries' details that the routes wrote (every route of the document) is a heading of the admin screens' audit log (`AUDIT_HEADINGS`, each marked
    for translation and translated into Chinese), so the Chinese audit log reads in Chinese beside its CSV's raw keys.
    Every route is driven here (bodies grown from refusals, GETs bare), so the test holds on its own too."""
    for method, path in _routes(app):
        url = _url(path, ids)
        headers = {} if "{token}" in path else app.admin
        _grown(lambda body, m=method, u=url, h=headers: app.client.open(u, method=m, json=body, headers=h))
    for path, ops in app.client.get("/api/v1/openapi.json").get_json()["paths"].items():
        if "get" in ops and path.startswith("/api/"):
            url = _url(path, ids)
            app.client.get(url, headers={} if "{token}" in path else app.admin)
    script = (REPO / "console" / "admin" / "admin.js").read_text(encoding="utf-8")
    block = script[script.index("const AUDIT_HEADINGS") : script.index("function auditDetails")]
    headings = dict(re.findall(r'(\w+): N_\("(\w+)"\)', block))
    with session_scope(app.sessions) as session:
        entries = [details or {} for details in session.scalars(select(AuditRow.details))]
    written = {key for details in entries for key in details}
    # The field names inside what an edit changed (before, after, changed) are headings too.
    written |= {key for details in entries for name in ("before", "after", "changed")
                if isinstance(details.get(name), dict) for key in details[name]}  # fmt: skip
    assert len(written) >= 40  # the routes ran (a broken fixture would leave no entries)
    assert sorted(written - set(headings)) == [], " ".join(sorted(written - set(headings)))
    chinese = i18n.messages("zh_CN")
    assert [key for key in headings.values() if not chinese.get(key) or chinese[key] == key] == []
