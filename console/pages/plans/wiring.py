"""What the plans page's callbacks are given by the composition root, and the two steps they share."""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


def day_of(date_field: Any) -> date | None:
    """The day the date field holds ('2025-03-04', or with a time after it as a picker may send); None if none."""
    try:
        return date.fromisoformat(str(date_field)[:10])
    except ValueError:
        return None


def shows_day(date_field: Any, day: date) -> bool:
    """Whether the page shows `day`: its date field holds it."""
    return day_of(date_field) == day


def pick_request(day: date, select: int | None = None) -> dict[str, Any]:
    """What a callback that learnt of a plan (a job's end, a move, the shown plan) asks of the picker: list `day`'s
    plans and pick `select` (None: keep the picked plan, the labels refreshed). The picker's one writer decides."""
    return {"day": day.isoformat(), "select": select}


@dataclass(frozen=True)
class PickerChange:
    """What the picker becomes: the plans of `day`, with `select` picked (None: the day's published or newest
    plan), or, when `keep`, the picked plan kept and only the list refreshed."""

    day: date
    select: int | None = None
    keep: bool = False


def picker_change(date_field: Any, listed: Any, request: Mapping[str, Any] | None) -> PickerChange | None:
    """The picker's change, given the date field, the day it lists (`listed`) and the request a callback made just
    now (a `pick_request`; None when none asked); None when it stays as it is.

    The picker lists the plans of the day the date field shows, never another's: a request for another day (a job
    started before the manager changed the date, ending now) is not followed, and whatever set the picker off, a
    list of another day than the date field's is replaced by that day's. The date and the listed day are read as the
    picker's callback is set off, after the asking callback has answered, so a date changed meanwhile wins."""
    shown = day_of(date_field)
    if shown is None:
        return None
    asked = request if isinstance(request, Mapping) and day_of(request.get("day")) == shown else None
    raw = asked.get("select") if asked is not None else None
    select = raw if type(raw) is int else None
    if day_of(listed) != shown:
        return PickerChange(shown, select)
    if asked is None:
        return None
    return PickerChange(shown, select, keep=select is None)


def budget(seconds: Any) -> float:
    """The seconds typed for an optimisation; what is not a number is refused by the job service with the reason
    (as -1 s)."""
    try:
        return float(seconds or 0)
    except (TypeError, ValueError, OverflowError):  # a list or an object from a forged call, a 400-digit number
        return -1.0
