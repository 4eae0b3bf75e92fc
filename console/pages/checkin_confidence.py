"""How much to trust each check-in, as the dispatcher's order detail and the managers' review page show it.

Pure presenters from the field record's JSON (`FieldService.field_record`, `ReviewService.queue`) to
Dash components. Everything typed by a person (review notes, site and worker names) is passed as a
component's text child, never as markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dash import html

from console import i18n
from console.i18n import N_, _

REVIEW_WORDS = {
    "not_needed": N_("No review needed"),
    "needs_review": N_("Waiting for a manager's review"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
}


def score_class(score: Any, threshold: int = 60) -> str:
    """'confidence-low' under the threshold, 'confidence-mid' under 90, else 'confidence-high'."""
    if not isinstance(score, int):
        return "confidence-none"
    return "confidence-low" if score < threshold else "confidence-mid" if score < 90 else "confidence-high"


def reasons_list(reasons: Sequence[Mapping[str, Any]]) -> html.Ul:
    """'−45 the fix is 1.0 km outside the geofence of …', one line each."""
    return html.Ul(
        [
            html.Li(f"−{r.get('points_lost', 0)} {i18n.reason(str(r.get('text', '')))}", className="confidence-reason")
            for r in reasons
        ],
        className="confidence-reasons",
    )


def review_text(review: Mapping[str, Any] | None) -> str:
    """'Rejected by Mona Manager at 10:42 UTC: Phone was at home' (the note as plain text)."""
    review = review or {}
    status = str(review.get("status") or "not_needed")
    words = _(REVIEW_WORDS[status]) if status in REVIEW_WORDS else status.capitalize()
    if status in ("approved", "rejected"):
        if review.get("by"):
            words += _(" by {name}").format(name=review["by"])
        when = _hhmm(review.get("at"))
        if when:
            words += _(" at {time}").format(time=when)
        if review.get("note"):
            words += _(": {note}").format(note=review["note"])
    return words


def checkin_confidence(checkin: Mapping[str, Any]) -> html.Div:
    """One check-in's score, the reasons that lowered it, and where its review stands."""
    kind = _("Check-in") if checkin.get("kind") == "in" else _("Check-out")
    score = checkin.get("confidence")
    when = _hhmm(checkin.get("at"))
    at = _(" at {time}").format(time=when) if when else ""
    head = kind + at + " · " + _("confidence {score}/100").format(score=score)
    children: list[Any] = [html.Span(head, className="confidence-score " + score_class(score))]
    reasons = list(checkin.get("reasons") or [])
    if reasons:
        children.append(reasons_list(reasons))
    children.append(html.P(review_text(checkin.get("review")), className="confidence-review"))
    return html.Div(children, className="checkin-confidence")


def confidence_section(record: Mapping[str, Any]) -> list[Any]:
    """The field record's confidence block (scored check-ins, links to the stamped photos), or nothing."""
    scored = [c for c in record.get("checkins") or [] if isinstance(c.get("confidence"), int)]
    stamped = [p for p in record.get("photos") or [] if p.get("watermarked_url")]
    parts: list[Any] = []
    if scored:
        parts.append(html.Div([checkin_confidence(c) for c in scored], className="confidence"))
    if stamped:
        parts.append(
            html.P(
                [
                    _("Stamped copies: "),
                    *[
                        html.A(
                            _("photo {id}").format(id=i),
                            href=str(p["watermarked_url"]),
                            target="_blank",
                            rel="noopener",
                            className="photo-stamped",
                        )
                        for i, p in enumerate(stamped, start=1)
                    ],
                ],
                className="photos-stamped",
            )
        )
    return parts


def _hhmm(iso: Any) -> str | None:
    try:
        return i18n.clock_time(str(iso)) if iso else None
    except ValueError:
        return None
