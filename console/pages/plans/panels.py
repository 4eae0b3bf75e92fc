"""The side panels: the rules the plan breaks, the comparison with the published plan, the unplanned orders,
and the choices for moving a visit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dash import html

from console import i18n
from console.i18n import _
from console.pages.plans.common import Places, local
from routing.day import diff_summary
from services.plan_views import PlanComparison, PlanView, PlanViolation


def unplanned_list(view: PlanView, places: Places) -> Any:
    rows = view.plan.unplanned
    if not rows:
        return html.P(_("Every order is planned."), className="plan-empty")
    return html.Ul(
        [
            html.Li(
                [
                    html.Span(_("Order {id}").format(id=int(u.visit_id)), className="unplanned-order"),
                    html.Span(
                        places[int(u.visit_id)][2] if int(u.visit_id) in places else "", className="unplanned-site"
                    ),
                    html.Span(i18n.reason(u.reason.value), className="unplanned-reason"),
                ],
                className="unplanned-row",
            )  # fmt: skip
            for u in rows
        ]
    )


def violations_list(violations: Sequence[PlanViolation]) -> Any:
    """The rules a manually edited draft breaks, each in words; empty when it keeps them all."""
    if not violations:
        return html.P(_("This plan keeps every rule."), className="plan-empty plan-ok")
    return html.Ul(
        [
            html.Li(
                [html.Span(v.kind, className="violation-kind"), html.Span(v.message, className="violation-message")],
                className=f"plan-violation violation-{v.kind.replace(' ', '-')}",
            )
            for v in violations
        ],
        className="plan-violations-list",
    )


def compare_panel(comparison: PlanComparison | None, *, is_published: bool) -> Any:
    """What changes if this draft is published instead of the day's published plan: moves and who gains/loses."""
    if is_published:
        return html.P(_("This is the day's published plan."), className="plan-empty")
    if comparison is None:
        return html.P(
            _("Nothing is published for this day yet: publishing assigns every planned visit."), className="plan-empty"
        )
    c, diff = comparison, comparison.diff
    summary = i18n.reason(diff_summary(diff))
    rows: list[Any] = [html.P(_("Against published plan {id}: {summary}").format(id=c.published_id, summary=summary),
                              className="compare-summary")]  # fmt: skip
    for m in diff.moved:
        rows.append(
            html.Li(
                _("Order {id}").format(id=int(m.visit_id))
                + f": {c.name(m.from_worker_id)} → {c.name(m.to_worker_id)}"
                + _times(c, m.previous_start_s, m.start_s),
                className="compare-moved",
            )
        )
    for t in diff.retimed:
        rows.append(
            html.Li(
                _("Order {id} re-timed").format(id=int(t.visit_id)) + _times(c, t.previous_start_s, t.start_s),
                className="compare-retimed",
            )
        )
    for a in diff.added:
        rows.append(html.Li(_("Order {id} newly planned").format(id=int(a.visit_id)), className="compare-added"))
    for d in diff.dropped:
        reason = f" ({i18n.reason(d.reason.value)})" if d.reason else ""
        rows.append(html.Li(_("Order {id} dropped").format(id=int(d.visit_id)) + reason, className="compare-dropped"))
    for w in diff.workers:
        if not w.gained and not w.lost:
            continue
        rows.append(
            html.Li(
                f"{c.name(w.worker_id)}: "
                + (_("{delta} visit") if abs(w.delta) == 1 else _("{delta} visits")).format(delta=f"{w.delta:+d}")
                + _(" (gains {gained}; loses {lost})").format(gained=_ids(w.gained), lost=_ids(w.lost)),
                className="compare-worker",
            )
        )
    return html.Ul(rows, className="compare-list")


def _ids(values: Sequence[str]) -> str:
    return ", ".join(str(int(v)) for v in values) if values else _("none")


def _times(c: PlanComparison, before_s: int, after_s: int) -> str:
    return f", {local(c.at(before_s)):%H:%M} → {local(c.at(after_s)):%H:%M}"


def move_choices(view: PlanView, places: Places) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Options for "move a visit": every order of the plan (with whom it is now) and every worker of the plan."""
    orders: list[dict[str, Any]] = []
    workers: list[dict[str, Any]] = []
    for route in view.plan.routes:
        name = view.name(route.worker_id)
        workers.append({"label": name, "value": int(route.worker_id)})
        for stop in route.stops:
            order_id = int(stop.visit_id)
            site = places[order_id][2] if order_id in places else ""
            orders.append({"label": _("Order {id}").format(id=order_id) + f" · {site} · {name} {local(view.at(stop.start_s)):%H:%M}",
                           "value": order_id})  # fmt: skip
    for u in view.plan.unplanned:
        order_id = int(u.visit_id)
        orders.append({"label": _("Order {id}").format(id=order_id) + " · " + _("unplanned"), "value": order_id})
    return orders, workers
