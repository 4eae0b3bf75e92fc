from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.assign import first_gap
from dispatch.fields import FieldError
from dispatch.hours import planned_intervals
from dispatch.workers import (
    END_OF_DAY,
    LOCATION_GRACE,
    LiveStatus,
    Shift,
    Worker,
    WorkerState,
    break_window,
    fix_state,
    format_shift,
    keeps_location,
    kept_span,
    parse_shift,
    tracking_turn,
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


def test_a_shift_may_end_at_24_00_and_reads_back_so():
    """Tests that `Mon-Sun 00:00-24:00` is read as a shift to the end of the day and shown back as 24:00, while
    a shift crossing midnight or ending at 00:00 is still refused with the reason (write 24:00), and none starts at 24:00."""
    whole = parse_shift("Mon-Sun 00:00-24:00")
    assert (whole.start, whole.ends_at_midnight, whole.wall_length_s) == (time(0), True, 86_400.0)
    assert format_shift(whole) == "Mon-Sun 00:00-24:00"
    assert format_shift(parse_shift("Sat 18:00-24:00")) == "Sat 18:00-24:00"
    for text, reason in (
        ("Mon 22:00-06:00", "the end 06:00 is not after the start 22:00 (a shift may not cross midnight"),
        ("Mon 22:00-00:00", "ending at midnight ends at 24:00"),
        ("Mon 24:00-24:00", "cannot start at 24:00"),
        ("Mon 08:00-24:30", "is not HH:MM-HH:MM"),
    ):
        with pytest.raises(ValueError, match=re.escape(reason)):
            parse_shift(text)


MONACO = ZoneInfo("Europe/Monaco")
ALL_DAY_MONACO = Shift(weekdays=tuple(range(7)), start=time(0), end=END_OF_DAY, zone=MONACO)


@pytest.mark.parametrize(
    "local",
    ["2025-03-03T23:59:00", "2025-03-03T23:59:59.999999", "2025-03-04T00:00:00", "2025-03-30T23:59:30"],
)
def test_an_all_day_shift_leaves_no_gap_at_midnight(local):
    """Tests that a worker on shift 00:00-24:00 every day is on shift in the last minute of the day (23:59 to
    midnight on Monaco's clock, also on the day the clocks go forward), so nothing off shift happens then."""
    when = datetime.fromisoformat(local).replace(tzinfo=MONACO)
    worker = make_worker(shifts=(ALL_DAY_MONACO,))
    assert worker.on_shift(when)
    assert keeps_location(worker, when)
    assert first_gap(worker.shifts, when - timedelta(hours=2), when + timedelta(hours=2)) is None


def test_a_shift_to_24_00_ends_at_the_next_midnight_in_its_zone():
    """Tests that a Monday 18:00-24:00 shift in Monaco runs to Tuesday 00:00 there (23:00 UTC in winter): on shift at
    23:59:59, off at midnight, 6 hours planned, and the grace reaches 15 minutes into Tuesday."""
    evening = Shift(weekdays=(0,), start=time(18), end=END_OF_DAY, zone=MONACO)
    monday = datetime(2025, 3, 3).date()
    assert evening.span_on(monday) == (at("2025-03-03T17:00:00Z"), at("2025-03-03T23:00:00Z"))
    assert planned_intervals([evening], monday) == ((at("2025-03-03T17:00:00Z"), at("2025-03-03T23:00:00Z")),)
    assert evening.covers(at("2025-03-03T22:59:59Z"))
    assert not evening.covers(at("2025-03-03T23:00:00Z"))
    assert evening.covers(at("2025-03-03T23:14:59Z"), grace=LOCATION_GRACE)
    assert not evening.covers(at("2025-03-03T23:15:00Z"), grace=LOCATION_GRACE)


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


MONACO_SHIFT = Shift(weekdays=(0, 1, 2, 3, 4, 5, 6), start=time(7, 0), end=time(15, 30), zone=ZoneInfo("Europe/Monaco"))


def test_a_local_shift_starts_at_seven_on_the_office_clock_in_winter_and_summer():
    """Tests that a 07:00-15:30 Monaco shift covers 06:00 UTC in January (07:00 CET) but not 05:30 UTC, and
    05:00 UTC in July (07:00 CEST)."""
    assert MONACO_SHIFT.covers(at("2026-01-15T06:00:00Z"))
    assert not MONACO_SHIFT.covers(at("2026-01-15T05:30:00Z"))
    assert MONACO_SHIFT.covers(at("2026-07-15T05:00:00Z"))
    assert not MONACO_SHIFT.covers(at("2026-07-15T13:45:00Z"))  # 15:45 CEST: after the shift


def test_a_local_shift_follows_the_clocks_on_the_days_they_change():
    """Tests that on Sunday 29 March 2026 (clocks forward) the Monaco shift starts 05:00 UTC, having started
    06:00 UTC the day before, and on Sunday 25 October (clocks back) it starts 06:00 UTC again."""
    assert not MONACO_SHIFT.covers(at("2026-03-28T05:30:00Z"))
    assert MONACO_SHIFT.covers(at("2026-03-29T05:30:00Z"))
    assert MONACO_SHIFT.covers(at("2026-10-24T05:30:00Z"))
    assert not MONACO_SHIFT.covers(at("2026-10-25T05:30:00Z"))


def test_a_local_shifts_kept_span_and_grace_are_in_utc():
    """Tests that a worker's fix at 05:50 UTC on 15 January (06:50 CET) is kept with 15 min grace, within the span
    05:45-14:45 UTC."""
    worker = Worker(id=1, name="Ana", device_id="d1", shifts=(MONACO_SHIFT,))
    assert keeps_location(worker, at("2026-01-15T05:50:00Z"))
    assert kept_span(worker, at("2026-01-15T05:50:00Z")) == (at("2026-01-15T05:45:00Z"), at("2026-01-15T14:45:00Z"))
    assert not keeps_location(worker, at("2026-01-15T05:40:00Z"))


def test_a_shift_over_six_hours_has_its_break_window_in_its_middle_third():
    """Tests that a 07:00-15:30 Monaco shift's break may start from 09:50 to 12:40 local time, that a 08:00-14:00
    shift (6 h) has no break, and that a worker off shift has no shift to take one in."""
    worker = Worker(1, "Ana", "dev-1", shifts=(MONACO_SHIFT,))
    noon = datetime(2025, 3, 3, 12, 0, tzinfo=MONACO)
    shift = worker.shift_at(noon)
    assert shift is not None and break_window(*shift) == (
        datetime(2025, 3, 3, 9, 50, tzinfo=MONACO),
        datetime(2025, 3, 3, 12, 40, tzinfo=MONACO),
    )
    assert worker.shift_at(datetime(2025, 3, 3, 20, 0, tzinfo=MONACO)) is None
    short = Shift(weekdays=(0, 1, 2, 3, 4, 5, 6), start=time(8), end=time(14), zone=MONACO)
    short_span = Worker(2, "Ben", "dev-2", shifts=(short,)).shift_at(noon)
    assert short_span is not None and break_window(*short_span) is None


def test_the_next_tracking_turn_is_the_shifts_end_or_the_next_start_with_the_grace():
    """Tests that on a Mon-Fri 08:00-17:00 Monaco shift the turn is 17:15 while on it, 07:45 the next morning after it,
    and on Friday evening Monday's 07:45; a worker without a calendar never turns."""
    weekdays = Shift(weekdays=(0, 1, 2, 3, 4), start=time(8), end=time(17), zone=MONACO)
    worker = Worker(1, "Ana", "dev-1", shifts=(weekdays,))
    local = lambda d, hh, mm=0: datetime(2025, 3, d, hh, mm, tzinfo=MONACO)  # noqa: E731  # 3 March 2025: a Monday
    assert tracking_turn(worker, local(3, 12)) == local(3, 17, 15)
    assert tracking_turn(worker, local(3, 20)) == local(4, 7, 45)
    assert tracking_turn(worker, local(7, 20)) == local(10, 7, 45)
    assert tracking_turn(Worker(2, "Ben", "dev-2"), local(3, 12)) is None
