"""Review glue for the plan page and API: a plan compared with the day's published plan.

Plain functions over the job service's JSON; the comparison itself is `routing.compare`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from console.plan_jobs import PlanJobs
from routing.compare import compare
from routing.day import diff_json, plan_from_json


def compare_with_published(jobs: PlanJobs, plan_id: int) -> dict[str, Any] | None:
    """What publishing `plan_id` would change against its day's published plan; None when there is none.

    The result is `routing.day.diff_json` plus `published_id`.
    """
    status = jobs.status(plan_id)
    if status is None or not status.get("plan"):
        return None
    day = date.fromisoformat(status["day"])
    published = next((s for s in jobs.recent(day, limit=500) if s.get("published")), None)
    if published is None or int(published["id"]) == plan_id:
        return None
    base = jobs.status(int(published["id"]))
    if base is None or not base.get("plan"):
        return None
    names = {int(r["worker_id"]): str(r.get("name", r["worker_id"])) for p in (status["plan"], base["plan"])
             for r in p.get("routes", [])}  # fmt: skip
    diff = compare(plan_from_json(status["plan"], day), plan_from_json(base["plan"], day))
    return {**diff_json(diff, day, names), "published_id": int(published["id"])}
