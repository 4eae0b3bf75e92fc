"""Signed, expiring push links: one per worker and day, opening that worker's day without a password.

A link's token names the worker, the day and the worker's link version at issue time, signed with
the app's secret (itsdangerous). It is good until the end of that day (the office's local day, `zone`) plus `grace_s`, for that
worker alone. To revoke every link a worker holds (a lost phone), the caller bumps the worker's
stored link version: tokens carrying an older version are refused as revoked.

Pure apart from itsdangerous: the clock, the version lookup and the id source are injected.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from dispatch import localtime
from dispatch.clock import Clock
from dispatch.localtime import day_bounds

SALT = "outfield.push-link.v1"
"""Separates these tokens from anything else signed with the same secret."""


class LinkRefusal(StrEnum):
    EXPIRED = "expired"
    TAMPERED = "tampered"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class LinkClaims:
    """What a valid link proves: whose day it opens, until when, and its id (for the audit log)."""

    worker_id: int
    day: date
    link_id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class LinkRefused:
    """The link does not open anything; `reason` is the kind, `detail` says it in words."""

    reason: LinkRefusal
    detail: str


def _new_id() -> str:
    return uuid.uuid4().hex


class PushLinks:
    """Issues and verifies push-link tokens.

    `versions(worker_id)` returns the worker's current link version, or None for an unknown
    worker (whose links are all refused as revoked).
    """

    def __init__(
        self,
        secret: str | bytes,
        *,
        clock: Clock,
        versions: Callable[[int], int | None],
        new_id: Callable[[], str] = _new_id,
        grace_s: float = 6 * 3600.0,
        zone: tzinfo = UTC,
    ) -> None:
        if not secret:
            raise ValueError("secret must not be empty")
        if grace_s < 0:
            raise ValueError("grace_s must be >= 0")
        self._serializer = URLSafeSerializer(secret, salt=SALT)
        self._clock = clock
        self._versions = versions
        self._new_id = new_id
        self.grace_s = grace_s
        self._zone = zone

    def expires_at(self, day: date) -> datetime:
        """When a link for `day` stops working: the end of that local day (`zone`'s midnight) plus the grace period."""
        return day_bounds(day, self._zone)[1] + timedelta(seconds=self.grace_s)

    def issue(self, worker_id: int, day: date) -> str:
        """A token for `worker_id`'s `day`, carrying the worker's current link version.

        Raises ValueError for an unknown worker or a day whose links have already expired.
        """
        version = self._versions(worker_id)
        if version is None:
            raise ValueError(f"worker_id: no worker {worker_id} to issue a link for")
        if self._clock.now() >= self.expires_at(day):
            raise ValueError(f"day: {day.isoformat()} is over; its link would already be expired")
        payload = {"w": worker_id, "d": day.isoformat(), "v": version, "i": self._new_id()}
        return str(self._serializer.dumps(payload))

    def verify(self, token: str) -> LinkClaims | LinkRefused:
        """The claims of a genuine, current, unexpired token, or why it is refused."""
        try:
            payload: Any = self._serializer.loads(token)
            worker_id, day, version, link_id = _parse(payload)
        except (BadSignature, ValueError, TypeError, KeyError):
            return LinkRefused(LinkRefusal.TAMPERED, "the link is not one we issued")
        current = self._versions(worker_id)
        if current is None or version != current:
            return LinkRefused(LinkRefusal.REVOKED, f"this link for worker {worker_id} has been revoked")
        expires_at = self.expires_at(day)
        if self._clock.now() >= expires_at:
            when, zone = localtime.clock_and_zone(expires_at, self._zone, "%Y-%m-%d %H:%M")
            return LinkRefused(LinkRefusal.EXPIRED, f"the link for {day.isoformat()} expired at {when} {zone}")
        return LinkClaims(worker_id=worker_id, day=day, link_id=link_id, expires_at=expires_at)


def _parse(payload: Any) -> tuple[int, date, int, str]:
    worker_id, version, link_id = payload["w"], payload["v"], payload["i"]
    if not (isinstance(worker_id, int) and isinstance(version, int) and isinstance(link_id, str)):
        raise TypeError("malformed link payload")
    return worker_id, date.fromisoformat(payload["d"]), version, link_id
