"""Field workers, their skills and shifts, and the state a dispatcher sees them in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum

from dispatch.geo import LatLon


class WorkerState(StrEnum):
    """What the live map colours a worker by."""

    IDLE = "idle"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class Shift:
    """A working period on given weekdays (0 = Monday), local wall-clock times in UTC for now."""

    weekdays: tuple[int, ...]
    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.weekdays or any(d not in range(7) for d in self.weekdays):
            raise ValueError("weekdays must be a non-empty list of 0..6 (0 = Monday)")
        if self.end <= self.start:
            raise ValueError("shift end must be after its start")

    def covers(self, at: datetime) -> bool:
        """Whether `at` (aware datetime) falls inside this shift."""
        return at.weekday() in self.weekdays and self.start <= at.timetz().replace(tzinfo=None) < self.end


@dataclass(frozen=True, slots=True)
class Worker:
    """A field worker as the domain knows them."""

    id: int
    name: str
    device_id: str
    skills: frozenset[str] = frozenset()
    shifts: tuple[Shift, ...] = ()
    home_base: LatLon | None = None
    team: str = ""
    active: bool = True

    def on_shift(self, at: datetime) -> bool:
        """Whether the worker is on shift at `at`; a worker with no calendar is never on shift."""
        return self.active and any(s.covers(at) for s in self.shifts)


@dataclass(frozen=True, slots=True)
class LiveStatus:
    """Inputs to the map state of one worker, all observed facts."""

    last_fix_time: datetime | None
    speed_mps: float | None
    current_order_status: str | None = None
    offline_after: timedelta = field(default=timedelta(minutes=10))


MOVING_MPS = 1.5  # faster than a brisk walk: the worker is travelling


def worker_state(status: LiveStatus, now: datetime) -> WorkerState:
    """Classify a worker for the map: offline when the last fix is older than `offline_after`.

    An order on site wins over movement (a worker pacing a car park is still on site); otherwise a
    worker moving faster than MOVING_MPS, or with an order en route, is en route.
    """
    if status.last_fix_time is None or now - status.last_fix_time > status.offline_after:
        return WorkerState.OFFLINE
    if status.current_order_status == "on_site":
        return WorkerState.ON_SITE
    if status.current_order_status == "en_route" or (status.speed_mps or 0.0) > MOVING_MPS:
        return WorkerState.EN_ROUTE
    return WorkerState.IDLE
