"""What a customer may see of their order through their link, and their answer to the survey.

The privacy rule lives here, in one pure function: the worker's position (and an ETA drawn from it)
is shown only while the order is en route, and only from a fix taken after the worker set off for
this customer. Before departure, on site, after check-out, or for a fix from before setting off
(the worker's track elsewhere) the view holds no position at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dispatch.geo import LatLon
from dispatch.orders import OrderStatus

MAX_COMMENT_CHARS = 1000
RATINGS = range(1, 6)
FRESH_FIX_S = 15 * 60.0
"""A fix older than this is not shown (the phone stopped reporting); the customer sees the status alone."""


@dataclass(frozen=True, slots=True)
class Fix:
    """The worker's latest accepted fix: where and when (fix time)."""

    location: LatLon
    fix_time: datetime


@dataclass(frozen=True, slots=True)
class Eta:
    seconds: float
    at: datetime


@dataclass(frozen=True, slots=True)
class TrackView:
    """The customer's view: `position` and `eta` are None unless the worker is on the way to them."""

    status: OrderStatus
    worker_first_name: str | None
    position: Fix | None
    eta: Eta | None
    survey_open: bool


def first_name(full_name: str) -> str:
    """The first word of a worker's name: all a customer learns of who comes."""
    parts = full_name.split()
    return parts[0] if parts else ""


def track_view(
    *,
    status: OrderStatus,
    worker_name: str | None,
    en_route_since: datetime | None,
    latest: Fix | None,
    travel_s: float | None,
    now: datetime,
    answered: bool,
) -> TrackView:
    """The customer's view of an order at `now`.

    `en_route_since` is when the order last moved to en route; `travel_s` the driving time from
    `latest` to the site (None when unknown). The position is shown only when the order is en route,
    the fix was taken after it set off and is fresh (within FRESH_FIX_S of now).
    """
    name = first_name(worker_name) if worker_name else None
    shown: Fix | None = None
    eta: Eta | None = None
    if (
        status is OrderStatus.EN_ROUTE
        and latest is not None
        and en_route_since is not None
        and latest.fix_time >= en_route_since
        and (now - latest.fix_time).total_seconds() <= FRESH_FIX_S
    ):
        shown = latest
        if travel_s is not None:
            eta = Eta(seconds=travel_s, at=now + timedelta(seconds=travel_s))
    return TrackView(
        status=status,
        worker_first_name=name,
        position=shown,
        eta=eta,
        survey_open=status is OrderStatus.DONE and not answered,
    )


@dataclass(frozen=True, slots=True)
class SurveyAnswer:
    rating: int
    comment: str


@dataclass(frozen=True, slots=True)
class SurveyRefused:
    """Why an answer is not taken: `field` names the input at fault, `status` the HTTP status to answer."""

    field: str
    reason: str
    status: int = 400


def check_survey(
    *, status: OrderStatus, rating: object, comment: object, answered: bool
) -> SurveyAnswer | SurveyRefused:
    """A valid answer (rating 1..5, a comment of at most MAX_COMMENT_CHARS) for a done order, once."""
    if status is not OrderStatus.DONE:
        return SurveyRefused("status", f"the survey opens once the visit is done (the order is {status.value})", 409)
    if answered:
        return SurveyRefused("order_id", "this visit has already been rated", 409)
    if isinstance(rating, bool) or not isinstance(rating, int) or rating not in RATINGS:
        return SurveyRefused("rating", "rating: a whole number from 1 to 5")
    if comment is None:
        comment = ""
    if not isinstance(comment, str):
        return SurveyRefused("comment", "comment: must be text")
    if len(comment) > MAX_COMMENT_CHARS:
        return SurveyRefused("comment", f"comment: at most {MAX_COMMENT_CHARS} characters")
    return SurveyAnswer(rating=rating, comment=comment.strip())


def is_low_rating(rating: int, threshold: int) -> bool:
    """A rating at or under `threshold` raises an alert for the dispatcher."""
    return rating <= threshold
