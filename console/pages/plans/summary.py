"""The plan's headline: its KPIs, the job's progress line and state badge, the plan picker, publish's message."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from dash import html

from console import i18n
from console.i18n import N_, _
from console.pages.plans.common import local, state_word, violated_orders
from dispatch import localtime
from services.plan_views import JobProgress, PlanStatus, PlanSummary, PlanView, PlanViolation

KPI_LABELS = {
    "planned": N_("Visits planned"),
    "unplanned": N_("Unplanned"),
    "travel": N_("Total travel"),
    "utilisation": N_("Utilisation"),
    "on_time": N_("On time"),
}


def default_day(now: datetime, open_order_days: Iterable[date], tz: tzinfo = UTC) -> date:
    """The day the page opens on: the first local day (in `tz`, the office's) from today with open orders to
    plan, else tomorrow."""
    today = localtime.local_day(now, tz)
    ahead = sorted(d for d in open_order_days if d >= today)
    return ahead[0] if ahead else today + timedelta(days=1)


def plan_kpis(view: PlanView, violations: Sequence[PlanViolation] = ()) -> dict[str, str]:
    """Visits planned, unplanned, total travel (h), utilisation and on-time share, formatted for display.

    Utilisation is service plus travel over the workers' shifts (the route's span when the plan
    carries no shift times); a stop whose window a manual edit breaks counts as late.
    """
    routes = view.plan.routes
    stops = [s for r in routes for s in r.stops]
    service_s = sum(max(0, s.end_s - s.start_s) for s in stops)
    travel_s = sum(r.travel_s for r in routes)
    span_s = 0
    for r in routes:
        if r.stops:
            frame = view.frame(r.worker_id)
            start_s = r.start_s if frame.shift_start_s is None else frame.shift_start_s
            end_s = r.end_s if frame.shift_end_s is None else frame.shift_end_s
            span_s += max(0, end_s - start_s)
    late = {order_id for order_id, kinds in violated_orders(violations).items() if "window" in kinds}
    on_time = sum(1 for s in stops if int(s.visit_id) not in late)
    return {
        "planned": str(view.plan.planned_count),
        "unplanned": str(len(view.plan.unplanned)),
        "travel": f"{travel_s / 3600:.1f} h",
        "utilisation": f"{(service_s + travel_s) / span_s:.0%}" if span_s > 0 else "–",
        "on_time": f"{on_time / len(stops):.0%}" if stops else "–",
    }


def kpi_tiles(kpis: Mapping[str, str]) -> list[html.Div]:
    return [
        html.Div(
            [html.Span(kpis[key], className="kpi-value"), html.Span(_(label), className="kpi-label")],
            className=f"kpi kpi-{key}",
        )
        for key, label in KPI_LABELS.items()
    ]


def progress_text(state: str | None, progress: JobProgress | None = None, error: str | None = None) -> str:
    """One line describing a job: its state, best cost so far and elapsed time."""
    parts = [state_word(state or "queued")]
    if progress is not None and progress.best_cost is not None:
        parts.append(_("best cost {cost}").format(cost=f"{progress.best_cost:,.0f}"))
    if progress is not None and progress.elapsed_s is not None:
        parts.append(_("{seconds} s elapsed").format(seconds=f"{progress.elapsed_s:.1f}"))
    if progress is not None and progress.solutions is not None:
        parts.append(_("{n} solutions").format(n=progress.solutions))
    if error:
        parts.append(i18n.reason(error))
    return " · ".join(parts)


def ready_elsewhere(line: str, plan_id: int, day: date) -> str:
    """The progress line of a job that ended on a day other than the one shown: its state, and where its plan is."""
    ready = _("plan {id} of {day} is ready: pick that day to see it").format(id=plan_id, day=day.isoformat())
    return f"{line} · {ready}"


def badge(status: PlanStatus) -> tuple[str, str]:
    """Text and CSS class of the shown plan's state badge."""
    if status.published:
        return _("Published"), "plan-badge badge-published"
    state = status.state or "queued"
    if state in ("queued", "running"):
        return state_word(state), "plan-badge badge-running"
    if state in ("failed", "interrupted"):
        return state_word(state), "plan-badge badge-failed"
    return _("Draft"), "plan-badge badge-draft"


def plan_options(summaries: Sequence[PlanSummary]) -> list[dict[str, Any]]:
    """The plan picker's entries: id, state, when, what it came from, and which one is published."""
    options = []
    for s in summaries:
        parts = [_("Plan {id}").format(id=s.id)]
        parts.append(_("PUBLISHED") if s.published else state_word(s.state or "queued").lower())
        parts.append(f"{local(s.created_at):%H:%M}")
        if s.planned is not None:
            parts.append(
                _("{planned} planned, {unplanned} unplanned").format(planned=s.planned, unplanned=s.unplanned or 0)
            )
        if s.edited_from:
            parts.append(_("edit of {id}").format(id=s.edited_from))
        if s.replan_of:
            parts.append(_("re-plan of {id}").format(id=s.replan_of))
        options.append({"label": " · ".join(parts), "value": s.id})
    return options


def default_plan(summaries: Sequence[PlanSummary]) -> int | None:
    """The plan to show for a day: the published one, else the newest."""
    published = [s for s in summaries if s.published]
    chosen = published[0] if published else (summaries[0] if summaries else None)
    return chosen.id if chosen else None


def publish_message(plan_id: int, result: Mapping[str, Any], *, planned: int) -> str:
    """What publishing did: assignments sent, visits already with their worker, orders kept (under way)."""
    sent, kept = len(result.get("assigned", [])), len(result.get("kept", []))
    parts = [(_("{n} assignment sent") if sent == 1 else _("{n} assignments sent")).format(n=sent)]
    if planned - sent - kept > 0:
        parts.append(_("{n} already with their worker").format(n=planned - sent - kept))
    if kept:
        parts.append(_("{n} kept as they are (under way or finished)").format(n=kept))
    return _("Plan {id} published: {parts}.").format(id=plan_id, parts=_(", ").join(parts))
