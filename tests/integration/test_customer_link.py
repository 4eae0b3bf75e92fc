"""The customer's link end to end: status and first name, a position and ETA only while en route, the survey once."""

from __future__ import annotations

import time as clock
from datetime import UTC, datetime

import pytest
import requests

from tests.integration.test_field_api import CASINO, action, assigned_order, link, off_every_site, sync
from tests.integration.test_field_api import setup as setup  # noqa: F401 - the module's fixture

pytestmark = pytest.mark.integration


def customer_link(setup, order_id: int) -> dict:
    r = requests.post(
        f"{setup['url']}/api/v1/work-orders/{order_id}/customer-link", json={}, headers=setup["admin"], timeout=5
    )
    assert r.status_code == 201, r.text
    return r.json()


def track(setup, token: str) -> dict:
    r = requests.get(f"{setup['url']}/api/v1/track/{token}", timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def fix(setup, device: str, lat: float, lon: float, *, ahead_s: int = 0) -> None:
    params = {"id": device, "lat": lat, "lon": lon, "timestamp": int(clock.time()) + ahead_s, "accuracy": 8}
    assert requests.get(f"{setup['url']}/osmand", params=params, timeout=5).status_code == 200


def test_the_customer_sees_the_worker_only_while_on_the_way_then_rates_once(setup):
    """Tests that the link shows status and first name with no position before departure, the position and an
    ETA while en route, no position on site or after check-out, then takes one survey answer and refuses a second."""
    order_id = assigned_order(setup, "Ana Field")
    issued = customer_link(setup, order_id)
    assert issued["url"].endswith(f"/c/{issued['token']}") and issued["expires_at"]
    worker = link(setup, "Ana Field")
    off_every_site(setup, "Ana Field", worker)
    fix(setup, "f-ana", 43.7360, 7.4200)  # somewhere before setting off: never shown
    before = track(setup, issued["token"])
    assert before["status"] == "assigned" and before["worker_first_name"] == "Ana"
    assert before["position"] is None and before["eta"] is None and before["survey"]["open"] is False

    # Set off 3 s from now (by the phone's clock): the fix above was taken before.
    setting_off = [action(order_id, "accept", 0.0), action(order_id, "en_route", -0.05)]
    assert [r["status"] for r in sync(setup, worker, setting_off)] == ["applied"] * 2
    assert track(setup, issued["token"])["position"] is None  # the only fix is from before setting off
    fix(setup, "f-ana", 43.7370, 7.4240, ahead_s=5)
    moving = track(setup, issued["token"])
    assert moving["status"] == "en_route"
    assert moving["position"]["lat"] == pytest.approx(43.7370) and moving["position"]["lon"] == pytest.approx(7.4240)
    assert moving["eta"]["seconds"] > 0
    assert datetime.fromisoformat(moving["eta"]["at"]) > datetime.now(UTC)

    (checked_in,) = sync(setup, worker, [action(order_id, "check_in", -0.1, location={**CASINO, "accuracy_m": 8})])
    assert checked_in["status"] == "applied"
    on_site = track(setup, issued["token"])
    assert on_site["status"] == "on_site" and on_site["position"] is None and on_site["eta"] is None
    (out,) = sync(setup, worker, [action(order_id, "check_out", -0.15, location={**CASINO, "accuracy_m": 8})])
    assert out["status"] == "applied"
    done = track(setup, issued["token"])
    assert done["status"] == "done" and done["position"] is None and done["survey"] == {"open": True, "answered": False}

    url = f"{setup['url']}/api/v1/track/{issued['token']}/survey"
    bad = requests.post(url, json={"rating": 6, "comment": "x"}, timeout=5)
    assert bad.status_code == 400 and bad.json()["field"] == "rating"
    long = requests.post(url, json={"rating": 4, "comment": "x" * 1001}, timeout=5)
    assert long.status_code == 400 and long.json()["field"] == "comment"
    answered = requests.post(url, json={"rating": 2, "comment": "<b>late</b>"}, timeout=5)
    assert answered.status_code == 201, answered.text
    assert answered.json()["comment"] == "<b>late</b>" and answered.json()["alert_id"] is not None
    again = requests.post(url, json={"rating": 5}, timeout=5)
    assert again.status_code == 409
    assert track(setup, issued["token"])["survey"] == {"open": False, "answered": True}


def test_a_position_read_through_the_link_is_audited(setup, console_server):
    """Tests that each read showing the worker's position is in the audit log as a location view by the customer link."""
    from sqlalchemy import create_engine, text

    order_id = assigned_order(setup, "Bo Field")
    issued = customer_link(setup, order_id)
    worker = link(setup, "Bo Field")
    sync(setup, worker, [action(order_id, "accept", 0.2), action(order_id, "en_route", 0.1)])
    fix(setup, "f-bo", 43.7300, 7.4170, ahead_s=1)
    assert track(setup, issued["token"])["position"] is not None
    engine = create_engine(console_server.env["DATABASE_URL"])
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT actor_id, subject_id FROM audit_log WHERE action = 'view-location-customer-link'")
        ).all()
    assert (None, setup["workers"]["Bo Field"]) in [tuple(r) for r in rows]


@pytest.mark.parametrize(
    ("token", "status"),
    [("not-a-token", 404), ("eyJpIjoiYWJjIn0.forged", 404)],
)
def test_a_bad_link_gets_a_reason(setup, token, status):
    """Tests that a token we did not issue gets 404 naming the link, on the JSON and the survey."""
    r = requests.get(f"{setup['url']}/api/v1/track/{token}", timeout=5)
    assert r.status_code == status and r.json()["field"] == "link"
    s = requests.post(f"{setup['url']}/api/v1/track/{token}/survey", json={"rating": 3}, timeout=5)
    assert s.status_code == status


def test_issuing_needs_an_office_role_and_a_known_order(setup, console_server):
    """Tests that an unknown order gets 404, an anonymous caller 401, a bad body or sending with no hook 400
    naming the field, and a revoked link 410."""
    assert requests.post(f"{setup['url']}/api/v1/work-orders/999999/customer-link", headers=setup["admin"], timeout=5).status_code == 404  # fmt: skip
    assert requests.post(f"{setup['url']}/api/v1/work-orders/1/customer-link", timeout=5).status_code == 401
    order_id = assigned_order(setup, "Ana Field")
    for body, field in (({"send": "yes"}, "send"), ({"send": True}, "send"), ([1], "body")):
        bad = requests.post(f"{setup['url']}/api/v1/work-orders/{order_id}/customer-link", json=body, headers=setup["admin"], timeout=5)  # fmt: skip
        assert bad.status_code == 400 and bad.json()["field"] == field, bad.text
    issued = customer_link(setup, order_id)
    r = requests.post(f"{setup['url']}/api/v1/work-orders/{order_id}/customer-link/revoke", headers=setup["admin"], timeout=5)  # fmt: skip
    assert r.json()["revoked"] == 1
    gone = requests.get(f"{setup['url']}/api/v1/track/{issued['token']}", timeout=5)
    assert gone.status_code == 410 and gone.json()["field"] == "link"
