"""A worker's day view: how long the pure part of `/day/` and `plan-vs-actual` takes for a shift's fixes.

A synthetic 8-hour shift from a fixed seed: the worker drives between 12 planned sites in Monaco
(straight lines at 8 m/s), standing 20 minutes at each with GPS jitter of a few metres, reporting a
fix every `interval` seconds. Timed, as `services.day_service.DayService.worker_day` does it after
the database read: filter the fixes, derive the geofence events of the planned sites, the stops,
the trips and the distance driven, and compare with the plan. CPU = this thread's own time
(`time.thread_time`); the wall clock also holds other processes' time slices. Prints a Markdown
table; nothing here asserts on time.

    .venv/bin/python bench/day_view.py [--intervals 1,5,30] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dispatch.geo import LatLon, haversine_m  # noqa: E402
from dispatch.geofences import CircleFence, GeofenceIndex  # noqa: E402
from dispatch.plan_actual import (  # noqa: E402
    PlannedDay,
    PlannedVisit,
    compare_day,
    driven_distance_m,
    fence_events_of_track,
)
from dispatch.positions import Position  # noqa: E402
from dispatch.trajectory import detect_stops, detect_trips, filter_fixes  # noqa: E402

T0 = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)
SHIFT_S = 8 * 3600
STAND_S = 20 * 60
SPEED_MPS = 8.0


def shift(interval_s: int, seed: int = 0) -> tuple[list[Position], dict[int, CircleFence], PlannedDay]:
    rng = random.Random(seed)
    sites = [LatLon(rng.uniform(43.727, 43.748), rng.uniform(7.410, 7.437)) for _ in range(12)]
    fences = {i: CircleFence(p, 60.0) for i, p in enumerate(sites)}
    # (start second, place) waypoints: stand at each site, drive to the next.
    plan: list[tuple[float, float, LatLon, LatLon]] = []
    t = 0.0
    for a, b in zip(sites, sites[1:] + sites[:1], strict=True):
        plan.append((t, t + STAND_S, a, a))
        t += STAND_S
        drive_s = haversine_m(a, b) / SPEED_MPS
        plan.append((t, t + drive_s, a, b))
        t += drive_s
    fixes: list[Position] = []
    for s in range(0, SHIFT_S, interval_s):
        t0, t1, a, b = next((leg for leg in plan if leg[0] <= s % t < leg[1]), plan[-1])
        f = (s % t - t0) / max(1e-9, t1 - t0)
        jitter = 3e-5 if a == b else 0.0
        lat = a.lat + (b.lat - a.lat) * f + rng.uniform(-jitter, jitter)
        lon = a.lon + (b.lon - a.lon) * f + rng.uniform(-jitter, jitter)
        at = T0 + timedelta(seconds=s)
        fixes.append(Position(1, "bench", at, at, at, lat, lon, accuracy_m=8.0))
    window = (T0, T0 + timedelta(seconds=SHIFT_S))
    visits = tuple(
        PlannedVisit(
            100 + i, i, i, T0 + timedelta(seconds=i * 2400), T0 + timedelta(seconds=i * 2400 + STAND_S), *window
        )
        for i in range(len(sites))
    )
    return fixes, fences, PlannedDay(1, visits, 20_000.0)


def run(fixes: list[Position], fences: dict[int, CircleFence], planned: PlannedDay) -> tuple[float, float, int, float]:
    """(CPU s of the geofence events, CPU s of the whole day, events, wall-clock s of the whole day)."""
    wall = time.perf_counter()
    started = time.thread_time()
    kept = filter_fixes(fixes).kept
    events = fence_events_of_track(1, kept, GeofenceIndex(fences))
    events_done = time.thread_time()
    stops = detect_stops(fixes)
    detect_trips(fixes)
    compare_day(planned, fences=fences, checks=(), fence_events=events, stops=stops,
                actual_distance_m=driven_distance_m(fixes), now=T0 + timedelta(days=1))  # fmt: skip
    return events_done - started, time.thread_time() - started, len(events), time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--intervals", default="1,5,30", help="seconds between fixes, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="runs per interval; the best is shown")
    args = parser.parse_args()
    print(f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f}; an 8-hour shift, 12 planned sites, best of {args.repeat}\n")  # fmt: skip
    print("| fix every | fixes | geofence events (CPU) | whole day (CPU) | whole day (wall clock) |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for interval in (int(x) for x in args.intervals.split(",")):
        fixes, fences, planned = shift(interval)
        best = min((run(fixes, fences, planned) for _ in range(args.repeat)), key=lambda r: r[1])
        print(
            f"| {interval} s | {len(fixes):,} | {best[0] * 1000:,.0f} ms ({best[2]} events) | {best[1] * 1000:,.0f} ms"
            f" | {best[3] * 1000:,.0f} ms |"
        )


if __name__ == "__main__":
    main()
