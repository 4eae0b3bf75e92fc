"""Command line for routing data: `python -m routing build-roads [--if-missing] [--pbf PATH] [--out DIR]`.

Each subcommand registers itself in `build_parser` with a handler taking the parsed arguments and
returning the exit status, so new ones (e.g. `solomon`) slot in beside `build-roads`.
"""

from __future__ import annotations

import argparse
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
