from __future__ import annotations

from dash import html

from console.pages.live import card_view
from dispatch.geo import LatLon
from dispatch.orders import OrderStatus, OrderType, TimeWindow, WorkOrder
from dispatch.privacy import ConsentState
from dispatch.sites import Site
from services.geojson import active_orders, orders_to_geojson, position_to_json, untracked_reason, workers_to_geojson
from tests.factories import at, make_position, make_worker

NOW = at("2025-03-03T08:00:30Z")


def test_worker_without_fix_is_drawn_at_home_and_offline():
    """Tests that a worker who never reported appears at their home base, grey (offline)."""
    data = workers_to_geojson([make_worker()], {}, NOW)
    (feature,) = data["features"]
    assert feature["geometry"]["coordinates"] == [7.4276, 43.7394]
    assert feature["properties"]["state"] == "offline"
    assert feature["properties"]["fix_time"] is None


def test_worker_with_fresh_fast_fix_is_en_route_at_the_fix():
    """Tests that a worker's marker sits at the latest fix and is 'en route' when driving."""
    data = workers_to_geojson([make_worker()], {1: make_position(lat=43.74, lon=7.43, speed_mps=12.0)}, NOW)
    props = data["features"][0]["properties"]
    assert data["features"][0]["geometry"]["coordinates"] == [7.43, 43.74]
    assert props["state"] == "en_route"
    assert props["skills"] == ["gas"]


def test_worker_without_any_place_is_left_off_the_map():
    """Tests that a worker with no fix and no home base is not drawn at 0,0."""
    assert workers_to_geojson([make_worker(home_base=None)], {}, NOW)["features"] == []


def test_a_worker_not_tracked_is_never_drawn_at_a_stored_fix_and_says_why():
    """Tests that a worker whose fixes are not kept (consent withdrawn; none, when required) is drawn at their home
    base, not at the fix stored before, saying why; without a home base they are kept, placeless, for the list."""
    fix = {1: make_position(lat=43.74, lon=7.43, speed_mps=12.0)}
    (feature,) = workers_to_geojson([make_worker()], fix, NOW, untracked={1: "consent_withdrawn"})["features"]
    assert feature["geometry"]["coordinates"] == [7.4276, 43.7394]
    assert (feature["properties"]["untracked"], feature["properties"]["fix_time"]) == ("consent_withdrawn", None)
    (placeless,) = workers_to_geojson([make_worker(home_base=None)], {}, NOW, untracked={1: "no_consent"})["features"]
    assert placeless["geometry"] is None and placeless["properties"]["untracked"] == "no_consent"
    assert workers_to_geojson([make_worker()], fix, NOW)["features"][0]["properties"]["untracked"] is None
    assert untracked_reason(ConsentState.NONE, required=True) == "no_consent"
    assert untracked_reason(ConsentState.NONE, required=False) is None
    assert untracked_reason(ConsentState.WITHDRAWN, required=False) == "consent_withdrawn"
    assert untracked_reason(ConsentState.GIVEN, required=True) is None


def test_a_worker_off_shift_is_drawn_at_home_saying_so_and_the_map_knows_when_that_turns():
    """Tests that at 20:00, after Ana's 07:00-19:00 shift, her last fix (18:50) is not drawn: she is at her home base,
    "off_shift", and her tracking turns at 06:45 the next morning (her shift less the 15 minutes' grace); on shift at
    08:00 she is at her fix and it turns at 19:15; a consent reason wins over off shift."""
    evening = at("2025-03-03T20:00:00Z")
    fix = {1: make_position("2025-03-03T18:50:00Z", lat=43.74, lon=7.43)}
    (off,) = workers_to_geojson([make_worker()], fix, evening)["features"]
    assert off["geometry"]["coordinates"] == [7.4276, 43.7394]
    assert (off["properties"]["untracked"], off["properties"]["fix_time"]) == ("off_shift", None)
    assert off["properties"]["tracking_turns_at"] == "2025-03-04T06:45:00+00:00"
    (on,) = workers_to_geojson([make_worker()], {1: make_position(lat=43.74, lon=7.43)}, NOW)["features"]
    assert on["geometry"]["coordinates"] == [7.43, 43.74] and on["properties"]["untracked"] is None
    assert on["properties"]["tracking_turns_at"] == "2025-03-03T19:15:00+00:00"
    (withdrawn,) = workers_to_geojson([make_worker()], fix, evening, untracked={1: "consent_withdrawn"})["features"]
    assert withdrawn["properties"]["untracked"] == "consent_withdrawn"
    (anytime,) = workers_to_geojson([make_worker(shifts=())], fix, evening)[
        "features"
    ]  # no calendar: the phone decides
    assert anytime["properties"]["untracked"] is None and anytime["properties"]["tracking_turns_at"] is None


def test_orders_are_drawn_at_their_site_with_status():
    """Tests that an order is drawn at its site, labelled with its type, site and status."""
    site = Site(id=5, name="Pharmacie du Port", address="", location=LatLon(43.735, 7.421))
    order = WorkOrder(
        id=9, site_id=5, type=OrderType.REPAIR, priority=2, required_skills=frozenset({"gas"}),
        window=TimeWindow(at("2025-03-03T09:00:00Z"), at("2025-03-03T11:00:00Z")), service_duration_s=1800,
        status=OrderStatus.EN_ROUTE,
    )  # fmt: skip
    (feature,) = orders_to_geojson([order], {5: site})["features"]
    assert feature["properties"]["status"] == "en_route"
    assert feature["properties"]["label"] == "repair · Pharmacie du Port · en route"
    assert orders_to_geojson([order], {})["features"] == []


def test_position_json_has_the_contract_fields_in_utc():
    """Tests the API position shape other tools rely on: latitude, longitude, fix_time (UTC ISO), speed_mps, accuracy_m."""
    body = position_to_json(make_position(accuracy_m=7.0, speed_mps=3.0))
    assert body["fix_time"] == "2025-03-03T08:00:00+00:00"
    assert (body["latitude"], body["longitude"], body["speed_mps"], body["accuracy_m"]) == (43.7394, 7.4276, 3.0, 7.0)


def test_card_shows_what_a_dispatcher_needs():
    """Tests that the worker card lists skills, last fix time, battery, speed in km/h and current order."""
    card = {
        "worker_id": 1, "name": "Ana Rossi", "team": "Centre", "skills": ["gas", "hvac"], "on_shift": True,
        "last_fix_time": at("2025-03-03T08:00:00Z"), "battery_pct": 64.0, "speed_mps": 10.0,
        "current_order": {"type": "repair", "site": "Pharmacie du Port", "status": "en_route"}, "consent": "given",
    }  # fmt: skip
    text = _text(card_view(card))
    for expected in ("Ana Rossi", "gas, hvac", "08:00:00 UTC", "64 %", "36 km/h", "repair at Pharmacie du Port (en route)",
                     "consent given"):  # fmt: skip
        assert expected in text
    assert _text(card_view(None)) == "That worker no longer exists."


def _text(component) -> str:
    if isinstance(component, list):
        return " ".join(_text(c) for c in component)
    if isinstance(component, str):
        return component
    if isinstance(component, html.Div | html.Dl | html.Dt | html.Dd | html.H2 | html.P):
        return _text(component.children)
    return ""


def test_worker_on_site_for_an_order_shows_on_site_even_when_moving():
    """Tests that a worker whose current order is on site is drawn 'on site' (the order wins over movement)."""
    site = Site(id=5, name="Pharmacie du Port", address="", location=LatLon(43.735, 7.421))
    window = TimeWindow(at("2025-03-03T09:00:00Z"), at("2025-03-03T11:00:00Z"))
    orders = [
        WorkOrder(id=1, site_id=site.id, type=OrderType.REPAIR, priority=3, required_skills=frozenset(), window=window,
                  service_duration_s=600, status=OrderStatus.ASSIGNED, assigned_worker_id=1),
        WorkOrder(id=2, site_id=site.id, type=OrderType.REPAIR, priority=3, required_skills=frozenset(), window=window,
                  service_duration_s=600, status=OrderStatus.ON_SITE, assigned_worker_id=1),
    ]  # fmt: skip
    active = active_orders(orders)
    assert active[1].id == 2
    data = workers_to_geojson([make_worker()], {1: make_position(speed_mps=3.0)}, NOW, active)
    props = data["features"][0]["properties"]
    assert (props["state"], props["order_id"], props["order_status"]) == ("on_site", 2, "on_site")
