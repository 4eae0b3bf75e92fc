"""A realistic Monaco day: 300 visits, 30 workers, skills, windows, breaks, road travel times.

Measures, on one generated day (fixed seed):
* time to the first feasible plan (a plan keeping every constraint, reported through on_progress);
* plan quality after 10 s and 60 s (travel, visits left out, checker violations), with the engine
  "auto" picks (PyVRP seed + OR-Tools) and with OR-Tools alone;
* time to re-plan after one urgent order is added at 11:00 (aim: under 1 s), with what changed;
* both engines on the same day minus what PyVRP cannot express (breaks, second windows).
The sites are the real Monaco POIs (data/datasets/scenario/monaco_pois_osm.csv); travel times come
from the OSRM Monaco network built into a temporary folder (straight lines if OSRM is missing).
Nothing here asserts on time; it prints a Markdown table.

    .venv/bin/python bench/monaco_day.py [--seconds 10 60] [--seed 0] [--straight-line]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dispatch.geo import LatLon  # noqa: E402
from routing.check import check  # noqa: E402
from routing.plan import Plan, Progress  # noqa: E402
from routing.problem import Break, Problem, StopRule, Visit, Window, Worker  # noqa: E402
from routing.roads import DEFAULT_PBF, RoadsBuildFailed, build_roads  # noqa: E402
from routing.solve import replan, replan_problem, solve  # noqa: E402
from routing.travel import NETWORK_NAME, OsrmRoads, StraightLine, TravelTimes  # noqa: E402

POIS = REPO / "data" / "datasets" / "scenario" / "monaco_pois_osm.csv"
SKILLS = ("electric", "plumbing", "gas", "hvac")
H = 3600


def load_sites() -> list[LatLon]:
    with POIS.open(newline="", encoding="utf-8") as f:
        return [LatLon(float(r["lat"]), float(r["lon"])) for r in csv.DictReader(f)]


def scenario(
    rng: random.Random, sites: list[LatLon], travel: TravelTimes, *, visits: int = 300, workers: int = 30
) -> Problem:
    """One working day: visits at POIs (some sites twice), workers from three bases, windows and breaks."""
    bases = rng.sample(range(len(sites)), 3)
    visit_sites = [rng.randrange(len(sites)) for _ in range(visits)]
    used = sorted(set(visit_sites) | set(bases))
    location = {site: k for k, site in enumerate(used)}
    points = [sites[s] for s in used]
    vs = []
    for k, site in enumerate(visit_sites):
        roll = rng.random()
        if roll < 0.40:
            windows: tuple[Window, ...] = ()
        elif roll < 0.80:
            start = rng.randrange(8 * H, 15 * H + 1, 1800)
            windows = (Window(start, start + 2 * H),)
        elif roll < 0.95:
            windows = (Window(8 * H, 12 * H),) if rng.random() < 0.5 else (Window(13 * H, 16 * H + 1800),)
        else:
            windows = (Window(8 * H, 10 * H), Window(14 * H, 16 * H))
        need = rng.random()
        skills = frozenset() if need < 0.3 else frozenset(rng.sample(SKILLS, 2 if need > 0.95 else 1))
        vs.append(
            Visit(
                id=f"o{k + 1:03d}",
                location=location[site],
                service_s=rng.choice((15, 20, 30, 30, 45, 60)) * 60,
                windows=windows,
                skills=skills,
                priority=rng.choice((1, 2, 3, 3, 3, 4, 4, 5)),
                penalty=1800 if rng.random() < 0.1 else None,
            )
        )
    ws = []
    for k in range(workers):
        start = rng.choice((7, 8, 8, 8, 9)) * H
        home = location[bases[k % 3]]
        end = home if rng.random() < 0.8 else location[bases[(k + 1) % 3]]
        # Every tenth worker is a part-timer: available all day, but for at most six hours.
        part_time = k % 10 == 9
        ws.append(
            Worker(
                id=f"w{k + 1:02d}",
                start_location=home,
                end_location=end,
                shift_start_s=start,
                shift_end_s=start + 9 * H,
                breaks=(Break(start + 3 * H + 1800, start + 5 * H + 1800, 1800),),
                max_work_s=6 * H if part_time else 9 * H,
                skills=frozenset(rng.sample(SKILLS, rng.choice((1, 2, 2, 3)))),
            )
        )
    return Problem.from_points(points, visits=vs, workers=ws, travel=travel)


def make_travel(straight: bool) -> tuple[TravelTimes, str, tempfile.TemporaryDirectory[str] | None]:
    if straight:
        return StraightLine(), "straight line (haversine x 1.3 / 8 m/s)", None
    tmp = tempfile.TemporaryDirectory(prefix="osrm-")
    built = build_roads(DEFAULT_PBF, Path(tmp.name))
    if isinstance(built, RoadsBuildFailed):
        print(f"OSRM build failed ({built.reason}); using straight lines", file=sys.stderr)
        return StraightLine(), "straight line (OSRM build failed)", tmp
    return OsrmRoads(Path(tmp.name) / f"{NETWORK_NAME}.osrm"), "OSRM Monaco roads (car, MLD)", tmp


def summary(problem: Problem, plan: Plan) -> str:
    violations = check(problem, plan)
    reasons: dict[str, int] = {}
    for u in plan.unplanned:
        reasons[u.reason.value] = reasons.get(u.reason.value, 0) + 1
    left = ", ".join(f"{n} {r}" for r, n in sorted(reasons.items())) or "none"
    used = sum(1 for r in plan.routes if r.stops)
    return (
        f"{plan.planned_count} | {len(plan.unplanned)} ({left}) | {used} | {plan.travel_s / 3600:.2f} h | "
        f"{plan.distance_m / 1000:.1f} km | {plan.wait_s / 3600:.1f} h | {len(violations)}"
    )


def without_pyvrp_gaps(problem: Problem) -> Problem:
    """The same day without breaks and with one window per visit: what PyVRP can express."""
    return problem.replace(
        workers=tuple(dataclasses.replace(w, breaks=()) for w in problem.workers),
        visits=tuple(dataclasses.replace(v, windows=v.windows[:1]) for v in problem.visits),
    )


def run(problem: Problem, seconds: float, seed: int, engine: str = "auto") -> tuple[Plan, float, float | None]:
    progress: list[Progress] = []
    t = time.perf_counter()
    plan = solve(problem, stop=StopRule(max_seconds=seconds), seed=seed, engine=engine, on_progress=progress.append)  # type: ignore[arg-type]
    return plan, time.perf_counter() - t, (progress[0].elapsed_s if progress else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, nargs="+", default=[10.0, 60.0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--straight-line", action="store_true", help="skip OSRM, use straight-line estimates")
    args = parser.parse_args(argv)

    travel, travel_name, tmp = make_travel(args.straight_line)
    t0 = time.perf_counter()
    problem = scenario(random.Random(args.seed), load_sites(), travel)
    build_s = time.perf_counter() - t0
    print(
        f"Monaco day, seed {args.seed}: {len(problem.visits)} visits, {len(problem.workers)} workers "
        f"(3 part-timers capped at 6 h), {problem.size} locations, 4 skills, 30-min breaks, 60 % of visits with "
        f"windows (5 % with two); travel: {travel_name}, matrix built in {build_s:.2f} s."
    )
    print(f"Machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start (other work was running).\n")

    print(
        "| budget | engine | first feasible plan | planned | unplanned (reasons) | workers used | travel | distance | waiting | checker violations |"
    )
    print("| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    plans: dict[float, Plan] = {}
    for engine in ("auto", "ortools"):
        for seconds in args.seconds:
            plan, wall, first = run(problem, seconds, args.seed, engine)
            if engine == "auto":
                plans[seconds] = plan
            first_text = f"{first:.2f} s" if first is not None else "n/a"
            label = f"{seconds:g} s (wall {wall:.1f} s)"
            print(f"| {label} | {engine} → {plan.engine} | {first_text} | {summary(problem, plan)} |")

    base = plans[min(args.seconds)]
    now = 11 * H
    print(
        f"\nRe-plan at 11:00 from the {min(args.seconds):g} s plan after one urgent order (priority 1, 30 min, "
        "window 11:00–13:00, needs 'gas'); visits started before 11:00 pinned, change penalty 3600:\n"
    )
    pinned = {s.visit_id: r.worker_id for r in base.routes for s in r.stops if s.start_s < now}
    urgent = Visit(
        id="urgent",
        location=problem.visits[0].location,
        service_s=1800,
        windows=(Window(now, now + 2 * H),),
        skills=frozenset({"gas"}),
        priority=1,
    )
    day = problem.with_visit(urgent)
    print(
        "| stop rule | time to re-plan | urgent order | changes (added/moved/retimed/removed) | planned | unplanned | travel | checker violations |"
    )
    print("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: |")
    for rule in (StopRule(max_solutions=1), StopRule(max_seconds=1.0), StopRule(max_seconds=5.0)):
        t = time.perf_counter()
        result = replan(day, base, pinned=pinned, now_s=now, change_penalty=3600, stop=rule, seed=args.seed)
        wall = time.perf_counter() - t
        kinds: dict[str, int] = {}
        for c in result.changes:
            kinds[c.kind.value] = kinds.get(c.kind.value, 0) + 1
        counts = "/".join(str(kinds.get(k, 0)) for k in ("added", "moved", "retimed", "removed"))
        where = result.plan.stop_of("urgent")
        urgent_at = (
            f"planned ({where[0]}, {where[1].start_s // H:02d}:{where[1].start_s % H // 60:02d})"
            if where
            else "not planned"
        )
        current = replan_problem(day, base, pinned=pinned, now_s=now, change_penalty=3600)
        violations = len(check(current, result.plan))
        label = "first plan (1 solution)" if rule.max_solutions else f"{rule.max_seconds:g} s"
        print(
            f"| {label} | {wall:.2f} s | {urgent_at} | {counts} | {result.plan.planned_count} | "
            f"{len(result.plan.unplanned)} | {result.plan.travel_s / 3600:.2f} h | {violations} |"
        )

    relaxed = without_pyvrp_gaps(problem)
    seconds = min(args.seconds)
    print(
        f"\nEngines on the same day without breaks and with one window per visit (what PyVRP can express), {seconds:g} s:\n"
    )
    print(
        "| engine | first feasible plan | planned | unplanned (reasons) | workers used | travel | distance | waiting | checker violations |"
    )
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for engine in ("ortools", "pyvrp"):
        plan, wall, first = run(relaxed, seconds, args.seed, engine)
        first_text = f"{first:.2f} s" if first is not None else "n/a"
        print(f"| {engine} | {first_text} | {summary(relaxed, plan)} |")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
