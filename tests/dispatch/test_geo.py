from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.geo import LatLon, bearing_deg, haversine_m

lats = st.floats(min_value=-89.9, max_value=89.9)
lons = st.floats(min_value=-179.9, max_value=179.9)


def test_known_distance_monaco_to_nice():
    """Tests that Monaco casino to Nice airport is about 23 km, as on any map."""
    d = haversine_m(LatLon(43.7394, 7.4276), LatLon(43.6584, 7.2159))
    assert 18_500 < d < 19_500


def test_bearing_due_east_is_90():
    """Tests that a point straight east is at bearing 90 degrees."""
    assert bearing_deg(LatLon(0, 0), LatLon(0, 1)) == pytest.approx(90.0)


def test_bad_coordinates_name_the_axis():
    """Tests that a latitude of 95 is refused with a message naming latitude."""
    with pytest.raises(ValueError, match="latitude 95"):
        LatLon(95, 0)


@given(lats, lons, lats, lons)
def test_distance_is_symmetric_and_non_negative(a_lat, a_lon, b_lat, b_lon):
    """Tests that haversine distance is symmetric and never negative."""
    a, b = LatLon(a_lat, a_lon), LatLon(b_lat, b_lon)
    assert haversine_m(a, b) == pytest.approx(haversine_m(b, a), abs=1e-6)
    assert haversine_m(a, b) >= 0
