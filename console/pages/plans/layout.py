"""The plans page's layout: the optimise controls, the plan picker and its actions, the KPIs, the map and side
panels, and the timeline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import dash_leaflet as dl
from dash import dcc, html
from dash_socketio import DashSocketIO

from console import i18n
from console.i18n import _
from console.pages.plans.common import (
    BADGE,
    BALANCE,
    BASEMAP_URL,
    COMPARE,
    DATE,
    EVENT_PROGRESS,
    GANTT,
    KPIS,
    LISTED,
    MAP,
    MESSAGE,
    MINIMISE,
    MONACO_CENTRE,
    MOVE,
    MOVE_ORDER,
    MOVE_WORKER,
    PICK,
    PICKER,
    PROGRESS,
    PUBLISH,
    REPLAN,
    ROADS_NOTE,
    ROUTES,
    RUNNING,
    SECONDS,
    SOCKET,
    START,
    STOP,
    UNPLANNED,
    VERSION,
    VIOLATIONS,
)
from console.pages.plans.gantt import empty_gantt
from console.pages.plans.summary import default_plan, plan_options
from services.plan_views import PlanSummary


def layout(*, tile_url: str | None, actor_name: str, day: date, summaries: Sequence[PlanSummary]) -> html.Div:
    layers: list[Any] = []
    if tile_url:
        layers.append(dl.TileLayer(url=tile_url, attribution="© OpenStreetMap contributors"))
    layers += [
        dl.GeoJSON(url=BASEMAP_URL, style={"color": "#334155", "weight": 2}, interactive=False),
        dl.LayerGroup(id=ROUTES),
    ]
    return html.Div(
        className="plans-page",
        children=[
            DashSocketIO(id=SOCKET, eventNames=[EVENT_PROGRESS], options={"transports": ["websocket"]}),
            dcc.Store(id=RUNNING),
            dcc.Store(id=PICK),
            dcc.Store(id=LISTED, data=day.isoformat()),
            dcc.Store(id=VERSION, data=0),
            html.Header(
                className="plans-head",
                children=[
                    html.H1(_("Outfield · route plans")),
                    html.Span(actor_name, className="plans-actor"),
                    html.A(_("Live map"), href="/", className="plans-link"),
                    i18n.language_switch("/plans/"),
                ],
            ),
            html.Div(
                className="plans-controls",
                children=[
                    html.Label(
                        [_("Day"), dcc.DatePickerSingle(id=DATE, date=day.isoformat(), display_format="YYYY-MM-DD")]
                    ),
                    html.Label(
                        [
                            _("Seconds"),
                            dcc.Input(
                                id=SECONDS,
                                type="text",
                                inputMode="numeric",
                                value="10",
                                size="4",
                                className="plan-seconds",
                                debounce=True,
                            ),
                        ]
                    ),  # fmt: skip
                    html.Label(
                        [
                            _("Minimise"),
                            dcc.Dropdown(
                                id=MINIMISE,
                                options=[
                                    {"label": _("travel time"), "value": "time"},
                                    {"label": _("distance"), "value": "distance"},
                                    {"label": _("time and distance"), "value": "mix"},
                                ],
                                value="time",
                                clearable=False,
                                searchable=False,
                                className="plan-minimise",
                            ),
                        ]
                    ),  # fmt: skip
                    dcc.Checklist(
                        id=BALANCE,
                        options=[{"label": _("Balance workload"), "value": "balance"}],
                        value=[],
                        className="plan-balance",
                    ),  # fmt: skip
                    html.Button(_("Optimise"), id=START, className="plans-button"),
                    html.Button(_("Stop"), id=STOP, className="plans-button plans-stop", disabled=True),
                    html.Span(id=PROGRESS, className="plans-progress"),
                    html.Span(id=MESSAGE, className="plans-message"),
                ],
            ),
            html.Div(
                className="plans-toolbar",
                children=[
                    html.Label(
                        [
                            _("Plan"),
                            dcc.Dropdown(
                                id=PICKER,
                                options=plan_options(summaries),
                                value=default_plan(summaries),
                                clearable=False,
                                searchable=False,
                                placeholder=_("No plan for this day yet"),
                                className="plan-picker",
                            ),
                        ],
                    ),  # fmt: skip
                    html.Span(id=BADGE, className="plan-badge"),
                    html.Button(_("Publish"), id=PUBLISH, className="plans-button plans-publish", disabled=True),
                    html.Button(
                        _("Re-plan now"),
                        id=REPLAN,
                        className="plans-button plans-replan",
                        disabled=True,
                        title=_("Re-optimise the rest of the published day: work under way stays put"),
                    ),  # fmt: skip
                ],
            ),
            html.Div(id=KPIS, className="plans-kpis"),
            html.Div(
                className="plans-body",
                children=[
                    html.Div(
                        [
                            dl.Map(
                                id=MAP,
                                center=MONACO_CENTRE,
                                zoom=14,
                                children=layers,
                                style={"height": "100%", "width": "100%"},
                            ),  # fmt: skip
                            html.P(id=ROADS_NOTE, className="plans-roads-note"),
                        ],
                        className="plans-map",
                    ),
                    html.Div(
                        className="plans-side",
                        children=[
                            html.H2(_("Move a visit")),
                            html.Div(
                                className="plans-move",
                                children=[
                                    dcc.Dropdown(id=MOVE_ORDER, placeholder=_("Order…"), className="plan-move-order"),
                                    dcc.Dropdown(
                                        id=MOVE_WORKER, placeholder=_("to worker…"), className="plan-move-worker"
                                    ),
                                    html.Button(_("Move"), id=MOVE, className="plans-button"),
                                ],
                            ),
                            html.H2(_("Rules")),
                            html.Div(id=VIOLATIONS, className="plans-violations"),
                            html.H2(_("Compared with published")),
                            html.Div(id=COMPARE, className="plans-compare"),
                            html.H2(_("Unplanned")),
                            html.Div(id=UNPLANNED, className="plans-unplanned"),
                        ],
                    ),
                ],
            ),
            dcc.Graph(
                id=GANTT,
                className="plans-gantt",
                config={"displayModeBar": False},
                figure=empty_gantt(),
            ),
        ],
    )
