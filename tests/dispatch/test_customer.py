"""What a customer sees through their link, and what their survey answer may be."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.customer import Fix, SurveyAnswer, SurveyRefused, check_survey, first_name, track_view
from dispatch.geo import LatLon
from dispatch.orders import OrderStatus

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
SET_OFF = NOW - timedelta(minutes=5)
FIX = Fix(LatLon(43.73, 7.42), NOW - timedelta(seconds=20))


def view(status: OrderStatus, *, latest: Fix | None = FIX, since: datetime | None = SET_OFF, answered: bool = False):
    return track_view(
        status=status, worker_name="Ana Maria Rossi", en_route_since=since, latest=latest, travel_s=300.0, now=NOW,
        answered=answered,
    )  # fmt: skip


def test_en_route_shows_the_fix_and_an_eta_from_now():
    """Tests that while en route the latest fix and an ETA (now + travel time) are shown, with the first name only."""
    v = view(OrderStatus.EN_ROUTE)
    assert v.position == FIX and v.eta is not None
    assert v.eta.seconds == 300.0 and v.eta.at == NOW + timedelta(seconds=300)
    assert v.worker_first_name == "Ana"


@pytest.mark.parametrize(
    "status",
    [OrderStatus.NEW, OrderStatus.ASSIGNED, OrderStatus.ACCEPTED, OrderStatus.ON_SITE, OrderStatus.DONE,
     OrderStatus.CANCELLED, OrderStatus.FAILED],
)  # fmt: skip
def test_no_position_outside_en_route(status):
    """Tests that before departure, on site and after check-out the view holds no position and no ETA."""
    v = view(status)
    assert v.position is None and v.eta is None


def test_a_fix_from_before_setting_off_is_never_shown():
    """Tests that the worker's track elsewhere (a fix older than the move to en route) is not shown."""
    assert view(OrderStatus.EN_ROUTE, since=FIX.fix_time + timedelta(seconds=1)).position is None


def test_a_stale_fix_is_not_shown():
    """Tests that a fix 16 minutes old (the phone stopped reporting) is not shown."""
    old = Fix(FIX.location, NOW - timedelta(minutes=16))
    assert view(OrderStatus.EN_ROUTE, latest=old, since=NOW - timedelta(hours=1)).position is None


def test_the_survey_opens_once_the_visit_is_done_and_closes_once_answered():
    """Tests that the survey is open only for a done order without an answer."""
    assert view(OrderStatus.DONE).survey_open
    assert not view(OrderStatus.DONE, answered=True).survey_open
    assert not view(OrderStatus.ON_SITE).survey_open


@pytest.mark.parametrize(
    ("rating", "comment", "field"),
    [(0, "", "rating"), (6, "", "rating"), (True, "", "rating"), ("5", "", "rating"), (3.0, "", "rating"),
     (3, 7, "comment"), (3, "x" * 1001, "comment")],
)  # fmt: skip
def test_bad_answers_name_the_field(rating, comment, field):
    """Tests that a rating outside 1..5 (or not a whole number) and a comment that is not text or too long are refused."""
    refused = check_survey(status=OrderStatus.DONE, rating=rating, comment=comment, answered=False)
    assert isinstance(refused, SurveyRefused) and refused.field == field and refused.status == 400


def test_an_answer_is_taken_once_and_only_after_the_visit():
    """Tests that a good answer is taken for a done order, and refused with 409 before it or when already answered."""
    assert check_survey(status=OrderStatus.DONE, rating=5, comment=" fine ", answered=False) == SurveyAnswer(5, "fine")
    assert check_survey(status=OrderStatus.EN_ROUTE, rating=5, comment="", answered=False).status == 409
    assert check_survey(status=OrderStatus.DONE, rating=5, comment="", answered=True).status == 409


def test_first_name():
    assert first_name("  Ana Maria Rossi ") == "Ana" and first_name("") == ""
