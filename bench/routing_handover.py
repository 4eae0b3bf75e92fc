"""`routing.solve` on the Monaco field days with a budget of CPU seconds, phase by phase (issue #15).

For each day (bench/routing.py's `--seed`; the search seed is the day + 10 x run) one JSON line: PyVRP's relaxed
plan (hours), the repaired plan (CPU s, objective / 3600: travel hours plus the penalties of visits left out),
OR-Tools' first and last improvement (CPU s, engine, objective, solutions), the plan's travel, planned visits and
checker violations. `--trace` also prints each OR-Tools search: whether it started from the repaired plan, its
status (2 success, 3 ROUTING_FAIL) and CPU seconds. `--set NAME=EXPR` replaces a constant of `routing.solve`
(e.g. `--set SEED_SHARE=0.85`). A budget is CPU seconds of the process, as in bench/routing_search.py.

    .venv/bin/python bench/routing_handover.py --budget 10 --days 0 1 2 --trace
    .venv/bin/python bench/routing_handover.py --budget 60 --days 0 1 2
    REPO=/work/wt-base .venv/bin/python bench/routing_handover.py --budget 10   # another checkout's code
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(os.environ.get("REPO", Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import monaco_day  # noqa: E402

import routing.pyvrp_engine as pyvrp_engine  # noqa: E402
import routing.solve as solve_module  # noqa: E402
from routing.check import check  # noqa: E402
from routing.plan import Progress  # noqa: E402
from routing.problem import StopRule  # noqa: E402
from routing.pyvrp_engine import SearchSettings  # noqa: E402


def cpu() -> float:
    return time.process_time()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=10.0, help="CPU seconds of each plan")
    parser.add_argument("--days", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--runs", type=int, nargs="+", default=[0])
    parser.add_argument("--set", nargs="*", default=[], help="NAME=EXPR: replace a constant of routing.solve")
    parser.add_argument("--trace", action="store_true", help="print each OR-Tools search")
    args = parser.parse_args()
    for assignment in args.set:
        name, expr = assignment.split("=", 1)
        setattr(solve_module, name, eval(expr, {"SearchSettings": SearchSettings}))  # noqa: S307
    travel, _name, _tmp = monaco_day.make_travel(False)
    searched = solve_module._search

    def ortools_on_cpu(routing: Any, start: Any, params: Any) -> Any:
        # OR-Tools' own limit is wall-clock time: lift it, `should_stop` ends the search on CPU seconds.
        params.time_limit.FromSeconds(100_000)
        began = cpu()
        solution = searched(routing, start, params)
        if args.trace:
            objective = None if solution is None else solution.ObjectiveValue()
            print(
                f"  OR-Tools search: from the repaired plan {start is not None}, status {routing.status()}, "
                f"objective {objective}, {cpu() - began:.2f} CPU s",
                flush=True,
            )
        return solution

    relaxed: list[float | None] = []
    solve_pyvrp = solve_module.solve_pyvrp

    def pyvrp_logged(*a: Any, **kw: Any) -> Any:
        plan = solve_pyvrp(*a, **kw)
        relaxed.append(None if plan is None else round(plan.travel_s / 3600, 3))
        return plan

    pyvrp_engine.time.perf_counter = cpu  # type: ignore[attr-defined]
    solve_module.perf_counter = cpu  # type: ignore[attr-defined]
    solve_module._search = ortools_on_cpu  # type: ignore[attr-defined]
    solve_module.solve_pyvrp = pyvrp_logged  # type: ignore[attr-defined]
    hours = []
    for d in args.days:
        problem = monaco_day.scenario(random.Random(d), monaco_day.load_sites(), travel)
        for run in args.runs:
            log: list[tuple[float, str, int, int]] = []
            started = cpu()

            def note(p: Progress, s: float = started, log: list[tuple[float, str, int, int]] = log) -> None:
                log.append((round(cpu() - s, 2), p.engine, p.objective, p.solutions))

            plan = solve_module.solve(
                problem,
                stop=StopRule(max_seconds=args.budget),
                seed=d + 10 * run,
                should_stop=lambda s=started: cpu() - s > args.budget,
                on_progress=note,
            )
            repair = [x for x in log if x[1] == "pyvrp+repair"]
            ortools = [x for x in log if x[1] == "ortools"]
            row = {
                "day": d,
                "run": run,
                "relaxed": relaxed[-1] if relaxed else None,
                "repaired": (repair[-1][0], round(repair[-1][2] / 3600, 3)) if repair else None,
                "ortools_first": ortools[0] if ortools else None,
                "ortools_last": ortools[-1] if ortools else None,
                "travel": round(plan.travel_s / 3600, 3),
                "planned": plan.planned_count,
                "violations": len(check(problem, plan)),
                "engine": plan.engine,
                "cpu": round(cpu() - started, 1),
                "load": round(os.getloadavg()[0], 1),
            }
            print(json.dumps(row), flush=True)
            hours.append(row["travel"])
    print(f"mean travel {statistics.mean(hours):.3f} h, budget {args.budget:g} CPU s, load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
