"""Plan versus actual: a worker's day as published against what their track and check-ins say happened.

Inputs are plain values: the planned visits of the day's published plan (in route order, with the
planned arrival and departure and the order's window), the worker's check-ins and check-outs, the
geofence enter/exit events derived from the day's track (`fence_events_of_track`), the stops found
in the track (`dispatch.trajectory`), and the distance actually driven.

For each planned visit:

- the actual arrival is the first check-in at the order; without one, the first geofence entry at
  the visit's site not already taken by an earlier visit of the route (so two visits at one site
  take two entries); `arrival_source` names which;
- the actual departure is the first check-out at the order at or after the arrival; without one,
  the first geofence exit at the site after the arrival;
- `late_by_window_s`: how long after the order's window closed the worker arrived (0 within it);
  `vs_plan_s`: arrival minus the planned start of the visit (negative: early). The planned start is the planned
  arrival, or later when the plan has the worker wait there for the window to open: a worker who comes when the
  window opens instead of waiting at the door is not behind the plan;
- the status: `late` when the arrival is after the window closed or more than
  `PlanActualParams.late_tolerance_s` after the planned start, else `on_time`; with no arrival
  at all `missed`, unless the window is still open at `now` (`pending`: the day is not over).

An unplanned stop is a stop of the track whose location is not within `site_margin_m` of any
planned visit's site geofence (a stop at home or at an unplanned customer both count).
Planned distance is the published route's (start, every leg, the return); actual distance is
`driven_distance_m`: along the whole filtered track, standing jitter ignored (the trips alone would
leave out the metres driven within a stop's radius on the way in and out).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from dispatch.geo import LatLon
from dispatch.geofences import (
    DwellParams,
    FenceEventType,
    FenceState,
    Geofence,
    GeofenceEvent,
    GeofenceIndex,
    track_geofences,
)
from dispatch.positions import Position
from dispatch.trajectory import FilterParams, Stop, filter_fixes, track_distance_m


@dataclass(frozen=True, slots=True)
class PlanActualParams:
    """`late_tolerance_s`: how far behind the planned arrival still counts as on time;
    `site_margin_m`: how near a site's geofence a stop counts as at that site."""

    late_tolerance_s: float = 900.0
    site_margin_m: float = 20.0

    def __post_init__(self) -> None:
        for name in ("late_tolerance_s", "site_margin_m"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} {value!r} must be >= 0")


@dataclass(frozen=True, slots=True)
class PlannedVisit:
    """One visit of the published route: the order, where, when planned (arrival, start of service: later when the
    plan waits for the window, departure), and the order's window. Without `planned_start` the visit starts at the
    planned arrival."""

    order_id: int
    seq: int
    site_id: int
    planned_arrival: datetime
    planned_departure: datetime
    window_start: datetime
    window_end: datetime
    planned_start: datetime | None = None

    @property
    def starts(self) -> datetime:
        """When the plan has the visit begin."""
        return self.planned_start or self.planned_arrival


@dataclass(frozen=True, slots=True)
class PlannedDay:
    """A worker's published route of the day: visits in route order and the route's driving distance."""

    plan_id: int
    visits: tuple[PlannedVisit, ...]
    distance_m: float


class CheckKind(StrEnum):
    IN = "in"
    OUT = "out"


@dataclass(frozen=True, slots=True)
class CheckMark:
    """A check-in or check-out the worker made at an order (the phone's time)."""

    order_id: int
    kind: CheckKind
    at: datetime
    late_entry: bool = False  # entered afterwards and approved by a manager (dispatch.attendance)


class Source(StrEnum):
    CHECKIN = "check-in"
    CHECKOUT = "check-out"
    GEOFENCE = "geofence"
    LATE_CHECKIN = "late entry: check-in"
    LATE_CHECKOUT = "late entry: check-out"


class VisitStatus(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    MISSED = "missed"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class VisitActual:
    """A planned visit with what happened: arrival and departure with their sources, lateness, status."""

    visit: PlannedVisit
    status: VisitStatus
    arrival: datetime | None = None
    arrival_source: Source | None = None
    departure: datetime | None = None
    departure_source: Source | None = None
    late_by_window_s: float | None = None
    vs_plan_s: float | None = None


@dataclass(frozen=True, slots=True)
class UnplannedStop:
    start: datetime
    end: datetime
    location: LatLon

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True, slots=True)
class DayComparison:
    """The day compared: `plan_id` None (and no visits, no planned distance) when nothing was published."""

    plan_id: int | None
    visits: tuple[VisitActual, ...]
    unplanned_stops: tuple[UnplannedStop, ...]
    planned_distance_m: float | None
    actual_distance_m: float

    @property
    def missed(self) -> tuple[VisitActual, ...]:
        return tuple(v for v in self.visits if v.status is VisitStatus.MISSED)

    @property
    def late(self) -> tuple[VisitActual, ...]:
        return tuple(v for v in self.visits if v.status is VisitStatus.LATE)


def fence_events_of_track(
    worker_id: int, fixes: Iterable[Position], index: GeofenceIndex, params: DwellParams | None = None
) -> list[GeofenceEvent]:
    """The geofence enter/exit events the fixes (oldest first) make, through the dwell/hysteresis state machine."""
    state, events = FenceState(worker_id=worker_id), []
    for fix in fixes:
        state, new = track_geofences(state, fix, index, params)
        events.extend(new)
    return events


def driven_distance_m(fixes: Sequence[Position], params: FilterParams | None = None) -> float:
    """Distance along the filtered track (`dispatch.trajectory.filter_fixes`), wandering within the jitter ignored."""
    params = params or FilterParams()
    return track_distance_m(filter_fixes(fixes, params).kept, params.jitter_m)


CHECK_IN_SKEW = timedelta(minutes=5)
"""A check-in may be stamped this much before the geofence entry it follows (the phone's clock against the fixes')."""


def compare_day(
    plan: PlannedDay | None,
    *,
    fences: Mapping[int, Geofence],
    checks: Sequence[CheckMark],
    fence_events: Sequence[GeofenceEvent],
    stops: Sequence[Stop],
    actual_distance_m: float,
    now: datetime,
    params: PlanActualParams | None = None,
) -> DayComparison:
    """Compare the day: `fences` are the planned sites' geofences by site id (a site missing from it
    gets no geofence fallback and makes no stop "planned")."""
    params = params or PlanActualParams()
    visits = plan.visits if plan is not None else ()
    taken: set[int] = set()  # indices of geofence entries claimed by earlier visits
    actuals = tuple(_actual(v, checks, fence_events, taken, now, params) for v in sorted(visits, key=lambda v: v.seq))
    planned_sites = {v.site_id for v in visits if v.site_id in fences}
    index = GeofenceIndex({sid: fences[sid] for sid in planned_sites}) if planned_sites else None
    unplanned = tuple(
        UnplannedStop(s.start, s.end, s.location)
        for s in stops
        if index is None or not index.near(s.location, params.site_margin_m)
    )
    return DayComparison(
        plan_id=plan.plan_id if plan is not None else None,
        visits=actuals,
        unplanned_stops=unplanned,
        planned_distance_m=plan.distance_m if plan is not None else None,
        actual_distance_m=actual_distance_m,
    )


def _actual(
    visit: PlannedVisit,
    checks: Sequence[CheckMark],
    events: Sequence[GeofenceEvent],
    taken: set[int],
    now: datetime,
    params: PlanActualParams,
) -> VisitActual:
    mine = sorted((c for c in checks if c.order_id == visit.order_id), key=lambda c: c.at)
    check_in = next((c for c in mine if c.kind is CheckKind.IN), None)
    arrival: datetime | None = None
    source: Source | None = None
    if check_in is not None:
        arrival, source = check_in.at, Source.LATE_CHECKIN if check_in.late_entry else Source.CHECKIN
        # The geofence entry that brought them there is this visit's too: the last one at its site before the
        # check-in (within the phone's clock skew). Left unclaimed, a later visit at the same site took it as its own.
        before = [
            i
            for i, e in enumerate(events)
            if i not in taken and e.site_id == visit.site_id and e.type is FenceEventType.ENTER
            and e.at <= check_in.at + CHECK_IN_SKEW
        ]  # fmt: skip
        if before:
            taken.add(before[-1])
    else:
        entry = next(
            (
                i
                for i, e in enumerate(events)
                if i not in taken and e.site_id == visit.site_id and e.type is FenceEventType.ENTER
            ),
            None,
        )
        if entry is not None:
            taken.add(entry)
            arrival, source = events[entry].at, Source.GEOFENCE
    if arrival is None:
        status = VisitStatus.PENDING if now < visit.window_end else VisitStatus.MISSED
        return VisitActual(visit, status)
    departure, left_by = _departure(visit, arrival, mine, events)
    late_by_window_s = max(0.0, (arrival - visit.window_end).total_seconds())
    vs_plan_s = (arrival - visit.starts).total_seconds()
    late = late_by_window_s > 0 or vs_plan_s > params.late_tolerance_s
    return VisitActual(
        visit,
        VisitStatus.LATE if late else VisitStatus.ON_TIME,
        arrival,
        source,
        departure,
        left_by,
        late_by_window_s,
        vs_plan_s,
    )


def _departure(
    visit: PlannedVisit, arrival: datetime, checks: Sequence[CheckMark], events: Sequence[GeofenceEvent]
) -> tuple[datetime | None, Source | None]:
    check_out = next((c for c in checks if c.kind is CheckKind.OUT and c.at >= arrival), None)
    if check_out is not None:
        return check_out.at, Source.LATE_CHECKOUT if check_out.late_entry else Source.CHECKOUT
    exit_event = next(
        (e for e in events if e.site_id == visit.site_id and e.type is FenceEventType.EXIT and e.at > arrival), None
    )
    if exit_event is not None:
        return exit_event.at, Source.GEOFENCE
    return None, None
