"""Route plans: a row per optimisation, its job state and result kept in `payload` (JSON)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from data.tables import RoutePlanRow, RouteStopRow
from routing.day import plan_from_json
from routing.plan import Plan


@dataclass(frozen=True, slots=True)
class StoredPlan:
    id: int
    day: date
    status: str
    created_at: datetime
    payload: Mapping[str, Any]

    @property
    def plan(self) -> Plan | None:
        """The stored result as a typed `Plan` (read from its document, whatever its schema version); None while
        there is none yet."""
        document = self.payload.get("plan")
        return plan_from_json(document, self.day) if document else None

    def plan_in(self, tz: tzinfo) -> Plan | None:
        """`plan` with its seconds counted from the local midnight of `tz` (the zone the caller's problem uses)."""
        document = self.payload.get("plan")
        return plan_from_json(document, self.day, tz) if document else None


def create_plan(session: Session, *, day: date, created_at: datetime, payload: Mapping[str, Any]) -> int:
    row = RoutePlanRow(plan_date=day, status="draft", created_at=created_at, payload=dict(payload))
    session.add(row)
    session.flush()
    return row.id


def update_plan(
    session: Session,
    *,
    plan_id: int,
    payload: Mapping[str, Any],
    objective: float | None = None,
    cost: float | None = None,
) -> None:
    row = session.get(RoutePlanRow, plan_id)
    if row is None:
        raise ValueError(f"plan_id: no plan with id {plan_id}")
    row.payload = dict(payload)
    if objective is not None:
        row.objective = objective
    if cost is not None:
        row.cost = cost
    session.flush()


def get_plan(session: Session, plan_id: int) -> StoredPlan | None:
    row = session.get(RoutePlanRow, plan_id)
    if row is None:
        return None
    return StoredPlan(row.id, row.plan_date, row.status, row.created_at, dict(row.payload or {}))


def list_plans(session: Session, *, day: date | None = None, limit: int = 20) -> list[StoredPlan]:
    """The newest `limit` plans (of `day` when given), newest first."""
    query = select(RoutePlanRow).order_by(RoutePlanRow.created_at.desc(), RoutePlanRow.id.desc()).limit(limit)
    if day is not None:
        query = query.where(RoutePlanRow.plan_date == day)
    return [
        StoredPlan(r.id, r.plan_date, r.status, r.created_at, dict(r.payload or {})) for r in session.scalars(query)
    ]


def publish_plan(
    session: Session, *, plan_id: int, stops: list[tuple[int, int, int, datetime, datetime, datetime]]
) -> None:
    """Mark the plan published (the day's earlier published plan goes back to draft) and store its stops.

    `stops` are (worker_id, order_id, seq, arrival, service_start, service_end).
    """
    row = session.get(RoutePlanRow, plan_id)
    if row is None:
        raise ValueError(f"plan_id: no plan with id {plan_id}")
    for other in session.scalars(
        select(RoutePlanRow).where(RoutePlanRow.plan_date == row.plan_date, RoutePlanRow.status == "published")
    ):
        other.status = "draft"
    row.status = "published"
    session.execute(delete(RouteStopRow).where(RouteStopRow.plan_id == plan_id))
    for worker_id, order_id, seq, arrival, start, end in stops:
        session.add(RouteStopRow(plan_id=plan_id, worker_id=worker_id, order_id=order_id, seq=seq, arrival=arrival,
                                 service_start=start, service_end=end))  # fmt: skip
    session.flush()


def published_stops(session: Session, *, day: date) -> dict[tuple[int, int], tuple[datetime, datetime, datetime]]:
    """(worker_id, order_id) → (arrival, service_start, service_end) of `day`'s published plan (empty when none)."""
    plan_id = published_plan_id(session, day=day)
    if plan_id is None:
        return {}
    rows = session.scalars(select(RouteStopRow).where(RouteStopRow.plan_id == plan_id))
    return {
        (r.worker_id, r.order_id): (r.arrival, r.service_start, r.service_end)
        for r in rows
        if r.arrival is not None and r.service_start is not None and r.service_end is not None
    }


def published_plan_id(session: Session, *, day: date) -> int | None:
    """The id of `day`'s published plan, or None when nothing is published for it."""
    return session.scalar(
        select(RoutePlanRow.id).where(RoutePlanRow.plan_date == day, RoutePlanRow.status == "published")
    )


def published_sequence(session: Session, *, day: date, worker_id: int) -> dict[int, int]:
    """Order id → position in the worker's route of the day's published plan (empty when none)."""
    plan_id = published_plan_id(session, day=day)
    if plan_id is None:
        return {}
    rows = session.scalars(
        select(RouteStopRow).where(RouteStopRow.plan_id == plan_id, RouteStopRow.worker_id == worker_id)
    )
    return {r.order_id: r.seq for r in rows}
