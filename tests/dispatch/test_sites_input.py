"""Reading a site's fields as an administrator sends them (map click, radius, polygon, category, customer)."""

from __future__ import annotations

import pytest

from dispatch.fields import FieldError
from dispatch.geo import LatLon
from dispatch.sites import site_input

PLACE = {"lat": 43.7384, "lon": 7.4246}


def test_a_new_site_needs_a_name_and_a_place_and_keeps_a_polygon_outline():
    """Tests that a site is read with its clicked place and a GeoJSON outline (closing corner dropped), and that an
    update sending `geofence_polygon: null` asks to drop the outline."""
    polygon = {"type": "Polygon", "coordinates": [[[7.424, 43.738], [7.425, 43.738], [7.425, 43.739], [7.424, 43.738]]]}
    data = site_input({"name": "Casino", "location": PLACE, "geofence_polygon": polygon}, creating=True)
    assert data.location == LatLon(43.7384, 7.4246)
    assert data.geofence_polygon == (LatLon(43.738, 7.424), LatLon(43.738, 7.425), LatLon(43.739, 7.425))
    cleared = site_input({"geofence_polygon": None}, creating=False)
    assert (cleared.given, cleared.geofence_polygon) == (frozenset({"geofence_polygon"}), None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"location": PLACE}, "name"),
        ({"name": "x"}, "location"),
        ({"name": "x", "location": PLACE, "geofence_radius_m": -5}, "geofence_radius_m"),
        ({"name": "x", "location": PLACE, "geofence_radius_m": 20_000}, "geofence_radius_m"),
        (
            {"name": "x", "location": PLACE, "geofence_polygon": "POLYGON ((7 43, 8 44, 8 43, 7 44, 7 43))"},
            "geofence_polygon",
        ),
        ({"name": "x", "location": PLACE, "geofence_polygon": [1, 2]}, "geofence_polygon"),
        ({"name": "x", "location": {"lat": 43, "lon": 181}}, "location"),
    ],
)
def test_each_bad_site_value_is_refused_naming_its_field(body, field):
    """Tests that a missing name or place, a radius outside 0..10 km and a self-crossing or malformed outline are
    refused naming the field."""
    with pytest.raises(FieldError) as refused:
        site_input(body, creating=True)
    assert refused.value.field == field
