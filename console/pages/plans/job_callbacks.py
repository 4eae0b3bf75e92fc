"""Callbacks of the optimisation jobs: start one, re-plan the published day, stop early, follow the pushed
progress; and the picker's one writer, listing the plans of the day the date field shows."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from dash import Dash, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from console import i18n
from console.i18n import _
from console.pages import inputs
from console.pages.plans.common import (
    BALANCE,
    DATE,
    EVENT_PROGRESS,
    FINISHED,
    LISTED,
    MESSAGE,
    MINIMISE,
    PICK,
    PICKER,
    PROGRESS,
    REPLAN,
    RUNNING,
    SECONDS,
    SOCKET,
    START,
    STOP,
)
from console.pages.plans.summary import progress_text, ready_elsewhere
from console.pages.plans.wiring import PlanPage, budget, pick_request, picker_change, shows_day
from services.plan_jobs import PlanInputError
from services.plan_views import job_progress


def register(dash_app: Dash, page: PlanPage) -> None:
    jobs = page.jobs

    @dash_app.callback(
        Output(RUNNING, "data"),
        Output(MESSAGE, "children"),
        Output(STOP, "disabled"),
        Output(PROGRESS, "children"),
        Input(START, "n_clicks"),
        State(DATE, "date"),
        State(SECONDS, "value"),
        State(MINIMISE, "value"),
        State(BALANCE, "value"),
        prevent_initial_call=True,
    )
    def start(
        n_clicks: int | None, day: str | None, seconds: Any, minimise: str | None, balance: list[str] | None
    ) -> tuple[Any, ...]:
        if not n_clicks:
            raise PreventUpdate
        actor = page.actor_or_refusal()
        if isinstance(actor, str):
            return no_update, actor, True, no_update
        try:
            when = date.fromisoformat(str(day)[:10])
        except ValueError:
            return no_update, _("Pick a day."), True, no_update
        try:
            plan_id = jobs.start(actor=actor, day=when, worker_ids=None, order_ids=None, seconds=budget(seconds),
                                 minimise=minimise or "time", balance_workload="balance" in (balance or []))  # fmt: skip
        except (PlanInputError, ValueError) as exc:
            return no_update, i18n.reason(str(exc)), True, no_update
        return plan_id, _("Plan {id} started.").format(id=plan_id), False, _("Queued")

    @dash_app.callback(
        Output(RUNNING, "data", allow_duplicate=True),
        Output(MESSAGE, "children", allow_duplicate=True),
        Output(STOP, "disabled", allow_duplicate=True),
        Output(PROGRESS, "children", allow_duplicate=True),
        Input(REPLAN, "n_clicks"),
        State(PICKER, "value"),
        State(SECONDS, "value"),
        prevent_initial_call=True,
    )
    def replan(n_clicks: Any, picked: Any, seconds: Any) -> tuple[Any, ...]:
        plan_id = inputs.picked_id(picked)
        if not inputs.count(n_clicks) or plan_id is None:
            raise PreventUpdate
        actor = page.actor_or_refusal()
        if isinstance(actor, str):
            return no_update, actor, True, no_update
        try:
            new_id = jobs.replan(actor=actor, plan_id=plan_id, seconds=budget(seconds))
        except (PlanInputError, LookupError, ValueError) as exc:
            return no_update, i18n.reason(str(exc)), True, no_update
        replanning = _("Re-planning the day from plan {id} as plan {new_id}…").format(id=plan_id, new_id=new_id)
        return new_id, replanning, False, _("Queued")

    @dash_app.callback(
        Output(MESSAGE, "children", allow_duplicate=True),
        Input(STOP, "n_clicks"),
        State(RUNNING, "data"),
        prevent_initial_call=True,
    )
    def stop(n_clicks: Any, running: Any) -> str:
        plan_id = inputs.picked_id(running)
        if not inputs.count(n_clicks) or plan_id is None:
            raise PreventUpdate
        actor = page.actor_or_refusal()
        if isinstance(actor, str):
            return actor
        return _("Stopping… keeping the best plan so far.") if jobs.stop(plan_id) else _("The plan is not running.")

    @dash_app.callback(
        Output(PROGRESS, "children", allow_duplicate=True),
        Output(STOP, "disabled", allow_duplicate=True),
        Output(PICK, "data", allow_duplicate=True),
        Input(SOCKET, f"data-{EVENT_PROGRESS}"),
        Input(RUNNING, "data"),
        State(DATE, "date"),
        prevent_initial_call=True,
    )
    def progress(pushed: Any, job: Any, shown_day: Any) -> tuple[Any, ...]:
        """A pushed progress event of the job this page started: show it; when it ends, ask the picker to pick its
        plan, or, when its day is not the day shown, say in the progress line that the plan of its day is ready.

        When the page learns which job is its own (the start's answer), the job's state is read: it may have run, or
        ended, while that answer was on its way, and the pushes heard meanwhile were not known to be this page's."""
        running, event = inputs.picked_id(job), inputs.mapping(pushed)
        if running is None:
            raise PreventUpdate
        status = None
        if ctx.triggered_id == RUNNING:
            if isinstance(page.actor_or_refusal(), str):
                raise PreventUpdate
            status = jobs.status(running)
            if status is None:
                raise PreventUpdate
            state, shown = status.state, progress_text(status.state, status.progress, status.error)
        else:
            if not event or inputs.picked_id(event.get("id")) != running:
                raise PreventUpdate
            state, error = event.get("status"), event.get("error")
            shown = progress_text(None if state is None else str(state), job_progress(event.get("progress")),
                                  None if error is None else str(error))  # fmt: skip
        if state not in FINISHED:
            return shown, False, no_update
        status = status or jobs.status(running)
        if status is None:
            return shown, True, no_update
        if not shows_day(shown_day, status.day):
            return ready_elsewhere(shown, status.id, status.day), True, no_update
        return shown, True, pick_request(status.day, select=running)

    @dash_app.callback(
        Output(PICKER, "options"),
        Output(PICKER, "value"),
        Output(LISTED, "data"),
        Input(DATE, "date"),
        Input(PICK, "data"),
        State(LISTED, "data"),
        prevent_initial_call=True,
    )
    def picker(day: str | None, request: Mapping[str, Any] | None, listed: str | None) -> tuple[Any, ...]:
        """The picker's one writer: the plans of the day the date field shows, as the date or a callback asks.

        The date is read as the request arrives, not as the asking callback was set off; and a run of this callback
        that Dash drops for a newer one (a date changed while it ran) leaves the listed day for the newer to mend."""
        asked = request if f"{PICK}.data" in ctx.triggered_prop_ids else None
        change = picker_change(day, listed, asked)
        if change is None or isinstance(page.actor_or_refusal(), str):
            raise PreventUpdate
        options, value = page.picker_for(change.day, change.select)
        return options, no_update if change.keep else value, change.day.isoformat()
