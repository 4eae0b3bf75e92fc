"""Where a 10-second plan of the Monaco day goes, counted in iterations and CPU seconds (issue #15).

Three tables, all on the Monaco field day of bench/monaco_day.py (300 visits, 30 workers, breaks; OSRM
roads, straight lines with --straight-line), nothing timed by the wall clock, so a loaded machine
changes how long it takes but not the figures (CPU seconds do grow somewhat under heavy load):
* the steps of `routing.solve` on "auto" and their CPU seconds (matrix, PyVRP model, first local
  search, iterations, repair, OR-Tools model);
* PyVRP's best travel after N iterations on the day without breaks and on the break relaxation,
  with PyVRP's default penalties and with penalties scaled to the day's costs, mean over seeds;
* the hand-over: PyVRP for N iterations on a relaxation, the breaks put in (`warm_routes`), then
  OR-Tools with every rule until the whole took C CPU seconds: travel at each C;
* budget (not in the default run): where a whole `routing.solve` of the day goes with a CPU-capped budget
  (`--budget`, 10 CPU s; bench/routing_city.py's `cpu_budget`), each step's own CPU seconds (the steps it
  calls taken out), PyVRP's iterations counted, one row per step and seed.

    .venv/bin/python bench/routing_phases.py                       # ~6 min on a quiet machine
    .venv/bin/python bench/routing_phases.py --tables steps --seeds 0
    .venv/bin/python bench/routing_phases.py --tables budget --seeds 0 1 2 --budget 10
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import monaco_day  # noqa: E402
import pyvrp  # noqa: E402
from routing_city import cpu_budget  # noqa: E402

import routing.pyvrp_engine as pyvrp_engine  # noqa: E402
import routing.solve as solve_module  # noqa: E402
from routing.check import check  # noqa: E402
from routing.plan import Plan, Progress, unservable_reason  # noqa: E402
from routing.problem import Problem, StopRule  # noqa: E402
from routing.pyvrp_engine import solve_pyvrp  # noqa: E402
from routing.solve import _solve_ortools, relax_for_pyvrp, routes_plan, warm_routes  # noqa: E402

MARKS = [500, 1000, 2000, 3000]
HALF = 0.5  # the looser window cut, measured against `routing.solve`'s whole break (WINDOW_CUT_SHARE)


def cpu() -> float:
    return time.process_time()


def relaxation(problem: Problem, share: float | None) -> Problem:
    """None: the day without breaks (what plain PyVRP is given); else the relaxation with that window cut."""
    if share is None:
        return monaco_day.without_pyvrp_gaps(problem)
    return relax_for_pyvrp(problem, window_cut_share=share)


def search(problem: Problem, iterations: int, seed: int, scaled: bool) -> tuple[dict[int, float], float]:
    """PyVRP's best travel-cost hours at each of MARKS, and the CPU seconds of the call."""
    out = {v.id: r for v in problem.visits if (r := unservable_reason(problem, v)) is not None}
    log: list[Progress] = []
    started = cpu()
    solve_pyvrp(
        problem,
        stop=StopRule(max_solutions=iterations),
        seed=seed,
        leave_out=out,
        on_progress=log.append,
        scaled_penalties=scaled,
    )
    spent = cpu() - started
    best = {m: min((p.objective for p in log if p.solutions <= m), default=float("nan")) / 3600 for m in MARKS}
    return best, spent


def steps_table(problem: Problem, build_cpu: float, seed: int) -> None:
    print("\n#### Steps of a plan with breaks (CPU seconds, one run)\n")
    print("| step | CPU s | result |")
    print("| --- | ---: | --- |")
    print(f"| travel matrix ({problem.size} locations) and the day | {build_cpu:.2f} | |")
    relaxed = relax_for_pyvrp(problem)
    log: list[tuple[int, float, int]] = []
    started = cpu()
    seed_plan = solve_pyvrp(
        relaxed,
        stop=StopRule(max_solutions=1000),
        seed=seed,
        leave_out={},
        on_progress=lambda p: log.append((p.solutions, cpu() - started, p.objective)),
    )
    total = cpu() - started
    first_it, first_cpu, first_cost = log[0]
    print(
        f"| PyVRP: its model, a random start and the first local search | {first_cpu:.2f} | {first_cost / 3600:.2f} h |"
    )
    assert seed_plan is not None
    print(
        f"| PyVRP: 1,000 iterations | {total - first_cpu:.2f} ({1000 / max(total - first_cpu, 1e-9):.0f} it/s) | "
        f"{seed_plan.travel_s / 3600:.2f} h on the relaxation |"
    )
    started = cpu()
    repaired = routes_plan(problem, warm_routes(problem, problem.visits, seed_plan), {})
    print(f"| breaks put in (`warm_routes`) | {cpu() - started:.2f} | {repaired.travel_s / 3600:.2f} h, every rule |")
    started = cpu()
    _solve_ortools(
        problem, stop=StopRule(max_solutions=1), leave_out={}, initial=repaired, on_progress=None, should_stop=None
    )
    print(f"| OR-Tools: its model and the warm start (1 solution) | {cpu() - started:.2f} | |")


def iterations_table(problem: Problem, seeds: Sequence[int]) -> None:
    print(f"\n#### PyVRP's best travel by iteration count (mean of seeds {', '.join(map(str, seeds))})\n")
    print("| model | penalties | " + " | ".join(f"{m} it" for m in MARKS) + " | CPU s per run |")
    print("| --- | --- | " + " | ".join("---:" for _ in MARKS) + " | ---: |")
    models = (("day without breaks", None), ("relaxation, windows cut by the whole break", 1.0))
    models += ((f"relaxation, windows cut by {HALF:g} break", HALF),)
    for label, share in models:
        day = relaxation(problem, share)
        for scaled in (False, True):
            runs = [search(day, MARKS[-1], seed, scaled) for seed in seeds]
            means = [statistics.mean(r[0][m] for r in runs) for m in MARKS]
            spent = statistics.mean(r[1] for r in runs)
            name = "scaled to the day" if scaled else "PyVRP's default"
            print(f"| {label} | {name} | " + " | ".join(f"{x:.3f} h" for x in means) + f" | {spent:.1f} |", flush=True)


def polish(problem: Problem, repaired: Plan, started: float, limit: float) -> list[tuple[float, int]]:
    """OR-Tools from `repaired` until `limit` CPU seconds after `started`: (CPU s, cost) of each new best."""
    log = [(cpu() - started, repaired.objective)]
    _solve_ortools(
        problem,
        stop=StopRule(max_seconds=100 * limit),
        leave_out={},
        initial=repaired,
        on_progress=lambda p: log.append((cpu() - started, p.objective)),
        should_stop=lambda: cpu() - started > limit,
        fallback=repaired,
    )
    return log


def handover_table(problem: Problem, seeds: Sequence[int], budgets: Sequence[float], starts: Sequence[int]) -> None:
    print("\n#### Hand-over: PyVRP N iterations, breaks put in, OR-Tools until C CPU seconds in all\n")
    print(
        "| relaxation | penalties | N | seed | repaired at | "
        + " | ".join(f"{c:g} CPU s" for c in budgets)
        + " | load |"
    )
    print("| --- | --- | ---: | ---: | ---: | " + " | ".join("---:" for _ in budgets) + " | ---: |")
    for share, scaled in ((1.0, False), (HALF, True)):
        day = relax_for_pyvrp(problem, window_cut_share=share)
        out = {v.id: r for v in day.visits if (r := unservable_reason(day, v)) is not None}
        for n in starts:
            for seed in seeds:
                started = cpu()
                seed_plan = solve_pyvrp(
                    day, stop=StopRule(max_solutions=n), seed=seed, leave_out=out, scaled_penalties=scaled
                )
                assert seed_plan is not None
                repaired = routes_plan(problem, warm_routes(problem, problem.visits, seed_plan), {})
                log = polish(problem, repaired, started, max(budgets))
                cells = []
                for c in budgets:
                    reached = [cost for spent, cost in log if spent <= c]
                    cells.append(f"{reached[-1] / 3600:.2f} h" if reached else "—")
                print(
                    f"| cut {share:g} | {'scaled' if scaled else 'default'} | {n} | {seed} | "
                    f"{log[0][0]:.1f} s, {repaired.objective / 3600:.2f} h | " + " | ".join(cells) + f" | "
                    f"{os.getloadavg()[0]:.1f} |",
                    flush=True,
                )


BUDGET_STEPS = (
    (solve_module, "solve", "`routing.solve` itself: engine choice, pins"),
    (solve_module, "unservable_reasons", "visits no plan can hold (`unservable_reasons`)"),
    (solve_module, "relax_for_pyvrp", "the break relaxation (`relax_for_pyvrp`)"),
    (solve_module, "_solve_hybrid", "the hand-over's own code (`_solve_hybrid`)"),
    (solve_module, "solve_pyvrp", "PyVRP engine's own code (`solve_pyvrp`)"),
    (pyvrp_engine, "_build", "PyVRP's model (`pyvrp_engine._build`)"),
    (pyvrp_engine, "insertion_routes", "cheapest-insertion start (`routing.construct`)"),
    (pyvrp_engine, "_search", "PyVRP's setup: neighbours, operators, start, its exhaustive local search"),
    (pyvrp.IteratedLocalSearch, "run", "PyVRP's iterations"),
    (pyvrp_engine, "_plan", "PyVRP's solutions as plans (`pyvrp_engine._plan`)"),
    (solve_module, "warm_routes", "the breaks put in (`warm_routes`)"),
    (solve_module, "routes_plan", "the repaired routes as plans (`routes_plan`)"),
    (solve_module, "_solve_ortools", "OR-Tools' own code: closing the model (`_solve_ortools`)"),
    (solve_module, "_build", "OR-Tools' model (`solve._build`)"),
    (solve_module, "_initial_assignment", "OR-Tools' warm start read (`_initial_assignment`)"),
    (solve_module, "_search", "OR-Tools' search (`solve._search`)"),
    (solve_module, "_plan_from", "OR-Tools' solution as a plan (`_plan_from`)"),
)


def budget_table(problem: Problem, seeds: Sequence[int], budget: float) -> None:
    """Each step's own CPU seconds in a CPU-capped `routing.solve` (nested steps' time taken out of the caller's)."""
    print(f"\n#### Where a {budget:g} CPU s plan goes: each step's own CPU seconds (nested steps taken out)\n")
    own: dict[tuple[str, int], float] = {}
    stack: list[list[float]] = []
    iterations: dict[int, int] = {}
    rows: list[str] = []

    def timed(label: str, seed: int, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def step(*args: Any, **kwargs: Any) -> Any:
            stack.append([cpu(), 0.0])
            try:
                return fn(*args, **kwargs)
            finally:
                begun, inner = stack.pop()
                spent = cpu() - begun
                own[(label, seed)] = own.get((label, seed), 0.0) + spent - inner
                if stack:
                    stack[-1][1] += spent

        return step

    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in BUDGET_STEPS]
    try:
        for seed in seeds:
            for (owner, name, label), (_, _, original) in zip(BUDGET_STEPS, saved, strict=True):
                setattr(owner, name, timed(label, seed, original))
            run = pyvrp.IteratedLocalSearch.run

            def counted(self: Any, stop: Any, *args: Any, seed: int = seed, run: Any = run, **kwargs: Any) -> Any:
                def ask(cost: float) -> bool:
                    iterations[seed] = iterations.get(seed, 0) + 1
                    return bool(stop(cost))

                return run(self, ask, *args, **kwargs)

            pyvrp.IteratedLocalSearch.run = counted  # type: ignore[method-assign]
            started = cpu()
            with cpu_budget(budget) as over:
                plan = solve_module.solve(problem, stop=StopRule(max_seconds=budget), seed=seed, should_stop=over)
            spent = cpu() - started
            rows.append(
                f"seed {seed}: {plan.engine}, {plan.travel_s / 3600:.2f} h, {spent:.2f} CPU s, "
                f"{iterations.get(seed, 0):,} PyVRP iterations, {len(check(problem, plan))} violations, "
                f"load {os.getloadavg()[0]:.1f}"
            )
            own[("whole call", seed)] = spent
            for owner, name, original in saved:
                setattr(owner, name, original)
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)
    print("| step | " + " | ".join(f"seed {s}: CPU s (share)" for s in seeds) + " |")
    print("| --- | " + " | ".join("---:" for _ in seeds) + " |")
    for label in [label for _, _, label in BUDGET_STEPS] + ["whole call"]:
        cells = [
            f"{own.get((label, s), 0.0):.3f} ({100 * own.get((label, s), 0.0) / own[('whole call', s)]:.1f} %)"
            for s in seeds
        ]
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()
    for row in rows:
        print(row)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", default=["steps", "iterations", "handover"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cpu", type=float, nargs="+", default=[5.0, 10.0, 20.0], help="hand-over budgets, CPU s")
    parser.add_argument("--starts", type=int, nargs="+", default=[1000], help="PyVRP iterations before the hand-over")
    parser.add_argument("--marks", type=int, nargs="+", default=MARKS, help="iteration counts of the second table")
    parser.add_argument("--budget", type=float, default=10.0, help="budget table: CPU seconds of routing.solve")
    parser.add_argument("--straight-line", action="store_true")
    args = parser.parse_args(argv)
    MARKS[:] = sorted(args.marks)
    travel, name, _tmp = monaco_day.make_travel(args.straight_line)
    started = cpu()
    problem = monaco_day.scenario(random.Random(0), monaco_day.load_sites(), travel)
    build = cpu() - started
    print(
        f"bench/routing_phases.py: Monaco day, {name}; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} at start."
    )
    if "steps" in args.tables:
        steps_table(problem, build, args.seeds[0])
    if "iterations" in args.tables:
        iterations_table(problem, args.seeds)
    if "handover" in args.tables:
        handover_table(problem, args.seeds, args.cpu, args.starts)
    if "budget" in args.tables:
        budget_table(problem, args.seeds, args.budget)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
