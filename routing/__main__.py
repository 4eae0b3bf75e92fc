"""Command line for routing: `python -m routing build-roads [--if-missing] [--pbf PATH] [--out DIR]` and
`python -m routing solomon INSTANCE_FILE --seconds S` (solve a Solomon VRPTW instance, print JSON).

Each subcommand registers itself in `build_parser` with a handler taking the parsed arguments and
returning the exit status, so new ones (e.g. `solomon`) slot in beside `build-roads`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from routing.roads import DEFAULT_PBF, RoadsBuildFailed, build_roads
from routing.travel import NETWORK_NAME


def _default_osrm_dir() -> Path:
    # The entry point is where settings are read; routing itself stays free of them.
    from data.settings import Settings

    return Settings.from_env(os.environ).osrm_dir


def _build_roads(args: argparse.Namespace) -> int:
    out_dir: Path = args.out if args.out is not None else _default_osrm_dir()
    result = build_roads(args.pbf, out_dir, name=NETWORK_NAME, if_missing=args.if_missing)
    if isinstance(result, RoadsBuildFailed):
        print(f"build-roads failed at {result.step}: {result.reason}", file=sys.stderr)
        return 1
    if not result.steps:
        print(f"road network already built in {result.out_dir} (--if-missing: nothing to do)")
        return 0
    timings = ", ".join(f"{step.name} {step.seconds:.1f} s" for step in result.steps)
    print(
        f"built road network {result.out_dir / (result.name + '.osrm')} from {args.pbf} in {result.seconds:.1f} s ({timings})"
    )
    return 0


def _solomon(args: argparse.Namespace) -> int:
    """Solve one Solomon instance; print {"routes", "vehicles", "distance"} (exact Euclidean) as JSON."""
    from routing.problem import StopRule
    from routing.solomon import SolomonFormatError, evaluate, read_instance, routes_of, to_problem
    from routing.solve import solve

    try:
        instance = read_instance(args.instance)
    except SolomonFormatError as e:
        print(f"solomon: invalid instance: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"solomon: cannot read {args.instance}: {e.strerror}", file=sys.stderr)
        return 2
    try:
        stop = StopRule(max_solutions=args.max_solutions, max_seconds=args.seconds)
    except ValueError as e:
        print(f"solomon: {e}", file=sys.stderr)
        return 2
    plan = solve(to_problem(instance), stop=stop, seed=args.seed, engine=args.engine, processes=args.processes)
    routes = routes_of(plan)
    result = evaluate(instance, routes)
    print(json.dumps({"routes": [list(r) for r in routes], "vehicles": result.vehicles, "distance": result.distance}))
    if not result.feasible:
        for violation in result.violations:
            print(f"solomon: infeasible: {violation}", file=sys.stderr)
        return 3
    return 0


def _processes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"{text!r} must be within 1..64")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be > 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The `python -m routing` parser; each subcommand sets `handler(args) -> exit status`."""
    parser = argparse.ArgumentParser(prog="python -m routing", description="Outfield routing data tools.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    roads = commands.add_parser(
        "build-roads",
        help="build the OSRM road network used for travel times",
        description="Build the OSRM road network (car profile, MLD) from an OpenStreetMap extract.",
    )
    roads.add_argument("--if-missing", action="store_true", help="do nothing when the network is already built")
    roads.add_argument("--pbf", type=Path, default=DEFAULT_PBF, help=f"OpenStreetMap extract (default: {DEFAULT_PBF})")
    roads.add_argument("--out", type=Path, default=None, help="output folder (default: the osrm_dir setting, var/osrm)")
    roads.set_defaults(handler=_build_roads)

    solomon = commands.add_parser(
        "solomon",
        help="solve a Solomon VRPTW instance and print the routes as JSON",
        description=(
            'Solve a Solomon VRPTW instance with the instance\'s fleet and print {"routes": [[customer numbers], ...], '
            '"vehicles": N, "distance": D}: distance exact Euclidean, depot left out. Exit 2 on invalid input '
            "(the message names the line), 3 if the routes found are infeasible."
        ),
    )
    solomon.add_argument("instance", type=Path, metavar="INSTANCE_FILE", help="Solomon text file (e.g. C101.txt)")
    solomon.add_argument("--seconds", type=_positive_float, default=10.0, help="time budget (default: 10)")
    solomon.add_argument("--max-solutions", type=int, default=None, help="also stop after this many solutions")
    solomon.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    solomon.add_argument("--engine", choices=("auto", "ortools", "pyvrp"), default="auto", help="default: auto")
    solomon.add_argument(
        "--processes",
        type=_processes,
        default=1,
        help="searches at once, one per process with the next seeds, the best kept (default: 1)",
    )
    solomon.set_defaults(handler=_solomon)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
