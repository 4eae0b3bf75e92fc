"""Workers and their shifts, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy.orm import Session

from data.teams_repo import list_teams, worker_team_ids
from data.workers_repo import (
    add_leave,
    add_worker,
    get_worker,
    leaves_overlapping,
    list_workers,
    set_active,
    update_worker,
    upsert_worker_by_device,
    worker_by_device,
)
from dispatch.geo import LatLon
from dispatch.localtime import zone
from dispatch.workers import Shift, Worker
from tests.factories import at

WEEKDAYS = Shift(weekdays=(0, 1, 2, 3, 4), start=time(7, 0), end=time(15, 30))
SATURDAY = Shift(weekdays=(5,), start=time(9, 0), end=time(13, 0))
MONACO = LatLon(43.7384, 7.4246)


def test_added_worker_round_trips_with_skills_shifts_home_and_team(session: Session) -> None:
    """Tests that every field of a worker comes back from the database exactly as stored."""
    worker = add_worker(
        session,
        name="Ana Costa",
        device_id="phone-1",
        skills=("gas", "plumbing"),
        shifts=(WEEKDAYS, SATURDAY),
        home_base=MONACO,
        team="North",
    )
    session.commit()
    expected = Worker(
        id=worker.id,
        name="Ana Costa",
        device_id="phone-1",
        skills=frozenset({"gas", "plumbing"}),
        shifts=(WEEKDAYS, SATURDAY),
        home_base=MONACO,
        team="North",
        active=True,
    )
    assert worker == expected
    session.expire_all()
    assert get_worker(session, worker.id) == expected
    assert worker_by_device(session, "phone-1") == expected
    assert list_workers(session) == [expected]


def test_worker_without_calendar_or_home_round_trips_empty(session: Session) -> None:
    """Tests that a worker with no skills, shifts or home base comes back with empty values, not errors."""
    worker = add_worker(session, name="Bo", device_id="phone-2")
    assert get_worker(session, worker.id) == Worker(id=worker.id, name="Bo", device_id="phone-2")


def test_device_id_must_be_unique_and_the_error_names_it(session: Session) -> None:
    """Tests that a second worker on the same device is refused with a ValueError naming `device_id`."""
    first = add_worker(session, name="Cy", device_id="phone-3")
    with pytest.raises(ValueError, match=rf"^device_id: 'phone-3' is already used by worker {first.id}"):
        add_worker(session, name="Di", device_id="phone-3")
    with pytest.raises(ValueError, match=r"^name: must not be empty"):
        add_worker(session, name=" ", device_id="phone-4")
    assert [w.name for w in list_workers(session)] == ["Cy"]


def test_the_fleet_listed_after_an_edit_has_the_edited_worker_as_stored(session: Session) -> None:
    """Tests that listing every worker right after an edit (skills, shifts, home, team; then deactivating) gives the
    worker as now stored and the others unchanged: the listing remembers each worker by its stored values, so a
    listing from before the edit is never given again."""
    ana = add_worker(session, name="Ana", device_id="e-1", skills=("gas",), shifts=(WEEKDAYS,), home_base=MONACO)
    bo = add_worker(session, name="Bo", device_id="e-2", skills=("hvac",), shifts=(SATURDAY,), team="South")
    before = list_workers(session)
    edited = update_worker(
        session, worker_id=ana.id, name="Ana", device_id="e-1", skills=("gas", "hvac"), shifts=(SATURDAY,),
        home_base=None, team="North",
    )  # fmt: skip
    assert list_workers(session) == [edited, before[1]]
    assert edited.skills == {"gas", "hvac"} and edited.shifts == (SATURDAY,) and edited.home_base is None
    set_active(session, worker_id=bo.id, active=False)
    assert [w.active for w in list_workers(session)] == [True, False]
    assert list_workers(session)[1] == get_worker(session, bo.id)


def test_list_workers_is_ordered_by_id_and_unknown_ids_give_none(session: Session) -> None:
    """Tests the order of list_workers and that lookups of missing workers return None."""
    ids = [add_worker(session, name=f"W{i}", device_id=f"d{i}", shifts=(WEEKDAYS,)).id for i in range(3)]
    assert [w.id for w in list_workers(session)] == sorted(ids)
    assert all(w.shifts == (WEEKDAYS,) for w in list_workers(session))
    assert get_worker(session, 9999) is None
    assert worker_by_device(session, "nope") is None


def test_upsert_by_device_updates_in_place_and_replaces_shifts(session: Session) -> None:
    """Tests that re-importing a device changes the same worker (no duplicate) and keeps it deactivated."""
    created, was_created = upsert_worker_by_device(
        session, name="Ed", device_id="d9", skills=("it",), shifts=(WEEKDAYS,)
    )
    assert was_created is True
    set_active(session, worker_id=created.id, active=False)
    updated, was_created = upsert_worker_by_device(
        session, name="Ed Jr", device_id="d9", skills=("hvac",), shifts=(SATURDAY,), team="South"
    )
    assert was_created is False
    assert updated == Worker(
        id=created.id,
        name="Ed Jr",
        device_id="d9",
        skills=frozenset({"hvac"}),
        shifts=(SATURDAY,),
        team="South",
        active=False,
    )
    assert len(list_workers(session)) == 1


def test_a_team_named_on_the_command_line_gets_its_team_row(session: Session) -> None:
    """Tests that a worker stored with a team name (CLI, CSV import, demo) refers to that team's row, created the
    first time the name is used and shared by the next worker with the same name."""
    ana = add_worker(session, name="Ana", device_id="t-1", team="Harbour")
    bo = add_worker(session, name="Bo", device_id="t-2", team="Harbour")
    cy = add_worker(session, name="Cy", device_id="t-3")
    [team] = list_teams(session)
    assert team.name == "Harbour"
    assert worker_team_ids(session, [ana.id, bo.id, cy.id]) == {ana.id: team.id, bo.id: team.id, cy.id: None}


def test_a_worker_in_monaco_is_on_shift_by_the_monaco_clock_across_the_march_change(session: Session) -> None:
    """Tests that a worker stored with Europe/Monaco and a daily 07:00-15:30 shift is on shift at 05:30 UTC on
    29 March 2026 (07:30 CEST) but not on 28 March (06:30 CET), read back one by one and as the whole fleet."""
    shift = Shift(weekdays=tuple(range(7)), start=time(7, 0), end=time(15, 30))
    stored = add_worker(session, name="Ana", device_id="tz-1", shifts=[shift], timezone="Europe/Monaco")
    for worker in (get_worker(session, stored.id), list_workers(session)[-1]):
        assert worker is not None
        assert worker.on_shift(at("2026-03-29T05:30:00Z")) and not worker.on_shift(at("2026-03-28T05:30:00Z"))
    utc = add_worker(session, name="Bo", device_id="tz-2", shifts=[shift])
    assert utc.on_shift(at("2026-03-28T07:30:00Z")) and not utc.on_shift(at("2026-03-28T06:30:00Z"))
    with pytest.raises(ValueError, match="Mars/Base"):
        add_worker(session, name="Cy", device_id="tz-3", shifts=[shift], timezone="Mars/Base")


def test_a_days_leave_is_the_local_day_of_the_workers_zone_else_the_offices(session: Session) -> None:
    """Tests that a leave on 3 March 2026 keeps a Shanghai worker away from 16:00 UTC on the 2nd (their midnight)
    and a worker with no zone of their own from the office's (Monaco) midnight, 23:00 UTC, for 24 hours."""
    far = add_worker(session, name="Li", device_id="leave-1", timezone="Asia/Shanghai")
    near = add_worker(session, name="Ana", device_id="leave-2")
    for worker in (far, near):
        add_leave(session, worker_id=worker.id, start=date(2026, 3, 3), end=date(2026, 3, 3), reason="sick")
    away = leaves_overlapping(session, start=date(2026, 3, 3), end=date(2026, 3, 3), zone=zone("Europe/Monaco"))
    assert [(leave.start, leave.end) for leave in away[far.id]] == [
        (at("2026-03-02T16:00:00Z"), at("2026-03-03T16:00:00Z"))
    ]
    assert [(leave.start, leave.end) for leave in away[near.id]] == [
        (at("2026-03-02T23:00:00Z"), at("2026-03-03T23:00:00Z"))
    ]
