from __future__ import annotations

from dataclasses import FrozenInstanceError, fields, replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.positions import (
    OFF_SHIFT,
    Accepted,
    Position,
    PositionLimits,
    Rejected,
    accept,
    checked_position,
    refuse_off_shift,
)
from tests.factories import make_position, make_worker

LIMITS = PositionLimits(max_future_s=600)


def test_first_fix_is_live():
    """Tests that a worker's first position is kept and moves them on the live map."""
    verdict = accept(make_position(), None, LIMITS)
    assert verdict == Accepted(make_position(), live=True)


def test_resend_of_last_fix_is_a_duplicate():
    """Tests that a phone resending its last fix (lost answer) is not stored twice."""
    last = make_position()
    verdict = accept(make_position(), last, LIMITS)
    assert isinstance(verdict, Rejected) and verdict.duplicate


def test_older_fix_is_history_not_live():
    """Tests that a fix older than the last (an offline buffer flushing) is kept but does not move the marker back."""
    last = make_position("2025-03-03T08:05:00Z")
    older = make_position("2025-03-03T08:01:00Z", lat=43.74, server_time="2025-03-03T08:06:00Z")
    assert accept(older, last, LIMITS) == Accepted(older, live=False)


def test_fix_far_in_the_future_is_rejected_with_reason():
    """Tests that a phone with a clock an hour ahead gets a reason naming the gap."""
    p = make_position("2025-03-03T09:00:00Z", server_time="2025-03-03T08:00:00Z")
    verdict = accept(p, None, LIMITS)
    assert isinstance(verdict, Rejected)
    assert "3600 s ahead" in verdict.reason


def test_fix_older_than_the_retention_period_is_rejected_with_reason():
    """Tests that a fix dated 1970 (or 91 days back with 90 days' retention) is refused naming the retention period."""
    limits = PositionLimits(max_future_s=600, max_age_s=90 * 86400)
    epoch = make_position("1970-01-01T00:00:00Z", server_time="2025-03-03T08:00:00Z")
    verdict = accept(epoch, None, limits)
    assert isinstance(verdict, Rejected) and not verdict.duplicate
    assert "older than the 90-day retention period" in verdict.reason
    late = make_position("2024-12-02T07:59:00Z", server_time="2025-03-03T08:00:00Z")
    assert isinstance(accept(late, None, limits), Rejected)
    within = make_position("2024-12-03T08:01:00Z", server_time="2025-03-03T08:00:00Z")
    assert accept(within, None, limits) == Accepted(within, live=True)


def test_limits_must_be_positive():
    """Tests that a zero or negative clock limit is refused naming the field, not silently accepting nothing."""
    with pytest.raises(ValueError, match="max_age_s"):
        PositionLimits(max_age_s=0)
    with pytest.raises(ValueError, match="max_future_s"):
        PositionLimits(max_future_s=-1)


def test_out_of_range_values_are_refused_naming_the_field():
    """Tests that impossible values never become a Position."""
    with pytest.raises(ValueError, match="latitude"):
        make_position(lat=91.0)
    with pytest.raises(ValueError, match="battery_pct"):
        make_position(battery_pct=120.0)
    with pytest.raises(ValueError, match="speed_mps"):
        make_position(speed_mps=-1.0)


@given(st.integers(min_value=1, max_value=10_000))
def test_never_live_when_older_than_last(seconds_earlier):
    """Tests that accept never makes a fix older than the last one the live position."""
    last = make_position("2025-03-03T10:00:00Z")
    older = replace(last, fix_time=last.fix_time - timedelta(seconds=seconds_earlier), latitude=43.75)
    verdict = accept(older, last, LIMITS)
    assert isinstance(verdict, Accepted) and not verdict.live


def test_a_fix_taken_off_shift_is_refused_as_off_shift():
    """Tests that a 07-19 worker's fix at 21:00 is refused with the reason "off shift", and one at 08:00 is not."""
    worker = make_worker()
    assert refuse_off_shift(make_position("2025-03-03T08:00:00Z"), worker) is None
    evening = refuse_off_shift(make_position("2025-03-03T21:00:00Z"), worker)
    assert evening == Rejected(OFF_SHIFT, off_shift=True)
    assert OFF_SHIFT == "off shift"


def test_the_shift_is_judged_by_the_fix_time_not_the_arrival():
    """Tests that an afternoon fix flushed in the evening is kept, and a 06:00 fix flushed at 08:00 (on shift) is not."""
    worker = make_worker()
    assert refuse_off_shift(make_position("2025-03-03T15:00:00Z", server_time="2025-03-03T22:00:00Z"), worker) is None
    early = make_position("2025-03-03T06:00:00Z", server_time="2025-03-03T08:00:00Z")
    assert refuse_off_shift(early, worker) == Rejected(OFF_SHIFT, off_shift=True)


def test_a_position_is_checked_against_its_own_worker_only():
    """Tests that checking one worker's fix against another worker's shifts is a bug, not a verdict."""
    with pytest.raises(ValueError, match="^worker: position of worker 1 checked against worker 2"):
        refuse_off_shift(make_position(), make_worker(id=2))


_OPTIONAL_POSITIVE = st.none() | st.floats(min_value=0, max_value=1e6)


@given(
    worker_id=st.integers(min_value=1, max_value=2**62),
    device_id=st.text(min_size=1, max_size=20),
    fix_time=st.datetimes(timezones=st.just(UTC)),
    server_time=st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=2))])),
    latitude=st.floats(min_value=-90, max_value=90),
    longitude=st.floats(min_value=-180, max_value=180),
    accuracy_m=_OPTIONAL_POSITIVE,
    speed_mps=_OPTIONAL_POSITIVE,
    bearing_deg=st.none() | st.floats(min_value=0, max_value=360),
    altitude_m=st.none() | st.floats(min_value=-1e4, max_value=1e5),
    battery_pct=st.none() | st.floats(min_value=0, max_value=100),
)
def test_a_checked_position_is_the_position_the_dataclass_makes(
    worker_id: int,
    device_id: str,
    fix_time: datetime,
    server_time: datetime,
    latitude: float,
    longitude: float,
    accuracy_m: float | None,
    speed_mps: float | None,
    bearing_deg: float | None,
    altitude_m: float | None,
    battery_pct: float | None,
) -> None:
    """Tests that the batch path's cheap constructor makes, from checked values, a Position equal field for field
    (and in repr) to `Position(...)`'s, as frozen, with every field set (a field added to Position and not set
    there fails here)."""
    fast = checked_position(
        worker_id, device_id, fix_time, server_time, latitude, longitude, accuracy_m, speed_mps, bearing_deg,
        altitude_m, battery_pct,
    )  # fmt: skip
    slow = Position(
        worker_id=worker_id, device_id=device_id, fix_time=fix_time, device_time=fix_time, server_time=server_time,
        latitude=latitude, longitude=longitude, accuracy_m=accuracy_m, speed_mps=speed_mps, bearing_deg=bearing_deg,
        altitude_m=altitude_m, battery_pct=battery_pct,
    )  # fmt: skip
    assert [getattr(fast, f.name) for f in fields(Position)] == [getattr(slow, f.name) for f in fields(Position)]
    assert fast == slow and repr(fast) == repr(slow) and replace(fast) == slow
    with pytest.raises(FrozenInstanceError):
        fast.latitude = 0.0  # type: ignore[misc]
