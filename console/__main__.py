"""`python -m console`: serve the console, the API, the sockets and /osmand on $PORT (gunicorn, `console/serve.py`).

`python -m console plan-worker` runs the route-plan worker instead (the Procfile's `planner`).
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
        choices=("serve", "plan-worker"),
        help="serve (default): the web console; plan-worker: run route-plan jobs from Redis",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = Settings.from_env(os.environ)
    if args.command == "plan-worker":
        from console.plan_worker import run_planner

        return run_planner(settings)
    return serve(settings)


def serve(settings: Settings) -> int:
    from console import serve as server
    from data.migrate import migrate

    settings.var_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.database_url)  # once, before the workers fork; a no-op when the schema is current
    return server.serve(settings)


if __name__ == "__main__":
    sys.exit(main())
