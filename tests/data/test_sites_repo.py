"""Customer sites, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from data.sites_repo import add_site, get_site, list_sites, site_by_ref, site_ids_by_ref, upsert_site_by_ref
from dispatch.geo import LatLon
from dispatch.sites import Site

CASINO = LatLon(43.7396, 7.4286)


def test_site_round_trips_with_every_field(session: Session) -> None:
    """Tests that a site comes back equal, and that lookups by id and by external ref both find it."""
    site = add_site(
        session,
        name="Casino",
        address="Place du Casino, 98000 Monaco",
        location=CASINO,
        geofence_radius_m=75.0,
        category="amenity=casino",
        external_ref="osm:node:1",
    )
    session.commit()
    session.expire_all()
    expected = Site(site.id, "Casino", "Place du Casino, 98000 Monaco", CASINO, 75.0, "amenity=casino", "osm:node:1")
    assert site == expected
    assert get_site(session, site.id) == expected
    assert site_by_ref(session, "osm:node:1") == expected
    assert list_sites(session) == [expected]
    assert site_ids_by_ref(session) == {"osm:node:1": site.id}


def test_sites_without_external_ref_can_coexist(session: Session) -> None:
    """Tests that several hand-made sites (empty external_ref) are allowed and come back with ''."""
    a = add_site(session, name="A", location=CASINO)
    b = add_site(session, name="B", location=CASINO)
    assert [s.external_ref for s in list_sites(session)] == ["", ""]
    assert (a.geofence_radius_m, b.id > a.id) == (50.0, True)
    assert site_ids_by_ref(session) == {}


def test_bad_site_fields_are_refused_naming_the_field(session: Session) -> None:
    """Tests that a duplicate external_ref, an empty name and a non-positive radius are refused by field."""
    add_site(session, name="A", location=CASINO, external_ref="r1")
    with pytest.raises(ValueError, match=r"^external_ref: 'r1' is already used by site"):
        add_site(session, name="B", location=CASINO, external_ref="r1")
    with pytest.raises(ValueError, match=r"^name must not be empty"):
        add_site(session, name="", location=CASINO)
    with pytest.raises(ValueError, match=r"^geofence_radius_m 0.0 must be > 0"):
        add_site(session, name="C", location=CASINO, geofence_radius_m=0.0)
    assert len(list_sites(session)) == 1


def test_upsert_by_ref_updates_the_same_site(session: Session) -> None:
    """Tests that upserting an existing external_ref changes that site instead of adding another."""
    first, created = upsert_site_by_ref(session, external_ref="r2", name="Old", location=CASINO)
    second, created_again = upsert_site_by_ref(
        session, external_ref="r2", name="New", location=LatLon(43.7, 7.4), category="shop=art"
    )
    assert (created, created_again) == (True, False)
    assert second == Site(first.id, "New", "", LatLon(43.7, 7.4), 50.0, "shop=art", "r2")
    assert list_sites(session) == [second]


YARD = (LatLon(43.7390, 7.4280), LatLon(43.7390, 7.4290), LatLon(43.7398, 7.4290), LatLon(43.7398, 7.4280))


def test_a_site_outline_round_trips_is_kept_by_a_plain_upsert_and_can_be_removed(session: Session) -> None:
    """Tests that a site's polygon comes back equal after a commit, stays when an upsert does not mention it, is
    removed by an upsert with None, and that a bow-tie outline is refused naming the field with nothing stored."""
    site = add_site(session, name="Yard", location=CASINO, external_ref="y1", geofence_polygon=YARD)
    session.commit()
    session.expire_all()
    assert get_site(session, site.id).geofence_polygon == YARD
    kept, _ = upsert_site_by_ref(session, external_ref="y1", name="Yard", location=CASINO)
    assert kept.geofence_polygon == YARD
    removed, _ = upsert_site_by_ref(session, external_ref="y1", name="Yard", location=CASINO, geofence_polygon=None)
    assert removed.geofence_polygon is None
    bow_tie = (YARD[0], YARD[2], YARD[1], YARD[3])
    with pytest.raises(ValueError, match=r"^geofence_polygon: corners do not form a valid polygon"):
        add_site(session, name="Bad", location=CASINO, geofence_polygon=bow_tie)
    assert [s.name for s in list_sites(session)] == ["Yard"]
