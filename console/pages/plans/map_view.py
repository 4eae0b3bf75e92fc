"""The plan on the map: each route a coloured line from the worker's start through numbered stops to their end."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import dash_leaflet as dl

from console.i18n import _
from console.pages.plans.common import VIOLATION_COLOUR, Places, local, violated_orders, worker_colour
from dispatch.geo import LatLon
from routing.paths import RoutePath
from routing.plan import Route
from services.plan_views import PlanView, PlanViolation

PathOf = Callable[[Sequence[LatLon]], RoutePath]
"""The line to draw through a route's points (`routing.paths.LegPaths.path`: along the roads when built)."""


def _route_points(view: PlanView, route: Route, places: Places) -> list[tuple[float, float]]:
    """The route's start, its stops in order and its end, as (lat, lon)."""
    points = [(p[0], p[1]) for s in route.stops if int(s.visit_id) in places for p in [places[int(s.visit_id)]]]
    if not points:
        return []
    frame = view.frame(route.worker_id)
    start, end = frame.start_location, frame.end_location
    return ([(start.lat, start.lon)] if start else []) + points + ([(end.lat, end.lon)] if end else [])


def route_paths(view: PlanView, places: Places, path_of: PathOf) -> dict[int, RoutePath]:
    """Each route's line (by worker id) as `path_of` draws it, e.g. along the roads."""
    return {
        int(route.worker_id): path_of([LatLon(lat, lon) for lat, lon in points])
        for route in view.plan.routes
        if (points := _route_points(view, route, places))
    }


def roads_note(paths: Mapping[int, RoutePath]) -> str:
    """What the map says when some route is not drawn along the roads ("" when every one is)."""
    notes = sorted({p.note for p in paths.values() if p.note})
    return "; ".join(notes).capitalize() + "." if notes else ""


def route_layers(
    view: PlanView,
    places: Places,
    violations: Sequence[PlanViolation] = (),
    paths: Mapping[int, RoutePath] | None = None,
) -> list[Any]:
    """A polyline per route (along `paths` where given, else straight between the stops), numbered stops."""
    broken = violated_orders(violations)
    layers: list[Any] = []
    for index, route in enumerate(view.plan.routes):
        colour, name, worker_id = worker_colour(index), view.name(route.worker_id), route.worker_id
        points = [(n, s, places[int(s.visit_id)]) for n, s in enumerate(route.stops, 1) if int(s.visit_id) in places]
        if not points:
            continue
        start = view.frame(worker_id).start_location
        if start is not None:
            layers.append(
                dl.CircleMarker(
                    center=[start.lat, start.lon], radius=7, color=colour, fill=True, fillColor="#0b1120", fillOpacity=1,
                    className=f"plan-base plan-base-{worker_id}",
                    children=dl.Tooltip(_("{name} starts here").format(name=name)),
                )
            )  # fmt: skip
        path = (paths or {}).get(int(worker_id))
        if path is not None:
            positions = [[p.lat, p.lon] for p in path.points]
        else:
            positions = [[lat, lon] for lat, lon in _route_points(view, route, places)]
        layers.append(
            dl.Polyline(
                positions=positions,
                color=colour,
                weight=5,
                opacity=0.9,
                className=f"plan-route plan-route-{worker_id}",
                children=dl.Tooltip(name),
            )
        )
        for n, stop, (lat, lon, site) in points:
            kinds = broken.get(int(stop.visit_id), [])
            ring = f";box-shadow:0 0 0 4px {VIOLATION_COLOUR}" if kinds else ""
            note = " · " + _("breaks: {rules}").format(rules=", ".join(kinds)) if kinds else ""
            layers.append(
                dl.DivMarker(
                    position=[lat, lon],
                    iconOptions={
                        "className": "plan-stop plan-stop-violated" if kinds else "plan-stop",
                        # Markup from our own values only: the stop's number and colours from constants.
                        "html": f'<span style="background:{colour}{ring}">{n}</span>',
                        "iconSize": [26, 26],
                        "iconAnchor": [13, 13],
                    },
                    children=dl.Tooltip(
                        f"{name} #{n} · " + _("order {id}").format(id=int(stop.visit_id)) + f" · {site} · "
                        f"{local(view.at(stop.start_s)):%H:%M}–{local(view.at(stop.end_s)):%H:%M}{note}"
                    ),  # fmt: skip
                )
            )
    return layers


def route_bounds(view: PlanView, places: Places) -> list[list[float]] | None:
    points = [places[int(s.visit_id)] for r in view.plan.routes for s in r.stops if int(s.visit_id) in places]
    if not points:
        return None
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    pad = 0.002
    return [[min(lats) - pad, min(lons) - pad], [max(lats) + pad, max(lons) + pad]]
