"""The dispatcher's order panel: open orders, one order's candidates, and the new-order form.

The list of open orders, the order card's title, the tabs and the map highlights are drawn
clientside from the map layers (assets/live.js, like the worker list), so a pushed order change
shows at once. The server is asked only for what needs it: an order's ranked candidates
(`DispatchService.candidates`), an assignment or a cancellation, a new order, and the sites for the
picker, assigning every new order at once (`DispatchService.batch_assign`), the workers nearest the
selected order's site (`DispatchService.who_is_near`), and what the field sent for the order
(`FieldService.field_record`: check-ins with verdicts, photos, the service report). Each callback
authorises, parses, calls one service function and returns what a pure presenter below makes of the
result.

The selected order lives in a store as `{"order_id": 7, "notice": {...}}`; the notice says what
just happened to it (created, assigned, refused) and is shown on its card.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import dash_leaflet as dl
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate
from dash_extensions.javascript import Namespace

from console.auth import ApiError
from console.dispatch_service import BatchResult, Created, DispatchService, Explained, NotFound
from console.field_service import FieldInputError, FieldService
from console.order_input import FieldError, parse_new_order
from console.pages import checkin_confidence, ids
from dispatch.access import Action, Actor, can
from dispatch.assign import AutoDispatched, Candidate, Excluded, ManualDispatch, Nearby, Origin
from dispatch.checkin import CheckinKind
from dispatch.geo import LatLon
from dispatch.lifecycle import Refused
from dispatch.orders import FINAL_STATUSES, OrderStatus, OrderType, TimeWindow, WorkOrder
from dispatch.sites import Site

NS = Namespace("outfield")
TAB_WORKERS, TAB_ORDERS, TAB_NEW_ORDER = "workers", "orders", "new"
EMPTY_LAYER: dict[str, Any] = {"type": "FeatureCollection", "features": []}
PRIORITIES = {1: "1 · most urgent", 2: "2 · urgent", 3: "3 · normal", 4: "4 · low", 5: "5 · lowest"}
FORM_LABELS = {
    "body": "Order",
    "site_id": "Customer site",
    "type": "Type",
    "priority": "Priority",
    "required_skills": "Required skills",
    "window_start": "Window start",
    "window_end": "Window end",
    "service_duration_s": "Duration",
    "service_minutes": "Duration",
    "notes": "Notes",
}
NO_ORDER_HINT = "Select an order in the list or on the map."
NEAR_DEFAULT_N = 5
NEAR_MAX_N = 50
VERDICTS = {
    CheckinKind.VERIFIED.value: "verified",
    CheckinKind.OUTSIDE_GEOFENCE.value: "outside the site's geofence",
    CheckinKind.POOR_ACCURACY.value: "location too inaccurate to verify",
    CheckinKind.NO_LOCATION.value: "no location sent",
}
ORIGINS = {Origin.FIX: "from last fix", Origin.HOME_BASE: "from home base"}
FIELD_HIDDEN = "field-record actions-hidden"
_TIME = re.compile(r"^\s*(\d{1,2}):?(\d{2})?\s*$")
_FIELD_PREFIX = re.compile(r"^[a-z_]+: ")


class Authoriser(Protocol):
    """What the callbacks need of `console.auth.Auth`: the calling actor if allowed, else ApiError."""

    def require(self, action: Action, *, worker_id: int | None = None) -> Actor: ...


# ----------------------------------------------------------------------------------------------- layout


def sites_layer() -> dl.GeoJSON:
    """The sites the picker offers; filled when the form is first opened and shown only while it is."""
    return dl.GeoJSON(id=ids.SITES_LAYER, data=EMPTY_LAYER, pointToLayer=NS("siteMarker"))


def highlight_layer() -> dl.GeoJSON:
    """Rings around the selected order and the picked site (drawn on top, never in the way of a click)."""
    return dl.GeoJSON(id=ids.HIGHLIGHT_LAYER, data=EMPTY_LAYER, pointToLayer=NS("highlightMarker"), interactive=False)


def stores() -> list[Any]:
    return [
        dcc.Store(id=ids.ACTIVE_TAB, data=TAB_WORKERS),
        dcc.Store(id=ids.SELECTED_ORDER),
        dcc.Store(id=ids.ORDER_REFRESH),
        dcc.Store(id=ids.NEAR_TARGET),
        dcc.Store(id=ids.NEAR_DEFAULTS),
    ]


def tab_bar() -> html.Nav:
    return html.Nav(
        className="tabs",
        children=[
            html.Button("Workers", id=ids.TAB_WORKERS, n_clicks=0, className="tab tab-active"),
            html.Button("Orders", id=ids.TAB_ORDERS, n_clicks=0, className="tab"),
            html.Button("New order", id=ids.TAB_NEW_ORDER, n_clicks=0, className="tab"),
        ],
    )


def batch_bar() -> html.Div:
    """'Assign all open orders': shown only to roles that may assign (see `manage_controls`)."""
    return html.Div(
        id=ids.BATCH_BAR,
        className="batch-bar actions-hidden",
        children=[
            dcc.ConfirmDialogProvider(
                html.Button("Assign all open orders", className="batch-button", n_clicks=0),
                id=ids.BATCH_ASSIGN,
                message="Assign every new order now, each to the worker that keeps the total travel least?",
            ),
            html.Div(id=ids.BATCH_MESSAGE, className="batch-message", role="status"),
        ],
    )


def near_form() -> html.Details:
    """Who is near the selected order's site: skills (the order's by default) and how many, then a list."""
    return html.Details(
        className="near",
        children=[
            html.Summary("Who is near"),
            html.Div(
                className="near-form",
                children=[
                    html.Div(
                        className="near-skills",
                        children=dcc.Dropdown(id=ids.NEAR_SKILLS, options=[], multi=True, placeholder="Any skill"),
                    ),
                    html.Label("How many", htmlFor=ids.NEAR_N, className="near-n-label"),
                    dcc.Input(
                        id=ids.NEAR_N,
                        type="number",
                        min=1,
                        max=NEAR_MAX_N,
                        step=1,
                        value=NEAR_DEFAULT_N,
                        className="near-n",
                        debounce=False,
                    ),
                    html.Button("Find", id=ids.NEAR_SEARCH, n_clicks=0, className="near-search"),
                ],
            ),
            html.Div(id=ids.NEAR_LIST, className="near-list"),
        ],
    )


def field_section() -> html.Section:
    """What the field sent for the selected order (check-ins, photos, report), right under its title.

    Hidden while there is nothing (a new order): see `field_record_class`.
    """
    return html.Section(
        id=ids.FIELD_SECTION,
        className=FIELD_HIDDEN,
        children=[
            html.Div(
                className="field-head",
                children=[
                    html.H3("From the field"),
                    html.Button("Refresh", id=ids.FIELD_REFRESH, n_clicks=0, className="field-refresh"),
                ],
            ),
            html.Div(id=ids.ORDER_FIELD),
        ],
    )


def orders_pane() -> html.Div:
    """The Orders tab: open orders (drawn by live.js) above the selected order's card."""
    return html.Div(
        id=ids.PANE_ORDERS,
        className="pane pane-hidden",
        children=[
            batch_bar(),
            html.Div(id=ids.ORDER_LIST, className="order-list"),
            html.Div(
                id=ids.ORDER_DETAIL,
                className="order-detail",
                children=[
                    html.Div(id=ids.ORDER_HEAD, className="order-head", children=html.P(NO_ORDER_HINT)),
                    field_section(),
                    html.Div(id=ids.ORDER_CARD, className="order-card"),
                    html.Div(id=ids.ORDER_MESSAGE, className="order-message", role="status"),
                    html.Div(
                        id=ids.ORDER_ACTIONS,
                        className="order-actions actions-hidden",
                        children=[
                            html.Label(
                                "Reason (needed to choose anyone but the top candidate)", htmlFor=ids.OVERRIDE_REASON
                            ),
                            dcc.Input(
                                id=ids.OVERRIDE_REASON,
                                type="text",
                                className="reason",
                                placeholder="e.g. customer asked for this worker",
                                debounce=False,
                            ),
                            dcc.ConfirmDialogProvider(
                                html.Button("Cancel order", className="cancel-order", n_clicks=0),
                                id=ids.CANCEL_ORDER,
                                message="Cancel this order? A cancelled order cannot be reopened.",
                            ),
                            near_form(),
                        ],
                    ),
                    html.Div(id=ids.ORDER_EXCLUDED),
                ],
            ),
        ],
    )


def _field(label: str, control: Any, *, html_for: str | None = None, wide: bool = True) -> html.Div:
    return html.Div(
        className="field" if wide else "field field-half",
        children=[html.Label(label, htmlFor=html_for, className="field-label"), control],
    )


def _when(label: str, date_id: str, time_id: str) -> html.Div:
    return _field(
        label,
        html.Div(
            className="when",
            children=[
                dcc.DatePickerSingle(
                    id=date_id, display_format="YYYY-MM-DD", placeholder="YYYY-MM-DD", first_day_of_week=1
                ),
                dcc.Input(id=time_id, type="text", placeholder="HH:MM", className="time", maxLength=5, debounce=False),
            ],
        ),
        html_for=date_id,
    )


def new_order_pane() -> html.Div:
    """The New order tab: every field of a work order; the site comes from the list or the map."""
    return html.Div(
        id=ids.PANE_NEW_ORDER,
        className="pane pane-hidden",
        children=html.Div(
            className="order-form",
            children=[
                _field(
                    "Customer site",
                    dcc.Dropdown(
                        id=ids.SITE_PICKER,
                        options=[],
                        searchable=True,
                        clearable=True,
                        placeholder="Type a site name, or click a site on the map",
                    ),
                    html_for=ids.SITE_PICKER,
                ),
                html.Div(
                    className="field-row",
                    children=[
                        _field(
                            "Type",
                            dcc.Dropdown(
                                id=ids.ORDER_TYPE,
                                options=[{"label": t.value.capitalize(), "value": t.value} for t in OrderType],
                                value=OrderType.VISIT.value,
                                clearable=False,
                                searchable=False,
                            ),
                            wide=False,
                        ),
                        _field(
                            "Priority",
                            dcc.Dropdown(
                                id=ids.ORDER_PRIORITY,
                                options=[{"label": label, "value": p} for p, label in PRIORITIES.items()],
                                value=3,
                                clearable=False,
                                searchable=False,
                            ),
                            wide=False,
                        ),
                    ],
                ),
                _field(
                    "Required skills",
                    dcc.Dropdown(id=ids.ORDER_SKILLS, options=[], multi=True, placeholder="Any worker"),
                    html_for=ids.ORDER_SKILLS,
                ),
                _when("Window start (UTC)", ids.START_DATE, ids.START_TIME),
                _when("Window end (UTC)", ids.END_DATE, ids.END_TIME),
                _field(
                    "Expected duration (minutes)",
                    dcc.Input(
                        id=ids.ORDER_DURATION, type="number", min=1, max=1440, step=1, value=30, className="minutes"
                    ),
                    html_for=ids.ORDER_DURATION,
                ),
                _field(
                    "Notes",
                    dcc.Textarea(id=ids.ORDER_NOTES, className="notes", placeholder="What the worker should know"),
                    html_for=ids.ORDER_NOTES,
                ),
                html.Button("Create order", id=ids.SUBMIT_ORDER, n_clicks=0, className="primary submit"),
                html.Div(id=ids.FORM_MESSAGE, className="form-message", role="alert"),
            ],
        ),
    )


# -------------------------------------------------------------------------------------------- callbacks


@dataclass(frozen=True, slots=True)
class Callbacks:
    """The server callbacks as plain functions, for unit tests (Dash returns them undecorated)."""

    load_sites: Callable[..., Any]
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
    list_sites: Callable[[], Sequence[Site]],
    field: FieldService,
) -> Callbacks:
    """Wire the order panel. `list_sites()` returns every customer site, for the picker."""
    _register_clientside(app)

    @app.callback(Output(ids.BATCH_BAR, "className"), Input(ids.WALL, "id"))
    def manage_controls(_wall: Any) -> str:
        try:
            actor = auth.require(Action.VIEW_ORDERS)
        except ApiError:
            return "batch-bar actions-hidden"
        return "batch-bar" if can(actor, Action.MANAGE_ORDERS).allowed else "batch-bar actions-hidden"

    @app.callback(
        Output(ids.SITE_PICKER, "options"),
        Output(ids.SITES_LAYER, "data"),
        Output(ids.FORM_MESSAGE, "children", allow_duplicate=True),
        Input(ids.ACTIVE_TAB, "data"),
        State(ids.SITE_PICKER, "options"),
        prevent_initial_call=True,
    )
    def load_sites(tab: str | None, options: list[Any] | None) -> Any:
        if tab != TAB_NEW_ORDER or options:
            raise PreventUpdate  # loaded once, when the form is first opened
        try:
            auth.require(Action.MANAGE_ORDERS)
        except ApiError as exc:
            return [], EMPTY_LAYER, error_message(exc.reason)
        sites = list_sites()
        return site_options(sites), sites_to_geojson(sites), ""

    @app.callback(
        Output(ids.ORDER_CARD, "children"),
        Output(ids.ORDER_EXCLUDED, "children"),
        Output(ids.ORDER_MESSAGE, "children"),
        Output(ids.ORDER_ACTIONS, "className"),
        Output(ids.NEAR_DEFAULTS, "data"),
        Input(ids.SELECTED_ORDER, "data"),
        Input(ids.ORDER_REFRESH, "data"),
        prevent_initial_call=True,
    )
    def show_order(selected: Any, _refresh: Any) -> Any:
        try:
            actor = auth.require(Action.VIEW_ORDERS)
            order_id = selected_order_id(selected)
            if order_id is None:
                return (*order_error_view(NO_ORDER_HINT), None)
            explained = dispatch.candidates(actor=actor, order_id=order_id)
        except (ApiError, NotFound) as exc:
            return (*order_error_view(_reason(exc)), None)
        can_manage = can(actor, Action.MANAGE_ORDERS).allowed
        view = order_view(explained, can_manage=can_manage, notice=(selected or {}).get("notice"))
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
            return "field-record", error_message(_reason(exc))
        return field_record_class(record), field_record_view(record)

    @app.callback(
        Output(ids.SELECTED_ORDER, "data", allow_duplicate=True),
        Input({"type": ids.ASSIGN, "index": ALL}, "n_clicks"),
        Input({"type": ids.NEAR_ASSIGN, "index": ALL}, "n_clicks"),
        Input(ids.CANCEL_ORDER, "submit_n_clicks"),
        State(ids.OVERRIDE_REASON, "value"),
        State(ids.SELECTED_ORDER, "data"),
        prevent_initial_call=True,
    )
    def act_on_order(
        _assign_clicks: Any, _near_clicks: Any, _cancel_clicks: Any, reason: str | None, selected: Any
    ) -> Any:
        clicked = ctx.triggered[0]["value"] if ctx.triggered else None
        if not clicked:
            raise PreventUpdate  # the buttons were (re)drawn, nobody clicked
        try:
            actor = auth.require(Action.MANAGE_ORDERS)
            command = parse_command(ctx.triggered_id, selected, reason)
            if command.worker_id is not None:
                result: Any = dispatch.assign(
                    actor=actor, order_id=command.order_id, worker_id=command.worker_id, reason=command.reason
                )
            else:
                result = dispatch.move(
                    actor=actor, order_id=command.order_id, to=OrderStatus.CANCELLED, reason=command.reason
                )
        except (ApiError, FieldError, NotFound) as exc:
            return {"order_id": selected_order_id(selected), "notice": refused_notice(_reason(exc))}
        return action_result(command, result)

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
            return error_message(_reason(exc))
        return batch_view(result)

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
            return error_message(_reason(exc))
        return near_view(found, query, can_manage=can(actor, Action.MANAGE_ORDERS).allowed)

    return Callbacks(
        load_sites, show_order, act_on_order, create_order, manage_controls, assign_all, find_near, show_field_record
    )


def _register_clientside(app: Dash) -> None:
    """Pure display state, in assets/live.js: tabs, the order list, selections, highlights, defaults."""
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
    app.clientside_callback(
        "window.dash_clientside.orders.panel",
        Output(ids.ORDER_LIST, "children"),
        Output(ids.ORDER_HEAD, "children"),
        Output(ids.TAB_ORDERS, "children"),
        Input(ids.ORDERS_LAYER, "data"),
        Input(ids.WORKERS_LAYER, "data"),
        Input(ids.SELECTED_ORDER, "data"),
    )
    app.clientside_callback(
        "window.dash_clientside.orders.selectFromList",
        Output(ids.SELECTED_ORDER, "data", allow_duplicate=True),
        Input({"type": ids.ORDER_ITEM, "index": ALL}, "n_clicks"),
        prevent_initial_call=True,
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
        "window.dash_clientside.orders.refreshIfSelected",
        Output(ids.ORDER_REFRESH, "data"),
        Input(ids.SOCKET, f"data-{ids.EVENT_ORDERS}"),
        State(ids.SELECTED_ORDER, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        "window.dash_clientside.orders.clearReason",
        Output(ids.OVERRIDE_REASON, "value"),
        Input(ids.SELECTED_ORDER, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        "window.dash_clientside.orders.skillOptions",
        Output(ids.ORDER_SKILLS, "options"),
        Input(ids.WORKERS_LAYER, "data"),
        State(ids.ORDER_SKILLS, "options"),
    )
    app.clientside_callback(
        "window.dash_clientside.orders.siteFromMap",
        Output(ids.SITE_PICKER, "value", allow_duplicate=True),
        Input(ids.SITES_LAYER, "clickData"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        "window.dash_clientside.orders.highlight",
        Output(ids.HIGHLIGHT_LAYER, "data"),
        Input(ids.ACTIVE_TAB, "data"),
        Input(ids.SELECTED_ORDER, "data"),
        Input(ids.ORDERS_LAYER, "data"),
        Input(ids.SITE_PICKER, "value"),
        Input(ids.SITES_LAYER, "data"),
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
        prevent_initial_call=True,
    )
    app.clientside_callback(
        "window.dash_clientside.orders.nearSkillOptions",
        Output(ids.NEAR_SKILLS, "options"),
        Input(ids.WORKERS_LAYER, "data"),
        Input(ids.NEAR_DEFAULTS, "data"),
        State(ids.NEAR_SKILLS, "options"),
    )
    app.clientside_callback(
        "window.dash_clientside.orders.formDefaults",
        Output(ids.START_DATE, "date"),
        Output(ids.START_TIME, "value"),
        Output(ids.END_DATE, "date"),
        Output(ids.END_TIME, "value"),
        Input(ids.ACTIVE_TAB, "data"),
        State(ids.START_DATE, "date"),
        prevent_initial_call=True,
    )


# ------------------------------------------------------------------------------- parsing (pure, no I/O)


@dataclass(frozen=True, slots=True)
class Command:
    """One click on an order card: assign `worker_id`, or cancel the order when it is None."""

    order_id: int
    worker_id: int | None
    reason: str


def selected_order_id(selected: Any) -> int | None:
    """The order id in the selection store, or None."""
    if isinstance(selected, Mapping):
        value = selected.get("order_id")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def parse_command(trigger: Any, selected: Any, reason: str | None) -> Command:
    """What the click means: an Assign button names its worker, the Cancel button none."""
    order_id = selected_order_id(selected)
    if order_id is None:
        raise FieldError("order_id", "select an order first")
    if (
        isinstance(trigger, Mapping)
        and trigger.get("type") in (ids.ASSIGN, ids.NEAR_ASSIGN)
        and isinstance(trigger.get("index"), int)
    ):
        return Command(order_id, trigger["index"], (reason or "").strip())
    if trigger == ids.CANCEL_ORDER:
        return Command(order_id, None, (reason or "").strip())
    raise FieldError("action", f"unknown action {trigger!r}")


@dataclass(frozen=True, slots=True)
class NearQuery:
    """Who is near the selected order's site: the `n` nearest workers holding every one of `skills`."""

    order_id: int
    point: LatLon
    n: int
    skills: frozenset[str]


def parse_near(selected: Any, target: Any, skills: Any, n: Any) -> NearQuery:
    """The form's values as a query; the point is the selected order's site, as drawn on the map."""
    order_id = selected_order_id(selected)
    if order_id is None:
        raise FieldError("order_id", "select an order first")
    if not isinstance(target, Mapping) or target.get("order_id") != order_id:
        raise FieldError("order_id", f"order {order_id} is not on the map")
    try:
        point = LatLon(float(target["lat"]), float(target["lon"]))
    except (KeyError, TypeError, ValueError):
        raise FieldError("order_id", f"order {order_id} has no place on the map") from None
    if n is None or n == "":
        count = NEAR_DEFAULT_N
    elif isinstance(n, bool) or not isinstance(n, int | float) or n != int(n):
        raise FieldError("n", "how many workers: enter a whole number")
    else:
        count = int(n)
    if not 1 <= count <= NEAR_MAX_N:
        raise FieldError("n", f"how many workers: between 1 and {NEAR_MAX_N}")
    wanted = frozenset(str(s).strip().lower() for s in (skills or []) if str(s).strip())
    return NearQuery(order_id, point, count, wanted)


def form_time(field: str, date: Any, clock_time: Any) -> str:
    """'YYYY-MM-DD' and 'HH:MM' (UTC) as the ISO 8601 time parse_new_order expects."""
    if not isinstance(date, str) or not date.strip():
        raise FieldError(field, "pick a date")
    match = _TIME.match(clock_time) if isinstance(clock_time, str) else None
    if not clock_time:
        raise FieldError(field, "enter a time of day (HH:MM, UTC)")
    if match is None or int(match[1]) > 23 or int(match[2] or 0) > 59:
        raise FieldError(field, f"{clock_time!r} is not a time of day (HH:MM, UTC)")
    return f"{date.strip()[:10]}T{int(match[1]):02d}:{int(match[2] or 0):02d}:00Z"


def form_body(
    *,
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
) -> dict[str, Any]:
    """The form's values as the JSON body of a new order (the API's shape, so one parser checks both).

    The end date defaults to the start date.
    """
    if minutes is None or minutes == "":
        raise FieldError("service_duration_s", "enter the expected duration in minutes")
    return {
        "site_id": site_id,
        "type": order_type or OrderType.VISIT.value,
        "priority": priority if priority is not None else 3,
        "required_skills": list(skills or []),
        "window_start": form_time("window_start", start_date, start_time),
        "window_end": form_time("window_end", end_date or start_date, end_time),
        "service_minutes": minutes,
        "notes": notes or "",
    }


# ----------------------------------------------------------------------------- presenters (pure, no I/O)


def site_options(sites: Iterable[Site]) -> list[dict[str, Any]]:
    """Dropdown options, by name; the address helps tell apart sites with similar names."""
    return [
        {"label": f"{s.name} — {s.address}" if s.address else s.name, "value": s.id}
        for s in sorted(sites, key=lambda s: (s.name.casefold(), s.id))
    ]


def sites_to_geojson(sites: Iterable[Site]) -> dict[str, Any]:
    """Sites as points the dispatcher can click to pick one."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(s.location.lon, 6), round(s.location.lat, 6)]},
                "properties": {"site_id": s.id, "name": s.name},
            }
            for s in sites
        ],
    }


def minutes_text(seconds: float) -> str:
    """A duration for a person: '<1 min', '7 min', '2 h 05 min'."""
    if seconds < 60:
        return "<1 min"
    total = round(seconds / 60)
    if total < 120:
        return f"{total} min"
    return f"{total // 60} h {total % 60:02d} min"


def window_text(window: TimeWindow) -> str:
    """'Tue 04 Mar 09:00–11:00 UTC', or both dates when the window spans midnight."""
    start, end = window.start, window.end
    if start.date() == end.date():
        return f"{start:%a %d %b %H:%M}–{end:%H:%M} UTC"
    return f"{start:%a %d %b %H:%M} – {end:%a %d %b %H:%M} UTC"


def humanise(reason: str) -> str:
    """A refusal as a sentence: without the leading 'field: ' the API keeps, capitalised."""
    text = _FIELD_PREFIX.sub("", reason.strip().strip("'\""), count=1)
    return text[:1].upper() + text[1:]


def _reason(exc: Exception) -> str:
    return exc.reason if isinstance(exc, ApiError) else str(exc)


def error_message(text: str) -> html.P:
    return html.P(humanise(text), className="error")


def refused_notice(reason: str) -> dict[str, Any]:
    return {"kind": "refused", "text": humanise(reason)}


def action_result(command: Command, result: WorkOrder | Refused) -> dict[str, Any]:
    """The selection store after a click: the same order, with a notice of what happened."""
    if isinstance(result, Refused):
        notice = refused_notice(result.reason)
    elif command.worker_id is None:
        notice = {"kind": "cancelled"}
    else:
        notice = {"kind": "assigned", "worker_id": result.assigned_worker_id}
    return {"order_id": command.order_id, "notice": notice}


def form_error(exc: Exception) -> tuple[Any, ...]:
    """The form stays as typed; the message names the field in the form's words."""
    if isinstance(exc, FieldError):
        label = FORM_LABELS.get(exc.field, exc.field)
        text = f"{label}: {exc.reason.replace('window_start', 'window start').replace('window_end', 'window end')}"
    else:
        text = humanise(_reason(exc))
    return html.P(text, className="error"), no_update, no_update, no_update, no_update


def form_created(created: Created) -> tuple[Any, ...]:
    """After creating: open the new order on the Orders tab and clear the site and notes."""
    decision = created.dispatch
    if isinstance(decision, AutoDispatched):
        notice: dict[str, Any] = {
            "kind": "created",
            "mode": "auto",
            "worker_id": decision.candidate.worker_id,
            "eta_s": decision.candidate.eta_s,
        }
    elif isinstance(decision, ManualDispatch):
        notice = {"kind": "created", "mode": "manual", "text": decision.reason}
    else:
        notice = {"kind": "created", "mode": "none", "text": decision.reason}
    message = html.P(f"Order #{created.order.id} created.", className="ok")
    return message, {"order_id": created.order.id, "notice": notice}, TAB_ORDERS, None, ""


def notice_view(notice: Mapping[str, Any] | None, names: Mapping[int, str]) -> Any:
    """What just happened to the order, in one line (None when nothing did)."""
    if not notice:
        return None
    kind = notice.get("kind")
    name = names.get(notice.get("worker_id") or -1, "the worker")
    if kind == "refused":
        return html.P(str(notice.get("text", "")), className="error")
    if kind == "assigned":
        return html.P(f"Assigned to {name}.", className="ok")
    if kind == "cancelled":
        return html.P("Order cancelled.", className="ok")
    if kind == "created" and notice.get("mode") == "auto":
        eta = minutes_text(float(notice.get("eta_s") or 0))
        return html.P(f"Created and assigned to {name} automatically (ETA {eta}).", className="ok")
    if kind == "created" and notice.get("mode") == "none":
        return html.P(f"Created, but nobody can take it now: {notice.get('text', '')}.", className="warn")
    if kind == "created":
        return html.P(f"Created. {humanise(str(notice.get('text', '')))}: choose a worker below.", className="ok")
    return None


def candidate_row(
    candidate: Candidate, rank: int, *, name: str, best: bool, current: bool, can_manage: bool
) -> html.Li:
    """One ranked worker: name, ETA, score, lateness, and the one-click Assign button."""
    facts: list[Any] = [
        html.Span(f"ETA {minutes_text(candidate.eta_s)}", className="cand-eta"),
        html.Span(
            f"score {candidate.score_s / 60:.1f}",
            className="cand-score",
            title="ETA plus a penalty per order already booked today, in minutes (lower is better)",
        ),
    ]
    if candidate.late_s > 0:
        facts.append(html.Span(f"{minutes_text(candidate.late_s)} late", className="cand-late"))
    parts: list[Any] = [
        html.Span(str(rank), className="cand-rank"),
        html.Span(name, className="cand-name"),
        html.Span(facts, className="cand-facts"),
    ]
    if current:
        parts.append(html.Span("assigned", className="cand-current"))
    elif can_manage:
        parts.append(
            html.Button(
                "Assign",
                id={"type": ids.ASSIGN, "index": candidate.worker_id},
                n_clicks=0,
                className="assign primary" if best else "assign",
                title="The proposed worker: one click" if best else "Override: give a reason below first",
            )
        )
    classes = "candidate" + (" best" if best else "") + (" current" if current else "")
    return html.Li(parts, className=classes)


def excluded_view(excluded: Sequence[Excluded], names: Mapping[int, str], *, open_: bool) -> Any:
    """Every worker who cannot take the order, with the reason, folded away unless nobody can."""
    if not excluded:
        return None
    return html.Details(
        open=open_,
        className="excluded",
        children=[
            html.Summary(f"Excluded workers ({len(excluded)})"),
            html.Ul(
                [
                    html.Li(
                        [
                            html.Span(names.get(e.worker_id, f"worker {e.worker_id}"), className="ex-name"),
                            html.Span(e.reason, className="ex-reason"),
                        ]
                    )
                    for e in excluded
                ]
            ),
        ],
    )


def order_view(explained: Explained, *, can_manage: bool, notice: Mapping[str, Any] | None) -> tuple[Any, ...]:
    """The card, the excluded workers, the notice and the actions' class for one order."""
    order, ranking, names = explained.order, explained.ranking, explained.names
    final = order.status in FINAL_STATUSES
    assignee = names.get(order.assigned_worker_id, "?") if order.assigned_worker_id is not None else "nobody yet"
    rows = [
        ("Type", f"{order.type.value} · priority {order.priority}"),
        ("Window", window_text(order.window)),
        ("Duration", minutes_text(order.service_duration_s)),
        ("Skills", ", ".join(sorted(order.required_skills)) or "any"),
        ("Assigned", assignee),
    ]
    if order.notes:
        rows.append(("Notes", order.notes))
    card: list[Any] = [html.Dl([item for label, value in rows for item in (html.Dt(label), html.Dd(value))])]
    if final:
        card.append(html.P(f"This order is {order.status.value}; it can no longer change.", className="muted"))
    elif ranking.candidates:
        best_id = ranking.best.worker_id if ranking.best else None
        card += [
            html.H3("Candidates" if order.assigned_worker_id is None else "Reassign to"),
            html.Ol(
                [
                    candidate_row(
                        c,
                        i + 1,
                        name=names.get(c.worker_id, f"worker {c.worker_id}"),
                        best=c.worker_id == best_id,
                        current=c.worker_id == order.assigned_worker_id,
                        can_manage=can_manage,
                    )
                    for i, c in enumerate(ranking.candidates)
                ],
                className="candidates",
            ),
        ]
    else:
        card.append(html.P("Nobody can take this order now; see why below.", className="warn"))
    if not can_manage and not final:
        card.append(html.P("Your role may view orders but not assign them.", className="muted"))
    actions = "order-actions" if can_manage and not final else "order-actions actions-hidden"
    excluded = excluded_view(ranking.excluded, names, open_=not ranking.candidates and not final)
    return card, excluded, notice_view(notice, names), actions


def order_error_view(text: str) -> tuple[Any, ...]:
    """No card: a hint or the reason the order cannot be shown."""
    css = "muted" if text == NO_ORDER_HINT else "error"
    return html.P(humanise(text), className=css), None, None, "order-actions actions-hidden"


def near_defaults(order: WorkOrder) -> dict[str, Any]:
    """What the who-is-near form starts from for this order: its required skills."""
    return {"order_id": order.id, "skills": sorted(order.required_skills)}


def near_view(found: Sequence[tuple[Nearby, str]], query: NearQuery, *, can_manage: bool) -> Any:
    """The nearest workers by travel time, each with an Assign button (the override rules still apply)."""
    if not found:
        needs = f" with {', '.join(sorted(query.skills))}" if query.skills else ""
        return html.P(f"Nobody{needs} is available now.", className="warn")
    rows = []
    for rank, (near, name) in enumerate(found, start=1):
        parts: list[Any] = [
            html.Span(str(rank), className="cand-rank"),
            html.Span(name, className="cand-name near-name"),
            html.Span(
                [
                    html.Span(f"ETA {minutes_text(near.eta_s)}", className="cand-eta near-eta"),
                    html.Span(
                        f"{distance_text(near.distance_m)} · {ORIGINS.get(near.origin_kind, '')}",
                        className="cand-score",
                    ),
                ],
                className="cand-facts",
            ),
        ]
        if can_manage:
            parts.append(
                html.Button(
                    "Assign",
                    id={"type": ids.NEAR_ASSIGN, "index": near.worker_id},
                    n_clicks=0,
                    className="assign",
                    title="Assign this order to this worker (anyone but the top candidate needs a reason)",
                )
            )
        rows.append(html.Li(parts, className="candidate near-row"))
    return html.Ol(rows, className="candidates near-results")


def distance_text(metres: float) -> str:
    """'350 m', '1.2 km'."""
    return f"{metres:.0f} m" if metres < 1000 else f"{metres / 1000:.1f} km"


def batch_view(result: BatchResult) -> Any:
    """'2 assigned (total travel 7 min), 1 left:' and why each order left over could not be assigned."""
    assigned, left = len(result.assigned), len(result.unassigned)
    if not assigned and not left:
        return html.P("No new orders to assign.", className="muted")
    summary = f"{assigned} assigned (total travel {minutes_text(result.total_cost_s)})" if assigned else "0 assigned"
    if not left:
        return html.P(summary + ".", className="ok")
    return html.Div(
        [
            html.P(f"{summary}, {left} left:", className="warn" if assigned else "error"),
            html.Ul(
                [html.Li(f"#{order_id}: {humanise(reason)}") for order_id, reason in result.unassigned],
                className="batch-left",
            ),
        ]
    )


def checkin_row(checkin: Mapping[str, Any]) -> html.Li:
    """'Check-in · verified · 12 m from the site'; anything but verified is marked for the eye."""
    verdict = str(checkin.get("verdict") or "")
    kind = "Check-in" if checkin.get("kind") == "in" else "Check-out"
    words = [kind, VERDICTS.get(verdict, verdict.replace("_", " "))]
    distance = checkin.get("distance_m")
    if isinstance(distance, int | float):
        words.append(f"{distance_text(float(distance))} from the site")
    suspicious = verdict != CheckinKind.VERIFIED.value
    text = " · ".join(words)
    return html.Li(
        ("⚠ " if suspicious else "✓ ") + text,
        className="checkin " + ("checkin-suspicious" if suspicious else "checkin-verified"),
    )


def photo_link(photo: Mapping[str, Any], number: int) -> html.A:
    """A thumbnail; a click opens the original in a new tab."""
    photo_id = photo["photo_id"]
    return html.A(
        html.Img(
            src=str(photo.get("thumbnail_url") or f"/api/v1/photos/{photo_id}/thumbnail"),
            alt=f"Photo {number}",
            className="photo-thumb",
        ),
        href=f"/api/v1/photos/{photo_id}/original",
        target="_blank",
        rel="noopener",
        className="photo-link",
        title="Open the original",
    )


def report_view(report: Mapping[str, Any]) -> html.Div:
    """The service report: text, ticked checklist, parts used, who signed."""
    children: list[Any] = [html.H4("Service report")]
    if report.get("text"):
        children.append(html.P(str(report["text"]), className="report-text"))
    checklist = report.get("checklist") or {}
    if checklist:
        children.append(
            html.Ul(
                [
                    html.Li(("☑ " if done else "☐ ") + str(item), className="tick" if done else "tick tick-no")
                    for item, done in checklist.items()
                ],
                className="checklist",
            )
        )
    parts = [p for p in report.get("parts") or [] if isinstance(p, Mapping)]
    if parts:
        children.append(
            html.P(
                "Parts: " + ", ".join(f"{p.get('name', '?')} × {p.get('quantity', 1)}" for p in parts),
                className="report-parts",
            )
        )
    signed_by = str(report.get("signed_by") or "").strip()
    if signed_by or report.get("has_signature"):
        who = f"Signed by {signed_by}" if signed_by else "Signed"
        children.append(
            html.P(who + (" (signature on file)" if report.get("has_signature") else ""), className="report-signed")
        )
    written = _time_of_day(report.get("written_at"))
    if written:
        children.append(html.P(f"Written at {written}", className="muted"))
    return html.Div(children, className="report")


def _time_of_day(iso: Any) -> str | None:
    try:
        return f"{datetime.fromisoformat(str(iso)):%H:%M} UTC" if iso else None
    except ValueError:
        return None


def _has_field_news(record: Mapping[str, Any]) -> bool:
    return bool(record.get("checkins") or record.get("photos") or record.get("report"))


def field_record_class(record: Mapping[str, Any]) -> str:
    """The section is shown once the field has sent something for the order."""
    return "field-record" if _has_field_news(record) else FIELD_HIDDEN


def field_record_view(record: Mapping[str, Any]) -> Any:
    """Check-ins with their verdicts, photo thumbnails and the service report, or 'nothing yet'."""
    checkins = list(record.get("checkins") or [])
    photos = list(record.get("photos") or [])
    report = record.get("report")
    if not _has_field_news(record):
        return html.P("Nothing from the field yet.", className="muted")
    parts: list[Any] = []
    if checkins:
        parts.append(html.Ul([checkin_row(c) for c in checkins], className="checkins"))
    parts.extend(checkin_confidence.confidence_section(record))
    if photos:
        parts.append(html.Div([photo_link(p, i) for i, p in enumerate(photos, start=1)], className="photos"))
    if report:
        parts.append(report_view(report))
    return parts
