"""Work orders and their lifecycle: the one table of allowed status transitions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class OrderType(StrEnum):
    VISIT = "visit"
    REPAIR = "repair"
    INSPECTION = "inspection"
    DELIVERY = "delivery"
    EMERGENCY = "emergency"


class OrderStatus(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    DONE = "done"
    DECLINED = "declined"
    FAILED = "failed"
    CANCELLED = "cancelled"


S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.NEW: frozenset({S.ASSIGNED, S.CANCELLED}),
    S.ASSIGNED: frozenset({S.ACCEPTED, S.DECLINED, S.ASSIGNED, S.CANCELLED}),
    S.ACCEPTED: frozenset({S.EN_ROUTE, S.ASSIGNED, S.CANCELLED, S.DECLINED}),
    S.EN_ROUTE: frozenset({S.ON_SITE, S.ASSIGNED, S.CANCELLED, S.FAILED}),
    S.ON_SITE: frozenset({S.DONE, S.FAILED}),
    S.DECLINED: frozenset({S.ASSIGNED, S.CANCELLED}),
    S.FAILED: frozenset({S.ASSIGNED, S.CANCELLED}),
    S.DONE: frozenset(),
    S.CANCELLED: frozenset(),
}
"""Allowed moves. ASSIGNED → ASSIGNED is a reassignment to another worker."""

FINAL_STATUSES: frozenset[OrderStatus] = frozenset(s for s, onward in TRANSITIONS.items() if not onward)
"""Statuses an order never leaves (DONE, CANCELLED)."""

OFFICE_STATUSES: frozenset[OrderStatus] = frozenset({S.ASSIGNED, S.CANCELLED})
"""Statuses only the office (or the auto-dispatcher, for ASSIGNED) sets; the assigned worker reports the rest."""


def can_transition(current: OrderStatus, to: OrderStatus) -> bool:
    """Whether an order in `current` may move to `to`."""
    return to in TRANSITIONS[current]


@dataclass(frozen=True, slots=True)
class TimeWindow:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("time window bounds must be timezone-aware")
        if self.end < self.start:
            raise ValueError("time window end is before its start")


@dataclass(frozen=True, slots=True)
class WorkOrder:
    """A job at a customer site."""

    id: int
    site_id: int
    type: OrderType
    priority: int
    required_skills: frozenset[str]
    window: TimeWindow
    service_duration_s: int
    status: OrderStatus = OrderStatus.NEW
    assigned_worker_id: int | None = None
    notes: str = ""
    reference: str = ""

    def __post_init__(self) -> None:
        if self.service_duration_s < 0:
            raise ValueError("service_duration_s must be >= 0")
        if not 1 <= self.priority <= 5:
            raise ValueError("priority must be within 1..5 (1 = most urgent)")

    def can_transition(self, to: OrderStatus) -> bool:
        """Whether this order may move to `to` (the table only; `dispatch.lifecycle` adds who and why)."""
        return can_transition(self.status, to)
