"""Local time: what a person reads and types, against the UTC the domain stores.

The domain stores and compares aware UTC datetimes; people read and type wall-clock times in an
office's time zone (the organisation's, or a worker's own). The rules, in one place:

- UTC → local is always one answer (`to_local`), with the zone's abbreviation or offset to show.
- local → UTC (`local_to_utc`) has two awkward hours a year where daylight saving changes:
  - a time that does not exist (the clocks jump from 02:00 to 03:00 in Monaco on the last Sunday of
    March): refused with a reason, since a window "from 02:30" on that day means nothing;
  - a time that happens twice (02:00–03:00 on the last Sunday of October): the first of the two
    (summer time), unless the caller asks for the second (`fold=1`), as `datetime.fold` does.
- A local day (`local_day_bounds`) is not always 24 hours: 23 h in March, 25 h in October. Every feature
  that names a calendar day (plans, a worker's day page, the push link's day, hours and timesheets,
  reminders) cuts it here, at the office's midnight (or the worker's own, `day_zone`), never at UTC's.

The zone database is the standard library's `zoneinfo` (the system's, else the `tzdata` package).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True, slots=True)
class NotALocalTime:
    """A wall-clock time refused, with the reason a person can act on."""

    reason: str


def zone(name: str) -> ZoneInfo:
    """The IANA zone `name` ("Europe/Monaco", "Asia/Shanghai", "UTC"); ValueError naming it when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. Europe/Monaco, Asia/Shanghai, UTC)") from None


def to_local(moment: datetime, tz: tzinfo) -> datetime:
    """`moment` (aware) as wall-clock time in `tz`; ValueError for a naive datetime."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("moment must carry its offset (an aware datetime)")
    return moment.astimezone(tz)


def local_to_utc(day: date, clock: time, tz: ZoneInfo, *, fold: int = 0) -> datetime | NotALocalTime:
    """The UTC instant of wall-clock `clock` on `day` in `tz`, or why there is none.

    In the hour the clocks go back, `fold=0` is the first (daylight-saving) occurrence and `fold=1`
    the second; in the hour they go forward the time does not exist and is refused.
    """
    wall = datetime.combine(day, clock.replace(tzinfo=None), tzinfo=tz).replace(fold=fold)
    instant = wall.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != wall.replace(tzinfo=None):
        return NotALocalTime(f"{day.isoformat()} {clock:%H:%M} does not exist in {tz.key}: the clocks go forward then")
    return instant


def local_day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """`[start, end)` in UTC of the local calendar `day` in `tz` (23 or 25 hours on a change day)."""
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The local calendar `day` in `tz` as `[start_utc, end_utc)`: what every "day" of the product means."""
    return local_day_bounds(day, tz)


def local_day(moment: datetime, tz: tzinfo) -> date:
    """The calendar day `moment` (aware) falls on in `tz`: 23:30 UTC on 2 March is 3 March in Monaco."""
    return to_local(moment, tz).date()


def spans_day(start: datetime, end: datetime, day: date, tz: tzinfo) -> bool:
    """Whether the window `start`..`end` (aware) touches the local calendar `day` in `tz`, by its local dates."""
    return local_day(start, tz) <= day <= local_day(end, tz)


def day_zone(own: tzinfo | None, office: tzinfo) -> tzinfo:
    """The zone a person's days are cut in: their own where they have one, else the office's."""
    return own if own is not None else office


def zone_label(moment: datetime, tz: tzinfo) -> str:
    """What names the zone beside a time: its abbreviation ("CET", "CEST", "CST") or else its offset ("+08")."""
    local = to_local(moment, tz)
    name = local.tzname() or ""
    if name and not name.startswith(("+", "-")):
        return name
    offset = local.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}" if rest else f"UTC{sign}{hours:02d}"


def clock_and_zone(moment: datetime, tz: tzinfo, fmt: str = "%H:%M") -> tuple[str, str]:
    """`moment` on `tz`'s clock in `fmt`, and the zone's label: ("10:15", "CET"); ("09:15", "UTC") in UTC."""
    return to_local(moment, tz).strftime(fmt), zone_label(moment, tz)


def format_clock(moment: datetime, tz: ZoneInfo, *, seconds: bool = False) -> str:
    """'14:05 CEST': the wall-clock time in `tz` with the zone named."""
    local = to_local(moment, tz)
    shown = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    return f"{shown} {zone_label(moment, tz)}"


def format_span(start: datetime, end: datetime, tz: ZoneInfo) -> tuple[str, str, str]:
    """(start, end, zone) of a window in `tz`: ('2026-03-29 09:00', '11:00', 'CEST'); the end shows its
    date too when it falls on another local day. The zone is the start's (a window across a change
    shows each side's own clock time, both true)."""
    a, b = to_local(start, tz), to_local(end, tz)
    tail = f"{b:%H:%M}" if a.date() == b.date() else f"{b:%Y-%m-%d %H:%M}"
    return f"{a:%Y-%m-%d %H:%M}", tail, zone_label(start, tz)
