"""The New order form: built on first opening (its sites and default window in it), and Create order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dash import Dash, Input, Output, State
from dash.exceptions import PreventUpdate

from console import i18n
from console.auth import ApiError
from console.pages import ids
from console.pages.orders.common import EMPTY_LAYER, TAB_NEW_ORDER, Authoriser, error_message
from console.pages.orders.new_order import (
    form_body,
    form_created,
    form_error,
    order_form,
    site_options,
    sites_to_geojson,
    window_defaults,
)
from dispatch.access import Action
from dispatch.clock import Clock
from dispatch.sites import Site
from services.dispatch_service import DispatchService, NotFound
from services.order_input import FieldError, parse_new_order


@dataclass(frozen=True, slots=True)
class NewOrderCallbacks:
    """The server callbacks as plain functions, for unit tests."""

    open_form: Callable[..., Any]
    create_order: Callable[..., Any]


def register(
    app: Dash,
    *,
    dispatch: DispatchService,
    auth: Authoriser,
    list_sites: Callable[[], Sequence[Site]],
    clock: Clock,
) -> NewOrderCallbacks:
    """Wire the form. `list_sites()` returns every customer site, for the picker; `clock` says when the
    default window starts (the next full hour on the office's clock)."""
    app.clientside_callback(
        "window.dash_clientside.orders.skillOptions",
        Output(ids.ORDER_SKILLS, "options"),
        Input(ids.WORKERS_LAYER, "data"),
        State(ids.ORDER_SKILLS, "options", allow_optional=True),
    )
    app.clientside_callback(
        "window.dash_clientside.orders.siteFromMap",
        Output(ids.SITE_PICKER, "value", allow_duplicate=True),
        Input(ids.SITES_LAYER, "clickData"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output(ids.NEW_ORDER_FORM, "children"),
        Output(ids.SITES_LAYER, "data"),
        Input(ids.ACTIVE_TAB, "data"),
        State(ids.SUBMIT_ORDER, "id", allow_optional=True),
        prevent_initial_call=True,
    )
    def open_form(tab: str | None, built: str | None) -> Any:
        if tab != TAB_NEW_ORDER or built:
            raise PreventUpdate  # built once, when the form is first opened: what was typed stays
        defaults = window_defaults(clock.now(), i18n.office_zone())
        try:
            auth.require(Action.MANAGE_ORDERS)
        except ApiError as exc:
            return order_form(sites=[], defaults=defaults, message=error_message(exc.reason)), EMPTY_LAYER
        sites = list_sites()
        return order_form(sites=site_options(sites), defaults=defaults), sites_to_geojson(sites)

    @app.callback(
        Output(ids.FORM_MESSAGE, "children"),
        Output(ids.SELECTED_ORDER, "data", allow_duplicate=True),
        Output(ids.ACTIVE_TAB, "data", allow_duplicate=True),
        Output(ids.SITE_PICKER, "value", allow_duplicate=True),
        Output(ids.ORDER_NOTES, "value"),
        Input(ids.SUBMIT_ORDER, "n_clicks"),
        State(ids.SITE_PICKER, "value"),
        State(ids.ORDER_TYPE, "value"),
        State(ids.ORDER_PRIORITY, "value"),
        State(ids.ORDER_SKILLS, "value"),
        State(ids.START_DATE, "date"),
        State(ids.START_TIME, "value"),
        State(ids.END_DATE, "date"),
        State(ids.END_TIME, "value"),
        State(ids.ORDER_DURATION, "value"),
        State(ids.ORDER_NOTES, "value"),
        prevent_initial_call=True,
    )
    def create_order(
        n_clicks: int | None,
        site_id: Any,
        order_type: Any,
        priority: Any,
        skills: Any,
        start_date: Any,
        start_time: Any,
        end_date: Any,
        end_time: Any,
        minutes: Any,
        notes: Any,
    ) -> Any:
        if not n_clicks:
            raise PreventUpdate
        try:
            actor = auth.require(Action.MANAGE_ORDERS)
            new = parse_new_order(
                form_body(
                    site_id=site_id, order_type=order_type, priority=priority, skills=skills,
                    start_date=start_date, start_time=start_time, end_date=end_date, end_time=end_time,
                    minutes=minutes, notes=notes,
                )
            )  # fmt: skip
            created = dispatch.create_order(actor=actor, new=new)
        except (ApiError, FieldError, NotFound) as exc:
            return form_error(exc)
        return form_created(created)

    return NewOrderCallbacks(open_form, create_order)
