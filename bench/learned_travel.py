"""Learned travel times (issue #15): their ETA error on held-out trips, before and after the fit.

Two sets of trips:

1. The demo's simulated trips. Seeds the demo (`data.scenario.seed_demo`, every worker on shift
   round the clock as `seed-demo --all-day`) into a temporary SQLite database, runs the demo's
   simulator (`realtime.simulator.Simulator`, the pure step logic `python -m realtime simulate`
   drives) in-process over `--days` simulated days with no real-time waiting, and stores each
   report as an accepted fix. Then `services.travel_learning.trips_of_period` cuts the days into
   trips and `evaluate` fits the time-of-day factors on three days in four and measures the ETA
   error on the fourth, against the Monaco road times (OSRM; `python -m routing build-roads`).
   The simulator drives with the demo town's rush hours (`dispatch.traffic.DEMO_RUSH_HOURS`, as
   `python -m realtime simulate` does): a drive takes its road route's time times the slowdown of
   the hour it sets off in. The table sets the factors learned beside those slowdowns.
2. A real GPX day: `data/datasets/gpx/around-visnjan-with-car.gpx`, a car drive in Istria, read
   with `data.gpx_import.read_gpx` and cut into trips by `dispatch.trajectory.detect_trips` at its
   stops of a minute or more (`GPX_STOPS`: the drive's three stops last 62-126 s, below the fleet's
   five minutes). No road network is built there, so the base estimate is `routing.travel.StraightLine()`.

Prints a Markdown table; nothing asserts on the figures. With --write, the table replaces the
"## Learned travel times" section of bench/README.md.

    .venv/bin/python bench/learned_travel.py [--days 8] [--seed 7] [--write]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from readme import write_section  # noqa: E402

from data import orders_repo, positions_repo, sites_repo, workers_repo  # noqa: E402
from data.db import make_engine, make_sessionmaker, session_scope  # noqa: E402
from data.gpx_import import read_gpx  # noqa: E402
from data.migrate import migrate  # noqa: E402
from data.scenario import seed_demo  # noqa: E402
from dispatch.geo import haversine_m  # noqa: E402
from dispatch.positions import Position  # noqa: E402
from dispatch.traffic import DEMO_RUSH_HOURS, Traffic  # noqa: E402
from dispatch.trajectory import StopParams, Trip, detect_trips  # noqa: E402
from realtime.simulator import Simulator, SimWorker  # noqa: E402
from routing.learned import EtaError, eta_errors, fit_factors, observations, road_estimate  # noqa: E402
from routing.travel import StraightLine, TravelTimes, make_travel_times  # noqa: E402
from services.travel_learning import LearningReport, evaluate, trips_of_period  # noqa: E402

TIMEZONE = "Europe/Monaco"
FIRST_DAY = date(2026, 11, 2)  # a Monday
REPORT_INTERVAL_S = 10.0
"""Seconds between a simulated phone's reports: the demo's at ten times speed (`max(5, speed)`)."""
READING = (
    "Reading: the demo's simulator drives each route in its road time times the slowdown of the hour it sets off "
    "in (`dispatch.traffic.DEMO_RUSH_HOURS`, made up for the demo: no traffic data of Monaco ships), so the "
    "factors should find those slowdowns. Each comes out the same 2 % above its hour's slowdown, as the factors "
    "of the simulator without traffic came out 1.02 at every hour: presumably how a detected trip, from a stop's "
    "last fix to the next stop's first with a report every 10 s, differs from its route's time. The GPX day is estimated by the straight line because no road network is built for Istria (the "
    "OSRM extract is Monaco's only), and its few trips are far below `fit_factors`'s minimum of 30: nothing is "
    "learned from it."
)
GPX_FILE = REPO / "data" / "datasets" / "gpx" / "around-visnjan-with-car.gpx"
GPX_STOPS = StopParams(min_duration_s=60.0)
"""The GPX drive's stops last one to two minutes: cut there, its legs between them are the trips."""


def simulate_days(url: str, *, days: int, seed: int, travel: TravelTimes) -> int:
    """Seed the demo and store `days` days of its simulated phones' fixes; returns how many were stored."""
    zone = ZoneInfo(TIMEZONE)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with session_scope(sessions) as session:
        seed_demo(session, seed=seed, day=FIRST_DAY, zone=zone, all_day=True)
    with session_scope(sessions) as session:
        demo = [w for w in workers_repo.list_workers(session) if w.home_base is not None]
        sites = {s.id: s.location for s in sites_repo.list_sites(session)}
        destinations = [sites[i] for i in sorted({o.site_id for o in orders_repo.list_orders(session)})]
    worker_of = {w.device_id: w.id for w in demo}
    start = datetime.combine(FIRST_DAY, datetime.min.time(), zone)
    sim = Simulator(
        [SimWorker(w.device_id, w.home_base) for w in demo if w.home_base is not None],
        destinations, travel, random.Random(seed), start, report_interval_s=REPORT_INTERVAL_S,
        traffic=Traffic(DEMO_RUSH_HOURS, zone=zone),
    )  # fmt: skip
    stored = 0
    for hour in range(1, days * 24 + 1):
        reports = sim.step(start + timedelta(hours=hour))
        fixes = [
            Position(worker_id=worker_of[r.device_id], device_id=r.device_id, fix_time=r.fix_time,
                     device_time=r.fix_time, server_time=r.fix_time, latitude=r.latitude, longitude=r.longitude,
                     accuracy_m=r.accuracy_m, speed_mps=r.speed_mps, bearing_deg=r.bearing_deg,
                     battery_pct=r.battery_pct)
            for r in reports
        ]  # fmt: skip
        with session_scope(sessions) as session:
            stored += sum(1 for i in positions_repo.insert_positions(session, fixes) if i is not None)
    engine.dispose()
    return stored


def error_cell(error: EtaError | None) -> str:
    if error is None:
        return "not learned"
    if error.trips == 0:
        return "no usable trips"
    return f"{error.mae_s:.0f} s / {100 * error.mape:.1f} %"


def factors_line(report: LearningReport) -> str:
    if report.factors is None:
        return "nothing learned (fewer usable trips than `fit_factors`'s minimum of 30)"
    hours = [
        f"{h:02d}h {f:.2f} ({n})"
        for h, (f, n) in enumerate(zip(report.factors.by_hour, report.factors.trips_by_hour, strict=True))
    ]
    return ", ".join(hours)


def against_slowdowns(report: LearningReport) -> str:
    """Each hour's learned factor over the simulator's slowdown of that hour: how much of the rush hour was found."""
    if report.factors is None:
        return "nothing learned"
    ratios = [f / slow for f, slow in zip(report.factors.by_hour, DEMO_RUSH_HOURS, strict=True)]
    rush = [h for h, slow in enumerate(DEMO_RUSH_HOURS) if slow > 1.0]
    return f"learned ÷ slowdown {min(ratios):.2f}-{max(ratios):.2f} over the 24 hours, " + ", ".join(
        f"{h:02d}h {report.factors.by_hour[h]:.2f} for {DEMO_RUSH_HOURS[h]:.2f}" for h in rush
    )


def gpx_trip_line(trip: Trip, line: StraightLine) -> str:
    """One detected trip of the GPX day: how long and how far it went, and what the straight line estimates."""
    if trip.origin is None or trip.destination is None:
        return f"- trip at {trip.start:%H:%M} UTC: no end points, not estimated"
    apart_m = haversine_m(trip.origin, trip.destination)
    estimate_s = line.duration_s(trip.origin, trip.destination)
    return (
        f"- trip {trip.start:%H:%M}-{trip.end:%H:%M} UTC: driven {trip.duration_s:.0f} s over {trip.distance_m:,.0f} m; "
        f"its ends are {apart_m:,.0f} m apart, so the straight line estimates {estimate_s:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=8, help="simulated days of the demo (default 8: 2 held out)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()

    roads = make_travel_times(REPO / "var" / "osrm")
    if isinstance(roads, StraightLine):
        sys.exit("no Monaco road network: run `.venv/bin/python -m routing build-roads --if-missing` first")
    with tempfile.TemporaryDirectory(prefix="outfield-learned-") as tmp:  # 2 million fixes: about 460 MB
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        migrate(url)
        t0 = time.perf_counter()
        fixes = simulate_days(url, days=args.days, seed=args.seed, travel=roads)
        simulated_s = time.perf_counter() - t0
        last_day = FIRST_DAY + timedelta(days=args.days - 1)
        t0 = time.perf_counter()
        engine = make_engine(url)
        demo_trips = trips_of_period(make_sessionmaker(engine), first=FIRST_DAY, last=last_day, timezone=TIMEZONE)
        engine.dispose()
        demo = evaluate(demo_trips, roads, timezone=TIMEZONE)
        learned_s = time.perf_counter() - t0

    points = read_gpx(GPX_FILE.read_bytes())
    track = [
        Position(worker_id=1, device_id="gpx", fix_time=p.time, device_time=p.time, server_time=p.time,
                 latitude=p.latitude, longitude=p.longitude, speed_mps=p.speed_mps, altitude_m=p.elevation_m)
        for p in points if p.time is not None
    ]  # fmt: skip
    detected = detect_trips(track, GPX_STOPS)
    gpx_trips = observations(detected)
    line = StraightLine()
    gpx_before = eta_errors(gpx_trips, road_estimate(line))
    gpx_factors = fit_factors(gpx_trips, line, timezone="UTC")
    gpx = LearningReport(len(gpx_trips), 0, gpx_before, None, gpx_factors)

    load = os.getloadavg()
    lines = [
        f"`.venv/bin/python bench/learned_travel.py --days {args.days} --seed {args.seed}`: "
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores, "
        f"load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} at the end. "
        f"Demo: {args.days} simulated days from {FIRST_DAY.isoformat()} ({TIMEZONE}), {fixes:,} fixes every "
        f"{REPORT_INTERVAL_S:.0f} s stored in {simulated_s:.0f} s, trips cut and evaluated in {learned_s:.0f} s.",
        "",
        "| trip set | base estimate | trips | held out (usable) | ETA error before: MAE / MAPE | after (learned) |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
        f"| demo's simulator, Monaco | OSRM road times | {demo.trips:,} | {demo.held_out:,} ({demo.before.trips:,}) "
        f"| {error_cell(demo.before)} | {error_cell(demo.after)} |",
        f"| real GPX day, car around Višnjan | straight line (8 m/s, ×1.3) | {gpx.trips} | all ({gpx.before.trips}) "
        f"| {error_cell(gpx.before)} | {error_cell(gpx.after)} |",
        "",
        f"Demo factors by hour ({TIMEZONE}; factor (trips)), fitted on all its trips: {factors_line(demo)}.",
        "",
        f"Against the simulator's slowdowns (`DEMO_RUSH_HOURS`): {against_slowdowns(demo)}.",
        "",
        f"GPX day: {len(track)} fixes; {factors_line(gpx)}; its error is the straight line's alone, on every trip.",
        *(gpx_trip_line(t, line) for t in detected),
        "",
        READING,
    ]
    table_md = "\n".join(lines)
    print(table_md)
    if args.write:
        header = "## Learned travel times"
        section = f"{header}\n\n(bench/learned_travel.py; `--write` puts the table here.)\n\n{table_md}\n"
        write_section(header, section)


if __name__ == "__main__":
    main()
