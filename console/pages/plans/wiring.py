"""What the plans page's callbacks are given by the composition root, and the two steps they share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

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
        """The picker's plans of `day`, with `select` (else the day's published or newest plan) picked."""
        summaries = self.jobs.recent(day)
        return plan_options(summaries), select if select is not None else default_plan(summaries)


def budget(seconds: Any) -> float:
    """The seconds typed for an optimisation; what is not a number is refused by the job service with the reason."""
    try:
        return float(seconds or 0)
    except ValueError:
        return -1.0
