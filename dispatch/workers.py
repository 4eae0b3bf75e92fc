"""Field workers, their skills and shifts, and the state a dispatcher sees them in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from enum import StrEnum

from dispatch.geo import LatLon


class WorkerState(StrEnum):
    """What the live map colours a worker by."""

    IDLE = "idle"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    OFFLINE = "offline"


MAX_GRACE = timedelta(hours=12)
"""The widest grace `Shift.covers` takes (it looks one day either side of the time asked about)."""


@dataclass(frozen=True, slots=True)
class Shift:
    """A working period on given weekdays (0 = Monday), wall-clock times read in `zone`.

    `zone` is the worker's own time zone, else the office's (UTC for workers stored before zones
    existed). A 07:00-15:30 shift in Europe/Monaco starts at 06:00 UTC in winter and 05:00 UTC in
    summer; on the day the clocks change the shift is an hour shorter or longer in UTC, never shifted.
    """

    weekdays: tuple[int, ...]
    start: time
    end: time
    zone: tzinfo = UTC

    def __post_init__(self) -> None:
        if not self.weekdays or any(d not in range(7) for d in self.weekdays):
            raise ValueError("weekdays must be a non-empty list of 0..6 (0 = Monday)")
        if self.end <= self.start:
            raise ValueError("shift end must be after its start")

    def covers(self, at: datetime, *, grace: timedelta = timedelta(0)) -> bool:
        """Whether `at` (aware datetime) falls inside this shift, widened by `grace` at both ends.

        The end is exclusive. With a grace the widened shift may reach into the day before or
        after: a fix at 00:05 on Tuesday is within 15 minutes of a Monday shift ending at 23:59.
        """
        if not grace:  # the common case, asked for every candidate of every assignment
            local = at.astimezone(self.zone)
            return local.weekday() in self.weekdays and self.start <= local.time() < self.end
        if not timedelta(0) < grace <= MAX_GRACE:
            raise ValueError(f"grace must be within 0..{MAX_GRACE}")
        return self.span_around(at, grace=grace) is not None

    def span_around(self, at: datetime, *, grace: timedelta = timedelta(0)) -> tuple[datetime, datetime] | None:
        """`[start, end)` in UTC of this shift's occurrence holding `at`, widened by `grace`; None when none does."""
        at_utc = at.astimezone(UTC)
        local_day = at.astimezone(self.zone).date()
        for offset in (-1, 0, 1):
            day = local_day + timedelta(days=offset)
            if day.weekday() not in self.weekdays:
                continue
            # Through UTC: arithmetic on two times of one zone is wall-clock arithmetic, wrong across a change.
            start = datetime.combine(day, self.start, tzinfo=self.zone).astimezone(UTC) - grace
            end = datetime.combine(day, self.end, tzinfo=self.zone).astimezone(UTC) + grace
            if start <= at_utc < end:
                return start, end
        return None


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

    def on_shift(self, at: datetime, *, grace: timedelta = timedelta(0)) -> bool:
        """Whether the worker is on shift at `at` (give or take `grace`); a worker with no calendar is never on shift."""
        return self.active and any(s.covers(at, grace=grace) for s in self.shifts)


LOCATION_GRACE = timedelta(minutes=15)
"""How long before a shift starts and after it ends a worker's location is still kept.

Phones are switched on in the car park and the last fix arrives on the way out; a quarter of an
hour keeps those without keeping anyone's evening.
"""


def keeps_location(worker: Worker, at: datetime, *, grace: timedelta = LOCATION_GRACE) -> bool:
    """Whether a location fix taken at `at` may be kept (stored and shown live): only on shift, ± `grace`.

    Managers promise staff that their location is kept only while they are on shift, so this is
    decided by the fix time (when the phone took the fix), never by when the server heard of it: a
    phone flushing its offline buffer after the shift still has the fixes of the shift kept, and
    none of the evening's.

    A worker with no shift calendar at all has nothing to judge by: their fixes are kept, and the
    phone's own tracking switch (OsmAnd / Traccar Client, which the worker turns on and off) is the
    only gate. Refusing them would silently drop every fix of a phone registered with
    `python -m data add-worker` (which sets no shifts), breaking the documented way to connect a
    phone; the ingestion pipeline logs once per process that such a worker has no calendar, so the
    manager can give them one. A deactivated worker's fixes are never kept.
    """
    if not worker.active:
        return False
    return not worker.shifts or worker.on_shift(at, grace=grace)


def kept_span(worker: Worker, at: datetime, *, grace: timedelta = LOCATION_GRACE) -> tuple[datetime, datetime] | None:
    """A span `[start, end)` holding `at` in which every fix of `worker` is kept (`keeps_location`),
    or None when a fix taken at `at` is not kept.

    For judging many fixes of one worker by comparing times: a fix inside the span is kept without
    asking the calendar again. The span is the shift (widened by `grace`) that covers `at`; a worker
    without a calendar keeps everything, so their span is all time.
    """
    if not worker.active:
        return None
    if not worker.shifts:
        return _ALL_TIME
    if not timedelta(0) <= grace <= MAX_GRACE:
        raise ValueError(f"grace must be within 0..{MAX_GRACE}")
    for shift in worker.shifts:
        span = shift.span_around(at, grace=grace)
        if span is not None:
            return span
    return None


_ALL_TIME = (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))


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
