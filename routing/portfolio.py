"""One problem searched on several cores: the same search with other seeds in helper processes, the best plan kept.

`routing.solve.solve(..., processes=n)` comes here. This process runs the search with the caller's seed; each of
`n - 1` helper processes (started with "spawn": nothing of the caller's threads, sockets or database connections is
inherited) runs the very same `solve` with the next seeds and sends back its new bests as `Progress` and its final
plan. The plan with the lowest objective wins, the caller's seed first on a tie, so a solution-count stop still gives
the same plan every time. A timed budget is one deadline for all of them (`time.monotonic` is the system's clock, the
same in every process); the caller's `should_stop` ends the helpers too. A helper that fails, dies or does not
answer in time is left out, and the caller's own plan stands: a helper's search is only ever added to it.

Why: a timed search of the 300-visit Monaco day moves by ±2 % (10 s) to ±3 % (60 s) from seed to seed, and the
better of two on the two cores was 1.5 % shorter at 10 s and 2.1 % at 60 s on the mean of the day's seeds; the city
days' 10 s plans 0–1.3 % (bench/README.md, "Routing", fifteenth session). The budget the manager waits for is
wall-clock time. This is the one module of `routing` that starts processes.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from routing.plan import Plan, Progress
from routing.problem import Problem, StopRule

if TYPE_CHECKING:
    from routing.solve import Engine

log = logging.getLogger(__name__)

ANSWER_GRACE_S = 5.0
"""How long after the deadline (or, with a solution-count stop, after this process's own search ended, plus as long
again) a helper's plan is still waited for; then the helper is ended and left out."""
_SPAWN = multiprocessing.get_context("spawn")


@dataclass(frozen=True, slots=True)
class _Task:
    """What a helper process is asked: `solve(problem, stop, seed, engine, initial)` with the budget the parent began
    at `started` (`time.monotonic`)."""

    problem: Problem
    stop: StopRule
    seed: int
    engine: Engine
    initial: Plan | None
    started: float

    @property
    def deadline(self) -> float | None:
        return None if self.stop.max_seconds is None else self.started + self.stop.max_seconds


def helper_seeds(seed: int, processes: int) -> list[int]:
    """The seeds of the helper processes next to a search with `seed` on `processes` cores."""
    return [seed + k for k in range(1, processes)]


def best_plan(plans: list[Plan]) -> Plan:
    """The plan with the lowest objective; the earliest in `plans` (the caller's own first) on a tie."""
    return min(enumerate(plans), key=lambda item: (item[1].objective, item[0]))[1]


def solve_on_cores(
    problem: Problem,
    *,
    stop: StopRule,
    seed: int,
    engine: Engine,
    initial: Plan | None,
    on_progress: Callable[[Progress], None] | None,
    should_stop: Callable[[], bool] | None,
    processes: int,
) -> Plan:
    """`solve` with `seed` here and with `helper_seeds` in helper processes; the best plan.

    This process's own search polls `check` as its should-stop at every iteration, which also passes the helpers'
    new bests on (so no thread is needed); `report` passes on only what beats every earlier report of any of them.
    """
    from routing.solve import solve  # here, not at the top: routing.solve imports this module

    started = time.monotonic()
    # A helper stops once its halt pipe has something to read: the parent's end closed (by `halt`, or by the
    # parent's death). A pipe, not a `multiprocessing.Event`: an RQ work-horse ends with `os._exit`, and the Event's
    # semaphores then showed up as "leaked" in the planner's log after every plan.
    halts: list[Connection] = []

    def halt() -> None:
        for conn in halts:
            conn.close()

    helpers: list[tuple[Any, Connection]] = []
    try:
        for helper_seed in helper_seeds(seed, processes):
            task_in, task_out = _SPAWN.Pipe(duplex=False)
            answers_in, answers_out = _SPAWN.Pipe(duplex=False)
            halt_in, halt_out = _SPAWN.Pipe(duplex=False)
            process = _SPAWN.Process(
                target=_helper,
                args=(halt_in, task_in, answers_out),
                name=f"outfield-solve-{helper_seed}",
                daemon=True,
            )
            process.start()  # small arguments: the problem goes through the pipe below, which the child reads
            for theirs_end in (task_in, answers_out, halt_in):
                theirs_end.close()
            halts.append(halt_out)
            helpers.append((process, answers_in))
            # Sent by a thread: a pipe holds 64 KiB, so the send waits for the child to read, and a child that dies
            # first ends it with a broken pipe instead of a wait.
            task = _Task(problem, stop, helper_seed, engine, initial, started)
            threading.Thread(target=_send_task, args=(task_out, task), name="outfield-solve-task", daemon=True).start()
    except OSError as exc:  # no process could be started (limits): the searches started so far
        log.warning("a helper process for the route search did not start (%s)", exc)

    early: list[Plan | None] = [None] * len(helpers)  # a helper's plan that came while this search still ran
    closed = [False] * len(helpers)  # a helper that failed or ended
    best_seen: list[int] = []

    def report(progress: Progress) -> None:
        if on_progress is not None and (not best_seen or progress.objective < best_seen[0]):
            best_seen[:] = [progress.objective]
            on_progress(progress)

    def theirs(progress: Progress) -> None:
        report(dataclasses.replace(progress, elapsed_s=time.monotonic() - started))

    def check() -> bool:
        for k, (_, conn) in enumerate(helpers):
            if early[k] is None and not closed[k]:
                early[k], closed[k] = _drain(conn, theirs, until=None)
        if should_stop is not None and should_stop():
            halt()
            return True
        return False

    try:
        own = solve(
            problem,
            stop=stop,
            seed=seed,
            engine=engine,
            initial=initial,
            on_progress=report if on_progress is not None else None,
            should_stop=check if helpers else should_stop,
        )
        if should_stop is not None and should_stop():
            halt()
        deadline = None if stop.max_seconds is None else started + stop.max_seconds
        until = (deadline if deadline is not None else 2 * time.monotonic() - started) + ANSWER_GRACE_S
        found = [own]
        for k, (process, conn) in enumerate(helpers):
            answer = early[k] or (None if closed[k] else _drain(conn, theirs, until=until)[0])
            if answer is not None:
                found.append(answer)
            else:
                log.warning("route search helper %s gave no plan; its search is left out", process.name)
        chosen = best_plan(found)
        if chosen is not own:
            report(Progress(chosen.objective, time.monotonic() - started, 0, chosen.engine))
        return chosen
    finally:
        halt()
        for process, conn in helpers:
            conn.close()
            process.join(timeout=1.0)
            if process.is_alive():
                process.terminate()
                process.join(timeout=1.0)


def _drain(
    conn: Connection, on_progress: Callable[[Progress], None], *, until: float | None
) -> tuple[Plan | None, bool]:
    """Read what a helper has sent: progress goes to `on_progress`. Returns its plan (None: none yet, or none to
    come) and whether it is done (a plan, a failure or a closed pipe). `until` None reads only what is there now,
    else waits for the plan until then (monotonic)."""
    try:
        while conn.poll(0 if until is None else max(0.0, until - time.monotonic())):
            kind, value = conn.recv()
            if kind == "progress":
                on_progress(value)
            elif kind == "plan":
                return value, True
            else:
                log.warning("route search helper failed: %s", value)
                return None, True
    except (EOFError, OSError):
        return None, True
    return None, False


def _send_task(conn: Connection, task: _Task) -> None:
    try:
        conn.send(task)
    except (BrokenPipeError, OSError):
        pass  # the helper died before reading it: its answer never comes, and the parent leaves it out
    finally:
        conn.close()


def _helper(halt: Connection, tasks: Connection, answers: Connection) -> None:
    """A helper process: the search of the task it reads, its new bests and its plan sent to the parent; it stops
    when `halt` can be read (the parent closed its end, or died)."""
    from routing.solve import solve  # here, not at the top: routing.solve imports this module

    gone = [False]

    def send(kind: str, value: object) -> None:
        try:
            answers.send((kind, value))
        except (BrokenPipeError, OSError):
            gone[0] = True  # the parent is gone or done: stop searching

    try:
        task: _Task = tasks.recv()
        tasks.close()
        deadline = task.deadline

        def should_stop() -> bool:
            return gone[0] or halt.poll() or (deadline is not None and time.monotonic() >= deadline)

        # The parent's budget from when it began, not what is left of it: what a search does depends on its budget
        # (on a 300-visit day with breaks, 10 s hand over to OR-Tools for their last 3 s, 9.7 s would not).
        plan = solve(
            task.problem,
            stop=task.stop,
            seed=task.seed,
            engine=task.engine,
            initial=task.initial,
            on_progress=lambda progress: send("progress", progress),
            should_stop=should_stop,
            started_s=time.perf_counter() - (time.monotonic() - task.started),
        )
        send("plan", plan)
    except Exception as exc:  # noqa: BLE001 - told to the parent, which keeps its own plan
        send("error", f"{type(exc).__name__}: {exc}")
    finally:
        answers.close()
