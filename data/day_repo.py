"""What a worker's day was meant to be and what they reported: the published route and their check-ins/outs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from data import orders_repo, plans_repo, sites_repo
from data.tables import CheckinRow, RoutePlanRow, RouteStopRow
from dispatch.geo import LatLon
from dispatch.plan_actual import CheckKind, CheckMark, PlannedDay, PlannedVisit
from dispatch.sites import Site


@dataclass(frozen=True, slots=True)
class PublishedRoute:
    """The worker's route in the day's published plan, with its sites and where the route starts and ends."""

    planned: PlannedDay
    sites: dict[int, Site]
    start_location: LatLon | None
    end_location: LatLon | None


def published_route(session: Session, *, day: date, worker_id: int) -> PublishedRoute | None:
    """The worker's route of `day`'s published plan; None when nothing is published that day, or when the
    published plan gives this worker no route."""
    plan_id = plans_repo.published_plan_id(session, day=day)
    if plan_id is None:
        return None
    rows = session.scalars(
        select(RouteStopRow)
        .where(RouteStopRow.plan_id == plan_id, RouteStopRow.worker_id == worker_id)
        .order_by(RouteStopRow.seq)
    ).all()
    visits: list[PlannedVisit] = []
    sites: dict[int, Site] = {}
    for row in rows:
        order = orders_repo.get_order(session, row.order_id)
        if order is None or row.arrival is None or row.service_end is None:
            continue
        site = sites.get(order.site_id) or sites_repo.get_site(session, order.site_id)
        if site is None:
            continue
        sites[site.id] = site
        visits.append(
            PlannedVisit(
                order_id=order.id,
                seq=row.seq,
                site_id=site.id,
                planned_arrival=row.arrival,
                planned_departure=row.service_end,
                window_start=order.window.start,
                window_end=order.window.end,
                planned_start=row.service_start,
            )
        )
    plan = session.get(RoutePlanRow, plan_id)
    routes = (plan.payload or {}).get("plan", {}).get("routes", []) if plan is not None else []
    route = next((r for r in routes if r.get("worker_id") == worker_id), {})
    if not rows and not route:
        return None
    return PublishedRoute(
        planned=PlannedDay(plan_id=plan_id, visits=tuple(visits), distance_m=float(route.get("distance_m", 0))),
        sites=sites,
        start_location=_location(route.get("start_location")),
        end_location=_location(route.get("end_location")),
    )


def _location(value: object) -> LatLon | None:
    if isinstance(value, dict) and "lat" in value and "lon" in value:
        return LatLon(float(value["lat"]), float(value["lon"]))
    return None


def checks_of_worker(session: Session, *, worker_id: int, start: datetime, end: datetime) -> list[CheckMark]:
    """The worker's check-ins and check-outs with a time in [start, end], oldest first."""
    rows = session.scalars(
        select(CheckinRow)
        .where(CheckinRow.worker_id == worker_id, CheckinRow.at >= start, CheckinRow.at <= end)
        .order_by(CheckinRow.at, CheckinRow.id)
    )
    return [CheckMark(r.order_id, CheckKind(r.kind), r.at) for r in rows]
