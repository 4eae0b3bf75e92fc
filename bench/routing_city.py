"""Where a 10-second plan of the city day goes, and what PyVRP's late-acceptance history does to it (issue #15).

Three tables, counted in PyVRP iterations and CPU seconds (`time.process_time`), so a loaded machine
changes how long they take but hardly the figures:
* steps: the parts of `routing.solve` on the city day (bench/city_day.py: 1,000 visits, 100 workers,
  breaks) and their CPU seconds: the day, PyVRP's model (profiles, vehicle types), its first local
  search, iterations per CPU second, the breaks put in (`warm_routes`) and what they cost in travel;
* curve: PyVRP's best cost on the break relaxation after N iterations and after C CPU seconds, for each
  search (`--searches`, see `SEARCHES`: PyVRP's, the seventh session's history of 20, without the
  exhaustive search of each new best, `LARGE_DAY_SEARCH` (`large`: PyVRP started from cheapest insertion,
  `routing.construct`; `large-random`: from PyVRP's random solution, as before); `--histories` adds plain PyVRP's search
  with other history lengths), per seed, with the CPU seconds of each run;
* timed: `routing.solve` (engine "auto") with CPU-capped budgets (a "10 s" run gets 10 CPU seconds
  of this process: the budget's clock is `time.process_time`, OR-Tools is stopped by `should_stop`),
  the seventh session's large-day search (`before`: history 20, a routing profile per skill set, an
  exhaustive search of each new best) against `routing.solve.relaxation_settings` (`after`:
  `LARGE_DAY_SEARCH`), city days and the Monaco day (OSRM roads); with the plan handed to OR-Tools
  (PyVRP's repaired plan) beside the final one, so the OR-Tools tail's share shows, PyVRP's best on the relaxation
  ("relaxed": what the repair cost) and its iteration count; `--set NAME=EXPR` replaces a constant of
  `routing.solve` for the run (`LARGE` = `LARGE_DAY_SEARCH`, `replace` = `dataclasses.replace`);
* work: what each PyVRP iteration costs on the city day's relaxation, counted rather than timed (the counts are the
  same on a loaded machine): moves the local search evaluated, improving moves and route updates per iteration,
  and the routes of the solution it returned (the start's exhaustive search on a row of its own), by windows of `--work-window` iterations, for each search and seed,
  with the relaxation after `--work-iterations` (all deterministic for a seed) and the CPU seconds beside;
* locations: PyVRP on a day's relaxation for N iterations with the search `relaxation_settings` gives it, one
  PyVRP location per visit against visits sharing one per site (`routing.pyvrp_engine.SHARED_LOCATIONS`), run
  alternately `--repeats` times: locations, CPU seconds of the search and the plan (the same at equal iterations).

    .venv/bin/python bench/routing_city.py --tables steps curve --seeds 0 1        # ~5 CPU min
    .venv/bin/python bench/routing_city.py --tables timed --days city:0 city:1 monaco:0 --budgets 10 120
    .venv/bin/python bench/routing_city.py --tables timed --days city:2 --budgets 10 --codes after --set WINDOW_CUT_SHARE=0.5
    .venv/bin/python bench/routing_city.py --tables work --seeds 0 3 --searches large-random large
    .venv/bin/python bench/routing_city.py --tables locations --days city:0 monaco:0 --location-iterations 1500
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import monaco_day  # noqa: E402
import pyvrp.search  # noqa: E402
from city_day import city_problem  # noqa: E402
from routing_two_cores import search_in_halves, search_portfolio  # noqa: E402

import routing.pyvrp_engine as pyvrp_engine  # noqa: E402
import routing.solve as solve_module  # noqa: E402
from routing.check import check  # noqa: E402
from routing.plan import Plan, Progress, unservable_reason  # noqa: E402
from routing.problem import DAY_S, Problem, StopRule  # noqa: E402
from routing.pyvrp_engine import SearchSettings  # noqa: E402
from routing.solve import LARGE_DAY_SEARCH, relax_for_pyvrp, routes_plan, solve, warm_routes  # noqa: E402

MARKS = [250, 500, 1000, 2000, 4000, 8000, 16000]


def cpu() -> float:
    return time.process_time()


def steps_table(problem: Problem, day_cpu: float, seed: int, iterations: int, search: str) -> None:
    settings = SEARCHES[search]
    print(f"\n#### Steps of a plan of the city day (seed {seed}, {search}: {settings}; CPU seconds)\n")
    print("| step | CPU s | result |")
    print("| --- | ---: | --- |")
    print(f"| the day: {len(problem.visits)} visits, {len(problem.workers)} workers, travel matrix | {day_cpu:.2f} | |")
    relaxed = relax_for_pyvrp(problem)
    out = {v.id: r for v in relaxed.visits if (r := unservable_reason(relaxed, v)) is not None}
    started = cpu()
    model = pyvrp_engine._build(relaxed, out, skills_as_loads=settings.skills_as_loads)
    data = model.data
    print(
        f"| PyVRP's model | {cpu() - started:.2f} | {data.num_profiles} profiles (skill sets), "
        f"{data.num_vehicle_types} vehicle types, {data.num_clients} clients |"
    )
    log: list[tuple[int, float, int]] = []
    first: list[float] = []
    started = cpu()
    plan = pyvrp_engine.solve_pyvrp(
        relaxed,
        stop=StopRule(max_solutions=iterations),
        seed=seed,
        leave_out=out,
        on_progress=lambda p: log.append((p.solutions, cpu() - started, p.objective)),
        on_start=lambda p: first.append(cpu() - started),
        settings=settings,
    )
    total = cpu() - started
    assert plan is not None and first
    print(
        f"| PyVRP: model, random start, first local search (exhaustive) | {first[0]:.2f} | {log[0][2] / 3600:.2f} h |"
    )
    print(
        f"| PyVRP: {iterations:,} iterations | {total - first[0]:.2f} ({iterations / (total - first[0]):.0f} it/s) | "
        f"{plan.travel_s / 3600:.2f} h travel on the relaxation, {len(plan.routes)} routes |"
    )
    started = cpu()
    repaired = routes_plan(problem, warm_routes(problem, problem.visits, plan), {})
    broken = sum(
        1 for r in plan.routes if (after := repaired.route_of(r.worker_id)) is None or after.visit_ids != r.visit_ids
    )
    print(
        f"| breaks put in (`warm_routes`) | {cpu() - started:.2f} | {repaired.travel_s / 3600:.2f} h, every rule "
        f"({broken} of {len(plan.routes)} routes changed, {len(repaired.unplanned)} unplanned) |"
    )


SEVENTH_SESSION = SearchSettings(history_length=20)
"""`main`'s search of a large day's relaxation before `LARGE_DAY_SEARCH` (bench/README.md, seventh session)."""
SEARCHES = {
    "plain": SearchSettings(),
    "seventh": SEVENTH_SESSION,
    "no-exhaustive": dataclasses.replace(SEVENTH_SESSION, exhaustive_on_best=False),
    "large": LARGE_DAY_SEARCH,
    "large-random": dataclasses.replace(LARGE_DAY_SEARCH, insertion_start=False),
    "large-50": dataclasses.replace(LARGE_DAY_SEARCH, history_length=50),
}
"""The searches the curve and steps tables compare, by name (`--searches`)."""
CPU_MARKS = [2.0, 4.0, 8.0]


def curve_table(seeds: Sequence[int], searches: Sequence[str]) -> None:
    print("\n#### PyVRP's best cost on the city day's relaxation by iteration count and CPU seconds (hours)\n")
    print(
        "| seed | search | "
        + " | ".join(f"{m:,} it" for m in MARKS)
        + " | "
        + " | ".join(f"{c:g} CPU s" for c in CPU_MARKS)
        + " | CPU s | it / CPU s | load |"
    )
    print("| ---: | --- | " + " | ".join("---:" for _ in [*MARKS, *CPU_MARKS]) + " | ---: | ---: | ---: |")
    for seed in seeds:
        problem, _ = city_problem(seed)
        relaxed = relax_for_pyvrp(problem)
        out = {v.id: r for v in relaxed.visits if (r := unservable_reason(relaxed, v)) is not None}
        for search in searches:
            log: list[tuple[Progress, float]] = []
            first: list[float] = []
            started = cpu()
            pyvrp_engine.solve_pyvrp(
                relaxed,
                stop=StopRule(max_solutions=MARKS[-1]),
                seed=seed,
                leave_out=out,
                on_progress=lambda p, log=log, started=started: log.append((p, cpu() - started)),
                on_start=lambda _p, first=first, started=started: first.append(cpu() - started),
                settings=SEARCHES[search],
            )
            spent = cpu() - started

            def best(within: Callable[[Progress, float], bool], log: list[tuple[Progress, float]] = log) -> str:
                found = [p.objective for p, t in log if within(p, t)]
                return f"{min(found) / 3600:.2f} h" if found else "n/a"

            cells = [best(lambda p, _t, m=m: p.solutions <= m) for m in MARKS]
            cells += [best(lambda _p, t, c=c: t <= c) if c <= spent else "" for c in CPU_MARKS]
            rate = MARKS[-1] / (spent - (first[0] if first else 0.0))
            print(
                f"| {seed} | {search} | " + " | ".join(cells) + f" | {spent:.1f} | {rate:.0f} | "
                f"{os.getloadavg()[0]:.1f} |",
                flush=True,
            )


def work_table(seeds: Sequence[int], searches: Sequence[str], iterations: int, window: int) -> None:
    print(f"\n#### PyVRP's work per iteration on the city day's relaxation, by windows of {window:,} iterations\n")
    print(
        "| seed | search | iterations | moves evaluated / it | improving / it | route updates / it | routes "
        "| CPU ms / it | relaxation after all (h) |"
    )
    print("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    searched = pyvrp.search.LocalSearch.__call__
    for seed in seeds:
        problem, _ = city_problem(seed)
        relaxed = relax_for_pyvrp(problem)
        out = {v.id: r for v in relaxed.visits if (r := unservable_reason(relaxed, v)) is not None}
        for search in searches:
            calls: list[tuple[int, int, int, int, float]] = []

            def counted(ls: Any, *args: Any, calls: list[tuple[int, int, int, int, float]] = calls, **kw: Any) -> Any:
                started = cpu()
                found = searched(ls, *args, **kw)
                done = ls.statistics
                calls.append(
                    (done.num_moves, done.num_improving, done.num_updates, found.num_routes(), cpu() - started)
                )
                return found

            pyvrp.search.LocalSearch.__call__ = counted  # type: ignore[method-assign]
            try:
                plan = pyvrp_engine.solve_pyvrp(
                    relaxed,
                    stop=StopRule(max_solutions=iterations),
                    seed=seed,
                    leave_out=out,
                    settings=SEARCHES[search],
                )
            finally:
                pyvrp.search.LocalSearch.__call__ = searched  # type: ignore[method-assign]
            travel = f"{plan.travel_s / 3600:.3f}" if plan is not None else "none"
            # The first call is the exhaustive search of the start; then one call an iteration.
            rows = [
                (f"{i:,}-{i + len(calls[1 + i : 1 + i + window]):,}", calls[1 + i : 1 + i + window])
                for i in range(0, len(calls) - 1, window)
            ]
            for label, part in [("start", calls[:1]), *rows, ("all", calls[1:])]:
                n = len(part)
                print(
                    f"| {seed} | {search} | {label} | {sum(c[0] for c in part) / n:,.0f} | "
                    f"{sum(c[1] for c in part) / n:.1f} | {sum(c[2] for c in part) / n:.1f} | "
                    f"{sum(c[3] for c in part) / n:.1f} | {1000 * sum(c[4] for c in part) / n:.2f} | "
                    f"{travel if label == 'all' else ''} |",
                    flush=True,
                )


@contextmanager
def cpu_budget(seconds: float) -> Iterator[Callable[[], bool]]:
    """Make `routing.solve`'s budgets count CPU seconds of this process; yields the `should_stop` that ends OR-Tools.

    PyVRP's stop rule and the hybrid's shares read the patched clock; OR-Tools' own time limit is
    wall-clock, so it is lifted to a day and `should_stop` ends it once `seconds` CPU seconds are used.
    """
    saved = (solve_module.perf_counter, pyvrp_engine.time, solve_module._search)
    started = cpu()

    def search(routing: Any, start: Any, params: Any) -> Any:
        params.time_limit.FromSeconds(DAY_S)
        return saved[2](routing, start, params)

    solve_module.perf_counter = cpu  # type: ignore[assignment]
    pyvrp_engine.time = SimpleNamespace(perf_counter=cpu)  # type: ignore[assignment]
    solve_module._search = search
    try:
        yield lambda: cpu() - started >= seconds
    finally:
        solve_module.perf_counter, pyvrp_engine.time, solve_module._search = saved  # type: ignore[assignment]


def timed_table(days: Sequence[str], budgets: Sequence[float], codes: Sequence[str], label: str = "") -> None:
    print('\n#### `routing.solve` with CPU-capped budgets (a "10 s" run: 10 CPU seconds of this process)\n')
    print(
        "| day | budget | search | engine | relaxed | handed over (objective) | travel | planned | workers used "
        "| first feasible (CPU s) | iterations | CPU s | load | checker violations |"
    )
    print("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    chosen = solve_module.relaxation_settings
    searched = solve_module.solve_pyvrp
    relaxed: list[Plan | None] = []

    def seed_search(*args: Any, **kwargs: Any) -> Plan | None:
        relaxed.append(searched(*args, **kwargs))
        return relaxed[-1]

    solve_module.solve_pyvrp = seed_search
    for spec in days:
        name, seed_text = spec.split(":")
        seed = int(seed_text)
        if name == "city":
            problem, _ = city_problem(seed)
        else:
            travel, _name, _tmp = monaco_day.make_travel(False)
            problem = monaco_day.scenario(random.Random(seed), monaco_day.load_sites(), travel)
        for budget in budgets:
            for code in codes:
                before = code == "before" and solve_module.field_history_length(problem) is not None
                solve_module.relaxation_settings = (lambda _p, _s: SEVENTH_SESSION) if before else chosen  # type: ignore[assignment]
                progress: list[Progress] = []
                relaxed.clear()
                calls = [0]
                started = cpu()
                with cpu_budget(budget) as over:

                    def counted(over: Callable[[], bool] = over, calls: list[int] = calls) -> bool:
                        calls[0] += 1  # PyVRP's stop rule asks once an iteration (and OR-Tools' search, if any)
                        return over()

                    plan = solve(
                        problem,
                        stop=StopRule(max_seconds=budget),
                        seed=seed,
                        on_progress=progress.append,
                        should_stop=counted,
                    )
                spent = cpu() - started
                solve_module.relaxation_settings = chosen
                first = f"{progress[0].elapsed_s:.1f}" if progress else "n/a"
                repaired = [p.objective for p in progress if p.engine == "pyvrp+repair"]
                handed = f"{min(repaired) / 3600:.2f} h" if repaired else "n/a"
                used = sum(1 for r in plan.routes if r.stops)
                seed_plan = relaxed[0] if relaxed else None
                relaxation = f"{seed_plan.objective / 3600:.2f} h" if seed_plan is not None else "n/a"
                print(
                    f"| {name} {seed} | {budget:g} s | {code}{label} | {plan.engine} | {relaxation} | {handed} "
                    f"({plan.objective / 3600:.2f} h) | {plan.travel_s / 3600:.2f} h | {plan.planned_count} | {used} | "
                    f"{first} | {calls[0]:,} | {spent:.1f} | {os.getloadavg()[0]:.1f} | {len(check(problem, plan))} |",
                    flush=True,
                )
    solve_module.solve_pyvrp = searched


def seed_phase(
    how: str, relaxed: Problem, out: dict[str, Any], seed: int, history: int | None, stop: StopRule
) -> Plan | None:
    """The relaxation's search `how`: "one" (one process, `main`), "portfolio" (two seeds on two processes, the
    cheaper kept) or "halves" (bench/routing_two_cores.py); timed budgets count each process's CPU."""
    if how == "portfolio":
        return search_portfolio(
            relaxed, stop=stop, seed=seed, leave_out=out, history_length=history, clock=time.process_time
        )
    if how == "halves":
        return search_in_halves(
            relaxed, stop=stop, seed=seed, leave_out=out, history_length=history, clock=time.process_time
        )
    return pyvrp_engine.solve_pyvrp(
        relaxed, stop=stop, seed=seed, leave_out=out, history_length=history, clock=time.process_time
    )


def split_table(seeds: Sequence[int], budgets: Sequence[float], iterations: Sequence[int]) -> None:
    """The seed phase at an equal budget per process: one search; two seeds, best kept; halves then whole."""
    print("\n#### The city day's relaxation at an equal budget per process: one core against two\n")
    print(
        "| seed | budget per process | search | relaxation | with breaks (travel, workers) | CPU s (this process) | load |"
    )
    print("| ---: | ---: | --- | ---: | ---: | ---: | ---: |")
    stops = [StopRule(max_seconds=b) for b in budgets] + [StopRule(max_solutions=n) for n in iterations]
    for seed in seeds:
        problem, _ = city_problem(seed)
        relaxed = relax_for_pyvrp(problem)
        out = {v.id: r for v in relaxed.visits if (r := unservable_reason(relaxed, v)) is not None}
        history = solve_module.field_history_length(problem)
        for stop in stops:
            budget = f"{stop.max_seconds:g} CPU s" if stop.max_seconds is not None else f"{stop.max_solutions:,} it"
            found: list[float] = []
            for label, how, run_seed in (
                ("one search (`main`)", "one", seed),
                ("one search, other seed", "one", seed + 1),
                ("halves, then whole", "halves", seed),
                ("two seeds on two processes", "portfolio", seed),
            ):
                started = cpu()
                plan = seed_phase(how, relaxed, out, run_seed, history, stop)
                spent = cpu() - started
                assert plan is not None
                repaired = routes_plan(problem, warm_routes(problem, problem.visits, plan), {})
                used = sum(1 for r in repaired.routes if r.stops)
                found.append(repaired.travel_s)
                print(
                    f"| {seed} | {budget} | {label} | {plan.objective / 3600:.2f} h | "
                    f"{repaired.travel_s / 3600:.2f} h ({used}) | {spent:.1f} | {os.getloadavg()[0]:.1f} |",
                    flush=True,
                )
            print(f"| {seed} | {budget} | two seeds, best kept | | {min(found[:2]) / 3600:.2f} h | | |", flush=True)


def day_problem(spec: str) -> Problem:
    """The day of a `name:seed` spec: the city day (bench/city_day.py) or the Monaco day (OSRM roads)."""
    name, seed_text = spec.split(":")
    if name == "city":
        return city_problem(int(seed_text))[0]
    travel, _name, _tmp = monaco_day.make_travel(False)
    return monaco_day.scenario(random.Random(int(seed_text)), monaco_day.load_sites(), travel)


def locations_table(days: Sequence[str], iterations: int, repeats: int) -> None:
    print(f"\n#### {iterations:,} PyVRP iterations on the relaxation: one location per visit or per site\n")
    print("| day | locations | profiles | CPU s of the search | travel | load |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    saved = pyvrp_engine.SHARED_LOCATIONS
    try:
        for spec in days:
            problem = day_problem(spec)
            relaxed = relax_for_pyvrp(problem)
            out = {v.id: r for v in relaxed.visits if (r := unservable_reason(relaxed, v)) is not None}
            stop = StopRule(max_solutions=iterations)
            settings = solve_module.relaxation_settings(problem, stop)
            for _ in range(repeats):
                for shared in (False, True):
                    pyvrp_engine.SHARED_LOCATIONS = shared
                    data = pyvrp_engine._build(relaxed, out, skills_as_loads=settings.skills_as_loads).data
                    started = cpu()
                    plan = pyvrp_engine.solve_pyvrp(
                        relaxed, stop=stop, seed=int(spec.split(":")[1]), leave_out=out, settings=settings
                    )
                    spent = cpu() - started
                    travel = f"{plan.travel_s / 3600:.3f} h" if plan is not None else "none"
                    print(
                        f"| {spec} | {data.num_locations} | {data.num_profiles} | {spent:.2f} | {travel} | "
                        f"{os.getloadavg()[0]:.1f} |",
                        flush=True,
                    )
    finally:
        pyvrp_engine.SHARED_LOCATIONS = saved


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tables",
        nargs="+",
        default=["steps", "curve"],
        choices=["steps", "curve", "timed", "split", "work", "locations"],
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--searches", nargs="+", default=["seventh", "large"], choices=list(SEARCHES))
    parser.add_argument("--histories", type=int, nargs="*", default=[], help="curve: plain search, these histories")
    parser.add_argument("--cpu-marks", type=float, nargs="+", default=CPU_MARKS, help="curve: CPU seconds")
    parser.add_argument("--marks", type=int, nargs="+", default=MARKS, help="curve: iteration counts")
    parser.add_argument("--split-budgets", type=float, nargs="*", default=[9.0], help="split: CPU s per process")
    parser.add_argument("--split-iterations", type=int, nargs="*", default=[], help="split: iteration counts")
    parser.add_argument("--steps-iterations", type=int, default=2000)
    parser.add_argument("--days", nargs="+", default=["city:0", "city:1", "monaco:0"], help="timed: name:seed")
    parser.add_argument("--budgets", type=float, nargs="+", default=[10.0, 120.0], help="timed: CPU seconds")
    parser.add_argument("--codes", nargs="+", default=["before", "after"], choices=["before", "after"])
    parser.add_argument("--set", nargs="*", default=[], help="timed: NAME=EXPR replaces a constant of routing.solve")
    parser.add_argument("--work-iterations", type=int, default=4000, help="work: PyVRP iterations")
    parser.add_argument("--work-window", type=int, default=500, help="work: iterations a row")
    parser.add_argument("--location-iterations", type=int, default=1500, help="locations: PyVRP iterations")
    parser.add_argument("--repeats", type=int, default=3, help="locations: alternations of the two models")
    args = parser.parse_args(argv)
    for assignment in args.set:
        name, expr = assignment.split("=", 1)
        setattr(
            solve_module,
            name,
            eval(expr, {"SearchSettings": SearchSettings, "LARGE": LARGE_DAY_SEARCH, "replace": dataclasses.replace}),
        )  # noqa: S307
    MARKS[:] = sorted(args.marks)
    CPU_MARKS[:] = sorted(args.cpu_marks)
    print(f"bench/routing_city.py: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} at start.")
    if "steps" in args.tables:
        for seed in args.seeds:
            started = cpu()
            problem, _ = city_problem(seed)
            day_cpu = cpu() - started
            for search in args.searches:
                steps_table(problem, day_cpu, seed, args.steps_iterations, search)
    if "curve" in args.tables:
        for history in args.histories:
            SEARCHES[f"history {history}"] = SearchSettings(history_length=history)
        curve_table(args.seeds, [*args.searches, *(f"history {h}" for h in args.histories)])
    if "split" in args.tables:
        split_table(args.seeds, args.split_budgets, args.split_iterations)
    if "timed" in args.tables:
        timed_table(args.days, args.budgets, args.codes, "".join(f", {a}" for a in args.set))
    if "work" in args.tables:
        work_table(args.seeds, args.searches, args.work_iterations, args.work_window)
    if "locations" in args.tables:
        locations_table(args.days, args.location_iterations, args.repeats)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
