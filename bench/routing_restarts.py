"""Where a 10 s field-day plan could still gain (issue #15), measured and not kept in `routing`: OR-Tools' tail and
PyVRP searches that meet, cull or restart.

Both tables are stopped by iteration counts for PyVRP (so they repeat on any machine); OR-Tools' tail is timed, as in
a plan. The day is the Monaco field day of bench/monaco_day.py (300 visits, 30 workers, breaks; OSRM road times) on the
break clock's relaxation, with the search settings of a 10 s plan (`relaxation_settings`); travel in hours.

* `tail`: PyVRP for `--iterations` (PyVRP's share of a 10 s plan is about 6,500 on this machine), the breaks put in
  (`warm_routes`), then OR-Tools' tail of `--seconds` with its parameters as `routing.solve` sets them and with each
  variant below. A variant that prints the same plans as "as in routing" does not change OR-Tools' search within
  the tail; `--log` prints OR-Tools' own search log of the default tail (which operator found each solution).
* `searches`: two searches of `--iterations` each, seeds s and s + 1 (what the two processes of
  `routing.portfolio` run), the better kept ("independent"), against the same iterations spent otherwise:
  "meet at half" (both stop at half, both go on from the better of the two with new seeds), "restart" (each search
  restarts from its own best after a third), "cull" (each search tries two seeds for 1,000 iterations each and goes
  on from the better). The relaxation only, before the breaks are put in and OR-Tools' tail.

    .venv/bin/python bench/routing_restarts.py tail --days 0 1 --seeds 0 1 2 3 4 5 6 7
    .venv/bin/python bench/routing_restarts.py searches --days 0 1 --seeds 0 2 4 6
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import monaco_day  # noqa: E402
from ortools.constraint_solver import routing_enums_pb2  # noqa: E402
from ortools.util import optional_boolean_pb2  # noqa: E402

import routing.solve as solve_module  # noqa: E402
from routing.plan import Plan, UnplannedReason, unservable_reasons  # noqa: E402
from routing.problem import Problem, StopRule  # noqa: E402
from routing.pyvrp_engine import solve_pyvrp  # noqa: E402


def _ils(ruin: str) -> Callable[[Any], None]:
    def apply(params: Any) -> None:
        params.use_iterated_local_search = True
        strategies = params.iterated_local_search_parameters.ruin_recreate_parameters.ruin_strategies
        if strategies:
            return  # applied when the model was closed
        strategy = strategies.add()
        if ruin == "sisr":
            strategy.sisr.max_removed_sequence_size = 10
            strategy.sisr.avg_num_removed_visits = 10
            strategy.sisr.bypass_factor = 0.01
        elif ruin == "random walk":
            strategy.random_walk.num_removed_visits = 10
        else:
            strategy.spatially_close_routes.num_ruined_routes = 2

    return apply


def _set(**fields: float) -> Callable[[Any], None]:
    def apply(params: Any) -> None:
        for name, value in fields.items():
            setattr(params, name, value)

    return apply


def _descent(params: Any) -> None:
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT


def _without_insertion_lns(params: Any) -> None:
    operators = params.local_search_operators
    for name in (
        "use_global_cheapest_insertion_path_lns",
        "use_local_cheapest_insertion_path_lns",
        "use_relocate_path_global_cheapest_insertion_insert_unperformed",
        "use_global_cheapest_insertion_visit_types_lns",
        "use_local_cheapest_insertion_visit_types_lns",
    ):
        setattr(operators, name, optional_boolean_pb2.BOOL_FALSE)


TAIL_VARIANTS: dict[str, Callable[[Any], None] | None] = {
    "as in routing (GLS, lambda 0.1)": None,
    "as in routing, again (the timed tail's own spread)": None,
    "GLS lambda 0.03": _set(guided_local_search_lambda_coefficient=0.03),
    "GLS lambda 0.3": _set(guided_local_search_lambda_coefficient=0.3),
    "ILS, SISR ruin": _ils("sisr"),
    "ILS, random-walk ruin": _ils("random walk"),
    "ILS, close-routes ruin": _ils("close routes"),
    "15 % of the nodes as neighbours": _set(ls_operator_neighbors_ratio=0.15, ls_operator_min_neighbors=10),
    "without the cheapest-insertion LNS operators": _without_insertion_lns,
    "greedy descent only (ends at the first local optimum)": _descent,
}


class Day:
    """A Monaco day, its break-clock relaxation and the search settings of a 10 s plan."""

    def __init__(self, number: int) -> None:
        travel, _label, _tmp = monaco_day.make_travel(False)
        self.problem: Problem = monaco_day.scenario(random.Random(number), monaco_day.load_sites(), travel)
        self.leave_out: dict[str, UnplannedReason] = unservable_reasons(self.problem, self.problem.visits)
        self.relaxed = solve_module.relax_for_pyvrp(self.problem)
        self.relaxed_out = dict(self.leave_out)
        self.relaxed_out.update(
            unservable_reasons(self.relaxed, (v for v in self.relaxed.visits if v.id not in self.leave_out))
        )
        self.settings = solve_module.relaxation_settings(self.problem, StopRule(max_seconds=10.0))

    def search(self, seed: int, iterations: int, initial: Plan | None = None) -> Plan:
        plan = solve_pyvrp(
            self.relaxed,
            stop=StopRule(max_solutions=iterations),
            seed=seed,
            leave_out=self.relaxed_out,
            initial=initial,
            settings=self.settings,
        )
        assert plan is not None, "PyVRP found no plan of the relaxation"
        return plan

    def tail(self, relaxed_plan: Plan, seconds: float, variant: Callable[[Any], None] | None, log: bool) -> Plan:
        """The breaks put in, then OR-Tools for `seconds` with `variant` applied to its search parameters."""
        start = solve_module.routes_plan(
            self.problem, solve_module.warm_routes(self.problem, self.problem.visits, relaxed_plan), self.leave_out
        )
        # Operators and neighbours are fixed when the model is closed (with the parameters `_solve_ortools` makes);
        # the metaheuristic is read by each search, and `_solve_ortools` sets it after making them: so the variant
        # goes into both.
        defaults, search = solve_module.pywrapcp.DefaultRoutingSearchParameters, solve_module._search

        def made() -> Any:
            params = defaults()
            if variant is not None:
                variant(params)
            return params

        def varied(routing: Any, initial: Any, params: Any) -> Any:
            if params.solution_limit > 1:  # the tail's search, not the warm start's completion
                if variant is not None:
                    variant(params)
                params.log_search = log
            return search(routing, initial, params)

        solve_module.pywrapcp.DefaultRoutingSearchParameters, solve_module._search = made, varied
        try:
            plan = solve_module._solve_ortools(
                self.problem,
                stop=StopRule(max_seconds=seconds),
                leave_out=self.leave_out,
                initial=start,
                on_progress=None,
                should_stop=None,
                fallback=start,
            )
        finally:
            solve_module.pywrapcp.DefaultRoutingSearchParameters, solve_module._search = defaults, search
        return plan if plan.objective < start.objective else start


def hours(plan: Plan) -> float:
    return plan.travel_s / 3600


def tail_table(days: Sequence[int], seeds: Sequence[int], iterations: int, seconds: float, log: bool) -> None:
    print(f"OR-Tools' tail of {seconds:g} s after {iterations} PyVRP iterations; travel after the tail (h)\n")
    print("| variant | " + " | ".join(f"day {d}" for d in days) + " | plans as in routing | tail's wall s |")
    print("| --- | " + " | ".join("---:" for _ in days) + " | ---: | ---: |")
    rows: dict[str, list[Plan]] = {name: [] for name in TAIL_VARIANTS}
    took: dict[str, list[float]] = {name: [] for name in TAIL_VARIANTS}
    for day_number in days:
        day = Day(day_number)
        starts = [day.search(seed, iterations) for seed in seeds]
        for name, variant in TAIL_VARIANTS.items():
            logging = log and name.startswith("as in routing (") and day_number == days[0]
            for start in starts:
                began = time.perf_counter()
                rows[name].append(day.tail(start, seconds, variant, logging))
                took[name].append(time.perf_counter() - began)
    base = rows["as in routing (GLS, lambda 0.1)"]
    for name, plans in rows.items():
        same = sum(_routes(plan) == _routes(ref) for plan, ref in zip(plans, base, strict=True))
        per_day = [plans[k * len(seeds) : (k + 1) * len(seeds)] for k in range(len(days))]
        means = " | ".join(f"{statistics.mean(hours(plan) for plan in got):.3f}" for got in per_day)
        print(f"| {name} | {means} | {same} of {len(plans)} | {statistics.mean(took[name]):.2f} |")


def _routes(plan: Plan) -> list[tuple[str, tuple[str, ...]]]:
    return [(route.worker_id, route.visit_ids) for route in plan.routes]


def searches_table(days: Sequence[int], seeds: Sequence[int], iterations: int) -> None:
    print(f"Two searches of {iterations} PyVRP iterations each, the better kept; travel on the relaxation (h)\n")
    print("| day | seeds | independent | meet at half | restart after a third | cull two seeds of 1,000 |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    half, third, trial = iterations // 2, iterations // 3, 1_000
    totals: dict[str, list[float]] = {"independent": [], "meet": [], "restart": [], "cull": []}
    for day_number in days:
        day = Day(day_number)
        for seed in seeds:
            pair = (seed, seed + 1)
            independent = min(hours(day.search(s, iterations)) for s in pair)
            met = min((day.search(s, half) for s in pair), key=lambda p: p.objective)
            meet = min(hours(day.search(s + 1000, iterations - half, met)) for s in pair)
            restart = min(hours(day.search(s + 1000, iterations - third, day.search(s, third))) for s in pair)
            culled = []
            for s in pair:
                tried = min((day.search(s + 100 * k, trial) for k in range(2)), key=lambda p: p.objective)
                culled.append(hours(day.search(s + 1000, iterations - 2 * trial, tried)))
            row = {"independent": independent, "meet": meet, "restart": restart, "cull": min(culled)}
            for name, value in row.items():
                totals[name].append(value)
            print(f"| {day_number} | {seed}, {seed + 1} | " + " | ".join(f"{v:.3f}" for v in row.values()) + " |")
    print("| **mean** | | " + " | ".join(f"**{statistics.mean(v):.3f}**" for v in totals.values()) + " |")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("table", choices=("tail", "searches"))
    parser.add_argument("--days", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--iterations", type=int, default=6_500)
    parser.add_argument("--seconds", type=float, default=3.0, help="OR-Tools' tail (tail table)")
    parser.add_argument("--log", action="store_true", help="OR-Tools' search log of the default tail, first day")
    args = parser.parse_args(argv)
    if args.table == "tail":
        tail_table(args.days, args.seeds, args.iterations, args.seconds, args.log)
    else:
        searches_table(args.days, args.seeds, args.iterations)


if __name__ == "__main__":
    main()
