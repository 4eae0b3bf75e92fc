"""`python -m console`: serve the console, the API, the sockets and /osmand on $PORT (gunicorn, `console/serve.py`).

`python -m console plan-worker` runs the route-plan worker instead (the Procfile's `planner`);
`python -m console webhook-worker` sends outgoing webhooks (the Procfile's `webhooks`).
`python -m console learn-travel [--days N] [--timezone TZ]` learns travel times from the fleet's trips
(`services/travel_learning.py`), prints the ETA error before and after as JSON and keeps the factors.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from data.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m console")
    parser.add_argument(
        "command",
        nargs="?",
        default="serve",
        choices=("serve", "plan-worker", "webhook-worker", "learn-travel"),
        help="serve (default): the web console; plan-worker: run route-plan jobs from Redis; "
        "webhook-worker: send webhook deliveries; learn-travel: learn travel times from stored trips",
    )
    parser.add_argument("--days", type=int, default=28, help="learn-travel: the last N whole days (default 28)")
    parser.add_argument(
        "--timezone",
        default=None,
        help="learn-travel: the time zone of the days and hours (default: the office's, OUTFIELD_TIMEZONE)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = Settings.from_env(os.environ)
    if args.command == "plan-worker":
        from console.plan_worker import run_planner

        return run_planner(settings)
    if args.command == "webhook-worker":
        from console.webhook_worker import run_webhook_worker

        return run_webhook_worker(settings)
    if args.command == "learn-travel":
        return learn_travel(settings, days=args.days, timezone=args.timezone or settings.timezone)
    return serve(settings)


def learn_travel(settings: Settings, *, days: int, timezone: str) -> int:
    """Fit, report (one JSON line on stdout, naming the zone of its days and hours) and keep the factors; exit 0
    also when too few trips were seen."""
    import json
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from data.db import make_engine, make_sessionmaker
    from routing.travel import make_travel_times
    from services import travel_learning

    if not 1 <= days <= 366:
        print(f"python -m console learn-travel: --days: {days} must be within 1..366", file=sys.stderr)
        return 2
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        print(f"python -m console learn-travel: --timezone: {timezone!r} is not a known time zone", file=sys.stderr)
        return 2
    today = datetime.now(UTC).astimezone(ZoneInfo(timezone)).date()
    sessions = make_sessionmaker(make_engine(settings.database_url))
    trips = travel_learning.trips_of_period(
        sessions, first=today - timedelta(days=days), last=today - timedelta(days=1), timezone=timezone
    )
    report = travel_learning.evaluate(trips, make_travel_times(settings.osrm_dir), timezone=timezone)
    if report.factors is not None:
        travel_learning.save(report.factors, settings.var_dir / travel_learning.LEARNED_FILE)
    print(json.dumps(report.to_json() | {"timezone": timezone}))
    return 0


def serve(settings: Settings) -> int:
    if settings.web_worker_class == "gevent":
        # Patched before the app's modules are imported here (for the demo-secrets check): a `time.sleep` or lock
        # bound at import (a default argument) in the master would stay the blocking one in every forked worker,
        # where gunicorn patches only after the fork; the alert evaluator's 0.1 s gathering sleep then stopped the
        # whole worker after every fix (bench/README.md, "Ingestion").
        from gevent import monkey

        monkey.patch_all()
    from console import serve as server

    try:  # first: a second server on a port another holds must not touch the database either
        server.check_port_free(server.ServerOptions.from_settings(settings).bind)
    except server.PortTaken as exc:
        print(f"python -m console: refusing to start: {exc} (stop it, or set PORT / HOST)", file=sys.stderr)
        return 1
    from console.app import refuse_demo_secrets
    from console.security import InsecureSettings
    from data.db import make_engine, make_sessionmaker
    from data.migrate import migrate

    settings.var_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.database_url)  # once, before the workers fork; a no-op when the schema is current
    engine = make_engine(settings.database_url)
    try:  # before any worker starts: a clear message, not a worker that fails to boot
        refuse_demo_secrets(settings, make_sessionmaker(engine))
    except InsecureSettings as exc:
        print(f"python -m console: refusing to start: {exc}", file=sys.stderr)
        return 2
    finally:
        # No SQLite connection may cross the fork: a worker closing an inherited one (whenever the
        # garbage collector gets to it) drops every POSIX lock its process holds on the file, and
        # another process then deletes the WAL under it ("disk I/O error", "malformed").
        engine.dispose()
    return server.serve(settings)


if __name__ == "__main__":
    sys.exit(main())
