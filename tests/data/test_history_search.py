"""The history's text search: any part of a reference, the notes, the site's name or address, in any case."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from data.orders_repo import add_order
from data.reports_repo import HistoryFilter, search_history
from data.sites_repo import add_site
from data.tables import WorkOrderRow
from dispatch.geo import LatLon
from dispatch.orders import TimeWindow
from dispatch.reports import Period

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))


def _orders(session: Session) -> dict[str, int]:
    port = add_site(session, name="Port Hercule", address="Quai Albert 1er", location=LatLon(43.735, 7.421)).id
    casino = add_site(session, name="Casino", address="Place du Casino", location=LatLon(43.739, 7.427)).id
    ids = {}
    for i, (site, ref, notes) in enumerate([(port, "WO-0123456", "Boiler pressure LOW"),
                                            (casino, "WO-0999999", 'Say "hello" at the desk; 100% sure'),
                                            (casino, "", "派工 to the back door")]):  # fmt: skip
        window = TimeWindow(T0 + timedelta(hours=i), T0 + timedelta(hours=i + 2))
        order = add_order(session, site_id=site, type="repair", priority=3, window=window, service_duration_s=600,
                          notes=notes, reference=ref, created_at=T0)  # fmt: skip
        ids[ref or "chinese"] = order.id
    session.commit()
    return ids


def _found(session: Session, q: str) -> list[int]:
    page = search_history(session, HistoryFilter(WEEK, q=q), page=1, per_page=50)
    assert page.total == len(page.rows)
    return sorted(r["id"] for r in page.rows)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("0123", ["WO-0123456"]),  # part of a reference
        ("wo-0", ["WO-0123456", "WO-0999999"]),  # any case
        ("pressure low", ["WO-0123456"]),  # notes, any case
        ('"hello"', ["WO-0999999"]),  # quotes are literal text, not search syntax
        ("100%", ["WO-0999999"]),  # so is a LIKE wildcard
        ("albert", ["WO-0123456"]),  # the site's address
        ("casino", ["WO-0999999", "chinese"]),  # the site's name
        ("派工", ["chinese"]),  # two characters: searched row by row
        ("9", ["WO-0999999"]),  # one character too
        ("nowhere", []),
    ],
)
def test_text_search_finds_any_part_of_reference_notes_or_site(session: Session, q: str, expected: list[str]) -> None:
    """Tests that a search finds the orders containing the text anywhere in their reference or notes, or in
    their site's name or address, in any case, with quotes and wildcards taken literally."""
    ids = _orders(session)
    assert _found(session, q) == sorted(ids[name] for name in expected)


def test_search_follows_edited_and_deleted_orders(session: Session) -> None:
    """Tests that an order's changed notes are found by their new words, not their old, and a deleted order
    is found no more (the search index follows the orders)."""
    ids = _orders(session)
    session.execute(update(WorkOrderRow).where(WorkOrderRow.id == ids["WO-0123456"]).values(notes="Gasket replaced"))
    session.commit()
    assert _found(session, "gasket") == [ids["WO-0123456"]]
    assert _found(session, "pressure") == []
    session.execute(delete(WorkOrderRow).where(WorkOrderRow.id == ids["WO-0999999"]))
    session.commit()
    assert _found(session, "wo-0") == [ids["WO-0123456"]]
