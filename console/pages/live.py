"""The dispatcher's wall screen: a full-screen live map with a side panel (Workers | Orders | New order).

Positions arrive pushed over Socket.IO (dash-socketio) and are merged into the GeoJSON layer by a
clientside callback (assets/live.js); the server is called only for user actions (the worker card,
and the order panel's actions in `console.pages.orders`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dash_leaflet as dl
from dash import ALL, Dash, Input, Output, State, dcc, html
from dash_extensions.javascript import Namespace
from dash_socketio import DashSocketIO

from console.pages import ids, orders
from console.services import LiveSnapshot

MONACO_CENTRE = (43.7384, 7.4246)
NS = Namespace("outfield")
BASEMAP_URL = "/assets/basemap/monaco_roads.geojson"


def layout(snapshot: LiveSnapshot, *, tile_url: str | None, actor_name: str) -> html.Div:
    """The page for one load: the current fleet and open orders are drawn at once."""
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
    return html.Div(
        id=ids.WALL,
        className="wall tab-workers",
        children=[
            DashSocketIO(
                id=ids.SOCKET,
                eventNames=[ids.EVENT_POSITIONS, ids.EVENT_ORDERS],
                options={"transports": ["websocket"]},
            ),
            dcc.Interval(id=ids.TICK, interval=15_000),
            dcc.Store(id=ids.SELECTED),
            *orders.stores(),
            html.Div(
                className="map",
                children=[
                    dl.Map(
                        id=ids.MAP,
                        center=MONACO_CENTRE,
                        zoom=15,
                        children=map_layers,
                        style={"height": "100%", "width": "100%"},
                        preferCanvas=False,
                    ),
                    html.Div("Streets © OpenStreetMap contributors (ODbL)", className="attribution-note"),
                ],
                style={"position": "relative"},
            ),
            html.Aside(
                className="panel",
                children=[
                    html.Header(
                        [html.H1("Outfield · live"), html.Span("connecting…", id=ids.CONN, className="conn conn-down")]
                    ),
                    html.Div(id=ids.COUNTS, className="counts"),
                    orders.tab_bar(),
                    html.Div(
                        id=ids.PANE_WORKERS,
                        className="pane",
                        children=[
                            dcc.Input(
                                id=ids.SEARCH,
                                type="search",
                                placeholder="Search name, skill, team",
                                className="search",
                                debounce=False,
                            ),
                            html.Div(id=ids.WORKER_LIST, className="worker-list"),
                            html.Div(
                                id=ids.CARD,
                                className="card",
                                children=html.P("Select a worker on the map or in the list."),
                            ),
                        ],
                    ),
                    orders.orders_pane(),
                    orders.new_order_pane(),
                    html.Div(f"Signed in as {actor_name} · Idle · En route · On site · Offline", className="legend"),
                ],
            ),
        ],
    )


def register(app: Dash, *, worker_card: Any) -> None:
    """Wire the page's callbacks. `worker_card(worker_id)` returns the card dict or None."""
    app.clientside_callback(
        "window.dash_clientside.live.applyPositions",
        Output(ids.WORKERS_LAYER, "data"),
        Input(ids.SOCKET, f"data-{ids.EVENT_POSITIONS}"),
        Input(ids.TICK, "n_intervals"),
        Input(ids.SOCKET, f"data-{ids.EVENT_ORDERS}"),
        State(ids.WORKERS_LAYER, "data"),
    )
    app.clientside_callback(
        "window.dash_clientside.live.applyOrders",
        Output(ids.ORDERS_LAYER, "data"),
        Input(ids.SOCKET, f"data-{ids.EVENT_ORDERS}"),
        State(ids.ORDERS_LAYER, "data"),
    )
    app.clientside_callback(
        "window.dash_clientside.live.panel",
        Output(ids.COUNTS, "children"),
        Output(ids.WORKER_LIST, "children"),
        Output(ids.CONN, "children"),
        Output(ids.CONN, "className"),
        Input(ids.WORKERS_LAYER, "data"),
        Input(ids.ORDERS_LAYER, "data"),
        Input(ids.SEARCH, "value"),
        Input(ids.SOCKET, "connected"),
    )
    app.clientside_callback(
        "window.dash_clientside.live.selectFromList",
        Output(ids.SELECTED, "data", allow_duplicate=True),
        Input({"type": ids.WORKER_ITEM, "index": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        "window.dash_clientside.live.selectFromMap",
        Output(ids.SELECTED, "data", allow_duplicate=True),
        Input(ids.WORKERS_LAYER, "clickData"),
        prevent_initial_call=True,
    )

    @app.callback(Output(ids.CARD, "children"), Input(ids.SELECTED, "data"), prevent_initial_call=True)
    def show_card(worker_id: int | None) -> Any:
        if worker_id is None:
            return html.P("Select a worker on the map or in the list.")
        return card_view(worker_card(int(worker_id)))


def card_view(card: dict[str, Any] | None) -> Any:
    """The worker card as components (pure, testable without a browser)."""
    if card is None:
        return html.P("That worker no longer exists.")
    fix: datetime | None = card["last_fix_time"]
    rows = [
        ("Skills", ", ".join(card["skills"]) or "—"),
        ("Team", card["team"] or "—"),
        ("Last fix", fix.strftime("%H:%M:%S UTC") if fix else "no fix yet"),
        ("Battery", f"{card['battery_pct']:.0f} %" if card["battery_pct"] is not None else "—"),
        ("Speed", f"{card['speed_mps'] * 3.6:.0f} km/h" if card["speed_mps"] is not None else "—"),
        ("On shift", "yes" if card["on_shift"] else "no"),
        ("Current order", card["current_order"] or "none"),
    ]
    return [
        html.H2(card["name"]),
        html.Dl([item for label, value in rows for item in (html.Dt(label), html.Dd(value))]),
    ]
