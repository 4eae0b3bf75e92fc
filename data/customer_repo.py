"""Customer links (one row per issued link) and the customers' survey answers; `ratings_between` for reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from data.tables import CustomerLinkRow, OrderStatusHistoryRow, SurveyAnswerRow, WorkerRow, WorkOrderRow
from dispatch.orders import OrderStatus


@dataclass(frozen=True, slots=True)
class CustomerLink:
    id: str
    order_id: int
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Rating:
    """One answered survey, with what reports group by: the worker, their team and the order's type."""

    order_id: int
    worker_id: int | None
    team: str
    order_type: str
    rating: int
    comment: str
    answered_at: datetime


def add_link(
    session: Session, *, link_id: str, order_id: int, issued_by: int | None, issued_at: datetime, expires_at: datetime
) -> CustomerLink:
    row = CustomerLinkRow(
        id=link_id, order_id=order_id, issued_by=issued_by, issued_at=issued_at, expires_at=expires_at
    )
    session.add(row)
    session.flush()
    return _link(row)


def get_link(session: Session, link_id: str) -> CustomerLink | None:
    row = session.get(CustomerLinkRow, link_id)
    return _link(row) if row is not None else None


def revoke_links(session: Session, *, order_id: int, at: datetime) -> int:
    """Revoke every unrevoked link of the order; returns how many."""
    rows = session.scalars(
        select(CustomerLinkRow).where(CustomerLinkRow.order_id == order_id, CustomerLinkRow.revoked_at.is_(None))
    ).all()
    for row in rows:
        row.revoked_at = at
    session.flush()
    return len(rows)


def en_route_since(session: Session, *, order_id: int) -> datetime | None:
    """When the order last moved to en route, or None if it never did."""
    return session.scalar(
        select(OrderStatusHistoryRow.at)
        .where(
            OrderStatusHistoryRow.order_id == order_id, OrderStatusHistoryRow.to_status == OrderStatus.EN_ROUTE.value
        )
        .order_by(OrderStatusHistoryRow.at.desc(), OrderStatusHistoryRow.id.desc())
        .limit(1)
    )


def has_answer(session: Session, *, order_id: int) -> bool:
    return session.scalar(select(SurveyAnswerRow.id).where(SurveyAnswerRow.order_id == order_id)) is not None


def add_answer(
    session: Session,
    *,
    order_id: int,
    worker_id: int | None,
    link_id: str,
    rating: int,
    comment: str,
    at: datetime,
) -> int | None:
    """Store the order's one answer and return its id; None when the order already has one (nothing stored)."""
    row = SurveyAnswerRow(
        order_id=order_id, worker_id=worker_id, link_id=link_id, rating=rating, comment=comment, answered_at=at
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row.id


def ratings_between(session: Session, start: datetime, end: datetime) -> list[Rating]:
    """Every survey answered in [start, end), oldest first, with the worker, team and order type to group by."""
    rows = session.execute(
        select(SurveyAnswerRow, WorkOrderRow.type, WorkerRow.team)
        .join(WorkOrderRow, WorkOrderRow.id == SurveyAnswerRow.order_id)
        .outerjoin(WorkerRow, WorkerRow.id == SurveyAnswerRow.worker_id)
        .where(SurveyAnswerRow.answered_at >= start, SurveyAnswerRow.answered_at < end)
        .order_by(SurveyAnswerRow.answered_at, SurveyAnswerRow.id)
    ).all()
    return [
        Rating(
            order_id=answer.order_id,
            worker_id=answer.worker_id,
            team=team or "",
            order_type=order_type,
            rating=answer.rating,
            comment=answer.comment,
            answered_at=answer.answered_at,
        )
        for answer, order_type, team in rows
    ]


def _link(row: CustomerLinkRow) -> CustomerLink:
    return CustomerLink(
        id=row.id, order_id=row.order_id, issued_at=row.issued_at, expires_at=row.expires_at, revoked_at=row.revoked_at
    )
