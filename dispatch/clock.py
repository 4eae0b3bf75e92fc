"""Where "now" comes from: a protocol, the system clock, and a manual clock for tests and simulation."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that can say what time it is (timezone-aware UTC)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock. The only place in the project that reads it."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to; thread-safe so a simulator and a server can share it."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward by `seconds` (>= 0) and return the new time."""
        if seconds < 0:
            raise ValueError("seconds < 0: a clock does not go back")
        with self._lock:
            self._now = self._now + timedelta(seconds=seconds)
            return self._now


class ScaledClock:
    """A clock that runs `speed` times faster than a base clock, from `start` on.

    The demo simulator uses it so that a day of field work can be watched in minutes.
    """

    def __init__(self, base: Clock, start: datetime, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self._base = base
        self._base_start = base.now()
        self._start = start
        self.speed = speed

    def now(self) -> datetime:
        return self._start + (self._base.now() - self._base_start) * self.speed

    def to_base(self, at: datetime) -> datetime:
        """The base clock's time at which this clock showed `at` (maps simulated to real time)."""
        return self._base_start + (at - self._start) / self.speed
