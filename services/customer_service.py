"""The customer's link to their order: issue (and send), the track view, the survey.

A token is the link's id signed with the app's secret (itsdangerous, its own salt); the
`customer_links` row says until when it works and whether it was revoked. Whoever holds the link
sees the order's status and the worker's first name, and the worker's position and ETA only while
they are on the way to this order (`dispatch.customer.track_view`); every read that shows a
position is audited as `view-location-customer-link`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session, sessionmaker

from data import (
    audit_repo,
    customer_repo,
    field_repo,
    orders_repo,
    positions_repo,
    sites_repo,
    webhooks_repo,
    workers_repo,
)
from data.db import session_scope
from dispatch.access import Actor
from dispatch.clock import Clock
from dispatch.customer import Fix, SurveyAnswer, check_survey, is_low_rating, track_view
from dispatch.errors import AppError, deny
from dispatch.fields import refuse_unknown
from dispatch.geo import LatLon
from dispatch.orders import OrderStatus
from dispatch.webhooks import EventType
from routing.travel import TravelTimes

SALT = "outfield.customer-link.v1"


@dataclass(frozen=True, slots=True)
class IssuedCustomerLink:
    order_id: int
    url: str
    token: str
    expires_at: datetime


def _new_id() -> str:
    return uuid.uuid4().hex


class CustomerService:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        clock: Clock,
        secret: str,
        travel: TravelTimes,
        public_url: str,
        link_days: int,
        low_rating: int,
        notify: Callable[[dict[str, Any]], None] | None = None,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._serializer = URLSafeSerializer(secret, salt=SALT)
        self._travel = travel
        self._public_url = public_url.rstrip("/")
        self._link_days = link_days
        self._low_rating = low_rating
        self._notify = notify
        self._new_id = new_id

    def issue_link(self, *, actor: Actor, order_id: int, send: bool = False) -> IssuedCustomerLink:
        """A new link for the order, good until `link_days` after the later of now and the order's window end."""
        if send and self._notify is None:
            deny(400, "send: no notification hook is configured (OUTFIELD_LINK_WEBHOOK)", "send")
        now = self._clock.now()
        with session_scope(self._sessions) as session:
            order = orders_repo.get_order(session, order_id)
            if order is None:
                deny(404, f"no work order with id {order_id}")
            if order.status is OrderStatus.CANCELLED:
                deny(409, f"status: order {order_id} is cancelled", "status")
            expires_at = max(now, order.window.end) + timedelta(days=self._link_days)
            link = customer_repo.add_link(
                session, link_id=self._new_id(), order_id=order_id, issued_by=actor.id, issued_at=now,
                expires_at=expires_at,
            )  # fmt: skip
            audit_repo.record(
                session, actor_id=actor.id, action="issue-customer-link", subject_type="order", subject_id=order_id,
                at=now, details={"link_id": link.id, "expires_at": expires_at.isoformat(), "send": send},
            )  # fmt: skip
        token = str(self._serializer.dumps({"i": link.id}))
        issued = IssuedCustomerLink(order_id, f"{self._public_url}/c/{token}", token, expires_at)
        if send and self._notify is not None:
            try:
                self._notify(
                    {"kind": "customer-link", "order_id": order_id, "url": issued.url,
                     "expires_at": expires_at.isoformat()}
                )  # fmt: skip
            except AppError as exc:  # the notification hook failed: a bad gateway, not a bad request
                raise AppError(502, str(exc), exc.field) from None
        return issued

    def revoke_links(self, *, actor: Actor, order_id: int) -> int:
        now = self._clock.now()
        with session_scope(self._sessions) as session:
            if orders_repo.get_order(session, order_id) is None:
                deny(404, f"no work order with id {order_id}")
            count = customer_repo.revoke_links(session, order_id=order_id, at=now)
            audit_repo.record(
                session, actor_id=actor.id, action="revoke-customer-links", subject_type="order", subject_id=order_id,
                at=now, details={"count": count},
            )  # fmt: skip
        return count

    def track(self, token: str) -> dict[str, Any]:
        """The customer's view of their order as JSON; a position only while the worker is on the way."""
        now = self._clock.now()
        with session_scope(self._sessions) as session:
            link = self._open(session, token, now)
            order = orders_repo.get_order(session, link.order_id)
            if order is None:
                raise AppError(410, "link: the order no longer exists", "link")
            site = sites_repo.get_site(session, order.site_id)
            worker_id = order.assigned_worker_id if order.status is not OrderStatus.CANCELLED else None
            found = workers_repo.get_worker(session, worker_id) if worker_id is not None else None
            worker = found.name if found is not None else None
            answered = customer_repo.has_answer(session, order_id=order.id)
            latest: Fix | None = None
            since = None
            if order.status is OrderStatus.EN_ROUTE and worker_id is not None:
                since = customer_repo.en_route_since(session, order_id=order.id)
                last = positions_repo.last_position(session, worker_id=worker_id)
                if last is not None:
                    latest = Fix(LatLon(last.latitude, last.longitude), last.fix_time)
            travel_s = self._travel.duration_s(latest.location, site.location) if latest and site else None
            view = track_view(
                status=order.status, worker_name=worker, en_route_since=since, latest=latest, travel_s=travel_s,
                now=now, answered=answered,
            )  # fmt: skip
            if view.position is not None:
                audit_repo.record(
                    session, actor_id=None, action="view-location-customer-link", subject_type="worker",
                    subject_id=worker_id, at=now, details={"order_id": order.id, "link_id": link.id},
                )  # fmt: skip
        return {
            "order_id": order.id,
            "status": view.status.value,
            "worker_first_name": view.worker_first_name,
            "window_start": order.window.start.isoformat(),
            "window_end": order.window.end.isoformat(),
            "site": {"lat": site.location.lat, "lon": site.location.lon} if site else None,
            "position": (
                {
                    "lat": view.position.location.lat,
                    "lon": view.position.location.lon,
                    "fix_time": view.position.fix_time.isoformat(),
                }
                if view.position
                else None
            ),  # fmt: skip
            "eta": {"seconds": round(view.eta.seconds), "at": view.eta.at.isoformat()} if view.eta else None,
            "survey": {"open": view.survey_open, "answered": answered},
            "expires_at": link.expires_at.isoformat(),
        }

    def answer(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        """Store the order's one survey answer; a low rating raises a `low_rating` alert in the same transaction."""
        refuse_unknown(body, ("rating", "comment"))
        now = self._clock.now()
        with session_scope(self._sessions) as session:
            link = self._open(session, token, now)
            order = orders_repo.get_order(session, link.order_id)
            if order is None:
                raise AppError(410, "link: the order no longer exists", "link")
            checked = check_survey(
                status=order.status, rating=body.get("rating"), comment=body.get("comment"),
                answered=customer_repo.has_answer(session, order_id=order.id),
            )  # fmt: skip
            if not isinstance(checked, SurveyAnswer):
                deny(checked.status, checked.reason, checked.field)
            answer_id = customer_repo.add_answer(
                session, order_id=order.id, worker_id=order.assigned_worker_id, link_id=link.id,
                rating=checked.rating, comment=checked.comment, at=now,
            )  # fmt: skip
            if answer_id is None:
                deny(409, "this visit has already been rated", "order_id")
            alert_id = None
            if is_low_rating(checked.rating, self._low_rating):
                alert_id = field_repo.raise_alert(session, type="low_rating", worker_id=order.assigned_worker_id, order_id=order.id, at=now, details={"rating": checked.rating})  # fmt: skip
            webhooks_repo.emit(
                session, EventType.SURVEY_ANSWERED, {"order_id": order.id, "worker_id": order.assigned_worker_id,
                "rating": checked.rating, "comment": checked.comment, "answered_at": now.isoformat()}, at=now,
            )  # fmt: skip
        return {"order_id": order.id, "rating": checked.rating, "comment": checked.comment, "alert_id": alert_id}

    def _open(self, session: Session, token: str, now: datetime) -> customer_repo.CustomerLink:
        try:
            payload: Any = self._serializer.loads(token)
            link_id = payload["i"]
            if not isinstance(link_id, str):
                raise TypeError
        except (BadSignature, TypeError, KeyError):
            raise AppError(404, "link: the link is not one we issued", "link") from None
        link = customer_repo.get_link(session, link_id)
        if link is None:
            raise AppError(404, "link: the link is not one we issued", "link")
        if link.revoked_at is not None:
            raise AppError(410, "link: this link has been revoked", "link")
        if now >= link.expires_at:
            raise AppError(410, f"link: expired at {link.expires_at:%Y-%m-%d %H:%M} UTC", "link")
        return link
