"""The dispatcher's order panel: open orders, one order's candidates, and the new-order form.

The list of open orders, the order card's title, the tabs and the map highlights are drawn
clientside from the map layers (assets/live.js, like the worker list), so a pushed order change
shows at once. The server is asked only for what needs it: an order's ranked candidates
(`DispatchService.candidates`), an assignment or a cancellation, a new order, and the sites for the
picker. Each callback authorises, parses, calls one service function and returns what a pure
presenter below makes of the result.

The selected order lives in a store as `{"order_id": 7, "notice": {...}}`; the notice says what
just happened to it (created, assigned, refused) and is shown on its card.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import dash_leaflet as dl
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate
from dash_extensions.javascript import Namespace

from console.auth import ApiError
from console.dispatch_service import Created, DispatchService, Explained, NotFound
from console.order_input import FieldError, parse_new_order
from console.pages import ids
from dispatch.access import Action, Actor, can
from dispatch.assign import AutoDispatched, Candidate, Excluded, ManualDispatch
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


def orders_pane() -> html.Div:
    """The Orders tab: open orders (drawn by live.js) above the selected order's card."""
    return html.Div(
        id=ids.PANE_ORDERS,
        className="pane pane-hidden",
        children=[
            html.Div(id=ids.ORDER_LIST, className="order-list"),
            html.Div(
                id=ids.ORDER_DETAIL,
                className="order-detail",
                children=[
                    html.Div(id=ids.ORDER_HEAD, className="order-head", children=html.P(NO_ORDER_HINT)),
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


def register(
    app: Dash, *, dispatch: DispatchService, auth: Authoriser, list_sites: Callable[[], Sequence[Site]]
) -> Callbacks:
    """Wire the order panel. `list_sites()` returns every customer site, for the picker."""
    _register_clientside(app)

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
        Input(ids.SELECTED_ORDER, "data"),
        Input(ids.ORDER_REFRESH, "data"),
        prevent_initial_call=True,
    )
    def show_order(selected: Any, _refresh: Any) -> Any:
        try:
            actor = auth.require(Action.VIEW_ORDERS)
            order_id = selected_order_id(selected)
            if order_id is None:
                return order_error_view(NO_ORDER_HINT)
            explained = dispatch.candidates(actor=actor, order_id=order_id)
        except (ApiError, NotFound) as exc:
            return order_error_view(_reason(exc))
        can_manage = can(actor, Action.MANAGE_ORDERS).allowed
        return order_view(explained, can_manage=can_manage, notice=(selected or {}).get("notice"))

    @app.callback(
        Output(ids.SELECTED_ORDER, "data", allow_duplicate=True),
        Input({"type": ids.ASSIGN, "index": ALL}, "n_clicks"),
        Input(ids.CANCEL_ORDER, "submit_n_clicks"),
        State(ids.OVERRIDE_REASON, "value"),
        State(ids.SELECTED_ORDER, "data"),
        prevent_initial_call=True,
    )
    def act_on_order(_assign_clicks: Any, _cancel_clicks: Any, reason: str | None, selected: Any) -> Any:
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

    return Callbacks(load_sites, show_order, act_on_order, create_order)


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
    if isinstance(trigger, Mapping) and trigger.get("type") == ids.ASSIGN and isinstance(trigger.get("index"), int):
        return Command(order_id, trigger["index"], (reason or "").strip())
    if trigger == ids.CANCEL_ORDER:
        return Command(order_id, None, (reason or "").strip())
    raise FieldError("action", f"unknown action {trigger!r}")


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
