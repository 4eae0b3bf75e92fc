"""The alembic migrations against the ORM models, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from data import alerts_repo
from data.db import make_engine, make_sessionmaker
from data.migrate import alembic_config, current_revision, head_revision, migrate
from data.tables import FENCE_CROSSINGS_ALTERNATE, Base, is_search_table
from dispatch.geofences import FenceEventType, GeofenceEvent
from tests.factories import at


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


def test_migration_0022_moves_the_geofence_crossings_to_their_own_table_and_its_downgrade_moves_them_back(
    empty_url: str,
) -> None:
    """Tests that 0022 moves the stored geofence crossings out of `events` into `fence_crossings` (their confirmation
    time and fix id out of `details`; one crossing stored twice under two UTC offsets kept once), keeps in `events` a
    crossing an alert points at (the alert stays whole, the crossing is read once) and one whose worker was deleted,
    leaves other events alone, then refuses a crossing stored twice; and that its downgrade brings every crossing back
    into `events` with its dedup key and details, the alert's one not twice."""
    config = alembic_config(database_url=empty_url)
    command.upgrade(config, "0021")
    engine = make_engine(empty_url)
    event = (
        "INSERT INTO events (type, worker_id, order_id, at, site_id, dedup_key, details) "
        "VALUES (:type, :worker, NULL, :at, :site, :key, :details)"
    )
    ana_casino = {"type": "geofence_enter", "worker": 1, "site": 1, "at": "2026-12-05 08:00:00"}
    crossings = [
        {**ana_casino, "key": "geofence_enter:1:1:2026-12-05T08:00:00+00:00",
         "details": '{"confirmed_at": "2026-12-05T08:01:00+00:00", "position_id": 7}'},
        # The same crossing given with a time in UTC+2 once: another dedup key, the same instant.
        {**ana_casino, "key": "geofence_enter:1:1:2026-12-05T10:00:00+02:00",
         "details": '{"confirmed_at": "2026-12-05T10:01:00+02:00", "position_id": 7}'},
        {"type": "geofence_exit", "worker": 1, "site": 1, "at": "2026-12-05 08:30:00.250000",
         "key": "geofence_exit:1:1:2026-12-05T08:30:00.250000+00:00", "details": '{"position_id": null}'},
        {"type": "geofence_enter", "worker": 1, "site": 2, "at": "2026-12-05 09:00:00",
         "key": "geofence_enter:1:2:2026-12-05T09:00:00+00:00",
         "details": '{"confirmed_at": "2026-12-05T09:02:00+00:00", "position_id": 9}'},
        {"type": "geofence_exit", "worker": None, "site": 2, "at": "2026-12-05 09:10:00",
         "key": "geofence_exit:3:2:2026-12-05T09:10:00+00:00", "details": "{}"},
        {"type": "sos", "worker": 1, "site": None, "at": "2026-12-05 09:20:00", "key": None, "details": "{}"},
    ]  # fmt: skip

    def crossing_events() -> list[tuple[object, ...]]:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT type, worker_id, site_id, dedup_key, details FROM events WHERE type LIKE 'geofence%' "
                    "ORDER BY dedup_key"
                )  # fmt: skip
            ).all()
        return [(*r[:4], r[4] if isinstance(r[4], dict) else json.loads(r[4])) for r in rows]

    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO workers (name, device_id, skills, team, active) "
                                    "VALUES ('Ana', 'd', '[]', '', true)"))  # fmt: skip
            for name in ("Casino", "Port"):
                connection.execute(
                    text(
                        "INSERT INTO sites (name, address, category, latitude, longitude, geofence_radius_m) "
                        "VALUES (:n, '', '', 43.7, 7.4, 50)"
                    ),
                    {"n": name},
                )
            # Times as each database is given them: SQLite's naive UTC text, PostgreSQL an aware time.
            sqlite = engine.dialect.name == "sqlite"
            connection.execute(text(event), [c if sqlite else {**c, "at": at(f"{c['at']}Z")} for c in crossings])
            # An alert pointing at the Port crossing, and one at its own SOS event.
            connection.execute(
                text("INSERT INTO alerts (event_id, status, kind, worker_id, reason, note, open_key) SELECT id, 'open', "
                     "'sos', 1, '', '', 'k:' || type FROM events WHERE site_id = 2 AND worker_id = 1 OR type = 'sos'")
            )  # fmt: skip
        command.upgrade(config, "0022")
        engine.dispose()
        with make_sessionmaker(engine)() as session:
            moved = alerts_repo.fence_events(session, worker_id=1, start=at("2026-12-05T00:00:00Z"),
                                             end=at("2026-12-06T00:00:00Z"))  # fmt: skip
        assert moved == [
            GeofenceEvent(FenceEventType.ENTER, 1, 1, at("2026-12-05T08:00:00Z"), at("2026-12-05T08:01:00Z"), 7),
            GeofenceEvent(FenceEventType.EXIT, 1, 1, at("2026-12-05T08:30:00.25Z"), at("2026-12-05T08:30:00.25Z")),
            GeofenceEvent(FenceEventType.ENTER, 1, 2, at("2026-12-05T09:00:00Z"), at("2026-12-05T09:02:00Z"), 9),
        ]
        with engine.connect() as connection:
            left = connection.execute(text("SELECT type, worker_id, site_id FROM events ORDER BY id")).all()
            pointed = connection.execute(
                text("SELECT events.type FROM alerts JOIN events ON events.id = alerts.event_id ORDER BY alerts.id")
            ).all()
            if engine.dialect.name == "sqlite":
                sql = connection.execute(text("SELECT sql FROM sqlite_master WHERE name = 'fence_crossings'")).scalar()
                assert sql is not None and sql.rstrip().endswith("WITHOUT ROWID"), sql
        assert [tuple(r) for r in left] == [("geofence_enter", 1, 2), ("geofence_exit", None, 2), ("sos", 1, None)]
        assert [r[0] for r in pointed] == ["geofence_enter", "sos"]
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO fence_crossings (worker_id, site_id, at, type, confirmed_at) "
                    "VALUES (1, 1, :at, 'enter', :at)"
                ),  # fmt: skip
                {"at": "2026-12-05 08:00:00.000000" if sqlite else at("2026-12-05T08:00:00Z")},
            )
        command.downgrade(config, "0021")
        engine.dispose()
        assert "fence_crossings" not in inspect(engine).get_table_names()
        assert crossing_events() == [
            ("geofence_enter", 1, 1, "geofence_enter:1:1:2026-12-05T08:00:00+00:00",
             {"confirmed_at": "2026-12-05T08:01:00+00:00", "position_id": 7}),
            ("geofence_enter", 1, 2, "geofence_enter:1:2:2026-12-05T09:00:00+00:00",
             {"confirmed_at": "2026-12-05T09:02:00+00:00", "position_id": 9}),
            ("geofence_exit", 1, 1, "geofence_exit:1:1:2026-12-05T08:30:00.250000+00:00",
             {"confirmed_at": "2026-12-05T08:30:00.250000+00:00", "position_id": None}),
            ("geofence_exit", None, 2, "geofence_exit:3:2:2026-12-05T09:10:00+00:00", {}),
        ]  # fmt: skip
    finally:
        engine.dispose()


def test_migration_0023_holds_every_insert_of_a_crossing_on_sqlite_to_the_alternation_and_its_downgrade_lets_go(
    empty_url: str, tmp_path
) -> None:
    """Tests that after 0023, on SQLite, any insert into `fence_crossings` (plain SQL here, not the repository) leaves
    out a crossing of the same type as its pair's newest one (a second arrival, an arrival older than the pair's last
    arrival) without failing, and keeps the alternating ones and other pairs' (the newest by time, then type: a
    departure at the arrival's instant is the last); that the trigger is the one `create_all` makes; that the downgrade
    drops it (the same repeated arrival is stored then) and leaves the rows. PostgreSQL gets no trigger (its repository
    reads the pairs' last crossings): every row given is stored."""
    config = alembic_config(database_url=empty_url)
    command.upgrade(config, "0023")
    engine = make_engine(empty_url)
    sqlite = engine.dialect.name == "sqlite"

    def when(hhmm: str) -> object:
        return f"2026-12-06 {hhmm}:00.000000" if sqlite else at(f"2026-12-06T{hhmm}:00Z")

    insert = text(
        "INSERT INTO fence_crossings (worker_id, site_id, at, type, confirmed_at) VALUES (:w, :s, :at, :type, :at)"
    )
    triggers = text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'fence_crossings'")

    def store(w: int, s: int, hhmm: str, kind: str) -> int:
        with engine.begin() as connection:
            return int(connection.execute(insert, {"w": w, "s": s, "at": when(hhmm), "type": kind}).rowcount)

    def stored() -> list[tuple[object, ...]]:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT worker_id, site_id, type FROM fence_crossings ORDER BY worker_id, "
                                           "site_id, at, type")).all()  # fmt: skip
        return [tuple(r) for r in rows]

    try:
        with engine.begin() as connection:
            for name in ("Ana", "Bo"):
                connection.execute(text("INSERT INTO workers (name, device_id, skills, team, active) "
                                        "VALUES (:n, :n, '[]', '', true)"), {"n": name})  # fmt: skip
            connection.execute(text("INSERT INTO sites (name, address, category, latitude, longitude, "
                                    "geofence_radius_m) VALUES ('Casino', '', '', 43.7, 7.4, 50)"))  # fmt: skip
        given = [
            (1, 1, "08:00", "enter"),
            (1, 1, "08:05", "enter"),  # ana is inside already
            (2, 1, "08:06", "enter"),  # another worker: their own pair
            (1, 1, "08:10", "exit"),
            (1, 1, "07:00", "exit"),  # the pair's newest is a departure
            (1, 1, "08:10", "enter"),  # at the departure's instant: stored, and the departure orders last
            (1, 1, "08:20", "exit"),  # so this is a second departure
            (1, 1, "08:25", "enter"),
        ]
        counts = [store(*g) for g in given]
        if sqlite:
            assert counts == [1, 0, 1, 1, 0, 1, 0, 1]
            assert stored() == [(1, 1, "enter"), (1, 1, "enter"), (1, 1, "exit"), (1, 1, "enter"), (2, 1, "enter")]
            with engine.connect() as connection:
                made = connection.execute(triggers).scalars().all()
            created = make_engine(f"sqlite:///{tmp_path / 'created.db'}")
            try:
                Base.metadata.create_all(created)
                with created.connect() as connection:
                    declared = connection.execute(triggers).scalars().all()
            finally:
                created.dispose()
            assert made == declared == [FENCE_CROSSINGS_ALTERNATE]
        else:
            assert counts == [1] * len(given)
        command.downgrade(config, "0022")
        engine.dispose()
        before = stored()
        assert len(before) == (5 if sqlite else 8)
        assert store(1, 1, "08:30", "enter") == 1  # a second arrival in a row, stored without the trigger
        assert len(stored()) == len(before) + 1
        if sqlite:
            with engine.connect() as connection:
                assert connection.execute(triggers).all() == []
        command.upgrade(config, "head")
    finally:
        engine.dispose()
