"""The request threads of `console.serve.OutfieldThreadWorker` (gunicorn's gthread worker with a lean pool)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from console.serve import _RequestThreads

REPO = Path(__file__).resolve().parents[2]


def test_a_stopping_worker_serves_every_request_already_handed_to_its_threads() -> None:
    """Tests that requests queued to the worker's threads before it stops are all served, on fewer threads than
    requests, and that the threads end once they are."""
    threads = _RequestThreads(2)
    gate = threading.Event()
    served: list[int] = []

    def request(n: int) -> None:
        gate.wait(10)
        served.append(n)

    for n in range(5):
        threads.submit(request, n)
    threads.shutdown(wait=False)
    gate.set()
    threads.shutdown(wait=True)
    assert sorted(served) == [0, 1, 2, 3, 4]


def test_a_worker_process_that_exits_answers_the_request_in_flight_first(tmp_path: Path) -> None:
    """Tests that a worker process whose main thread ends while a request thread is still answering waits for that
    answer (as gunicorn's executor threads were joined at exit): a request in flight at the end of a graceful stop
    is answered, not cut off."""
    answered = tmp_path / "answered"
    script = f"""
import threading
from console.serve import _RequestThreads
threads = _RequestThreads(4)
def request(path):
    threading.main_thread().join()  # answers only once the main thread has ended: the request is in flight then
    open(path, "w").write("200 OK")
threads.submit(request, {str(answered)!r})
threads.shutdown(wait=False)
"""  # the main thread ends here, the request still waiting for that
    subprocess.run([sys.executable, "-c", script], cwd=REPO, check=True, timeout=30)
    assert answered.read_text() == "200 OK"
