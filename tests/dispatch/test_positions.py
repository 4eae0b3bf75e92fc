from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.positions import Accepted, PositionLimits, Rejected, accept
from tests.factories import make_position

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
