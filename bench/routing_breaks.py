"""What the breaks cost the Monaco field day: the same PyVRP search on the day with and without them (issue #15).

Issue #15 asks the 60 s plan with breaks to be at least as good as plain PyVRP's plan of the day without breaks.
This bench gives each search the same budget of CPU seconds of the process (the clocks of `routing.solve` and the
PyVRP engine read `time.process_time`, OR-Tools is stopped by `should_stop` on it) and prints one JSON line per day
and variant:
* `no-breaks`: PyVRP (plain settings, the whole budget) on the day without breaks and second windows, the issue's
  reference (`bench/routing.py`'s "plain PyVRP" on a field day);
* `shift-cut`: the same day with each worker's shift and working time shortened by their breaks, windows whole
  (`relax_for_pyvrp(window_cut_share=0)`): what PyVRP finds when a route only loses its break's time;
* `relaxation`: Outfield's relaxation (`relax_for_pyvrp()`: shifts and late windows cut by the whole break), plain
  settings, the whole budget;
* `outfield`: `routing.solve` (engine "auto") with the same budget: the plan the console gets.
Each PyVRP-only variant also gives its plan with the breaks put in by `warm_routes` ("repaired": every rule of the
real day, priced by `routing.check`), so the travel a break forces onto PyVRP's own routes shows. Travel in hours;
days 1 and 2 leave visits out, so compare `planned` too.

    .venv/bin/python bench/routing_breaks.py --budget 60 --days 0
    .venv/bin/python bench/routing_breaks.py --budget 10 --days 0 1 2 --variants no-breaks outfield
"""

from __future__ import annotations

import argparse
import json
import os
import random
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
from routing.plan import Plan, unservable_reasons  # noqa: E402
from routing.problem import Problem, StopRule  # noqa: E402
from routing.pyvrp_engine import PLAIN, solve_pyvrp  # noqa: E402
from routing.solve import relax_for_pyvrp, routes_plan, warm_routes  # noqa: E402

VARIANTS = ("no-breaks", "shift-cut", "relaxation", "outfield")


def cpu() -> float:
    return time.process_time()


def searched_day(problem: Problem, variant: str) -> Problem:
    if variant == "no-breaks":
        return monaco_day.without_pyvrp_gaps(problem)
    if variant == "shift-cut":
        return relax_for_pyvrp(problem, 0.0, keep_before_breaks=False)
    return relax_for_pyvrp(problem, keep_before_breaks=False)


def pyvrp_only(problem: Problem, variant: str, budget: float, seed: int) -> dict[str, Any]:
    """PyVRP with plain settings for `budget` CPU s on `variant`'s day, and its routes with the breaks put in."""
    day = searched_day(problem, variant)
    out = unservable_reasons(day, day.visits)
    started = cpu()
    plan = solve_pyvrp(day, stop=StopRule(max_seconds=budget), seed=seed, leave_out=out, settings=PLAIN, clock=cpu)
    spent = cpu() - started
    if plan is None:
        return {"plan": None, "cpu": round(spent, 1)}
    real_out = unservable_reasons(problem, problem.visits)
    repaired = routes_plan(problem, warm_routes(problem, problem.visits, plan), real_out)
    return {
        "searched": round(plan.travel_s / 3600, 3),
        "searched_planned": plan.planned_count,
        "repaired": round(repaired.travel_s / 3600, 3),
        "repaired_planned": repaired.planned_count,
        "repaired_violations": len(check(problem, repaired)),
        "cpu": round(spent, 1),
    }


def outfield(problem: Problem, budget: float, seed: int) -> dict[str, Any]:
    searched = solve_module._search

    def ortools_on_cpu(routing: Any, start: Any, params: Any) -> Any:
        params.time_limit.FromSeconds(100_000)  # `should_stop` ends OR-Tools on CPU seconds
        return searched(routing, start, params)

    pyvrp_engine.time.perf_counter = cpu  # type: ignore[attr-defined]
    solve_module.perf_counter = cpu  # type: ignore[attr-defined]
    solve_module._search = ortools_on_cpu  # type: ignore[attr-defined]
    try:
        started = cpu()
        plan: Plan = solve_module.solve(
            problem, stop=StopRule(max_seconds=budget), seed=seed, should_stop=lambda: cpu() - started > budget
        )
        spent = cpu() - started
    finally:
        solve_module._search = searched  # type: ignore[attr-defined]
        pyvrp_engine.time.perf_counter = time.perf_counter  # type: ignore[attr-defined]
        solve_module.perf_counter = time.perf_counter  # type: ignore[attr-defined]
    return {
        "plan": round(plan.travel_s / 3600, 3),
        "planned": plan.planned_count,
        "engine": plan.engine,
        "violations": len(check(problem, plan)),
        "cpu": round(spent, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0, help="CPU seconds of each search")
    parser.add_argument("--days", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--runs", type=int, nargs="+", default=[0], help="search seed = day + 10 x run")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    args = parser.parse_args()
    travel, _name, _tmp = monaco_day.make_travel(False)
    for d in args.days:
        problem = monaco_day.scenario(random.Random(d), monaco_day.load_sites(), travel)
        for run in args.runs:
            for variant in args.variants:
                seed = d + 10 * run
                row = {"day": d, "run": run, "variant": variant, "budget": args.budget}
                if variant == "outfield":
                    row.update(outfield(problem, args.budget, seed))
                else:
                    row.update(pyvrp_only(problem, variant, args.budget, seed))
                row["load"] = round(os.getloadavg()[0], 1)
                print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
