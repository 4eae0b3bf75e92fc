"""The console as a WSGI app for gunicorn, for `--server gunicorn` in the benches.

Until `python -m console` serves through gunicorn itself (the lead's change in progress), this lets
the benches measure the multi-process configuration: each gunicorn worker imports this module after
the fork, so it builds its own app (database pool, Redis connections, group committer, relay candidate).
"""

from __future__ import annotations

import os

from console.app import create_app
from data.settings import Settings
from dispatch.clock import SystemClock

settings = Settings.from_env(os.environ)
outfield = create_app(settings, clock=SystemClock())
outfield.start_relay(settings.live_batch_ms)
app = outfield.server
