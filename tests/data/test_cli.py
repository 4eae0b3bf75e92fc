"""The `python -m data` command line, run as a subprocess the way outside tools run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from data.db import make_engine, make_sessionmaker
from data.orders_repo import list_orders
from data.sites_repo import list_sites
from data.users_repo import actor_for_token
from data.workers_repo import get_worker
from dispatch.access import Role

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "OUTFIELD_VAR", "PYTHONPATH")}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'nested' / 'dir' / 'outfield.db'}",
        OUTFIELD_VAR=str(tmp_path / "var"),
        HOST="0.0.0.0",
        PORT="8123",
    )
    return env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "data", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def _session(env: dict[str, str]):
    return make_sessionmaker(make_engine(env["DATABASE_URL"]))()


def test_create_user_prints_only_a_token_that_authenticates_as_that_user(cli_env: dict[str, str]) -> None:
    """Tests the create-user contract on a fresh database: stdout is one token line that actor_for_token accepts."""
    assert run(cli_env, "migrate").returncode == 0
    result = run(cli_env, "create-user", "--role", "dispatcher", "--name", "dora", "--password", "pw")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    with _session(cli_env) as session:
        actor = actor_for_token(session, lines[0])
    assert actor is not None and (actor.name, actor.role) == ("dora", Role.DISPATCHER)
    assert (Path(cli_env["OUTFIELD_VAR"])).is_dir()


def test_add_worker_prints_only_the_new_integer_id(cli_env: dict[str, str]) -> None:
    """Tests the add-worker contract, also on a database never migrated: stdout is the stored worker's id."""
    result = run(cli_env, "add-worker", "--name", "Ana", "--device-id", "phone-1", "--skills", "gas, it", "--team", "North")
    assert result.returncode == 0, result.stderr
    worker_id = int(result.stdout.strip())
    with _session(cli_env) as session:
        worker = get_worker(session, worker_id)
    assert (worker.name, worker.device_id, worker.skills, worker.team) == ("Ana", "phone-1", frozenset({"gas", "it"}), "North")


def test_bad_role_and_duplicates_exit_2_naming_the_option(cli_env: dict[str, str]) -> None:
    """Tests that a bad --role, a taken --name and a taken --device-id exit 2 with the option in the message."""
    bad_role = run(cli_env, "create-user", "--role", "boss", "--name", "x")
    assert bad_role.returncode == 2 and "--role" in bad_role.stderr and bad_role.stdout == ""
    assert run(cli_env, "create-user", "--role", "admin", "--name", "x").returncode == 0
    taken = run(cli_env, "create-user", "--role", "admin", "--name", "x")
    assert taken.returncode == 2 and "--name: a user named 'x' already exists" in taken.stderr
    assert run(cli_env, "add-worker", "--name", "A", "--device-id", "d").returncode == 0
    dup = run(cli_env, "add-worker", "--name", "B", "--device-id", "d")
    assert dup.returncode == 2 and "--device-id: 'd' is already used" in dup.stderr


def test_import_csv_prints_a_summary_and_each_error_line_and_exits_1(cli_env: dict[str, str], tmp_path: Path) -> None:
    """Tests that import-csv stores the good rows, prints `line N: field: reason` per error, and exits 1."""
    sites = tmp_path / "sites.csv"
    sites.write_text(
        "external_ref,name,address,latitude,longitude,geofence_radius_m,category\n"
        "r1,A,,43.7,7.4,50,\n"
        "r2,B,,95.0,7.4,50,\n"
    )
    result = run(cli_env, "import-csv", "sites", str(sites))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "sites: 1 imported, 0 updated, 1 rows with errors",
        "line 3: latitude: 95.0 is not within -90..90",
    ]
    with _session(cli_env) as session:
        assert [s.external_ref for s in list_sites(session)] == ["r1"]
    sites.write_text("external_ref,name,address,latitude,longitude,geofence_radius_m,category\nr1,A,,43.7,7.4,50,\n")
    again = run(cli_env, "import-csv", "sites", str(sites))
    assert (again.returncode, again.stdout.splitlines()) == (0, ["sites: 0 imported, 1 updated, 0 rows with errors"])


def test_seed_demo_if_empty_seeds_once_and_demo_info_prints_url_and_logins(cli_env: dict[str, str]) -> None:
    """Tests seed-demo --day, that --if-empty then leaves the data alone, and the demo-info output."""
    first = run(cli_env, "seed-demo", "--if-empty", "--day", "2025-03-03")
    assert first.returncode == 0, first.stderr
    assert "286 sites, 30 workers, 120 orders" in first.stdout
    second = run(cli_env, "seed-demo", "--if-empty", "--day", "2025-03-04")
    assert second.returncode == 0 and "demo not seeded" in second.stdout
    with _session(cli_env) as session:
        assert {o.reference[:15] for o in list_orders(session)} == {"DEMO-2025-03-03"}
    info = run(cli_env, "demo-info")
    assert info.returncode == 0
    assert "http://127.0.0.1:8123/" in info.stdout
    assert "admin / admin-demo" in info.stdout and "dispatcher / dispatcher-demo" in info.stdout
    assert "manager / manager-demo" in info.stdout
    bad_day = run(cli_env, "seed-demo", "--day", "03/03/2025")
    assert bad_day.returncode == 2 and "--day" in bad_day.stderr


def test_purge_positions_prints_the_count(cli_env: dict[str, str]) -> None:
    """Tests that purge-positions runs on an empty database and reports how many rows it deleted."""
    result = run(cli_env, "purge-positions")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "deleted 0 positions older than 90 days"


def test_the_import_kinds_offered_are_exactly_the_importers() -> None:
    """Tests that the CLI's import-csv choices (kept literal to avoid importing pandas) match the importers."""
    from data.__main__ import IMPORT_KINDS
    from data.csv_import import IMPORTERS

    assert set(IMPORT_KINDS) == set(IMPORTERS)
