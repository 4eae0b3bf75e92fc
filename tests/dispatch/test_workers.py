from __future__ import annotations

from datetime import time, timedelta

import pytest

from dispatch.workers import LiveStatus, Shift, WorkerState, worker_state
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
