"""Hours per worker and day, from what was recorded against what was planned. Pure: values in, values out.

A day's figures come from
- the roster: the planned shift(s) of the day as intervals (`planned_intervals` turns weekly shifts into
  instants in the organisation's time zone, so a shift across a daylight-saving change is its true length),
- clock events: the first clock-in starts the worked span, the last clock-out after it ends it. Without a
  clock-in the first counted check-in starts it; without a clock-out the span ends at the last thing the
  worker is known to have done (a counted check-out, a trip's end) and `missing_clock_out` is set,
- visits: counted check-in/check-out pairs (a late entry counts only once approved: the caller passes only
  counted times) give the time on site,
- the track's trips (travel) and stops: a stop away from every visit of at least `break_min_s` is a rest. The
  caller leaves out the stops in a site's geofence: waiting at a customer's, before or after the visit, is work.

Breaks are the rests the roster allows, where the planner places them and the alerts expect them: each planned
shift longer than 6 h has one break of up to `BREAK_S` (30 min) in its window (`dispatch.workers.break_window`, its
middle third). It is taken from the longest rest that begins in the window, or from the window's opening when a
rest is going on then, for as long as the rest lasts, at most `BREAK_S`. Every other rest, and a rest beyond the
break (waiting for a window, for work, at the depot), is time on duty: worked, not a break. The track cannot tell
a long lunch from standing by; the alerts flag a stop that outlasts the break (`long_stop`), the pay does not guess.

Worked time is the span less breaks; overtime is worked time beyond the planned time; a late start is the
clock-in after the planned start; an early leave the clock-out before the planned end. Every duration is
computed on UTC instants (aware datetimes in one zone subtract by wall time, which is wrong on a DST day).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from dispatch.workers import BREAK_S, Shift, break_window

Span = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class HoursSettings:
    """A stop away from every visit of at least `break_min_s` is a rest (a break when it is the shift's, see above)."""

    break_min_s: float = 10 * 60.0


@dataclass(frozen=True, slots=True)
class Visit:
    """One order's counted time on site: its check-in and check-out (either may be missing)."""

    order_id: int
    check_in: datetime | None
    check_out: datetime | None


@dataclass(frozen=True, slots=True)
class DayRecord:
    """What is known about one worker's day. `clock_ins`/`clock_outs`, `trips` and `stops` in any order."""

    day: date
    planned: tuple[Span, ...] = ()
    clock_ins: tuple[datetime, ...] = ()
    clock_outs: tuple[datetime, ...] = ()
    visits: tuple[Visit, ...] = ()
    trips: tuple[Span, ...] = ()
    stops: tuple[Span, ...] = ()


@dataclass(frozen=True, slots=True)
class DayHours:
    """The figures of one worker's day, in seconds; `started_at`/`ended_at` bound the worked span."""

    day: date
    planned_s: float
    worked_s: float
    on_site_s: float
    travel_s: float
    break_s: float
    overtime_s: float
    late_start_s: float
    early_leave_s: float
    missing_clock_out: bool
    started_at: datetime | None
    ended_at: datetime | None
    visits: int


def planned_intervals(shifts: Iterable[Shift], day: date, zone: tzinfo | None = None) -> tuple[Span, ...]:
    """The day's shifts as UTC instants: each shift working on `day`'s weekday, its wall-clock times read in
    `zone`, else in the shift's own zone (the worker's, or the office's): 07:00 in Monaco is 06:00 or 05:00 UTC."""
    spans = []
    for shift in shifts:
        if day.weekday() in shift.weekdays:
            spans.append(shift.span_on(day, zone))
    return tuple(sorted(spans))


def day_hours(record: DayRecord, settings: HoursSettings | None = None) -> DayHours:
    """The figures of `record`'s day (see the module's docstring)."""
    settings = settings or HoursSettings()
    planned = _union(record.planned)
    planned_s = _total(planned)
    visits = _union(_visit_spans(record.visits))
    ins = sorted(_utc(t) for t in record.clock_ins)
    starts = [*ins] or sorted(_utc(v.check_in) for v in record.visits if v.check_in is not None)
    if not starts:
        return DayHours(record.day, planned_s, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, False, None, None, 0)
    start = starts[0]
    outs = sorted(t for t in (_utc(t) for t in record.clock_outs) if t > start)
    missing_clock_out = bool(ins) and not outs
    if outs:
        end = outs[-1]
    else:  # the last thing the worker is known to have done
        known = [start, *(e for _, e in visits), *(_utc(e) for _, e in record.trips)]
        end = max(known)
    span = [(start, end)]
    on_site = _clip(visits, span)
    travel = _subtract(_clip(_union(record.trips), span), on_site)
    long_stops = [(s, e) for s, e in _union(record.stops) if (e - s).total_seconds() >= settings.break_min_s]
    rests = _subtract(_subtract(_clip(long_stops, span), on_site), travel)
    breaks = _union(b for s, e in record.planned for b in _shift_breaks(rests, (_utc(s), _utc(e))))
    worked_s = (end - start).total_seconds() - _total(breaks)
    late_start_s = max(0.0, (start - planned[0][0]).total_seconds()) if planned and ins else 0.0
    early_leave_s = max(0.0, (planned[-1][1] - end).total_seconds()) if planned and outs else 0.0
    return DayHours(
        day=record.day, planned_s=planned_s, worked_s=worked_s, on_site_s=_total(on_site), travel_s=_total(travel),
        break_s=_total(breaks), overtime_s=max(0.0, worked_s - planned_s) if planned else 0.0,
        late_start_s=late_start_s, early_leave_s=early_leave_s, missing_clock_out=missing_clock_out,
        started_at=start, ended_at=end, visits=sum(1 for v in record.visits if v.check_in is not None),
    )  # fmt: skip


def _shift_breaks(rests: Sequence[Span], shift: Span) -> Iterable[Span]:
    """The break of `shift` among `rests` (none, or one span of at most `BREAK_S`): from the start of the longest
    rest that begins in the shift's break window, or from the window's opening for a rest going on then."""
    window = break_window(*shift)
    if window is None:
        return ()
    opens, latest = window
    began = [(s, e) for s, e in rests if opens <= s <= latest] + [(opens, e) for s, e in rests if s < opens < e]
    if not began:
        return ()
    start, end = max(began, key=lambda r: r[1] - r[0])
    return ((start, min(end, start + timedelta(seconds=BREAK_S))),)


def _visit_spans(visits: Sequence[Visit]) -> list[Span]:
    return [(_utc(v.check_in), _utc(v.check_out)) for v in visits if v.check_in is not None and v.check_out is not None]


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{value.isoformat()} must be timezone-aware")
    return value.astimezone(UTC)


def _union(spans: Iterable[Span]) -> list[Span]:
    """Overlapping or touching spans merged, in time order; empty or reversed ones dropped."""
    merged: list[Span] = []
    for start, end in sorted((_utc(s), _utc(e)) for s, e in spans):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _clip(spans: Sequence[Span], within: Sequence[Span]) -> list[Span]:
    """The parts of `spans` inside `within` (both unions)."""
    out = [(max(s, ws), min(e, we)) for s, e in spans for ws, we in within]
    return _union(p for p in out if p[1] > p[0])


def _subtract(spans: Sequence[Span], minus: Sequence[Span]) -> list[Span]:
    """The parts of `spans` outside every span of `minus` (both unions)."""
    out: list[Span] = []
    for start, end in spans:
        pieces = [(start, end)]
        for ms, me in minus:
            pieces = [p for s, e in pieces for p in ((s, min(e, ms)), (max(s, me), e)) if p[1] > p[0]]
        out.extend(pieces)
    return _union(out)


def _total(spans: Sequence[Span]) -> float:
    return sum((e - s for s, e in spans), timedelta()).total_seconds()
