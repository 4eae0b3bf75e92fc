"""A large day's relaxation searched on two cores: two searches with different seeds, the better kept (issue #15).

The one module in routing that starts a process. `search_portfolio` runs `solve_pyvrp` with the
caller's seed in this process and with the next seed in a second process (`SecondProcess`: the
`spawn` context, so nothing of the caller's threads, sockets or database connections is copied
into it), and keeps the plan that costs less. Measured against cutting the day into two halves
searched apart and then joined (bench/routing_halves.py): bench/README.md, "Routing", eighth session.

The stop rule holds as in `solve_pyvrp`: a timed budget is wall time (the second search is halted
when this one ends), an iteration count is run by both searches (deterministic for a seed), and
`should_stop()` halts both at once; the first plan reported is this process's, as with one search.
"""

from __future__ import annotations

import multiprocessing
import queue
import traceback
from collections.abc import Callable, Mapping
from time import perf_counter
from types import TracebackType
from typing import Any

from routing.plan import Plan, UnplannedReason
from routing.problem import Problem, StopRule
from routing.pyvrp_engine import solve_pyvrp

__all__ = ["SecondProcess", "search_portfolio"]

ANSWER_WAIT_S = 60.0
"""How long to wait for the second process's answer once this process's search has ended."""


class SecondProcess:
    """A process of its own (spawned) that runs one `solve_pyvrp` it is sent and sends back the plan.

    Started on entering (so it imports while the caller builds its own search); on leaving it is
    halted, joined, and ended if it does not end by itself within 5 seconds.
    """

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._tasks: Any = context.Queue()
        self._answers: Any = context.Queue()
        self._halt = context.Event()
        self._process = context.Process(
            target=_serve, args=(self._tasks, self._answers, self._halt), name="outfield-plan-search", daemon=True
        )

    def __enter__(self) -> SecondProcess:
        self._process.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._halt.set()
        self._tasks.put(None)
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()

    def send(
        self,
        problem: Problem,
        *,
        stop: StopRule,
        seed: int,
        leave_out: Mapping[str, UnplannedReason],
        initial: Plan | None = None,
        history_length: int | None = None,
        clock: Callable[[], float] = perf_counter,
    ) -> None:
        """Start `solve_pyvrp` of `problem` there (`clock`: a picklable function, counted in that process)."""
        self._tasks.put((problem, dict(leave_out), stop, seed, initial, history_length, clock))

    def halt(self) -> None:
        """Make the search there stop at its next iteration (it still answers with its best plan)."""
        self._halt.set()

    def answer(self, wait_s: float = ANSWER_WAIT_S) -> Plan | None:
        """The plan found there (None: none feasible, the search failed, or no answer within `wait_s`)."""
        waited, ended = perf_counter(), False
        while perf_counter() - waited < wait_s:
            try:
                kind, payload = self._answers.get(timeout=0.2)
            except queue.Empty:
                if ended:
                    return None
                # The answer may still be in the pipe of a process that has just ended: one more look.
                ended = not self._process.is_alive()
                continue
            return payload if kind == "plan" else None
        return None


def _serve(tasks: Any, answers: Any, halt: Any) -> None:
    """The second process: run the search it is sent (if any), answer ("plan", plan or None) or ("error", text)."""
    task = tasks.get()
    if task is None:
        return
    problem, leave_out, stop, seed, initial, history_length, clock = task
    try:
        plan = solve_pyvrp(
            problem,
            stop=stop,
            seed=seed,
            leave_out=leave_out,
            initial=initial,
            should_stop=halt.is_set,
            history_length=history_length,
            clock=clock,
        )
        answers.put(("plan", plan))
    except Exception:  # noqa: BLE001 - the caller keeps its own plan; the text says why there is no other
        answers.put(("error", traceback.format_exc()))


def search_portfolio(
    problem: Problem,
    *,
    stop: StopRule,
    seed: int,
    leave_out: Mapping[str, UnplannedReason],
    should_stop: Callable[[], bool] | None = None,
    on_start: Callable[[Plan], None] | None = None,
    history_length: int | None = None,
    clock: Callable[[], float] = perf_counter,
) -> Plan | None:
    """The cheaper of `solve_pyvrp`'s plans with `seed` here and `seed + 1` in a second process (None: neither).

    `on_start` sees this process's first solution, as with one search. `clock` is what a timed
    budget counts in each process (a picklable function such as `time.perf_counter`).
    """
    with SecondProcess() as second:
        second.send(problem, stop=stop, seed=seed + 1, leave_out=leave_out, history_length=history_length, clock=clock)
        own = solve_pyvrp(
            problem,
            stop=stop,
            seed=seed,
            leave_out=leave_out,
            should_stop=should_stop,
            on_start=on_start,
            history_length=history_length,
            clock=clock,
        )
        if stop.max_seconds is not None or (should_stop is not None and should_stop()):
            second.halt()
        other = second.answer()
    if own is None or (other is not None and other.objective < own.objective):
        return other
    return own
