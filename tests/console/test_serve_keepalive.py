"""`console.serve.OutfieldThreadWorker`'s own steps around gunicorn's: a kept-alive connection handed back to the
poller by its request thread, the trimmed `handle_request`, the `Date` header formatted once a second.

The worker runs in process: its request threads, its poller and its event loop's dispatch driven by a thread of the
test, a socket pair standing in for a phone's connection.
"""

from __future__ import annotations

import os
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from gunicorn import util
from gunicorn.config import Config
from gunicorn.glogging import Logger
from gunicorn.http import wsgi
from gunicorn.workers.gthread import TConn

from console.serve import OutfieldThreadWorker, ServerOptions, _Response, date_line
from tests.support.servers import wait_until

REQUEST = b"GET /osmand?id=phone-1&lat=43.7&lon=7.4 HTTP/1.1\r\nHost: test\r\n\r\n"


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = environ["QUERY_STRING"].encode()
    start_response("200 OK", [("Content-Length", str(len(body))), ("Content-Type", "text/plain")])
    return [body]


class Running:
    """A worker with its request threads and its event loop's dispatch running on a thread of the test."""

    def __init__(self, worker: OutfieldThreadWorker) -> None:
        self.worker = worker
        self._stop = threading.Event()
        self._loop = threading.Thread(target=self._run, daemon=True)
        self._loop.start()

    def _run(self) -> None:
        worker = self.worker
        while not self._stop.is_set():
            worker.wait_for_and_dispatch_events(timeout=0.05)

    def connect(self) -> socket.socket:
        """A new connection, handed to a request thread as the worker's `accept` hands one."""
        server, client = socket.socketpair()
        self.worker.nr_conns += 1
        self.worker.enqueue_req(TConn(self.worker.cfg, server, ("127.0.0.1", 50000), ("127.0.0.1", 8000)))
        return client

    def kept_alive(self) -> socket.socket:
        """A new connection answered once and back on the poller, waiting for its next request."""
        client = self.connect()
        client.sendall(REQUEST)
        answer(client)
        wait_until(lambda: len(self.worker.keepalived_conns) == 1, 10, "the connection back on the poller")
        return client

    def stop(self) -> None:
        self._stop.set()
        self._loop.join(10)
        self.worker.tpool.shutdown(wait=True)
        self.worker.poller.close()
        self.worker.method_queue.close()


@pytest.fixture
def make_running() -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def make(**settings: Any) -> Running:
        cfg = Config()
        options = ServerOptions(bind="127.0.0.1:0", workers=1, threads=2, graceful_timeout_s=5)
        for key, value in {**options.gunicorn_config(), **settings}.items():
            cfg.set(key, value)
        worker = OutfieldThreadWorker(0, os.getppid(), [], None, 60, cfg, Logger(cfg))
        worker.wsgi = app
        worker.tpool = worker.get_thread_pool()
        worker.poller = selectors.DefaultSelector()
        worker.method_queue.init()
        worker.poller.register(worker.method_queue.fileno(), selectors.EVENT_READ, worker.method_queue.run_callbacks)
        worker.alive = True
        running = Running(worker)
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()


def answer(client: socket.socket) -> bytes:
    """One whole answer (headers and its Content-Length's body) read from the client's end."""
    client.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(65536)
        assert chunk, f"the connection closed after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")).split(b":")[1]
    )
    while len(body) < length:
        body += client.recv(65536)
    return head + b"\r\n\r\n" + body


def test_a_kept_alive_connection_answers_each_request_in_turn_and_waits_on_the_poller_between_them(
    make_running: Callable[..., Running],
) -> None:
    """Tests that one connection gets one answer per request, each its own, kept alive in between (waiting on the
    poller, not on a request thread), as a phone reporting every few seconds over one connection is answered."""
    running = make_running()
    worker = running.worker
    client = running.connect()
    for n in range(5):
        client.sendall(REQUEST.replace(b"phone-1", f"phone-{n}".encode()))
        got = answer(client)
        assert got.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"\r\nConnection: keep-alive\r\n" in got
        assert got.endswith(f"id=phone-{n}&lat=43.7&lon=7.4".encode())
        wait_until(lambda: len(worker.keepalived_conns) == 1, 10, "the connection back on the poller")
    client.close()


def test_a_kept_alive_connection_the_phone_closes_is_given_up(make_running: Callable[..., Running]) -> None:
    """Tests that a connection closed by the client while it waited for its next request is closed and counted out."""
    running = make_running()
    worker = running.worker
    client = running.kept_alive()
    client.close()
    wait_until(lambda: worker.nr_conns == 0 and not worker.keepalived_conns, 10, "the closed connection given up")


def test_an_idle_kept_alive_connection_is_closed_after_its_keep_alive_timeout(
    make_running: Callable[..., Running],
) -> None:
    """Tests that a connection that sends nothing more is closed by the worker once its keep-alive time is over."""
    running = make_running(keepalive=1)
    worker = running.worker
    client = running.kept_alive()

    def closed() -> bool:
        worker.murder_keepalived()  # the event loop's step after each turn, as `run` takes it
        return worker.nr_conns == 0

    wait_until(closed, 10, "the idle connection closed")
    client.settimeout(10)
    assert client.recv(1) == b""  # the worker closed it


def test_a_stopping_worker_answers_with_connection_close_and_keeps_nothing(
    make_running: Callable[..., Running],
) -> None:
    """Tests that once the worker stops, a request on a kept-alive connection is answered with `Connection: close`
    and the connection is not put back on the poller by its request thread."""
    running = make_running()
    worker = running.worker
    client = running.kept_alive()
    worker.alive = False
    client.sendall(REQUEST)
    assert b"\r\nConnection: close\r\n" in answer(client)
    wait_until(lambda: worker.nr_conns == 0, 10, "the connection closed")
    assert not worker.keepalived_conns


def test_a_configured_post_request_hook_sees_every_request(make_running: Callable[..., Running]) -> None:
    """Tests that a deployment's own request hooks still run for each request (only gunicorn's defaults are skipped)."""
    seen: list[str] = []
    running = make_running(post_request=lambda worker, req, environ, resp: seen.append(req.query))
    client = running.connect()
    for n in range(3):
        client.sendall(REQUEST.replace(b"phone-1", f"phone-{n}".encode()))
        answer(client)
    wait_until(lambda: len(seen) == 3, 10, "the hook's calls")
    assert seen == [f"id=phone-{n}&lat=43.7&lon=7.4" for n in range(3)]
    client.close()


def test_the_date_header_is_gunicorns_for_the_second() -> None:
    """Tests that the `Date` line is the text gunicorn writes for the current second."""
    while True:
        before = int(time.time())
        line = date_line()
        expected = f"Date: {util.http_date(before)}\r\n"
        if int(time.time()) == before:  # the second did not change meanwhile
            break
    assert line == expected


@pytest.mark.parametrize(
    ("status", "headers", "version"),
    [
        ("200 OK", [("Content-Length", "0")], (1, 1)),
        ("200 OK", [], (1, 1)),  # chunked
        ("400 BAD REQUEST", [("Content-Length", "5")], (1, 0)),
        ("101 SWITCHING PROTOCOLS", [("Connection", "Upgrade"), ("Upgrade", "websocket")], (1, 1)),
    ],
)
def test_the_response_headers_are_gunicorns(
    status: str, headers: list[tuple[str, str]], version: tuple[int, int]
) -> None:
    """Tests that the status line and default headers are byte for byte gunicorn's own (keep-alive, close,
    chunked, upgrade), the `Date` line aside only in being made once a second."""

    class Req:
        method = "GET"

        def __init__(self) -> None:
            self.version = version

        def should_close(self) -> bool:
            return self.version < (1, 1)

    cfg = Config()
    ours, theirs = _Response(Req(), None, cfg), wsgi.Response(Req(), None, cfg)
    for response in (ours, theirs):
        response.start_response(status, list(headers))
    while True:
        second = int(time.time())
        mine, gunicorns = ours.default_headers(), theirs.default_headers()
        if int(time.time()) == second:
            break
    assert mine == gunicorns


@pytest.mark.parametrize("read", [False, True], ids=["body left unread", "body read"])
def test_a_request_body_does_not_leak_into_the_next_request_on_the_connection(
    make_running: Callable[..., Running], read: bool
) -> None:
    """Tests that a body the app leaves unread is drained before the connection is kept, and one it read is not read
    again: the next request on the connection is answered as itself (a drain skipped wrongly would parse the body as
    a request, a drain done wrongly would wait for bytes that never come)."""
    running = make_running()
    worker = running.worker

    def reading(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if read and environ["REQUEST_METHOD"] == "POST":
            environ["wsgi.input"].read()
        return app(environ, start_response)

    worker.wsgi = reading
    client = running.connect()
    body = b"id=phone-1&lat=43.7&lon=7.4&GET /x HTTP/1.1\r\n\r\n"
    client.sendall(b"POST /osmand?first HTTP/1.1\r\nHost: test\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    assert answer(client).endswith(b"first")
    wait_until(lambda: len(worker.keepalived_conns) == 1, 10, "the connection back on the poller")
    client.sendall(b"GET /osmand?second HTTP/1.1\r\nHost: test\r\n\r\n")
    got = answer(client)
    assert got.startswith(b"HTTP/1.1 200 OK\r\n") and got.endswith(b"second")
    client.close()
