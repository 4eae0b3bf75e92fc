"""Forms per order type and report approval end to end: versions, validation, access, the phone's answers, review."""

from __future__ import annotations

import base64
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from PIL import Image

from data import audit_repo
from data.db import make_engine, make_sessionmaker, session_scope
from tests.console.test_hostile_input import _png
from tests.support.windows import window_fields

pytestmark = pytest.mark.integration

SITES = """external_ref,name,address,latitude,longitude,geofence_radius_m,category
m:casino,Casino de Monte-Carlo,Place du Casino,43.7394,7.4276,60,amenity=casino
"""
WORKERS = """name,device_id,skills,team,home_lat,home_lon,shift_days,shift_start,shift_end
Ines Form,m-ines,gas,Centre,43.7390,7.4270,Mon-Sun,00:00,24:00
"""
INSPECTION = {
    "order_type": "inspection",
    "name": "Meter inspection",
    "needs_approval": True,
    "fields": [
        {"id": "outcome", "label": "Outcome", "type": "choice", "required": True, "choices": ["ok", "fault"]},
        {"id": "reading", "label": "Meter reading", "type": "number", "required": True, "min": 0, "max": 99999},
        {"id": "meter_photo", "label": "Photo of the meter", "type": "photo"},
    ],
}


@pytest.fixture(scope="module")
def setup(console_server, tmp_path_factory):
    d = tmp_path_factory.mktemp("csv")
    (d / "sites.csv").write_text(SITES)
    (d / "workers.csv").write_text(WORKERS)
    console_server.cli("data", "import-csv", "sites", str(d / "sites.csv"))
    console_server.cli("data", "import-csv", "workers", str(d / "workers.csv"))
    admin = {"Authorization": f"Bearer {console_server.admin_token}"}
    manager = console_server.cli("data", "create-user", "--role", "manager", "--name", "Mona Manager").strip()
    dispatcher = console_server.cli("data", "create-user", "--role", "dispatcher", "--name", "Dan Dispatch").strip()
    (worker,) = requests.get(f"{console_server.url}/api/v1/workers", headers=admin, timeout=5).json()
    token = requests.post(
        f"{console_server.url}/api/v1/workers/{worker['id']}/push-link", json={}, headers=admin, timeout=5
    ).json()["token"]
    return {
        "url": console_server.url, "admin": admin, "manager": {"Authorization": f"Bearer {manager}"},
        "dispatcher": {"Authorization": f"Bearer {dispatcher}"}, "worker_id": worker["id"], "token": token,
        "db": console_server.env["DATABASE_URL"],
    }  # fmt: skip


def new_order(setup, order_type: str) -> int:
    body = {"site_id": 1, "type": order_type, "required_skills": ["gas"], "service_minutes": 30, **window_fields()}
    order = requests.post(f"{setup['url']}/api/v1/work-orders", json=body, headers=setup["admin"], timeout=10).json()
    r = requests.post(
        f"{setup['url']}/api/v1/work-orders/{order['id']}/assign",
        json={"worker_id": setup["worker_id"], "reason": "test set-up"}, headers=setup["admin"], timeout=10,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    return order["id"]


def forms_of(setup, order_type: str) -> list[dict]:
    r = requests.get(
        f"{setup['url']}/api/v1/forms", params={"order_type": order_type}, headers=setup["admin"], timeout=5
    )
    assert r.status_code == 200, r.text
    return r.json()["forms"]


def save_form(setup, body: dict, who: str = "manager") -> requests.Response:
    return requests.post(f"{setup['url']}/api/v1/forms", json=body, headers=setup[who], timeout=5)


def send_report(setup, order_id: int, report: dict) -> dict:
    item = {"client_action_id": str(uuid.uuid4()), "order_id": order_id, "action": "report",
            "at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(), "report": report}  # fmt: skip
    r = requests.post(f"{setup['url']}/api/v1/field/{setup['token']}/actions", json={"actions": [item]}, timeout=10)
    assert r.status_code == 200, r.text
    (result,) = r.json()["results"]
    return result


def day_order(setup, order_id: int) -> dict:
    day = requests.get(f"{setup['url']}/api/v1/field/{setup['token']}/day", timeout=5).json()
    return next(o for o in day["orders"] if o["id"] == order_id)


def review(setup, order_id: int, body: dict, who: str = "manager") -> requests.Response:
    return requests.post(
        f"{setup['url']}/api/v1/orders/{order_id}/report/review", json=body, headers=setup[who], timeout=5
    )


def record(setup, order_id: int) -> dict:
    return requests.get(
        f"{setup['url']}/api/v1/work-orders/{order_id}/field-record", headers=setup["admin"], timeout=5
    ).json()


def test_todays_checklists_are_version_1_forms_and_a_phone_answers_one(setup):
    """Tests that each order type's old checklist is its version 1 form, carried by the day, and answers read as ticks."""
    (repair,) = forms_of(setup, "repair")
    assert (repair["version"], repair["needs_approval"]) == (1, False)
    assert [f["label"] for f in repair["fields"]] == [
        "Fault found", "Part replaced or fixed", "Tested after repair", "Area left clean"
    ]  # fmt: skip
    assert {f["type"] for f in repair["fields"]} == {"checkbox"}
    order_id = new_order(setup, "repair")
    assert day_order(setup, order_id)["form"] == repair
    done = send_report(setup, order_id, {"text": "Valve replaced", "form_id": repair["id"], "form_version": 1,
                                         "answers": {"fault_found": True, "tested_after_repair": True}})  # fmt: skip
    assert done["status"] == "applied", done
    report = record(setup, order_id)["report"]
    assert report["status"] == "submitted" and report["form_id"] == repair["id"]
    assert report["checklist"] == {
        "Fault found": True, "Part replaced or fixed": False, "Tested after repair": True, "Area left clean": False
    }  # fmt: skip


def test_a_bad_form_is_refused_naming_the_field_and_nothing_is_stored(setup):
    """Tests that a choice field without choices is refused as fields[2].choices and no version is added."""
    before = forms_of(setup, "delivery")
    body = {"order_type": "delivery", "name": "Delivery", "fields": [
        {"id": "who", "label": "Received by", "type": "text", "required": True},
        {"id": "ok", "label": "Intact", "type": "checkbox"},
        {"id": "state", "label": "State", "type": "choice", "required": True},
    ]}  # fmt: skip
    r = save_form(setup, body)
    assert r.status_code == 400
    assert r.json()["field"] == "fields[2].choices" and "at least one choice" in r.json()["error"]
    unknown = save_form(setup, {**body, "order_type": "party"})
    assert unknown.status_code == 400 and unknown.json()["field"] == "order_type"
    assert forms_of(setup, "delivery") == before


def test_only_managers_and_admins_save_forms_and_each_save_is_a_new_audited_version(setup):
    """Tests that a dispatcher gets 403, a manager's save becomes version 2 and version 1 stays readable."""
    body = {"order_type": "emergency", "name": "Emergency", "fields": [{"id": "safe", "label": "Made safe", "type": "checkbox", "required": True}]}  # fmt: skip
    refused = save_form(setup, body, who="dispatcher")
    assert refused.status_code == 403
    saved = save_form(setup, body)
    assert saved.status_code == 201, saved.text
    assert (saved.json()["version"], saved.json()["fields"][0]["required"]) == (2, True)
    assert [f["version"] for f in forms_of(setup, "emergency")] == [2, 1]
    (v1,) = [f for f in forms_of(setup, "emergency") if f["version"] == 1]
    again = requests.get(f"{setup['url']}/api/v1/forms/{v1['id']}", headers=setup["admin"], timeout=5).json()
    assert again["fields"][0]["label"] == "Site made safe"
    engine = make_engine(setup["db"])
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            (entry,) = audit_repo.list_audit(session, subject_type="form", subject_id=saved.json()["id"])
            assert entry.action == "save-form" and entry.details["version"] == 2
    finally:
        engine.dispose()


def test_a_phone_offline_across_a_new_version_submits_against_the_version_it_had(setup):
    """Tests that answers are checked against the version sent: the old one still works, a wrong one names the field."""
    order_id = new_order(setup, "visit")
    old = day_order(setup, order_id)["form"]
    new = save_form(setup, {"order_type": "visit", "name": "Visit", "fields": [
        {"id": "topic", "label": "Topic", "type": "choice", "required": True, "choices": ["sale", "support"]}]})  # fmt: skip
    assert new.status_code == 201
    assert day_order(setup, order_id)["form"]["version"] == 2
    missing = send_report(setup, order_id, {"form_id": new.json()["id"], "form_version": 2, "answers": {}})
    assert missing["status"] == "refused" and missing["error"].startswith("report.answers.topic: required")
    mismatch = send_report(setup, order_id, {"form_id": new.json()["id"], "form_version": 1, "answers": {}})
    assert mismatch["status"] == "refused" and mismatch["error"].startswith("report.form_version")
    assert record(setup, order_id)["report"] is None
    kept = send_report(
        setup, order_id, {"form_id": old["id"], "form_version": 1, "answers": {"met_the_customer": True}}
    )
    assert kept["status"] == "applied", kept
    assert record(setup, order_id)["report"]["form_id"] == old["id"]


def test_a_report_needing_approval_is_returned_with_a_note_resubmitted_and_approved(setup):
    """Tests the approval steps: pending, return needs a note, the phone sees it, resubmission, approval, then 409."""
    saved = save_form(setup, INSPECTION)
    assert saved.status_code == 201, saved.text
    form = saved.json()
    order_id = new_order(setup, "inspection")
    assert review(setup, order_id, {"decision": "approve"}).status_code == 409  # nothing sent yet
    first = send_report(setup, order_id, {"form_id": form["id"], "form_version": form["version"],
                                          "answers": {"outcome": "fault", "reading": 10}})  # fmt: skip
    assert first["status"] == "applied", first
    queue = requests.get(f"{setup['url']}/api/v1/service-reports/pending", headers=setup["manager"], timeout=5).json()
    assert [(q["order_id"], q["report"]["answers"]) for q in queue["reports"]] == [
        (order_id, {"outcome": "fault", "reading": 10})
    ]
    assert review(setup, order_id, {"decision": "approve"}, who="dispatcher").status_code == 403
    no_note = review(setup, order_id, {"decision": "return", "note": " "})
    assert no_note.status_code == 400 and no_note.json()["field"] == "note"
    returned = review(setup, order_id, {"decision": "return", "note": "Reading looks wrong: read it again"})
    assert returned.status_code == 200 and returned.json()["status"] == "returned"
    assert review(setup, order_id, {"decision": "approve"}).status_code == 409
    phone = day_order(setup, order_id)
    assert (phone["report"]["status"], phone["report"]["review_note"]) == (
        "returned",
        "Reading looks wrong: read it again",
    )
    again = send_report(setup, order_id, {"form_id": form["id"], "form_version": form["version"],
                                          "answers": {"outcome": "fault", "reading": 1234}})  # fmt: skip
    assert again["status"] == "applied", again
    assert day_order(setup, order_id)["report"]["status"] == "pending_approval"
    approved = review(setup, order_id, {"decision": "approve", "note": ""})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    second = review(setup, order_id, {"decision": "approve"})
    assert second.status_code == 409 and "approved" in second.json()["error"]
    steps = record(setup, order_id)["report_steps"]
    assert [(s["step"], s["by"], s["note"]) for s in steps] == [
        ("submitted", "Ines Form", ""),
        ("returned", "Mona Manager", "Reading looks wrong: read it again"),
        ("resubmitted", "Ines Form", ""),
        ("approved", "Mona Manager", ""),
    ]


def test_a_photo_answer_must_name_a_photo_uploaded_for_the_order(setup):
    """Tests that a photo field's answer refers to photos the phone uploaded for this order, by the phone's id."""
    forms = forms_of(setup, "inspection")
    form = next(f for f in forms if f["name"] == "Meter inspection")
    order_id = new_order(setup, "inspection")
    answers = {"outcome": "ok", "reading": 5, "meter_photo": ["photo-not-sent"]}
    refused = send_report(setup, order_id, {"form_id": form["id"], "form_version": form["version"], "answers": answers})
    assert refused["status"] == "refused" and refused["error"].startswith("report.answers.meter_photo")
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 10)).save(out, "PNG")
    photo_id = f"photo-{uuid.uuid4()}"
    up = requests.post(
        f"{setup['url']}/api/v1/field/{setup['token']}/photos",
        data={"order_id": order_id, "client_action_id": photo_id, "taken_at": datetime.now(UTC).isoformat()},
        files={"file": ("m.png", out.getvalue(), "image/png")}, timeout=10,
    )  # fmt: skip
    assert up.status_code == 201, up.text
    answers["meter_photo"] = [photo_id]
    sent = send_report(setup, order_id, {"form_id": form["id"], "form_version": form["version"], "answers": answers})
    assert sent["status"] == "applied", sent
    queue = requests.get(f"{setup['url']}/api/v1/service-reports/pending", headers=setup["manager"], timeout=5).json()
    item = next(q for q in queue["reports"] if q["order_id"] == order_id)
    assert item["photos"][photo_id].startswith("/api/v1/photos/")


def test_a_signature_answer_is_a_checked_png_and_a_bomb_is_refused_naming_the_field(setup):
    """Tests that a signature field takes a real PNG (kept, shown in the approval queue) and refuses a 60,000 × 60,000
    pixel bomb naming the answer, storing nothing."""
    saved = save_form(setup, {"order_type": "delivery", "name": "Signed delivery", "needs_approval": True, "fields": [
        {"id": "receiver", "label": "Receiver's signature", "type": "signature", "required": True}]})  # fmt: skip
    assert saved.status_code == 201, saved.text
    form = saved.json()
    order_id = new_order(setup, "delivery")
    bomb = "data:image/png;base64," + base64.b64encode(_png(60_000, 60_000)).decode()
    refused = send_report(setup, order_id, {"form_id": form["id"], "form_version": form["version"],
                                            "answers": {"receiver": bomb}})  # fmt: skip
    assert refused["status"] == "refused" and refused["error"].startswith("report.answers.receiver: ")
    assert "pixels" in refused["error"] and record(setup, order_id)["report"] is None
    out = io.BytesIO()
    Image.new("RGB", (68, 32), (255, 255, 255)).save(out, "PNG")
    signature = "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()
    sent = send_report(setup, order_id, {"form_id": form["id"], "form_version": form["version"],
                                         "answers": {"receiver": signature}})  # fmt: skip
    assert sent["status"] == "applied", sent
    queue = requests.get(f"{setup['url']}/api/v1/service-reports/pending", headers=setup["manager"], timeout=5).json()
    item = next(q for q in queue["reports"] if q["order_id"] == order_id)
    assert item["report"]["answers"] == {"receiver": signature}


def test_a_report_from_a_page_before_forms_still_waits_when_the_current_form_needs_approval(setup):
    """Tests that a report with the old checklist (a phone page cached before forms) is stored and, under a form
    needing approval, waits in the queue rather than slipping past it."""
    assert save_form(setup, INSPECTION).status_code == 201  # the current inspection form needs approval
    order_id = new_order(setup, "inspection")
    sent = send_report(setup, order_id, {"text": "Meter fine", "checklist": {"Meter read": True}})
    assert sent["status"] == "applied", sent
    report = record(setup, order_id)["report"]
    assert (report["status"], report["form_id"], report["checklist"]) == (
        "pending_approval",
        None,
        {"Meter read": True},
    )
    queue = requests.get(f"{setup['url']}/api/v1/service-reports/pending", headers=setup["manager"], timeout=5).json()
    assert order_id in [q["order_id"] for q in queue["reports"]]
