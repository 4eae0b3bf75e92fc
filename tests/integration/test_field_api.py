"""The field worker's push link end to end: link, day, offline action queue, check-in verdicts, photos, report."""

from __future__ import annotations

import base64
import io
import queue
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
import socketio
from PIL import Image

from tests.support.consent import consent_all, consent_on_paper
from tests.support.windows import open_window, window_fields

pytestmark = pytest.mark.integration

SITES = """external_ref,name,address,latitude,longitude,geofence_radius_m,category
f:casino,Casino de Monte-Carlo,Place du Casino,43.7394,7.4276,60,amenity=casino
f:port,Port Hercule,Quai Albert 1er,43.7347,7.4214,60,amenity=marina
"""
WORKERS = """name,device_id,skills,team,home_lat,home_lon,shift_days,shift_start,shift_end
Ana Field,f-ana,gas,Centre,43.7390,7.4270,Mon-Sun,00:00,24:00
Bo Field,f-bo,gas,South,43.7290,7.4160,Mon-Sun,00:00,24:00
Di Route,f-di,gas,North,43.7300,7.4200,Mon-Sun,00:00,24:00
"""
CASINO = {"lat": 43.7394, "lon": 7.4276}


@pytest.fixture(scope="module")
def setup(console_server, tmp_path_factory):
    d = tmp_path_factory.mktemp("csv")
    (d / "sites.csv").write_text(SITES)
    (d / "workers.csv").write_text(WORKERS)
    console_server.cli("data", "import-csv", "sites", str(d / "sites.csv"))
    console_server.cli("data", "import-csv", "workers", str(d / "workers.csv"))
    admin = {"Authorization": f"Bearer {console_server.admin_token}"}
    workers = {w["name"]: w["id"] for w in consent_all(requests.get, requests.post, admin, url=console_server.url)}
    return {"admin": admin, "workers": workers, "url": console_server.url}


def assigned_order(setup, worker: str, site_id: int = 1, window: tuple[datetime, datetime] | None = None) -> int:
    body = {"site_id": site_id, "type": "repair", "required_skills": ["gas"], "service_minutes": 30,
            **window_fields(window)}  # fmt: skip
    order = requests.post(f"{setup['url']}/api/v1/work-orders", json=body, headers=setup["admin"], timeout=10).json()
    r = requests.post(
        f"{setup['url']}/api/v1/work-orders/{order['id']}/assign",
        json={"worker_id": setup["workers"][worker], "reason": "test set-up"},
        headers=setup["admin"],
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return order["id"]


def off_every_site(setup, worker: str, token: str) -> None:
    """Check `worker` out of any order an earlier test left them on site at: a worker is on one site at a time."""
    orders = requests.get(f"{setup['url']}/api/v1/work-orders", headers=setup["admin"], timeout=5).json()
    for o in orders:
        if o["assigned_worker_id"] == setup["workers"][worker] and o["status"] == "on_site":
            (done,) = sync(setup, token, [action(o["id"], "check_out", 0.5, location={**CASINO, "accuracy_m": 10})])
            assert done["status"] == "applied", done


def link(setup, worker: str) -> str:
    r = requests.post(
        f"{setup['url']}/api/v1/workers/{setup['workers'][worker]}/push-link",
        json={},
        headers=setup["admin"],
        timeout=5,
    )
    assert r.status_code == 201, r.text
    return r.json()["token"]


def action(order_id: int, kind: str, minutes_ago: float, **extra) -> dict:
    at = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()
    return {"client_action_id": str(uuid.uuid4()), "order_id": order_id, "action": kind, "at": at, **extra}


def sync(setup, token: str, actions: list[dict]) -> list[dict]:
    r = requests.post(f"{setup['url']}/api/v1/field/{token}/actions", json={"actions": actions}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["results"]


def history(setup, order_id: int) -> list[dict]:
    return requests.get(f"{setup['url']}/api/v1/work-orders/{order_id}", headers=setup["admin"], timeout=5).json()[
        "history"
    ]


def png_bytes(colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "PNG")
    return out.getvalue()


def test_link_opens_the_day_with_what_the_page_needs(setup):
    """Tests that a push link shows the worker's assigned order with address, window, form (the checklist) and navigation, and comes with a QR code."""
    order_id = assigned_order(setup, "Ana Field")
    r = requests.post(
        f"{setup['url']}/api/v1/workers/{setup['workers']['Ana Field']}/push-link",
        json={},
        headers=setup["admin"],
        timeout=5,
    )
    body = r.json()
    assert "/field/" in body["url"] and "<svg" in body["qr_svg"]
    day = requests.get(f"{setup['url']}/api/v1/field/{body['token']}/day", timeout=5).json()
    assert day["worker"]["name"] == "Ana Field"
    (order,) = [o for o in day["orders"] if o["id"] == order_id]
    assert order["site"]["name"] == "Casino de Monte-Carlo"
    assert order["navigation"]["geo"].startswith("geo:43.739400,7.427600")
    assert "Tested after repair" in [f["label"] for f in order["form"]["fields"]]


def test_the_day_carries_its_route_and_says_when_it_is_not_along_roads(setup):
    """Tests that the day sent to the phone (and kept offline) holds the route through its sites in visit
    order; this server has no road network built, so the route is straight and says so."""
    start, end = open_window()  # both windows open now, so both are on today's link whatever the hour
    first = assigned_order(setup, "Di Route", 2, (start, end))
    assigned_order(setup, "Di Route", 1, (start + timedelta(minutes=30), end))
    day = requests.get(f"{setup['url']}/api/v1/field/{link(setup, 'Di Route')}/day", timeout=5).json()
    assert [o["id"] for o in day["orders"]][0] == first
    route = day["route"]
    assert route["points"] == [[43.7347, 7.4214], [43.7394, 7.4276]]  # Port Hercule, then the Casino
    assert route["on_roads"] is False and "roads are not built" in route["note"]


def test_offline_queue_replayed_three_times_applies_each_action_once(setup):
    """Tests that the same offline queue uploaded three times changes the order once per action, keeping the phone's times."""
    order_id = assigned_order(setup, "Ana Field")
    token = link(setup, "Ana Field")
    # Tapped on the phone in the seconds after the assignment, uploaded later (negative = after now).
    queue_ = [
        action(order_id, "accept", -0.01),
        action(order_id, "en_route", -0.02),
        action(order_id, "check_in", -0.03, location={**CASINO, "accuracy_m": 8}),
    ]
    first = sync(setup, token, queue_)
    assert [r["status"] for r in first] == ["applied"] * 3
    assert first[2]["verdict"] == "verified"
    for _ in range(2):
        again = sync(setup, token, queue_)
        assert [r["status"] for r in again] == ["duplicate"] * 3
    moves = [(h["from"], h["to"]) for h in history(setup, order_id)]
    assert moves == [
        (None, "new"),
        ("new", "assigned"),
        ("assigned", "accepted"),
        ("accepted", "en_route"),
        ("en_route", "on_site"),
    ]
    recorded = [h["at"] for h in history(setup, order_id)][2:]
    assert recorded == [datetime.fromisoformat(a["at"]).isoformat() for a in queue_]


def test_check_in_far_from_site_is_flagged_live(console_server, setup):
    """Tests that a check-in 720 m from the site is accepted but flagged 'outside geofence', and the dispatcher's console is told at once."""
    order_id = assigned_order(setup, "Bo Field", site_id=2)
    token = link(setup, "Bo Field")
    updates: queue.Queue = queue.Queue()
    client = socketio.Client(reconnection=False)
    client.on("orders", updates.put)
    client.connect(setup["url"], auth={"token": console_server.admin_token}, transports=["websocket"], wait_timeout=10)
    try:
        results = sync(
            setup,
            token,
            [
                action(order_id, "accept", 3),
                action(order_id, "en_route", 2),
                action(order_id, "check_in", 1, location={**CASINO, "accuracy_m": 10}),
            ],
        )
        assert results[2]["verdict"] == "outside_geofence"
        deadline = datetime.now(UTC) + timedelta(seconds=5)
        flagged = None
        while datetime.now(UTC) < deadline and flagged is None:
            message = updates.get(timeout=5)
            if message["order"]["order_id"] == order_id and message["order"].get("flag"):
                flagged = message["order"]["flag"]
        assert flagged is not None and "outside the geofence" in flagged
    finally:
        client.disconnect()
    record = requests.get(
        f"{setup['url']}/api/v1/work-orders/{order_id}/field-record", headers=setup["admin"], timeout=5
    ).json()
    (checkin,) = record["checkins"]
    assert {k: checkin[k] for k in ("kind", "verdict", "distance_m")} == {
        "kind": "in",
        "verdict": "outside_geofence",
        "distance_m": pytest.approx(722, abs=5),
    }
    assert (checkin["confidence"], checkin["review"]["status"]) == (55, "needs_review")


def test_photo_report_signature_and_check_out(setup):
    """Tests the end of a visit: a photo (checked and thumbnailed), a signed report, and check-out; repeats are not stored twice."""
    order_id = assigned_order(setup, "Ana Field")
    token = link(setup, "Ana Field")
    off_every_site(setup, "Ana Field", token)
    sync(
        setup,
        token,
        [
            action(order_id, "accept", 50),
            action(order_id, "en_route", 40),
            action(order_id, "check_in", 30, location={**CASINO, "accuracy_m": 5}),
        ],
    )
    photo_id = str(uuid.uuid4())
    upload = lambda data, ctype="image/png": requests.post(  # noqa: E731
        f"{setup['url']}/api/v1/field/{token}/photos",
        data={"order_id": order_id, "client_action_id": photo_id},
        files={"file": ("site.png", data, ctype)},
        timeout=10,
    )
    r = upload(png_bytes())
    assert r.status_code == 201, r.text
    assert upload(png_bytes()).status_code == 200  # the same upload retried: not stored again
    bad = requests.post(
        f"{setup['url']}/api/v1/field/{token}/photos",
        data={"order_id": order_id, "client_action_id": "x1"},
        files={"file": ("a.png", b"not an image", "image/png")},
        timeout=10,
    )
    assert bad.status_code == 400 and bad.json()["field"] == "file"
    pdf = requests.post(
        f"{setup['url']}/api/v1/field/{token}/photos",
        data={"order_id": order_id, "client_action_id": "x2"},
        files={"file": ("a.pdf", b"%PDF-1.4", "application/pdf")},
        timeout=10,
    )
    assert pdf.status_code == 400 and "application/pdf" in pdf.json()["error"]

    signature = "data:image/png;base64," + base64.b64encode(png_bytes((0, 0, 0))).decode()
    report = {
        "text": "Replaced the valve",
        "checklist": {"Fault found": True, "Tested after repair": True},
        "parts": [{"name": "valve DN15", "quantity": 1}],
        "signed_by": "M. Grimaldi",
        "signature": signature,
    }
    results = sync(
        setup,
        token,
        [
            action(order_id, "report", 10, report=report),
            action(order_id, "check_out", 9, location={**CASINO, "accuracy_m": 5}),
        ],
    )
    assert [r["status"] for r in results] == ["applied", "applied"]
    assert results[1]["order_status"] == "done"
    record = requests.get(
        f"{setup['url']}/api/v1/work-orders/{order_id}/field-record", headers=setup["admin"], timeout=5
    ).json()
    assert record["report"]["has_signature"] and record["report"]["parts"] == [{"name": "valve DN15", "quantity": 1}]
    assert [c["kind"] for c in record["checkins"]] == ["in", "out"]
    (photo,) = record["photos"]
    thumb = requests.get(setup["url"] + photo["thumbnail_url"], headers=setup["admin"], timeout=5)
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/jpeg"


def test_an_action_sent_twice_in_one_upload_is_answered_twice_applied_once_as_first_sent(setup):
    """Tests that a queue holding the same report twice (one id, two texts) gets one result per action, in upload
    order, the second "duplicate", and that the report kept is the first one sent (the first used to be applied with
    the second's text and its result lost: three results for four actions); a report with a misspelt key is refused
    naming it rather than stored without what was written under it."""
    order_id = assigned_order(setup, "Ana Field")
    token = link(setup, "Ana Field")
    first = action(order_id, "report", 5, report={"text": "Replaced the valve"})
    again = {**first, "report": {"text": "something else"}}
    results = sync(setup, token, [action(order_id, "accept", 6), first, again, action(order_id, "en_route", 4)])
    assert [(r["client_action_id"], r["status"]) for r in results] == [
        (results[0]["client_action_id"], "applied"),
        (first["client_action_id"], "applied"),
        (first["client_action_id"], "duplicate"),
        (results[3]["client_action_id"], "applied"),
    ]
    record = requests.get(
        f"{setup['url']}/api/v1/work-orders/{order_id}/field-record", headers=setup["admin"], timeout=5
    ).json()
    assert record["report"]["text"] == "Replaced the valve"

    (misspelt,) = sync(setup, token, [action(order_id, "report", 3, report={"notes": "Gasket changed"})])
    assert misspelt["status"] == "refused" and misspelt["error"].startswith("report.notes: is not a field here")


def test_link_is_scoped_to_its_worker(setup):
    """Tests that Ana's link cannot move Bo's order, nor report positions for Bo."""
    bo_order = assigned_order(setup, "Bo Field")
    results = sync(setup, link(setup, "Ana Field"), [action(bo_order, "accept", 1)])
    assert results[0]["status"] == "refused"
    assert history(setup, bo_order)[-1]["to"] == "assigned"


def test_tampered_revoked_and_past_links_are_refused(setup):
    """Tests that a tampered link gets 401, a revoked one 410 with the reason, and a link for a past day cannot be issued."""
    token = link(setup, "Bo Field")
    r = requests.get(f"{setup['url']}/api/v1/field/{token[:-3]}abc/day", timeout=5)
    assert r.status_code == 401 and r.json()["field"] == "link"
    wid = setup["workers"]["Bo Field"]
    assert (
        requests.post(
            f"{setup['url']}/api/v1/workers/{wid}/push-link/revoke", headers=setup["admin"], timeout=5
        ).status_code
        == 200
    )
    r = requests.get(f"{setup['url']}/api/v1/field/{token}/day", timeout=5)
    assert r.status_code == 410 and "revoked" in r.json()["error"]
    past = (date.today() - timedelta(days=3)).isoformat()
    r = requests.post(
        f"{setup['url']}/api/v1/workers/{wid}/push-link", json={"day": past}, headers=setup["admin"], timeout=5
    )
    assert r.status_code == 400 and r.json()["field"] == "day"


def test_bad_actions_name_the_field_and_do_not_block_the_rest(setup):
    """Tests that a malformed action is answered 'invalid' naming the field, while the good one in the same upload applies."""
    order_id = assigned_order(setup, "Ana Field")
    token = link(setup, "Ana Field")
    results = sync(
        setup,
        token,
        [
            {"client_action_id": "bad-1", "order_id": order_id, "action": "teleport", "at": "now"},
            action(order_id, "accept", 1),
        ],
    )
    assert (results[0]["status"], results[0]["field"]) == ("invalid", "action")
    assert results[1]["status"] == "applied"
    r = sync(setup, token, [action(order_id, "decline", 0)])
    assert r[0]["status"] == "refused" and "reason" in r[0]["error"]


def test_page_positions_and_assignment_push(setup):
    """Tests that the open page reports positions through the ingestion path, and is pushed a new assignment."""
    token = link(setup, "Bo Field")
    r = requests.post(
        f"{setup['url']}/api/v1/field/{token}/positions",
        json={"positions": [{"lat": 43.735, "lon": 7.421, "accuracy": 12, "timestamp": datetime.now(UTC).isoformat()}]},
        timeout=5,
    )
    assert r.json() == {"accepted": 1, "received": 1}
    pushed: queue.Queue = queue.Queue()
    client = socketio.Client(reconnection=False)
    client.on("assignment", pushed.put)
    client.connect(setup["url"], auth={"link": token}, transports=["websocket"], wait_timeout=10)
    try:
        order_id = assigned_order(setup, "Bo Field")
        message = pushed.get(timeout=5)
        while message["order"]["order_id"] != order_id:
            message = pushed.get(timeout=5)
        assert message["order"]["assigned_worker_id"] == setup["workers"]["Bo Field"]
    finally:
        client.disconnect()
    refused = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        refused.connect(setup["url"], auth={"link": "forged"}, transports=["websocket"], wait_timeout=5)


def test_a_worker_on_site_cannot_check_in_elsewhere_and_an_early_check_in_is_flagged(console_server, setup):
    """Tests that a worker still on site at order A who checks in at order B from an offline queue gets that one
    action refused with a reason naming order A (the rest of the queue applies, a replay reports each action once),
    and that a check-in at the site four hours before an order's window opens is flagged early, not verified."""
    console_server.cli("data", "add-worker", "--name", "Cy Field", "--device-id", "f-cy", "--skills", "gas",
                       "--shift", "Mon-Sun 00:00-24:00")  # fmt: skip
    workers = requests.get(f"{setup['url']}/api/v1/workers", headers=setup["admin"], timeout=5).json()
    setup["workers"]["Cy Field"] = next(w["id"] for w in workers if w["name"] == "Cy Field")
    consent_on_paper(requests.post, setup["admin"], [setup["workers"]["Cy Field"]], url=setup["url"])
    first, second = assigned_order(setup, "Cy Field"), assigned_order(setup, "Cy Field")
    token = link(setup, "Cy Field")
    at_casino = {**CASINO, "accuracy_m": 10}
    queue_ = [action(first, "accept", 8), action(first, "en_route", 7), action(first, "check_in", 6, location=at_casino),
              action(second, "accept", 5), action(second, "en_route", 4), action(second, "check_in", 3, location=at_casino),
              action(first, "check_out", 2, location=at_casino), action(second, "check_in", 1, location=at_casino)]  # fmt: skip
    results = sync(setup, token, queue_[:5])
    office = requests.post(f"{setup['url']}/api/v1/work-orders/{second}/status", json={"status": "on_site"},
                           headers=setup["admin"], timeout=5)  # fmt: skip
    assert office.status_code == 409 and f"still on site at order {first}" in office.json()["error"]
    results += sync(setup, token, queue_[5:])
    assert [r["status"] for r in results] == ["applied"] * 5 + ["refused", "applied", "applied"]
    assert f"still on site at order {first}; check out of order {first}" in results[5]["error"]
    assert results[7]["order_status"] == "on_site"  # checked out of the first, the second check-in goes through
    assert [r["status"] for r in sync(setup, token, queue_)] == ["duplicate"] * 8

    later = datetime.now(UTC) + timedelta(hours=4)
    early = assigned_order(setup, "Bo Field", window=(later, later + timedelta(hours=2)))
    bo = link(setup, "Bo Field")
    steps = sync(setup, bo, [action(early, "accept", 2), action(early, "en_route", 1)])
    assert [r["status"] for r in steps] == ["applied", "applied"]
    off_every_site(setup, "Bo Field", bo)
    (checked_in,) = sync(setup, bo, [action(early, "check_in", 0, location=at_casino)])
    assert (checked_in["status"], checked_in["verdict"]) == ("applied", "early"), checked_in
    assert "min before the window opens" in checked_in["verdict_reason"]
