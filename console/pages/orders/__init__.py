"""The dispatcher's order panel on the live map: the list of open orders, one order's detail, the
assignment panel, and the new-order form; each concern has a module for its layout and pure
presenters and one for its callbacks (`*_callbacks.py`).

The list of open orders, the order card's title, the tabs and the map highlights are drawn
clientside from the map layers (assets/live.js, like the worker list), so a pushed order change
shows at once. The server is asked only for what needs it: an order's ranked candidates
(`DispatchService.candidates`), an assignment or a cancellation, a new order, and the sites for the
picker, assigning every new order at once (`DispatchService.batch_assign`), the workers nearest the
selected order's site (`DispatchService.who_is_near`), and what the field sent for the order
(`FieldService.field_record`: check-ins with verdicts, photos, the service report). Each callback
authorises, parses, calls one service function and returns what a pure presenter makes of the
result.

The selected order lives in a store as `{"order_id": 7, "notice": {...}}`; the notice says what
just happened to it (created, assigned, refused) and is shown on its card.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dash import Dash, html

from console.pages import ids
from console.pages.orders import (
    assignment_callbacks,
    detail_callbacks,
    new_order_callbacks,
    order_list_callbacks,
)
from console.pages.orders.assignment import (
    NEAR_DEFAULT_N,
    NEAR_MAX_N,
    Command,
    NearQuery,
    action_result,
    candidate_row,
    near_defaults,
    near_view,
    parse_command,
    parse_near,
)
from console.pages.orders.common import (
    EMPTY_LAYER,
    NO_ORDER_HINT,
    TAB_NEW_ORDER,
    TAB_ORDERS,
    TAB_WORKERS,
    Authoriser,
    distance_text,
    error_message,
    humanise,
    minutes_text,
    refused_notice,
    selected_order_id,
    window_text,
)
from console.pages.orders.detail import (
    FIELD_HIDDEN,
    field_record_class,
    field_record_view,
    notice_view,
    order_detail,
    order_error_view,
    order_view,
)
from console.pages.orders.new_order import (
    form_body,
    form_created,
    form_error,
    form_time,
    new_order_pane,
    order_form,
    site_options,
    sites_layer,
    sites_to_geojson,
    window_defaults,
)
from console.pages.orders.order_list import batch_bar, batch_view, highlight_layer, order_list, stores, tab_bar
from dispatch.clock import Clock
from services.dispatch_service import DispatchService
from services.field_service import FieldService

__all__ = [
    "EMPTY_LAYER", "FIELD_HIDDEN", "NEAR_DEFAULT_N", "NEAR_MAX_N", "NO_ORDER_HINT", "TAB_NEW_ORDER", "TAB_ORDERS",
    "TAB_WORKERS", "Authoriser", "Callbacks", "Command", "NearQuery", "action_result", "batch_view", "candidate_row",
    "distance_text", "error_message", "field_record_class", "field_record_view", "form_body", "form_created",
    "form_error", "form_time", "highlight_layer", "humanise", "minutes_text", "near_defaults", "near_view",
    "new_order_pane", "notice_view", "order_error_view", "order_form", "order_view", "orders_pane", "parse_command",
    "parse_near", "refused_notice", "register", "selected_order_id", "site_options", "sites_layer", "sites_to_geojson",
    "stores", "tab_bar", "window_defaults", "window_text",
]  # fmt: skip


def orders_pane() -> html.Div:
    """The Orders tab: open orders (drawn by live.js) above the selected order's card."""
    return html.Div(
        id=ids.PANE_ORDERS,
        className="pane pane-hidden",
        children=[batch_bar(), order_list(), order_detail()],
    )


@dataclass(frozen=True, slots=True)
class Callbacks:
    """The server callbacks as plain functions, for unit tests (Dash returns them undecorated)."""

    open_form: Callable[..., Any]
    show_order: Callable[..., Any]
    act_on_order: Callable[..., Any]
    create_order: Callable[..., Any]
    manage_controls: Callable[..., Any]
    assign_all: Callable[..., Any]
    find_near: Callable[..., Any]
    show_field_record: Callable[..., Any]


def register(
    app: Dash,
    *,
    dispatch: DispatchService,
    auth: Authoriser,
    list_sites: Callable[[], Sequence[Any]],
    field: FieldService,
    clock: Clock,
) -> Callbacks:
    """Wire the order panel. `list_sites()` returns every customer site, for the picker; `clock` starts the
    new-order form's default window."""
    listed = order_list_callbacks.register(app, dispatch=dispatch, auth=auth)
    detail = detail_callbacks.register(app, dispatch=dispatch, auth=auth, field=field)
    assignment = assignment_callbacks.register(app, dispatch=dispatch, auth=auth)
    form = new_order_callbacks.register(app, dispatch=dispatch, auth=auth, list_sites=list_sites, clock=clock)
    return Callbacks(
        open_form=form.open_form,
        show_order=detail.show_order,
        act_on_order=assignment.act_on_order,
        create_order=form.create_order,
        manage_controls=listed.manage_controls,
        assign_all=listed.assign_all,
        find_near=assignment.find_near,
        show_field_record=detail.show_field_record,
    )
