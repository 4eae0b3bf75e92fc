"""The managers' check-in review page (/review/) in a real headless chromium: approve and reject with a note."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.integration.test_checkin_review import (
    CASINO,
    ONE_KM_NORTH,
    SITES,
    WORKERS,
    check_in_of,
    jpeg_with_exif,
    upload,
    visit,
)
from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture(scope="module")
def world(console_server, tmp_path_factory):
    d = tmp_path_factory.mktemp("csv")
    (d / "sites.csv").write_text(SITES)
    (d / "workers.csv").write_text(WORKERS)
    console_server.cli("data", "import-csv", "sites", str(d / "sites.csv"))
    console_server.cli("data", "import-csv", "workers", str(d / "workers.csv"))
    console_server.cli("data", "create-user", "--role", "manager", "--name", "Mona", "--password", "manager-pw-1")
    admin = {"Authorization": f"Bearer {console_server.admin_token}"}
    (worker,) = requests.get(f"{console_server.url}/api/v1/workers", headers=admin, timeout=5).json()
    token = requests.post(
        f"{console_server.url}/api/v1/workers/{worker['id']}/push-link", json={}, headers=admin, timeout=5
    ).json()["token"]
    return {"url": console_server.url, "admin": admin, "worker_id": worker["id"], "token": token}


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()


def test_a_manager_rejects_one_checkin_with_a_note_and_approves_another(page, console_server, world):
    """Tests that /review/ (its content off the window's edge) lists the pending check-ins with score, reasons, site,
    worker and the stamped photo; Reject without a note is refused and keeps the item; with a note it leaves the
    queue, Approve too; the rejected filter shows the decision with who and the note (markup shown as text), and the
    API agrees."""
    far_order, _ = visit(world, {**ONE_KM_NORTH, "accuracy_m": 15})
    other_order, _ = visit(world, {**CASINO, "accuracy_m": 8}, sent_at=datetime.now(UTC) - timedelta(hours=2))
    taken = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y:%m:%d %H:%M:%S")
    upload(world, other_order, jpeg_with_exif(taken, (43.0, 46.0, 30.0), (7.0, 25.0, 39.0)))
    far, other = check_in_of(world, far_order)["id"], check_in_of(world, other_order)["id"]

    login(page, console_server, name="Mona", password="manager-pw-1", path="/review/", ready=f"#review-item-{far}")
    page.wait_for_selector(f"#review-item-{other}", timeout=10_000)
    # The page has a margin, as the other office pages: its title and filter stood against the window's edge.
    assert min(page.locator(sel).bounding_box()["x"] for sel in ("h1", ".review-filter", ".review-list")) >= 12
    item = page.locator(f"#review-item-{far}")
    text = item.inner_text()
    assert f"Order #{far_order} · Casino de Monte-Carlo · Cleo Review" in text
    assert "confidence 55/100" in text
    assert "−45 the fix is" in text and "outside the geofence of Casino de Monte-Carlo" in text
    assert "Waiting for a manager's review" in text
    other_text = page.locator(f"#review-item-{other}").inner_text()
    assert "confidence 40/100" in other_text and "the phone's clock is 2 h 00 min behind" in other_text
    page.wait_for_function(
        f"() => {{ const i = document.querySelector('#review-item-{other} img.review-photo');"
        " return i && i.complete && i.naturalWidth > 0 && i.src.endsWith('/watermarked'); }",
        timeout=10_000,
    )

    item.locator(".review-reject").click()
    page.wait_for_selector(".review-message:has-text('note: required to reject')", timeout=10_000)
    assert page.locator(f"#review-item-{far}").count() == 1

    note = "<b>Phone was at home</b>, not at the casino"
    item.locator("textarea.review-note").fill(note)
    item.locator(".review-reject").click()
    page.wait_for_selector(f".review-message:has-text('Check-in {far} (order #{far_order}) rejected.')", timeout=10_000)
    page.wait_for_selector(f"#review-item-{far}", state="detached", timeout=10_000)

    page.locator(f"#review-item-{other} .review-approve").click()
    page.wait_for_selector(f"#review-item-{other}", state="detached", timeout=10_000)
    page.wait_for_selector(".review-list:has-text('No pending check-ins.')", timeout=10_000)

    page.locator(".review-filter label:has-text('rejected')").click()
    page.wait_for_selector(f"#review-item-{far}", timeout=10_000)
    decided = page.locator(f"#review-item-{far} .confidence-review").inner_text()
    assert decided.startswith("Rejected by Mona at ") and decided.endswith(f"UTC: {note}")
    assert page.locator(f"#review-item-{far} b").count() == 0  # the note's markup stayed text
    assert page.locator(f"#review-item-{far} .review-reject").count() == 0  # decided: no buttons

    assert check_in_of(world, far_order)["review"]["status"] == "rejected"
    approved = check_in_of(world, other_order)["review"]
    assert (approved["status"], approved["by"], approved["note"]) == ("approved", "Mona", "")
    assert page.errors == []


def test_a_dispatcher_is_told_the_page_is_for_managers(page, console_server, world):
    """Tests that a dispatcher opening /review/ sees why they may not review, and no queue."""
    login(page, console_server, path="/review/", ready=".login")
    assert "Your role may not review check-ins" in page.locator(".login").inner_text()
    assert page.locator(".review-list").count() == 0
