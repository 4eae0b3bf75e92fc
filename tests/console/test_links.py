"""Push links: signed per worker and day, expiring, revocable, and refused with a reason."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import pytest

from dispatch.clock import ManualClock
from dispatch.localtime import zone
from services.links import LinkClaims, LinkRefusal, LinkRefused, PushLinks

MONDAY = date(2025, 3, 3)
MONDAY_8AM = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY_8AM)


@pytest.fixture
def versions() -> dict[int, int]:
    """The link version the caller stores per worker (worker 1 and 2 exist)."""
    return {1: 0, 2: 0}


@pytest.fixture
def links(clock: ManualClock, versions: dict[int, int]) -> PushLinks:
    counter = itertools.count(1)
    return PushLinks("s3cret", clock=clock, versions=versions.get, new_id=lambda: f"link-{next(counter)}", grace_s=3600)


def test_a_link_opens_its_workers_day(links: PushLinks):
    """Tests that a fresh link verifies to its worker, day, id and expiry (end of day plus grace)."""
    token = links.issue(1, MONDAY)
    assert links.verify(token) == LinkClaims(
        worker_id=1, day=MONDAY, link_id="link-1", expires_at=datetime(2025, 3, 4, 1, 0, tzinfo=UTC)
    )


def test_each_worker_gets_their_own_link(links: PushLinks):
    """Tests that two workers' links differ and each proves only its own worker."""
    first, second = links.issue(1, MONDAY), links.issue(2, MONDAY)
    assert first != second
    assert [links.verify(t).worker_id for t in (first, second)] == [1, 2]


def test_a_link_expires_after_its_day_and_the_grace_period(links: PushLinks, clock: ManualClock):
    """Tests that the link still works late that evening and within the grace hour, and is refused as expired after."""
    token = links.issue(1, MONDAY)
    clock.advance(16 * 3600 + 59 * 60)  # 00:59 on Tuesday
    assert isinstance(links.verify(token), LinkClaims)
    clock.advance(60)
    assert links.verify(token) == LinkRefused(
        LinkRefusal.EXPIRED, "the link for 2025-03-03 expired at 2025-03-04 01:00 UTC"
    )


def test_bumping_the_version_revokes_every_earlier_link(links: PushLinks, versions: dict[int, int]):
    """Tests that after the worker's link version is raised (lost phone) old links are revoked, new ones work,
    and the other worker's links are unaffected."""
    old, other = links.issue(1, MONDAY), links.issue(2, MONDAY)
    versions[1] += 1
    assert links.verify(old) == LinkRefused(LinkRefusal.REVOKED, "this link for worker 1 has been revoked")
    assert isinstance(links.verify(links.issue(1, MONDAY)), LinkClaims)
    assert isinstance(links.verify(other), LinkClaims)


def test_a_deleted_worker_s_links_are_revoked(links: PushLinks, versions: dict[int, int]):
    """Tests that links of a worker no longer known are refused as revoked."""
    token = links.issue(2, MONDAY)
    del versions[2]
    assert links.verify(token).reason is LinkRefusal.REVOKED


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature changed
        lambda t: "x" + t,  # payload changed
        lambda t: "",
        lambda t: "not-a-token",
    ],
)
def test_an_altered_token_is_refused_as_tampered(links: PushLinks, mangle):
    """Tests that any change to a token is refused as tampered, without saying more."""
    assert links.verify(mangle(links.issue(1, MONDAY))) == LinkRefused(
        LinkRefusal.TAMPERED, "the link is not one we issued"
    )


def test_a_token_signed_with_another_secret_is_tampered(clock: ManualClock, versions: dict[int, int]):
    """Tests that a link from another install (different secret) does not open anything here."""
    theirs = PushLinks("other", clock=clock, versions=versions.get).issue(1, MONDAY)
    ours = PushLinks("s3cret", clock=clock, versions=versions.get)
    assert ours.verify(theirs).reason is LinkRefusal.TAMPERED


def test_issuing_for_an_unknown_worker_or_a_past_day_is_refused(links: PushLinks):
    """Tests that issue() raises ValueError naming the field for an unknown worker or a day already over."""
    with pytest.raises(ValueError, match="worker_id: no worker 9"):
        links.issue(9, MONDAY)
    with pytest.raises(ValueError, match="day: 2025-03-01 is over"):
        links.issue(1, date(2025, 3, 1))


def test_a_link_for_tomorrow_can_be_issued_today(links: PushLinks, clock: ManualClock):
    """Tests that tomorrow's link works today already and until tomorrow's end."""
    token = links.issue(1, date(2025, 3, 4))
    assert isinstance(links.verify(token), LinkClaims)
    clock.advance(40 * 3600)  # Wednesday 00:00
    assert isinstance(links.verify(token), LinkClaims)


def test_a_link_lasts_until_the_end_of_the_offices_local_day_on_the_night_the_clocks_go_back(versions: dict[int, int]):
    """Tests that a Monaco office's link for Sunday 25 October 2026 (25 h long) works until Monaco's midnight
    plus the grace, 00:00 UTC on Monday (not UTC's midnight, an hour earlier)."""
    clock = ManualClock(datetime(2026, 10, 25, 8, 0, tzinfo=UTC))
    links = PushLinks("s3cret", clock=clock, versions=versions.get, grace_s=3600, zone=zone("Europe/Monaco"))
    token = links.issue(1, date(2026, 10, 25))
    claims = links.verify(token)
    assert isinstance(claims, LinkClaims) and claims.expires_at == datetime(2026, 10, 26, 0, 0, tzinfo=UTC)
    clock.advance((15 * 60 + 59) * 60)  # 23:59 UTC, 00:59 Monday in Monaco: within the grace
    assert isinstance(links.verify(token), LinkClaims)
    clock.advance(60)
    refused = links.verify(token)
    assert isinstance(refused, LinkRefused) and refused.reason is LinkRefusal.EXPIRED
