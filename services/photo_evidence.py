"""A photo as evidence: its EXIF time and GPS position (read with Pillow), and a stamped copy.

Both run after `field_service._thumbnail` has refused image bombs (declared pixels checked before
decoding), and decode at most `WATERMARK_PX` on the long side (JPEG decodes at 1/2..1/8 scale
through `draft`), so memory follows the copy's size, not the photo's. The original is never touched.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw, ImageFont, ImageOps

from dispatch import localtime
from dispatch.exif import exif_location, exif_time
from dispatch.geo import LatLon

EXIF_IFD = 0x8769
GPS_IFD = 0x8825
DATE_TIME_ORIGINAL = 0x9003
OFFSET_TIME_ORIGINAL = 0x9011
WATERMARK_PX = 2048


def read_exif(data: bytes, *, local_zone: tzinfo = UTC) -> tuple[datetime | None, LatLon | None]:
    """(DateTimeOriginal in UTC, GPS position) of a photo; None for what it does not say or garbles."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            exif = image.getexif()
            sub = exif.get_ifd(EXIF_IFD)
            gps = exif.get_ifd(GPS_IFD)
    except (OSError, SyntaxError, ValueError, TypeError):
        return None, None
    return exif_time(sub.get(DATE_TIME_ORIGINAL), sub.get(OFFSET_TIME_ORIGINAL), local_zone=local_zone), exif_location(
        gps
    )


def stamp_lines(
    *, taken_at: datetime, received_at: datetime, site_name: str, worker_name: str, zone: ZoneInfo | None = None
) -> tuple[str, ...]:
    """The band's text: when (on `zone`'s clock, the office's or the worker's, its zone named; UTC without one),
    where and who."""
    tz = zone or ZoneInfo("UTC")
    taken, received = localtime.to_local(taken_at, tz), localtime.to_local(received_at, tz)
    return (
        f"Taken {taken:%Y-%m-%d %H:%M} {localtime.zone_label(taken_at, tz)} · "
        f"received {received:%H:%M} {localtime.zone_label(received_at, tz)}",
        f"{site_name} · {worker_name}",
    )


def watermarked(data: bytes, lines: Sequence[str], *, max_px: int = WATERMARK_PX) -> bytes:
    """A JPEG copy of the photo (at most `max_px` on the long side) with `lines` in a dark band at the bottom."""
    with Image.open(io.BytesIO(data)) as source:
        source.thumbnail((max_px, max_px))  # shrinks in place (JPEG decodes at a reduced scale through draft)
        image = (ImageOps.exif_transpose(source) or source).convert("RGB")  # upright, as the camera held it
    width, height = image.size
    font_px = max(12, min(width, height) // 28)
    font = ImageFont.load_default(size=font_px)
    band_px = (font_px + font_px // 2) * len(lines) + font_px // 2
    canvas = Image.new("RGB", (width, height + band_px), (20, 20, 20))
    canvas.paste(image, (0, 0))
    draw = ImageDraw.Draw(canvas)
    for i, line in enumerate(lines):
        draw.text((font_px // 2, height + font_px // 2 + i * (font_px + font_px // 2)), line, font=font, fill="white")
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=85)
    return out.getvalue()
