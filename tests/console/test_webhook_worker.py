"""One delivery attempt: signed POST, the log row after success or failure, the retry's schedule, the SSRF rule."""

from __future__ import annotations

import http.server
import socket
import threading
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest
import requests

from console.notify import webhook
from console.outbound import guarded_post, refused
from console.webhook_worker import DeliveryContext, deliver, sweep
from data import webhooks_repo
from data.db import make_sessionmaker, session_scope
from dispatch.clock import ManualClock
from dispatch.webhooks import MAX_ATTEMPTS, SIGNATURE_HEADER, EventType, blocked_address, verify
from services.field_service import FieldInputError

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
SECRET = "0123456789abcdef"


class FakeQueue:
    def __init__(self) -> None:
        self.enqueued: list[tuple[list[int], datetime | None]] = []

    def enqueue(self, ids, *, at: datetime | None = None) -> None:
        self.enqueued.append((list(ids), at))


class Answer:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code

    def close(self) -> None:
        pass


@pytest.fixture
def world(db_engine):
    sessions = make_sessionmaker(db_engine)
    calls: list[dict] = []
    answers: list[int] = []

    def post(url, *, data, headers, timeout, allow_redirects, stream):
        calls.append({"url": url, "data": data, "headers": headers})
        return Answer(answers.pop(0))

    ctx = DeliveryContext(sessions=sessions, clock=ManualClock(T0), queue=FakeQueue(), retry_base_s=30, post=post)  # type: ignore[arg-type]
    return ctx, calls, answers


def pending_delivery(ctx, url: str = "http://127.0.0.1:9/hook") -> int:
    with session_scope(ctx.sessions) as session:
        webhooks_repo.add_webhook(session, url=url, events=["survey.answered"], secret=SECRET, created_by=None, at=T0)
        webhooks_repo.emit(session, EventType.SURVEY_ANSWERED, {"order_id": 1, "rating": 5}, at=T0)
    with session_scope(ctx.sessions) as session:
        ((delivery_id, _due),) = webhooks_repo.pending(session)
    return delivery_id


def log(ctx, delivery_id: int):
    with session_scope(ctx.sessions) as session:
        (row,) = [d for d in webhooks_repo.deliveries_of(session, 1) if d.id == delivery_id]
    return row


def test_a_delivery_is_signed_and_sent_once(world):
    """Tests that the POST carries the body signed with the secret, the log says delivered, and a second job sends nothing."""
    ctx, calls, answers = world
    delivery_id = pending_delivery(ctx)
    answers.append(204)
    assert deliver(ctx, delivery_id) == "delivered"
    (call,) = calls
    assert verify(SECRET, call["data"], call["headers"][SIGNATURE_HEADER])
    assert log(ctx, delivery_id).status == "delivered"
    assert deliver(ctx, delivery_id) == "skipped" and len(calls) == 1


def test_a_failure_is_retried_with_doubling_backoff_and_given_up_after_the_last_attempt(world):
    """Tests that a 500 leaves the delivery pending 30 s, then 60 s, later (re-enqueued for that time), and that
    after MAX_ATTEMPTS failures it is failed with the last response code."""
    ctx, calls, answers = world
    delivery_id = pending_delivery(ctx)
    answers.extend([500] * MAX_ATTEMPTS)
    assert deliver(ctx, delivery_id) == "failed"
    first = log(ctx, delivery_id)
    assert (first.status, first.attempts, first.last_status_code) == ("pending", 1, 500)
    assert first.next_attempt_at == T0 + timedelta(seconds=30)
    assert ctx.queue.enqueued == [([delivery_id], T0 + timedelta(seconds=30))]
    assert deliver(ctx, delivery_id) == "skipped"  # a duplicate job before the retry is due sends nothing
    ctx.clock.advance(30)
    deliver(ctx, delivery_id)
    assert log(ctx, delivery_id).next_attempt_at == T0 + timedelta(seconds=90)
    for _ in range(MAX_ATTEMPTS - 2):
        ctx.clock.advance(3600)
        deliver(ctx, delivery_id)
    last = log(ctx, delivery_id)
    assert (last.status, last.attempts, last.next_attempt_at) == ("failed", MAX_ATTEMPTS, None)
    assert len(calls) == MAX_ATTEMPTS


def test_a_retry_is_due_on_the_whole_second_after_its_backoff_and_queued_for_then(world):
    """Tests that a 500 answered at 08:00:00.3 makes the retry due at 08:00:31 (30 s rounded up to a whole
    second, the queue scheduler's resolution), queued for 08:00:31, and sent when the clock gets there."""
    ctx, calls, answers = world
    delivery_id = pending_delivery(ctx)
    answers.extend([500, 204])
    ctx.clock.advance(0.3)
    deliver(ctx, delivery_id)
    due = T0 + timedelta(seconds=31)
    assert log(ctx, delivery_id).next_attempt_at == due and ctx.queue.enqueued == [([delivery_id], due)]
    ctx.clock.advance(30.6)  # 08:00:30.9: the backoff is over, the retry's second not yet
    assert deliver(ctx, delivery_id) == "skipped"
    ctx.clock.advance(0.1)
    assert deliver(ctx, delivery_id) == "delivered" and len(calls) == 2


def test_a_metadata_address_is_never_called(world):
    """Tests that a webhook whose URL resolves to 169.254.169.254 (stored past the API's check) is failed unsent."""
    ctx, calls, _answers = world
    delivery_id = pending_delivery(ctx, url="http://169.254.169.254/latest/meta-data")
    assert deliver(ctx, delivery_id) == "failed"
    assert calls == [] and log(ctx, delivery_id).status == "failed"


class CountingReceiver(http.server.BaseHTTPRequestHandler):
    """A receiver that answers 200 to every POST and counts them."""

    posts: ClassVar[list[str]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers["Content-Length"]))
        CountingReceiver.posts.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver():
    """A real HTTP server on 127.0.0.1 that counts the POSTs it gets; its port."""
    CountingReceiver.posts.clear()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), CountingReceiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def rebinding_name(monkeypatch, name: str, first: str, then: str) -> list[str]:
    """Make `name` resolve to `first` on its first look-up and to `then` on every later one (a DNS server that
    rebinds the name); the addresses handed out, in order."""
    real = socket.getaddrinfo
    given: list[str] = []

    def lookup(host, port, *args, **kwargs):
        if host != name:
            return real(host, port, *args, **kwargs)
        given.append(first if not given else then)
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (given[-1], port or 0))]

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    return given


def test_a_name_that_answers_another_address_when_the_post_connects_is_refused_at_the_socket(
    world, receiver, monkeypatch
):
    """Tests DNS rebinding: a webhook's name answers a public address when the sender checks it and the receiver's
    address when the POST connects. Standing in for the metadata service, the receiver on 127.0.0.1 is what the
    sender's rule refuses here. The connection is closed before anything is sent (the receiver counts no POST), the
    delivery is failed with the reason and not retried."""
    ctx, _calls, _answers = world
    refuse = lambda address: blocked_address(address) or address == "127.0.0.1"  # noqa: E731
    given = rebinding_name(monkeypatch, "hooks.example", "93.184.216.34", "127.0.0.1")
    delivery_id = pending_delivery(ctx, url=f"http://hooks.example:{receiver}/hook")
    ctx.post = guarded_post(refuse)
    assert deliver(ctx, delivery_id) == "failed"
    assert given == ["93.184.216.34", "127.0.0.1"]  # checked, then connected elsewhere
    assert CountingReceiver.posts == []
    row = log(ctx, delivery_id)
    assert row.status == "failed" and "link-local or metadata" in row.last_error
    assert ctx.queue.enqueued == []  # no retry: the next look-up may rebind again


def test_the_guarded_post_reaches_an_address_the_rule_allows(receiver):
    """Tests that the sender's POST goes through to an address its rule does not refuse (a receiver on this host)."""
    answer = guarded_post()(f"http://127.0.0.1:{receiver}/hook", data=b"{}", timeout=5, stream=True)
    answer.close()
    assert answer.status_code == 200 and CountingReceiver.posts == ["/hook"]


def test_an_https_target_at_a_refused_address_is_closed_before_the_tls_handshake():
    """Tests that the socket check holds for https URLs too: the connection to a refused address (a listener on
    127.0.0.1, refused here) is closed before the TLS handshake's first byte, and the error says it was refused, not
    that nobody answered."""
    listener = socket.create_server(("127.0.0.1", 0))
    got: list[int] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(10)
            data = b""
            try:
                while chunk := conn.recv(4096):
                    data += chunk
            except OSError:
                pass
            got.append(len(data))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        url = f"https://127.0.0.1:{listener.getsockname()[1]}/hook"
        with pytest.raises(requests.ConnectionError) as caught:
            guarded_post(lambda address: address == "127.0.0.1")(url, data=b"{}", timeout=5)
        assert refused(caught.value)
        thread.join(timeout=10)
    finally:
        listener.close()
    assert got == [0]  # not even a ClientHello


def test_a_restarted_sender_enqueues_what_is_due(world):
    """Tests that the sweep at start enqueues every pending delivery that is due, and none that is not yet."""
    ctx, _calls, answers = world
    delivery_id = pending_delivery(ctx)
    assert sweep(ctx) == 1 and ctx.queue.enqueued == [([delivery_id], None)]
    answers.append(503)
    deliver(ctx, delivery_id)  # next attempt in 30 s
    ctx.queue.enqueued.clear()
    assert sweep(ctx) == 0
    ctx.clock.advance(30)
    assert sweep(ctx) == 1


class EndlessAnswer(http.server.BaseHTTPRequestHandler):
    """A receiver that answers 200 and then a body of up to ENDLESS_BYTES, counting what it got out before the
    sender hung up."""

    sent: ClassVar[list[int]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        chunk, sent = b"x" * 65536, 0
        try:
            while sent < ENDLESS_BYTES:
                self.wfile.write(chunk)
                sent += len(chunk)
        except OSError:  # the sender closed the connection
            pass
        EndlessAnswer.sent.append(sent)

    def log_message(self, *args: object) -> None:
        pass


ENDLESS_BYTES = 512 * 1024 * 1024


def test_a_receiver_answering_an_endless_body_does_not_hold_the_sender(world):
    """Tests that the sender reads only a receiver's status (the real `requests.post`, a real socket): a 200 followed by
    a body of 512 MiB is recorded as delivered and the connection closed after the headers, instead of the worker
    reading (and holding in memory) whatever the receiver sends for as long as it sends it."""
    ctx, _calls, _answers = world
    EndlessAnswer.sent.clear()
    server = http.server.HTTPServer(("127.0.0.1", 0), EndlessAnswer)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        delivery_id = pending_delivery(ctx, url=f"http://127.0.0.1:{server.server_address[1]}/hook")
        ctx.post = guarded_post()  # the sender's own (the default), on a real socket
        assert deliver(ctx, delivery_id) == "delivered"
        thread.join(timeout=60)
        assert not thread.is_alive()
    finally:
        server.server_close()
    (sent,) = EndlessAnswer.sent
    assert sent < ENDLESS_BYTES // 8  # what the sockets' buffers took before the sender hung up
    assert log(ctx, delivery_id).status == "delivered"


def test_the_push_link_hook_reads_only_the_status_of_its_answer():
    """Tests that the push-link notifier (`console.notify.webhook`, the SMS/e-mail gateway's hook) takes a 200 with a
    512 MiB body as sent, hanging up after the headers, and reports a receiver's 4xx/5xx or silence to the dispatcher."""
    EndlessAnswer.sent.clear()
    server = http.server.HTTPServer(("127.0.0.1", 0), EndlessAnswer)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        webhook(f"http://127.0.0.1:{server.server_address[1]}/sms")({"worker_id": 1, "url": "https://x/f/abc"})
        thread.join(timeout=60)
        assert not thread.is_alive()
    finally:
        server.server_close()
    (sent,) = EndlessAnswer.sent
    assert sent < ENDLESS_BYTES // 8
    with pytest.raises(FieldInputError, match="did not answer"):
        webhook("http://127.0.0.1:9/sms", timeout_s=2)({"worker_id": 1})  # the discard port: nothing listens
