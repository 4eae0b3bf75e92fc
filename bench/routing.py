"""Route quality side by side: Outfield, plain PyVRP and Outfield's OR-Tools engine, same instances, same budgets.

Suites (all in one run, the solvers interleaved instance by instance and budget by budget, so they
share the machine's load alike):
* solomon: the 12 Solomon instances of data/datasets/solomon (100 customers), 1 s and 10 s;
* gh: the 7 Gehring & Homberger instances of data/datasets/gh (4 x 400, 3 x 1,000 customers), 10 s and 60 s;
* monaco: the Monaco field day of bench/monaco_day.py (300 visits, 30 workers, skills, windows,
  30-min breaks; OSRM road times, straight lines with --straight-line), 10 s and 60 s;
* city: a synthetic city day, 1,000 visits and 100 workers with breaks (the same generator on 700
  seeded sites over 6 km x 6 km, straight-line travel), 10 s, 60 s and a 120 s reference.
Solvers:
* outfield: `routing.solve` (engine "auto"), as the console calls it;
* plain PyVRP: `pyvrp.solve` with default parameters on the same integer data (benchmarks), or, on
  the field days, Outfield's PyVRP model of the same day without breaks and second windows (what
  PyVRP can express; the reference the issue names);
* outfield OR-Tools: `routing.solve(..., engine="ortools")`;
* VROOM: the VROOM engine (`bench/vroom_reference.py`, pyvroom from `bench/requirements.txt`), which
  expresses the field days' breaks, at its deepest search on as many threads as Outfield has processes,
  stopped at the budget (timed budgets only; no seed).
Benchmarks report the gap of the exact-arithmetic distance to bks.csv's pure-distance best known and
the vehicles used; field days report travel hours, visits planned and `routing.check` violations.
`--iterations N` also runs Outfield and plain PyVRP stopped after N PyVRP iterations (machine-independent).
Nothing here asserts on time; it prints Markdown tables and the load average.

    .venv/bin/python bench/routing.py                     # everything, ~50 min
    .venv/bin/python bench/routing.py --quick             # a few minutes: 2 Solomon, 1 G&H, Monaco and city at 10 s
    .venv/bin/python bench/routing.py --suites gh --solvers outfield "plain PyVRP" --seconds --iterations 1000
    .venv/bin/python bench/routing.py --suites monaco --solvers outfield "plain PyVRP" --solver-seeds 0 2 4 6 8 10
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The repository first: this file's own name would otherwise hide the `routing` package.
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

import monaco_day  # noqa: E402
import pyvrp  # noqa: E402
from city_day import city_problem  # noqa: E402
from pyvrp.stop import MaxIterations, MaxRuntime  # noqa: E402
from solomon import plain_pyvrp_data  # noqa: E402

from data.settings import default_plan_processes  # noqa: E402
from routing.check import check  # noqa: E402
from routing.plan import Plan, Progress  # noqa: E402
from routing.problem import Problem, StopRule  # noqa: E402
from routing.solomon import Instance, evaluate, read_best_known, read_instance, routes_of, to_problem  # noqa: E402
from routing.solve import solve  # noqa: E402

DATA = REPO / "data" / "datasets"
SOLVERS = ("outfield", "plain PyVRP", "outfield OR-Tools", "VROOM")
NO_ITERATION_STOP = ("outfield OR-Tools", "VROOM")
BUDGETS = {"solomon": (1.0, 10.0), "gh": (10.0, 60.0), "monaco": (10.0, 60.0), "city": (10.0, 60.0, 120.0)}
QUICK = {"solomon": ["C101", "R101"], "gh": ["r1_4_2"], "budgets": (10.0,), "solomon_budgets": (1.0,)}
Routes = list[list[int]]


@dataclass(frozen=True, slots=True)
class Stop:
    """A budget: seconds, or PyVRP iterations (then OR-Tools is not run)."""

    seconds: float | None = None
    iterations: int | None = None

    def __str__(self) -> str:
        return f"{self.seconds:g} s" if self.seconds is not None else f"{self.iterations} it"

    def rule(self) -> StopRule:
        return StopRule(max_solutions=self.iterations, max_seconds=self.seconds)


# --- benchmarks (Solomon format) -----------------------------------------------------------------


PROCESSES = [1]
"""How many processes Outfield's searches run on (`--processes`; `solve(..., processes=)`, routing.portfolio)."""


def cpu_s() -> float:
    """CPU seconds of this process and of its ended children (Outfield's helper processes)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def bench_outfield(instance: Instance, stop: Stop, seed: int) -> Routes:
    plan = solve(to_problem(instance), stop=stop.rule(), seed=seed, processes=PROCESSES[0])
    return [list(r) for r in routes_of(plan)]


def bench_ortools(instance: Instance, stop: Stop, seed: int) -> Routes:
    plan = solve(to_problem(instance), stop=stop.rule(), seed=seed, engine="ortools")
    return [list(r) for r in routes_of(plan)]


def bench_plain_pyvrp(instance: Instance, stop: Stop, seed: int) -> Routes | None:
    """PyVRP with default parameters on the same integer data (times rounded up, x 1000)."""
    data = plain_pyvrp_data(instance)
    criterion = MaxRuntime(stop.seconds) if stop.seconds is not None else MaxIterations(stop.iterations or 1)
    result = pyvrp.solve(data, stop=criterion, seed=seed, collect_stats=False)
    if not result.best.is_feasible():
        return None
    return [[a.idx + 1 for a in r.schedule() if a.is_client()] for r in result.best.routes()]


def bench_vroom(instance: Instance, stop: Stop, seed: int) -> Routes:
    import vroom_reference  # pyvroom: bench/requirements.txt

    return [list(r) for r in vroom_reference.benchmark_routes(instance, stop.seconds, PROCESSES[0])]


BENCH_SOLVERS: dict[str, Callable[[Instance, Stop, int], Routes | None]] = {
    "outfield": bench_outfield,
    "plain PyVRP": bench_plain_pyvrp,
    "outfield OR-Tools": bench_ortools,
    "VROOM": bench_vroom,
}


def run_benchmarks(suite: str, names: Sequence[str], stops: Sequence[Stop], solvers: Sequence[str], seed: int) -> None:
    folder = DATA / suite
    best = read_best_known(folder / "bks.csv")
    rows: dict[tuple[str, str, str], tuple[float | None, int, float, float]] = {}
    for name in names:
        instance = read_instance(folder / f"{name}.txt")
        for stop in stops:
            for solver in solvers:
                if stop.iterations is not None and solver in NO_ITERATION_STOP:
                    continue
                started, cpu = time.perf_counter(), cpu_s()
                routes = BENCH_SOLVERS[solver](instance, stop, seed)
                wall, cpu = time.perf_counter() - started, cpu_s() - cpu
                result = None if routes is None else evaluate(instance, routes)
                gap = 100 * (result.distance / best[name].distance - 1) if result and result.feasible else None
                rows[(name, str(stop), solver)] = (gap, result.vehicles if result else 0, wall, cpu)
                print(
                    f"  {suite} {name} {stop} {solver}: {_gap(gap)} ({rows[(name, str(stop), solver)][1]} v, "
                    f"wall {wall:.1f} s, CPU {cpu:.1f} s, load {os.getloadavg()[0]:.1f})",
                    file=sys.stderr,
                    flush=True,
                )
    heads = [
        (str(stop), solver)
        for stop in stops
        for solver in solvers
        if (str(stop), solver) in {(k[1], k[2]) for k in rows}
    ]
    print(
        f"\n#### {suite}: gap to the best known distance (vehicles used; wall / CPU seconds of the call, "
        "building the model included)\n"
    )
    print("| instance | best known (v) | " + " | ".join(f"{solver} {stop}" for stop, solver in heads) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in heads) + " |")
    for name in names:
        cells = []
        for stop, solver in heads:
            gap, vehicles, wall, cpu = rows[(name, stop, solver)]
            cells.append(f"{_gap(gap)} ({vehicles} v, {wall:.0f}/{cpu:.0f} s)")
        print(f"| {name} | {best[name].distance:.2f} ({best[name].vehicles}) | " + " | ".join(cells) + " |")
    means, vehicles_row = [], []
    for stop, solver in heads:
        gaps = [rows[(n, stop, solver)][0] for n in names]
        ok = [g for g in gaps if g is not None]
        means.append((f"{statistics.mean(ok):+.2f} %" if ok else "—") + f" ({len(ok)}/{len(names)} feasible)")
        vehicles_row.append(str(sum(rows[(n, stop, solver)][1] for n in names)))
    print("| **mean gap** | | " + " | ".join(means) + " |")
    print("| **vehicles, total** | | " + " | ".join(vehicles_row) + " |")


def _gap(gap: float | None) -> str:
    return "infeasible" if gap is None else f"{gap:+.2f} %"


# --- field days ----------------------------------------------------------------------------------


def monaco_problem(seed: int, straight: bool) -> tuple[Problem, str]:
    travel, name, _tmp = monaco_day.make_travel(straight)
    problem = monaco_day.scenario(random.Random(seed), monaco_day.load_sites(), travel)
    return problem, f"Monaco day (300 visits, 30 workers, breaks), {name}"


def field_plan(problem: Problem, stop: Stop, seed: int, solver: str) -> tuple[Problem, Plan, float | None]:
    progress: list[Progress] = []
    if solver == "plain PyVRP":
        problem = monaco_day.without_pyvrp_gaps(problem)
        plan = solve(problem, stop=stop.rule(), seed=seed, engine="pyvrp", on_progress=progress.append)
    elif solver == "VROOM":
        import vroom_reference  # pyvroom: bench/requirements.txt

        plan = vroom_reference.field_plan(problem, stop.seconds, PROCESSES[0])
    else:
        engine = "ortools" if solver == "outfield OR-Tools" else "auto"
        processes = PROCESSES[0] if solver == "outfield" else 1
        plan = solve(
            problem, stop=stop.rule(), seed=seed, engine=engine, on_progress=progress.append, processes=processes
        )  # type: ignore[arg-type]
    return problem, plan, progress[0].elapsed_s if progress else None


def run_field_day(
    label: str, problem: Problem, stops: Sequence[Stop], solvers: Sequence[str], seeds: Sequence[int]
) -> None:
    """One row per budget, solver seed and solver; with several seeds, each solver's mean travel per budget and how
    far its mean at each shorter budget is over its mean at the longest (the issue's "10 s within 3 % of 60 s")."""
    print(f"\n#### {label}\n")
    print(
        "| budget | seed | solver | engine | first feasible | planned | unplanned | workers used | travel | wall / CPU "
        "| load | checker violations |"
    )
    print("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    travel: dict[tuple[str, str], list[float]] = {}
    for stop in stops:
        for seed in seeds:
            for solver in solvers:
                if stop.iterations is not None and solver in NO_ITERATION_STOP:
                    continue
                started, cpu = time.perf_counter(), cpu_s()
                day, plan, first = field_plan(problem, stop, seed, solver)
                wall, cpu = time.perf_counter() - started, cpu_s() - cpu
                used = sum(1 for r in plan.routes if r.stops)
                travel.setdefault((str(stop), solver), []).append(plan.travel_s / 3600)
                first_text = f"{first:.1f} s" if first is not None else "n/a"
                shown = "PyVRP, day without breaks" if solver == "plain PyVRP" else solver
                print(
                    f"| {stop} | {seed} | {shown} | {plan.engine} | {first_text} | {plan.planned_count} | "
                    f"{len(plan.unplanned)} | {used} | {plan.travel_s / 3600:.2f} h | {wall:.1f} / {cpu:.1f} s | "
                    f"{os.getloadavg()[0]:.1f} | {len(check(day, plan))} |",
                    flush=True,
                )
    if len(seeds) > 1:
        print(f"\nMeans over seeds {', '.join(map(str, seeds))}:\n")
        print("| budget | " + " | ".join(solvers) + " |")
        print("| --- |" + " ---: |" * len(solvers))
        for stop in stops:
            cells = [travel.get((str(stop), solver)) for solver in solvers]
            print(f"| {stop} | " + " | ".join("" if c is None else f"{statistics.mean(c):.3f} h" for c in cells) + " |")
    timed = [s for s in stops if s.seconds is not None]
    for solver in solvers:
        ref = travel.get((str(timed[-1]), solver)) if len(timed) > 1 else None
        if ref is None:
            continue
        for stop in timed[:-1]:
            got = travel.get((str(stop), solver))
            if got is not None:
                mean = "mean " if len(seeds) > 1 else ""
                print(
                    f"\n{solver} at {stop}: {100 * (statistics.mean(got) / statistics.mean(ref) - 1):+.1f} % travel "
                    f"({mean}{statistics.mean(got):.3f} h) vs {solver} at {timed[-1]} ({statistics.mean(ref):.3f} h)."
                )


# --- main ----------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suites", nargs="+", default=list(BUDGETS), choices=list(BUDGETS))
    parser.add_argument("--solvers", nargs="+", default=list(SOLVERS), choices=list(SOLVERS))
    parser.add_argument(
        "--seconds", type=float, nargs="*", help="budgets for every suite (default: per suite; none: iterations only)"
    )
    parser.add_argument("--iterations", type=int, nargs="*", default=[], help="also stop PyVRP after N iterations")
    parser.add_argument("--instances", nargs="+", help="Solomon / G&H instance names (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--solver-seeds",
        type=int,
        nargs="+",
        help="field days: the solvers' seeds, each run at every budget (default: --seed; Outfield on n processes "
        "also uses the n - 1 seeds after each, so space them by n)",
    )
    parser.add_argument("--straight-line", action="store_true", help="Monaco day on straight lines (no OSRM)")
    parser.add_argument("--quick", action="store_true", help="C101 and R101 at 1 s, r1_4_2 and both field days at 10 s")
    parser.add_argument(
        "--processes",
        type=int,
        default=default_plan_processes(),
        help="processes Outfield searches on (default: the planner's, OUTFIELD_PLAN_PROCESSES)",
    )
    args = parser.parse_args(argv)
    PROCESSES[0] = args.processes

    started = time.perf_counter()
    print(
        f"bench/routing.py, seed {args.seed}, {os.cpu_count()} CPUs, Outfield on {args.processes} process(es), load "
        f"average {os.getloadavg()[0]:.2f} at start (other work may be running: wall-clock budgets are then contended; "
        "CPU seconds include Outfield's helper processes)."
    )
    for suite in args.suites:
        budgets = BUDGETS[suite] if args.seconds is None else args.seconds
        if args.quick:
            budgets = QUICK["solomon_budgets"] if suite == "solomon" else QUICK["budgets"]
        stops = [Stop(seconds=s) for s in budgets] + [Stop(iterations=n) for n in args.iterations]
        print(f"\nload average {os.getloadavg()[0]:.2f} at the start of {suite}", flush=True)
        if suite in ("solomon", "gh"):
            names = sorted(read_best_known(DATA / suite / "bks.csv"), key=_size_then_name(suite))
            if args.instances:
                names = [n for n in names if n in args.instances]
            elif args.quick:
                names = list(QUICK[suite])
            run_benchmarks(suite, names, stops, args.solvers, args.seed)
        elif suite == "monaco":
            problem, label = monaco_problem(args.seed, args.straight_line)
            run_field_day(label, problem, stops, args.solvers, args.solver_seeds or [args.seed])
        else:
            problem, label = city_problem(args.seed)
            run_field_day(label, problem, stops, args.solvers, args.solver_seeds or [args.seed])
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end; total {time.perf_counter() - started:.0f} s.")
    return 0


def _size_then_name(suite: str) -> Callable[[str], tuple[int, str]]:
    def key(name: str) -> tuple[int, str]:
        return (int(name.split("_")[1]) if suite == "gh" else 0, name)

    return key


if __name__ == "__main__":
    sys.exit(main())
