"""A worker's day (local midnight to midnight: the worker's own zone, else the office's; 23 or 25 hours when
the clocks change): the filtered track, stops, trips, the published route, and
plan versus actual (`dispatch.plan_actual`). One audited read of the worker's fixes per call.

Geofence arrivals and departures are derived here from the stored track with the pure dwell/hysteresis
state machine (`dispatch.geofences`), not read from stored events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from sqlalchemy.orm import Session, sessionmaker

from data import attendance_repo, day_repo, workers_repo
from data.db import session_scope
from dispatch.access import Actor
from dispatch.clock import Clock
from dispatch.geo import LatLon
from dispatch.geofences import DwellParams, GeofenceIndex, site_geofence
from dispatch.localtime import day_zone, local_day_bounds
from dispatch.plan_actual import (
    CheckKind,
    CheckMark,
    DayComparison,
    PlanActualParams,
    compare_day,
    fence_events_of_track,
)
from dispatch.positions import Position
from dispatch.sites import Site
from dispatch.trajectory import Stop, StopParams, Trip, filter_fixes, stops_and_trips_of, track_distance_m
from services.live_service import audited_positions


@dataclass(frozen=True, slots=True)
class WorkerDay:
    """Everything the day view shows. `route` is the planned route's points in order (start, sites, end)."""

    worker_id: int
    day: date
    start: datetime
    end: datetime
    track: tuple[Position, ...]
    stops: tuple[Stop, ...]
    trips: tuple[Trip, ...]
    comparison: DayComparison
    sites: dict[int, Site]
    route: tuple[LatLon, ...]


def day_bounds(day: date, tz: tzinfo = UTC) -> tuple[datetime, datetime]:
    """The local `day` in `tz` from its midnight to the last instant before the next one (inclusive, as the
    track downloads take it)."""
    start, end = local_day_bounds(day, tz)
    return start, end - timedelta(microseconds=1)


class DayService:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        clock: Clock,
        stop_params: StopParams | None = None,
        dwell: DwellParams | None = None,
        params: PlanActualParams | None = None,
        zone: tzinfo = UTC,
    ) -> None:
        """`zone` is the office's: a day is cut at its midnight, or at the worker's own where they have a zone."""
        self.sessions = sessions
        self.zone = zone
        self.clock = clock
        self.stop_params = stop_params or StopParams()
        self.dwell = dwell or DwellParams()
        self.params = params or PlanActualParams()

    def worker_day(self, *, actor: Actor, worker_id: int, day: date, view: str = "plan-vs-actual") -> WorkerDay | None:
        """The worker's day; None for an unknown worker. Audited as `view-{view}`."""
        with session_scope(self.sessions) as session:
            worker = workers_repo.get_worker(session, worker_id)
        start, end = day_bounds(day, day_zone(worker.zone if worker is not None else None, self.zone))
        fixes = audited_positions(
            self.sessions, self.clock, actor=actor, worker_id=worker_id, start=start, end=end, view=view
        )
        if fixes is None:
            return None
        with session_scope(self.sessions) as session:
            route = day_repo.published_route(session, day=day, worker_id=worker_id)
            checks = day_repo.checks_of_worker(session, worker_id=worker_id, start=start, end=end)
            # Approved late entries count, marked as such (pending or rejected ones do not).
            checks += [
                CheckMark(c.order_id, CheckKind(c.kind), c.at, late_entry=True)
                for c in attendance_repo.counted_checks(session, worker_id=worker_id, start=start, end=end)
                if c.late_entry
            ]
        sites = route.sites if route is not None else {}
        fences = {site_id: site_geofence(site) for site_id, site in sites.items()}
        kept = filter_fixes(fixes, self.stop_params.filter).kept
        events = fence_events_of_track(worker_id, kept, GeofenceIndex(fences), self.dwell) if fences else []
        stops, trips = stops_and_trips_of(kept, self.stop_params)
        comparison = compare_day(
            route.planned if route is not None else None,
            fences=fences,
            checks=checks,
            fence_events=events,
            stops=stops,
            actual_distance_m=track_distance_m(kept, self.stop_params.filter.jitter_m),  # driven_distance_m of kept
            now=self.clock.now(),
            params=self.params,
        )
        points: list[LatLon] = []
        if route is not None:
            points = [sites[v.site_id].location for v in route.planned.visits]
            if points and route.start_location is not None:
                points.insert(0, route.start_location)
            if points and route.end_location is not None:
                points.append(route.end_location)
        return WorkerDay(
            worker_id=worker_id,
            day=day,
            start=start,
            end=end,
            track=kept,
            stops=tuple(stops),
            trips=tuple(trips),
            comparison=comparison,
            sites=sites,
            route=tuple(points),
        )
