"""Review glue for the plan page and API: a plan compared with the day's published plan.

Plain functions over the job service's plans (typed `Plan`s); the comparison itself is `routing.compare`.
"""

from __future__ import annotations

from routing.compare import compare
from services.plan_jobs import PlanJobs
from services.plan_views import PlanComparison, PlanStatus


def compare_with_published(jobs: PlanJobs, status: PlanStatus) -> PlanComparison | None:
    """What publishing the plan `status` (as `PlanJobs.status` gives it) would change against its day's
    published plan; None when there is none, or it is that plan.
    """
    if status.view is None:
        return None
    published_id = jobs.published_id(status.day)
    if published_id is None or published_id == status.id:
        return None
    base = jobs.status(published_id)
    if base is None or base.view is None:
        return None
    names = {w: f.name for view in (status.view, base.view) for w, f in view.frames.items()}
    plan, published = jobs.plan_of(status.id), jobs.plan_of(published_id)
    if plan is None or published is None:
        return None
    return PlanComparison(
        published_id=published_id,
        diff=compare(plan, published, facts=jobs.under_way(plan)),
        day=status.day,
        zone=jobs.zone,
        names=names,
    )
