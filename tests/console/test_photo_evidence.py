"""A photo as evidence: EXIF read with Pillow, and the server's stamped copy (services/photo_evidence.py)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from PIL import Image

from services.photo_evidence import read_exif, stamp_lines, watermarked


def jpeg(size: tuple[int, int], *, orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_the_stamped_copy_is_upright_bounded_and_carries_the_band():
    """Tests that a 4000 × 3000 photo held upright (EXIF orientation 6) becomes a portrait copy of at most 2048 px
    on its long side, with a dark band of white text added below the picture."""
    lines = stamp_lines(
        taken_at=datetime(2026, 12, 4, 9, 15, tzinfo=UTC),
        received_at=datetime(2026, 12, 4, 9, 40, tzinfo=UTC),
        site_name="Casino de Monte-Carlo",
        worker_name="Cleo Review",
    )
    assert lines == (
        "Taken 2026-12-04 09:15 UTC · received 09:40 UTC",
        "Casino de Monte-Carlo · Cleo Review",
    )
    with Image.open(io.BytesIO(watermarked(jpeg((4000, 3000), orientation=6), lines))) as copy:
        width, height = copy.size
        assert width < height and max(width, height - 2048) <= 2048 and width == 1536
        band = copy.convert("L").crop((0, 2048, width, height))
        low, high = band.getextrema()
        assert low < 40 and high > 200


def test_the_band_reads_on_the_offices_clock_with_its_zone_named():
    """Tests that for a Monaco office the band gives 10:15 CET in December and 11:15 CEST in July for photos taken
    at 09:15 UTC, and a Shanghai one 17:15 CST."""
    from zoneinfo import ZoneInfo

    def first_line(taken: datetime, zone: str) -> str:
        lines = stamp_lines(taken_at=taken, received_at=taken, site_name="Port", worker_name="Ana", zone=ZoneInfo(zone))
        return lines[0]

    assert first_line(datetime(2026, 12, 4, 9, 15, tzinfo=UTC), "Europe/Monaco") == (
        "Taken 2026-12-04 10:15 CET · received 10:15 CET"
    )
    assert first_line(datetime(2026, 7, 4, 9, 15, tzinfo=UTC), "Europe/Monaco").startswith(
        "Taken 2026-07-04 11:15 CEST"
    )
    assert first_line(datetime(2026, 7, 4, 9, 15, tzinfo=UTC), "Asia/Shanghai").startswith("Taken 2026-07-04 17:15 CST")


def test_exif_is_unknown_for_a_photo_without_it_or_unreadable_bytes():
    """Tests that a photo with no EXIF, or bytes that are no image, read as (None, None) instead of failing."""
    assert read_exif(jpeg((64, 48))) == (None, None)
    assert read_exif(b"not an image") == (None, None)
