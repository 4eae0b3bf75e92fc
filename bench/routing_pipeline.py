"""The Monaco field days planned on one process against two, PyVRP and OR-Tools pipelined (issue #15): not kept.

`routing.solve` plans a field day with breaks by PyVRP on a relaxation for 70 % of a 10 s budget (85 % of a 60 s
one), then OR-Tools with every rule from PyVRP's best, breaks put in, one after the other in one process. Here
(`solve_pipelined`) PyVRP searches the relaxation for the whole budget (but what its last repair needs) while
OR-Tools runs in a second process from PyVRP's best at each of `SHARES` of the budget (a newer start cuts the
running one short; `RESTART_ALWAYS` False: only when it beats what OR-Tools has found by then); the plan is the
cheapest of OR-Tools' best over its runs and PyVRP's repaired plans. PyVRP's Python loop and OR-Tools' callbacks
both hold the GIL (two threads on the two CPUs used one between them: 2.87 CPU s in 2.83 s), so the second is a
process (`SecondSearch`: this file run with `--serve`, a socket pair between the two; no `multiprocessing` start
method, so nothing of the caller's `__main__` is imported there). It ends when told, or when the planning
process's end of the socket closes. A count-only stop runs every start to its count, in turn (deterministic).
Measured in bench/README.md, "Routing", fourteenth session (branch `route16`): not kept, `routing.solve` unchanged.

For each budget, day (bench/routing.py's `--seed`; search seed = day + 10 x run) and run: `routing.solve`
(processes 1) and `solve_pipelined` (processes 2), in alternating order, one JSON line each: travel hours, planned
and unplanned visits, PyVRP's iterations, the CPU seconds of this process and of the second (`RUSAGE_CHILDREN`),
checker violations; `--trace` adds PyVRP's last relaxed objective, each OR-Tools start (CPU s, hours) and the best
reports. A budget is CPU seconds of each process (`time.process_time` in both), so the load does not decide how
much search each gets; OR-Tools' own wall-clock limits are lifted and its search ends by `should_stop`.

    .venv/bin/python bench/routing_pipeline.py --budgets 60 10 --days 0 1 2 --trace
    .venv/bin/python bench/routing_pipeline.py --budgets 10 --runs 1 2 --processes 2 --set "SHARES=(0.35,0.7)"
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from pathlib import Path
from time import monotonic
from types import TracebackType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import monaco_day  # noqa: E402

import routing.pyvrp_engine as pyvrp_engine  # noqa: E402
import routing.solve as solve_module  # noqa: E402
from routing.check import check  # noqa: E402
from routing.plan import Plan, Progress, UnplannedReason, unservable_reasons  # noqa: E402
from routing.problem import Problem, StopRule  # noqa: E402
from routing.pyvrp_engine import SearchSettings  # noqa: E402

SHARES: tuple[float, ...] = (0.6, 0.85)
"""The shares of the budget (seconds, or PyVRP's iterations with a count-only stop) at which OR-Tools (re)starts
from PyVRP's best, breaks put in (the best of the first measurements: (0.35, 0.7), (0.5, 0.8), (0.4, 0.6, 0.8),
(0.6, 0.85), (0.7, 0.9), (0.5, 0.75, 0.9))."""
RESTART_ALWAYS = True
"""Whether a timed OR-Tools run starts again at a later share even when PyVRP's best, breaks put in, does not beat
what OR-Tools has found by then (False lost 1.6 % on day 0 with (0.35, 0.7): OR-Tools went on from a worse start)."""
CLOCK = "perf_counter"
"""The `time` function a timed budget counts in the second process (`main` sets "process_time")."""
ANSWER_WAIT_S = 5.0
"""Wall-clock seconds the planning process waits for the second process's answer beyond the budget before it halts
it (and as long again before it gives up on it and keeps its own plan)."""
EXIT_WAIT_S = 5.0
"""How long leaving waits for the second process to end by itself before it is killed."""

Message = tuple[Any, ...]
"""From the second process: ("progress", objective, solutions), ("best", Plan | None), ("error", text)."""


class SecondSearch:
    """OR-Tools of `problem` in a process of its own (this file, `--serve`), started on entering, ended on leaving."""

    def __init__(self, problem: Problem, leave_out: Mapping[str, UnplannedReason]) -> None:
        self._problem, self._leave_out = problem, dict(leave_out)
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self.gone = False
        """Whether the second process can no longer answer (answered, ended, died, or its socket broke)."""

    def __enter__(self) -> SecondSearch:
        ours, theirs = socket.socketpair()
        try:
            self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and file
                [sys.executable, str(Path(__file__).resolve()), "--serve", str(theirs.fileno()), CLOCK],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
        finally:
            theirs.close()
        self._conn = Connection(ours.detach())
        self._send(("problem", self._problem, self._leave_out))
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.gone = False
        self._send(("exit",))
        if self._conn is not None:
            self._conn.close()
        if self._process is not None:
            try:
                self._process.wait(timeout=EXIT_WAIT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def start(self, initial: Plan, stop: StopRule) -> None:
        """Run OR-Tools from `initial` (a plan keeping every rule) within `stop` (timed: cutting a timed run short)."""
        self._send(("start", initial, stop))

    def halt(self) -> None:
        """End the run at once and every one waiting; the best plan so far is then the answer."""
        self._send(("halt",))

    def finish(self) -> None:
        """Answer with the best plan once the runs sent so far are done."""
        self._send(("finish",))

    def messages(self, wait_s: float = 0.0) -> list[Message]:
        """What the second process sent (waiting up to `wait_s` for the first message)."""
        got: list[Message] = []
        if self._conn is None or self.gone:
            return got
        try:
            while self._conn.poll(wait_s if not got else 0.0):
                got.append(self._conn.recv())
        except (EOFError, OSError):
            self.gone = True
        if not got and self._process is not None and self._process.poll() is not None:
            self.gone = True
        return got

    def _send(self, message: Message) -> None:
        if self._conn is None or self.gone:
            return
        try:
            self._conn.send(message)
        except OSError:
            self.gone = True


def solve_pipelined(
    problem: Problem,
    *,
    stop: StopRule,
    seed: int,
    should_stop: Callable[[], bool] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> Plan:
    """`routing.solve` of a first plan of a day with breaks (engine "auto"), PyVRP and OR-Tools pipelined."""
    started = solve_module.perf_counter()
    leave_out = unservable_reasons(problem, problem.visits)
    report = solve_module._best_only(on_progress)
    relaxed = solve_module.relax_for_pyvrp(problem)
    relaxed_out = dict(leave_out)
    relaxed_out.update(unservable_reasons(relaxed, (v for v in relaxed.visits if v.id not in leave_out)))
    settings = solve_module.relaxation_settings(problem, stop)
    budget = stop.max_seconds
    marks = sorted(SHARES)
    latest: list[Callable[[], Plan]] = []  # PyVRP's newest best, as a function making it a plan of the relaxation
    early: list[Plan] = []
    sent: list[Plan] = []  # the plans OR-Tools was started from
    found: list[int] = []  # the best objective OR-Tools reported
    answer: list[Plan] = []
    iterations = [0]
    ends = [None if budget is None else budget - solve_module.repair_reserve_s(budget, None)]

    def elapsed() -> float:
        return solve_module.perf_counter() - started

    def repaired(plan: Plan) -> Plan:
        return solve_module.routes_plan(problem, solve_module.warm_routes(problem, problem.visits, plan), leave_out)

    with SecondSearch(problem, leave_out) as second:

        def read(wait_s: float = 0.0) -> None:
            for message in second.messages(wait_s):
                if message[0] == "progress":
                    objective, solutions = message[1], message[2]
                    if not found or objective < found[0]:
                        found[:] = [objective]
                    if report is not None:
                        report(Progress(objective, elapsed(), solutions, "ortools"))
                elif message[0] == "best":
                    answer[:] = [message[1]] if message[1] is not None else []
                    second.gone = True  # answered: nothing more to read
                elif message[0] == "error":
                    print(message[1], file=sys.stderr)
                    second.gone = True

        def rest() -> StopRule:
            seconds = None if budget is None else max(0.001, budget - elapsed())
            return StopRule(stop.max_solutions, seconds)

        def hand_over(plan: Plan) -> None:
            if report is not None:
                report(Progress(plan.objective, elapsed(), 1, "pyvrp+repair"))
            by_now = min([*found, *(p.objective for p in sent)], default=None)
            if budget is None or by_now is None or plan.objective < by_now or RESTART_ALWAYS:
                second.start(plan, rest())
                sent.append(plan)

        def first_plan(plan: Plan) -> None:
            begun = solve_module.perf_counter()
            early.append(repaired(plan))
            if budget is not None:
                ends[0] = budget - solve_module.repair_reserve_s(budget, solve_module.perf_counter() - begun)
            if report is not None:
                report(Progress(early[0].objective, elapsed(), 1, "pyvrp+repair"))

        def keep_latest(make: Callable[[], Plan]) -> None:
            latest[:] = [make]

        def search_should_stop() -> bool:
            iterations[0] += 1
            read()
            done = elapsed() / budget if budget is not None else iterations[0] / (stop.max_solutions or 1)
            while marks and done >= marks[0] and (latest or early):
                marks.pop(0)
                hand_over(repaired(latest[-1]()) if latest else early[0])
            ended = ends[0] is not None and elapsed() >= ends[0]
            return ended or (should_stop is not None and should_stop())

        seed_plan = solve_module.solve_pyvrp(
            relaxed,
            stop=StopRule(stop.max_solutions, budget),
            seed=seed,
            leave_out=relaxed_out,
            should_stop=search_should_stop,
            on_start=first_plan,
            settings=settings,
            on_best=keep_latest,
        )
        candidates = list(early)
        if seed_plan is not None:
            later = repaired(seed_plan)
            if report is not None:
                report(Progress(later.objective, elapsed(), 1, "pyvrp+repair"))
            candidates.append(later)
        stopped = should_stop is not None and should_stop()
        if not sent and candidates and not stopped:
            first = min(candidates, key=lambda p: p.objective)  # no best by the first mark
            second.start(first, rest())
            sent.append(first)
        if sent:
            _await_answer(second, read, stopped=stopped, should_stop=should_stop, budget=budget)
    plans = candidates + answer
    if not plans:
        raise RuntimeError("PyVRP found no plan to start from (routing.solve would run OR-Tools alone)")
    best = min(plans, key=lambda p: p.objective)
    return dataclasses.replace(best, engine="pyvrp+ortools" if sent else "pyvrp+repair")


def _await_answer(
    second: SecondSearch,
    read: Callable[[float], None],
    *,
    stopped: bool,
    should_stop: Callable[[], bool] | None,
    budget: float | None,
) -> None:
    """Wait for the second process's best plan, reading its progress meanwhile: at once when `stopped` or
    `should_stop()`, else when its runs are done (timed: by the budget's end; past that by `ANSWER_WAIT_S`, or
    the budget if longer, it is halted, and `ANSWER_WAIT_S` later given up on)."""
    if stopped:
        second.halt()
    else:
        second.finish()
    waited = monotonic()
    halted = stopped
    while not second.gone:
        read(0.05)
        if second.gone:
            return
        late = budget is not None and monotonic() - waited > max(ANSWER_WAIT_S, budget)
        if not halted and (late or (should_stop is not None and should_stop())):
            second.halt()
            halted, waited = True, monotonic()
        elif halted and monotonic() - waited > ANSWER_WAIT_S:
            return


# --- the second process ---------------------------------------------------------------------------


def serve(conn: Connection, clock: Callable[[], float]) -> None:
    """Run OR-Tools from each start sent, keep the best plan over the runs, answer it when told."""
    if clock is not time.perf_counter:
        # A budget on another clock (CPU seconds): OR-Tools' own limits are wall-clock, `should_stop` ends it.
        searched = solve_module._search

        def unlimited(routing: Any, start: Any, params: Any) -> Any:
            params.time_limit.FromSeconds(100_000)
            params.lns_time_limit.FromSeconds(100_000)
            return searched(routing, start, params)

        solve_module._search = unlimited  # type: ignore[attr-defined]
    _, problem, leave_out = conn.recv()
    inbox: deque[Message] = deque()
    best: list[Plan] = []

    def read() -> None:
        while conn.poll():
            inbox.append(conn.recv())

    while True:
        read()
        if not inbox:
            inbox.append(conn.recv())
        _drop_superseded(inbox)
        message = inbox.popleft()
        if message[0] == "exit":
            return
        if message[0] in ("halt", "finish"):
            conn.send(("best", best[0] if best else None))
            continue
        _, initial, stop = message
        deadline = None if stop.max_seconds is None else clock() + stop.max_seconds

        def should_stop(deadline: float | None = deadline) -> bool:
            read()
            if any(m[0] in ("halt", "exit") for m in inbox):
                return True
            return deadline is not None and (clock() >= deadline or any(m[0] == "start" for m in inbox))

        def progress(p: Progress) -> None:
            conn.send(("progress", p.objective, p.solutions))

        plan = solve_module._solve_ortools(
            problem,
            stop=stop,
            leave_out=leave_out,
            initial=initial,
            on_progress=progress,
            should_stop=should_stop,
            fallback=initial,
        )
        if not best or plan.objective < best[0].objective:
            best[:] = [plan]


def _drop_superseded(inbox: deque[Message]) -> None:
    """Starts that a halt (or exit) follows are dropped, and a timed start that a later start follows."""
    messages = list(inbox)
    last_halt = max((k for k, m in enumerate(messages) if m[0] in ("halt", "exit")), default=-1)
    kept = [
        m
        for k, m in enumerate(messages)
        if m[0] != "start"
        or (k > last_halt and not (m[2].max_seconds is not None and any(n[0] == "start" for n in messages[k + 1 :])))
    ]
    inbox.clear()
    inbox.extend(kept)


def serve_main(fd: int, clock_name: str) -> int:
    conn = Connection(fd)
    try:
        serve(conn, getattr(time, clock_name))
    except (EOFError, OSError):
        return 0  # the planning process ended or died: nothing to answer
    except Exception:  # noqa: BLE001 - the planning process keeps its own plan; the text says why there is no other
        try:
            conn.send(("error", traceback.format_exc()))
        except OSError:
            pass
        return 1
    return 0


# --- the bench ------------------------------------------------------------------------------------


def cpu() -> float:
    return time.process_time()


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    global CLOCK
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=float, nargs="+", default=[10.0], help="CPU seconds of each plan")
    parser.add_argument("--days", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--runs", type=int, nargs="+", default=[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2], help="1 (routing.solve), 2 or both")
    parser.add_argument("--trace", action="store_true", help="PyVRP's last relaxed plan, OR-Tools' starts, bests")
    parser.add_argument("--set", nargs="*", default=[], help="NAME=EXPR: a constant of routing.solve or of this file")
    args = parser.parse_args()
    for assignment in args.set:
        name, expr = assignment.split("=", 1)
        value = eval(expr, {"SearchSettings": SearchSettings})  # noqa: S307
        if name in globals():
            globals()[name] = value
        else:
            setattr(solve_module, name, value)
    travel, _name, _tmp = monaco_day.make_travel(False)
    searched = solve_module._search

    def ortools_on_cpu(routing: Any, start: Any, params: Any) -> Any:
        # OR-Tools' own limit is wall-clock time: lift it, `should_stop` ends the search on CPU seconds.
        params.time_limit.FromSeconds(100_000)
        return searched(routing, start, params)

    iterations = [0]
    stop_call = pyvrp_engine._Stop.__call__

    def counted(self: Any, best_cost: float) -> bool:
        iterations[0] += 1
        return stop_call(self, best_cost)

    pyvrp_engine._Stop.__call__ = counted  # type: ignore[method-assign]
    pyvrp_engine.time.perf_counter = cpu  # type: ignore[attr-defined]
    solve_module.perf_counter = cpu  # type: ignore[attr-defined]
    solve_module._search = ortools_on_cpu  # type: ignore[attr-defined]
    CLOCK = "process_time"
    starts: list[tuple[float, float]] = []
    begun = [0.0]
    start_second = SecondSearch.start

    def logged_start(self: SecondSearch, initial: Plan, stop: StopRule) -> None:
        starts.append((round(cpu() - begun[0], 2), round(initial.objective / 3600, 3)))
        start_second(self, initial, stop)

    SecondSearch.start = logged_start  # type: ignore[method-assign]
    progress: list[tuple[float, str, float]] = []
    relaxed: list[float | None] = []
    solve_pyvrp = solve_module.solve_pyvrp

    def pyvrp_logged(*a: Any, **kw: Any) -> Any:
        plan = solve_pyvrp(*a, **kw)
        relaxed.append(None if plan is None else round(plan.objective / 3600, 3))
        return plan

    solve_module.solve_pyvrp = pyvrp_logged  # type: ignore[attr-defined]
    hours: dict[tuple[float, int], list[float]] = {}
    turn = 0
    for budget in args.budgets:
        for d in args.days:
            problem = monaco_day.scenario(random.Random(d), monaco_day.load_sites(), travel)
            for run in args.runs:
                order = list(args.processes) if turn % 2 == 0 else list(reversed(args.processes))
                turn += 1
                for processes in order:
                    iterations[0] = 0
                    starts.clear()
                    progress.clear()
                    started, children = cpu(), children_cpu()
                    begun[0] = started
                    plan_with = solve_module.solve if processes == 1 else solve_pipelined
                    plan = plan_with(
                        problem,
                        stop=StopRule(max_seconds=budget),
                        seed=d + 10 * run,
                        should_stop=lambda s=started, b=budget: cpu() - s > b,
                        on_progress=lambda p, s=started: progress.append(
                            (round(cpu() - s, 2), p.engine, round(p.objective / 3600, 3))
                        ),
                    )
                    row: dict[str, Any] = {
                        "budget": budget,
                        "day": d,
                        "run": run,
                        "processes": processes,
                        "travel": round(plan.travel_s / 3600, 3),
                        "planned": plan.planned_count,
                        "unplanned": len(plan.unplanned),
                        "iterations": iterations[0],
                        "engine": plan.engine,
                        "cpu": round(cpu() - started, 2),
                        "cpu_second": round(children_cpu() - children, 2),
                        "violations": len(check(problem, plan)),
                        "load": round(os.getloadavg()[0], 1),
                    }
                    if args.trace:
                        repairs = [x for x in progress if x[1] == "pyvrp+repair"]
                        ortools = [x for x in progress if x[1] == "ortools"]
                        row["relaxed"] = relaxed[-1] if relaxed else None
                        row["starts"] = starts[:]
                        row["repaired_best"] = repairs[-1] if repairs else None
                        row["ortools_best"] = ortools[-1] if ortools else None
                    print(json.dumps(row), flush=True)
                    hours.setdefault((budget, processes), []).append(row["travel"])
    for (budget, processes), values in sorted(hours.items()):
        print(f"budget {budget:g} CPU s, processes {processes}: mean travel {statistics.mean(values):.3f} h")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        sys.exit(serve_main(int(sys.argv[2]), sys.argv[3]))
    sys.exit(main())
