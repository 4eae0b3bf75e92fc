from __future__ import annotations

from datetime import date, time

import pytest

from dispatch.localtime import (
    NotALocalTime,
    day_bounds,
    day_zone,
    format_clock,
    format_span,
    local_day,
    local_day_bounds,
    local_to_utc,
    spans_day,
    to_local,
    zone,
    zone_label,
)
from tests.factories import at

MONACO = zone("Europe/Monaco")
SHANGHAI = zone("Asia/Shanghai")


def test_a_window_typed_in_monaco_is_stored_an_hour_or_two_earlier_in_utc():
    """Tests that 09:00 typed in Monaco is 08:00 UTC in winter and 07:00 UTC in summer."""
    assert local_to_utc(date(2026, 1, 15), time(9, 0), MONACO) == at("2026-01-15T08:00:00Z")
    assert local_to_utc(date(2026, 7, 15), time(9, 0), MONACO) == at("2026-07-15T07:00:00Z")


def test_the_days_either_side_of_the_march_change_use_their_own_offset():
    """Tests that 09:00 on Saturday 28 March 2026 (CET) and Sunday 29 March (CEST) are 08:00 and 07:00 UTC."""
    assert local_to_utc(date(2026, 3, 28), time(9, 0), MONACO) == at("2026-03-28T08:00:00Z")
    assert local_to_utc(date(2026, 3, 29), time(9, 0), MONACO) == at("2026-03-29T07:00:00Z")


def test_a_time_skipped_when_the_clocks_go_forward_is_refused_with_a_reason():
    """Tests that 02:30 on 29 March 2026 in Monaco (02:00 jumps to 03:00) is refused, naming the change."""
    result = local_to_utc(date(2026, 3, 29), time(2, 30), MONACO)
    assert isinstance(result, NotALocalTime)
    assert "2026-03-29 02:30 does not exist in Europe/Monaco" in result.reason


def test_a_time_that_happens_twice_in_october_is_the_first_unless_asked_for_the_second():
    """Tests that 02:30 on 25 October 2026 in Monaco is 00:30 UTC (summer time) or, with fold=1, 01:30 UTC."""
    assert local_to_utc(date(2026, 10, 25), time(2, 30), MONACO) == at("2026-10-25T00:30:00Z")
    assert local_to_utc(date(2026, 10, 25), time(2, 30), MONACO, fold=1) == at("2026-10-25T01:30:00Z")


def test_shanghai_has_no_daylight_saving_and_is_always_eight_hours_ahead():
    """Tests that 09:00 in Shanghai is 01:00 UTC in January and in July, labelled CST."""
    assert local_to_utc(date(2026, 1, 15), time(9, 0), SHANGHAI) == at("2026-01-15T01:00:00Z")
    assert local_to_utc(date(2026, 7, 15), time(9, 0), SHANGHAI) == at("2026-07-15T01:00:00Z")
    assert format_clock(at("2026-07-15T01:00:00Z"), SHANGHAI) == "09:00 CST"


def test_a_stored_utc_time_reads_as_the_office_clock_with_its_zone():
    """Tests that 07:00 UTC reads 09:00 CEST in Monaco in summer and 08:00 CET in winter."""
    assert format_clock(at("2026-07-15T07:00:00Z"), MONACO) == "09:00 CEST"
    assert format_clock(at("2026-01-15T07:00:00Z"), MONACO) == "08:00 CET"
    assert format_clock(at("2026-01-15T07:00:05Z"), MONACO, seconds=True) == "08:00:05 CET"
    assert to_local(at("2026-01-15T07:00:00Z"), MONACO).hour == 8


def test_local_days_on_change_days_last_23_and_25_hours():
    """Tests that a Monaco day is midnight to midnight local: 23 h on 29 March 2026, 25 h on 25 October."""
    start, end = local_day_bounds(date(2026, 3, 29), MONACO)
    assert (start, end) == (at("2026-03-28T23:00:00Z"), at("2026-03-29T22:00:00Z"))
    start, end = local_day_bounds(date(2026, 10, 25), MONACO)
    assert (end - start).total_seconds() == 25 * 3600


def test_a_window_across_the_change_shows_each_end_in_its_own_clock_time():
    """Tests that a window from 00:30 to 01:30 UTC on 25 October 2026 reads 02:30 CEST to 02:30 local."""
    assert format_span(at("2026-10-25T00:30:00Z"), at("2026-10-25T01:30:00Z"), MONACO) == (
        "2026-10-25 02:30",
        "02:30",
        "CEST",
    )
    assert format_span(at("2026-07-15T20:00:00Z"), at("2026-07-15T23:00:00Z"), MONACO)[1] == "2026-07-16 01:00"


def test_a_zone_without_an_abbreviation_is_labelled_by_its_offset():
    """Tests that a zone the database names only by offset (Asia/Dubai, '+04') reads 'UTC+04'."""
    assert zone_label(at("2026-07-15T07:00:00Z"), zone("Asia/Dubai")) == "UTC+04"


def test_an_unknown_zone_name_is_refused_naming_it():
    """Tests that a misspelt zone name is refused with the name and examples."""
    with pytest.raises(ValueError, match="'Europe/Monacco' is not an IANA time zone"):
        zone("Europe/Monacco")
    with pytest.raises(ValueError):
        to_local(at("2026-07-15T07:00:00Z").replace(tzinfo=None), MONACO)


def test_half_past_midnight_in_monaco_belongs_to_the_local_day_not_the_utc_one():
    """Tests that 23:30 UTC on 2 March (00:30 in Monaco) is on 3 March there, and a window 00:30-03:00 local
    touches 3 March only, where the UTC dates would have put it on 2 March too."""
    assert local_day(at("2026-03-02T23:30:00Z"), MONACO) == date(2026, 3, 3)
    start, end = at("2026-03-02T23:30:00Z"), at("2026-03-03T02:00:00Z")
    assert [d.day for d in (date(2026, 3, 2), date(2026, 3, 3)) if spans_day(start, end, d, MONACO)] == [3]


def test_a_day_is_cut_at_the_workers_own_midnight_where_they_have_a_zone():
    """Tests that a Shanghai worker's 3 March starts at 16:00 UTC on 2 March, an office worker's at Monaco's."""
    assert day_bounds(date(2026, 3, 3), day_zone(SHANGHAI, MONACO))[0] == at("2026-03-02T16:00:00Z")
    assert day_bounds(date(2026, 3, 3), day_zone(None, MONACO))[0] == at("2026-03-02T23:00:00Z")
