"""The `python -m data` command line.

The output contracts outside tools rely on (create-user, add-worker, exit code 2 for bad options)
are checked by running `python -m data` as a subprocess; the other commands are run in-process
through `main()`, with the same environment, to keep the suite fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from data.__main__ import IMPORT_KINDS, main
from data.db import make_engine, make_sessionmaker
from data.orders_repo import list_orders
from data.sites_repo import list_sites
from data.tables import PositionRow
from data.users_repo import actor_for_token
from data.workers_repo import get_worker, list_workers
from dispatch.access import Role

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment for a CLI run on a not-yet-existing SQLite file in a not-yet-existing folder."""
    values = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'nested' / 'dir' / 'outfield.db'}",
        "OUTFIELD_VAR": str(tmp_path / "var"),
        "HOST": "0.0.0.0",
        "PORT": "8123",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)  # for in-process main()
    monkeypatch.delenv("PYTHONPATH", raising=False)
    return {**os.environ, **values}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "data", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def _session(env: dict[str, str]):
    return make_sessionmaker(make_engine(env["DATABASE_URL"]))()


def test_create_user_prints_only_a_token_that_authenticates_as_that_user(cli_env: dict[str, str]) -> None:
    """Tests the create-user contract on a fresh file: stdout is one token line that actor_for_token accepts."""
    result = run(cli_env, "create-user", "--role", "dispatcher", "--name", "dora", "--password", "pw")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    with _session(cli_env) as session:
        actor = actor_for_token(session, lines[0])
    assert actor is not None and (actor.name, actor.role) == ("dora", Role.DISPATCHER)
    assert Path(cli_env["OUTFIELD_VAR"]).is_dir()


def test_add_worker_prints_only_the_new_integer_id_and_bad_values_exit_2(cli_env: dict[str, str]) -> None:
    """Tests the add-worker contract (stdout is the stored worker's id) and exit 2 naming a bad --role / --device-id."""
    result = run(
        cli_env, "add-worker", "--name", "Ana", "--device-id", "phone-1", "--skills", "gas, it", "--team", "North"
    )
    assert result.returncode == 0, result.stderr
    worker_id = int(result.stdout.strip())
    with _session(cli_env) as session:
        worker = get_worker(session, worker_id)
    assert (worker.name, worker.device_id, worker.skills, worker.team) == (
        "Ana",
        "phone-1",
        frozenset({"gas", "it"}),
        "North",
    )

    dup = run(cli_env, "add-worker", "--name", "B", "--device-id", "phone-1")
    assert (dup.returncode, dup.stdout) == (2, "")
    assert f"--device-id: 'phone-1' is already used by worker {worker_id}" in dup.stderr
    bad_role = run(cli_env, "create-user", "--role", "boss", "--name", "x")
    assert (bad_role.returncode, bad_role.stdout) == (2, "")
    assert "--role" in bad_role.stderr and "boss" in bad_role.stderr


def test_a_taken_user_name_exits_2_naming_the_option(cli_env: dict[str, str], capsys, fast_password_hashing) -> None:
    """Tests that create-user with a name already taken exits 2 with `--name` in the message and prints no token."""
    assert main(["create-user", "--role", "admin", "--name", "x"]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(["create-user", "--role", "manager", "--name", "x"])
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and "--name: a user named 'x' already exists" in err


def test_import_csv_prints_a_summary_and_each_error_line_and_exits_1(
    cli_env: dict[str, str], tmp_path: Path, capsys
) -> None:
    """Tests that import-csv stores the good rows, prints `line N: field: reason` per error, and exits 1."""
    header = "external_ref,name,address,latitude,longitude,geofence_radius_m,category\n"
    sites = tmp_path / "sites.csv"
    sites.write_text(header + "r1,A,,43.7,7.4,50,\nr2,B,,95.0,7.4,50,\n")
    assert main(["import-csv", "sites", str(sites)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "sites: 1 imported, 0 updated, 1 rows with errors",
        "line 3: latitude: 95.0 is not within -90..90",
    ]
    with _session(cli_env) as session:
        assert [s.external_ref for s in list_sites(session)] == ["r1"]
    sites.write_text(header + "r1,A,,43.7,7.4,50,\n")
    assert main(["import-csv", "sites", str(sites)]) == 0
    assert capsys.readouterr().out.splitlines() == ["sites: 0 imported, 1 updated, 0 rows with errors"]


def test_seed_demo_if_empty_seeds_once_and_demo_info_prints_url_and_logins(
    cli_env: dict[str, str], capsys, fast_password_hashing
) -> None:
    """Tests seed-demo --day, that --if-empty then leaves the data alone, and the demo-info output."""
    assert main(["migrate"]) == 0
    assert main(["seed-demo", "--if-empty", "--day", "2025-03-03"]) == 0
    assert "286 sites, 30 workers, 120 orders" in capsys.readouterr().out
    assert main(["seed-demo", "--if-empty", "--day", "2025-03-04"]) == 0
    assert "demo not seeded" in capsys.readouterr().out
    with _session(cli_env) as session:
        assert {o.reference[:15] for o in list_orders(session)} == {"DEMO-2025-03-03"}
    assert main(["demo-info"]) == 0
    info = capsys.readouterr().out
    assert "http://127.0.0.1:8123/" in info
    for login in ("admin / admin-demo", "dispatcher / dispatcher-demo", "manager / manager-demo"):
        assert login in info
    with pytest.raises(SystemExit) as exited:
        main(["seed-demo", "--day", "03/03/2025"])
    assert exited.value.code == 2 and "--day" in capsys.readouterr().err


def test_seed_demo_seeds_monacos_day_by_default(
    cli_env: dict[str, str], capsys, monkeypatch: pytest.MonkeyPatch, fast_password_hashing
) -> None:
    """Tests that `seed-demo` on a fresh file, in the default office zone (Europe/Monaco), picks Monaco's day and
    hours: at 10:00 UTC on 1 July it is 12:00 there, within the rota's hours, so the demo is 1 July's rota, its
    windows in Monaco's 07:30-21:30 and its workers' shifts read on Monaco's clock; the last line says so."""
    monkeypatch.delenv("OUTFIELD_TIMEZONE", raising=False)
    assert main(["seed-demo", "--now", "2026-07-01T10:00:00+00:00"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "demo for 2026-07-01" in out[0]
    assert out[1] == (
        "demo: the real rota (early, day, late and evening shifts) on today's orders, as it is 12:00 "
        "Europe/Monaco, within the rota's hours (07:30-19:00)"
    )
    monaco = ZoneInfo("Europe/Monaco")
    with _session(cli_env) as session:
        orders = list_orders(session)
        workers = list_workers(session)
    assert {o.reference[:15] for o in orders} == {"DEMO-2026-07-01"}
    assert {o.window.start.astimezone(monaco).date() for o in orders} == {date(2026, 7, 1)}
    assert min(o.window.start.astimezone(monaco).time() for o in orders) >= time(7, 30)
    assert {w.zone for w in workers} == {monaco}
    early = [w for w in workers if w.shifts[0].start == time(7, 30)]
    assert early and all(w.on_shift(datetime(2026, 7, 1, 5, 45, tzinfo=UTC)) for w in early)  # 07:45 in Monaco


def test_seed_demo_with_history_stores_the_days_before_once(
    cli_env: dict[str, str], capsys, fast_password_hashing
) -> None:
    """Tests that `seed-demo --if-empty --history-days 1` (what `./run demo` runs, with 6) at 12:00 Monaco on 1 July
    stores 30 June as worked (its orders closed, its phones' fixes) before today's demo, says so, and that a restart
    on the live demo stores no second history."""
    assert main(["seed-demo", "--if-empty", "--history-days", "1", "--now", "2026-07-01T10:00:00+00:00"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "demo history: 1 day(s) worked, 2026-06-30 to 2026-06-30" and "demo for 2026-07-01" in out[1]
    with _session(cli_env) as session:
        past = [o for o in list_orders(session) if o.reference.startswith("DEMO-2026-06-30-past-")]
        fixes = session.scalar(select(func.count()).select_from(PositionRow))
    assert len(past) == 120 and all(o.status.value in ("done", "cancelled") for o in past)
    assert fixes and fixes > 1000
    assert main(["seed-demo", "--if-empty", "--history-days", "1", "--now", "2026-07-01T10:05:00+00:00"]) == 0
    assert "demo kept as seeded before" in capsys.readouterr().out
    with _session(cli_env) as session:
        assert session.scalar(select(func.count()).select_from(PositionRow)) == fixes


def test_seed_demo_at_night_seeds_a_round_the_clock_rota_and_if_empty_keeps_a_live_demo_and_revives_a_dead_one(
    cli_env: dict[str, str], capsys, monkeypatch: pytest.MonkeyPatch, fast_password_hashing
) -> None:
    """Tests what `./run demo` does at night and on a restart: at 04:46 in Monaco `seed-demo --if-empty` seeds
    a round-the-clock rota (night, morning and afternoon shifts) with orders from 05:00 and says why; restarted at 12:00
    the same day the demo is still live (kept as it is, the morning shift on, said so); restarted at 04:46 the next day
    yesterday's orders are over, so it adds orders from 05:00 that day (the old ones untouched) and `demo-info` says
    which rota it is."""
    monkeypatch.delenv("OUTFIELD_TIMEZONE", raising=False)
    assert main(["migrate"]) == 0
    assert main(["seed-demo", "--if-empty", "--now", "2026-12-05T03:46:00+00:00"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "demo: a round-the-clock rota (night 00:00-08:00, morning 08:00-16:00, afternoon 16:00-24:00), a third of the "
        "staff on each, and orders from 05:00 to 17:00, as it is 04:46 Europe/Monaco, outside the day rota's hours "
        "(07:30-19:00) when it would have few or none on shift"
    )
    assert main(["seed-demo", "--if-empty", "--now", "2026-12-05T11:00:00+00:00"]) == 0
    kept = capsys.readouterr().out
    rota = "round-the-clock rota (night 00:00-08:00, morning 08:00-16:00, afternoon 16:00-24:00)"
    assert kept.startswith(f"demo kept as seeded before: {rota}: 10 of 30 workers on shift now")
    with _session(cli_env) as session:
        assert {o.reference[:21] for o in list_orders(session)} == {"DEMO-2026-12-05-0400Z"}
    assert main(["seed-demo", "--if-empty", "--now", "2026-12-06T03:46:00+00:00"]) == 0
    revived = capsys.readouterr().out.splitlines()
    assert revived[0].startswith(f"the stored demo is not live now ({rota}: 10 of 30 workers on shift now,")
    assert revived[0].endswith(" 0 open orders ahead): adding the demo of now")
    with _session(cli_env) as session:
        orders = list_orders(session)
    assert Counter(o.reference[:21] for o in orders) == {"DEMO-2026-12-05-0400Z": 120, "DEMO-2026-12-06-0400Z": 120}
    assert main(["demo-info"]) == 0  # on the real clock: a third of the staff is on shift at any hour
    assert f"demo now: {rota}: 10 of 30 workers on shift now" in capsys.readouterr().out


def test_purge_positions_prints_the_count(cli_env: dict[str, str], capsys) -> None:
    """Tests that purge-positions runs on a fresh database and reports how many rows it deleted."""
    assert main(["purge-positions"]) == 0
    assert capsys.readouterr().out.strip() == "deleted 0 positions older than 90 days"


def test_the_import_kinds_offered_are_exactly_the_importers() -> None:
    """Tests that the CLI's import-csv choices (kept literal to avoid importing pandas) match the importers."""
    from data.csv_import import IMPORTERS

    assert set(IMPORT_KINDS) == set(IMPORTERS)


def test_add_worker_takes_shifts_and_names_a_bad_one(cli_env: dict[str, str]) -> None:
    """Tests that --shift (repeatable) stores the worker's calendar, and a malformed one exits 2 naming --shift and storing nothing."""
    result = run(cli_env, "add-worker", "--name", "Ana", "--device-id", "phone-9",
                 "--shift", "Mon-Fri 07:00-15:30", "--shift", "Sat 08:00-12:00")  # fmt: skip
    assert result.returncode == 0, result.stderr
    with _session(cli_env) as session:
        worker = get_worker(session, int(result.stdout.strip()))
    assert [(s.weekdays, f"{s.start:%H:%M}", f"{s.end:%H:%M}") for s in worker.shifts] == [
        ((0, 1, 2, 3, 4), "07:00", "15:30"),
        ((5,), "08:00", "12:00"),
    ]
    bad = run(cli_env, "add-worker", "--name", "Bo", "--device-id", "phone-10", "--shift", "Mon-Fri 17:00-09:00")
    assert (bad.returncode, bad.stdout) == (2, "")
    assert "--shift: the end 09:00 is not after the start 17:00" in bad.stderr
    again = run(cli_env, "add-worker", "--name", "Bo", "--device-id", "phone-10")
    assert again.returncode == 0  # the refused call stored nothing


def test_set_password_and_deactivate_user_end_the_users_sessions(cli_env: dict[str, str], capsys) -> None:
    """Tests that set-password makes only the new password work and ends the user's browser sessions, and that
    deactivate-user stops their sessions, their password and their API token; an unknown name exits 2."""
    from data.users_repo import actor_for_session, check_password, session_version

    assert main(["create-user", "--role", "dispatcher", "--name", "desk", "--password", "old-pw"]) == 0
    token = capsys.readouterr().out.strip()
    sessions = make_sessionmaker(make_engine(cli_env["DATABASE_URL"]))
    with sessions() as session:
        actor = check_password(session, name="desk", password="old-pw")
        assert actor is not None
        signed_in_with = session_version(session, actor.id)
        assert signed_in_with is not None

    assert main(["set-password", "--name", "desk", "--password", "new-pw"]) == 0
    assert "sessions are ended" in capsys.readouterr().out
    with sessions() as session:
        assert check_password(session, name="desk", password="old-pw") is None
        assert check_password(session, name="desk", password="new-pw") == actor
        assert actor_for_session(session, user_id=actor.id, version=signed_in_with) is None
        signed_in_with = session_version(session, actor.id)

    assert main(["deactivate-user", "--name", "desk"]) == 0
    with sessions() as session:
        assert actor_for_session(session, user_id=actor.id, version=signed_in_with) is None
        assert check_password(session, name="desk", password="new-pw") is None
        assert actor_for_token(session, token) is None
    with pytest.raises(SystemExit) as exited:
        main(["deactivate-user", "--name", "nobody"])
    assert exited.value.code == 2 and "no user named 'nobody'" in capsys.readouterr().err


def test_purge_prints_what_it_removed_per_kind_as_json(cli_env, capsys):
    """Tests that `python -m data purge` runs on a fresh database and prints one JSON line with a count per kind."""
    assert main(["purge"]) == 0
    counts = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert counts["positions"] == 0 and {"photos", "events", "checkin_locations", "audit", "files"} <= set(counts)


def test_set_scope_narrows_a_user_to_teams_and_refuses_both_or_neither(cli_env, capsys):
    """Tests that `set-scope --teams` stores the teams on the user, and giving both or neither option is exit 2."""
    from data.db import make_engine, make_sessionmaker, session_scope
    from data.settings import Settings
    from data.users_repo import actor_by_name

    assert main(["create-user", "--role", "dispatcher", "--name", "nd"]) == 0
    assert main(["set-scope", "--name", "nd", "--teams", "north,south"]) == 0
    settings = Settings.from_env(os.environ)
    with session_scope(make_sessionmaker(make_engine(settings.database_url))) as session:
        assert sorted(actor_by_name(session, "nd").scope.teams) == ["north", "south"]
    for bad in (["--all-teams", "--teams", "x"], []):
        with pytest.raises(SystemExit) as exit_:
            main(["set-scope", "--name", "nd", *bad])
        assert exit_.value.code == 2


def test_anonymise_needs_confirm_and_runs_once(cli_env, capsys):
    """Tests that `anonymise` without --confirm is exit 2 and changes nothing, with it renames the worker, and a
    second run fails (exit 1) saying the worker was already anonymised."""
    from data.settings import Settings

    assert main(["add-worker", "--name", "Lea Leaver", "--device-id", "leaver-1"]) == 0
    worker_id = int(capsys.readouterr().out.strip())
    with pytest.raises(SystemExit) as exit_:
        main(["anonymise", "--worker-id", str(worker_id)])
    assert exit_.value.code == 2
    engine = make_engine(Settings.from_env(os.environ).database_url)
    with make_sessionmaker(engine)() as session:
        assert get_worker(session, worker_id).name == "Lea Leaver"
    assert main(["anonymise", "--worker-id", str(worker_id), "--confirm"]) == 0
    assert json.loads(capsys.readouterr().out)["worker_id"] == worker_id
    with make_sessionmaker(engine)() as session:
        assert get_worker(session, worker_id).name == f"Former worker #{worker_id}"
    assert main(["anonymise", "--worker-id", str(worker_id), "--confirm"]) == 1
    assert "already anonymised" in capsys.readouterr().err


def test_create_token_gives_a_user_another_token_written_0600_and_replace_or_revoke_tokens_end_them(
    cli_env: dict[str, str], capsys, tmp_path: Path
) -> None:
    """Tests that create-token prints one more working token of the named user, that --out writes it to a file only
    its owner may read (and prints no token), that --replace ends the earlier ones, that revoke-tokens ends the rest,
    and that an unknown name exits 2."""
    assert main(["create-user", "--role", "dispatcher", "--name", "simulator"]) == 0
    first = capsys.readouterr().out.strip()
    assert main(["create-token", "--name", "simulator"]) == 0
    second = capsys.readouterr().out.strip()
    out = tmp_path / "simulator.token"
    out.write_text("old")
    out.chmod(0o644)
    assert main(["create-token", "--name", "simulator", "--replace", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    third = out.read_text().strip()
    assert out.stat().st_mode & 0o777 == 0o600
    assert third not in said and "2 earlier token(s) revoked" in said
    with _session(cli_env) as session:
        alive = [actor_for_token(session, t) is not None for t in (first, second, third)]
        assert actor_for_token(session, third).name == "simulator"
    assert alive == [False, False, True]
    assert main(["revoke-tokens", "--name", "simulator"]) == 0
    assert "1 API token(s) of simulator revoked" in capsys.readouterr().out
    with _session(cli_env) as session:
        assert actor_for_token(session, third) is None
    with pytest.raises(SystemExit) as exit_:
        main(["create-token", "--name", "nobody"])
    assert exit_.value.code == 2 and "--name: no user named 'nobody'" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["import-gpx", "track.gpx"], ["anonymise", "--confirm"],
                                     ["add-leave", "--start", "2026-03-02", "--end", "2026-03-02"]])  # fmt: skip
def test_a_worker_id_an_id_column_cannot_hold_is_refused_naming_the_option(cli_env, capsys, command):
    """Tests that --worker-id of 23 digits is exit 2 naming the option and the bound (it was a traceback from
    SQLite: int too large to convert)."""
    with pytest.raises(SystemExit) as exit_:
        main([command[0], "--worker-id", "9" * 23, *command[1:]])
    assert exit_.value.code == 2
    assert f"--worker-id: '{'9' * 23}' is not an id (1..9223372036854775807)" in capsys.readouterr().err
