"""Settings: read once per process from the environment, typed, passed down by constructor.

This is the only module that reads `os.environ`. Every default runs the demo offline on one machine.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dispatch import localtime
from dispatch.privacy import RetentionDays

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Settings:
    # Where runtime files live (SQLite file, OSRM data, uploads, secret key). Change for a server install.
    var_dir: Path
    # SQLAlchemy URL. Set DATABASE_URL=postgresql+psycopg://... for PostgreSQL.
    database_url: str
    # Redis for pub/sub and the Socket.IO message queue. Set REDIS_URL for an external Redis.
    redis_url: str
    # Signs session cookies and push links. Kept in var_dir/secret_key unless SECRET_KEY is set.
    secret_key: str
    # HTTP interface and port of the console/API/socket/OsmAnd server.
    host: str
    port: int
    # gunicorn worker processes and threads per process (each open websocket holds one thread), and how
    # long SIGTERM waits for requests in flight before a worker is stopped.
    web_workers: int
    web_threads: int
    web_graceful_timeout_s: int
    # gunicorn's worker class: gthread (threads), or gevent (needs the gevent package, not installed by
    # default): faster on /osmand, but one long call stops a whole gevent worker (bench/README.md, "Ingestion").
    web_worker_class: str
    # Each gunicorn worker listens on its own socket (SO_REUSEPORT) and the kernel spreads new connections
    # evenly; with one shared socket a busy worker could take every connection (bench/README.md, "Ingestion").
    # The console refuses to start on a port another server holds either way (console/serve.py).
    web_reuse_port: bool
    # Seed for everything random (demo scenario, simulator). Change to get another demo day.
    seed: int
    # How many times faster than real time the demo simulator runs.
    sim_speed: float
    # XYZ tile URL template for the map background; None draws the shipped vector street basemap only.
    tile_url: str | None
    # Directory with the built road network (monaco.osrm*); missing = straight-line travel times.
    osrm_dir: Path
    # Positions older than this are deleted hourly by the `worker` process (or `python -m data purge-positions`).
    position_retention_days: int
    # Coalescing window for live map updates, in milliseconds. The wall screen applies a batch in
    # plain JS (~5 ms, outside Dash's store); at 50 ms a fix reaches 10 consoles with p99 122 ms from 2,000
    # phones and 215 ms from 5,000 on 2 cores (bench/README.md, "Live fan-out").
    live_batch_ms: int
    # Where photos and signatures from the field are stored.
    upload_dir: Path
    # The address phones use to reach this server, for push links (default http://HOST:PORT).
    public_url: str | None
    # A URL that receives {"worker_id", "name", "url", "expires_at"} as JSON when a link is sent (SMS/e-mail gateway).
    link_webhook_url: str | None
    # Order types assigned to the nearest qualified worker without a dispatcher (comma-separated).
    auto_dispatch_types: tuple[str, ...]
    # Demo mode (OUTFIELD_DEMO=1, exported by `./run demo`): the generated secret key and the demo
    # passwords are accepted. Outside it the console refuses to start with either.
    demo: bool = False
    # True when secret_key is the generated per-install file (SECRET_KEY unset): a demo's default only.
    secret_key_generated: bool = False
    # Failed sign-ins allowed per user name and, separately, per client address (Flask-Limiter syntax).
    login_limit_per_name: str = "5 per minute; 20 per hour"
    login_limit_per_address: str = "30 per minute; 200 per hour"
    # Check-ins whose confidence score (0-100, dispatch/confidence.py) is under this go to a manager's review queue.
    checkin_review_threshold: int = 60
    # Geofences and alerts (issue #11). How long a worker must be inside (or clearly outside) a site's
    # geofence before it counts as an arrival (or a departure).
    geofence_dwell_s: float = 60.0
    # Order types that become "on site" by themselves when their worker dwells inside the site's geofence
    # (OUTFIELD_AUTO_ARRIVAL, comma-separated; empty: none, every arrival is a check-in on the phone).
    auto_arrival_types: tuple[str, ...] = ("visit", "repair", "inspection", "delivery", "emergency")
    # Alert thresholds: battery below this raises low_battery; no fix for this long on shift raises offline;
    # faster than this between two fixes raises impossible_jump; farther than this from the planned route
    # for that long raises off_route; stopped away from every site for this long raises long_stop.
    alert_low_battery_pct: float = 15.0
    alert_offline_min: float = 10.0
    alert_max_speed_kmh: float = 250.0
    alert_off_route_m: float = 500.0
    alert_off_route_min: float = 5.0
    alert_long_stop_min: float = 20.0
    # How often the `worker` process evaluates the time-based alerts (offline, late risk, off route, long stop).
    alert_every_s: float = 30.0
    # A scheduled report ("daily" or "weekly", "" for none) the `worker` process posts to
    # report_webhook_url once per period; report_team limits it to one team ("" for everyone).
    report_schedule: str = ""
    report_team: str = ""
    report_webhook_url: str | None = None
    # A customer's link to their order works until this many days after the order's window ends.
    customer_link_days: int = 7
    # A survey rating at or under this (1-5) raises a `low_rating` alert for the dispatcher.
    low_rating_threshold: int = 2
    # A failed webhook delivery is retried after this many seconds, doubling each time (8 attempts).
    webhook_retry_base_s: float = 30.0
    # How often the `webhooks` process re-enqueues pending deliveries that are due (a job lost with Redis, a
    # retry scheduled by a sender that died); retries themselves are scheduled on RQ and need no sweep.
    webhook_sweep_s: float = 15.0
    # Clock-in/out for the shift on the field page (OUTFIELD_CLOCK_IN): "required" (verified against the home
    # base or the day's first site, a doubtful one flagged), "optional" (offered, verified the same way), "off".
    clock_in: str = "optional"
    # A worker this close to an accepted order's site (or inside its geofence) without a check-in is reminded.
    reminder_near_m: float = 150.0
    # How long each kind of personal data is kept (OUTFIELD_RETENTION_<KIND>_DAYS; positions also
    # OUTFIELD_POSITION_RETENTION_DAYS): purged hourly by the `worker` process, or `python -m data purge`.
    retention: RetentionDays = RetentionDays()
    # Keep no fix of a worker without a consent on record (issue #13). On by default; OUTFIELD_CONSENT_REQUIRED=0
    # only for an office with another legal basis for tracking. A withdrawn consent always stops it.
    consent_required: bool = True
    # The version of the consent text the push-link page shows and records with each consent.
    consent_text_version: str = "1"
    # The organisation's time zone (IANA name, OUTFIELD_TIMEZONE): every time a person reads or types in
    # the console, the field page and the reports is wall-clock time here, named (e.g. "09:00 CEST"); the
    # API stays ISO 8601 with offsets. The default is the demo's city; set yours ("Asia/Shanghai", "UTC").
    timezone: str = "Europe/Monaco"
    # Route plans: how many searches of one plan run at once, each in its own process on its own core, the best
    # plan kept (OUTFIELD_PLAN_PROCESSES; routing.portfolio). Default: 2 where the machine has two cores or more.
    plan_processes: int = 1

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from an environment mapping (pass `os.environ` at the entry point)."""
        var_dir = Path(environ.get("OUTFIELD_VAR", str(REPO_ROOT / "var"))).resolve()
        return cls(
            var_dir=var_dir,
            database_url=environ.get("DATABASE_URL") or f"sqlite:///{var_dir / 'outfield.db'}",
            redis_url=environ.get("REDIS_URL") or "redis://127.0.0.1:6390/0",
            secret_key=environ.get("SECRET_KEY") or _install_secret(var_dir),
            host=environ.get("HOST", "127.0.0.1"),
            port=_int(environ, "PORT", 8050),
            web_workers=_positive(environ, "OUTFIELD_WEB_WORKERS", 2),
            web_threads=_positive(environ, "OUTFIELD_WEB_THREADS", 64),
            web_graceful_timeout_s=_positive(environ, "OUTFIELD_WEB_GRACEFUL_TIMEOUT_S", 20),
            web_worker_class=_choice(environ, "OUTFIELD_WEB_WORKER_CLASS", "gthread", ("gthread", "gevent")),
            web_reuse_port=_choice(environ, "OUTFIELD_WEB_REUSE_PORT", "1", ("0", "1")) == "1",
            seed=_int(environ, "OUTFIELD_SEED", 0),
            sim_speed=float(environ.get("OUTFIELD_SIM_SPEED", "1")),
            tile_url=environ.get("OUTFIELD_TILE_URL") or None,
            osrm_dir=Path(environ.get("OUTFIELD_OSRM_DIR", str(var_dir / "osrm"))),
            position_retention_days=_retention(environ).positions,
            live_batch_ms=_int(environ, "OUTFIELD_LIVE_BATCH_MS", 50),
            upload_dir=Path(environ.get("OUTFIELD_UPLOAD_DIR", str(var_dir / "uploads"))),
            public_url=environ.get("OUTFIELD_PUBLIC_URL") or None,
            link_webhook_url=environ.get("OUTFIELD_LINK_WEBHOOK") or None,
            auto_dispatch_types=tuple(
                t.strip() for t in environ.get("OUTFIELD_AUTO_DISPATCH", "emergency").split(",") if t.strip()
            ),
            demo=environ.get("OUTFIELD_DEMO", "") == "1",
            secret_key_generated=not environ.get("SECRET_KEY"),
            login_limit_per_name=environ.get("OUTFIELD_LOGIN_LIMIT_PER_NAME") or "5 per minute; 20 per hour",
            login_limit_per_address=environ.get("OUTFIELD_LOGIN_LIMIT_PER_ADDRESS") or "30 per minute; 200 per hour",
            checkin_review_threshold=_within(environ, "OUTFIELD_CHECKIN_REVIEW_THRESHOLD", 60, 0, 101),
            geofence_dwell_s=_number(environ, "OUTFIELD_GEOFENCE_DWELL_S", 60.0),
            auto_arrival_types=tuple(
                t.strip()
                for t in environ.get("OUTFIELD_AUTO_ARRIVAL", "visit,repair,inspection,delivery,emergency").split(",")
                if t.strip()
            ),
            alert_low_battery_pct=_number(environ, "OUTFIELD_ALERT_LOW_BATTERY_PCT", 15.0),
            alert_offline_min=_number(environ, "OUTFIELD_ALERT_OFFLINE_MIN", 10.0),
            alert_max_speed_kmh=_number(environ, "OUTFIELD_ALERT_MAX_SPEED_KMH", 250.0),
            alert_off_route_m=_number(environ, "OUTFIELD_ALERT_OFF_ROUTE_M", 500.0),
            alert_off_route_min=_number(environ, "OUTFIELD_ALERT_OFF_ROUTE_MIN", 5.0),
            alert_long_stop_min=_number(environ, "OUTFIELD_ALERT_LONG_STOP_MIN", 20.0),
            alert_every_s=_number(environ, "OUTFIELD_ALERT_EVERY_S", 30.0),
            report_schedule=_choice(environ, "OUTFIELD_REPORT_SCHEDULE", "", ("", "daily", "weekly")),
            report_team=environ.get("OUTFIELD_REPORT_TEAM", "").strip(),
            report_webhook_url=environ.get("OUTFIELD_REPORT_WEBHOOK") or environ.get("OUTFIELD_LINK_WEBHOOK") or None,
            customer_link_days=_within(environ, "OUTFIELD_CUSTOMER_LINK_DAYS", 7, 1, 366),
            low_rating_threshold=_within(environ, "OUTFIELD_LOW_RATING_THRESHOLD", 2, 0, 5),
            webhook_retry_base_s=float(_within(environ, "OUTFIELD_WEBHOOK_RETRY_BASE_S", 30, 1, 3600)),
            webhook_sweep_s=float(_within(environ, "OUTFIELD_WEBHOOK_SWEEP_S", 15, 1, 86400)),
            clock_in=_choice(environ, "OUTFIELD_CLOCK_IN", "optional", ("required", "optional", "off")),
            reminder_near_m=float(_within(environ, "OUTFIELD_REMINDER_NEAR_M", 150, 10, 5000)),
            retention=_retention(environ),
            consent_required=_choice(environ, "OUTFIELD_CONSENT_REQUIRED", "1", ("0", "1")) == "1",
            consent_text_version=(environ.get("OUTFIELD_CONSENT_TEXT_VERSION") or "1").strip()[:50] or "1",
            timezone=_timezone(environ, "OUTFIELD_TIMEZONE", "Europe/Monaco"),
            plan_processes=_within(environ, "OUTFIELD_PLAN_PROCESSES", default_plan_processes(), 1, 64),
        )

    @property
    def cookies_secure(self) -> bool:
        """Session cookies are sent over HTTPS only when the public address is HTTPS."""
        return (self.public_url or "").lower().startswith("https://")


def default_plan_processes() -> int:
    """How many processes a route plan searches on unless OUTFIELD_PLAN_PROCESSES says: two where there are two cores."""
    return min(2, os.cpu_count() or 1)


def _retention(environ: Mapping[str, str]) -> RetentionDays:
    """RetentionDays from OUTFIELD_RETENTION_<KIND>_DAYS, each at least 1 (positions: also the older name)."""
    defaults = RetentionDays()
    days = {}
    for kind in defaults.kinds():
        fallback = getattr(defaults, kind)
        if kind == "positions":
            fallback = _int(environ, "OUTFIELD_POSITION_RETENTION_DAYS", fallback)
        days[kind] = _within(environ, f"OUTFIELD_RETENTION_{kind.upper()}_DAYS", fallback, 1, 36500)
    return RetentionDays(**days)


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"environment variable {name}={raw!r} is not a whole number") from None


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"environment variable {name}={raw!r} is not a number") from None
    if not (value >= 0 and value != float("inf")):
        raise ValueError(f"environment variable {name}={raw!r} must be a finite number >= 0")
    return value


def _choice(environ: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = environ.get(name) or default
    if value not in choices:
        raise ValueError(f"environment variable {name}={value!r}: use one of {', '.join(choices)}")
    return value


def _positive(environ: Mapping[str, str], name: str, default: int) -> int:
    value = _int(environ, name, default)
    if value < 1:
        raise ValueError(f"environment variable {name}={value} must be at least 1")
    return value


def _timezone(environ: Mapping[str, str], name: str, default: str) -> str:
    value = (environ.get(name) or default).strip()
    try:
        localtime.zone(value)
    except ValueError as exc:
        raise ValueError(f"environment variable {name}: {exc}") from None
    return value


def _install_secret(var_dir: Path) -> str:
    """The per-install secret, created on first use so that two installs never share one."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _within(environ: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    value = _int(environ, name, default)
    if not low <= value <= high:
        raise ValueError(f"environment variable {name}={value} must be within {low}..{high}")
    return value
