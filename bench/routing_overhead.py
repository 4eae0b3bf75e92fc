"""Outfield's fixed cost around PyVRP's search against plain PyVRP's, in CPU seconds (issue #15).

At equal iteration counts Outfield's PyVRP engine runs plain PyVRP's search on Solomon and Gehring &
Homberger (bench/README.md, "Equal iteration counts"); at an equal budget what differs is what each spends
outside the search's iterations. For each instance this runs, one after the other in the same minute:
* plain PyVRP: `pyvrp.solve` with default parameters, as bench/routing.py calls it, its data built by
  bench/solomon.py's `plain_pyvrp_data`;
* outfield: `routing.solve(problem, ...)` (engine "auto"), its problem built by `routing.solomon.to_problem`;
and splits each call's CPU seconds into phases (process CPU, `time.process_time`):
* data: the caller's building of the input (plain: ProblemData; outfield: the `Problem`, outside `solve`);
* checks: outfield only, from `solve`'s entry to the PyVRP engine's (engine choice, unservable visits);
* model: outfield only, `routing.pyvrp_engine._build` (the PyVRP model of the `Problem`);
* setup: PyVRP's neighbourhoods, operators and first local search of a random solution (both);
* search: PyVRP's iterations (the count is printed);
* after: from the end of the iterations to the call's return (outfield: the `Plan`).
Both searches run for the same CPU budget (`--cpu`) on their own clock: plain PyVRP's `MaxRuntime` counts
from the first iteration's check (after its setup), Outfield's budget from `routing.solve`'s entry (on `main`
before this branch: from the PyVRP engine's entry), its checks, model and setup inside the budget as the
console needs it. So "iterations" is what each gets at an equal budget, and a loaded machine changes how long
the run takes, not what it gets. `--wall` also runs both with a wall-clock budget: "wall of the call" (the
solver's call, its data built before) against the budget.

    .venv/bin/python bench/routing_overhead.py                               # 3 Solomon, 2 G&H 400, 2 G&H 1,000
    .venv/bin/python bench/routing_overhead.py --instances R101 r1_10_1 --cpu 1 10 --wall
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

import pyvrp  # noqa: E402
from pyvrp.IteratedLocalSearch import IteratedLocalSearch  # noqa: E402
from pyvrp.stop import MaxRuntime  # noqa: E402
from solomon import plain_pyvrp_data  # noqa: E402

import routing.pyvrp_engine as pyvrp_engine  # noqa: E402
import routing.solve as solve_module  # noqa: E402
from routing.problem import StopRule  # noqa: E402
from routing.solomon import Instance, read_instance, to_problem  # noqa: E402

DATA = REPO / "data" / "datasets"
DEFAULT = ["C101", "R101", "RC201", "r1_4_2", "c1_4_1", "r1_10_1", "rc1_10_1"]
PHASES = ("data", "checks", "model", "setup", "search", "after")


def cpu() -> float:
    return time.process_time()


@dataclass
class Run:
    """One call's phases (CPU seconds), its iterations and the wall seconds of the solver's call (data not included)."""

    marks: dict[str, float] = field(default_factory=dict)
    iterations: int = 0
    wall_s: float = 0.0
    optional: bool = False  # outfield: went on with required visits optional (no complete plan early on)

    def phase(self, start: str, end: str) -> float:
        return self.marks[end] - self.marks[start] if start in self.marks and end in self.marks else 0.0


_current: list[Run] = []


def _mark(name: str) -> None:
    if _current and name not in _current[-1].marks:
        _current[-1].marks[name] = cpu()


@contextmanager
def recording() -> Iterator[Run]:
    run = Run()
    _current.append(run)
    try:
        yield run
    finally:
        _current.pop()


def _instrument() -> None:
    """Wrap the seams both solvers pass through so that each call records its phases (bench only)."""
    run_search = IteratedLocalSearch.run

    def run(self: IteratedLocalSearch, stop: Any, *args: Any, **kwargs: Any) -> Any:
        _mark("search")

        def counted(best_cost: float) -> bool:
            if _current:
                _current[-1].iterations += 1
            return bool(stop(best_cost))

        try:
            return run_search(self, counted, *args, **kwargs)
        finally:
            _mark("after")

    IteratedLocalSearch.run = run  # type: ignore[method-assign]

    engine_solve = solve_module.solve_pyvrp

    def solve_pyvrp(*args: Any, **kwargs: Any) -> Any:
        _mark("model")  # the checks end here
        return engine_solve(*args, clock=cpu, **kwargs)

    solve_module.solve_pyvrp = solve_pyvrp
    # `routing.solve` reads its clock (where its budget starts) as `perf_counter`: the CPU clock here.
    solve_module.perf_counter = cpu  # type: ignore[attr-defined]

    build = pyvrp_engine._build

    def timed_build(*args: Any, **kwargs: Any) -> Any:
        try:
            return build(*args, **kwargs)
        finally:
            _mark("setup")

    pyvrp_engine._build = timed_build

    optional = pyvrp_engine._optional

    def marked_optional(*args: Any, **kwargs: Any) -> Any:
        if _current:
            _current[-1].optional = True
        return optional(*args, **kwargs)

    pyvrp_engine._optional = marked_optional


class CpuRuntime(MaxRuntime):
    """PyVRP's MaxRuntime on the process's CPU clock (counting, like MaxRuntime, from its first call)."""

    def __call__(self, best_cost: int) -> bool:
        if self._start_runtime is None:
            self._start_runtime = cpu()
        return cpu() - self._start_runtime > self._max_runtime


def plain(instance: Instance, seconds: float, seed: int, clock: str) -> Run:
    with recording() as run:
        run.marks["data"] = cpu()
        data = plain_pyvrp_data(instance)
        started, run.marks["setup"] = time.perf_counter(), cpu()
        criterion = CpuRuntime(seconds) if clock == "cpu" else MaxRuntime(seconds)
        pyvrp.solve(data, stop=criterion, seed=seed, collect_stats=False)
        run.marks["end"] = cpu()
        run.wall_s = time.perf_counter() - started
    return run


def outfield(instance: Instance, seconds: float, seed: int, clock: str) -> Run:
    with recording() as run:
        run.marks["data"] = cpu()
        problem = to_problem(instance)
        started, run.marks["checks"] = time.perf_counter(), cpu()
        if clock == "cpu":
            solve_module.solve(problem, stop=StopRule(max_seconds=seconds), seed=seed)
        else:
            _wall_solve(problem, seconds, seed)
        run.marks["end"] = cpu()
        run.wall_s = time.perf_counter() - started
    return run


def _wall_solve(problem: Any, seconds: float, seed: int) -> None:
    """`routing.solve` on its own (wall) clock: the instrumented engine call without the CPU clock."""
    wrapped = solve_module.solve_pyvrp

    def on_wall(*args: Any, clock: Callable[[], float] | None = None, **kwargs: Any) -> Any:
        _mark("model")
        return pyvrp_engine.solve_pyvrp(*args, **kwargs)

    solve_module.solve_pyvrp = on_wall
    solve_module.perf_counter = time.perf_counter  # type: ignore[attr-defined]
    try:
        solve_module.solve(problem, stop=StopRule(max_seconds=seconds), seed=seed)
    finally:
        solve_module.solve_pyvrp = wrapped
        solve_module.perf_counter = cpu  # type: ignore[attr-defined]


SOLVERS: dict[str, Callable[[Instance, float, int, str], Run]] = {"plain PyVRP": plain, "outfield": outfield}


def phases(run: Run) -> dict[str, float]:
    order = [p for p in PHASES if p in run.marks] + ["end"]
    return {a: run.marks[b] - run.marks[a] for a, b in zip(order, order[1:], strict=False)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", nargs="+", default=DEFAULT)
    parser.add_argument("--cpu", type=float, nargs="+", default=[1.0, 10.0], help="CPU-second budgets")
    parser.add_argument("--wall", action="store_true", help="also run on wall-clock budgets and print overruns")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    _instrument()
    print(f"bench/routing_overhead.py, seed {args.seed}, load average {os.getloadavg()[0]:.2f} at start\n")
    print(
        "| instance | n | budget | solver | data | checks | model | setup | search | after | "
        "outside the search | iterations | wall of the call | load |"
    )
    print("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    clocks = ["cpu", "wall"] if args.wall else ["cpu"]
    iterations: dict[tuple[str, str], list[float]] = {}
    for name in args.instances:
        folder = "gh" if "_" in name else "solomon"
        instance = read_instance(DATA / folder / f"{name}.txt")
        size = "Solomon 100" if folder == "solomon" else f"G&H {len(instance.customers) - 1}"
        for clock in clocks:
            for seconds in args.cpu:
                for solver, call in SOLVERS.items():
                    run = call(instance, seconds, args.seed, clock)
                    spent = phases(run)
                    outside = sum(v for k, v in spent.items() if k not in ("data", "search"))
                    cells = " | ".join(f"{spent[p]:.3f}" if p in spent else "—" for p in PHASES)
                    budget = f"{seconds:g} {'CPU' if clock == 'cpu' else 'wall'} s"
                    print(
                        f"| {name} | {len(instance.customers) - 1} | {budget} | {solver} | {cells} | {outside:.3f} | "
                        f"{run.iterations}{' (optional)' if run.optional else ''} | {run.wall_s:.2f} s | {os.getloadavg()[0]:.1f} |",
                        flush=True,
                    )
                    if clock == "cpu":
                        iterations.setdefault((f"{size}, {seconds:g} CPU s", solver), []).append(run.iterations)
    print("\n| class, budget | plain PyVRP iterations (mean) | outfield iterations (mean) | outfield / plain |")
    print("| --- | ---: | ---: | ---: |")
    for key in sorted({k[0] for k in iterations}):
        p = statistics.mean(iterations[(key, "plain PyVRP")])
        o = statistics.mean(iterations[(key, "outfield")])
        print(f"| {key} | {p:.0f} | {o:.0f} | {o / p:.3f} |")
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
