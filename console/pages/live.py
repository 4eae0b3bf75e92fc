"""The dispatcher's wall screen: a full-screen live map with a side panel (Workers | Orders | New order).

Positions arrive pushed over a Socket.IO connection that assets/live.js opens itself, and go straight
to the workers layer's Leaflet markers, the worker counts and the worker list, never through Dash's
store (each store update costs the page in proportion to the whole layout; see bench/README.md). The
layout below declares those containers empty for live.js to fill. Order pushes come over the same
socket onto the orders layer and the selected order's card, every one (a DashSocketIO prop would keep
only the last of a burst: Dash runs a callback once for a prop set twice before it ran), and each
connect re-reads the snapshot (pushes before the socket connected reached nobody). The server is called only for
user actions (the worker card and its push link, and the order panel's actions in
`console.pages.orders`).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import dash_leaflet as dl
from dash import Dash, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate
from dash_extensions.javascript import Namespace

from console import i18n
from console.api_field import qr_svg
from console.auth import ApiError
from console.i18n import N_, _
from console.pages import ids, inputs, orders
from dispatch.access import Action, Actor, can
from services.field_service import FieldService, IssuedLink
from services.live_service import LiveSnapshot

MONACO_CENTRE = (43.7384, 7.4246)
NS = Namespace("outfield")
BASEMAP_URL = "/assets/basemap/monaco_roads.geojson"
WORKER_LABELS_UP_TO = 150
ORDER_LABELS_UP_TO = 200
"""Markers carry permanent labels (workers their name, orders their number) while the map holds no more
than these; beyond, labels show on hover only (a 500-worker map would be a wall of text, and each
permanent label is a DOM element Leaflet moves on every pan and zoom)."""


NAV: tuple[tuple[Action | None, str, str, str], ...] = (
    (Action.PLAN_ROUTES, N_("Route plans"), "/plans/", "plans-nav"),
    (Action.REVIEW_CHECKINS, N_("Check-in review"), "/review/", "review-nav"),
    (Action.MANAGE_FORMS, N_("Forms and approvals"), "/forms/", "forms-nav"),
    (Action.VIEW_TIMESHEETS, N_("Attendance"), "/attendance/", "attendance-nav"),
    (None, N_("Administration"), "/admin/", "admin-nav"),  # each role of the live map has screens there
)
"""The pages the live map links to, each shown to those whose role may open it (None: every role of this page)."""


def layout(
    snapshot: LiveSnapshot, *, tile_url: str | None, actor_name: str, may: Callable[[Action], bool] = lambda _a: True
) -> html.Div:
    """The page for one load: the current fleet and open orders are drawn at once; `may` says which of the pages
    `NAV` links to the reader's role may open (a link to a page that would refuse them is left out)."""
    map_layers: list[Any] = []
    if tile_url:
        map_layers.append(dl.TileLayer(url=tile_url, attribution="© OpenStreetMap contributors"))
    map_layers += [
        dl.GeoJSON(id=ids.BASEMAP_LAYER, url=BASEMAP_URL, style=NS("roadStyle"), interactive=False),
        orders.sites_layer(),
        dl.GeoJSON(id=ids.ORDERS_LAYER, data=snapshot.orders, pointToLayer=NS("orderMarker")),
        dl.GeoJSON(id=ids.WORKERS_LAYER, data=snapshot.workers, pointToLayer=NS("workerMarker")),
        orders.highlight_layer(),
        dl.ScaleControl(position="bottomright"),
    ]
    n_orders = len(snapshot.orders["features"])
    labels = {
        "data-worker-labels": "on" if len(snapshot.workers["features"]) <= WORKER_LABELS_UP_TO else "off",
        "data-order-labels": "on" if n_orders <= ORDER_LABELS_UP_TO else "off",
    }
    return html.Div(
        id=ids.WALL,
        className="wall tab-workers",
        **labels,
        # live.js shows and fills times on the office's clock, and writes its words in the page's language.
        **{
            "data-timezone": i18n.office_zone().key,
            "data-messages": json.dumps(i18n.messages(i18n.current_language()), ensure_ascii=False),
            "data-reason-templates": json.dumps(i18n.reason_templates(i18n.current_language()), ensure_ascii=False),
        },
        children=[
            dcc.Store(id=ids.FEED, data={"connected": False}),
            dcc.Store(id=ids.SELECTED),
            *orders.stores(),
            html.Div(
                className="map",
                children=[
                    dl.Map(
                        id=ids.MAP,
                        center=MONACO_CENTRE,
                        zoom=15,
                        zoomSnap=0.25,  # the fitted view (live.js) hugs the fleet instead of jumping a whole level
                        zoomDelta=0.5,
                        children=map_layers,
                        style={"height": "100%", "width": "100%"},
                        preferCanvas=False,
                    ),
                    html.Div(_("Streets © OpenStreetMap contributors (ODbL)"), className="attribution-note"),
                    alerts_panel(),
                ],
                style={"position": "relative"},
            ),
            html.Aside(
                className="panel",
                children=[
                    html.Header(
                        [
                            html.Div(
                                className="panel-title",
                                children=[
                                    html.H1(_("Outfield · live")),
                                    html.Span(_("connecting…"), id=ids.CONN, className="conn conn-down"),
                                ],
                            ),
                            html.Nav(
                                className="panel-nav",
                                children=[
                                    *(
                                        html.A(_(text), href=href, className=name)
                                        for action, text, href, name in NAV
                                        if action is None or may(action)
                                    ),
                                    i18n.language_switch("/"),
                                ],
                            ),
                        ]
                    ),
                    html.Div(
                        id=ids.COUNTS,
                        className="counts",
                        children=[
                            html.Div(id=ids.STATE_COUNTS, style={"display": "contents"}),
                            html.Div(
                                className="count count-orders",
                                children=[
                                    html.Span(str(n_orders), id=ids.OPEN_ORDERS, className="count-n"),
                                    html.Span(_("open orders"), className="count-label"),
                                ],
                            ),
                        ],
                    ),
                    orders.tab_bar(),
                    html.Div(
                        id=ids.PANE_WORKERS,
                        className="pane",
                        children=[
                            dcc.Input(
                                id=ids.SEARCH,
                                type="search",
                                placeholder=_("Search name, skill, team"),
                                className="search",
                                debounce=True,  # live.js filters as you type; Dash needs no store update per key
                            ),
                            html.Div(id=ids.WORKER_LIST, className="worker-list"),
                            html.Div(
                                className="worker-detail",
                                children=[
                                    html.Div(
                                        id=ids.CARD,
                                        className="card",
                                        children=html.P(_(NO_WORKER_HINT)),
                                    ),
                                    push_panel(),
                                ],
                            ),
                        ],
                    ),
                    orders.orders_pane(),
                    orders.new_order_pane(),
                    legend(actor_name),
                ],
            ),
        ],
    )


def legend(actor_name: str) -> html.Div:
    """Who is signed in, and what the workers' marker colours mean (the colours are style.css's `.dot`s, the
    markers' live.js's STATE_COLOURS); a worker with no fix yet, or off shift, is drawn small and pale at their home
    base."""
    states = [("idle", _("Idle")), ("en_route", _("En route")), ("on_site", _("On site")), ("offline", _("Offline"))]
    keys = [html.Span([html.I(className="dot"), text], className=f"legend-key state-{state}") for state, text in states]
    keys.append(html.Span([html.I(className="dot"), _("No fix yet")], className="legend-key state-home"))
    keys.append(html.Span([html.I(className="dot"), _("Off shift")], className="legend-key state-off_shift"))
    return html.Div(
        className="legend",
        children=[
            html.Div(_("Signed in as {name}").format(name=actor_name), className="legend-user"),
            html.Div(keys, className="legend-keys", **{"aria-label": _("Worker states")}),
        ],
    )


def alerts_panel() -> html.Section:
    """The exceptions panel over the map: live.js lists the open alerts here (most severe, then newest, first),
    each with the worker to focus, the order to reassign and an acknowledgement with a note."""
    return html.Section(
        id=ids.ALERTS_PANEL,
        className="alerts-panel",
        **{"aria-label": _("Exceptions")},
        children=[
            html.Header(
                [html.H2(_("Exceptions")), html.Span("0", id=ids.ALERTS_COUNT, className="alerts-badge alerts-none")]
            ),
            html.Ol(
                id=ids.ALERTS_LIST,
                className="alerts-list",
                **{"aria-live": "polite", "data-empty": _("No open exceptions.")},  # shown by style.css when empty
            ),
        ],
    )


PANEL_HIDDEN = "push-panel actions-hidden"
NO_WORKER_HINT = N_("Select a worker on the map or in the list.")


def push_panel() -> html.Div:
    """The selected worker's push link: issue and show it, send it through the hook, revoke every link."""
    return html.Div(
        id=ids.PUSH_PANEL,
        className=PANEL_HIDDEN,
        children=[
            html.Div(
                className="push-buttons",
                children=[
                    html.Button(
                        _("Push link"),
                        id=ids.PUSH_LINK,
                        n_clicks=0,
                        className="primary",
                        title=_("Issue today's link to the worker's field page and show it here"),
                    ),
                    html.Button(
                        _("Send"),
                        id=ids.PUSH_SEND,
                        n_clicks=0,
                        title=_("Issue today's link and hand it to the SMS/e-mail hook"),
                    ),
                    dcc.ConfirmDialogProvider(
                        html.Button(_("Revoke links"), className="danger", n_clicks=0),
                        id=ids.PUSH_REVOKE,
                        message=_(
                            "Revoke every link issued to this worker? Their phone stops syncing until "
                            "they get a new link."
                        ),
                    ),
                ],
            ),
            html.Div(id=ids.PUSH_RESULT, className="push-result", role="status"),
        ],
    )


class Authoriser(Protocol):
    def require(self, action: Action, *, worker_id: int | None = None) -> Actor: ...


@dataclass(frozen=True, slots=True)
class Callbacks:
    """The server callbacks as plain functions, for unit tests."""

    show_card: Callable[..., Any]
    push_action: Callable[..., Any]


@dataclass(frozen=True, slots=True)
class PushCommand:
    """One click in the push-link panel: 'issue', 'send' or 'revoke' for a worker."""

    worker_id: int
    kind: str


def register(
    app: Dash,
    *,
    worker_card: Callable[[int], dict[str, Any] | None],
    field: FieldService,
    auth: Authoriser,
) -> Callbacks:
    """Wire the page's callbacks. `worker_card(worker_id)` returns the card dict or None.

    The workers layer, its counts and list are live.js's (positions and clicks on the list need no
    callback); what is here runs on orders, on the connection's state and on user actions.
    """
    app.clientside_callback(
        "window.dash_clientside.live.openOrders",
        Output(ids.OPEN_ORDERS, "children"),
        Input(ids.ORDERS_LAYER, "data"),
    )
    app.clientside_callback(
        "window.dash_clientside.live.badge",
        Output(ids.CONN, "children"),
        Output(ids.CONN, "className"),
        Input(ids.FEED, "data"),
    )
    app.clientside_callback(
        "window.dash_clientside.live.selectFromMap",
        Output(ids.SELECTED, "data", allow_duplicate=True),
        Input(ids.WORKERS_LAYER, "clickData"),
        prevent_initial_call=True,
    )

    app.clientside_callback(
        "window.dash_clientside.live.copyLink",
        Output(ids.PUSH_COPY, "children"),
        Input(ids.PUSH_COPY, "n_clicks"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output(ids.CARD, "children"),
        Output(ids.PUSH_PANEL, "className"),
        Output(ids.PUSH_RESULT, "children"),
        Input(ids.SELECTED, "data"),
        prevent_initial_call=True,
    )
    def show_card(selected: Any) -> Any:
        worker_id = inputs.picked_id(selected)
        if worker_id is None:
            return html.P(_(NO_WORKER_HINT)), PANEL_HIDDEN, None
        try:
            actor = auth.require_worker(Action.VIEW_POSITIONS, worker_id)
            card = worker_card(worker_id)
        except ApiError as exc:
            return html.P(orders.humanise(exc.reason), className="error"), PANEL_HIDDEN, None
        may_push = card is not None and can(actor, Action.MANAGE_ORDERS).allowed
        return card_view(card), "push-panel" if may_push else PANEL_HIDDEN, None

    @app.callback(
        Output(ids.PUSH_RESULT, "children", allow_duplicate=True),
        Input(ids.PUSH_LINK, "n_clicks"),
        Input(ids.PUSH_SEND, "n_clicks"),
        Input(ids.PUSH_REVOKE, "submit_n_clicks"),
        State(ids.SELECTED, "data"),
        prevent_initial_call=True,
    )
    def push_action(_issue: Any, _send: Any, _revoke: Any, worker_id: Any) -> Any:
        clicked = ctx.triggered[0]["value"] if ctx.triggered else None
        if not clicked:
            raise PreventUpdate
        try:
            actor = auth.require(Action.MANAGE_ORDERS)
            command = parse_push(ctx.triggered_id, worker_id)
            auth.check_worker_in_scope(actor, command.worker_id)
            if command.kind == "revoke":
                return revoked_view(field.revoke_links(actor=actor, worker_id=command.worker_id))
            link = field.issue_link(
                actor=actor, worker_id=command.worker_id, day=field.today(), send=command.kind == "send"
            )
        except (ApiError, ValueError) as exc:  # FieldInputError and the link's own refusals are ValueErrors
            return push_error_view(exc)
        return link_view(link, sent=command.kind == "send")

    return Callbacks(show_card, push_action)


def parse_push(trigger: Any, worker_id: Any) -> PushCommand:
    """Which button was clicked, for which worker."""
    if isinstance(worker_id, bool) or not isinstance(worker_id, int):
        raise ValueError("worker_id: select a worker first")
    kinds = {ids.PUSH_LINK: "issue", ids.PUSH_SEND: "send", ids.PUSH_REVOKE: "revoke"}
    if trigger not in kinds:
        raise ValueError(f"action: unknown button {trigger!r}")
    return PushCommand(worker_id, kinds[trigger])


def qr_data_url(url: str) -> str:
    """The link as a QR code an <img> can show: an SVG data URL."""
    return "data:image/svg+xml;base64," + base64.b64encode(qr_svg(url).encode()).decode()


def link_view(link: IssuedLink, *, sent: bool) -> html.Div:
    """The issued link: QR code to scan, the URL to copy, and when it stops working."""
    note = (_("Sent to {name}.") if sent else _("Today's link for {name}:")).format(name=link.worker_name)
    return html.Div(
        className="push-link-box",
        children=[
            html.P(note, className="ok"),
            html.Div(
                className="push-link-body",
                children=[
                    html.Img(
                        src=qr_data_url(link.url),
                        alt=_("QR code of {name}'s link").format(name=link.worker_name),
                        className="push-qr",
                    ),
                    html.Div(
                        className="push-link-text",
                        children=[
                            html.Code(link.url, id=ids.PUSH_URL, className="push-url"),
                            html.Button(_("Copy"), id=ids.PUSH_COPY, n_clicks=0, className="push-copy"),
                            html.P(
                                _("Valid until {when}").format(when=i18n.date_time(link.expires_at)),
                                className="push-expiry muted",
                            ),
                        ],
                    ),
                ],
            ),
        ],
    )


def revoked_view(version: int) -> html.P:
    """Every earlier link stops working; the version says how many times links were revoked."""
    return html.P(
        _(
            "Links revoked: every link issued so far no longer opens (link version {version}). "
            "Push a new link to let the worker back in."
        ).format(version=version),
        className="ok",
    )


def push_error_view(exc: Exception) -> html.P:
    """Why the link was not issued, sent or revoked, as a sentence."""
    return html.P(orders.humanise(str(exc)), className="error")


CONSENT_WORDS = {"given": N_("consent given"), "none": N_("no consent"), "withdrawn": N_("consent withdrawn")}
"""What the worker card says about the worker's consent to tracking (`dispatch.privacy.ConsentState`)."""


def order_words(order: dict[str, str]) -> str:
    """'repair at Casino (en route)' in the reader's language."""
    kind, status = i18n.reason(order["type"]), i18n.reason(order["status"].replace("_", " "))
    return _("{type} at {site} ({status})").format(type=kind, site=order["site"], status=status)


def card_view(card: dict[str, Any] | None) -> Any:
    """The worker card as components (pure, testable without a browser)."""
    if card is None:
        return html.P(_("That worker no longer exists."))
    fix: datetime | None = card["last_fix_time"]
    rows = [
        (_("Skills"), ", ".join(card["skills"]) or "—"),
        (_("Team"), card["team"] or "—"),
        (_("Last fix"), i18n.clock_time(fix, seconds=True) if fix else _("no fix yet")),
        (_("Battery"), f"{card['battery_pct']:.0f} %" if card["battery_pct"] is not None else "—"),
        (_("Speed"), f"{card['speed_mps'] * 3.6:.0f} km/h" if card["speed_mps"] is not None else "—"),
        (_("On shift"), _("yes") if card["on_shift"] else _("no")),
        (_("Tracking"), _(CONSENT_WORDS[card["consent"]]) if card.get("consent") in CONSENT_WORDS else "—"),
        (_("Current order"), order_words(card["current_order"]) if card.get("current_order") else _("none")),
    ]
    return [
        html.H2(card["name"]),
        html.Dl([item for label, value in rows for item in (html.Dt(label), html.Dd(value))]),
        html.A(_("Day on the map"), href=f"/day/?worker={card['worker_id']}", className="card-day-link"),
    ]
