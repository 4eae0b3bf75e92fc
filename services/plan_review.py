"""Review glue for the plan page and API: a plan compared with the day's published plan.

Plain functions over the job service's plans (typed `Plan`s); the comparison itself is `routing.compare`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from routing.compare import compare
from routing.day import diff_json
from services.plan_jobs import PlanJobs


def compare_with_published(jobs: PlanJobs, status: Mapping[str, Any]) -> dict[str, Any] | None:
    """What publishing the plan `status` (as `PlanJobs.status` gives it) would change against its day's
    published plan; None when there is none, or it is that plan.

    The result is `routing.day.diff_json` plus `published_id`.
    """
    if not status.get("plan"):
        return None
    day = date.fromisoformat(status["day"])
    published_id = jobs.published_id(day)
    if published_id is None or published_id == int(status["id"]):
        return None
    base = jobs.status(published_id)
    if base is None or not base.get("plan"):
        return None
    names = {int(r["worker_id"]): str(r.get("name", r["worker_id"])) for p in (status["plan"], base["plan"])
             for r in p.get("routes", [])}  # fmt: skip
    plan, published = jobs.plan_of(int(status["id"])), jobs.plan_of(published_id)
    if plan is None or published is None:
        return None
    diff = compare(plan, published)
    return {**diff_json(diff, day, names, jobs.zone), "published_id": published_id}
