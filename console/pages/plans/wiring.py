"""What the plans page's callbacks are given by the composition root, and the two steps they share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from dash import no_update

from console import i18n
from console.auth import ApiError, Auth
from console.i18n import _
from console.pages.plans.common import LocatePlaces
from console.pages.plans.map_view import PathOf
from console.pages.plans.summary import default_plan, plan_options
from dispatch.access import Action, Actor
from services.plan_jobs import PlanJobs
from services.plan_views import PlanComparison, PlanStatus

CompareWithPublished = Callable[[PlanStatus], PlanComparison | None]
"""The review of one plan against the day's published plan (`services.plan_review.compare_with_published`)."""
ApplyPlan = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class PlanPage:
    jobs: PlanJobs
    auth: Auth
    locate: LocatePlaces
    compare: CompareWithPublished
    apply_plan: ApplyPlan
    path_of: PathOf | None = None

    def actor_or_refusal(self) -> Actor | str:
        """The calling manager, or the refusal to show in their language."""
        try:
            return self.auth.require(Action.PLAN_ROUTES)
        except ApiError as exc:
            return _("Refused: {reason}").format(reason=i18n.reason(exc.reason))

    def picker_for(self, day: date, select: int | None = None) -> tuple[list[dict[str, Any]], int | None]:
        """The picker's plans of `day`, with `select` (else the day's published or newest plan) picked.

        Callbacks that learn of a plan (a job's end, a move, the shown plan) fill the picker only when
        `shows_day(date_field, day)`: the picker lists the plans of the day in the date field, never another's."""
        summaries = self.jobs.recent(day)
        return plan_options(summaries), select if select is not None else default_plan(summaries)

    def picker_if_shown(self, date_field: Any, day: date, select: int | None = None) -> tuple[Any, Any]:
        """`picker_for(day, select)` when the date field shows `day`, else the picker as it is (no update)."""
        return self.picker_for(day, select) if shows_day(date_field, day) else (no_update, no_update)


def day_of(date_field: Any) -> date | None:
    """The day the date field holds ('2025-03-04', or with a time after it as a picker may send); None if none."""
    try:
        return date.fromisoformat(str(date_field)[:10])
    except ValueError:
        return None


def shows_day(date_field: Any, day: date) -> bool:
    """Whether the page shows `day` (its date field holds it), so that a plan of `day` may fill the picker.

    The date field says which day the manager looks at; a plan of another day (a job started before the date was
    changed, ending now) must not replace the picker's list, or the page would show one day's plans under another."""
    return day_of(date_field) == day


def budget(seconds: Any) -> float:
    """The seconds typed for an optimisation; what is not a number is refused by the job service with the reason."""
    try:
        return float(seconds or 0)
    except ValueError:
        return -1.0
