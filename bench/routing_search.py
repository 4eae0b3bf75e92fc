"""PyVRP's search settings on the Monaco field days, counted in CPU seconds and iterations (issue #15).

Three tables on the Monaco days of bench/routing.py (`--days`, each day's seed is also the search's seed
plus 10 x the run number of `--runs`), nothing timed by the wall clock:
* cost: CPU seconds of 1,000 PyVRP iterations on the break relaxation as Outfield builds it (one routing
  profile per skill set, one vehicle type per distinct worker) with plain PyVRP's settings, a smaller
  perturbation, the field settings, and with skills as load dimensions (one profile);
* search: PyVRP on the break relaxation for C CPU seconds with each setting of SETTINGS: best travel at
  each CPU mark, per day (mean of runs) and over the days;
* plan: `routing.solve` (engine "auto": PyVRP on the relaxation, the breaks put in, OR-Tools) with a
  budget of B CPU seconds, plain settings against the field settings (`routing.solve.relaxation_settings`).
  A "10 s" plan here is 10 CPU seconds of the process: `routing.solve`'s and the PyVRP engine's clock is
  `time.process_time`, and OR-Tools is stopped by `should_stop` on that clock, so a loaded machine
  changes how long a run takes, not what it gets.

    .venv/bin/python bench/routing_search.py --tables cost                  # ~1 min quiet
    .venv/bin/python bench/routing_search.py --tables search --cpu 2 4 8 --runs 2
    .venv/bin/python bench/routing_search.py --tables search --cpu 4 8 --settings "(FIELD_SEARCH)" "no exhaustive"
    .venv/bin/python bench/routing_search.py --tables plan --budgets 10 60
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import monaco_day  # noqa: E402

import routing.pyvrp_engine as pyvrp_engine  # noqa: E402
import routing.solve as solve_module  # noqa: E402
from routing.check import check  # noqa: E402
from routing.plan import unservable_reason  # noqa: E402
from routing.problem import Problem, StopRule  # noqa: E402
from routing.pyvrp_engine import PLAIN, SearchSettings, solve_pyvrp  # noqa: E402
from routing.solve import FIELD_SEARCH, relax_for_pyvrp  # noqa: E402

SETTINGS = {
    "plain PyVRP (history 300, perturbation 1-25, 50 neighbours)": PLAIN,
    "history 100": SearchSettings(history_length=100),
    "history 50 (FIELD_SEARCH)": FIELD_SEARCH,
    "history 20": SearchSettings(history_length=20),
    "perturbation 1-10": SearchSettings(max_perturbations=10),
    "history 50, perturbation 1-10": SearchSettings(history_length=50, max_perturbations=10),
    "history 50, scaled penalties": SearchSettings(history_length=50, scaled_penalties=True),
    "history 50, 20 neighbours": SearchSettings(history_length=50, num_neighbours=20),
    "history 50, 80 neighbours": SearchSettings(history_length=50, num_neighbours=80),
    "history 50, skills as loads": SearchSettings(history_length=50, skills_as_loads=True),
    "history 50, no exhaustive search of each best": SearchSettings(history_length=50, exhaustive_on_best=False),
}
COST_SETTINGS = {
    "plain PyVRP": PLAIN,
    "perturbation 1-10": SearchSettings(max_perturbations=10),
    "history 50 (FIELD_SEARCH)": FIELD_SEARCH,
    "history 50, skills as loads (1 profile)": SearchSettings(history_length=50, skills_as_loads=True),
}


def cpu() -> float:
    return time.process_time()


def left_out(problem: Problem) -> dict[str, object]:
    return {v.id: r for v in problem.visits if (r := unservable_reason(problem, v)) is not None}


def cost_table(days: dict[int, Problem]) -> None:
    print("\n#### 1,000 PyVRP iterations on the relaxation: CPU seconds and travel\n")
    print("| day | settings | profiles | vehicle types | load dimensions | CPU s | travel |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for d, problem in days.items():
        relaxed = relax_for_pyvrp(problem)
        out = left_out(relaxed)
        for label, settings in COST_SETTINGS.items():
            data = pyvrp_engine._build(relaxed, out, skills_as_loads=settings.skills_as_loads).data
            started = cpu()
            plan = solve_pyvrp(relaxed, stop=StopRule(max_solutions=1000), seed=d, leave_out=out, settings=settings)
            spent = cpu() - started
            travel = f"{plan.travel_s / 3600:.2f} h" if plan else "none"
            print(
                f"| {d} | {label} | {data.num_profiles} | {data.num_vehicle_types} | {data.num_load_dimensions} | "
                f"{spent:.1f} | {travel} |",
                flush=True,
            )


def search_table(days: dict[int, Problem], marks: Sequence[float], runs: int, only: Sequence[str] = ()) -> None:
    print(
        f"\n#### PyVRP on the relaxation: best travel at CPU seconds (days {', '.join(map(str, days))}, {runs} run(s))\n"
    )
    print("| settings | " + " | ".join(f"{m:g} CPU s: per day (mean)" for m in marks) + " | iterations in all |")
    print("| --- | " + " | ".join("---:" for _ in marks) + " | ---: |")
    engine_clock = pyvrp_engine.time.perf_counter
    pyvrp_engine.time.perf_counter = cpu  # the engine's budget in CPU seconds
    try:
        for label, settings in SETTINGS.items():
            if only and not any(word in label for word in only):
                continue
            per_day: dict[int, list[list[float]]] = {}
            iterations = []
            for d, problem in days.items():
                relaxed = relax_for_pyvrp(problem)
                out = left_out(relaxed)
                for run in range(runs):
                    log: list[tuple[float, int, int]] = []
                    started = cpu()
                    plan = solve_pyvrp(
                        relaxed,
                        stop=StopRule(max_seconds=max(marks)),
                        seed=d + 10 * run,
                        leave_out=out,
                        settings=settings,
                        on_progress=lambda p, s=started, log=log: log.append((cpu() - s, p.objective, p.solutions)),
                    )
                    assert plan is not None
                    # Progress objectives include the penalties of the visits left out: count travel only.
                    offset = min(o for _, o, _ in log) - plan.travel_s
                    per_day.setdefault(d, []).append(
                        [min((o - offset for c, o, _ in log if c <= m), default=float("nan")) / 3600 for m in marks]
                    )
                    iterations.append(log[-1][2])
            cells = []
            for k in range(len(marks)):
                means = [statistics.mean(r[k] for r in rows) for rows in per_day.values()]
                cells.append(" / ".join(f"{x:.2f}" for x in means) + f" ({statistics.mean(means):.2f} h)")
            print(f"| {label} | " + " | ".join(cells) + f" | ≥{statistics.mean(iterations):.0f} |", flush=True)
    finally:
        pyvrp_engine.time.perf_counter = engine_clock


def plan_table(days: dict[int, Problem], budgets: Sequence[float]) -> None:
    print("\n#### `routing.solve` with a budget of CPU seconds: travel (planned, checker violations)\n")
    print("| budget | settings | " + " | ".join(f"day {d}" for d in days) + " | mean | load |")
    print("| ---: | --- | " + " | ".join("---:" for _ in days) + " | ---: | ---: |")
    engine_clock, solve_clock, chosen, ortools = (
        pyvrp_engine.time.perf_counter,
        solve_module.perf_counter,
        solve_module.relaxation_settings,
        solve_module._search,
    )

    def ortools_on_cpu(routing: object, start: object, params: Any) -> object:
        # OR-Tools' own limit is wall-clock time: lift it, `should_stop` ends the search on CPU seconds.
        params.time_limit.FromSeconds(100_000)
        return ortools(routing, start, params)

    try:
        pyvrp_engine.time.perf_counter = cpu
        solve_module.perf_counter = cpu
        solve_module._search = ortools_on_cpu
        for budget in budgets:
            for label, settings in (("plain PyVRP", PLAIN), ("field (`relaxation_settings`)", None)):
                solve_module.relaxation_settings = chosen if settings is None else (lambda _p, _s, s=settings: s)
                cells, travel = [], []
                for d, problem in days.items():
                    started = cpu()
                    plan = solve_module.solve(
                        problem,
                        stop=StopRule(max_seconds=budget),
                        seed=d,
                        should_stop=lambda s=started, b=budget: cpu() - s > b,
                    )
                    travel.append(plan.travel_s / 3600)
                    cells.append(f"{travel[-1]:.2f} h ({plan.planned_count}, {len(check(problem, plan))})")
                print(
                    f"| {budget:g} CPU s | {label} | " + " | ".join(cells) + f" | {statistics.mean(travel):.2f} h | "
                    f"{os.getloadavg()[0]:.1f} |",
                    flush=True,
                )
    finally:
        pyvrp_engine.time.perf_counter, solve_module.perf_counter = engine_clock, solve_clock
        solve_module.relaxation_settings, solve_module._search = chosen, ortools


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", default=["cost", "search", "plan"])
    parser.add_argument("--days", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--runs", type=int, default=1, help="searches per day in the search table (seeds d, d+10, ...)")
    parser.add_argument("--cpu", type=float, nargs="+", default=[2.0, 4.0, 8.0], help="CPU marks of the search table")
    parser.add_argument(
        "--settings", nargs="*", default=[], help="search table: only the SETTINGS whose label contains one of these"
    )
    parser.add_argument("--budgets", type=float, nargs="+", default=[10.0, 60.0], help="CPU budgets of the plan table")
    args = parser.parse_args(argv)
    travel, name, _tmp = monaco_day.make_travel(False)
    days = {d: monaco_day.scenario(random.Random(d), monaco_day.load_sites(), travel) for d in args.days}
    print(
        f"bench/routing_search.py: Monaco days {args.days}, {name}; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}."
    )
    if "cost" in args.tables:
        cost_table(days)
    if "search" in args.tables:
        search_table(days, args.cpu, args.runs, args.settings)
    if "plan" in args.tables:
        plan_table(days, args.budgets)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
