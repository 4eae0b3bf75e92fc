"""HTTP view of the road network: `GET /api/v1/roads/route?from_lat=&from_lon=&to_lat=&to_lon=`.

The road path the server's own travel times drive from one point to another (the shipped OSRM network,
else a straight line), for a client of the API that moves along the streets: the demo simulator
(`realtime/sim_api.py`) drives its workers on it instead of loading the road network itself.
Office roles only (those who see the live map); the points asked are not stored or logged.
"""

from __future__ import annotations

import math
from typing import Any

import flask

from console.auth import Auth, deny
from dispatch.access import Action
from dispatch.geo import LatLon
from dispatch.road_path import RoadRoute
from routing.travel import TravelTimes


def create_blueprint(*, auth: Auth, travel: TravelTimes) -> flask.Blueprint:
    bp = flask.Blueprint("api_roads", __name__)

    @bp.get("/api/v1/roads/route")
    def road_route() -> tuple[flask.Response, int]:
        auth.require(Action.VIEW_LIVE_MAP)
        origin = _point_arg("from")
        destination = _point_arg("to")
        route = travel.route(origin, destination)
        if route is None:
            deny(404, "to: no road route from the first point to this one", "to")
        return flask.jsonify(route_json(route)), 200

    return bp


def route_json(route: RoadRoute) -> dict[str, Any]:
    """`{"points": [[lat, lon], ...], "duration_s", "distance_m", "on_roads"}` (points from start to end)."""
    return {
        "points": [[p.lat, p.lon] for p in route.points],
        "duration_s": round(route.duration_s, 1),
        "distance_m": round(route.distance_m, 1),
        "on_roads": route.on_roads,
    }


def _point_arg(prefix: str) -> LatLon:
    """The query arguments `{prefix}_lat` and `{prefix}_lon` as a point; ApiError 400 naming the bad one."""
    values: list[float] = []
    for name in (f"{prefix}_lat", f"{prefix}_lon"):
        raw = flask.request.args.get(name)
        if raw is None or raw == "":
            deny(400, f"{name}: is required (degrees)", name)
        try:
            value = float(raw)
        except ValueError:
            deny(400, f"{name}: {raw[:40]!r} is not a number", name)
        limit = 90.0 if name.endswith("_lat") else 180.0
        if not (math.isfinite(value) and -limit <= value <= limit):
            deny(400, f"{name}: {raw[:40]!r} is not within -{limit:g}..{limit:g}", name)
        values.append(value)
    return LatLon(values[0], values[1])
