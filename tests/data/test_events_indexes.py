"""Every question the code asks of `events` and `fence_crossings` is answered from an index on SQLite (migration 0021
dropped two of `events`' indexes; 0022 moved the geofence crossings to `fence_crossings`, whose key is its only b-tree).

Each repository call that reads or deletes events or crossings runs on a migrated SQLite file with a few rows; every
statement it sends that names either table is then asked `EXPLAIN QUERY PLAN` with the same parameters, and no step may
read a whole table (`SCAN events`, `SCAN fence_crossings`) but the retention purge's of the crossings by time (hourly;
an index on time would cost every stored crossing a second b-tree). The foreign keys' actions (an order, a worker or a
site deleted: `SET NULL` on their events, the worker's crossings deleted) are asked as the statement SQLite runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, inspect
from sqlalchemy.orm import Session

from data import alerts_repo, field_repo, positions_repo, privacy_repo, sites_repo
from data.db import make_engine, make_sessionmaker
from data.migrate import migrate
from data.workers_repo import add_worker
from dispatch.alerts import AlertKind, Raise
from dispatch.geo import LatLon
from dispatch.geofences import FenceEventType, GeofenceEvent
from dispatch.positions import Position
from dispatch.privacy import RetentionDays
from tests.factories import EVERY_DAY_7_TO_19, at

NOW = at("2025-03-03T09:00:00Z")


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


def _world(session: Session) -> tuple[list[int], list[int]]:
    """Three workers, three sites, crossings of each worker at each site, an alert and an order's event."""
    workers = [add_worker(session, name=f"W{i}", device_id=f"d-{i}", shifts=(EVERY_DAY_7_TO_19,)).id for i in range(3)]
    sites = [
        sites_repo.add_site(session, name=f"S{i}", location=LatLon(43.73 + i * 1e-3, 7.42), geofence_radius_m=50).id
        for i in range(3)
    ]
    crossings = [
        GeofenceEvent(kind, w, s, NOW + timedelta(minutes=m), NOW + timedelta(minutes=m, seconds=60), position_id=m)
        for w in workers
        for s in sites
        for m, kind in ((0, FenceEventType.ENTER), (10, FenceEventType.EXIT))
    ]
    assert alerts_repo.add_fence_events(session, crossings) == crossings
    alerts_repo.raise_alert(session, Raise(AlertKind.SOS, workers[0], None, NOW, "SOS"))
    field_repo.record_event(
        session, type="checkin_reviewed", worker_id=workers[1], order_id=None, at=NOW, details={"note": "ok"}
    )
    session.commit()
    return workers, sites


def _statements(engine: Engine, call: Callable[[], object]) -> list[tuple[str, Any]]:
    """The statements naming `events` or `fence_crossings` that `call` sends, with their (first row of) parameters."""
    sent: list[tuple[str, Any]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "events" in statement.replace("clock_events", "") or "fence_crossings" in statement:
            sent.append((statement, parameters[0] if executemany else parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    return sent


def _plan(engine: Engine, statement: str, parameters: Any) -> list[str]:
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    return [row[-1] for row in rows]


def _full_scans(plan: list[str]) -> list[str]:
    return [step for step in plan if step.startswith(("SCAN events", "SCAN fence_crossings"))]


PURGE_CROSSINGS = (
    "SELECT fence_crossings.worker_id, fence_crossings.site_id, fence_crossings.at, fence_crossings.type \n"
    "FROM fence_crossings \nWHERE fence_crossings.at < ?\n LIMIT ? OFFSET ?"
)
"""The one statement allowed to read a table whole: the hourly purge's read of the crossings past retention (before
its first write: no write lock held meanwhile on SQLite); it deletes them by their key."""


def test_every_query_of_events_is_answered_from_an_index(engine: Engine) -> None:
    """Tests that the geofence crossings' store (the insert and its trigger's look-up of the pair's last crossing), a
    worker's crossings over a range and where they stand, an order's timeline and its suspicious check-ins, the
    retention purge, anonymising a leaver and their export read `events` and `fence_crossings` through an index, never
    the whole table, but for the purge of crossings by time."""
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        workers, sites = _world(session)
    later = [GeofenceEvent(FenceEventType.ENTER, workers[0], sites[0], NOW + timedelta(hours=1), NOW, position_id=99)]
    calls: dict[str, Callable[[Session], object]] = {
        "add_fence_events": lambda s: alerts_repo.add_fence_events(s, later),
        "fence_events": lambda s: alerts_repo.fence_events(
            s, worker_id=workers[0], start=NOW, end=NOW + timedelta(hours=1)
        ),
        "sites_inside_many": lambda s: alerts_repo.sites_inside_many(
            s, worker_ids=workers[:2], since=NOW - timedelta(days=1)
        ),
        "order_events": lambda s: field_repo.order_events(s, order_id=1, types=["checkin_reviewed"]),
        "checkin_flags": lambda s: field_repo.checkin_flags(s, [1, 2]),
        "purge": lambda s: privacy_repo.purge(s, now=NOW + timedelta(days=400), retention=RetentionDays()),
        "export_data": lambda s: privacy_repo.export_data(s, worker_id=workers[1]),
        "anonymise": lambda s: privacy_repo.anonymise(s, worker_id=workers[2], at=NOW),
    }
    asked: dict[str, int] = {}
    for name, call in calls.items():
        with sessions() as session:
            sent = _statements(engine, lambda: call(session))  # noqa: B023 (called at once)
            session.rollback()
        asked[name] = len(sent)
        for statement, parameters in sent:
            plan = _plan(engine, statement, parameters)
            if name == "purge" and statement == PURGE_CROSSINGS:
                assert _full_scans(plan) == ["SCAN fence_crossings"], plan
                continue
            assert not _full_scans(plan), (name, statement, plan)
        if name == "purge":
            assert PURGE_CROSSINGS in [statement for statement, _ in sent]
    assert all(asked.values()), asked  # each call did ask `events` or `fence_crossings` something
    # What SQLite runs for the foreign keys' ON DELETE SET NULL of an order, a worker, a site.
    for column in ("order_id", "worker_id", "site_id"):
        plan = _plan(engine, f"UPDATE events SET {column} = NULL WHERE {column} = ?", (1,))
        assert not _full_scans(plan), (column, plan)
    # A worker deleted takes their crossings (a site deleted would read them whole: sites are never deleted).
    assert not _full_scans(_plan(engine, "DELETE FROM fence_crossings WHERE worker_id = ?", (1,)))
    # The look-up `fence_crossings`' trigger makes before each crossing inserted (migration 0023; `EXPLAIN QUERY PLAN`
    # of the insert does not show a trigger's): its pair's newest crossing, one seek backwards in the key.
    with engine.connect() as connection:
        trigger = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'fence_crossings_alternate'"
        ).scalar_one()
    look_up = re.fullmatch(r".* WHEN \((SELECT .*)\) IS NEW\.type BEGIN .*", trigger, re.DOTALL)
    assert look_up is not None, trigger
    plan = _plan(engine, look_up[1].replace("NEW.worker_id", "?").replace("NEW.site_id", "?"), (1, 1))
    assert plan == ["SEARCH fence_crossings USING PRIMARY KEY (worker_id=? AND site_id=?)"], plan


def test_where_workers_stand_is_read_through_their_own_crossings(engine: Engine) -> None:
    """Tests that `sites_inside_many` (a process meeting a batch's workers) seeks those workers' crossings by the
    key's worker prefix, not every crossing since the day before."""
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        workers, sites = _world(session)
        inside = alerts_repo.sites_inside_many(session, worker_ids=workers, since=NOW - timedelta(days=1))
        assert inside == {w: {} for w in workers}  # each entered every site and left it
        sent = _statements(
            engine, lambda: alerts_repo.sites_inside_many(session, worker_ids=workers, since=NOW - timedelta(days=1))
        )
    ((statement, parameters),) = sent
    assert any("PRIMARY KEY (worker_id=?" in step for step in _plan(engine, statement, parameters))


def test_the_order_index_holds_only_events_that_name_an_order(engine: Engine) -> None:
    """Tests that after 0021 `events` has no index on `type` and its index on `order_id` is partial (a geofence
    crossing, which names no order, writes no entry in it)."""
    names = {ix["name"] for ix in inspect(engine).get_indexes("events")}
    assert "ix_events_type" not in names
    with engine.connect() as connection:
        sql = connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'ix_events_order_id'").scalar_one()
    assert sql.endswith("WHERE order_id IS NOT NULL"), sql


def test_the_purge_reads_the_crossings_whole_before_it_holds_the_write_lock(engine: Engine) -> None:
    """Tests that the purge's read of every crossing (no index on time) is sent before its transaction writes anything:
    pysqlite begins the transaction at the first write, so while SQLite reads the table no write lock is held and the
    phones' fixes are stored meanwhile; the crossings past retention are then deleted."""
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        workers, _ = _world(session)
        # A fix past retention too: the purge's first write deletes it.
        positions_repo.add_position(session, Position(workers[0], "d-0", NOW, NOW, NOW, 43.73, 7.42))
        session.commit()
    in_transaction: list[bool] = []

    def note(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement == PURGE_CROSSINGS:
            in_transaction.append(conn.connection.driver_connection.in_transaction)

    event.listen(engine, "before_cursor_execute", note)
    try:
        with sessions() as session:
            counts = privacy_repo.purge(session, now=NOW + timedelta(days=400), retention=RetentionDays()).counts
            session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert in_transaction == [False]
    assert counts["fence_crossings"] == 18 and counts["positions"] == 1  # 3 workers × 3 sites × (enter, exit)
    with sessions() as session:
        assert alerts_repo.sites_inside_many(session, worker_ids=workers, since=NOW - timedelta(days=1)) == {
            w: {} for w in workers
        }
        assert alerts_repo.fence_events(session, worker_id=workers[0], start=NOW, end=NOW + timedelta(hours=1)) == []
