"""gunicorn's own CPU per request, in process: the request thread's part of a kept-alive `/osmand` request.

`bench/ingest.py` measures the whole server under wrk, where the rate moves with whatever else runs on this shared
2-core machine. This measures one thing steadily: what `console.serve.OutfieldThreadWorker.handle` costs a request
thread for one request on a kept-alive connection (gunicorn's HTTP parser, its WSGI environ, its response headers
and the socket writes), around an app that does nothing but answer as `/osmand` answers a stored fix
(`console.osmand_wsgi`'s headers, no body). A socket pair stands in for the connection: the request is written to
one end, `handle` reads it from the other and answers, the answer is read back; only the `handle` call is timed
(`time.thread_time`, the calling thread's CPU), so the client's side is not in the figure.

    .venv/bin/python bench/gunicorn_request.py [--requests 20000] [--rounds 5]

Which HTTP parser gunicorn uses is gunicorn's choice (`http_parser = "auto"`: its C parser `gunicorn_h1c` when it
can be imported, else its Python one); the parser in use is printed. To measure the C parser without making it a
dependency: `pip install --target /tmp/h1c-lib gunicorn-h1c==0.6.10` and run this with `PYTHONPATH=/tmp/h1c-lib`.
"""

from __future__ import annotations

import argparse
import os
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

from console.osmand_wsgi import _OK_HEADERS  # noqa: E402
from console.serve import OutfieldThreadWorker, ServerOptions  # noqa: E402

# What wrk sends in bench/ingest.py's `/osmand` phase (one fix; the numbers change per request, not the size).
REQUEST = (
    b"GET /osmand?id=bench-00042&lat=43.734200&lon=7.4246&timestamp=1764936000420&speed=5&accuracy=6&batt=80 "
    b"HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n"
)


def osmand_like(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """`/osmand`'s answer to a stored fix, with nothing done to store it."""
    start_response("200 OK", list(_OK_HEADERS))
    return []


def make_worker() -> OutfieldThreadWorker:
    cfg = Config()
    options = ServerOptions(bind="127.0.0.1:0", workers=2, threads=64, graceful_timeout_s=30)
    for key, value in options.gunicorn_config().items():
        cfg.set(key, value)
    worker = OutfieldThreadWorker(0, os.getppid(), [], None, 60, cfg, Logger(cfg))
    worker.wsgi = osmand_like
    return worker


def measure(worker: OutfieldThreadWorker, requests: int) -> tuple[float, bytes]:
    """CPU µs per `handle` call over `requests` requests on one kept-alive connection; the last answer."""
    server, client = socket.socketpair()
    conn = TConn(worker.cfg, server, ("127.0.0.1", 50000), ("127.0.0.1", 8000))
    conn.data_ready = True
    spent = 0.0
    answer = b""
    for _ in range(requests):
        client.sendall(REQUEST)
        start = time.thread_time()
        keep = worker.handle(conn)
        spent += time.thread_time() - start
        assert keep is True, "the connection was not kept alive"
        answer = client.recv(65536)
    server.close()
    client.close()
    return 1e6 * spent / requests, answer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    worker = make_worker()
    fast = message._check_fast_parser(worker.cfg)  # noqa: SLF001 - gunicorn's own choice of parser, as it makes it
    measure(worker, 2000)  # warm
    rounds = [measure(worker, args.requests)[0] for _ in range(args.rounds)]
    _, answer = measure(worker, 10)
    print(
        f"load average {os.getloadavg()[0]:.1f}; HTTP parser: {'gunicorn_h1c' if fast else 'Python'}; "
        f"{args.rounds} rounds of {args.requests} requests"
    )
    print(
        f"µs of CPU per request in `handle`: median {statistics.median(rounds):.1f} "
        f"(rounds: {', '.join(f'{r:.1f}' for r in rounds)})"
    )
    print(f"answer ({len(answer)} bytes): {answer.decode('latin-1').splitlines()[0]}")


if __name__ == "__main__":
    main()
