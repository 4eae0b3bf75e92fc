"""The scheduled report: posted to a local webhook once per period, remembered across restarts."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from data import webhooks_repo
from data.db import make_engine, make_sessionmaker, session_scope
from data.migrate import migrate
from data.tables import WebhookDeliveryRow
from dispatch.clock import ManualClock
from dispatch.reports import Schedule
from realtime.report_schedule import DeliveryFailed, deliver_if_due, webhook_poster
from tests.support.report_week import seed_week

WEDNESDAY_AFTER = datetime(2026, 3, 11, 6, 0, tzinfo=UTC)


class Receiver:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = 200


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    """A local HTTP webhook that records each JSON body and answers `status`."""
    got = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers["Content-Length"])
            got.bodies.append(json.loads(self.rfile.read(length)))
            self.send_response(got.status)
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield got, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'outfield.db'}"
    migrate(url)
    with session_scope(make_sessionmaker(make_engine(url))) as session:
        seed_week(session)
    return url


def test_weekly_report_is_posted_once_per_week_even_after_a_restart(receiver, db_url):
    """Tests that the weekly report for last Monday..Sunday reaches the webhook with each team's figures and
    the visits that went wrong, is not sent again by the same or a restarted worker, and next week's is sent
    once the week has passed."""
    got, url = receiver
    clock = ManualClock(WEDNESDAY_AFTER)

    def round_of_a_fresh_process() -> Any:
        sessions = make_sessionmaker(make_engine(db_url))
        return deliver_if_due(
            sessions=sessions, clock=clock, schedule=Schedule.WEEKLY, team="", post=webhook_poster(url)
        )

    sent = round_of_a_fresh_process()
    assert (str(sent.start), str(sent.end)) == ("2026-03-02", "2026-03-08")
    [body] = got.bodies
    assert (body["from"], body["to"], body["group"]) == ("2026-03-02", "2026-03-08", "team")
    rows = {r["key"]: r for r in body["rows"]}
    assert (rows["north"]["visits_done"], rows["south"]["visits_done"]) == (2, 0)
    assert sorted(r["reasons"].split(",")[0] for r in body["gone_wrong"]) == ["failed", "late"]
    assert round_of_a_fresh_process() is None
    clock.advance(3600)
    assert round_of_a_fresh_process() is None
    assert len(got.bodies) == 1
    clock.advance(timedelta(days=7).total_seconds())
    assert str(round_of_a_fresh_process().start) == "2026-03-09"
    assert len(got.bodies) == 2 and [r["orders"] for r in got.bodies[1]["rows"]] == [0, 0]  # a quiet week


def test_a_refused_delivery_is_retried_next_round(receiver, db_url):
    """Tests that when the webhook answers 500 the period is not marked sent, and the next round sends it."""
    got, url = receiver
    sessions = make_sessionmaker(make_engine(db_url))
    clock = ManualClock(WEDNESDAY_AFTER)
    got.status = 500
    with pytest.raises(DeliveryFailed, match="answered 500"):
        deliver_if_due(sessions=sessions, clock=clock, schedule=Schedule.DAILY, team="north", post=webhook_poster(url))
    got.status = 200
    sent = deliver_if_due(
        sessions=sessions, clock=clock, schedule=Schedule.DAILY, team="north", post=webhook_poster(url)
    )
    assert str(sent.start) == "2026-03-10"
    assert len(got.bodies) == 2 and got.bodies[1]["team"] == "north" and got.bodies[1]["group"] == "worker"


def test_the_report_goes_to_subscribed_webhooks_as_a_signed_event_without_a_report_url(db_url):
    """Tests that with no report webhook configured, the weekly report is still queued once for a webhook an
    admin subscribed to `report.delivered` (the webhooks process signs and sends it), with the week's rows."""
    sessions = make_sessionmaker(make_engine(db_url))
    clock = ManualClock(WEDNESDAY_AFTER)
    with session_scope(sessions) as session:
        hook = webhooks_repo.add_webhook(session, url="https://erp.example/hook", events=["report.delivered"],
                                         secret="s" * 20, created_by=None, at=clock.now())  # fmt: skip
        other = webhooks_repo.add_webhook(session, url="https://hr.example/hook", events=["checkin.recorded"],
                                          secret="t" * 20, created_by=None, at=clock.now())  # fmt: skip
    for _ in range(2):  # the second round finds the week delivered
        deliver_if_due(sessions=sessions, clock=clock, schedule=Schedule.WEEKLY, team="", post=None)
    with session_scope(sessions) as session:
        [delivery] = webhooks_repo.deliveries_of(session, hook.id)
        assert webhooks_repo.deliveries_of(session, other.id) == []
        body = json.loads(session.get(WebhookDeliveryRow, delivery.id).body)
    assert (delivery.event_type, delivery.status) == ("report.delivered", "pending")
    assert (body["data"]["from"], body["data"]["to"]) == ("2026-03-02", "2026-03-08")
    assert {r["key"]: r["visits_done"] for r in body["data"]["rows"]} == {"north": 2, "south": 0}
