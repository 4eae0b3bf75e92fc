"""Attendance rules: where a clock-in is verified, what a late entry and a day's report need."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from dispatch.attendance import (
    CLOCK_RADIUS_M,
    DoneOrder,
    Problem,
    clock_place,
    day_report_problem,
    late_entry_problem,
    prefilled_report,
)
from dispatch.geo import LatLon
from dispatch.sites import Site

NOW = datetime(2026, 3, 2, 17, tzinfo=UTC)
CASINO = Site(id=5, name="Casino de Monte-Carlo", address="", location=LatLon(43.7396, 7.4281))


def test_a_clock_in_is_verified_at_the_home_base_else_the_first_site_else_nowhere() -> None:
    """Tests the home base wins (300 m circle); without one the first site with at least that circle; else None."""
    home = clock_place(LatLon(43.73, 7.42), CASINO)
    assert home is not None and (home.location, home.geofence_radius_m) == (LatLon(43.73, 7.42), CLOCK_RADIUS_M)
    first = clock_place(None, CASINO)
    assert first is not None and (first.name, first.geofence_radius_m) == ("Casino de Monte-Carlo", CLOCK_RADIUS_M)
    assert clock_place(None, None) is None


def test_a_late_entry_needs_a_reason_and_a_past_time_within_a_week() -> None:
    """Tests each refusal names its field: no reason, a future time, older than 7 days, an unknown kind."""
    ok = {"kind": "in", "at": NOW - timedelta(hours=2), "reason": "phone was flat", "now": NOW}
    assert late_entry_problem(**ok) is None  # type: ignore[arg-type]
    assert late_entry_problem(**{**ok, "reason": "  "}).field == "reason"  # type: ignore[arg-type, union-attr]
    assert late_entry_problem(**{**ok, "at": NOW + timedelta(minutes=5)}).field == "at"  # type: ignore[arg-type, union-attr]
    assert late_entry_problem(**{**ok, "at": NOW - timedelta(days=8)}).field == "at"  # type: ignore[arg-type, union-attr]
    assert late_entry_problem(**{**ok, "kind": "sideways"}) == Problem("kind", "'sideways' is not one of in, out")  # type: ignore[arg-type]


def test_a_day_report_needs_something_said_and_sane_kilometres() -> None:
    """Tests an empty report, negative km and a report for tomorrow are refused, naming the field."""
    day = date(2026, 3, 2)
    ok = {"done": "boiler", "problems": "", "notes": "", "km": 12.5, "day": day, "today": day}
    assert day_report_problem(**ok) is None  # type: ignore[arg-type]
    assert day_report_problem(**{**ok, "done": " "}).field == "done"  # type: ignore[arg-type, union-attr]
    assert day_report_problem(**{**ok, "km": -1.0}).field == "km"  # type: ignore[arg-type, union-attr]
    assert day_report_problem(**{**ok, "day": date(2026, 3, 3)}).field == "day"  # type: ignore[arg-type, union-attr]


def test_the_report_is_prefilled_from_the_days_visits() -> None:
    """Tests done orders are listed as done, failed ones as problems, the rest left out, km rounded."""
    report = prefilled_report(
        [DoneOrder(1, "Casino", "done"), DoneOrder(2, "Port", "failed"), DoneOrder(3, "Palace", "accepted")], 12.345
    )
    assert report == {"done": "Casino (#1)", "problems": "Port (#2): not done", "km": 12.3, "order_ids": [1, 2]}
