"""A hand-made worker's day for plan-versus-actual tests (domain, API and browser).

Four sites around the Casino: A (the Casino), B 1 km east of it, C 1 km north (planned, never
visited) and D 1 km east of B (not planned). The worker's track, from `t0` (minutes after t0):

- 0-10 at home H, 500 m south of A (a stop: unplanned);
- 10-12 drive to A; 12-42 at A (checks in at 13, out at 40);
- 42-44 drive to B; 44-74 at B (no check-in: the geofence says when they came and went);
- 74-76 drive to D; 76-91 at D (a stop: unplanned), where the track ends.

Standing fixes come every 30 s, driving fixes every 10 s along a straight line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from data import field_repo, orders_repo, plans_repo, positions_repo, sites_repo, workers_repo
from dispatch.checkin import CheckinKind, CheckinVerdict
from dispatch.geo import EARTH_RADIUS_M, LatLon
from dispatch.orders import TimeWindow
from dispatch.positions import Position

M_PER_DEG_LAT = EARTH_RADIUS_M * math.pi / 180.0
A = LatLon(43.7394, 7.4276)


def offset(origin: LatLon, *, north_m: float = 0.0, east_m: float = 0.0) -> LatLon:
    return LatLon(
        origin.lat + north_m / M_PER_DEG_LAT,
        origin.lon + east_m / (M_PER_DEG_LAT * math.cos(math.radians(origin.lat))),
    )


B = offset(A, east_m=1000)
C = offset(A, north_m=1000)
D = offset(B, east_m=1000)
H = offset(A, north_m=-500)
SITE_RADIUS_M = 60.0


@dataclass(frozen=True)
class Leg:
    kind: str  # "stand" or "drive"
    start_min: float
    end_min: float
    start: LatLon
    end: LatLon


LEGS = (
    Leg("stand", 0, 10, H, H),
    Leg("drive", 10, 12, H, A),
    Leg("stand", 12, 42, A, A),
    Leg("drive", 42, 44, A, B),
    Leg("stand", 44, 74, B, B),
    Leg("drive", 74, 76, B, D),
    Leg("stand", 76, 91, D, D),
)


def track_points(t0: datetime) -> list[tuple[datetime, LatLon]]:
    """(fix time, place) of every fix of the day, oldest first."""
    out: list[tuple[datetime, LatLon]] = []
    for leg in LEGS:
        step_s = 30 if leg.kind == "stand" else 10
        span_s = int((leg.end_min - leg.start_min) * 60)
        first = 0 if not out else step_s  # the leg's start is the previous leg's last fix
        for s in range(first, span_s + 1, step_s):
            f = s / span_s
            place = LatLon(
                leg.start.lat + (leg.end.lat - leg.start.lat) * f, leg.start.lon + (leg.end.lon - leg.start.lon) * f
            )
            out.append((t0 + timedelta(minutes=leg.start_min, seconds=s), place))
    return out


def day_fixes(worker_id: int, t0: datetime, *, device_id: str = "dev") -> list[Position]:
    return [Position(worker_id, device_id, t, t, t, p.lat, p.lon, accuracy_m=5.0) for t, p in track_points(t0)]


@dataclass(frozen=True)
class SeededDay:
    worker_id: int
    orders: dict[str, int]  # site letter -> order id
    plan_id: int


def seed_field_day(
    session: Session, *, t0: datetime, name: str = "Day Ana", device_id: str = "day-ana", site_prefix: str = "Site "
) -> SeededDay:
    """A worker with the day above stored through the repos: sites A, B and C (60 m), a published route
    A (arrival t0+15 min, window t0..t0+2 h), B (t0+20, window t0..t0+30 min), C (t0+90, window t0+1 h..t0+2 h)
    of 3,200 m from H back to H, a check-in at A at t0+13 and a check-out at t0+40, and every fix of the track.
    """
    worker = workers_repo.add_worker(session, name=name, device_id=device_id)
    sites = {
        letter: sites_repo.add_site(
            session, name=f"{site_prefix}{letter}", location=place, geofence_radius_m=SITE_RADIUS_M
        )
        for letter, place in (("A", A), ("B", B), ("C", C))
    }
    # C is reached at 09:20 and waited at until 09:30, when the plan has it begin.
    plan = (("A", 15, 15, (0, 120)), ("B", 20, 20, (0, 30)), ("C", 80, 90, (60, 120)))
    orders: dict[str, int] = {}
    stops = []
    for seq, (letter, arrive_min, start_min, (w0, w1)) in enumerate(plan):
        window = TimeWindow(t0 + timedelta(minutes=w0), t0 + timedelta(minutes=w1))
        order = orders_repo.add_order(
            session, site_id=sites[letter].id, type="repair", priority=3, window=window, service_duration_s=1800,
            created_at=t0 - timedelta(days=1),
        )  # fmt: skip
        orders[letter] = order.id
        arrival, start = t0 + timedelta(minutes=arrive_min), t0 + timedelta(minutes=start_min)
        stops.append((worker.id, order.id, seq, arrival, start, start + timedelta(minutes=30)))
    home = {"lat": H.lat, "lon": H.lon}
    route = {"worker_id": worker.id, "name": name, "distance_m": 3200, "start_location": home, "end_location": home,
             "stops": [{"order_id": o} for _, o, *_ in stops]}  # fmt: skip
    plan_id = plans_repo.create_plan(
        session,
        day=t0.date(),
        created_at=t0 - timedelta(days=1),
        payload={"plan": {"routes": [route], "unplanned": []}},
    )
    plans_repo.publish_plan(session, plan_id=plan_id, stops=stops)
    verdict = CheckinVerdict(CheckinKind.VERIFIED, "inside the geofence", distance_m=3.0)
    for kind, minute in (("in", 13), ("out", 40)):
        field_repo.add_checkin(
            session, order_id=orders["A"], worker_id=worker.id, kind=kind, at=t0 + timedelta(minutes=minute),
            location=A, accuracy_m=5.0, verdict=verdict, client_action_id=f"{device_id}-{kind}",
        )  # fmt: skip
    for position in day_fixes(worker.id, t0, device_id=device_id):
        positions_repo.add_position(session, position)
    return SeededDay(worker.id, orders, plan_id)
