"""Route plans: a row per optimisation, its job state and result kept in `payload` (JSON)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from data.tables import RoutePlanRow


@dataclass(frozen=True, slots=True)
class StoredPlan:
    id: int
    day: date
    status: str
    created_at: datetime
    payload: Mapping[str, Any]


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
