"""Geofence benchmark: which of 10,000 sites' geofences contain one fix (spatial index vs a plain scan).

Sites are generated from a fixed seed over the Monaco extract's area (43.7148–43.7700 N,
7.3490–7.4910 E, about 11 km × 6 km): half circles (radius 30–150 m), half polygons (4–8 corners,
20–120 m from their centre). Half the fixes fall within 150 m of a site's centre, half anywhere.
Prints a Markdown table; nothing here asserts on time. With --write, the table replaces the
"## Geofences" section of bench/README.md.

    .venv/bin/python bench/geofence.py [--sites 10000] [--queries 5000] [--scan-queries 50] [--write]

Figures, per fix: `GeofenceIndex.containing` (the geofences containing it), `GeofenceIndex.near`
with the 20 m hysteresis margin (what the enter/exit state machine asks), one `track_geofences`
step, and a plain scan measuring every geofence; the scan runs on the first fixes and must agree.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from readme import write_section  # noqa: E402

from dispatch.geo import EARTH_RADIUS_M, LatLon  # noqa: E402
from dispatch.geofences import (  # noqa: E402
    CircleFence,
    DwellParams,
    FenceState,
    Geofence,
    GeofenceIndex,
    PolygonFence,
    track_geofences,
)
from dispatch.positions import Position  # noqa: E402

SOUTH, NORTH, WEST, EAST = 43.7148, 43.7700, 7.3490, 7.4910
M_PER_DEG_LAT = EARTH_RADIUS_M * math.pi / 180.0


def offset(origin: LatLon, north_m: float, east_m: float) -> LatLon:
    return LatLon(
        origin.lat + north_m / M_PER_DEG_LAT,
        origin.lon + east_m / (M_PER_DEG_LAT * math.cos(math.radians(origin.lat))),
    )


def anywhere(rng: random.Random) -> LatLon:
    return LatLon(rng.uniform(SOUTH, NORTH), rng.uniform(WEST, EAST))


def sites(rng: random.Random, n: int) -> dict[int, Geofence]:
    fences: dict[int, Geofence] = {}
    for site_id in range(1, n + 1):
        centre = anywhere(rng)
        if site_id % 2:
            fences[site_id] = CircleFence(centre, rng.uniform(30, 150))
            continue
        # One corner in each of n equal sectors around the centre: a star-shaped, hence simple, polygon.
        n = rng.randint(4, 8)
        angles = [2 * math.pi * (k + rng.random()) / n for k in range(n)]
        radii = [rng.uniform(20, 120) for _ in range(n)]
        fences[site_id] = PolygonFence(
            tuple(offset(centre, r * math.sin(a), r * math.cos(a)) for a, r in zip(angles, radii, strict=True))
        )
    return fences


def fixes(rng: random.Random, fences: dict[int, Geofence], n: int) -> list[LatLon]:
    centres = [f.center if isinstance(f, CircleFence) else f.corners[0] for f in fences.values()]
    out = []
    for k in range(n):
        if k % 2:
            out.append(anywhere(rng))
        else:
            out.append(offset(rng.choice(centres), rng.uniform(-150, 150), rng.uniform(-150, 150)))
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed_ms(call: Any, points: list[LatLon]) -> tuple[list[float], list[float], list[Any]]:
    """Wall-clock and CPU (this thread's) milliseconds per call, and the results.

    On a shared machine the wall clock's tail is other processes' time slices; the CPU time is this
    lookup's own cost.
    """
    wall, cpu, results = [], [], []
    for p in points:
        c, t = time.thread_time_ns(), time.perf_counter_ns()
        results.append(call(p))
        wall.append((time.perf_counter_ns() - t) / 1e6)
        cpu.append((time.thread_time_ns() - c) / 1e6)
    return wall, cpu, results


def quantiles(wall: list[float], cpu: list[float]) -> tuple[float, float, float, float]:
    return percentile(wall, 0.5), percentile(wall, 0.99), percentile(cpu, 0.5), percentile(cpu, 0.99)


def run(n_sites: int, n_queries: int, n_scan: int) -> dict[str, Any]:
    rng = random.Random(n_sites)
    fences = sites(rng, n_sites)
    points = fixes(rng, fences, n_queries)
    t = time.perf_counter()
    index = GeofenceIndex(fences)
    build_ms = (time.perf_counter() - t) * 1000
    margin_m = DwellParams().hysteresis_m
    contain_wall, contain_cpu, contained = timed_ms(index.containing, points)
    near_wall, near_cpu, _ = timed_ms(lambda p: index.near(p, margin_m), points)

    start = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
    positions = iter(
        Position(1, "bench", at, at, at, p.lat, p.lon, accuracy_m=10.0)
        for at, p in ((start + timedelta(seconds=5 * k), p) for k, p in enumerate(points))
    )
    state = FenceState(worker_id=1)

    def one_step(_: LatLon) -> None:
        nonlocal state
        state, _events = track_geofences(state, next(positions), index)

    step_wall, step_cpu, _ = timed_ms(one_step, points)

    def scan(p: LatLon) -> list[int]:
        return sorted(site_id for site_id, fence in fences.items() if fence.outside_by_m(p) == 0.0)

    scan_wall, scan_cpu, scanned = timed_ms(scan, points[:n_scan])
    return {
        "sites": n_sites,
        "polygons": sum(isinstance(f, PolygonFence) for f in fences.values()),
        "queries": n_queries,
        "build_ms": build_ms,
        "contain": quantiles(contain_wall, contain_cpu),
        "near": quantiles(near_wall, near_cpu),
        "step": quantiles(step_wall, step_cpu),
        "scan": quantiles(scan_wall, scan_cpu),
        "load": os.getloadavg()[0],
        "scan_n": n_scan,
        "agree": sum(a == b for a, b in zip(contained, scanned, strict=False)),
        "hits": sum(bool(c) for c in contained),
        "mean_hits": sum(len(c) for c in contained) / len(contained),
    }


def row(label: str, q: tuple[float, float, float, float]) -> str:
    return f"| {label} | " + " | ".join(f"{v:.3f} ms" if v < 10 else f"{v:.0f} ms" for v in q) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=5_000, help="fixes looked up through the index")
    parser.add_argument("--scan-queries", type=int, default=50, help="of those, how many also by a plain scan")
    parser.add_argument("--write", action="store_true", help="replace the '## Geofences' section of bench/README.md")
    args = parser.parse_args()
    r = run(args.sites, args.queries, args.scan_queries)

    command = ".venv/bin/python bench/geofence.py" + (
        f" --sites {args.sites} --queries {args.queries} --scan-queries {args.scan_queries}"
        if (args.sites, args.queries, args.scan_queries) != (10_000, 5_000, 50)
        else ""
    )
    lines = [
        "## Geofences",
        "",
        f"`{command} --write` — {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}, shapely STRtree; {r['sites']:,} seeded sites over the "
        f"Monaco extract's area (11 km × 6 km), {r['polygons']:,} polygons (4–8 corners) and the rest circles "
        "(30–150 m); half the fixes near a site, half anywhere. Goal: < 0.2 ms per fix.",
        "",
        "| lookup per fix | wall p50 | wall p99 | CPU p50 | CPU p99 |",
        "| --- | ---: | ---: | ---: | ---: |",
        row(f"`GeofenceIndex.containing` (index of {r['sites']:,}, built in {r['build_ms']:.0f} ms)", r["contain"]),
        row("`GeofenceIndex.near`, 20 m hysteresis margin", r["near"]),
        row("one `track_geofences` step (dwell/hysteresis state machine + `near`)", r["step"]),
        row(f"plain scan of every geofence (first {r['scan_n']} fixes)", r["scan"]),
        "",
        f"{r['queries']:,} fixes; {r['hits']:,} fell in at least one geofence ({r['mean_hits']:.2f} on average); "
        f"index and scan agreed on {r['agree']} of {r['scan_n']}; speed-up at p50 "
        f"{r['scan'][0] / r['contain'][0]:,.0f}×. CPU = the benchmark thread's own time "
        f"(`time.thread_time_ns`); the wall clock's tail includes other processes' time slices "
        f"(load average {r['load']:.1f} on {os.cpu_count()} CPUs at the end of this run).",
        "",
    ]
    table = "\n".join(lines)
    print(table)
    if args.write:
        write_section("## Geofences", table)


if __name__ == "__main__":
    main()
