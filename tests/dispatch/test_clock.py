from __future__ import annotations

import pytest

from dispatch.clock import ManualClock, ScaledClock
from tests.factories import at


def test_manual_clock_moves_only_when_told():
    """Tests that a manual clock stands still until advanced, and never goes back."""
    clock = ManualClock(at("2025-03-03T08:00:00Z"))
    assert clock.now() == at("2025-03-03T08:00:00Z")
    assert clock.advance(90) == at("2025-03-03T08:01:30Z")
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_scaled_clock_runs_faster_than_its_base():
    """Tests that a 10x simulation clock moves 10 minutes when the base moves 1."""
    base = ManualClock(at("2025-03-03T08:00:00Z"))
    sim = ScaledClock(base, at("2025-03-03T07:00:00Z"), speed=10)
    base.advance(60)
    assert sim.now() == at("2025-03-03T07:10:00Z")


def test_scaled_clock_maps_simulated_times_back_to_real_time():
    """Tests that a sped-up demo can stamp its fixes in real time (so the server does not see them in the future)."""
    base = ManualClock(at("2025-03-03T08:00:00Z"))
    sim = ScaledClock(base, at("2025-03-03T08:00:00Z"), speed=5)
    assert sim.to_base(at("2025-03-03T08:05:00Z")) == at("2025-03-03T08:01:00Z")
