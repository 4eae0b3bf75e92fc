"""Small, named, deterministic fixtures: a manual clock and a seeded random generator."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import settings

from dispatch.clock import ManualClock

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=200)
settings.load_profile("ci")

MONDAY_8AM = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY_8AM)


@pytest.fixture
def rng() -> random.Random:
    return random.Random(0)
