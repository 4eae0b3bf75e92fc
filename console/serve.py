"""The production server: gunicorn with threaded workers (`gthread`), websockets through simple-websocket.

Why gthread and not gevent (`bench/README.md`, "Ingestion", both measured side by side): gevent
answers `/osmand` about twice as fast, but a gevent worker is one OS thread, so a route solve in the
web process (when no `planner` runs), an OSRM table or an SQLite fsync stops every request and
websocket of that worker; the stack research found no fan-out advantage for gevent either. Threads
need no monkey-patching of the database drivers, Redis or OR-Tools. `OUTFIELD_WEB_WORKER_CLASS=gevent`
is there for deployments that keep solving out of the web process.

Each worker process builds its own app after the fork (no preloading): its own database pool, Redis
connections and relay candidate (one relay in the deployment forwards, chosen by a Redis lock).
Several workers and several servers share the live stream through the Socket.IO message queue in
Redis. Browsers connect with the websocket transport only (`console/field/socketio.js`), so a
connection never spans two workers and no sticky sessions are needed.

SIGTERM drains: the workers stop accepting, finish the requests in flight (up to
`graceful_timeout_s`), close their websockets (clients reconnect to another worker) and exit.
"""

from __future__ import annotations

import errno
import logging
import queue
import selectors
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from gunicorn import http, util
from gunicorn.app.base import BaseApplication
from gunicorn.config import PostRequest, PreRequest
from gunicorn.http import wsgi
from gunicorn.http.body import LengthReader
from gunicorn.http2 import negotiation
from gunicorn.workers.gthread import STOP_KEEPALIVE_LINGER, ThreadWorker

from data.settings import Settings
from dispatch.clock import SystemClock
from realtime.heap import settle_heap

log = logging.getLogger("outfield")


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """How gunicorn serves the console; from settings, overridable in tests and benches."""

    bind: str
    workers: int
    threads: int
    graceful_timeout_s: int
    backlog: int = 2048
    worker_class: str = "gthread"  # bench/ingest.py --worker-class gevent compares the alternative
    reuse_port: bool = True  # each worker its own listening socket: the kernel spreads the connections evenly

    @classmethod
    def from_settings(cls, settings: Settings) -> ServerOptions:
        host = settings.host if ":" not in settings.host else f"[{settings.host}]"
        return cls(
            bind=f"{host}:{settings.port}",
            workers=settings.web_workers,
            threads=settings.web_threads,
            graceful_timeout_s=settings.web_graceful_timeout_s,
            worker_class=settings.web_worker_class,
            reuse_port=settings.web_reuse_port,
        )

    def gunicorn_config(self) -> dict[str, Any]:
        return {
            "bind": [self.bind],
            "workers": self.workers,
            "worker_class": OutfieldThreadWorker if self.worker_class == "gthread" else self.worker_class,
            "threads": self.threads,
            "graceful_timeout": self.graceful_timeout_s,
            # A worker is restarted when it misses its heartbeat this long; long-lived websockets live in
            # their own threads and do not block the heartbeat of a gthread worker.
            "timeout": 60,
            "keepalive": 5,
            "backlog": self.backlog,
            # One socket per worker (SO_REUSEPORT): with one shared socket, whichever worker wakes first takes a
            # new connection, and under load one busy worker could take them all and leave a core idle.
            "reuse_port": self.reuse_port,
            "preload_app": False,
            # Access logs would carry coordinates (OsmAnd sends them in the query string): off.
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "proc_name": "outfield-web",
            # Let the app see the real client address when a trusted proxy on this host forwards it.
            "forwarded_allow_ips": "127.0.0.1,::1",
            "worker_exit": _worker_exit,
        }


class _Settled:
    """What gunicorn's gthread worker reads of a request's `Future` once it is done: its result, never cancelled."""

    __slots__ = ("_value",)

    def __init__(self, value: Any) -> None:
        self._value = value

    def result(self) -> Any:
        return self._value

    def cancelled(self) -> bool:
        return False


class _RequestThreads:
    """gunicorn's thread pool for one worker: `threads` threads taking requests from one queue.

    What the gthread worker needs of its `concurrent.futures.ThreadPoolExecutor` is a thread for each request and
    `shutdown`; the executor's futures (a condition variable each, set running, set done, callbacks) and its
    idle-thread semaphore were a sixth of a trivial request's CPU under gunicorn (bench/README.md, "Ingestion",
    ninth session). The threads start with the worker (after the fork) and wait on the queue; `shutdown` lets each
    finish the requests already queued, as the executor's `shutdown(wait=False)` does, and like the executor's they
    are joined when the worker process exits: a request still in flight when the graceful stop ends is answered.
    """

    def __init__(self, threads: int) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[Any], None], Any] | None] = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._run, name=f"outfield-request-{n}") for n in range(threads)]
        for thread in self._threads:
            thread.start()

    def _run(self) -> None:
        take = self._jobs.get
        while (job := take()) is not None:
            job[0](job[1])

    def submit(self, work: Callable[[Any], None], argument: Any) -> None:
        self._jobs.put((work, argument))

    def shutdown(self, wait: bool = False) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        if wait:
            for thread in self._threads:
                thread.join()


_date_line: tuple[int, str] = (0, "")  # (second, its `Date` header line): replaced whole, read without a lock


def date_line() -> str:
    """The `Date` header's line for now, as gunicorn writes it (`util.http_date`), formatted once a second."""
    global _date_line  # noqa: PLW0603 - one value for every request thread of the process
    second = int(time.time())
    cached = _date_line
    if cached[0] != second:
        cached = _date_line = (second, f"Date: {util.http_date(second)}\r\n")
    return cached[1]


class _Response(wsgi.Response):  # type: ignore[misc]
    """gunicorn's HTTP/1 response, its status line and default headers the same, the `Date` line of the second
    reused (`date_line`): formatting it was ~3 % of a `/osmand` request's GIL time (bench/README.md, tenth session)."""

    def default_headers(self) -> list[str]:
        if self.upgrade:
            connection = "upgrade"
        elif self.should_close():
            connection = "close"
        else:
            connection = "keep-alive"
        headers = [
            f"HTTP/{self.req.version[0]}.{self.req.version[1]} {self.status}\r\n",
            f"Server: {self.version}\r\n",
            date_line(),
            f"Connection: {connection}\r\n",
        ]
        if self.chunked:
            headers.append("Transfer-Encoding: chunked\r\n")
        return headers


class OutfieldThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker with a leaner hand-off of each request to its thread and back (`_RequestThreads`),
    its heartbeat written once a second instead of on every turn of its event loop (a file's `utime` per request
    under load; the master restarts a worker silent for `timeout`, 60 s), and a kept-alive connection handed back to
    the event loop's poller by the request thread that answered on it (`_keep_alive`), not through the event loop's
    thread. Everything else, the HTTP parsing, the keep-alive timeouts and the graceful stop, is gunicorn's own.
    """

    _beat_at = float("-inf")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A plain connection (no TLS) stays blocking while its next request is polled for (`_keep_alive`).
        self._plain = not self.cfg.is_ssl
        # What every request asked of gunicorn's settings, read once (a worker serves one configuration: a reload
        # starts new workers): the keep-alive timeout, and the request hooks unless they are gunicorn's defaults
        # (`pre_request` only logs the method and path at debug level; `post_request` does nothing).
        self._keepalive_s = self.cfg.keepalive
        pre, post = self.cfg.pre_request, self.cfg.post_request
        self._pre_request = None if pre is PreRequest.default and self.cfg.loglevel.lower() != "debug" else pre
        self._post_request = None if post is PostRequest.default else post

    def get_thread_pool(self) -> Any:
        return _RequestThreads(self.cfg.threads)

    def enqueue_req(self, conn: Any) -> None:
        self.tpool.submit(self._serve, conn)

    def _serve(self, conn: Any) -> None:
        """A request thread's step: the request on `conn`, then the connection back to the poller (kept alive) or
        to the event loop's thread (anything else)."""
        try:
            keep = self.handle(conn)
        except BaseException:  # noqa: BLE001 - as the executor's future would hold it: the connection is closed
            log.exception("a request thread failed outside the request's own error handling")
            keep = False
        if keep is True and self._keep_alive(conn):
            return
        self.method_queue.defer(self.finish_request, conn, _Settled(keep))

    def _keep_alive(self, conn: Any) -> bool:
        """gunicorn's `finish_request` for a connection kept alive, done in the request thread: the connection waits
        for its next request on the poller, its keep-alive timeout running. False (nothing done) when the worker is
        stopping or the next request was already read: the event loop's thread decides those, as gunicorn does.

        Handed through the event loop's thread, every request cost a write to its pipe, a wake-up of that thread and
        its read of the pipe before the connection was polled again. The poller (epoll) takes a registration from any
        thread. The event loop's thread still does everything else to the kept-alive connections: it takes one off
        the poller when it is readable (after this registered it: after it was added here), closes expired ones from
        the deque's oldest end (one added here has its whole keep-alive time ahead), and once stopping caps their
        timeouts (`_cap_keepalive`, on a copy of the deque; a connection added once the worker is stopping is capped
        here). No lock: one held around the registration (a syscall that lets go of the GIL) was itself waited for.
        """
        if not self.alive or conn.parser.unreader.buf.getvalue():
            return False
        if self._plain:
            # Left blocking: the poller (epoll, level-triggered) needs no non-blocking socket, nothing reads it until
            # the poller hands it to a request thread, and each switch is a syscall that lets go of the GIL.
            conn.kept_blocking = True
        else:
            conn.sock.setblocking(False)
        conn.set_timeout()
        self.keepalived_conns.append(conn)
        if not self.alive:  # the stop began meanwhile: linger no longer than gunicorn lets kept connections linger then
            conn.timeout = min(conn.timeout, time.monotonic() + STOP_KEEPALIVE_LINGER)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_client_socket_readable, conn))
        return True

    def handle(self, conn: Any) -> Any:
        """gunicorn's `handle`; a plain connection this worker kept alive (`_keep_alive`) takes `_handle_kept`."""
        if conn.__dict__.pop("kept_blocking", False):
            return self._handle_kept(conn)
        return super().handle(conn)

    def _handle_kept(self, conn: Any) -> Any:
        """gunicorn's `handle` for a plain HTTP/1 connection kept alive by `_keep_alive`: initialised, readable (the
        poller said so) and still blocking, so without `handle`'s wait for data and its switch to blocking; the
        request, the h2c upgrade and every error answered as `handle` answers them."""
        req = None
        try:
            req = next(conn.parser)
            if not req:
                return False
            settings = None
            if negotiation.upgrade_allowed(self.cfg, conn.client):
                settings = negotiation.upgrade_settings(req)
            if settings is not None:
                return self.handle_h2c_upgrade(conn, req, settings)
            return self._keepalive_after(conn, self.handle_request(req, conn))
        except http.errors.NoMoreData as e:
            self.log.debug("Ignored premature client disconnection. %s", e)
        except StopIteration as e:
            self.log.debug("Closing connection. %s", e)
        except OSError as e:
            if e.errno not in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN):
                self.log.exception("Socket error processing request.")
            else:
                self.log.debug("Ignoring a connection closed by the client (%s)", errno.errorcode.get(e.errno, e.errno))
        except Exception as e:  # noqa: BLE001 - as gunicorn's `handle`: answered 500 by its error handler
            self.handle_error(req, conn.sock, conn.client, e)
        return False

    def _keepalive_after(self, conn: Any, keepalive: bool) -> bool:
        """gunicorn's: before a connection is kept, what the app left unread of the request's body is drained, under
        a timeout set on the socket and then set back (two or three syscalls, each letting go of the GIL, on every
        request). Skipped, with the same answer, when nothing is left: a body of known length read to its end, as a
        request without a body is (length 0: `/osmand`'s GET)."""
        if keepalive:
            body = getattr(conn.parser.mesg, "body", None)
            if (
                body is not None
                and not body.failed
                and body.reader.__class__ is LengthReader
                and body.reader.length == 0
                and body.buf.tell() == 0
            ):
                # Nothing of this request is left: the parser's next turn need not drain it either (its drain sets the
                # socket's timeout back even when there is nothing to read). The answer said keep-alive, so the
                # request did not ask to close (the parser's other check of it).
                conn.parser.mesg = None
                return True
        return bool(super()._keepalive_after(conn, keepalive))

    def handle_request(self, req: Any, conn: Any) -> bool:
        """gunicorn's `handle_request` (gthread), the same steps and answers, without what it did per request for
        nothing here: the default request hooks (`_pre_request`, `_post_request`), two clocks read for an access
        log that is off (coordinates are in `/osmand`'s query: it stays off), the settings read again, and the
        `Date` header formatted anew (`_Response`)."""
        environ: dict[str, Any] = {}
        resp = None
        try:
            if self._pre_request is not None:
                self._pre_request(self, req)
            access = self.log.access_log_enabled
            request_start = datetime.now(UTC) if access else None
            resp, environ = wsgi.create(req, conn.sock, conn.client, conn.server, self.cfg, response_class=_Response)
            environ["wsgi.multithread"] = True
            self.nr += 1
            if self.nr >= self.max_requests:
                if self.alive:
                    self.log.info("Autorestarting worker after current request.")
                    self.alive = False
                resp.force_close()
            if not self.alive or not self._keepalive_s or len(self.keepalived_conns) >= self.max_keepalived:
                resp.force_close()
            respiter = self.wsgi(environ, resp.start_response)
            try:
                if isinstance(respiter, environ["wsgi.file_wrapper"]):
                    resp.write_file(respiter)
                else:
                    for item in respiter:
                        resp.write(item)
                resp.close()
            finally:
                if request_start is not None:
                    self.log.access(resp, req, environ, datetime.now(UTC) - request_start)
                if hasattr(respiter, "close"):
                    respiter.close()
            if resp.should_close():
                self.log.debug("Closing connection.")
                return False
        except OSError:
            raise  # the connection's own failure: `handle` decides
        except (Exception, SystemExit):
            if resp and resp.headers_sent:
                # A timeout's abort is SystemExit; once the answer began, a 500 on the same socket would corrupt it.
                self.log.exception("Error handling request")
                util.close_graceful(conn.sock)
                raise StopIteration() from None
            raise
        finally:
            if self._post_request is not None:
                try:
                    self._post_request(self, req, environ, resp)
                except Exception:  # noqa: BLE001 - as gunicorn: a failing hook is logged, the answer stands
                    self.log.exception("Exception in post_request hook")
        return True

    def _cap_keepalive(self, deadline: float) -> None:
        """gunicorn's, on a copy of the deque: request threads may add to it meanwhile (`_keep_alive`)."""
        for conn in list(self.keepalived_conns):
            conn.timeout = min(conn.timeout, deadline)

    def notify(self) -> None:
        now = time.monotonic()
        if now - self._beat_at >= 1.0:
            self._beat_at = now
            super().notify()


class ConsoleApplication(BaseApplication):  # type: ignore[misc]
    """gunicorn's application: the Outfield console, built in each worker after the fork."""

    def __init__(self, settings: Settings, options: ServerOptions) -> None:
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.gunicorn_config().items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from console.app import create_app

        app = create_app(self._settings, clock=SystemClock())
        app.start_relay(self._settings.live_batch_ms)
        _RUNNING.append(app)
        _drain_websockets_on_term(app)
        settle_heap()
        return app.server


_RUNNING: list[Any] = []  # the app of this worker process (one), for the exit hook


def _drain_websockets_on_term(app: Any) -> None:
    """On SIGTERM, also close this worker's websockets once its plain requests are done.

    gunicorn's gthread worker waits for every open connection before it exits, and a wall screen's
    websocket never ends by itself: without this, every deploy would wait the whole graceful timeout.
    Requests in flight still finish; the sockets' clients reconnect to a worker that is up.
    """
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum: int, frame: Any) -> None:
        app.stop.set()  # the relay candidate gives up its lock
        try:
            threading.Thread(target=_close_sockets, args=(app,), name="outfield-drain", daemon=True).start()
        except RuntimeError:  # a second SIGTERM while the interpreter already exits: nothing left to drain
            return
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, on_term)


def _close_sockets(app: Any) -> None:
    server = app.socketio.server
    if server is None:
        return
    eio = server.eio
    for sid in list(getattr(eio, "sockets", {})):
        try:
            eio.disconnect(sid)
        except Exception:  # a socket closing by itself at the same moment
            log.debug("socket %s was already closing", sid)


def _worker_exit(server: Any, worker: Any) -> None:
    for app in _RUNNING:
        app.stop.set()


class PortTaken(Exception):
    """Something already listens on the address the console was to serve on."""


def check_port_free(bind: str) -> None:
    """Raise PortTaken when `bind` ("host:port", "[v6]:port") cannot be bound by a plain socket.

    With `reuse_port` every worker binds its own socket with SO_REUSEPORT, and the kernel would let a second
    server started on the same port (by the same user, also with SO_REUSEPORT) join the first one's and
    silently take a share of its connections. A socket without SO_REUSEPORT cannot bind a port that any
    listening socket holds, so this probe refuses that second start (SO_REUSEADDR, as gunicorn sets it: the
    closed connections of a server that just stopped do not hold the port).
    """
    host, _, port = bind.rpartition(":")
    host = host.strip("[]")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (OSError, ValueError) as exc:
        raise PortTaken(f"cannot listen on {bind}: {exc}") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            reason = "another server is already listening there" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise PortTaken(f"port {port} on {host or '*'} is not free: {reason}") from None


def serve(settings: Settings, options: ServerOptions | None = None) -> int:
    """Serve until SIGTERM/SIGINT (gunicorn's master process); returns its exit status (1: the port is taken)."""
    options = options or ServerOptions.from_settings(settings)
    try:
        check_port_free(options.bind)
    except PortTaken as exc:
        print(f"python -m console: refusing to start: {exc} (stop it, or set PORT / HOST)", file=sys.stderr)
        return 1
    log.info(
        "serving on http://%s/ with gunicorn: %d worker(s) x %d thread(s)",
        options.bind,
        options.workers,
        options.threads,
    )
    ConsoleApplication(settings, options).run()
    return 0
