"""The selected order's card (its ranked candidates) and its field record, redrawn on a pushed change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dash import Dash, Input, Output, State

from console.auth import ApiError
from console.pages import ids
from console.pages.orders.assignment import near_defaults
from console.pages.orders.common import NO_ORDER_HINT, Authoriser, error_message, reason_text, selected_order_id
from console.pages.orders.detail import (
    FIELD_HIDDEN,
    field_record_class,
    field_record_view,
    order_error_view,
    order_view,
)
from dispatch.access import Action, can
from services.dispatch_service import DispatchService, NotFound
from services.field_service import FieldInputError, FieldService


@dataclass(frozen=True, slots=True)
class DetailCallbacks:
    """The server callbacks as plain functions, for unit tests."""

    show_order: Callable[..., Any]
    show_field_record: Callable[..., Any]


def register(app: Dash, *, dispatch: DispatchService, auth: Authoriser, field: FieldService) -> DetailCallbacks:
    """Wire the order card and the field record to the selection store."""
    app.clientside_callback(
        "window.dash_clientside.orders.showAll",
        Output(ids.CARD_SHOW_ALL, "data"),
        # Each button is drawn only when its list is long: without allow_optional, Dash failed the callback (and the
        # click did nothing) while the card had one button and not the other.
        Input(ids.SHOW_ALL_CANDIDATES, "n_clicks", allow_optional=True),
        Input(ids.SHOW_ALL_EXCLUDED, "n_clicks", allow_optional=True),
        State(ids.SELECTED_ORDER, "data"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output(ids.ORDER_CARD, "children"),
        Output(ids.ORDER_EXCLUDED, "children"),
        Output(ids.ORDER_MESSAGE, "children"),
        Output(ids.ORDER_ACTIONS, "className"),
        Output(ids.NEAR_DEFAULTS, "data"),
        Input(ids.SELECTED_ORDER, "data"),
        Input(ids.ORDER_REFRESH, "data"),
        Input(ids.CARD_SHOW_ALL, "data"),
        prevent_initial_call=True,
    )
    def show_order(selected: Any, _refresh: Any, show_all: Any = None) -> Any:
        try:
            actor = auth.require(Action.VIEW_ORDERS)
            order_id = selected_order_id(selected)
            if order_id is None:
                return (*order_error_view(NO_ORDER_HINT), None)
            explained = dispatch.candidates(actor=actor, order_id=order_id)
        except (ApiError, NotFound) as exc:
            return (*order_error_view(reason_text(exc)), None)
        can_manage = can(actor, Action.MANAGE_ORDERS).allowed
        every = selected_order_id(show_all) == order_id
        view = order_view(explained, can_manage=can_manage, notice=(selected or {}).get("notice"), show_all=every)
        return (*view, near_defaults(explained.order))

    @app.callback(
        Output(ids.FIELD_SECTION, "className"),
        Output(ids.ORDER_FIELD, "children"),
        Input(ids.SELECTED_ORDER, "data"),
        Input(ids.ORDER_REFRESH, "data"),
        Input(ids.FIELD_REFRESH, "n_clicks"),
        prevent_initial_call=True,
    )
    def show_field_record(selected: Any, _refresh: Any, _clicks: Any) -> Any:
        order_id = selected_order_id(selected)
        if order_id is None:
            return FIELD_HIDDEN, None
        try:
            actor = auth.require(Action.VIEW_ORDERS)
            record = field.field_record(actor=actor, order_id=order_id)
        except (ApiError, FieldInputError) as exc:
            return "field-record", error_message(reason_text(exc))
        return field_record_class(record), field_record_view(record)

    return DetailCallbacks(show_order, show_field_record)
