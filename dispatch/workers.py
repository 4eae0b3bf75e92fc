"""Field workers, their skills and shifts, and the state a dispatcher sees them in."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from dispatch.fields import FieldError, boolean, day, optional_id, point, refuse_unknown, text, text_list
from dispatch.geo import LatLon


class WorkerState(StrEnum):
    """What the live map colours a worker by."""

    IDLE = "idle"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    OFFLINE = "offline"


END_OF_DAY = time(0)
"""A shift's `end` at 24:00, the end of its day: written `24:00` (`parse_shift`, `format_shift`) and stored as 00:00,
which as an end can mean nothing else (a shift does not cross midnight, so its end is after its start)."""

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
        if self.end <= self.start and self.end != END_OF_DAY:
            raise ValueError("shift end must be after its start")

    @property
    def ends_at_midnight(self) -> bool:
        """Whether the shift runs to 24:00, the end of its day."""
        return self.end == END_OF_DAY

    @property
    def wall_length_s(self) -> float:
        """The shift's length on the wall clock (24:00 counts as 86,400 s), whatever the clocks do that day."""
        end_s = 86_400.0 if self.ends_at_midnight else _clock_s(self.end)
        return end_s - _clock_s(self.start)

    def span_on(self, day: date, zone: tzinfo | None = None) -> tuple[datetime, datetime]:
        """`[start, end)` in UTC of this shift on the local `day` (whether or not it works that weekday), its
        wall-clock times read in `zone`, else its own; 24:00 is the next day's midnight there."""
        tz = zone or self.zone
        # Through UTC: arithmetic on two times of one zone is wall-clock arithmetic, wrong across a change.
        start = datetime.combine(day, self.start, tzinfo=tz).astimezone(UTC)
        end_day = day + timedelta(days=1) if self.ends_at_midnight else day
        return start, datetime.combine(end_day, self.end, tzinfo=tz).astimezone(UTC)

    def covers(self, at: datetime, *, grace: timedelta = timedelta(0)) -> bool:
        """Whether `at` (aware datetime) falls inside this shift, widened by `grace` at both ends.

        The end is exclusive: a shift ending at 24:00 covers 23:59:59.999999. With a grace the widened shift
        may reach into the day before or after: a fix at 00:05 on Tuesday is within 15 minutes of a Monday shift
        ending at 24:00.
        """
        if not grace:  # the common case, asked for every candidate of every assignment
            local = at.astimezone(self.zone)
            clock = local.time()
            return (
                local.weekday() in self.weekdays and self.start <= clock and (clock < self.end or self.ends_at_midnight)
            )
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
            start, end = self.span_on(day)
            if start - grace <= at_utc < end + grace:
                return start - grace, end + grace
        return None


BREAK_S = 30 * 60
"""The length of the day's break (`break_window`)."""
BREAK_AFTER_S = 6 * 3600
"""A shift longer than this has a break."""


def break_window(start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
    """When the break of the shift `[start, end)` may start: within its middle third (07:00-19:00: 11:00 to 15:00);
    None for a shift of `BREAK_AFTER_S` or less, which has none. The planner places the break there (`routing.day`),
    and a stop in it is no exception until it outlasts the break (`dispatch.alerts.long_stop`)."""
    length_s = int((end - start).total_seconds())
    if length_s <= BREAK_AFTER_S:
        return None
    third = timedelta(seconds=length_s // 3)
    return start + third, start + 2 * third


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
    zone: tzinfo | None = None
    """The worker's own time zone, where they have one (their days are cut there); None: the office's."""

    def on_shift(self, at: datetime, *, grace: timedelta = timedelta(0)) -> bool:
        """Whether the worker is on shift at `at` (give or take `grace`); a worker with no calendar is never on shift."""
        return self.active and any(s.covers(at, grace=grace) for s in self.shifts)

    def shift_at(self, at: datetime) -> tuple[datetime, datetime] | None:
        """`[start, end)` in UTC of the shift holding `at`; None off shift."""
        return next((span for s in self.shifts if (span := s.span_around(at)) is not None), None)


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


TURN_LOOKAHEAD_DAYS = 8
"""How far ahead `tracking_turn` looks for a worker's next shift (a weekly rota's next working day, and then some)."""


def tracking_turn(worker: Worker, at: datetime, *, grace: timedelta = LOCATION_GRACE) -> datetime | None:
    """When whether `worker`'s fixes are kept (`keeps_location`) next changes after `at`: the end of the span kept
    now (their shift's end plus `grace`), else the next start of one (a shift's start less `grace`) within
    `TURN_LOOKAHEAD_DAYS`; None when it does not change (no calendar, inactive, or no shift ahead)."""
    if not worker.active or not worker.shifts:
        return None
    span = kept_span(worker, at, grace=grace)
    if span is not None:
        return span[1]
    starts = []
    for shift in worker.shifts:
        first = at.astimezone(shift.zone).date()
        for offset in range(TURN_LOOKAHEAD_DAYS):
            day = first + timedelta(days=offset)
            if day.weekday() in shift.weekdays and (start := shift.span_on(day)[0] - grace) > at:
                starts.append(start)
                break
    return min(starts, default=None)


def _clock_s(at: time) -> float:
    return at.hour * 3600 + at.minute * 60 + at.second + at.microsecond / 1e6


_ALL_TIME = (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))


@dataclass(frozen=True, slots=True)
class LiveStatus:
    """Inputs to the map state of one worker, all observed facts."""

    last_fix_time: datetime | None
    speed_mps: float | None
    current_order_status: str | None = None
    offline_after: timedelta = field(default=timedelta(minutes=10))


MOVING_MPS = 1.5  # faster than a brisk walk: the worker is travelling
OFFLINE_AFTER = timedelta(minutes=10)
"""LiveStatus' default `offline_after`."""


def fix_state(fix_time: datetime, speed_mps: float | None, now: datetime) -> WorkerState:
    """`worker_state(LiveStatus(fix_time, speed_mps), now)` without building the LiveStatus: the state a fix
    shows on the live map as it arrives (the ingestion path decides it once per fix)."""
    if now - fix_time > OFFLINE_AFTER:
        return WorkerState.OFFLINE
    return WorkerState.EN_ROUTE if (speed_mps or 0.0) > MOVING_MPS else WorkerState.IDLE


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


# Shifts as people write them, and a worker's fields as an administrator sends them -----------------

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_shift(text: str) -> Shift:
    """A shift written as `DAYS HH:MM-HH:MM` (wall-clock times, read in the worker's zone, else the office's),
    e.g. `Mon-Fri 07:00-15:30`, `Mon,Wed 08:00-12:00` or `Mon-Sun 00:00-24:00` (24:00: to the end of the day).

    The one reading of a shift: the command line (`add-worker --shift`), CSV imports and the
    administration API all use it. ValueError starting with `shift:` and the reason otherwise.
    """
    days_raw, _, hours = text.strip().partition(" ")
    days = parse_weekdays(days_raw)
    if days is None:
        raise ValueError(f"shift: {days_raw!r} is not a list of weekdays such as Mon-Fri or Mon,Wed,Fri")
    start_raw, _, end_raw = hours.strip().partition("-")
    if start_raw.strip() == "24:00":
        raise ValueError("shift: a shift cannot start at 24:00 (write 00:00 of the next day)")
    try:
        start = time.fromisoformat(start_raw.strip())
        end = END_OF_DAY if is_end_of_day(end_raw) else time.fromisoformat(end_raw.strip())
    except ValueError:
        raise ValueError(f"shift: {hours.strip()!r} is not HH:MM-HH:MM") from None
    if start.tzinfo is not None or end.tzinfo is not None:
        raise ValueError("shift: times are wall-clock times (the worker's or the office's zone) and carry no zone")
    if end <= start and not is_end_of_day(end_raw):
        crosses = end < start or end == END_OF_DAY
        hint = " (a shift may not cross midnight; one ending at midnight ends at 24:00)" if crosses else ""
        raise ValueError(f"shift: the end {end:%H:%M} is not after the start {start:%H:%M}{hint}")
    return Shift(weekdays=days, start=start, end=end)


def is_end_of_day(raw: str) -> bool:
    """Whether a shift's end is written as the end of the day, `24:00` (or `24:00:00`)."""
    return raw.strip() in ("24:00", "24:00:00")


def parse_weekdays(raw: str) -> tuple[int, ...] | None:
    """Parse `Mon-Fri`, `Mon,Wed,Fri`, `Sat;Sun` or `Fri-Mon` (wrapping) into 0..6 (0 = Monday); None if not days."""
    days: set[int] = set()
    for part in re.split(r"[;,\s]+", raw.strip().lower()):
        if not part:
            continue
        ends = part.split("-")
        try:
            index = [_WEEKDAYS.index(end[:3]) for end in ends if len(end) >= 3]
        except ValueError:
            return None
        if len(index) != len(ends) or len(index) not in (1, 2):
            return None
        if len(index) == 1:
            days.add(index[0])
        else:
            first, last = index
            days.update((first + i) % 7 for i in range((last - first) % 7 + 1))
    return tuple(sorted(days)) if days else None


def format_shift(shift: Shift) -> str:
    """The shift as `parse_shift` reads it: runs of days joined by commas, e.g. `Mon-Fri 07:00-15:30`."""
    runs: list[tuple[int, int]] = []
    for d in sorted(set(shift.weekdays)):
        if runs and runs[-1][1] == d - 1:
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    names = [_WEEKDAYS[a].title() if a == b else f"{_WEEKDAYS[a].title()}-{_WEEKDAYS[b].title()}" for a, b in runs]
    return f"{','.join(names)} {shift.start:%H:%M}-{format_shift_end(shift)}"


def format_shift_end(shift: Shift) -> str:
    """The shift's end as people write it: `HH:MM`, `24:00` at the end of the day."""
    return "24:00" if shift.ends_at_midnight else f"{shift.end:%H:%M}"


WORKER_FIELDS = ("name", "device_id", "skills", "team_id", "team", "home_base", "shifts", "active")
MAX_SKILLS = 50
MAX_SHIFTS = 14


@dataclass(frozen=True, slots=True)
class WorkerInput:
    """The fields of a worker an administrator sent: `given` names those present (a PATCH changes only them).

    `team_id` / `team` (a team's name) refer to a team; which one exists is for the storage to say.
    """

    given: frozenset[str]
    name: str = ""
    device_id: str = ""
    skills: frozenset[str] = frozenset()
    team_id: int | None = None
    team: str = ""
    home_base: LatLon | None = None
    shifts: tuple[Shift, ...] = ()
    active: bool = True


def worker_input(body: Mapping[str, Any], *, creating: bool) -> WorkerInput:
    """Read a worker's fields from `body` (a JSON object); FieldError naming the first bad one.

    Creating needs `name` and `device_id`; an update may send any subset. Skills are lower-cased
    and de-duplicated, as CSV imports store them; shifts are `parse_shift` texts.
    """
    refuse_unknown(body, WORKER_FIELDS)
    if creating:
        for required in ("name", "device_id"):
            if body.get(required) is None:
                raise FieldError(required, "is required")
    if "team_id" in body and "team" in body:
        raise FieldError("team", "send team_id or team (a team's name), not both")
    values: dict[str, Any] = {}
    if "name" in body:
        values["name"] = text(body, "name", max_len=200, required=True)
    if "device_id" in body:
        values["device_id"] = text(body, "device_id", max_len=100, required=True)
    if "skills" in body:
        values["skills"] = frozenset(s.lower() for s in text_list(body, "skills", max_items=MAX_SKILLS, max_len=50))
    if "team_id" in body:
        values["team_id"] = optional_id(body, "team_id")
    if "team" in body:
        values["team"] = text(body, "team", max_len=100, empty_ok=True)
    if "home_base" in body:
        values["home_base"] = point(body, "home_base")
    if "shifts" in body:
        texts = text_list(body, "shifts", max_items=MAX_SHIFTS, max_len=100)
        try:
            values["shifts"] = tuple(parse_shift(t) for t in texts)
        except ValueError as exc:
            raise FieldError("shifts", str(exc).removeprefix("shift: ")) from None
    if "active" in body:
        values["active"] = boolean(body, "active")
    return WorkerInput(given=frozenset(values), **values)


LEAVE_FIELDS = ("start", "end", "reason")


@dataclass(frozen=True, slots=True)
class LeaveInput:
    start: date
    end: date
    reason: str


def leave_input(body: Mapping[str, Any]) -> LeaveInput:
    """A leave's whole days (both included) and reason; FieldError naming the bad field."""
    refuse_unknown(body, LEAVE_FIELDS)
    start, end = day(body, "start"), day(body, "end")
    if end < start:
        raise FieldError("end", "the leave ends before it starts")
    if (end - start).days > 366:
        raise FieldError("end", "a leave longer than a year is not a leave; deactivate the worker instead")
    reason = text(body, "reason", max_len=200, empty_ok=True) or "leave"
    return LeaveInput(start, end, reason)
