"""Road travel times vs straight-line estimates, on 50 real Belgian towns with a GraphHopper road-time matrix.

data/datasets/scenario/belgium-road-time-n50-k10.vrp carries a full asymmetric road travel-time matrix
(seconds, OpenStreetMap); belgium-tw-n50-k10.vrp has the same places with time windows. This checks
the matrix-file path (`routing.matrix_file`) end to end and measures:
* how far straight-line estimates are from road times, pair by pair: the project's default
  `StraightLine` (haversine x 1.3 / 8 m/s, tuned for city streets) and the best single speed fitted here;
* what that error does to a plan: the time-windowed problem (10 vehicles, capacity 125) planned on
  road times and on fitted straight-line times, both then driven on the road times.
Nothing here asserts on time; it prints Markdown.

    .venv/bin/python bench/belgium.py [--seconds 5] [--seed 0]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dispatch.geo import haversine_m  # noqa: E402
from routing.check import check  # noqa: E402
from routing.matrix_file import VrpFile, read_vrp, to_problem  # noqa: E402
from routing.plan import Plan  # noqa: E402
from routing.problem import Problem, StopRule  # noqa: E402
from routing.solve import solve  # noqa: E402
from routing.travel import StraightLine  # noqa: E402

DATA = REPO / "data" / "datasets" / "scenario"


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def error_row(name: str, road: list[float], estimate: list[float]) -> str:
    ratios = [e / r for e, r in zip(estimate, road, strict=True)]
    abs_pct = [abs(x - 1) * 100 for x in ratios]
    return (
        f"| {name} | {statistics.median(ratios):.2f} | {percentile(ratios, 0.1):.2f} – {percentile(ratios, 0.9):.2f} | "
        f"{statistics.mean(abs_pct):.1f} % | {max(abs_pct):.0f} % |"
    )


def drive(problem_on_roads: Problem, plan: Plan) -> tuple[int, int, float, int]:
    """Drive `plan`'s routes on road times, leaving when planned: (late visits, lateness s, travel h, routes back late)."""
    late = lateness = overruns = 0
    travel = 0
    for route in plan.routes:
        worker = problem_on_roads.worker(route.worker_id)
        t, here = route.start_s, worker.start_location
        for stop in route.stops:
            visit = problem_on_roads.visit(stop.visit_id)
            leg = problem_on_roads.duration_s[here][visit.location] or 0
            travel += leg
            window = visit.windows[0]
            start = max(t + leg, window.start_s)
            if start > window.end_s:
                late += 1
                lateness += start - window.end_s
            t, here = start + visit.service_s, visit.location
        back = problem_on_roads.duration_s[here][worker.end_location] or 0
        travel += back
        overruns += t + back > worker.shift_end_s
    return late, lateness, travel / 3600, overruns


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    road: VrpFile = read_vrp(DATA / "belgium-road-time-n50-k10.vrp")
    timed = read_vrp(DATA / "belgium-tw-n50-k10.vrp")
    assert road.matrix is not None
    n = road.size
    pairs = [(i, j) for i in range(n) for j in range(n) if i != j]
    seconds = [road.matrix[i][j] for i, j in pairs]
    crow_m = [haversine_m(road.points[i], road.points[j]) for i, j in pairs]
    default = StraightLine()
    fitted_mps = statistics.median(c / s for c, s in zip(crow_m, seconds, strict=True))
    asym = [abs(road.matrix[i][j] - road.matrix[j][i]) / road.matrix[i][j] * 100 for i, j in pairs]
    print(
        f"{road.name}: {n} towns, {len(pairs)} ordered pairs, road times {min(seconds) / 60:.0f}–{max(seconds) / 60:.0f} min, "
        f"crow-fly {min(crow_m) / 1000:.0f}–{max(crow_m) / 1000:.0f} km; asymmetry |t(a,b) - t(b,a)| / t(a,b): "
        f"median {statistics.median(asym):.1f} %, max {max(asym):.0f} %.\n"
    )
    print("| estimate | estimate / road time, median | 10th – 90th percentile | mean abs error | worst |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(
        error_row(
            f"StraightLine() default: crow-fly x {default.detour_factor} / {default.speed_mps} m/s",
            seconds,
            [default.duration_s(road.points[i], road.points[j]) for i, j in pairs],
        )
    )
    print(
        error_row(
            f"fitted: crow-fly / {fitted_mps:.1f} m/s (median speed of these pairs)",
            seconds,
            [c / fitted_mps for c in crow_m],
        )
    )

    fitted = StraightLine(speed_mps=fitted_mps, detour_factor=1.0)
    on_roads = to_problem(road, vehicles=10, windows_from=timed)
    straight = to_problem(
        road,
        vehicles=10,
        windows_from=timed,
        durations_s=[[fitted.duration_s(a, b) for b in road.points] for a in road.points],
    )
    stop = StopRule(max_seconds=args.seconds)
    plans = {
        "planned on road times": solve(on_roads, stop=stop, seed=args.seed),
        "planned on fitted straight-line times": solve(straight, stop=stop, seed=args.seed),
    }
    print(
        f"\nTime-windowed plan ({len(on_roads.visits)} visits, 10 vehicles, capacity 125, {args.seconds:g} s each), "
        "then driven on road times:\n"
    )
    print(
        "| plan | engine | planned | travel it expected | travel on roads | visits late on roads | lateness | routes back after closing |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, plan in plans.items():
        late, lateness, travel_h, overruns = drive(on_roads, plan)
        print(
            f"| {name} | {plan.engine} | {plan.planned_count} | {plan.travel_s / 3600:.1f} h | {travel_h:.1f} h | "
            f"{late} | {lateness / 60:.0f} min | {overruns} |"
        )
    violations = check(on_roads, plans["planned on road times"])
    print(f"\nThe plan made on road times has {len(violations)} checker violations on road times.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
