"""The panel's frame and the list of open orders: tabs, stores, map highlights and the batch bar.

The list itself, the tab titles and the highlights are drawn clientside from the map layers
(assets/live.js), so a pushed order change shows at once; see `order_list_callbacks`.
"""

from __future__ import annotations

from typing import Any

import dash_leaflet as dl
from dash import dcc, html

from console.i18n import _
from console.pages import ids
from console.pages.orders.common import EMPTY_LAYER, NS, TAB_WORKERS, humanise, minutes_text
from services.dispatch_service import BatchResult


def highlight_layer() -> dl.GeoJSON:
    """Rings around the selected order and the picked site (drawn on top, never in the way of a click).

    Each ring is a small element of its own (assets/live.js highlightMarker), pulsed by its own opacity: the
    compositor redraws a ring's few pixels per frame. As a path in the markers' SVG it repainted all 2,500
    markers every frame, and as the opacity of an SVG of the map's size it made chromium redraw the whole map
    (bench/README.md, "The dispatcher's console")."""
    return dl.GeoJSON(id=ids.HIGHLIGHT_LAYER, data=EMPTY_LAYER, pointToLayer=NS("highlightMarker"), interactive=False)


def stores() -> list[Any]:
    return [
        dcc.Store(id=ids.ACTIVE_TAB, data=TAB_WORKERS),
        dcc.Store(id=ids.SELECTED_ORDER),
        dcc.Store(id=ids.ORDER_REFRESH),
        dcc.Store(id=ids.ORDERS_CHANGED, data=0),
        dcc.Store(id=ids.NEAR_TARGET),
        dcc.Store(id=ids.NEAR_DEFAULTS),
        dcc.Store(id=ids.CARD_SHOW_ALL),
        dcc.Store(id=ids.ASSIGN_CLICK),
        dcc.Store(id=ids.ORDER_ACTION),
    ]


def tab_bar() -> html.Nav:
    return html.Nav(
        className="tabs",
        children=[
            html.Button(_("Workers"), id=ids.TAB_WORKERS, n_clicks=0, className="tab tab-active"),
            html.Button(_("Orders"), id=ids.TAB_ORDERS, n_clicks=0, className="tab"),
            html.Button(_("New order"), id=ids.TAB_NEW_ORDER, n_clicks=0, className="tab"),
        ],
    )


def batch_bar() -> html.Div:
    """'Assign all open orders': shown only to roles that may assign (see `manage_controls`)."""
    return html.Div(
        id=ids.BATCH_BAR,
        className="batch-bar actions-hidden",
        children=[
            dcc.ConfirmDialogProvider(
                html.Button(_("Assign all open orders"), className="batch-button", n_clicks=0),
                id=ids.BATCH_ASSIGN,
                message=_("Assign every new order now, each to the worker that keeps the total travel least?"),
            ),
            html.Div(id=ids.BATCH_MESSAGE, className="batch-message", role="status"),
        ],
    )


def order_list() -> html.Div:
    """Where live.js draws the open orders (one plain button per order, by priority), outside Dash's store."""
    return html.Div(id=ids.ORDER_LIST, className="order-list")


def batch_view(result: BatchResult) -> Any:
    """'2 assigned (total travel 7 min), 1 left:' and why each order left over could not be assigned."""
    assigned, left = len(result.assigned), len(result.unassigned)
    if not assigned and not left:
        return html.P(_("No new orders to assign."), className="muted")
    travel = minutes_text(result.total_cost_s)
    summary = _("{n} assigned (total travel {time})").format(n=assigned, time=travel) if assigned else _("0 assigned")
    if not left:
        return html.P(summary + ".", className="ok")
    return html.Div(
        [
            html.P(
                _("{summary}, {n} left:").format(summary=summary, n=left), className="warn" if assigned else "error"
            ),
            html.Ul(
                [html.Li(f"#{order_id}: {humanise(reason)}") for order_id, reason in result.unassigned],
                className="batch-left",
            ),
        ]
    )
