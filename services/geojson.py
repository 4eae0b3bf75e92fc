"""Pure presenters: domain values → GeoJSON for the map layers (no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from dispatch.orders import WorkOrder
from dispatch.positions import Position
from dispatch.privacy import ConsentState, consent_refusal
from dispatch.sites import Site
from dispatch.workers import LiveStatus, Worker, keeps_location, tracking_turn, worker_state


def _point(lat: float, lon: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]}


def workers_to_geojson(
    workers: Iterable[Worker],
    latest: Mapping[int, Position],
    now: datetime,
    active: Mapping[int, WorkOrder] | None = None,
    untracked: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    """One feature per worker with a known place (last fix, else home base), coloured by state.

    `active` is the order each worker is working on, if any: en route / on site come from it. `untracked` names
    the workers whose fixes are not kept, with why (`untracked_reason`): such a worker is never drawn at a stored
    fix, but at their home base, or without a place (geometry null, listed only), and says why. A worker off shift
    (`keeps_location` false at `now`) is drawn so too, as "off_shift": location is for the shift only, and the wall
    must not count them offline. `tracking_turns_at` says when that next changes (`tracking_turn`), for the page to
    read the map again then.
    """
    active = active or {}
    untracked = untracked or {}
    features = []
    for worker in workers:
        why = untracked.get(worker.id) or (None if keeps_location(worker, now) else "off_shift")
        turn = tracking_turn(worker, now)
        position = latest.get(worker.id) if why is None else None
        geometry: dict[str, Any] | None
        if position is not None:
            geometry = _point(position.latitude, position.longitude)
        elif worker.home_base is not None:
            geometry = _point(worker.home_base.lat, worker.home_base.lon)
        elif why is not None:
            geometry = None
        else:
            continue
        order = active.get(worker.id)
        status = LiveStatus(
            position.fix_time if position else None,
            position.speed_mps if position else None,
            order.status.value if order else None,
        )
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "worker_id": worker.id,
                    "name": worker.name,
                    "team": worker.team,
                    "skills": sorted(worker.skills),
                    "state": worker_state(status, now).value,
                    "fix_time": position.fix_time.isoformat() if position else None,
                    "speed_mps": position.speed_mps if position else None,
                    "battery_pct": position.battery_pct if position else None,
                    "order_id": order.id if order else None,
                    "order_status": order.status.value if order else None,
                    "untracked": why,
                    "tracking_turns_at": turn.isoformat() if turn is not None else None,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def untracked_reason(state: ConsentState, *, required: bool) -> str | None:
    """Why a worker is not tracked, as the live map's `untracked` property: "no_consent" or "consent_withdrawn";
    None while their fixes are kept (`dispatch.privacy.consent_refusal`)."""
    if consent_refusal(state, required=required) is None:
        return None
    return "consent_withdrawn" if state is ConsentState.WITHDRAWN else "no_consent"


def worker_message(worker: Worker, now: datetime, untracked: str | None) -> dict[str, Any]:
    """The live map's `worker` event: the worker's marker at their home base (no fix yet), or that they left."""
    features = workers_to_geojson([worker], {}, now, untracked={worker.id: untracked} if untracked else None)
    return {
        "worker_id": worker.id,
        "active": worker.active,
        "feature": features["features"][0] if features["features"] else None,
    }


def order_feature(order: WorkOrder, site: Site) -> dict[str, Any]:
    """One work order at its site, with what its tooltip and colour need."""
    return {
        "type": "Feature",
        "geometry": _point(site.location.lat, site.location.lon),
        "properties": {
            "order_id": order.id,
            "status": order.status.value,
            "type": order.type.value,
            "priority": order.priority,
            "label": f"{order.type.value} · {site.name} · {order.status.value.replace('_', ' ')}",
            "site_name": site.name,
            "window_start": order.window.start.isoformat(),
            "window_end": order.window.end.isoformat(),
            "assigned_worker_id": order.assigned_worker_id,
        },
    }


def orders_to_geojson(
    orders: Iterable[WorkOrder], sites: Mapping[int, Site], flags: Mapping[int, str] | None = None
) -> dict[str, Any]:
    """Orders whose site is known, as one FeatureCollection; `flags` (by order id) adds a `flag` property,
    e.g. a suspicious check-in, which the map draws on the order's marker."""
    features = [order_feature(o, sites[o.site_id]) for o in orders if o.site_id in sites]
    for feature in features:
        flag = (flags or {}).get(feature["properties"]["order_id"])
        if flag:
            feature["properties"]["flag"] = flag
    return {"type": "FeatureCollection", "features": features}


def position_to_json(position: Position) -> dict[str, Any]:
    """The API form of a stored position (times ISO 8601 UTC)."""
    return {
        "id": position.id,
        "worker_id": position.worker_id,
        "fix_time": position.fix_time.isoformat(),
        "device_time": position.device_time.isoformat(),
        "server_time": position.server_time.isoformat(),
        "latitude": position.latitude,
        "longitude": position.longitude,
        "accuracy_m": position.accuracy_m,
        "speed_mps": position.speed_mps,
        "bearing_deg": position.bearing_deg,
        "altitude_m": position.altitude_m,
        "battery_pct": position.battery_pct,
        "charging": position.charging,
        "mock": position.mock,
        "valid": position.valid,
        "attributes": dict(position.attributes),
    }


ACTIVE_PRECEDENCE = ("on_site", "en_route", "accepted", "assigned")


def active_orders(orders: Iterable[WorkOrder]) -> dict[int, WorkOrder]:
    """Per worker, the order they are most engaged in (on site before en route before accepted...)."""
    rank = {s: i for i, s in enumerate(ACTIVE_PRECEDENCE)}
    out: dict[int, WorkOrder] = {}
    for o in orders:
        if o.assigned_worker_id is None or o.status.value not in rank:
            continue
        held = out.get(o.assigned_worker_id)
        if held is None or rank[o.status.value] < rank[held.status.value]:
            out[o.assigned_worker_id] = o
    return out
