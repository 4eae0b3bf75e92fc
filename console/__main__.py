"""`python -m console`: serve the console, the API, the sockets and /osmand on $PORT (gunicorn, `console/serve.py`).

`python -m console plan-worker` runs the route-plan worker instead (the Procfile's `planner`);
`python -m console webhook-worker` sends outgoing webhooks (the Procfile's `webhooks`).
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
        choices=("serve", "plan-worker", "webhook-worker"),
        help="serve (default): the web console; plan-worker: run route-plan jobs from Redis; "
        "webhook-worker: send webhook deliveries",
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
    return serve(settings)


def serve(settings: Settings) -> int:
    from console import serve as server
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
