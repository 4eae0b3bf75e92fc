"""GPS positions (Traccar's vocabulary) and the filter that decides which reports are kept.

Times follow Traccar's three-way split: `fix_time` (when the satellite fix was taken),
`device_time` (the phone's clock), `server_time` (when we received it). All aware UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final, overload

from dispatch.geo import LatLon, check_lat_lon
from dispatch.workers import Worker, keeps_location

KNOTS_TO_MPS = 0.514444


@dataclass(frozen=True, slots=True)
class Position:
    """One accepted location report of one worker's device."""

    worker_id: int
    device_id: str
    fix_time: datetime
    device_time: datetime
    server_time: datetime
    latitude: float
    longitude: float
    accuracy_m: float | None = None
    speed_mps: float | None = None
    bearing_deg: float | None = None
    altitude_m: float | None = None
    battery_pct: float | None = None
    charging: bool | None = None
    mock: bool = False
    valid: bool = True
    attributes: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    id: int | None = None

    def __post_init__(self) -> None:
        check_lat_lon(self.latitude, self.longitude)
        if self.fix_time.tzinfo is None or self.device_time.tzinfo is None or self.server_time.tzinfo is None:
            for name in ("fix_time", "device_time", "server_time"):
                if getattr(self, name).tzinfo is None:
                    raise ValueError(f"{name} must be timezone-aware")
        if self.accuracy_m is not None and self.accuracy_m < 0:
            raise ValueError("accuracy_m must be >= 0")
        if self.speed_mps is not None and self.speed_mps < 0:
            raise ValueError("speed_mps must be >= 0")
        if self.battery_pct is not None and not 0 <= self.battery_pct <= 100:
            raise ValueError("battery_pct must be within 0..100")

    @property
    def point(self) -> LatLon:
        return LatLon(self.latitude, self.longitude)


_NO_ATTRIBUTES: Mapping[str, Any] = MappingProxyType({})  # read-only, so one serves every plain fix
_new = object.__new__


def _slot(name: str) -> Callable[[Position, Any], None]:
    """The writer of one of Position's slots (its member descriptor's `__set__`)."""
    return Position.__dict__[name].__set__  # type: ignore[no-any-return]


# Each field's slot, written directly: a frozen dataclass's `__init__` writes its seventeen fields through
# `object.__setattr__` and then checks them, which was a quarter of the batch endpoint's request thread.
_worker_id, _device_id, _fix_time, _device_time, _server_time = map(
    _slot, ("worker_id", "device_id", "fix_time", "device_time", "server_time")
)
_latitude, _longitude, _accuracy_m, _speed_mps, _bearing_deg, _altitude_m, _battery_pct = map(
    _slot, ("latitude", "longitude", "accuracy_m", "speed_mps", "bearing_deg", "altitude_m", "battery_pct")
)
_charging, _mock, _valid, _attributes, _id = map(_slot, ("charging", "mock", "valid", "attributes", "id"))


def checked_position(
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
) -> Position:
    """`Position(...)` of a plain fix (device time = fix time, no attributes, not charging-known, not mock, valid, no
    id) from values the caller has already checked as `Position` checks them: both times aware, latitude within
    -90..90 and longitude within -180..180, accuracy and speed >= 0 or None, battery within 0..100 or None.

    About three times cheaper than the dataclass's own `__init__`, for the batch endpoint's hundreds of fixes a
    request (`realtime.ingest.plain_fix` checks each item's values; the server time is the batch's). A property
    test holds it equal to `Position(...)`.
    """
    position = _new(Position)
    _worker_id(position, worker_id)
    _device_id(position, device_id)
    _fix_time(position, fix_time)
    _device_time(position, fix_time)
    _server_time(position, server_time)
    _latitude(position, latitude)
    _longitude(position, longitude)
    _accuracy_m(position, accuracy_m)
    _speed_mps(position, speed_mps)
    _bearing_deg(position, bearing_deg)
    _altitude_m(position, altitude_m)
    _battery_pct(position, battery_pct)
    _charging(position, None)
    _mock(position, False)
    _valid(position, True)
    _attributes(position, _NO_ATTRIBUTES)
    _id(position, None)
    return position


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


def epoch_micros(at: datetime) -> int:
    """An aware time in whole microseconds since the Unix epoch (`StoredFixes.fix_us`)."""
    return (at - _EPOCH) // _MICROSECOND


class StoredFixes(Sequence[Position]):
    """Stored fixes as a sequence of Positions with their row ids, each given its id only when read through it.

    The batch endpoint stores hundreds of fixes per request and hands them to the alert evaluator, which needs a
    fix's id only for the few fixes that make a geofence crossing; `dataclasses.replace` of every fix (a copy of its
    seventeen fields) cost the request more than building the fix. `positions` (without their ids) and `ids` are
    there for readers that take the columns as they are.

    `fix_us`, when given, is each fix's time in microseconds since the epoch (`epoch_micros(fix.fix_time)`), as the
    batch's parser read it: the evaluator sorts and measures the fixes by their times, and reading them back from
    each `fix_time` (`datetime.timestamp()`, ~0.4 µs a fix) was a quarter of its deciding.

    `plain`, when true, says every fix is plain as `checked_position` builds it (no attributes, so no alarm; not mock;
    valid; charging unknown): what the batch endpoint knows for free when every item took the plain path
    (`realtime.ingest.plain_fix`). The evaluator then skips its passes over those fields (`evaluate_batch`'s `plain`).
    Never true of a fix built any other way.
    """

    __slots__ = ("fix_us", "ids", "plain", "positions")

    def __init__(
        self,
        positions: Sequence[Position],
        ids: Sequence[int | None],
        fix_us: Sequence[int] | None = None,
        *,
        plain: bool = False,
    ) -> None:
        if len(positions) != len(ids):
            raise ValueError(f"ids: {len(ids)} ids for {len(positions)} positions")
        if fix_us is not None and len(fix_us) != len(positions):
            raise ValueError(f"fix_us: {len(fix_us)} times for {len(positions)} positions")
        self.positions = positions
        self.ids = ids
        self.fix_us = fix_us
        self.plain = plain

    def __len__(self) -> int:
        return len(self.positions)

    @overload
    def __getitem__(self, index: int) -> Position: ...

    @overload
    def __getitem__(self, index: slice) -> StoredFixes: ...

    def __getitem__(self, index: int | slice) -> Position | StoredFixes:
        if isinstance(index, slice):
            times = None if self.fix_us is None else self.fix_us[index]
            return StoredFixes(self.positions[index], self.ids[index], times, plain=self.plain)
        return replace(self.positions[index], id=self.ids[index])


@dataclass(frozen=True, slots=True)
class NetworkReport:
    """A report without coordinates (only cell towers / Wi-Fi in `attributes`) from a worker with no
    earlier position to carry over.

    Traccar keeps such a report, marked outdated and not valid, for later network geolocation; so do
    we. It is never a place: never published to the live map, never drawn, never anyone's last position.
    """

    worker_id: int
    device_id: str
    fix_time: datetime
    server_time: datetime
    battery_pct: float | None = None
    charging: bool | None = None
    attributes: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    id: int | None = None

    def __post_init__(self) -> None:
        for name in ("fix_time", "server_time"):
            if getattr(self, name).tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware")
        if self.battery_pct is not None and not 0 <= self.battery_pct <= 100:
            raise ValueError("battery_pct must be within 0..100")


@dataclass(frozen=True, slots=True)
class PositionLimits:
    """How far the filter trusts a device's clock.

    A fix time more than `max_future_s` ahead of the server's clock, or more than `max_age_s`
    behind it (the retention period: such a fix would be purged within the hour), is refused.
    """

    max_future_s: float = 600.0
    max_age_s: float = 90 * 86400.0

    def __post_init__(self) -> None:
        for name in ("max_future_s", "max_age_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: {getattr(self, name)!r} must be > 0")


def fix_time_refusal(fix_time: datetime, server_time: datetime, limits: PositionLimits) -> str | None:
    """Why a fix taken at `fix_time` cannot be kept when received at `server_time`, or None when it can.

    The reason names the gap and the limit, e.g. "3600 s ahead of the server clock (limit 600 s)"
    or "older than the 90-day retention period (taken 1970-01-01T00:00:00+00:00)".
    """
    ahead_s = (fix_time - server_time).total_seconds()
    if ahead_s > limits.max_future_s:
        return f"{ahead_s:.0f} s ahead of the server clock (limit {limits.max_future_s:.0f} s)"
    if -ahead_s > limits.max_age_s:
        return f"older than the {limits.max_age_s / 86400:g}-day retention period (taken {fix_time.isoformat()})"
    return None


@dataclass(frozen=True, slots=True)
class Accepted:
    """The position is kept. `live` is False for a fix older than the last one: it is history
    (a phone flushing its offline buffer), stored but not moved onto the live map."""

    position: Position
    live: bool


@dataclass(frozen=True, slots=True)
class Rejected:
    """The position is not kept; `reason` says why.

    `duplicate` marks a harmless resend. `off_shift` marks a fix taken outside the worker's shifts:
    nothing is wrong with it, it is just not ours to keep (see `dispatch.workers.keeps_location`).
    """

    reason: str
    duplicate: bool = False
    off_shift: bool = False
    no_consent: bool = False


OFF_SHIFT = "off shift"
"""The reason given for a fix taken outside the worker's shifts."""


def refuse_off_shift(position: Position | NetworkReport, worker: Worker) -> Rejected | None:
    """Rejected(OFF_SHIFT) when `position`'s fix time is outside `worker`'s shifts (with the grace), else None.

    The caller asks this before `accept`, so a position off shift is neither stored nor shown live.
    Raises ValueError when the position is not `worker`'s.
    """
    if position.worker_id != worker.id:
        raise ValueError(f"worker: position of worker {position.worker_id} checked against worker {worker.id}")
    if keeps_location(worker, position.fix_time):
        return None
    return Rejected(OFF_SHIFT, off_shift=True)


def refuse_fix_time(report: Position | NetworkReport, limits: PositionLimits) -> Rejected | None:
    """Rejected when the report's fix time is too far ahead or too old to keep (`fix_time_refusal`), else None."""
    refusal = fix_time_refusal(report.fix_time, report.server_time, limits)
    return None if refusal is None else Rejected(f"timestamp is {refusal}")


def accept(position: Position, last: Position | None, limits: PositionLimits) -> Accepted | Rejected:
    """Decide whether a parsed position is stored, and whether it is the worker's live position.

    Reasons that can come back: a fix time too far ahead of the server's clock or older than the
    retention period (`fix_time_refusal`), or a duplicate of the last fix (same fix time and
    place: a client retrying after a lost answer).
    """
    refused = refuse_fix_time(position, limits)
    if refused is not None:
        return refused
    live = live_or_duplicate(position, last)
    return live if isinstance(live, Rejected) else Accepted(position, live=live)


DUPLICATE_OF_LAST = Rejected("duplicate of the last fix", duplicate=True)


def live_or_duplicate(position: Position, last: Position | None) -> bool | Rejected:
    """`accept` for a position whose fix time is known to be within the limits: whether it is live (True) or
    history (False), or Rejected as a resend of the last fix. The batch path checks the time window once
    for the whole batch and asks only this, without an `Accepted` per fix."""
    return live_or_duplicate_at(position.fix_time, position.latitude, position.longitude, last)


def live_or_duplicate_at(
    fix_time: datetime, latitude: float, longitude: float, last: Position | None
) -> bool | Rejected:
    """`live_or_duplicate` of a fix given by its time and place, before (or without) a `Position` is made of it: the
    batch endpoint stores a history fix as a row without one."""
    if last is not None:
        if fix_time == last.fix_time and latitude == last.latitude and longitude == last.longitude:
            return DUPLICATE_OF_LAST
        if fix_time < last.fix_time:
            return False
    return True
