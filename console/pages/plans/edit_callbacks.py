"""Callbacks that change plans: move a visit to another worker (a new draft) and publish the picked plan."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, State, no_update
from dash.exceptions import PreventUpdate

from console import i18n
from console.i18n import _
from console.pages import inputs
from console.pages.plans.common import MESSAGE, MOVE, MOVE_ORDER, MOVE_WORKER, PICK, PICKER, PUBLISH, VERSION
from console.pages.plans.summary import publish_message
from console.pages.plans.wiring import PlanPage, pick_request
from services.plan_jobs import PlanInputError, PlanRefused


def register(dash_app: Dash, page: PlanPage) -> None:
    jobs = page.jobs

    @dash_app.callback(
        Output(PICK, "data", allow_duplicate=True),
        Output(MESSAGE, "children", allow_duplicate=True),
        Input(MOVE, "n_clicks"),
        State(PICKER, "value"),
        State(MOVE_ORDER, "value"),
        State(MOVE_WORKER, "value"),
        prevent_initial_call=True,
    )
    def move(n_clicks: Any, picked: Any, order: Any, worker: Any) -> tuple[Any, ...]:
        plan_id, order_id, worker_id = inputs.picked_id(picked), inputs.picked_id(order), inputs.picked_id(worker)
        if not inputs.count(n_clicks) or plan_id is None:
            raise PreventUpdate
        if order_id is None or worker_id is None:
            return no_update, _("Pick an order and the worker to move it to.")
        actor = page.actor_or_refusal()
        if isinstance(actor, str):
            return no_update, actor
        try:
            moved = jobs.move(actor=actor, plan_id=plan_id, order_id=order_id, worker_id=worker_id)
        except (PlanInputError, LookupError, ValueError) as exc:
            return no_update, i18n.reason(str(exc))
        status = jobs.status(moved.id)
        asked = pick_request(status.day, select=moved.id) if status is not None else no_update
        broken = len(moved.violations)
        verdict = (
            (_("Draft {id}: order {order_id} moved; the plan breaks {n} rule.") if broken == 1
             else _("Draft {id}: order {order_id} moved; the plan breaks {n} rules."))
            if broken else _("Draft {id}: order {order_id} moved; the plan keeps every rule.")
        )  # fmt: skip
        return asked, verdict.format(id=moved.id, order_id=order_id, n=broken)

    @dash_app.callback(
        Output(VERSION, "data"),
        Output(MESSAGE, "children", allow_duplicate=True),
        Input(PUBLISH, "n_clicks"),
        State(PICKER, "value"),
        State(VERSION, "data"),
        prevent_initial_call=True,
    )
    def publish(n_clicks: Any, picked: Any, version: Any) -> tuple[Any, ...]:
        plan_id = inputs.picked_id(picked)
        if not inputs.count(n_clicks) or plan_id is None:
            raise PreventUpdate
        actor = page.actor_or_refusal()
        if isinstance(actor, str):
            return no_update, actor
        try:
            result = jobs.publish(
                actor=actor, plan_id=plan_id, apply=lambda pairs: page.apply_plan(actor=actor, assignments=pairs)
            )
        except (PlanInputError, PlanRefused, LookupError, ValueError) as exc:
            return no_update, i18n.reason(str(exc))
        status = jobs.status(plan_id)
        planned = status.planned_count if status is not None else 0
        return inputs.count(version) + 1, publish_message(plan_id, result, planned=planned)
