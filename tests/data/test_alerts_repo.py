"""Geofence crossings stored a batch at a time (data/alerts_repo.add_fence_events), on a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy.orm import Session

from data import alerts_repo, privacy_repo, sites_repo
from data.db import make_sessionmaker
from data.workers_repo import add_worker
from dispatch.geo import LatLon
from dispatch.geofences import FenceEventType, GeofenceEvent
from dispatch.privacy import RetentionDays
from tests.factories import EVERY_DAY_7_TO_19, at

NOW = at("2025-03-03T09:00:00Z")
ENTER, EXIT = FenceEventType.ENTER, FenceEventType.EXIT
_PLUS_TWO = timezone(timedelta(hours=2))


def crossing(kind: FenceEventType, worker_id: int, site_id: int, minute: int) -> GeofenceEvent:
    when = NOW + timedelta(minutes=minute)
    return GeofenceEvent(kind, worker_id, site_id, when, when + timedelta(seconds=60), position_id=minute)


def world(session: Session, workers: int, sites: int) -> tuple[list[int], list[int]]:
    worker_ids = [
        add_worker(session, name=f"W{i}", device_id=f"dev-{i}", shifts=(EVERY_DAY_7_TO_19,)).id for i in range(workers)
    ]
    site_ids = [
        sites_repo.add_site(session, name=f"S{i}", location=LatLon(43.73 + i * 1e-3, 7.42), geofence_radius_m=50).id
        for i in range(sites)
    ]
    return worker_ids, site_ids


def test_a_batch_stores_each_alternating_crossing_once_and_skips_repeats(session):
    """Tests that a batch holding an arrival and the departure of one worker at one site, another worker's
    arrival, and a second arrival without a departure in between, stores the alternating crossings in order;
    giving the batch again stores nothing, and a later departure after the stored arrival is stored."""
    (ana, bo), (casino, port) = world(session, 2, 2)
    batch = [
        crossing(ENTER, ana, casino, 0),
        crossing(EXIT, ana, casino, 10),
        crossing(ENTER, bo, port, 3),
        crossing(ENTER, bo, port, 7),  # bo is inside already: a second arrival is not a crossing
    ]
    assert alerts_repo.add_fence_events(session, batch) == batch[:3]
    assert alerts_repo.add_fence_events(session, batch) == []
    later = [crossing(EXIT, bo, port, 20), crossing(EXIT, ana, casino, 25)]
    assert alerts_repo.add_fence_events(session, later) == later[:1]
    stored = alerts_repo.fence_events(session, worker_id=bo, start=NOW, end=NOW + timedelta(hours=1))
    assert [(e.type, e.at, e.position_id) for e in stored] == [(ENTER, batch[2].at, 3), (EXIT, later[0].at, 20)]


def test_storing_a_batch_of_crossings_costs_one_insert_on_sqlite_and_two_statements_on_postgresql(session, db_engine):
    """Tests that 40 crossings of 10 workers at 4 sites are written with one insert on SQLite (inside a savepoint; the
    table's trigger keeps the alternation, migration 0023) and with one query and one insert on PostgreSQL (the
    evaluator's transaction was two statements per crossing)."""
    workers, sites = world(session, 10, 4)
    batch = [crossing(ENTER if n % 2 == 0 else EXIT, w, s, n) for w in workers for n, s in enumerate(sites)]
    statements: list[str] = []
    session.flush()

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db_engine, "before_cursor_execute", count)
    try:
        stored = alerts_repo.add_fence_events(session, batch)
    finally:
        event.remove(db_engine, "before_cursor_execute", count)
    assert stored == batch
    expected = 1 if db_engine.dialect.name == "sqlite" else 2
    assert len(statements) == expected, statements  # (the savepoint's statements go straight to the driver)


def test_stored_crossings_are_part_of_the_callers_transaction(session, db_engine):
    """Tests that crossings stored, some of them given again (the savepoint undone and the rows stored one at a time),
    are undone with the rest of the caller's transaction, and kept with it when it commits: the savepoint that tells
    the new crossings apart never commits on its own."""
    (ana, bo), (casino,) = world(session, 2, 1)
    session.commit()
    first = [crossing(ENTER, ana, casino, 0)]
    assert alerts_repo.add_fence_events(session, first) == first
    mixed = [crossing(ENTER, ana, casino, 0), crossing(ENTER, bo, casino, 1)]  # ana's stored above
    assert alerts_repo.add_fence_events(session, mixed) == mixed[1:]
    session.rollback()
    window = (NOW, NOW + timedelta(hours=1))
    for worker in (ana, bo):
        assert alerts_repo.fence_events(session, worker_id=worker, start=window[0], end=window[1]) == []
    session.rollback()
    assert alerts_repo.add_fence_events(session, mixed) == mixed
    session.commit()
    assert alerts_repo.fence_events(session, worker_id=bo, start=window[0], end=window[1]) == mixed[1:]


def test_the_last_crossings_read_are_only_those_of_the_batchs_own_worker_site_pairs(session, db_engine):
    """Tests that on PostgreSQL the query for the last stored crossings returns one row per (worker, site) pair the
    batch names, not one per pair of any of its workers with any of its sites (over a day, most of their crossings,
    each read and dropped), and that on SQLite nothing is read first (the table's trigger checks each row as it is
    inserted); the batch is stored as before on both."""
    (ana, bo, cy), (casino, port, hotel) = world(session, 3, 3)
    history = [crossing(t, w, s, n * 2 + (t is EXIT)) for n, (w, s) in enumerate(
        (w, s) for w in (ana, bo, cy) for s in (casino, port, hotel)) for t in (ENTER, EXIT)]  # fmt: skip
    assert alerts_repo.add_fence_events(session, history) == history
    session.flush()
    batch = [crossing(ENTER, ana, casino, 40), crossing(ENTER, bo, port, 41)]
    selects: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append((statement, parameters))

    event.listen(db_engine, "before_cursor_execute", keep)
    try:
        stored = alerts_repo.add_fence_events(session, batch)
    finally:
        event.remove(db_engine, "before_cursor_execute", keep)
    assert stored == batch
    if db_engine.dialect.name == "sqlite":
        assert selects == []
        return
    assert len(selects) == 1, selects
    statement, parameters = selects[0]
    rows = session.connection().exec_driver_sql(statement, parameters).all()  # type: ignore[arg-type]
    assert sorted((r[0], r[1]) for r in rows) == [(ana, casino), (bo, port)]


def test_where_many_workers_stand_is_read_in_one_query(session, db_engine):
    """Tests that `sites_inside_many` tells for each worker the sites entered and not left (a worker with no
    crossing: none), as `sites_inside` does one worker at a time, with one statement for all of them."""
    (ana, bo, cy), (casino, port) = world(session, 3, 2)
    alerts_repo.add_fence_events(
        session,
        [crossing(ENTER, ana, casino, 0), crossing(ENTER, ana, port, 5), crossing(EXIT, ana, casino, 9),
         crossing(ENTER, bo, casino, 2)],
    )  # fmt: skip
    session.flush()
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db_engine, "before_cursor_execute", count)
    try:
        many = alerts_repo.sites_inside_many(session, worker_ids=[ana, bo, cy], since=NOW - timedelta(days=1))
    finally:
        event.remove(db_engine, "before_cursor_execute", count)
    assert len(statements) == 1
    assert many == {ana: {port: NOW + timedelta(minutes=5)}, bo: {casino: NOW + timedelta(minutes=2)}, cy: {}}
    assert many == {w: alerts_repo.sites_inside(session, worker_id=w, since=NOW - timedelta(days=1)) for w in many}


def test_a_crossing_another_process_stored_already_is_not_returned_as_stored_now(session):
    """Tests that of a batch whose first crossing another process stored already (same worker, site, type and time)
    only the crossing stored now is returned: the one the caller acts on (an arrival moves an order once)."""
    (ana,), (casino,) = world(session, 1, 1)
    assert alerts_repo.add_fence_events(session, [crossing(ENTER, ana, casino, 0), crossing(EXIT, ana, casino, 10)])
    again = [crossing(ENTER, ana, casino, 0), crossing(ENTER, ana, casino, 20)]  # the first: stored at minute 0
    assert alerts_repo.add_fence_events(session, again) == again[1:]
    stored = alerts_repo.fence_events(session, worker_id=ana, start=NOW, end=NOW + timedelta(hours=1))
    assert [(e.type, e.at) for e in stored] == [
        (ENTER, NOW),
        (EXIT, again[0].at + timedelta(minutes=10)),
        (ENTER, again[1].at),
    ]


def test_a_crossing_given_twice_in_a_batch_is_stored_and_returned_once(session):
    """Tests that an arrival given again later in the same batch, after the departure that followed it, is stored
    once and returned once (the caller moves an order on each crossing returned), on SQLite and PostgreSQL."""
    (ana,), (casino,) = world(session, 1, 1)
    batch = [crossing(ENTER, ana, casino, 0), crossing(EXIT, ana, casino, 10), crossing(ENTER, ana, casino, 0)]
    assert alerts_repo.add_fence_events(session, batch) == batch[:2]
    stored = alerts_repo.fence_events(session, worker_id=ana, start=NOW, end=NOW + timedelta(hours=1))
    assert [(e.type, e.at) for e in stored] == [(ENTER, batch[0].at), (EXIT, batch[1].at)]


def test_a_crossing_older_than_its_pairs_last_is_checked_against_the_newest(session):
    """Tests that a batch's crossings older than the last stored one of their pair alternate with that newest
    crossing (and with each other as stored in turn), not with the one just before them in time: after an arrival
    and a departure at minute 30, an arrival at minute 10 is stored and a departure at minute 20 is not."""
    (ana,), (casino,) = world(session, 1, 1)
    assert len(
        alerts_repo.add_fence_events(session, [crossing(ENTER, ana, casino, 0), crossing(EXIT, ana, casino, 30)])
    )
    older = [crossing(ENTER, ana, casino, 10), crossing(EXIT, ana, casino, 20)]
    assert alerts_repo.add_fence_events(session, older) == older[:1]
    later = [crossing(EXIT, ana, casino, 40), crossing(ENTER, ana, casino, 45)]
    assert alerts_repo.add_fence_events(session, later) == later[1:]


def test_an_arrival_and_a_departure_at_the_same_time_are_both_stored_and_the_departure_is_the_last(session):
    """Tests that a worker's arrival and departure at one site with the same time are both stored, in either order
    given, and that the departure counts as the pair's last crossing (the key orders `exit` after `enter`): a later
    departure is not stored, a later arrival is."""
    (ana, bo), (casino,) = world(session, 2, 1)
    for worker, first, second in ((ana, ENTER, EXIT), (bo, EXIT, ENTER)):
        both = [crossing(first, worker, casino, 0), crossing(second, worker, casino, 0)]
        assert alerts_repo.add_fence_events(session, both) == both
        later = [crossing(EXIT, worker, casino, 5), crossing(ENTER, worker, casino, 5)]
        assert alerts_repo.add_fence_events(session, later) == later[1:]


def test_crossings_another_connection_stored_meanwhile_are_alternated_with(db_engine):
    """Tests that crossings another process committed after this one's session read the table are what this
    session's batch alternates with: its own arrival of that pair is not stored, a departure is, and the crossing
    the other stored is not returned as stored again, on SQLite and PostgreSQL."""
    factory = make_sessionmaker(db_engine)
    with factory() as setup:
        (ana,), (casino,) = world(setup, 1, 1)
        setup.commit()
    with factory() as ours, factory() as theirs:
        window = (NOW, NOW + timedelta(hours=1))
        assert alerts_repo.fence_events(ours, worker_id=ana, start=window[0], end=window[1]) == []
        stored_by_them = [crossing(ENTER, ana, casino, 0)]
        assert alerts_repo.add_fence_events(theirs, stored_by_them) == stored_by_them
        theirs.commit()
        batch = [crossing(ENTER, ana, casino, 0), crossing(ENTER, ana, casino, 3), crossing(EXIT, ana, casino, 9)]
        assert alerts_repo.add_fence_events(ours, batch) == batch[2:]
        ours.commit()
        stored = alerts_repo.fence_events(ours, worker_id=ana, start=window[0], end=window[1])
    assert [(e.type, e.at) for e in stored] == [(ENTER, batch[0].at), (EXIT, batch[2].at)]


@given(
    when=st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.sampled_from([UTC, _PLUS_TWO])
    ),
    whole_second=st.booleans(),
)
def test_a_crossings_stored_time_sliced_from_its_iso_text_is_the_one_formatted(when: datetime, whole_second: bool):
    """Tests that the SQLite text of a crossing's time taken from its `isoformat()` (UTC: sliced; otherwise
    converted) is the text the ORM stores, `_sqlite_time`, with and without microseconds: the alternation compares
    it with the stored times and the insert writes it."""
    if whole_second:
        when = when.replace(microsecond=0)
    assert alerts_repo._sqlite_text(when, when.isoformat()) == alerts_repo._sqlite_time(when)


def test_crossings_past_retention_are_purged_and_a_leavers_deleted_on_either_database(session):
    """Tests that the retention purge deletes the crossings older than the events' retention (read by time, deleted by
    key) and keeps the younger, and that anonymising a worker deletes theirs, on SQLite and PostgreSQL."""
    (ana, bo), (casino, port) = world(session, 2, 2)
    old = NOW - timedelta(days=200)
    crossings = [
        GeofenceEvent(ENTER, ana, casino, old, old + timedelta(minutes=1), position_id=1),
        GeofenceEvent(EXIT, ana, casino, old + timedelta(hours=1), old + timedelta(hours=1), position_id=None),
        crossing(ENTER, ana, port, 0),
        crossing(ENTER, bo, port, 5),
    ]
    assert alerts_repo.add_fence_events(session, crossings) == crossings
    session.commit()
    counts = privacy_repo.purge(session, now=NOW + timedelta(hours=1), retention=RetentionDays()).counts
    session.commit()
    assert counts["fence_crossings"] == 2
    everything = (old - timedelta(days=1), NOW + timedelta(days=1))
    assert alerts_repo.fence_events(session, worker_id=ana, start=everything[0], end=everything[1]) == [crossings[2]]
    assert privacy_repo.anonymise(session, worker_id=ana, at=NOW).counts["fence_crossings"] == 1
    session.commit()
    assert alerts_repo.fence_events(session, worker_id=ana, start=everything[0], end=everything[1]) == []
    assert alerts_repo.fence_events(session, worker_id=bo, start=everything[0], end=everything[1]) == [crossings[3]]
