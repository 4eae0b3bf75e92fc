"""The panel's tabs, the open-order list, map selections and highlights (clientside, assets/live.js),
and 'Assign all open orders'."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dash import Dash, Input, Output
from dash.exceptions import PreventUpdate

from console.auth import ApiError
from console.pages import ids
from console.pages.orders.common import Authoriser, error_message, reason_text
from console.pages.orders.order_list import batch_view
from dispatch.access import Action, can
from services.dispatch_service import DispatchService, NotFound


@dataclass(frozen=True, slots=True)
class ListCallbacks:
    """The server callbacks as plain functions, for unit tests."""

    manage_controls: Callable[..., Any]
    assign_all: Callable[..., Any]


def register(app: Dash, *, dispatch: DispatchService, auth: Authoriser) -> ListCallbacks:
    """Wire the tabs, the list, the highlights and the batch bar."""
    app.clientside_callback(
        "window.dash_clientside.orders.chooseTab",
        Output(ids.ACTIVE_TAB, "data", allow_duplicate=True),
        Input(ids.TAB_WORKERS, "n_clicks"),
        Input(ids.TAB_ORDERS, "n_clicks"),
        Input(ids.TAB_NEW_ORDER, "n_clicks"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        "window.dash_clientside.orders.showTab",
        Output(ids.WALL, "className"),
        Output(ids.TAB_WORKERS, "className"),
        Output(ids.TAB_ORDERS, "className"),
        Output(ids.TAB_NEW_ORDER, "className"),
        Output(ids.PANE_WORKERS, "className"),
        Output(ids.PANE_ORDERS, "className"),
        Output(ids.PANE_NEW_ORDER, "className"),
        Input(ids.ACTIVE_TAB, "data"),
    )
    # The list itself is drawn by live.js outside Dash's store (a click selects through set_props); this
    # callback returns only the card's title and the tab's count. An order's change of status is applied
    # to its marker in place (live.js), which bumps ORDERS_CHANGED instead of redrawing the whole layer.
    app.clientside_callback(
        "window.dash_clientside.orders.panel",
        Output(ids.ORDER_HEAD, "children"),
        Output(ids.TAB_ORDERS, "children"),
        Input(ids.ORDERS_LAYER, "data"),
        Input(ids.WORKERS_LAYER, "data"),
        Input(ids.SELECTED_ORDER, "data"),
        Input(ids.ORDERS_CHANGED, "data"),
    )
    app.clientside_callback(
        "window.dash_clientside.orders.selectFromMap",
        Output(ids.SELECTED_ORDER, "data", allow_duplicate=True),
        Output(ids.ACTIVE_TAB, "data", allow_duplicate=True),
        Input(ids.ORDERS_LAYER, "clickData"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        "window.dash_clientside.orders.workerClicked",
        Output(ids.ACTIVE_TAB, "data", allow_duplicate=True),
        Input(ids.WORKERS_LAYER, "clickData"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        "window.dash_clientside.orders.highlight",
        Output(ids.HIGHLIGHT_LAYER, "data"),
        Input(ids.ACTIVE_TAB, "data"),
        Input(ids.SELECTED_ORDER, "data"),
        Input(ids.ORDERS_LAYER, "data"),
        Input(ids.SITE_PICKER, "value", allow_optional=True),  # the form is built on first opening
        Input(ids.SITES_LAYER, "data"),
    )

    @app.callback(Output(ids.BATCH_BAR, "className"), Input(ids.WALL, "id"))
    def manage_controls(_wall: Any) -> str:
        try:
            actor = auth.require(Action.VIEW_ORDERS)
        except ApiError:
            return "batch-bar actions-hidden"
        return "batch-bar" if can(actor, Action.MANAGE_ORDERS).allowed else "batch-bar actions-hidden"

    @app.callback(
        Output(ids.BATCH_MESSAGE, "children"),
        Input(ids.BATCH_ASSIGN, "submit_n_clicks"),
        prevent_initial_call=True,
    )
    def assign_all(submitted: int | None) -> Any:
        if not submitted:
            raise PreventUpdate
        try:
            actor = auth.require(Action.MANAGE_ORDERS)
            result = dispatch.batch_assign(actor=actor)
        except (ApiError, NotFound) as exc:
            return error_message(reason_text(exc))
        return batch_view(result)

    return ListCallbacks(manage_controls, assign_all)
