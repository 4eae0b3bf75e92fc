"""A photo's EXIF time and GPS position read as domain values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction

import pytest

from dispatch.exif import exif_location, exif_time


def test_exif_time_with_its_offset_is_read_in_utc():
    """Tests that 09:15 at +01:00 is 08:15 UTC."""
    assert exif_time("2026:12:04 09:15:02", "+01:00") == datetime(2026, 12, 4, 8, 15, 2, tzinfo=UTC)


def test_exif_time_without_offset_is_read_in_the_organisations_zone():
    """Tests that a time with no offset is taken as UTC by default, or in the zone given."""
    assert exif_time("2026:12:04 09:15:02") == datetime(2026, 12, 4, 9, 15, 2, tzinfo=UTC)
    minus5 = timezone(timedelta(hours=-5))
    assert exif_time("2026:12:04 09:15:02", None, local_zone=minus5) == datetime(2026, 12, 4, 14, 15, 2, tzinfo=UTC)


@pytest.mark.parametrize("raw", [None, "", "0000:00:00 00:00:00", "yesterday", 12345])
def test_a_malformed_exif_time_reads_as_unknown(raw):
    """Tests that an absent, zeroed or garbled DateTimeOriginal gives None, not an error."""
    assert exif_time(raw) is None


def test_gps_degrees_minutes_seconds_with_south_and_west_are_negative():
    """Tests that 43° 44' 6" N, 7° 25' 22.8" E reads as Monaco, and S/W refs flip the signs."""
    gps = {1: "N", 2: (Fraction(43), Fraction(44), Fraction(6)), 3: "E", 4: (7.0, 25.0, 22.8)}
    point = exif_location(gps)
    assert point is not None
    assert (point.lat, point.lon) == (pytest.approx(43.735), pytest.approx(7.423))
    flipped = exif_location({**gps, 1: b"S\x00", 3: "W"})
    assert flipped is not None and (flipped.lat, flipped.lon) == (pytest.approx(-43.735), pytest.approx(-7.423))


@pytest.mark.parametrize(
    "gps", [{}, {1: "N", 2: (43, 44), 3: "E", 4: (7, 25, 22)}, {1: "N", 2: (95, 0, 0), 3: "E", 4: (7, 0, 0)}]
)
def test_malformed_gps_reads_as_unknown(gps):
    """Tests that a missing coordinate, a short triple or a latitude beyond 90° gives None."""
    assert exif_location(gps) is None
