"""The confidence block of the dispatcher's order detail (console/pages/checkin_confidence.py)."""

from __future__ import annotations

from dash import html

from console.pages import orders
from tests.console.test_orders_page import RECORD, find, texts

SCORED = {
    **RECORD,
    "checkins": [
        {
            "id": 5, "kind": "in", "at": "2025-03-04T09:10:00+00:00", "verdict": "outside_geofence", "distance_m": 1012.0,
            "confidence": 40,
            "reasons": [
                {"code": "outside_geofence", "points_lost": 45,
                 "text": "the fix is 952 m outside the geofence of Casino, beyond its ±15 m accuracy"},
                {"code": "clock_offset", "points_lost": 15,
                 "text": "the phone's clock is 10 min behind the server's (limit 2 min)"},
            ],
            "review": {"status": "rejected", "note": "<b>was at home</b>", "by": "Mona Manager",
                       "at": "2025-03-04T10:42:00+00:00"},
        },
        {"id": 6, "kind": "out", "at": "2025-03-04T09:40:00+00:00", "verdict": "verified", "distance_m": 12.0,
         "confidence": 100, "reasons": [], "review": {"status": "not_needed"}},
    ],
    "photos": [{"photo_id": 31, "thumbnail_url": "/api/v1/photos/31/thumbnail",
                "watermarked_url": "/api/v1/photos/31/watermarked"}],
}  # fmt: skip


def test_order_detail_shows_each_checkins_score_reasons_and_review_decision():
    """Tests that the order's field record shows 'confidence 40/100' marked low, each reason with the points it
    cost, the manager's decision with who, when and the note (as text, markup and all), and a clean check-out."""
    view = orders.field_record_view(SCORED)
    blocks = find(view, lambda c: getattr(c, "className", "") == "checkin-confidence")
    assert len(blocks) == 2
    low, clean = blocks
    (score,) = find(low, lambda c: "confidence-score" in str(getattr(c, "className", "")))
    assert (score.children, score.className) == (
        "Check-in at 09:10 UTC · confidence 40/100",
        "confidence-score confidence-low",
    )
    assert [texts(li) for li in find(low, lambda c: getattr(c, "className", "") == "confidence-reason")] == [
        "−45 the fix is 952 m outside the geofence of Casino, beyond its ±15 m accuracy",
        "−15 the phone's clock is 10 min behind the server's (limit 2 min)",
    ]
    (decision,) = find(low, lambda c: getattr(c, "className", "") == "confidence-review")
    assert decision.children == "Rejected by Mona Manager at 10:42 UTC: <b>was at home</b>"
    assert "confidence 100/100" in texts(clean) and "No review needed" in texts(clean)
    (stamped,) = find(view, lambda c: isinstance(c, html.A) and c.className == "photo-stamped")
    assert (stamped.href, stamped.children) == ("/api/v1/photos/31/watermarked", "photo 1")


def test_a_record_from_before_scoring_shows_no_confidence_block():
    """Tests that check-ins stored before scoring existed (no confidence) show only their verdict rows."""
    view = orders.field_record_view(RECORD)
    assert find(view, lambda c: getattr(c, "className", "") in ("confidence", "photos-stamped")) == []
