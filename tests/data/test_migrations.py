"""The alembic migrations against the ORM models, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from data.db import make_engine
from data.migrate import alembic_config, current_revision, head_revision, migrate
from data.tables import Base, is_search_table


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


def test_migrating_an_empty_database_creates_exactly_the_models_schema(empty_url: str) -> None:
    """Tests that `upgrade head` on an empty database yields a schema alembic finds identical to the models."""
    migrate(empty_url)
    engine = make_engine(empty_url)
    try:
        with engine.connect() as connection:

            def models_only(name: str | None, type_: str, _parents: object) -> bool:
                return not (type_ == "table" and is_search_table(name))

            opts = {"compare_type": True, "include_name": models_only}
            context = MigrationContext.configure(connection, opts=opts)
            assert compare_metadata(context, Base.metadata) == []
            tables = {t for t in inspect(connection).get_table_names() if not is_search_table(t)}
            assert tables == set(Base.metadata.tables) | {"alembic_version"}
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_migrating_twice_is_a_no_op(empty_url: str) -> None:
    """Tests that running the migrations on an up-to-date database changes nothing and does not fail."""
    migrate(empty_url)
    migrate(empty_url)
    engine = make_engine(empty_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_migrate_works_from_any_working_directory(sqlite_url: str, tmp_path, monkeypatch) -> None:
    """Tests that migrate() finds its scripts from the package, not from the current directory."""
    monkeypatch.chdir(tmp_path)
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_downgrading_to_base_removes_every_table_and_upgrading_restores_them(empty_url: str) -> None:
    """Tests that the initial migration's downgrade is complete and reversible (also via the URL code path)."""
    config = alembic_config(database_url=empty_url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    engine = make_engine(empty_url)
    try:
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        command.upgrade(config, "head")
        tables = {t for t in inspect(engine).get_table_names() if not is_search_table(t)}
        assert tables == set(Base.metadata.tables) | {"alembic_version"}
    finally:
        engine.dispose()


def test_migration_0003_removes_duplicate_fixes_and_refuses_new_ones(empty_url: str) -> None:
    """Tests that positions stored twice for one worker and fix time (phone resends before 0003) are kept
    once, the first one stored, and that the database then refuses a second row for that worker and time."""
    config = alembic_config(database_url=empty_url)
    command.upgrade(config, "0002")
    engine = make_engine(empty_url)
    row = (
        "INSERT INTO positions (worker_id, device_id, fix_time, device_time, server_time, latitude, longitude,"
        " mock, valid, attributes) VALUES (:w, 'dev', :t, :t, :t, :lat, 7.42, false, true, '{}')"
    )
    t1, t2 = "2025-03-03 08:00:00", "2025-03-03 08:01:00"
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO workers (name, device_id, active, skills, team) VALUES ('Ana', 'dev', true, '[]', '')"
                )
            )
            worker = connection.execute(text("SELECT id FROM workers")).scalar_one()
            for t, lat in ((t1, 43.1), (t1, 43.2), (t2, 43.3), (t1, 43.4)):
                connection.execute(text(row), {"w": worker, "t": t, "lat": lat})
        command.upgrade(config, "head")
        with engine.connect() as connection:
            kept = connection.execute(text("SELECT latitude FROM positions ORDER BY id")).scalars().all()
            assert kept == [43.1, 43.3]
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(text(row), {"w": worker, "t": t2, "lat": 43.5})
    finally:
        engine.dispose()


def test_migration_0005_gives_stored_suspicious_check_ins_their_kind_and_one_open_alert(empty_url: str) -> None:
    """Tests that suspicious check-in alerts stored before 0005 get kind, worker, order, time and reason from their
    event, that of two open ones for the same order only the newest stays open, and that the database then refuses
    a second open alert with the same key."""
    config = alembic_config(database_url=empty_url)
    command.upgrade(config, "0004")
    engine = make_engine(empty_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO workers (name, device_id, active, skills, team) VALUES ('Ana', 'dev', true, '[]', '')"
                )
            )
            for at in ("2025-03-03 08:00:00", "2025-03-03 09:00:00"):
                connection.execute(
                    text(
                        "INSERT INTO events (type, worker_id, order_id, at, details) VALUES"
                        " ('checkin_suspicious', 1, NULL, :at, :details)"
                    ),
                    {"at": at, "details": '{"reason": "412 m from the site", "kind": "check_in"}'},
                )
            connection.execute(text("INSERT INTO alerts (event_id, status) SELECT id, 'open' FROM events"))
        command.upgrade(config, "head")
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT kind, worker_id, status, reason, open_key FROM alerts ORDER BY id")
            ).all()
        assert [tuple(r) for r in rows] == [
            ("suspicious_check_in", 1, "acknowledged", "412 m from the site", None),
            ("suspicious_check_in", 1, "open", "412 m from the site", "suspicious_check_in:1:0"),
        ]
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO alerts (event_id, status, kind, reason, note, open_key)"
                    " VALUES (1, 'open', 'sos', '', '', 'suspicious_check_in:1:0')"
                )
            )
    finally:
        engine.dispose()


def test_migration_0011_turns_the_team_names_workers_carry_into_teams(empty_url: str) -> None:
    """Tests that upgrading a database whose workers carry team names (typed on the command line or in a CSV)
    creates one team per name and points each worker at it, leaving workers without a team without one."""
    config = alembic_config(database_url=empty_url)
    command.upgrade(config, "0017")
    engine = make_engine(empty_url)
    insert = "INSERT INTO workers (name, device_id, skills, team, active) VALUES (:n, :d, '[]', :t, true)"
    try:
        with engine.begin() as connection:
            for n, team in enumerate(["North", "South", "North", ""]):
                connection.execute(text(insert), {"n": f"w{n}", "d": f"d{n}", "t": team})
        command.upgrade(config, "head")
        with engine.connect() as connection:
            teams = dict(connection.execute(text("SELECT name, id FROM teams")).all())
            workers = connection.execute(text("SELECT device_id, team, team_id FROM workers ORDER BY device_id")).all()
        assert sorted(teams) == ["North", "South"]
        assert [tuple(w) for w in workers] == [
            ("d0", "North", teams["North"]),
            ("d1", "South", teams["South"]),
            ("d2", "North", teams["North"]),
            ("d3", "", None),
        ]
    finally:
        engine.dispose()


def test_migration_0018_gives_workers_without_a_zone_the_offices(
    empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests that upgrading with OUTFIELD_TIMEZONE=Asia/Shanghai stores Shanghai for a worker saved without a zone
    (whose shifts were read as UTC) and keeps a worker's own zone."""
    config = alembic_config(database_url=empty_url)
    command.upgrade(config, "0014")
    engine = make_engine(empty_url)
    insert = "INSERT INTO workers (name, device_id, skills, team, active, timezone) VALUES (:n, :d, '[]', '', true, :z)"
    try:
        with engine.begin() as connection:
            connection.execute(text(insert), {"n": "old", "d": "d-old", "z": None})
            connection.execute(text(insert), {"n": "own", "d": "d-own", "z": "Europe/Paris"})
        monkeypatch.setenv("OUTFIELD_TIMEZONE", "Asia/Shanghai")
        command.upgrade(config, "head")
        with engine.connect() as connection:
            zones = dict(connection.execute(text("SELECT device_id, timezone FROM workers")).all())
        assert zones == {"d-old": "Asia/Shanghai", "d-own": "Europe/Paris"}
    finally:
        engine.dispose()


def test_migration_0020_drops_the_fix_time_index_and_its_downgrade_brings_it_back(empty_url: str) -> None:
    """Tests that 0020 leaves positions with the unique (worker, fix time) index only, keeps the stored fixes and
    still refuses a second fix at the same worker and time, and that its downgrade recreates the fix-time index."""
    config = alembic_config(database_url=empty_url)
    command.upgrade(config, "0019")
    engine = make_engine(empty_url)
    insert = (
        "INSERT INTO positions (worker_id, device_id, fix_time, device_time, server_time, latitude, longitude, "
        "mock, valid, attributes) VALUES (1, 'd', :t, :t, :t, 43.7, 7.4, false, true, '{}')"
    )

    def fix_time_indexes() -> list[list[str | None]]:
        return sorted(ix["column_names"] for ix in inspect(engine).get_indexes("positions"))

    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO workers (name, device_id, skills, team, active) "
                                    "VALUES ('w', 'd', '[]', '', true)"))  # fmt: skip
            connection.execute(text(insert), {"t": "2026-12-05 08:00:00"})
        assert ["fix_time"] in fix_time_indexes()
        command.upgrade(config, "0020")
        engine.dispose()
        assert ["fix_time"] not in fix_time_indexes()
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM positions")).scalar_one() == 1
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(text(insert), {"t": "2026-12-05 08:00:00"})
        command.downgrade(config, "0019")
        engine.dispose()
        assert ["fix_time"] in fix_time_indexes()
    finally:
        engine.dispose()


def test_migration_0021_drops_the_events_type_index_and_keeps_by_order_only_events_naming_one(empty_url: str) -> None:
    """Tests that 0021 drops `events`' index on `type`, rebuilds the one on `order_id` over the events that name an
    order (a geofence crossing names none), keeps the stored events and still stores a crossing once (its dedup key),
    and that its downgrade brings both indexes back whole."""
    config = alembic_config(database_url=empty_url)
    command.upgrade(config, "0020")
    engine = make_engine(empty_url)
    crossing = (
        "INSERT INTO events (type, worker_id, order_id, at, site_id, dedup_key, details) "
        "VALUES ('enter', NULL, NULL, '2026-12-05 08:00:00', NULL, 'enter:1:1:2026-12-05T08:00:00+00:00', '{}')"
    )

    def indexes() -> dict[str, list[str | None]]:
        return {str(ix["name"]): ix["column_names"] for ix in inspect(engine).get_indexes("events")}

    def partial(name: str) -> bool:
        ix = next(ix for ix in inspect(engine).get_indexes("events") if ix["name"] == name)
        where = ix.get("dialect_options", {})
        if "postgresql_where" in where or "sqlite_where" in where:
            return True
        if engine.dialect.name != "sqlite":
            return False
        with engine.connect() as connection:
            sql = connection.execute(text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": name}).scalar_one()
        return " WHERE " in sql

    try:
        with engine.begin() as connection:
            connection.execute(text(crossing))
        assert indexes()["ix_events_type"] == ["type"] and not partial("ix_events_order_id")
        command.upgrade(config, "0021")
        engine.dispose()
        assert "ix_events_type" not in indexes()
        assert indexes()["ix_events_order_id"] == ["order_id"] and partial("ix_events_order_id")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM events")).scalar_one() == 1
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(text(crossing))
        command.downgrade(config, "0020")
        engine.dispose()
        assert indexes()["ix_events_type"] == ["type"]
        assert indexes()["ix_events_order_id"] == ["order_id"] and not partial("ix_events_order_id")
    finally:
        engine.dispose()
