"""Hours of a day from clock events, visits and the track against the roster, computed by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from dispatch.hours import DayRecord, HoursSettings, Visit, day_hours, planned_intervals
from dispatch.workers import Shift

DAY = date(2026, 3, 2)  # a Monday
MIN = 60.0


def at(hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 3, 2, hh, mm, tzinfo=UTC)


SHIFT = planned_intervals([Shift((0, 1, 2, 3, 4), time(8), time(16))], DAY)


def test_a_full_day_splits_into_site_travel_and_break_with_a_late_start_and_overtime() -> None:
    """Tests a day worked by hand: shift 08:00-16:00 (8 h); clocked in 08:10, out 16:45; trips 08:10-08:30
    and 09:30-09:50 (40 min); on site 08:30-09:30 and 09:50-11:00 (2 h 10); a 30-min stop away from any
    site 12:00-12:30 (a break) and a 5-min one (not a break). Span 8 h 35 less the break = 8 h 05 worked,
    5 min overtime, 10 min late, no early leave."""
    record = DayRecord(
        day=DAY, planned=SHIFT, clock_ins=(at(8, 10),), clock_outs=(at(16, 45),),
        visits=(Visit(1, at(8, 30), at(9, 30)), Visit(2, at(9, 50), at(11))),
        trips=((at(8, 10), at(8, 30)), (at(9, 30), at(9, 50))),
        stops=((at(8, 30), at(9, 30)), (at(12), at(12, 30)), (at(14), at(14, 5))),
    )  # fmt: skip
    hours = day_hours(record)
    assert hours.planned_s == 8 * 60 * MIN
    assert hours.on_site_s == 130 * MIN
    assert hours.travel_s == 40 * MIN
    assert hours.break_s == 30 * MIN
    assert hours.worked_s == (8 * 60 + 5) * MIN
    assert hours.overtime_s == 5 * MIN
    assert hours.late_start_s == 10 * MIN
    assert hours.early_leave_s == 0.0
    assert not hours.missing_clock_out
    assert hours.visits == 2


def test_leaving_early_and_an_unapproved_visit_that_is_not_passed_in() -> None:
    """Tests clocked in 07:55 (not late), out 14:30: 90 min early leave, 6 h 35 worked, no overtime; a visit
    with only its check-in counted (its check-out a pending late entry) adds no time on site."""
    record = DayRecord(
        day=DAY, planned=SHIFT, clock_ins=(at(7, 55),), clock_outs=(at(14, 30),),
        visits=(Visit(1, at(9), at(10)), Visit(2, at(11), None)),
    )  # fmt: skip
    hours = day_hours(record)
    assert (hours.worked_s, hours.on_site_s, hours.early_leave_s) == (395 * MIN, 60 * MIN, 90 * MIN)
    assert (hours.late_start_s, hours.overtime_s) == (0.0, 0.0)


def test_a_missing_clock_out_is_flagged_and_the_span_ends_at_the_last_known_activity() -> None:
    """Tests clocked in 08:00 and never out: the span ends at the last check-out (13:00), flagged."""
    record = DayRecord(day=DAY, planned=SHIFT, clock_ins=(at(8),), visits=(Visit(1, at(12), at(13)),))
    hours = day_hours(record)
    assert hours.missing_clock_out
    assert hours.ended_at == at(13)
    assert hours.worked_s == 5 * 60 * MIN
    assert hours.early_leave_s == 0.0  # not judged without a clock-out


def test_without_clock_events_the_visits_bound_the_day() -> None:
    """Tests an organisation without clock-in: the first check-in to the last check-out is worked (not flagged)."""
    record = DayRecord(day=DAY, planned=SHIFT, visits=(Visit(1, at(9), at(10)), Visit(2, at(11), at(12, 30))))
    hours = day_hours(record)
    assert (hours.worked_s, hours.on_site_s, hours.missing_clock_out) == (210 * MIN, 150 * MIN, False)
    assert hours.late_start_s == 0.0


def test_a_day_off_worked_is_all_overtime_free_and_an_empty_day_is_zero() -> None:
    """Tests nothing planned and nothing worked → zeros; worked with no shift → no overtime is invented."""
    assert day_hours(DayRecord(day=DAY, planned=SHIFT)).worked_s == 0.0
    hours = day_hours(DayRecord(day=DAY, clock_ins=(at(9),), clock_outs=(at(11),)))
    assert (hours.worked_s, hours.planned_s, hours.overtime_s) == (2 * 60 * MIN, 0.0, 0.0)


def test_the_night_the_clocks_go_forward_a_shift_from_midnight_to_eight_is_seven_hours() -> None:
    """Tests 29 March 2026 in Paris (02:00 → 03:00): shift 00:00-08:00 local is 23:00-06:00 UTC, 7 h; clocked
    in at 00:00 and out at 08:00 local is 7 h worked, no overtime (wall-clock arithmetic would say 8 h)."""
    paris = ZoneInfo("Europe/Paris")
    day = date(2026, 3, 29)  # a Sunday
    planned = planned_intervals([Shift((6,), time(0), time(8))], day, paris)
    assert planned == ((datetime(2026, 3, 28, 23, tzinfo=UTC), datetime(2026, 3, 29, 6, tzinfo=UTC)),)
    record = DayRecord(
        day=day, planned=planned, clock_ins=(datetime(2026, 3, 29, 0, 0, tzinfo=paris),),
        clock_outs=(datetime(2026, 3, 29, 8, 0, tzinfo=paris),),
    )  # fmt: skip
    hours = day_hours(record)
    assert (hours.planned_s, hours.worked_s, hours.overtime_s) == (7 * 3600.0, 7 * 3600.0, 0.0)
    assert (hours.late_start_s, hours.early_leave_s) == (0.0, 0.0)


def test_the_break_threshold_is_a_setting() -> None:
    """Tests a 20-min stop is a break at the default 10 min and not at 30 min."""
    record = DayRecord(day=DAY, planned=SHIFT, clock_ins=(at(8),), clock_outs=(at(16),), stops=((at(12), at(12, 20)),))
    assert day_hours(record).break_s == 20 * MIN
    assert day_hours(record, HoursSettings(break_min_s=30 * MIN)).break_s == 0.0


def test_naive_times_are_refused() -> None:
    """Tests a naive clock-in is a bug at the caller, not a guess."""
    with pytest.raises(ValueError, match="timezone-aware"):
        day_hours(DayRecord(day=DAY, clock_ins=(datetime(2026, 3, 2, 8),)))


def test_a_shift_is_planned_on_its_own_clock_when_no_zone_is_given() -> None:
    """Tests that a Monaco worker's 07:00-15:30 shift on 25 October 2026 (clocks back) is planned 06:00-14:30 UTC,
    9 h 30 min, read in the shift's own zone, not as 07:00 UTC."""
    monaco = ZoneInfo("Europe/Monaco")
    day = date(2026, 10, 25)
    planned = planned_intervals([Shift((6,), time(7), time(15, 30), zone=monaco)], day)
    assert planned == ((datetime(2026, 10, 25, 6, tzinfo=UTC), datetime(2026, 10, 25, 14, 30, tzinfo=UTC)),)


def test_a_day_clocked_in_at_the_depot_without_work_is_worked_less_the_shifts_break() -> None:
    """Tests a worker clocked in 08:00-16:00 who stood at the depot all day with nothing to do (one stop): on duty,
    so 7 h 30 worked and the shift's 30-min break taken from when its window opens (10:40); the rule before took the
    whole stop for a break and paid 0 h 00 (the demo's timesheets read "worked 0 h 03, breaks 7 h 57")."""
    record = DayRecord(day=DAY, planned=SHIFT, clock_ins=(at(8),), clock_outs=(at(16),), stops=((at(8), at(16)),))
    hours = day_hours(record)
    assert (hours.worked_s, hours.break_s) == (450 * MIN, 30 * MIN)


def test_waiting_outside_the_break_window_is_worked_and_the_break_is_the_longest_rest_in_it_up_to_30_min() -> None:
    """Tests shift 08:00-16:00 (break window 10:40-13:20): waiting 08:30-09:30 for a window that opens at 09:30
    (no check-in yet) is worked; a 12-min coffee at 10:45 and a 50-min lunch from 12:00 both begin in the window: the
    break is the lunch's first 30 min, and the coffee and the lunch's last 20 min are time on duty."""
    record = DayRecord(
        day=DAY, planned=SHIFT, clock_ins=(at(8),), clock_outs=(at(16),),
        visits=(Visit(1, at(9, 30), at(10, 30)),),
        stops=((at(8, 30), at(9, 30)), (at(10, 45), at(10, 57)), (at(12), at(12, 50))),
    )  # fmt: skip
    hours = day_hours(record)
    assert hours.break_s == 30 * MIN
    assert hours.worked_s == (8 * 60 - 30) * MIN


def test_a_shift_of_six_hours_has_no_break_and_each_shift_of_a_split_day_has_its_own() -> None:
    """Tests a 6-hour shift (08:00-14:00) has no break: a 30-min stop in its middle is worked. A split day, 07:00-14:00
    (window 09:20-11:40) and 15:00-23:00 (window 17:40-20:20), has two: 20 min at 10:00 and 30 of the 40 min from
    18:00; the 20-min stop at 14:20, between the shifts, is in neither shift's window and is worked."""
    short = planned_intervals([Shift((0,), time(8), time(14))], DAY)
    record = DayRecord(day=DAY, planned=short, clock_ins=(at(8),), clock_outs=(at(14),), stops=((at(11), at(11, 30)),))
    assert (day_hours(record).break_s, day_hours(record).worked_s) == (0.0, 6 * 60 * MIN)
    split = planned_intervals([Shift((0,), time(7), time(14)), Shift((0,), time(15), time(23))], DAY)
    record = DayRecord(
        day=DAY, planned=split, clock_ins=(at(7),), clock_outs=(at(23),),
        stops=((at(10), at(10, 20)), (at(14, 20), at(14, 40)), (at(18), at(18, 40))),
    )  # fmt: skip
    hours = day_hours(record)
    assert hours.break_s == 50 * MIN
    assert hours.worked_s == (16 * 60 - 50) * MIN
