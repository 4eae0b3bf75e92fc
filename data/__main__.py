"""`python -m data ...`: schema migration, users, workers, CSV and GPX import, the demo and retention.

The output of `create-user` and `create-token` (only the token), `add-worker` (only the id) and `import-gpx` (one JSON
summary line) is a contract used by scripts and tests: keep it to that one line on stdout. Everything else a command says goes to
stdout as a human summary, and errors go to stderr. Exit codes: 0 ok, 1 failed (e.g. CSV rows
rejected), 2 bad usage (an option with a bad value, named in the message).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta

from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from data.db import make_engine, make_sessionmaker, session_scope, sqlite_path
from data.migrate import current_revision, head_revision, migrate
from data.positions_repo import purge_positions
from data.scenario import (
    DEMO_LOGINS,
    HISTORY_DAYS,
    ORDER_COUNT,
    WORKER_COUNT,
    choose_demo,
    demo_day,
    demo_state,
    is_empty,
    monaco_pois,
    seed_chosen_demo,
    seed_demo,
    seed_history,
    sites_on_roads,
)
from data.settings import Settings
from data.users_repo import actor_by_name, create_user, issue_token, revoke_user_tokens, set_active, set_password
from data.workers_repo import add_worker
from dispatch import localtime
from dispatch.access import Role
from dispatch.clock import SystemClock
from dispatch.errors import MAX_ID
from dispatch.fields import FieldError
from dispatch.geo import LatLon
from dispatch.road_path import RoadRoute
from dispatch.workers import worker_input
from routing.travel import TravelTimes

# Which command-line option a repository's field error is about, for messages such as "--name: ...".
_OPTION_FOR_FIELD = {"name": "--name", "role": "--role", "password": "--password", "device_id": "--device-id"}


IMPORT_KINDS = ("workers", "sites", "orders")


class UsageError(Exception):
    """A bad option value: reported with exit code 2, like argparse's own errors."""


def _prepare_storage(settings: Settings) -> None:
    """Create the var directory and the SQLite file's folder, so a fresh checkout just works."""
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    path = sqlite_path(settings.database_url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


@contextmanager
def _database(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """A session factory on a database at the code's schema revision; the engine is disposed after.

    A database alembic has never touched is migrated on the spot (so `create-user` works on a fresh
    file); one at an older revision is left alone and the command fails, asking for `migrate`.
    """
    engine = make_engine(settings.database_url)
    try:
        if not inspect(engine).has_table("alembic_version"):
            migrate(settings.database_url)
            print("the database was empty: created the schema", file=sys.stderr)
        elif (current := current_revision(engine)) != head_revision():
            raise RuntimeError(
                f"the database schema is at {current}, the code needs {head_revision()}: run `python -m data migrate`"
            )
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()


def _usage_from(exc: ValueError) -> UsageError:
    message = str(exc)
    field, _, reason = message.partition(": ")
    option = _OPTION_FOR_FIELD.get(field)
    return UsageError(f"{option}: {reason}" if option and reason else message)


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    migrate(settings.database_url)
    print(f"database at schema revision {head_revision()}")
    return 0


def cmd_create_user(settings: Settings, args: argparse.Namespace) -> int:
    with _database(settings) as factory:
        try:
            with session_scope(factory) as session:
                _, token = create_user(session, name=args.name, role=Role(args.role), password=args.password)
        except ValueError as exc:
            raise _usage_from(exc) from None
    print(token)
    return 0


def cmd_create_token(settings: Settings, args: argparse.Namespace) -> int:
    """Another API token for an existing user (a client such as the demo simulator is given it, never mints it)."""
    with _database(settings) as factory:
        try:
            with session_scope(factory) as session:
                user_id = _user_id(session, args.name)
                now = SystemClock().now()
                revoked = revoke_user_tokens(session, user_id=user_id, now=now) if args.replace else 0
                token = issue_token(session, user_id=user_id, now=now)
                if args.out is not None:  # written before the commit: no live token exists that nobody holds
                    _write_private(args.out, token)
        except ValueError as exc:
            raise _usage_from(exc) from None
        except OSError as exc:
            raise UsageError(f"--out: cannot write {args.out}: {exc.strerror}") from None
    if args.out is None:
        print(token)
    else:
        print(f"an API token of {args.name} written to {args.out} (readable by this user only)"
              + (f"; {revoked} earlier token(s) revoked" if revoked else ""))  # fmt: skip
    return 0


def cmd_revoke_tokens(settings: Settings, args: argparse.Namespace) -> int:
    with _database(settings) as factory:
        try:
            with session_scope(factory) as session:
                revoked = revoke_user_tokens(session, user_id=_user_id(session, args.name), now=SystemClock().now())
        except ValueError as exc:
            raise _usage_from(exc) from None
    print(f"{revoked} API token(s) of {args.name} revoked; their sessions are untouched")
    return 0


def _write_private(path: str, text: str) -> None:
    """`text` into `path`, created or truncated with mode 0600 (a token must not be readable by other users)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT: set it
    with os.fdopen(fd, "w") as out:
        out.write(text + "\n")


def cmd_set_password(settings: Settings, args: argparse.Namespace) -> int:
    with _database(settings) as factory:
        try:
            with session_scope(factory) as session:
                set_password(session, user_id=_user_id(session, args.name), password=args.password)
        except ValueError as exc:
            raise _usage_from(exc) from None
    print(f"password of {args.name} changed; their browser sessions are ended")
    return 0


def cmd_deactivate_user(settings: Settings, args: argparse.Namespace) -> int:
    with _database(settings) as factory:
        try:
            with session_scope(factory) as session:
                set_active(session, user_id=_user_id(session, args.name), active=False)
        except ValueError as exc:
            raise _usage_from(exc) from None
    print(f"{args.name} deactivated: their sessions and API tokens no longer work")
    return 0


def _user_id(session: Session, name: str) -> int:
    actor = actor_by_name(session, name)
    if actor is None:
        raise ValueError(f"name: no user named {name!r}")
    return actor.id


def cmd_add_worker(settings: Settings, args: argparse.Namespace) -> int:
    # The administration API's reading of a worker (dispatch.workers.worker_input): one set of rules.
    body = {
        "name": args.name,
        "device_id": args.device_id,
        "skills": [s.strip() for s in (args.skills or "").split(",") if s.strip()],
        "shifts": list(args.shift or ()),
    }
    try:
        data = worker_input(body, creating=True)
    except FieldError as exc:
        option = "--shift" if exc.field == "shifts" else _OPTION_FOR_FIELD.get(exc.field, f"--{exc.field}")
        raise UsageError(f"{option}: {exc.reason}") from None
    with _database(settings) as factory:
        try:
            with session_scope(factory) as session:
                worker = add_worker(
                    session, name=data.name, device_id=data.device_id, skills=data.skills, team=args.team,
                    shifts=data.shifts,
                    timezone=args.timezone or settings.timezone,
                )  # fmt: skip
        except ValueError as exc:
            raise _usage_from(exc) from None
    print(worker.id)
    return 0


def cmd_add_leave(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import date

    from data.workers_repo import add_leave

    try:
        start, end = date.fromisoformat(args.start), date.fromisoformat(args.end)
    except ValueError:
        raise UsageError("--start/--end: expected dates as YYYY-MM-DD") from None
    with _database(settings) as factory:
        try:
            with session_scope(factory) as session:
                add_leave(session, worker_id=args.worker_id, start=start, end=end, reason=args.reason)
        except ValueError as exc:
            raise _usage_from(exc) from None
    print(f"worker {args.worker_id} away {start.isoformat()}..{end.isoformat()}")
    return 0


def cmd_import_csv(settings: Settings, args: argparse.Namespace) -> int:
    if not os.path.isfile(args.file):
        raise UsageError(f"FILE: {args.file} is not a readable file")
    from data.csv_import import IMPORTERS  # pandas is slow to import; only this command needs it

    importer = IMPORTERS[args.kind]
    if args.kind == "workers":  # shift times are the office's clock
        importer = functools.partial(importer, timezone=settings.timezone)
    with _database(settings) as factory, session_scope(factory) as session:
        report = importer(session, args.file)
    print(f"{args.kind}: {report.imported} imported, {report.updated} updated, {len(report.errors)} rows with errors")
    for error in report.errors:
        print(error)
    return 1 if report.errors else 0


def cmd_import_gpx(settings: Settings, args: argparse.Namespace) -> int:
    from data.gpx_import import NotGpx, import_gpx, read_gpx

    if not os.path.isfile(args.file):
        raise UsageError(f"FILE: {args.file} is not a readable file")
    with open(args.file, "rb") as f:
        data = f.read()
    try:
        points = read_gpx(data)
    except NotGpx as exc:
        print(f"error: {args.file}: {exc}", file=sys.stderr)
        return 1
    with _database(settings) as factory:
        try:
            with session_scope(factory) as session:
                summary = import_gpx(
                    session,
                    worker_id=args.worker_id,
                    points=points,
                    now=SystemClock().now(),
                    source=os.path.basename(args.file),
                )
        except ValueError as exc:
            raise UsageError(str(exc).replace("worker_id: ", "--worker-id: ", 1)) from None
    print(json.dumps(summary.to_json()))
    if summary.stored == 0:
        why = ", ".join(f"{n} {reason}" for reason, n in sorted(summary.skipped.items())) or "it holds no points"
        print(f"error: {args.file}: nothing importable ({why})", file=sys.stderr)
        return 1
    return 0


def cmd_seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    now = args.now or SystemClock().now()
    zone = localtime.zone(settings.timezone)
    with _database(settings) as factory, session_scope(factory) as session:
        if args.day is not None or args.all_day:  # the day or the shifts given: seeded as asked
            if args.if_empty and not is_empty(session):
                print("the database already holds data: demo not seeded")
                return 0
            summary = seed_demo(
                session, seed=settings.seed, day=args.day or demo_day(now, zone), zone=zone, workers=args.workers,
                orders=args.orders, now=now, all_day=args.all_day, consent_text_version=settings.consent_text_version,
            )  # fmt: skip
            reason = None
        else:  # the demo that is live now (`./run demo`), kept when the database already holds a live one
            if args.if_empty and not is_empty(session):
                state = demo_state(session, now)
                if state is None:
                    print("the database already holds data: demo not seeded")
                    return 0
                if state.live:
                    print(f"demo kept as seeded before: {state.describe()}")
                    return 0
                print(f"the stored demo is not live now ({state.describe()}): adding the demo of now")
            choice = choose_demo(now, zone)
            roads = _roads(settings) if args.history_days else None
            route_of = roads[1] if roads is not None else None
            reached = sites_on_roads(monaco_pois(), roads[0]) if roads is not None else None
            if roads is not None:
                past = seed_history(
                    session, seed=settings.seed, today=choice.day, zone=zone, days=args.history_days,
                    round_the_clock=choice.round_the_clock, travel=roads[0], route_of=roads[1], workers=args.workers,
                    orders=args.orders, consent_text_version=settings.consent_text_version, reached=reached,
                )  # fmt: skip
                if past:
                    print(f"demo history: {len(past)} day(s) worked, {past[0].isoformat()} to {past[-1].isoformat()}")
            summary = seed_chosen_demo(
                session, seed=settings.seed, choice=choice, zone=zone, now=now, workers=args.workers,
                orders=args.orders, consent_text_version=settings.consent_text_version,
                route_of=route_of, reached=reached,
            )  # fmt: skip
            reason = choice.reason
    print(
        f"demo for {summary.day.isoformat()} (seed {settings.seed}): {summary.sites} sites, "
        f"{summary.workers} workers, {summary.orders} orders"
    )
    if reason is not None:
        print(f"demo: {reason}")
    return 0


def _roads(settings: Settings) -> tuple[TravelTimes, Callable[[LatLon, LatLon], RoadRoute]]:
    """The built network's travel times (straight lines when it is not built), for the plans of the demo's past days,
    and its road routes between two points (straight lines where there is none), for their trajectories."""
    from routing.travel import StraightLine, make_travel_times

    travel, straight = make_travel_times(settings.osrm_dir), StraightLine()
    return travel, lambda a, b: travel.route(a, b) or straight.route(a, b)


def cmd_demo_info(settings: Settings, _args: argparse.Namespace) -> int:
    # A server listening on every interface is reached on this machine through localhost.
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    host = f"[{host}]" if ":" in host else host
    print(f"Outfield console: http://{host}:{settings.port}/")
    print("demo logins (name / password):")
    for name, password, role in DEMO_LOGINS:
        print(f"  {name} / {password}  ({role.value})")
    with _database(settings) as factory, session_scope(factory) as session:
        state = demo_state(session, SystemClock().now())
    if state is not None:
        print(f"demo now: {state.describe()}")
    return 0


def cmd_purge_positions(settings: Settings, _args: argparse.Namespace) -> int:
    before = SystemClock().now() - timedelta(days=settings.position_retention_days)
    with _database(settings) as factory, session_scope(factory) as session:
        count = purge_positions(session, before=before)
    print(f"deleted {count} positions older than {settings.position_retention_days} days")
    return 0


def cmd_purge(settings: Settings, _args: argparse.Namespace) -> int:
    """Purge every kind of personal data past its retention; prints one JSON line of counts per kind."""
    from data import privacy_repo

    with _database(settings) as factory:
        with session_scope(factory) as session:
            purged = privacy_repo.purge(session, now=SystemClock().now(), retention=settings.retention)
        removed = 0
        for path in purged.files:  # after the commit, as the worker process does
            try:
                os.remove(path)
                removed += 1
            except FileNotFoundError:
                pass
    print(json.dumps({**purged.counts, "files": removed}))
    return 0


def cmd_set_scope(settings: Settings, args: argparse.Namespace) -> int:
    from data.users_repo import set_scope
    from dispatch.access import ALL_TEAMS, TeamScope

    teams = [t.strip() for t in (args.teams or "").split(",") if t.strip()]
    if args.all_teams == bool(teams):
        raise UsageError("give either --all-teams or --teams NAME[,NAME...]")
    with _database(settings) as factory:
        try:
            with session_scope(factory) as session:
                set_scope(session, user_id=_user_id(session, args.name),
                          scope=ALL_TEAMS if args.all_teams else TeamScope.of(teams))  # fmt: skip
        except ValueError as exc:
            raise _usage_from(exc) from None
    print(f"{args.name} now sees {'every team' if args.all_teams else 'teams ' + ', '.join(teams)}")
    return 0


def cmd_anonymise(settings: Settings, args: argparse.Namespace) -> int:
    from data import audit_repo, field_repo, privacy_repo

    if not args.confirm:
        raise UsageError("--confirm: anonymising removes the worker's personal data for good")
    now = SystemClock().now()
    with _database(settings) as factory:
        with session_scope(factory) as session:
            done = privacy_repo.anonymise(session, worker_id=args.worker_id, at=now)
            field_repo.revoke_links(session, worker_id=args.worker_id, at=now)
            audit_repo.record(session, actor_id=None, action="anonymise-worker", subject_type="worker",
                              subject_id=args.worker_id, at=now, details={"removed": done.counts, "via": "cli"})  # fmt: skip
        for path in done.files:
            try:
                os.remove(path)
            except FileNotFoundError:
                pass
    print(json.dumps({"worker_id": args.worker_id, "removed": done.counts}))
    return 0


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date YYYY-MM-DD") from None


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date and time (ISO 8601)") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{value!r} has no UTC offset (e.g. 2026-03-03T10:30+00:00)")
    return moment


def _worker_id(value: str) -> int:
    """A worker id as typed: a whole number an id column holds (a larger one was a traceback in the database)."""
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_ID:
        raise argparse.ArgumentTypeError(f"{value!r} is not an id (1..{MAX_ID})")
    return int(value)


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of at least 1")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m data", description="Outfield storage: schema, users, workers, imports, demo."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("migrate", help="upgrade the database schema to the newest revision").set_defaults(run=cmd_migrate)

    p = sub.add_parser("create-user", help="create a user; prints only their API token")
    p.add_argument("--role", required=True, choices=[r.value for r in Role])
    p.add_argument("--name", required=True)
    p.add_argument("--password", default=None)
    p.set_defaults(run=cmd_create_user)

    p = sub.add_parser(
        "create-token", help="another API token for an existing user; prints only the token (or writes it: --out)"
    )
    p.add_argument("--name", required=True)
    p.add_argument("--replace", action="store_true", help="revoke the user's earlier API tokens first")
    p.add_argument("--out", metavar="FILE", default=None, help="write the token to FILE (mode 0600) instead")
    p.set_defaults(run=cmd_create_token)

    p = sub.add_parser("revoke-tokens", help="end every API token of a user (their browser sessions stay)")
    p.add_argument("--name", required=True)
    p.set_defaults(run=cmd_revoke_tokens)

    p = sub.add_parser("set-password", help="change a user's password; ends every browser session of theirs")
    p.add_argument("--name", required=True)
    p.add_argument("--password", required=True)
    p.set_defaults(run=cmd_set_password)

    p = sub.add_parser("deactivate-user", help="stop a user: their sessions and API tokens stop working at once")
    p.add_argument("--name", required=True)
    p.set_defaults(run=cmd_deactivate_user)

    p = sub.add_parser("add-worker", help="add a field worker; prints only the new worker id")
    p.add_argument("--name", required=True)
    p.add_argument("--device-id", required=True)
    p.add_argument("--skills", default="", help="comma-separated, e.g. gas,plumbing")
    p.add_argument("--team", default="")
    p.add_argument(
        "--shift",
        action="append",
        metavar="'DAYS HH:MM-HH:MM'",
        help="repeatable, e.g. 'Mon-Fri 07:00-15:30' on the worker's clock (--timezone); positions are kept only "
        "on shift (none given: always kept)",
    )
    p.add_argument(
        "--timezone", default=None, help="IANA zone of the worker's shift times (default: OUTFIELD_TIMEZONE)"
    )
    p.set_defaults(run=cmd_add_worker)

    p = sub.add_parser("add-leave", help="record that a worker is away (sick, holiday) for whole days")
    p.add_argument("--worker-id", type=_worker_id, required=True)
    p.add_argument("--start", required=True, help="first day away, YYYY-MM-DD")
    p.add_argument("--end", required=True, help="last day away, YYYY-MM-DD")
    p.add_argument("--reason", default="leave")
    p.set_defaults(run=cmd_add_leave)

    p = sub.add_parser("import-csv", help="import workers, sites or orders from a CSV file")
    p.add_argument("kind", choices=IMPORT_KINDS)
    p.add_argument("file", metavar="FILE")
    p.set_defaults(run=cmd_import_csv)

    p = sub.add_parser(
        "import-gpx", help="store a worker's history from a GPX file; prints a JSON summary (stored, skipped by reason)"
    )
    p.add_argument("--worker-id", type=_worker_id, required=True)
    p.add_argument("file", metavar="FILE")
    p.set_defaults(run=cmd_import_gpx)

    p = sub.add_parser("seed-demo", help="store the demo scenario (Monaco sites, 30 workers, 120 orders)")
    p.add_argument(
        "--if-empty",
        action="store_true",
        help="do nothing when the database already holds data (without --day/--all-day: unless it is the demo and "
        "not live now, with nobody on shift or under 10 open orders ahead; then add the demo of now)",
    )
    p.add_argument(
        "--day",
        type=_day,
        default=None,
        help="the day of the demo orders (07:30-21:30), YYYY-MM-DD, in OUTFIELD_TIMEZONE (default: the demo that is "
        "live now: the rota's day from 07:30 to 19:00 there, else a round-the-clock rota (night, morning, "
        "afternoon) and orders in the next 12 hours)",
    )
    p.add_argument(
        "--history-days",
        type=int,
        default=0,
        metavar="N",
        help="without --day/--all-day: also store the N days before today as worked, with the phones' trajectories "
        "along the roads (and today's morning's), so reports, timesheets and history have a week to show; ./run demo "
        f"uses {HISTORY_DAYS}",
    )
    p.add_argument(
        "--now",
        type=_moment,
        default=None,
        help="the moment the day is worked up to, ISO 8601 with offset (default: the clock's now)",
    )
    p.add_argument(
        "--all-day",
        action="store_true",
        help="every worker on shift round the clock instead of the rota, orders 07:30-21:30 of --day (benchmarks, "
        "tests at any hour)",
    )
    p.add_argument("--workers", type=_positive, default=WORKER_COUNT, help="how many workers (default: 30)")
    p.add_argument("--orders", type=_positive, default=ORDER_COUNT, help="how many orders (default: 120)")
    p.set_defaults(run=cmd_seed_demo)

    sub.add_parser("demo-info", help="print the console URL and the demo logins").set_defaults(run=cmd_demo_info)
    sub.add_parser("purge-positions", help="delete positions older than the retention period").set_defaults(
        run=cmd_purge_positions
    )
    sub.add_parser(
        "purge", help="purge every kind of personal data past its retention; prints a JSON count per kind"
    ).set_defaults(run=cmd_purge)
    p = sub.add_parser("set-scope", help="which teams' workers and orders a dispatcher or manager sees")
    p.add_argument("--name", required=True)
    p.add_argument("--teams", default="", help="comma-separated team names")
    p.add_argument("--all-teams", action="store_true")
    p.set_defaults(run=cmd_set_scope)
    p = sub.add_parser("anonymise", help="anonymise a leaver for good (orders and km aggregates are kept)")
    p.add_argument("--worker-id", type=_worker_id, required=True)
    p.add_argument("--confirm", action="store_true")
    p.set_defaults(run=cmd_anonymise)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
        _prepare_storage(settings)
        return int(args.run(settings, args))
    except UsageError as exc:
        parser.error(str(exc))  # exits 2
    except (ValueError, RuntimeError, OSError, SQLAlchemyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
