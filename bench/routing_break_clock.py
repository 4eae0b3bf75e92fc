"""The break relaxation on the break clock against the cut relaxation, side by side (issue #15).

`routing.solve.relax_for_pyvrp` puts a day whose breaks may all start at one moment on the clock of a worker who
rests then (`relax_on_break_clock`, `BREAK_CLOCK`); before, every window closing after the first break could open
was cut by the break (`break_clock=False`). Two tables, each clock alternated with the other in the same process:

* `relax`: PyVRP on each relaxation for `--iterations` iterations (`relaxation_settings` of a 10 s plan, search
  seed = day, day + 10), then the breaks put in (`warm_routes`): travel on the relaxation, after the repair, and how
  many visits stayed on the route PyVRP put them on (all of them: every route keeps its breaks), in CPU seconds;
* `solve`: `routing.solve` with a wall-clock budget on one process (`BREAK_CLOCK` switched for the cut runs), one
  plan per seed, every plan held to every rule (`routing.check`).

    .venv/bin/python bench/routing_break_clock.py relax --days 0 1 2 --iterations 3000
    .venv/bin/python bench/routing_break_clock.py solve --day monaco:0 --seconds 10 --seeds 0 1 2 3 4 5
    .venv/bin/python bench/routing_break_clock.py solve --day city:0 --seconds 10 --seeds 0 1 2 3
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

REPO = Path(os.environ.get("REPO", Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import monaco_day  # noqa: E402
from city_day import city_problem  # noqa: E402

import routing.solve as solve_module  # noqa: E402
from routing.check import check  # noqa: E402
from routing.plan import unservable_reasons  # noqa: E402
from routing.problem import Problem, StopRule  # noqa: E402
from routing.pyvrp_engine import solve_pyvrp  # noqa: E402

CLOCKS = (("cut", False), ("clock", True))


def field_day(name: str) -> Problem:
    kind, _, number = name.partition(":")
    if kind == "city":
        return city_problem(int(number))[0]
    travel, _label, _tmp = monaco_day.make_travel(False)
    return monaco_day.scenario(random.Random(int(number)), monaco_day.load_sites(), travel)


def relax_table(days: Sequence[int], iterations: int) -> None:
    print("| day | seed | relaxation | on the relaxation | breaks put in | visits kept on their route | CPU s |")
    print("| ---: | ---: | --- | ---: | ---: | ---: | ---: |")
    totals: dict[str, list[float]] = {name: [] for name, _ in CLOCKS}
    for day in days:
        problem = field_day(f"monaco:{day}")
        settings = solve_module.relaxation_settings(problem, StopRule(max_seconds=10.0))
        leave_out = unservable_reasons(problem, problem.visits)
        for seed in (day, day + 10):
            for name, on_clock in CLOCKS:
                relaxed = solve_module.relax_for_pyvrp(problem, break_clock=on_clock)
                out = dict(leave_out)
                out.update(unservable_reasons(relaxed, (v for v in relaxed.visits if v.id not in leave_out)))
                cpu = time.process_time()
                plan = solve_pyvrp(
                    relaxed, stop=StopRule(max_solutions=iterations), seed=seed, leave_out=out, settings=settings
                )
                cpu = time.process_time() - cpu
                assert plan is not None
                routes = solve_module.warm_routes(problem, problem.visits, plan)
                kept = sum(len(set(r.visit_ids) & set(routes.get(r.worker_id, []))) for r in plan.routes)
                repaired = solve_module.routes_plan(problem, routes, leave_out)
                totals[name].append(repaired.travel_s / 3600)
                print(
                    f"| {day} | {seed} | {name} | {plan.travel_s / 3600:.3f} h | {repaired.travel_s / 3600:.3f} h | "
                    f"{kept} / {plan.planned_count} | {cpu:.1f} |",
                    flush=True,
                )
    for name, values in totals.items():
        print(f"\n{name}: mean {statistics.fmean(values):.3f} h after the repair over {len(values)} runs", end="")
    print()


def solve_table(name: str, seconds: float, seeds: Sequence[int]) -> None:
    problem = field_day(name)
    print(f"{name}, {seconds:g} s, one process (travel; unplanned; engine; wall s; checker violations)\n")
    results: dict[str, list[float]] = {label: [] for label, _ in CLOCKS}
    for seed in seeds:
        for label, on_clock in CLOCKS:
            solve_module.BREAK_CLOCK = on_clock
            started = time.perf_counter()
            plan = solve_module.solve(problem, stop=StopRule(max_seconds=seconds), seed=seed)
            wall = time.perf_counter() - started
            results[label].append(plan.travel_s / 3600)
            print(
                f"seed {seed} {label}: {plan.travel_s / 3600:.3f} h; {len(plan.unplanned)}; {plan.engine}; "
                f"{wall:.1f}; {len(check(problem, plan))}",
                flush=True,
            )
    solve_module.BREAK_CLOCK = True
    cut, clock = statistics.fmean(results["cut"]), statistics.fmean(results["clock"])
    print(f"\nmean over {len(seeds)} seeds: cut {cut:.3f} h, clock {clock:.3f} h ({100 * (clock / cut - 1):+.1f} %)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="table", required=True)
    relax = sub.add_parser("relax")
    relax.add_argument("--days", type=int, nargs="+", default=[0, 1, 2])
    relax.add_argument("--iterations", type=int, default=3000)
    solve = sub.add_parser("solve")
    solve.add_argument("--day", default="monaco:0", help="monaco:N or city:N")
    solve.add_argument("--seconds", type=float, default=10.0)
    solve.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    args = parser.parse_args(argv)
    if args.table == "relax":
        relax_table(args.days, args.iterations)
    else:
        solve_table(args.day, args.seconds, args.seeds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
