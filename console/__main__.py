"""`python -m console`: serve the console, the API, the sockets and /osmand on $PORT."""

from __future__ import annotations

import logging
import os

from console.app import create_app
from data.migrate import migrate
from data.settings import Settings
from dispatch.clock import SystemClock


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # request lines carry coordinates in query strings
    settings = Settings.from_env(os.environ)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.database_url)  # a no-op when the schema is current; a fresh database just works
    app = create_app(settings, clock=SystemClock())
    app.start_relay(settings.live_batch_ms)
    logging.getLogger("outfield").info("serving on http://%s:%d/", settings.host, settings.port)
    app.socketio.run(app.server, host=settings.host, port=settings.port, allow_unsafe_werkzeug=True, log_output=False)


if __name__ == "__main__":
    main()
