"""Assign, override, cancel and who-is-near: each click becomes one service call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dash import Dash, Input, Output, State, ctx
from dash.exceptions import PreventUpdate

from console.auth import ApiError
from console.pages import ids
from console.pages.orders.assignment import action_result, near_view, parse_command, parse_near
from console.pages.orders.common import Authoriser, error_message, reason_text, refused_notice, selected_order_id
from dispatch.access import Action, can
from dispatch.orders import OrderStatus
from services.dispatch_service import DispatchService, NotFound
from services.order_input import FieldError


@dataclass(frozen=True, slots=True)
class AssignmentCallbacks:
    """The server callbacks as plain functions, for unit tests."""

    act_on_order: Callable[..., Any]
    find_near: Callable[..., Any]


def register(app: Dash, *, dispatch: DispatchService, auth: Authoriser) -> AssignmentCallbacks:
    """Wire the Assign and Cancel buttons and the who-is-near form."""
    # The click's outcome, said as soon as its answer is in (the card's redraw follows with the same words).
    app.clientside_callback(
        "window.dash_clientside.orders.notice",
        Output(ids.ORDER_MESSAGE, "children", allow_duplicate=True),
        Input(ids.SELECTED_ORDER, "data"),
        State(ids.WORKERS_LAYER, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        "window.dash_clientside.orders.clearReason",
        Output(ids.OVERRIDE_REASON, "value"),
        Input(ids.SELECTED_ORDER, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        "window.dash_clientside.orders.nearTarget",
        Output(ids.NEAR_TARGET, "data"),
        Input(ids.SELECTED_ORDER, "data"),
        Input(ids.ORDERS_LAYER, "data"),
    )
    app.clientside_callback(
        "window.dash_clientside.orders.nearDefaults",
        Output(ids.NEAR_SKILLS, "value"),
        Output(ids.NEAR_N, "value"),
        Output(ids.NEAR_LIST, "children", allow_duplicate=True),
        Input(ids.NEAR_DEFAULTS, "data"),
        State(ids.NEAR_SKILLS, "value"),
        State(ids.NEAR_N, "value"),
        State(ids.NEAR_LIST, "children"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        "window.dash_clientside.orders.nearSkillOptions",
        Output(ids.NEAR_SKILLS, "options"),
        Input(ids.WORKERS_LAYER, "data"),
        Input(ids.NEAR_DEFAULTS, "data"),
        State(ids.NEAR_SKILLS, "options"),
    )

    # The click's answer becomes the selection (with its notice) only while its order is still the one selected: the
    # dispatcher may have opened another order while it was on its way, and the card would jump back to this one.
    app.clientside_callback(
        "window.dash_clientside.orders.actionAnswer",
        Output(ids.SELECTED_ORDER, "data", allow_duplicate=True),
        Input(ids.ORDER_ACTION, "data"),
        State(ids.SELECTED_ORDER, "data"),
        prevent_initial_call=True,
    )

    # An Assign button (a candidate's or who-is-near's) is no Dash input: live.js's one click listener writes which
    # was clicked into ASSIGN_CLICK, so a card drawn with its buttons sends no request that does nothing.
    @app.callback(
        Output(ids.ORDER_ACTION, "data"),
        Input(ids.ASSIGN_CLICK, "data"),
        Input(ids.CANCEL_ORDER, "submit_n_clicks"),
        State(ids.OVERRIDE_REASON, "value"),
        State(ids.SELECTED_ORDER, "data"),
        prevent_initial_call=True,
    )
    def act_on_order(assign_click: Any, _cancel_clicks: Any, reason: str | None, selected: Any) -> Any:
        clicked = ctx.triggered[0]["value"] if ctx.triggered else None
        if not clicked:
            raise PreventUpdate  # nobody clicked
        try:
            actor = auth.require(Action.MANAGE_ORDERS)
            trigger = assign_click if ctx.triggered_id == ids.ASSIGN_CLICK else ctx.triggered_id
            command = parse_command(trigger, selected, reason)
            if command.worker_id is not None:
                result: Any = dispatch.assign(
                    actor=actor, order_id=command.order_id, worker_id=command.worker_id, reason=command.reason
                )
            else:
                result = dispatch.move(
                    actor=actor, order_id=command.order_id, to=OrderStatus.CANCELLED, reason=command.reason
                )
        except (ApiError, FieldError, NotFound) as exc:
            return {"order_id": selected_order_id(selected), "notice": refused_notice(reason_text(exc))}
        return action_result(command, result)

    @app.callback(
        Output(ids.NEAR_LIST, "children"),
        Input(ids.NEAR_SEARCH, "n_clicks"),
        State(ids.SELECTED_ORDER, "data"),
        State(ids.NEAR_TARGET, "data"),
        State(ids.NEAR_SKILLS, "value"),
        State(ids.NEAR_N, "value"),
        prevent_initial_call=True,
    )
    def find_near(n_clicks: int | None, selected: Any, target: Any, skills: Any, n: Any) -> Any:
        if not n_clicks:
            raise PreventUpdate
        try:
            actor = auth.require(Action.VIEW_ORDERS)
            query = parse_near(selected, target, skills, n)
            found = dispatch.who_is_near(actor=actor, point=query.point, n=query.n, skills=query.skills)
        except (ApiError, FieldError) as exc:
            return error_message(reason_text(exc))
        return near_view(found, query, can_manage=can(actor, Action.MANAGE_ORDERS).allowed)

    return AssignmentCallbacks(act_on_order, find_near)
