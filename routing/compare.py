"""Compare a draft plan with the day's published one: what moves, what is re-timed, who gains or loses visits.

The comparison is `routing.plan.diff_plans` (the diff `routing.solve.replan` reports as its changes)
grouped for a manager, so a draft compared here and the same plan announced by a re-plan tell the
same story. Times are seconds from midnight, as in the plans.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass

from routing.plan import Change, ChangeKind, Plan, UnplannedReason, diff_plans


@dataclass(frozen=True, slots=True)
class MovedVisit:
    """A visit the draft gives to another worker than the published plan does."""

    visit_id: str
    from_worker_id: str
    to_worker_id: str
    previous_start_s: int
    start_s: int


@dataclass(frozen=True, slots=True)
class RetimedVisit:
    """A visit the same worker keeps, starting at least the threshold earlier or later."""

    visit_id: str
    worker_id: str
    previous_start_s: int
    start_s: int

    @property
    def shift_s(self) -> int:
        """How far the start moves: positive later, negative earlier."""
        return self.start_s - self.previous_start_s


@dataclass(frozen=True, slots=True)
class AddedVisit:
    """A visit planned in the draft that the published plan does not plan.

    `previous_reason` is why the published plan left it out; None when the visit is new to the day.
    """

    visit_id: str
    worker_id: str
    start_s: int
    previous_reason: UnplannedReason | None = None


@dataclass(frozen=True, slots=True)
class DroppedVisit:
    """A visit the published plan has on a route and the draft does not plan.

    `reason` is why the draft leaves it out; None when the draft does not know the visit at all
    (e.g. the order was cancelled).
    """

    visit_id: str
    worker_id: str
    previous_start_s: int
    reason: UnplannedReason | None = None


@dataclass(frozen=True, slots=True)
class WorkerDiff:
    """The visits one worker gains and loses, moved ones included (re-timed ones are not counted)."""

    worker_id: str
    gained: tuple[str, ...] = ()
    lost: tuple[str, ...] = ()

    @property
    def delta(self) -> int:
        """How many more visits the worker has in the draft (negative: fewer)."""
        return len(self.gained) - len(self.lost)


@dataclass(frozen=True, slots=True)
class PlanDiff:
    """Everything that differs between a draft and the published plan; all empty when they agree.

    `workers` lists, ordered by worker id, only the workers who gain or lose a visit.
    """

    moved: tuple[MovedVisit, ...] = ()
    retimed: tuple[RetimedVisit, ...] = ()
    added: tuple[AddedVisit, ...] = ()
    dropped: tuple[DroppedVisit, ...] = ()
    workers: tuple[WorkerDiff, ...] = ()

    @property
    def is_empty(self) -> bool:
        """Whether publishing the draft would change nothing any worker is told about."""
        return not (self.moved or self.retimed or self.added or self.dropped)


def compare(draft: Plan, published: Plan, *, retime_threshold_s: int = 900, facts: Collection[str] = ()) -> PlanDiff:
    """What publishing `draft` would change against `published`, visit by visit and worker by worker.

    A visit kept by its worker counts as re-timed when its start moves by at least
    `retime_threshold_s` (default 15 minutes); smaller shifts are not reported, nor are those of `facts`, the
    visits under way (`diff_plans`). Raises ValueError when `retime_threshold_s` is negative.
    """
    moved: list[MovedVisit] = []
    retimed: list[RetimedVisit] = []
    added: list[AddedVisit] = []
    dropped: list[DroppedVisit] = []
    gained: defaultdict[str, list[str]] = defaultdict(list)
    lost: defaultdict[str, list[str]] = defaultdict(list)
    for c in diff_plans(published, draft, retime_threshold_s=retime_threshold_s, facts=facts):
        if c.kind is ChangeKind.MOVED:
            source = _known(c.from_worker_id, c)
            moved.append(
                MovedVisit(c.visit_id, source, c.worker_id, _known(c.previous_start_s, c), _known(c.start_s, c))
            )
            gained[c.worker_id].append(c.visit_id)
            lost[source].append(c.visit_id)
        elif c.kind is ChangeKind.RETIMED:
            retimed.append(RetimedVisit(c.visit_id, c.worker_id, _known(c.previous_start_s, c), _known(c.start_s, c)))
        elif c.kind is ChangeKind.ADDED:
            added.append(AddedVisit(c.visit_id, c.worker_id, _known(c.start_s, c), published.reason_for(c.visit_id)))
            gained[c.worker_id].append(c.visit_id)
        else:
            previous_start_s = _known(c.previous_start_s, c)
            dropped.append(DroppedVisit(c.visit_id, c.worker_id, previous_start_s, draft.reason_for(c.visit_id)))
            lost[c.worker_id].append(c.visit_id)
    workers = tuple(
        WorkerDiff(w, tuple(sorted(gained[w])), tuple(sorted(lost[w]))) for w in sorted(gained.keys() | lost.keys())
    )
    return PlanDiff(tuple(moved), tuple(retimed), tuple(added), tuple(dropped), workers)


def _known[T](value: T | None, change: Change) -> T:
    """A field `diff_plans` always sets for this kind of change."""
    if value is None:
        raise AssertionError(f"{change.kind.value} change of visit {change.visit_id!r} lacks a field")
    return value
