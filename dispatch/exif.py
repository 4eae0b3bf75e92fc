"""A photo's EXIF time and GPS position as domain values (the raw tags are read at the edge with Pillow).

EXIF `DateTimeOriginal` ("2026:12:04 09:15:02") has no zone; `OffsetTimeOriginal` ("+01:00"), when
present, gives it. Without it the time is read in the organisation's zone (`local_zone`, UTC for
now). GPS latitude/longitude are (degrees, minutes, seconds) rationals with an N/S or E/W reference.
Anything malformed reads as None: a photo's metadata is evidence, never a reason to refuse it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

from dispatch.geo import LatLon

GPS_LATITUDE_REF = 1
GPS_LATITUDE = 2
GPS_LONGITUDE_REF = 3
GPS_LONGITUDE = 4


def exif_time(original: Any, offset: Any = None, *, local_zone: tzinfo = UTC) -> datetime | None:
    """DateTimeOriginal (+ OffsetTimeOriginal) as an aware UTC datetime, None when absent or malformed."""
    if not isinstance(original, str):
        return None
    try:
        naive = datetime.strptime(original.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")  # noqa: DTZ007 - zone below
    except ValueError:
        return None
    zone = _offset(offset) or local_zone
    try:
        return naive.replace(tzinfo=zone).astimezone(UTC)
    except OverflowError:
        return None


def _offset(raw: Any) -> timezone | None:
    """'+01:00' / '-05:30' as a fixed zone; None when absent or malformed."""
    if not isinstance(raw, str):
        return None
    text = raw.strip("\x00 ")
    if len(text) != 6 or text[0] not in "+-" or text[3] != ":" or not (text[1:3] + text[4:6]).isdigit():
        return None
    minutes = int(text[1:3]) * 60 + int(text[4:6])
    if minutes > 14 * 60:
        return None
    return timezone(timedelta(minutes=-minutes if text[0] == "-" else minutes))


def exif_location(gps: Mapping[int, Any]) -> LatLon | None:
    """The GPS IFD's position, None when absent or malformed."""
    lat = _degrees(gps.get(GPS_LATITUDE), gps.get(GPS_LATITUDE_REF), "S")
    lon = _degrees(gps.get(GPS_LONGITUDE), gps.get(GPS_LONGITUDE_REF), "W")
    if lat is None or lon is None:
        return None
    try:
        return LatLon(lat, lon)
    except ValueError:
        return None


def _degrees(dms: Any, ref: Any, negative: str) -> float | None:
    if not isinstance(dms, Sequence) or isinstance(dms, str | bytes) or len(dms) != 3:
        return None
    try:
        d, m, s = (float(v) for v in dms)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not all(math.isfinite(v) for v in (d, m, s)):
        return None
    value = d + m / 60 + s / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    return -value if isinstance(ref, str) and ref.strip("\x00 ").upper() == negative else value
