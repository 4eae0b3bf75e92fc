"""Outgoing webhooks end to end: signed, delivered once, retried with backoff, durable across a restart, replayable."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis
import requests

from dispatch.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from realtime.redis_server import start_redis
from tests.support.servers import REPO, free_port, wait_until
from tests.support.windows import window_fields

pytestmark = pytest.mark.integration
SECRET = "receiver-secret-0123456789"
SITES = """external_ref,name,address,latitude,longitude,geofence_radius_m,category
w:casino,Casino de Monte-Carlo,Place du Casino,43.7394,7.4276,60,amenity=casino
"""
WORKERS = """name,device_id,skills,team,home_lat,home_lon,shift_days,shift_start,shift_end
Wes Hook,w-wes,gas,Centre,43.7390,7.4270,Mon-Sun,00:00,24:00
"""


class Receiver:
    """A local HTTP receiver: records every request; answers 500 to the first `fail_first` ones."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests.append({"body": body, "headers": dict(self.headers)})
                    failing = receiver.fail_first > 0
                    receiver.fail_first -= 1 if failing else 0
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, order_id: int | None = None) -> list[dict]:
        with self.lock:
            out = [json.loads(r["body"]) for r in self.requests]
        return [e for e in out if order_id is None or e["data"].get("order_id") == order_id]


class WebhookWorker:
    def __init__(self, env: dict[str, str], log_dir) -> None:
        self.env, self.log_dir, self.proc = env, log_dir, None

    def start(self) -> None:
        from rq import Worker

        from realtime.webhook_queue import DeliveryQueue

        with open(self.log_dir / "webhooks.log", "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "console", "webhook-worker"], env=self.env, cwd=REPO, stdout=log, stderr=log
            )
        name = f"webhooks-{socket.gethostname()}-{self.proc.pid}"
        queue = DeliveryQueue(self.env["REDIS_URL"]).queue()
        wait_until(lambda: name in [w.name for w in Worker.all(queue=queue)], 30, "python -m console webhook-worker")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(30)
            self.proc = None


@pytest.fixture(scope="module")
def hooks(console_server, tmp_path_factory) -> Iterator[dict]:
    d = tmp_path_factory.mktemp("csv")
    (d / "sites.csv").write_text(SITES)
    (d / "workers.csv").write_text(WORKERS)
    console_server.cli("data", "import-csv", "sites", str(d / "sites.csv"))
    console_server.cli("data", "import-csv", "workers", str(d / "workers.csv"))
    admin = {"Authorization": f"Bearer {console_server.admin_token}"}
    worker_ids = [
        w["id"] for w in requests.get(f"{console_server.url}/api/v1/workers", headers=admin, timeout=5).json()
    ]
    # The sweep (the fallback for a job lost with Redis) runs at start only: retries must come from RQ's scheduler.
    env = {**console_server.env, "OUTFIELD_WEBHOOK_RETRY_BASE_S": "1", "OUTFIELD_WEBHOOK_SWEEP_S": "3600"}
    sender = WebhookWorker(env, console_server.log_path.parent)
    sender.start()
    try:
        yield {"url": console_server.url, "admin": admin, "worker_id": worker_ids[0], "sender": sender}
    finally:
        sender.stop()


def subscribe(hooks, receiver: Receiver, events=("order.status_changed",)) -> int:
    r = requests.post(
        f"{hooks['url']}/api/v1/webhooks",
        json={"url": receiver.url, "events": list(events), "secret": SECRET},
        headers=hooks["admin"],
        timeout=5,
    )
    assert r.status_code == 201, r.text
    assert "secret" not in r.json()
    return r.json()["id"]


def assigned_order(hooks) -> int:
    body = {"site_id": 1, "type": "repair", "required_skills": ["gas"], "service_minutes": 30, **window_fields()}
    order = requests.post(f"{hooks['url']}/api/v1/work-orders", json=body, headers=hooks["admin"], timeout=10).json()
    r = requests.post(
        f"{hooks['url']}/api/v1/work-orders/{order['id']}/assign",
        json={"worker_id": hooks["worker_id"], "reason": "test"}, headers=hooks["admin"], timeout=10,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    return order["id"]


def deliveries(hooks, webhook_id: int) -> list[dict]:
    r = requests.get(f"{hooks['url']}/api/v1/webhooks/{webhook_id}/deliveries", headers=hooks["admin"], timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def settled(hooks, webhook_id: int) -> bool:
    log = deliveries(hooks, webhook_id)
    return bool(log) and all(d["status"] != "pending" for d in log)


def test_each_event_arrives_once_signed(hooks):
    """Tests that an order's assignment reaches the receiver once, as JSON with an event id, signed with the secret."""
    receiver = Receiver()
    webhook_id = subscribe(hooks, receiver)
    order_id = assigned_order(hooks)
    wait_until(lambda: settled(hooks, webhook_id), 30, "the delivery")
    (event,) = receiver.events(order_id)
    assert event["type"] == "order.status_changed" and event["data"]["to_status"] == "assigned" and event["id"]
    (request,) = receiver.requests
    assert verify(SECRET, request["body"], request["headers"][SIGNATURE_HEADER])
    assert not verify("another-secret-0000000", request["body"], request["headers"][SIGNATURE_HEADER])
    assert int(request["headers"][TIMESTAMP_HEADER]) > 0
    (logged,) = deliveries(hooks, webhook_id)
    assert logged["status"] == "delivered" and logged["attempts"] == 1 and logged["last_status_code"] == 204


def test_a_failing_receiver_gets_the_event_once_after_retries(hooks):
    """Tests that a receiver answering 500 twice gets the event on the third attempt, and only then accepts it once;
    the retries come when due (1 s, then 2 s later), not when the sweep would find them."""
    receiver = Receiver(fail_first=2)
    webhook_id = subscribe(hooks, receiver)
    order_id = assigned_order(hooks)
    wait_until(lambda: settled(hooks, webhook_id), 30, "the retried delivery, without a sweep")
    events = receiver.events(order_id)
    assert len(events) == 3 and len({e["id"] for e in events}) == 1  # 2 refused + 1 accepted, one event id
    (logged,) = deliveries(hooks, webhook_id)
    assert logged["status"] == "delivered" and logged["attempts"] == 3


def test_a_delivery_pending_across_a_restart_arrives_once(hooks):
    """Tests that an event happening while the sender is down is sent when it starts again, and, refused once,
    retried when due by the restarted sender's scheduler (the sweep runs only at start), then delivered once."""
    receiver = Receiver(fail_first=1)
    webhook_id = subscribe(hooks, receiver)
    hooks["sender"].stop()
    order_id = assigned_order(hooks)
    assert [d["status"] for d in deliveries(hooks, webhook_id)] == ["pending"]
    hooks["sender"].start()
    wait_until(lambda: settled(hooks, webhook_id), 30, "the delivery after the restart, retried without a sweep")
    assert len(receiver.events(order_id)) == 2  # refused, then accepted
    (logged,) = deliveries(hooks, webhook_id)
    assert logged["status"] == "delivered" and logged["attempts"] == 2


def test_replay_sends_the_same_event_again(hooks):
    """Tests that an admin's replay sends the logged delivery again with the same event id."""
    receiver = Receiver()
    webhook_id = subscribe(hooks, receiver)
    order_id = assigned_order(hooks)
    wait_until(lambda: settled(hooks, webhook_id), 30, "the delivery")
    (logged,) = deliveries(hooks, webhook_id)
    r = requests.post(f"{hooks['url']}/api/v1/webhook-deliveries/{logged['id']}/replay", headers=hooks["admin"], timeout=5)  # fmt: skip
    assert r.status_code == 202
    wait_until(lambda: len(receiver.events(order_id)) == 2 and settled(hooks, webhook_id), 30, "the replay")
    first, second = receiver.events(order_id)
    assert first["id"] == second["id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/x", "events": ["order.status_changed"], "secret": SECRET}, "url"),
        ({"url": "http://169.254.169.254/latest", "events": ["order.status_changed"], "secret": SECRET}, "url"),
        ({"url": "http://example.com/x", "events": ["order.nope"], "secret": SECRET}, "events"),
        ({"url": "http://example.com/x", "events": [], "secret": SECRET}, "events"),
        ({"url": "http://example.com/x", "events": ["order.status_changed"], "secret": "short"}, "secret"),
        ({"events": ["order.status_changed"], "secret": SECRET}, "url"),
    ],
)
def test_bad_webhooks_are_refused_naming_the_field(hooks, body, field):
    """Tests that a bad URL (not http(s), link-local metadata), unknown events or a short secret get 400 naming the field."""
    before = requests.get(f"{hooks['url']}/api/v1/webhooks", headers=hooks["admin"], timeout=5).json()
    r = requests.post(f"{hooks['url']}/api/v1/webhooks", json=body, headers=hooks["admin"], timeout=5)
    assert r.status_code == 400 and r.json()["field"] == field, r.text
    assert requests.get(f"{hooks['url']}/api/v1/webhooks", headers=hooks["admin"], timeout=5).json() == before


def test_only_an_admin_manages_webhooks_and_a_deleted_one_is_gone(hooks, console_server):
    """Tests that a dispatcher gets 403, the list hides secrets, and a deleted webhook answers 404."""
    session = requests.Session()
    session.post(f"{hooks['url']}/login", data={"name": "dispatcher", "password": "dispatch-pw"}, timeout=5)
    assert session.get(f"{hooks['url']}/api/v1/webhooks", timeout=5).status_code == 403
    webhook_id = subscribe(hooks, Receiver())
    listed = requests.get(f"{hooks['url']}/api/v1/webhooks", headers=hooks["admin"], timeout=5).json()
    assert all("secret" not in h for h in listed) and webhook_id in [h["id"] for h in listed]
    assert requests.delete(f"{hooks['url']}/api/v1/webhooks/{webhook_id}", headers=hooks["admin"], timeout=5).status_code == 204  # fmt: skip
    assert requests.get(f"{hooks['url']}/api/v1/webhooks/{webhook_id}/deliveries", headers=hooks["admin"], timeout=5).status_code == 404  # fmt: skip


def test_check_ins_and_a_survey_answer_are_sent(hooks):
    """Tests that a check-in, a check-out and the customer's survey answer each reach a subscribed receiver once."""
    from tests.integration.test_field_api import action

    receiver = Receiver()
    webhook_id = subscribe(hooks, receiver, events=("checkin.recorded", "survey.answered"))
    order_id = assigned_order(hooks)
    url, admin = hooks["url"], hooks["admin"]
    token = requests.post(f"{url}/api/v1/workers/{hooks['worker_id']}/push-link", json={}, headers=admin, timeout=5).json()["token"]  # fmt: skip
    casino = {"lat": 43.7394, "lon": 7.4276, "accuracy_m": 8}
    steps = [action(order_id, "accept", 0.3), action(order_id, "en_route", 0.2),
             action(order_id, "check_in", 0.1, location=casino), action(order_id, "check_out", 0.0, location=casino)]  # fmt: skip
    r = requests.post(f"{url}/api/v1/field/{token}/actions", json={"actions": steps}, timeout=10)
    assert [x["status"] for x in r.json()["results"]] == ["applied"] * 4
    link = requests.post(f"{url}/api/v1/work-orders/{order_id}/customer-link", headers=admin, timeout=5).json()
    assert requests.post(f"{url}/api/v1/track/{link['token']}/survey", json={"rating": 5}, timeout=5).status_code == 201
    wait_until(lambda: len(deliveries(hooks, webhook_id)) == 3 and settled(hooks, webhook_id), 30, "the deliveries")
    got = sorted((e["type"], e["data"].get("kind"), e["data"].get("rating")) for e in receiver.events(order_id))
    assert got == [("checkin.recorded", "in", None), ("checkin.recorded", "out", None), ("survey.answered", None, 5)]
    assert all("latitude" not in json.dumps(e) for e in receiver.events(order_id))  # no positions leave


def _sender_whose_redis_went_away(hooks, tmp_path) -> WebhookWorker:
    """A webhooks process with a redis-server of its own, running with its scheduler, then that Redis stopped."""
    port = free_port()
    own_redis = start_redis(port, tmp_path / "redis")
    url = f"redis://127.0.0.1:{port}/0"
    wait_until(lambda: redis.Redis.from_url(url).ping(), 10, "redis-server")
    sender = WebhookWorker({**hooks["sender"].env, "REDIS_URL": url}, tmp_path)
    sender.start()
    wait_until(lambda: redis.Redis.from_url(url).exists("rq:scheduler-lock:outfield-webhooks"), 10, "its scheduler")
    own_redis.terminate()
    own_redis.wait(10)
    return sender


def _stopped(sender: WebhookWorker, tmp_path) -> tuple[int, str]:
    """SIGTERM to the process (as honcho sends): its exit code and its log; killed if it has not ended in 30 s."""
    assert sender.proc is not None
    sender.proc.terminate()
    try:
        code = sender.proc.wait(30)
    except subprocess.TimeoutExpired:
        sender.proc.kill()
        raise
    return code, (tmp_path / "webhooks.log").read_text()


def test_the_sender_stops_quietly_when_its_redis_is_gone(hooks, tmp_path):
    """Tests that the webhooks process stopped just after its Redis (as honcho stops the demo: all at once) exits 0
    without a traceback from itself or its RQ scheduler, saying in one line each that Redis is gone."""
    code, log = _stopped(_sender_whose_redis_went_away(hooks, tmp_path), tmp_path)
    assert code == 0, log
    assert "Traceback" not in log, log
    assert "Redis is gone: the scheduler stops" in log and "stops without signing off" in log


def test_the_sender_s_scheduler_says_in_one_line_when_redis_goes_away_while_it_runs(hooks, tmp_path):
    """Tests that when Redis goes away while the webhooks process runs (not at its stop), its RQ scheduler, which
    finds the server gone at its next heartbeat, says so in one line instead of a traceback, and the process still
    stops with exit code 0."""
    sender = _sender_whose_redis_went_away(hooks, tmp_path)
    log_file = tmp_path / "webhooks.log"
    wait_until(lambda: "the scheduler stops" in log_file.read_text(), 30, "the scheduler's heartbeat without Redis")
    code, log = _stopped(sender, tmp_path)
    assert code == 0, log
    assert "Traceback" not in log, log
    assert "Redis is gone: the scheduler stops; its worker starts a new one when Redis is back" in log, log
