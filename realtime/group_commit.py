"""Group commit: the writes of concurrent requests go to the database together, in one transaction.

Each request hands its items to the process's committer and waits for its own job to be settled; one writer
thread takes everything queued while the previous transaction was committing and writes it in the
next one. An fsync'd commit then costs once per group instead of once per request, and a request
is answered only when its items are durable.

A writer that must wait for its turn to write (on SQLite every web process's committer takes turns, one
durable commit at a time: `data.db.WriteTurn`) calls `join_late()` once it holds the turn: the requests queued
while it waited join the group being written, instead of waiting for this process's next turn, after the other
process's next commit. The fsync'd commit is the turn's cost, so every fix it carries more is one fix less waiting.

A failed group is retried one request at a time, so one bad request cannot fail the others; the
requests whose own transaction fails get `CommitFailed` and nothing of theirs is stored.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class CommitFailed(Exception):
    """The items were not stored (the database failed or did not answer in time); the client should retry."""


class _Job[T, R]:
    """One request's items and, once its group is settled, their results or the error; the request waits on it.

    A bare lock, taken at creation and released when settled, is the whole hand-over: a `concurrent.futures.Future`
    (a condition variable, a waiter lock per wait, callbacks) cost the request and the writer thread several times
    as much per request.
    """

    __slots__ = ("_settled", "error", "items", "results")

    def __init__(self, items: Sequence[T]) -> None:
        self.items = items
        self.results: list[R] = []
        self.error: CommitFailed | None = None
        self._settled = threading.Lock()
        self._settled.acquire()

    def settle(self, results: list[R] | None = None, error: CommitFailed | None = None) -> None:
        """Hand the results (or the error) to the waiting request (the writer thread's step, once per job)."""
        self.results = results if results is not None else []
        self.error = error
        self._settled.release()

    def result(self, timeout_s: float) -> list[R]:
        """The items' results once settled; CommitFailed when the write failed or was not settled within `timeout_s`."""
        if not self._settled.acquire(timeout=timeout_s):
            raise CommitFailed(f"the database did not commit within {timeout_s:g} s")
        self._settled.release()  # settled for good: a second look answers at once
        if self.error is not None:
            raise self.error
        return self.results


class GroupCommitter[T, R]:
    """One writer thread per process, started with it and again after a fork
    (a thread does not survive one); never lazily inside a request, which may come during shutdown,
    when Python refuses to start threads.

    `write(items)` stores a list of items in one transaction and returns one result per item, in
    order (it raises when the transaction fails); inside it, `join_late()` may add the items queued since the
    group was gathered, whose results then follow the others'. `max_items` caps one group. `on_idle()` is called by the
    writer thread when nothing came for `idle_s` (the writer gives up its connection until the next group).
    """

    def __init__(
        self,
        write: Callable[[list[T]], list[R]],
        *,
        max_items: int = 5000,
        name: str = "group-commit",
        on_idle: Callable[[], None] | None = None,
        idle_s: float = 5.0,
    ):
        self._write = write
        self._max_items = max_items
        self._on_idle = on_idle
        self._idle_s = idle_s
        self._name = name
        self._queue: queue.SimpleQueue[_Job[T, R]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._thread_pid = 0
        self._start_lock = threading.Lock()
        self._started = False
        self._late: list[_Job[T, R]] | None = None  # the group `join_late` may still add to (writer thread only)
        me = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (committer := me()) is not None and committer._forked())
        self._ensure_started()

    def submit(self, items: Sequence[T]) -> _Job[T, R]:
        """Queue `items` for the next group; the job gets their results once committed."""
        job: _Job[T, R] = _Job(items)
        if not items:
            job.settle([])
            return job
        self._ensure_started()
        self._queue.put(job)
        return job

    def write(self, items: Sequence[T], *, timeout_s: float) -> list[R]:
        """Submit and wait: the items' results once committed, or CommitFailed."""
        return self.submit(items).result(timeout_s)

    def _ensure_started(self) -> None:
        if self._started:  # per request: no pid or liveness check (a fork in this process clears it)
            return
        with self._start_lock:
            if self._thread is None or self._thread_pid != os.getpid() or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread_pid = os.getpid()
                self._thread.start()
            self._started = True

    def _forked(self) -> None:
        self._started = False  # the writer thread did not come along into the child: start another there

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self._idle_s) if self._on_idle is not None else self._queue.get()
            except queue.Empty:
                assert self._on_idle is not None
                try:
                    self._on_idle()
                except Exception:  # noqa: BLE001 - the writer thread must outlive it
                    log.exception("the group committer's idle step failed")
                first = self._queue.get()
            jobs = [first]
            self._gather(jobs, len(first.items))
            self.commit_group(jobs)

    def _gather(self, jobs: list[_Job[T, R]], count: int) -> None:
        """Add the queued jobs to `jobs` (which holds `count` items) up to `max_items`, without waiting."""
        while count < self._max_items:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            jobs.append(job)
            count += len(job.items)

    def join_late(self) -> list[T]:
        """Called by `write` (the writer thread) once it may write, e.g. holding the database's write turn: the items
        of the requests queued since its group was gathered, now part of that group (`write` returns their results
        after the others', in this order). Once per group; [] when nothing waits, and in the one-request
        transactions that retry a failed group."""
        jobs, self._late = self._late, None
        if jobs is None:
            return []
        known = len(jobs)
        self._gather(jobs, sum(len(job.items) for job in jobs))
        return [item for job in jobs[known:] for item in job.items]

    def commit_group(self, jobs: list[_Job[T, R]], *, may_grow: bool = True) -> None:
        """Write the jobs' items in one transaction and settle their jobs (the writer thread's step); with `may_grow`,
        `write` may add the requests queued meanwhile (`join_late`), settled with them."""
        self._late = jobs if may_grow else None
        try:
            results = self._write([item for job in jobs for item in job.items])
        except Exception as exc:
            self._late = None
            if len(jobs) > 1:  # find the bad one: each request alone, in its own transaction
                for job in jobs:
                    self.commit_group([job], may_grow=False)
                return
            log.error("a write of %d items failed and was rolled back: %s", len(jobs[0].items), exc)
            jobs[0].settle(error=CommitFailed(f"the database failed: {type(exc).__name__}"))
            return
        self._late = None
        start = 0
        for job in jobs:
            job.settle(results[start : start + len(job.items)])
            start += len(job.items)
