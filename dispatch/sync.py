"""Offline actions: a worker's phone queues status changes while out of signal and replays them later.

Each queued action carries an id its client generated (`client_action_id`), so a replay sent twice
(a lost answer, a retried upload, two tabs) is applied once. Each keeps the time it happened on the
phone (`occurred_at`); the server applies queued actions in that order and records that time, not
the time it heard of them, so an order's history reads as the day went.

The functions here are pure: which ids the server has already seen is the caller's (stored) set.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from dispatch.access import Actor
from dispatch.geo import LatLon
from dispatch.lifecycle import Refused, StatusChange, transition
from dispatch.orders import OrderStatus, WorkOrder


@dataclass(frozen=True, slots=True)
class QueuedAction:
    """One action a worker took, possibly offline: move `order_id` to `to` at `occurred_at`.

    `location` and `accuracy_m` are the phone's fix at that moment, when it had one (a check-in's
    evidence), `fix_time` when that fix was taken (None: not reported) and `mock` whether the device
    marked it a mock location; `reason` is required by the lifecycle for a decline or a failure.
    """

    client_action_id: str
    order_id: int
    to: OrderStatus
    occurred_at: datetime
    location: LatLon | None = None
    accuracy_m: float | None = None
    reason: str = ""
    fix_time: datetime | None = None
    mock: bool = False

    def __post_init__(self) -> None:
        if not self.client_action_id.strip():
            raise ValueError("client_action_id must not be empty")
        if len(self.client_action_id) > 100:
            raise ValueError("client_action_id must be at most 100 characters")
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at must be timezone-aware")
        if self.accuracy_m is not None and self.accuracy_m < 0:
            raise ValueError("accuracy_m must be >= 0")
        if self.fix_time is not None and self.fix_time.tzinfo is None:
            raise ValueError("fix_time must be timezone-aware")


class SyncBatch(NamedTuple):
    """What to apply (`new`, oldest first) and what was already applied or repeated (`duplicates`)."""

    new: tuple[QueuedAction, ...]
    duplicates: tuple[QueuedAction, ...]


def apply_actions(known_ids: Set[str], actions: Iterable[QueuedAction]) -> SyncBatch:
    """Split an uploaded queue into actions not seen before and duplicates, by `client_action_id`.

    An id in `known_ids` (applied by an earlier upload) or repeated within this upload (the first
    one wins) is a duplicate. The new actions come back ordered by `occurred_at`, ties in upload
    order; nothing about them is changed, so their original times are what gets recorded.
    """
    seen: set[str] = set()
    new: list[QueuedAction] = []
    duplicates: list[QueuedAction] = []
    for action in actions:
        if action.client_action_id in known_ids or action.client_action_id in seen:
            duplicates.append(action)
        else:
            seen.add(action.client_action_id)
            new.append(action)
    new.sort(key=lambda a: a.occurred_at)  # stable: equal times keep the order the phone queued them in
    return SyncBatch(tuple(new), tuple(duplicates))


@dataclass(frozen=True, slots=True)
class Replayed:
    """An order after replaying queued actions: the changes to record, and the actions refused (with why)."""

    order: WorkOrder
    changes: tuple[tuple[str, StatusChange], ...]
    refused: tuple[tuple[QueuedAction, str], ...]


def replay(order: WorkOrder, actions: Sequence[QueuedAction], *, actor: Actor | None) -> Replayed:
    """Apply new queued actions for `order` through the lifecycle, in the order given (see `apply_actions`).

    Each change is paired with its `client_action_id` so the caller stores the id with it (and so
    never applies it again). An action the lifecycle refuses (e.g. the dispatcher cancelled the
    order while the phone was offline) is skipped with the reason, and the rest still apply.
    Actions for other orders are refused as such.
    """
    changes: list[tuple[str, StatusChange]] = []
    refused: list[tuple[QueuedAction, str]] = []
    for action in actions:
        if action.order_id != order.id:
            refused.append((action, f"action is for order {action.order_id}, not order {order.id}"))
            continue
        result = transition(
            order,
            action.to,
            actor=actor,
            at=action.occurred_at,
            location=action.location,
            reason=action.reason,
        )
        if isinstance(result, Refused):
            refused.append((action, result.reason))
            continue
        order = result.order
        changes.append((action.client_action_id, result.change))
    return Replayed(order, tuple(changes), tuple(refused))
