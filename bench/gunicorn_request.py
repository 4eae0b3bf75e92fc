"""gunicorn's own CPU per request, in process: a kept-alive `/osmand` request through the worker's steps.

`bench/ingest.py` measures the whole server under wrk, where the rate moves with whatever else runs on this shared
2-core machine. This measures one thing steadily: the CPU `console.serve.OutfieldThreadWorker` spends on one
request of a kept-alive connection, every step of it taken in one thread in the order the worker's threads take
them: the event loop's poller finds the connection readable and hands it to a request thread
(`on_client_socket_readable`), the request thread's step (`_serve`: gunicorn's HTTP parser, its WSGI environ and
response, the socket's read and write, then the connection back to the poller, directly or through the event loop's
pipe and `finish_request`, whichever the worker does), and the event loop's turns until the connection waits on the
poller again. The app is `/osmand`'s endpoint (`console.osmand_wsgi`: the query read, the answer to a stored fix) in front of a
pipeline that stores nothing. A socket pair stands in for the connection; only the server's steps are timed (`time.thread_time`), the
client's write and read are not. Run on one thread, this leaves out the thread switches and the GIL's hand-overs
between the worker's threads (bench/ingest.py counts those); it counts the event loop's turns per request.

    .venv/bin/python bench/gunicorn_request.py [--requests 20000] [--rounds 5]

To compare with another checkout, run its copy of this file (it measures the `console.serve` next to it). Which
HTTP parser gunicorn uses is gunicorn's choice (`http_parser = "auto"`: its C parser `gunicorn_h1c` when it can be
imported, else its Python one); the parser in use is printed. To measure the C parser without making it a
dependency: `pip install --target /tmp/h1c-lib gunicorn-h1c==0.6.10` and run this with `PYTHONPATH=/tmp/h1c-lib`.
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [str(REPO), *(p for p in sys.path if Path(p or ".").resolve() != REPO / "bench")]

from gunicorn.config import Config  # noqa: E402
from gunicorn.glogging import Logger  # noqa: E402
from gunicorn.http import message  # noqa: E402
from gunicorn.workers.gthread import TConn  # noqa: E402

from console.osmand_wsgi import OsmandEndpoint  # noqa: E402
from console.serve import OutfieldThreadWorker, ServerOptions  # noqa: E402
from dispatch.clock import SystemClock  # noqa: E402
from dispatch.positions import PositionLimits  # noqa: E402

# What wrk sends in bench/ingest.py's `/osmand` phase (one fix; the numbers change per request, not the size).
REQUEST = (
    b"GET /osmand?id=bench-00042&lat=43.734200&lon=7.4246&timestamp=1764936000420&speed=5&accuracy=6&batt=80 "
    b"HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n"
)


ANSWERED = [0]  # fixes the endpoint handed to the pipeline


class _Stored:
    """A pipeline that stores nothing: `/osmand`'s endpoint answers as for a stored fix."""

    def ingest_plain(self, plain: Any) -> int:
        ANSWERED[0] += 1
        return ANSWERED[0]


def not_osmand(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    raise AssertionError(f"{environ['PATH_INFO']} is not /osmand")


class _Inline:
    """The worker's request threads, taken in the calling thread: `submit` keeps the step, `run` takes it."""

    def __init__(self) -> None:
        self.steps: list[tuple[Callable[[Any], None], Any]] = []

    def submit(self, work: Callable[[Any], None], argument: Any) -> None:
        self.steps.append((work, argument))

    def run(self) -> None:
        while self.steps:
            work, argument = self.steps.pop(0)
            work(argument)

    def shutdown(self, wait: bool = False) -> None:
        self.steps.clear()


def make_worker() -> tuple[OutfieldThreadWorker, _Inline]:
    cfg = Config()
    options = ServerOptions(bind="127.0.0.1:0", workers=2, threads=64, graceful_timeout_s=30)
    for key, value in options.gunicorn_config().items():
        cfg.set(key, value)
    worker = OutfieldThreadWorker(0, os.getppid(), [], None, 60, cfg, Logger(cfg))
    # `/osmand`'s own endpoint (its query read as the server reads it, its answer and headers), nothing stored.
    worker.wsgi = OsmandEndpoint(not_osmand, pipeline=_Stored(), clock=SystemClock(), limits=PositionLimits())  # type: ignore[arg-type]
    steps = _Inline()
    worker.tpool = steps
    worker.poller = selectors.DefaultSelector()
    worker.method_queue.init()
    worker.poller.register(worker.method_queue.fileno(), selectors.EVENT_READ, worker.method_queue.run_callbacks)
    worker.alive = True
    return worker, steps


def measure(worker: OutfieldThreadWorker, steps: _Inline, requests: int) -> tuple[float, float, bytes]:
    """CPU µs per request over `requests` requests on one kept-alive connection, the event loop's turns per request,
    and the last answer."""
    server, client = socket.socketpair()
    conn = TConn(worker.cfg, server, ("127.0.0.1", 50000), ("127.0.0.1", 8000))
    worker.nr_conns += 1
    worker.enqueue_req(conn)  # as `accept` hands a new connection over
    spent = 0.0
    turns = 0
    answer = b""
    for n in range(requests):
        client.sendall(REQUEST)
        start = time.thread_time()
        while True:
            if steps.steps:
                steps.run()
            elif ANSWERED[0] > n and conn in worker.keepalived_conns:
                break  # answered, and back on the poller waiting for the next request
            else:
                worker.wait_for_and_dispatch_events(timeout=0)
                turns += 1
        spent += time.thread_time() - start
        answer = client.recv(65536)
    worker.keepalived_conns.remove(conn)
    worker.poller.unregister(conn.sock)
    worker.nr_conns -= 1
    server.close()
    client.close()
    return 1e6 * spent / requests, turns / requests, answer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    worker, steps = make_worker()
    fast = message._check_fast_parser(worker.cfg)  # noqa: SLF001 - gunicorn's own choice of parser, as it makes it

    def round_of(requests: int) -> tuple[float, float, bytes]:
        ANSWERED[0] = 0
        return measure(worker, steps, requests)

    round_of(2000)  # warm
    rounds = [round_of(args.requests) for _ in range(args.rounds)]
    print(
        f"load average {os.getloadavg()[0]:.1f}; {REPO}; HTTP parser: {'gunicorn_h1c' if fast else 'Python'}; "
        f"{args.rounds} rounds of {args.requests} requests"
    )
    cpu = [r[0] for r in rounds]
    print(
        f"µs of CPU per request: median {statistics.median(cpu):.1f} (rounds: {', '.join(f'{c:.1f}' for c in cpu)}); "
        f"event loop turns per request: {rounds[0][1]:.2f}"
    )
    answer = rounds[-1][2]
    print(f"answer ({len(answer)} bytes): {answer.decode('latin-1').splitlines()[0]}")


if __name__ == "__main__":
    main()
