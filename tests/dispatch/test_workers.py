from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.fields import FieldError
from dispatch.workers import (
    LOCATION_GRACE,
    LiveStatus,
    Shift,
    WorkerState,
    fix_state,
    format_shift,
    keeps_location,
    parse_shift,
    worker_input,
    worker_state,
)
from tests.factories import at, make_worker

NOW = at("2025-03-03T10:00:00Z")  # a Monday


def test_worker_is_on_shift_inside_hours_only():
    """Tests that a 07-19 worker is on shift at 10:00 and not at 19:30 or on a day off."""
    weekday = make_worker(shifts=(Shift(weekdays=(0, 1, 2, 3, 4), start=time(7), end=time(19)),))
    assert weekday.on_shift(NOW)
    assert not weekday.on_shift(at("2025-03-03T19:30:00Z"))
    assert not weekday.on_shift(at("2025-03-08T10:00:00Z"))  # Saturday


def test_inactive_worker_is_never_on_shift():
    """Tests that a deactivated worker is never on shift."""
    assert not make_worker(active=False).on_shift(NOW)


MONDAY_7_TO_19 = Shift(weekdays=(0,), start=time(7), end=time(19))


@pytest.mark.parametrize(
    ("fix_time", "kept"),
    [
        ("2025-03-03T06:44:59Z", False),  # more than 15 minutes early
        ("2025-03-03T06:45:00Z", True),  # the grace before the shift starts
        ("2025-03-03T12:00:00Z", True),
        ("2025-03-03T19:14:59Z", True),  # the grace after the shift ends
        ("2025-03-03T19:15:00Z", False),
        ("2025-03-04T12:00:00Z", False),  # Tuesday: no shift
    ],
)
def test_location_is_kept_only_on_shift_give_or_take_15_minutes(fix_time, kept):
    """Tests that a Monday 07-19 worker's fix is kept from 06:45 until just before 19:15, and not on Tuesday."""
    assert LOCATION_GRACE == timedelta(minutes=15)
    assert keeps_location(make_worker(shifts=(MONDAY_7_TO_19,)), at(fix_time)) is kept


@pytest.mark.parametrize(
    ("fix_time", "kept"),
    [
        ("2025-03-04T00:13:59Z", True),  # Tuesday, 15 minutes after Monday's 23:59 end
        ("2025-03-04T00:14:00Z", False),
        ("2025-03-02T23:45:00Z", True),  # Sunday night, 15 minutes before Monday's 00:00 start
        ("2025-03-02T23:44:59Z", False),
    ],
)
def test_the_grace_reaches_across_midnight(fix_time, kept):
    """Tests that the grace around a shift ending at 23:59 or starting at 00:00 reaches into the next or previous day."""
    night = make_worker(shifts=(Shift(weekdays=(0,), start=time(22), end=time(23, 59)),))
    early = make_worker(shifts=(Shift(weekdays=(0,), start=time(0), end=time(6)),))
    assert (keeps_location(night, at(fix_time)) or keeps_location(early, at(fix_time))) is kept


def test_a_worker_without_a_calendar_is_kept_and_a_deactivated_one_never():
    """Tests that a worker with no shift calendar has fixes kept at any hour (the phone's switch is the gate), and a deactivated one never."""
    hours = [at("2025-03-03T00:30:00Z") + timedelta(hours=h) for h in range(24 * 7)]
    assert all(keeps_location(make_worker(shifts=()), t) for t in hours)
    assert not any(keeps_location(make_worker(active=False), t) for t in hours)


def test_a_grace_beyond_half_a_day_is_refused():
    """Tests that a negative grace or one over 12 hours is refused naming the grace."""
    with pytest.raises(ValueError, match="^grace must be within"):
        MONDAY_7_TO_19.covers(NOW, grace=timedelta(hours=13))
    with pytest.raises(ValueError, match="^grace must be within"):
        MONDAY_7_TO_19.covers(NOW, grace=timedelta(minutes=-1))


@given(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 1, 1), timezones=st.just(UTC)),
    st.integers(min_value=1, max_value=12 * 3600),
)
def test_a_grace_only_ever_widens_a_shift(when, grace_s):
    """Tests that a time inside a shift stays inside it with any grace, and a grace never covers a time far from the shift."""
    shift = Shift(weekdays=(0, 2, 6), start=time(6, 30), end=time(23, 59))
    grace = timedelta(seconds=grace_s)
    if shift.covers(when):
        assert shift.covers(when, grace=grace)
    if shift.covers(when, grace=grace):  # within `grace` of the shift (which is longer than any grace)
        assert shift.covers(when - grace) or shift.covers(when) or shift.covers(when + grace)


def test_shift_must_end_after_it_starts():
    """Tests that an inverted shift is refused."""
    with pytest.raises(ValueError, match="end must be after"):
        Shift(weekdays=(0,), start=time(19), end=time(7))


@pytest.mark.parametrize(
    ("fix_age_s", "speed", "order", "expected"),
    [
        (None, None, None, WorkerState.OFFLINE),
        (3600, 0.0, None, WorkerState.OFFLINE),
        (10, 0.0, None, WorkerState.IDLE),
        (10, 12.0, None, WorkerState.EN_ROUTE),
        (10, 0.0, "en_route", WorkerState.EN_ROUTE),
        (10, 3.0, "on_site", WorkerState.ON_SITE),
    ],
)
def test_map_state(fix_age_s, speed, order, expected):
    """Tests the colour a worker gets on the map: offline after 10 min silence, on site wins over movement."""
    fix = None if fix_age_s is None else NOW - timedelta(seconds=fix_age_s)
    assert worker_state(LiveStatus(fix, speed, order), NOW) is expected


def test_a_shift_written_by_hand_reads_back_as_written():
    """Tests that the shift text an administrator types is read into days and times and written back the same way,
    runs of days joined (Mon-Fri) and single days listed (Sat,Mon), so the edit form shows what was saved."""
    for text in ("Mon-Fri 07:00-15:30", "Mon,Wed,Fri 08:00-12:00", "Sat-Sun 09:00-13:00"):
        assert format_shift(parse_shift(text)) == text
    assert format_shift(parse_shift("Fri-Mon 22:00-23:30")) == "Mon,Fri-Sun 22:00-23:30"


def test_a_worker_body_is_read_field_by_field_and_the_first_bad_field_is_named():
    """Tests that a new worker needs a name and a device id, skills are lower-cased and de-duplicated, an update reads
    only the fields sent, and each bad value is refused naming its field."""
    data = worker_input({"name": " Ana ", "device_id": "d1", "skills": ["Gas", "gas", "hvac"]}, creating=True)
    assert (data.name, data.device_id, data.skills, data.given) == (
        "Ana",
        "d1",
        frozenset({"gas", "hvac"}),
        frozenset({"name", "device_id", "skills"}),
    )
    assert worker_input({"active": False}, creating=False).given == frozenset({"active"})
    for body, field in (
        ({"name": "Ana"}, "device_id"),
        ({"name": "Ana", "device_id": "d1", "shifts": ["Someday 07:00-08:00"]}, "shifts"),
        ({"name": "Ana", "device_id": "d1", "home_base": {"lat": 43.7}}, "home_base"),
        ({"name": "Ana", "device_id": "d1", "team_id": 3, "team": "North"}, "team"),
        ({"name": "Ana\n", "device_id": "d1\t2"}, "device_id"),
        ({"name": "Ana", "device_id": "d1", "active": "no"}, "active"),
    ):
        with pytest.raises(FieldError) as refused:
            worker_input(body, creating=True)
        assert refused.value.field == field


@given(
    st.integers(min_value=-3600, max_value=3600),
    st.one_of(st.none(), st.floats(min_value=0, max_value=60), st.sampled_from([1.5, 1.5000001])),
)
def test_a_fresh_fix_shows_the_state_worker_state_gives_it(age_s, speed_mps):
    """Tests that `fix_state` (the ingestion path's shortcut) is the map state `worker_state` gives a worker
    known only by that fix: offline past 10 min, en route above 1.5 m/s, else idle."""
    now = at("2025-03-03T09:00:00Z")
    fix_time = now - timedelta(seconds=age_s)
    assert fix_state(fix_time, speed_mps, now) is worker_state(LiveStatus(fix_time, speed_mps), now)
