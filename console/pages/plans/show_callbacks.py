"""The callback that shows the picked plan: its state, KPIs, map, timeline, rules, comparison and move choices.

Only the plan's id lives in the browser (the picker's value); the typed plan is read again on the server.
"""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, html, no_update

from console.i18n import _
from console.pages import inputs
from console.pages.plans.common import (
    BADGE,
    COMPARE,
    GANTT,
    KPIS,
    MAP,
    MOVE_ORDER,
    MOVE_WORKER,
    PICK,
    PICKER,
    PUBLISH,
    REPLAN,
    ROADS_NOTE,
    ROUTES,
    UNPLANNED,
    VERSION,
    VIOLATIONS,
)
from console.pages.plans.gantt import empty_gantt, gantt_figure
from console.pages.plans.map_view import roads_note, route_bounds, route_layers, route_paths
from console.pages.plans.panels import compare_panel, move_choices, unplanned_list, violations_list
from console.pages.plans.summary import badge, kpi_tiles, plan_kpis, progress_text
from console.pages.plans.wiring import PlanPage, pick_request


def register(dash_app: Dash, page: PlanPage) -> None:
    @dash_app.callback(
        Output(BADGE, "children"),
        Output(BADGE, "className"),
        Output(PUBLISH, "disabled"),
        Output(REPLAN, "disabled"),
        Output(KPIS, "children"),
        Output(ROUTES, "children"),
        Output(MAP, "viewport"),
        Output(GANTT, "figure"),
        Output(UNPLANNED, "children"),
        Output(VIOLATIONS, "children"),
        Output(COMPARE, "children"),
        Output(MOVE_ORDER, "options"),
        Output(MOVE_WORKER, "options"),
        Output(PICK, "data", allow_duplicate=True),
        Output(ROADS_NOTE, "children"),
        Input(PICKER, "value"),
        Input(VERSION, "data"),
        prevent_initial_call="initial_duplicate",
    )
    def show(picked: Any, _version: Any) -> tuple[Any, ...]:
        """Everything about the picked plan: state, KPIs, map, timeline, rules, comparison, move choices; and a
        request to refresh the picker's labels (its state, published or not), followed if its day is the day shown."""
        empty = ("", "plan-badge", True, True, [], [], no_update, empty_gantt(),
                 html.P(_("No plan picked."), className="plan-empty"), "", "", [], [], no_update, "")  # fmt: skip
        plan_id = inputs.picked_id(picked)
        if plan_id is None or isinstance(page.actor_or_refusal(), str):
            return empty
        status = page.jobs.status(plan_id)
        if status is None:
            return empty
        text, css = badge(status)
        asked = pick_request(status.day)
        view = status.view
        if view is None:
            waiting = empty_gantt(_("The timeline shows once the plan is ready."))
            return (text, css, True, True, [], [], no_update, waiting,
                    progress_text(status.state, status.progress, status.error), "", "", [], [], asked, "")  # fmt: skip
        violations = status.violations
        places = page.locate(view.order_ids)
        bounds = route_bounds(view, places)
        paths = route_paths(view, places, page.path_of) if page.path_of is not None else {}
        comparison = page.compare(status) if not status.published else None
        move_orders, move_workers = move_choices(view, places)
        return (
            text, css, not status.finished or status.published, not status.published,
            kpi_tiles(plan_kpis(view, violations)), route_layers(view, places, violations, paths),
            {"bounds": bounds} if bounds else no_update, gantt_figure(view, violations),
            unplanned_list(view, places), violations_list(violations),
            compare_panel(comparison, is_published=status.published),
            move_orders, move_workers, asked, roads_note(paths),
        )  # fmt: skip
