"""`python -m realtime {redis-server,worker,simulate}`: the realtime processes of the Procfile."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import uuid

from data.settings import Settings

log = logging.getLogger("outfield.realtime")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m realtime")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("redis-server", help="run the embedded Redis in the foreground (for the Procfile)")
    sub.add_parser(
        "worker",
        help="relay live positions from Redis to the consoles' sockets; purge old positions hourly; time-based alerts; "
        "post the scheduled report (OUTFIELD_REPORT_SCHEDULE)",
    )
    sim = sub.add_parser(
        "simulate",
        help="drive the demo field staff on Monaco's streets, over the HTTP API with the token in "
        "$OUTFIELD_SIM_TOKEN_FILE (or $OUTFIELD_SIM_TOKEN)",
    )
    sim.add_argument("--url", help="server base URL (default http://127.0.0.1:$PORT)")
    sim.add_argument("--speed", type=float, help="simulated seconds per real second (default $OUTFIELD_SIM_SPEED)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.command == "simulate":  # a client of the HTTP API: its own few settings, none of the server's
        from realtime.simulate_cmd import main as simulate

        return simulate(url=args.url, speed=args.speed)
    settings = Settings.from_env(os.environ)
    if args.command == "redis-server":
        return _redis_server(settings)
    return _worker(settings)


def _redis_server(settings: Settings) -> int:
    from realtime.redis_server import embedded_port, redis_command

    port = embedded_port(settings.redis_url)
    if port is None:
        log.info("REDIS_URL points at an external server; no embedded Redis started")
        threading.Event().wait()
        return 0
    workdir = settings.var_dir / "redis"
    workdir.mkdir(parents=True, exist_ok=True)
    command = redis_command(port, workdir)
    os.execv(command[0], command)


def _worker(settings: Settings) -> int:
    """The live relay, and beside it the hourly purge of personal data past retention (one process purges), the
    time-based alerts, the scheduled report and the field workers' reminders."""
    from flask_socketio import SocketIO

    from data import scope_repo
    from data.db import make_engine, make_sessionmaker, session_scope
    from dispatch import localtime
    from dispatch.clock import SystemClock
    from realtime.bus import Bus
    from realtime.field_events import make_field_events, run_periodic
    from realtime.relay import TeamDirectory, run_relay
    from realtime.retention import run_purger
    from routing.travel import make_travel_times

    emitter = SocketIO(message_queue=settings.redis_url, async_mode="threading")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    bus = Bus(settings.redis_url)
    holder = f"worker-{uuid.uuid4().hex[:8]}"

    def emit(event: str, payload: dict[str, object], room: str) -> None:
        emitter.emit(event, payload, to=room)

    purger = threading.Thread(
        target=run_purger,
        kwargs={
            "bus": bus,
            "holder": holder,
            "sessions": make_sessionmaker(make_engine(settings.database_url)),
            "clock": SystemClock(),
            "retention": settings.retention,
            "stop": stop,
        },
        name="purge-positions",
        daemon=True,
    )
    purger.start()
    # The time-based alerts (offline, late risk, off route, long stop), evaluated every few seconds.
    travel = make_travel_times(settings.osrm_dir)
    field_events = make_field_events(
        settings,
        sessions=make_sessionmaker(make_engine(settings.database_url)),
        bus=bus,
        clock=SystemClock(),
        travel=travel.duration_s,
        background=False,  # no fixes come in here: the time-based kinds only
    )
    alerts = threading.Thread(
        target=run_periodic,
        kwargs={"field_events": field_events, "every_s": settings.alert_every_s, "stop": stop},
        name="periodic-alerts",
        daemon=True,
    )
    alerts.start()
    if settings.report_schedule:  # to the report webhook if one is set, and to subscribed signed webhooks
        from realtime.report_schedule import Schedule, run_report_schedule, webhook_poster

        threading.Thread(
            target=run_report_schedule,
            kwargs={
                "bus": bus,
                "holder": holder,
                "sessions": make_sessionmaker(make_engine(settings.database_url)),
                "clock": SystemClock(),
                "schedule": Schedule(settings.report_schedule),
                "team": settings.report_team,
                "post": webhook_poster(settings.report_webhook_url) if settings.report_webhook_url else None,
                "stop": stop,
                "zone": localtime.zone(settings.timezone),
            },
            name="report-schedule",
            daemon=True,
        ).start()
    # What a manager's year report reads, summed ahead (the closed months' sums, the kilometres per day).
    from realtime.report_warmup import run_report_warmup

    threading.Thread(
        target=run_report_warmup,
        kwargs={
            "bus": bus,
            "holder": holder,
            "sessions": make_sessionmaker(make_engine(settings.database_url)),
            "clock": SystemClock(),
            "stop": stop,
            "zone": localtime.zone(settings.timezone),
        },
        name="report-warmup",
        daemon=True,
    ).start()
    # Field workers' reminders (shift start, near a site, a visit running over, the time to leave, the day's report).
    from dispatch.reminders import ReminderSettings
    from realtime.reminders import run_reminders
    from realtime.report_schedule import webhook_poster as poster
    from realtime.web_push import WebPush

    reminder_sessions = make_sessionmaker(make_engine(settings.database_url))
    threading.Thread(
        target=run_reminders,
        kwargs={
            "bus": bus,
            "holder": holder,
            "stop": stop,
            "sessions": reminder_sessions,
            "clock": SystemClock(),
            "settings": ReminderSettings(near_m=settings.reminder_near_m),
            "uses_clock_in": settings.clock_in != "off",
            "push": WebPush(sessions=reminder_sessions, clock=SystemClock()),
            "fallback": poster(settings.link_webhook_url) if settings.link_webhook_url else None,
            "zone": localtime.zone(settings.timezone),  # "today" is the office's day (a worker's own where set)
            "travel": travel.duration_s,  # the time to leave for the next visit
        },
        name="reminders",
        daemon=True,
    ).start()
    team_sessions = make_sessionmaker(make_engine(settings.database_url))

    def load_teams() -> dict[int, str]:
        with session_scope(team_sessions) as session:
            return scope_repo.teams_by_worker(session)

    run_relay(
        bus=bus, emit=emit, batch_ms=settings.live_batch_ms, stop=stop, holder=holder, team_of=TeamDirectory(load_teams)
    )
    purger.join(10)
    alerts.join(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
