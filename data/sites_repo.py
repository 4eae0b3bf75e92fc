"""Customer sites, as `dispatch.sites.Site` values.

`external_ref` is the natural key of imported sites (CSV, OpenStreetMap); an empty reference is
stored as NULL so any number of hand-made sites can coexist with the unique constraint.
A site's outline (`geofence_polygon`) is stored as GeoJSON Polygon text; NULL when it has none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.tables import CustomerRow, SiteRow
from dispatch.geo import LatLon
from dispatch.geofences import PolygonFence, parse_polygon, polygon_geojson
from dispatch.sites import Site

KEEP: Final = object()
"""`upsert_site_by_ref(geofence_polygon=KEEP)`: leave the stored outline as it is."""


def _to_domain(row: SiteRow) -> Site:
    return Site(
        id=row.id,
        name=row.name,
        address=row.address,
        location=LatLon(row.latitude, row.longitude),
        geofence_radius_m=row.geofence_radius_m,
        category=row.category,
        external_ref=row.external_ref or "",
        geofence_polygon=parse_polygon(row.geofence_polygon) if row.geofence_polygon else None,
    )


def _polygon(corners: Sequence[LatLon] | None) -> tuple[LatLon, ...] | None:
    """The corners as stored, validated (raises ValueError naming `geofence_polygon`)."""
    if corners is None:
        return None
    try:
        return PolygonFence(tuple(corners)).corners
    except ValueError as exc:
        raise ValueError(f"geofence_polygon: {exc}") from None


def _write(row: SiteRow, *, name: str, location: LatLon, address: str, geofence_radius_m: float, category: str) -> None:
    # Validate through the domain value first, so a bad field never reaches a row.
    Site(id=0, name=name, address=address, location=location, geofence_radius_m=geofence_radius_m, category=category)
    row.name = name.strip()
    row.address = address.strip()
    row.latitude = location.lat
    row.longitude = location.lon
    row.geofence_radius_m = float(geofence_radius_m)
    row.category = category.strip()


def add_site(
    session: Session,
    *,
    name: str,
    location: LatLon,
    address: str = "",
    geofence_radius_m: float = 50.0,
    category: str = "",
    external_ref: str = "",
    geofence_polygon: Sequence[LatLon] | None = None,
) -> Site:
    """Store a new site and return it with its id.

    Raises ValueError naming the field for an empty `name`, a radius that is not > 0, an
    `external_ref` that another site already has, or a `geofence_polygon` that is not a polygon.
    """
    polygon = _polygon(geofence_polygon)
    ref = external_ref.strip()
    if ref:
        existing = session.scalar(select(SiteRow.id).where(SiteRow.external_ref == ref))
        if existing is not None:
            raise ValueError(f"external_ref: {ref!r} is already used by site {existing}")
    row = SiteRow(external_ref=ref or None)
    _write(row, name=name, location=location, address=address, geofence_radius_m=geofence_radius_m, category=category)
    row.geofence_polygon = polygon_geojson(polygon) if polygon is not None else None
    session.add(row)
    session.flush()
    return _to_domain(row)


def upsert_site_by_ref(
    session: Session,
    *,
    external_ref: str,
    name: str,
    location: LatLon,
    address: str = "",
    geofence_radius_m: float = 50.0,
    category: str = "",
    geofence_polygon: Sequence[LatLon] | None | object = KEEP,
) -> tuple[Site, bool]:
    """Create the site with `external_ref`, or overwrite its fields; returns the site and whether it was created.

    `geofence_polygon`: the outline, None for none, or `KEEP` (the default) to leave a stored one as it is.
    """
    ref = external_ref.strip()
    if not ref:
        raise ValueError("external_ref: must not be empty")
    polygon = None if geofence_polygon is KEEP else _polygon(geofence_polygon)  # type: ignore[arg-type]
    row = session.scalar(select(SiteRow).where(SiteRow.external_ref == ref))
    created = row is None
    if row is None:
        row = SiteRow(external_ref=ref)
    _write(row, name=name, location=location, address=address, geofence_radius_m=geofence_radius_m, category=category)
    if geofence_polygon is not KEEP:
        row.geofence_polygon = polygon_geojson(polygon) if polygon is not None else None
    session.add(row)
    session.flush()
    return _to_domain(row), created


def get_site(session: Session, site_id: int) -> Site | None:
    """The site with `site_id`, or None."""
    row = session.get(SiteRow, site_id)
    return _to_domain(row) if row is not None else None


def site_by_ref(session: Session, external_ref: str) -> Site | None:
    """The site imported under `external_ref`, or None."""
    row = session.scalar(select(SiteRow).where(SiteRow.external_ref == external_ref.strip()))
    return _to_domain(row) if row is not None else None


def list_sites(session: Session) -> list[Site]:
    """All sites, ordered by id."""
    return [_to_domain(row) for row in session.scalars(select(SiteRow).order_by(SiteRow.id))]


def site_ids_by_ref(session: Session) -> dict[str, int]:
    """Every site's id keyed by its external reference (sites without one are left out)."""
    rows = session.execute(select(SiteRow.external_ref, SiteRow.id).where(SiteRow.external_ref.is_not(None)))
    return {ref: site_id for ref, site_id in rows if ref is not None}


def update_site(
    session: Session,
    *,
    site_id: int,
    name: str,
    location: LatLon,
    address: str,
    geofence_radius_m: float,
    category: str,
    geofence_polygon: Sequence[LatLon] | None,
) -> Site:
    """Overwrite a site's fields; LookupError for an unknown site, ValueError naming a bad field."""
    row = session.get(SiteRow, site_id)
    if row is None:
        raise LookupError(f"site_id: no site with id {site_id}")
    polygon = _polygon(geofence_polygon)
    _write(row, name=name, location=location, address=address, geofence_radius_m=geofence_radius_m, category=category)
    row.geofence_polygon = polygon_geojson(polygon) if polygon is not None else None
    session.flush()
    return _to_domain(row)


def site_customers(session: Session) -> dict[int, str]:
    """The customer's name of every site that has a customer, by site id."""
    rows = session.execute(
        select(SiteRow.id, CustomerRow.name).join(CustomerRow, CustomerRow.id == SiteRow.customer_id)
    )
    return {site_id: name for site_id, name in rows}


def set_site_customer(session: Session, *, site_id: int, customer: str) -> None:
    """Link the site to the customer called `customer` (created when there is none yet); "" unlinks it."""
    row = session.get(SiteRow, site_id)
    if row is None:
        raise LookupError(f"site_id: no site with id {site_id}")
    name = customer.strip()
    if not name:
        row.customer_id = None
    else:
        customer_id = session.scalar(select(CustomerRow.id).where(CustomerRow.name == name).order_by(CustomerRow.id))
        if customer_id is None:
            new = CustomerRow(name=name)
            session.add(new)
            session.flush()
            customer_id = new.id
        row.customer_id = customer_id
    session.flush()
