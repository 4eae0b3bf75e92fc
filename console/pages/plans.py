"""The managers' route-plan review page (/plans): optimise a day, watch progress, review the result.

The optimisation runs as a background job (`console.plan_jobs.PlanJobs`); this page starts it, polls
its status every 500 ms while it runs (a job monitor, not the live map) and, once it ends, shows the
KPIs, each worker's route on a map, a Gantt timeline per worker and the orders left unplanned.
The presenters below are pure functions of the plan JSON, so they are unit-tested without a server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import dash_leaflet as dl
import plotly.graph_objects as go
from dash import Dash, Input, Output, State, dcc, html, no_update
from dash.exceptions import PreventUpdate

from console.auth import ApiError, Auth
from console.plan_jobs import PlanInputError, PlanJobs
from dispatch.access import Action

PATH = "/plans"
MONACO_CENTRE = (43.7384, 7.4246)
BASEMAP_URL = "/assets/basemap/monaco_roads.geojson"
POLL_MS = 500
FINISHED = ("done", "stopped", "failed", "interrupted")

# Component ids (kebab-case, prefixed so they never clash with the live page's).
DATE = "plan-date"
SECONDS = "plan-seconds"
START = "plan-start"
STOP = "plan-stop"
PLAN_ID = "plan-id"
POLL = "plan-poll"
PROGRESS = "plan-progress"
MESSAGE = "plan-message"
KPIS = "plan-kpis"
MAP = "plan-map"
ROUTES = "plan-routes"
GANTT = "plan-gantt"
UNPLANNED = "plan-unplanned"

WORKER_COLOURS = ("#38bdf8", "#f59e0b", "#a78bfa", "#4ade80", "#f43f5e", "#2dd4bf", "#facc15", "#fb923c", "#e879f9")
SEGMENT_COLOURS = {"travel": "#38bdf8", "service": "#4ade80", "waiting": "#64748b", "break": "#f59e0b"}

# order_id -> (lat, lon, site name); supplied by the composition root.
Places = Mapping[int, tuple[float, float, str]]
LocatePlaces = Callable[[Iterable[int]], Places]


def is_plans_request(request: Any) -> bool:
    """Whether a Dash layout request comes from the /plans page (the page's URL is the referrer)."""
    if request.path.rstrip("/") == PATH:
        return True
    referrer = request.referrer or ""
    return urlsplit(referrer).path.rstrip("/") == PATH


def tomorrow_utc(now: datetime | None = None) -> date:
    return ((now or datetime.now(UTC)) + timedelta(days=1)).date()


def worker_colour(index: int) -> str:
    return WORKER_COLOURS[index % len(WORKER_COLOURS)]


def _t(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _seconds(start: str, end: str) -> float:
    return max(0.0, (_t(end) - _t(start)).total_seconds())


# --- presenters (pure) ---------------------------------------------------------------------------


def plan_kpis(plan: Mapping[str, Any]) -> dict[str, str]:
    """Visits planned, unplanned, total travel (h), utilisation and on-time share, formatted for display."""
    routes = plan.get("routes", [])
    stops = [s for r in routes for s in r.get("stops", [])]
    service_s = sum(_seconds(s["start"], s["end"]) for s in stops)
    travel_s = sum(float(r.get("travel_s", 0)) for r in routes)
    span_s = sum(_seconds(r["start"], r["end"]) for r in routes)
    # The solver only plans visits inside their windows; a stop flagged late (if ever) counts against.
    on_time = sum(1 for s in stops if not s.get("late", False))
    return {
        "planned": str(plan.get("planned", len(stops))),
        "unplanned": str(len(plan.get("unplanned", []))),
        "travel": f"{travel_s / 3600:.1f} h",
        "utilisation": f"{(service_s + travel_s) / span_s:.0%}" if span_s > 0 else "–",
        "on_time": f"{on_time / len(stops):.0%}" if stops else "–",
    }


KPI_LABELS = {
    "planned": "Visits planned",
    "unplanned": "Unplanned",
    "travel": "Total travel",
    "utilisation": "Utilisation",
    "on_time": "On time",
}


def kpi_tiles(kpis: Mapping[str, str]) -> list[html.Div]:
    return [
        html.Div(
            [html.Span(kpis[key], className="kpi-value"), html.Span(label, className="kpi-label")],
            className=f"kpi kpi-{key}",
        )
        for key, label in KPI_LABELS.items()
    ]


def progress_text(status: Mapping[str, Any]) -> str:
    """One line describing a job: its state, best cost so far and elapsed time."""
    state = status.get("status") or "queued"
    progress = status.get("progress") or {}
    parts = [state.capitalize()]
    if progress.get("best_cost") is not None:
        parts.append(f"best cost {float(progress['best_cost']):,.0f}")
    if progress.get("elapsed_s") is not None:
        parts.append(f"{float(progress['elapsed_s']):.1f} s elapsed")
    if progress.get("solutions") is not None:
        parts.append(f"{progress['solutions']} solutions")
    if status.get("error"):
        parts.append(str(status["error"]))
    return " · ".join(parts)


def route_layers(plan: Mapping[str, Any], places: Places) -> list[Any]:
    """Per worker: a polyline in its colour through its stops, and numbered stop markers."""
    layers: list[Any] = []
    for index, route in enumerate(plan.get("routes", [])):
        colour = worker_colour(index)
        points = [
            (n, s, places[s["order_id"]]) for n, s in enumerate(route.get("stops", []), 1) if s["order_id"] in places
        ]
        if not points:
            continue
        positions = [[p[0], p[1]] for _, _, p in points]
        layers.append(
            dl.Polyline(
                positions=positions,
                color=colour,
                weight=5,
                opacity=0.9,
                className=f"plan-route plan-route-{route['worker_id']}",
                children=dl.Tooltip(str(route.get("name", route["worker_id"]))),
            )
        )
        for n, stop, (lat, lon, site) in points:
            layers.append(
                dl.DivMarker(
                    position=[lat, lon],
                    iconOptions={
                        "className": "plan-stop",
                        "html": f'<span style="background:{colour}">{n}</span>',
                        "iconSize": [26, 26],
                        "iconAnchor": [13, 13],
                    },
                    children=dl.Tooltip(
                        f"{route.get('name')} #{n} · order {stop['order_id']} · {site} · "
                        f"{_t(stop['start']):%H:%M}–{_t(stop['end']):%H:%M}"
                    ),  # fmt: skip
                )
            )
    return layers


def route_bounds(plan: Mapping[str, Any], places: Places) -> list[list[float]] | None:
    points = [
        places[s["order_id"]] for r in plan.get("routes", []) for s in r.get("stops", []) if s["order_id"] in places
    ]
    if not points:
        return None
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    pad = 0.002
    return [[min(lats) - pad, min(lons) - pad], [max(lats) + pad, max(lons) + pad]]


def gantt_segments(plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Timeline bars per worker: travel (ending at each arrival), waiting, service and breaks."""
    segments: list[dict[str, Any]] = []
    for route in plan.get("routes", []):
        worker = str(route.get("name", route["worker_id"]))
        for stop in route.get("stops", []):
            arrival, start, end = _t(stop["arrival"]), _t(stop["start"]), _t(stop["end"])
            label = f"order {stop['order_id']}"
            if stop.get("travel_s", 0) > 0:
                segments.append({"worker": worker, "kind": "travel", "start": arrival - timedelta(seconds=float(stop["travel_s"])),
                                 "end": arrival, "label": label})  # fmt: skip
            if start > arrival:
                segments.append({"worker": worker, "kind": "waiting", "start": arrival, "end": start, "label": label})
            segments.append({"worker": worker, "kind": "service", "start": start, "end": end, "label": label})
        for b in route.get("breaks", []):
            segments.append(
                {"worker": worker, "kind": "break", "start": _t(b["start"]), "end": _t(b["end"]), "label": "break"}
            )
    return segments


def gantt_figure(plan: Mapping[str, Any]) -> go.Figure:
    segments = gantt_segments(plan)
    fig = go.Figure()
    for kind, colour in SEGMENT_COLOURS.items():
        rows = [s for s in segments if s["kind"] == kind]
        if not rows:
            continue
        fig.add_trace(
            go.Bar(
                name=kind,
                orientation="h",
                y=[s["worker"] for s in rows],
                x=[(s["end"] - s["start"]).total_seconds() * 1000 for s in rows],
                base=[s["start"].isoformat() for s in rows],
                marker_color=colour,
                customdata=[[s["label"], f"{s['start']:%H:%M}", f"{s['end']:%H:%M}"] for s in rows],
                hovertemplate="%{y} · "
                + kind
                + " · %{customdata[0]}<br>%{customdata[1]}–%{customdata[2]}<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="overlay",
        template="plotly_dark",
        paper_bgcolor="#111827",
        plot_bgcolor="#0b1120",
        margin={"l": 10, "r": 10, "t": 30, "b": 30},
        height=120 + 50 * max(1, len(plan.get("routes", []))),
        legend={"orientation": "h", "y": 1.15},
        xaxis={"type": "date", "title": None},
        yaxis={"autorange": "reversed", "title": None},
    )
    return fig


def unplanned_list(plan: Mapping[str, Any], places: Places) -> Any:
    rows = plan.get("unplanned", [])
    if not rows:
        return html.P("Every order is planned.", className="plan-empty")
    return html.Ul(
        [
            html.Li(
                [
                    html.Span(f"Order {u['order_id']}", className="unplanned-order"),
                    html.Span(places[u["order_id"]][2] if u["order_id"] in places else "", className="unplanned-site"),
                    html.Span(u["reason"], className="unplanned-reason"),
                ],
                className="unplanned-row",
            )
            for u in rows
        ]
    )


# --- layout and callbacks ------------------------------------------------------------------------


def layout(*, tile_url: str | None, actor_name: str, today: date | None = None) -> html.Div:
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
            dcc.Store(id=PLAN_ID),
            dcc.Interval(id=POLL, interval=POLL_MS, disabled=True),
            html.Header(
                className="plans-head",
                children=[
                    html.H1("Outfield · route plans"),
                    html.Span(actor_name, className="plans-actor"),
                    html.A("Live map", href="/", className="plans-link"),
                ],
            ),
            html.Div(
                className="plans-controls",
                children=[
                    html.Label(
                        [
                            "Day",
                            dcc.DatePickerSingle(
                                id=DATE, date=(today or tomorrow_utc()).isoformat(), display_format="YYYY-MM-DD"
                            ),
                        ]
                    ),  # fmt: skip
                    html.Label(
                        [
                            "Seconds",
                            dcc.Input(
                                id=SECONDS,
                                type="text",
                                inputMode="numeric",
                                value="10",
                                size="4",
                                className="plan-seconds",
                            ),
                        ]
                    ),
                    html.Button("Optimise", id=START, className="plans-button"),
                    html.Button("Stop", id=STOP, className="plans-button plans-stop", disabled=True),
                    html.Span(id=PROGRESS, className="plans-progress"),
                    html.Span(id=MESSAGE, className="plans-message"),
                ],
            ),
            html.Div(id=KPIS, className="plans-kpis"),
            html.Div(
                className="plans-body",
                children=[
                    html.Div(
                        dl.Map(
                            id=MAP,
                            center=MONACO_CENTRE,
                            zoom=14,
                            children=layers,
                            style={"height": "100%", "width": "100%"},
                        ),  # fmt: skip
                        className="plans-map",
                    ),
                    html.Div(
                        className="plans-side",
                        children=[html.H2("Unplanned"), html.Div(id=UNPLANNED, className="plans-unplanned")],
                    ),
                ],
            ),
            dcc.Graph(
                id=GANTT,
                className="plans-gantt",
                config={"displayModeBar": False},
                figure=go.Figure(
                    layout={
                        "template": "plotly_dark",
                        "paper_bgcolor": "#111827",
                        "plot_bgcolor": "#0b1120",
                        "height": 160,
                    }
                ),
            ),  # fmt: skip
        ],
    )


def register(dash_app: Dash, *, jobs: PlanJobs, auth: Auth, locate: LocatePlaces) -> None:
    @dash_app.callback(
        Output(PLAN_ID, "data"),
        Output(POLL, "disabled"),
        Output(MESSAGE, "children"),
        Output(STOP, "disabled"),
        Input(START, "n_clicks"),
        State(DATE, "date"),
        State(SECONDS, "value"),
        prevent_initial_call=True,
    )
    def start(n_clicks: int | None, day: str | None, seconds: Any) -> tuple[Any, ...]:
        if not n_clicks:
            raise PreventUpdate
        try:
            actor = auth.require(Action.PLAN_ROUTES)
        except ApiError as exc:
            return no_update, True, f"Refused: {exc.reason}", True
        try:
            when = date.fromisoformat(str(day)[:10])
        except ValueError:
            return no_update, True, "Pick a day.", True
        try:
            try:
                budget = float(seconds or 0)
            except ValueError:
                budget = -1.0  # refused below by jobs.start with the reason
            plan_id = jobs.start(actor=actor, day=when, worker_ids=None, order_ids=None, seconds=budget)
        except (PlanInputError, ValueError) as exc:
            return no_update, True, str(exc), True
        return plan_id, False, f"Plan {plan_id} started.", False

    @dash_app.callback(
        Output(MESSAGE, "children", allow_duplicate=True),
        Input(STOP, "n_clicks"),
        State(PLAN_ID, "data"),
        prevent_initial_call=True,
    )
    def stop(n_clicks: int | None, plan_id: int | None) -> str:
        if not n_clicks or plan_id is None:
            raise PreventUpdate
        try:
            auth.require(Action.PLAN_ROUTES)
        except ApiError as exc:
            return f"Refused: {exc.reason}"
        return "Stopping… keeping the best plan so far." if jobs.stop(int(plan_id)) else "The plan is not running."

    @dash_app.callback(
        Output(PROGRESS, "children"),
        Output(POLL, "disabled", allow_duplicate=True),
        Output(STOP, "disabled", allow_duplicate=True),
        Output(KPIS, "children"),
        Output(ROUTES, "children"),
        Output(MAP, "viewport"),
        Output(GANTT, "figure"),
        Output(UNPLANNED, "children"),
        Input(POLL, "n_intervals"),
        State(PLAN_ID, "data"),
        prevent_initial_call=True,
    )
    def poll(_n: int | None, plan_id: int | None) -> tuple[Any, ...]:
        if plan_id is None:
            raise PreventUpdate
        try:
            auth.require(Action.PLAN_ROUTES)
        except ApiError as exc:
            return f"Refused: {exc.reason}", True, True, no_update, no_update, no_update, no_update, no_update
        status = jobs.status(int(plan_id))
        if status is None:
            return f"Plan {plan_id} not found.", True, True, no_update, no_update, no_update, no_update, no_update
        text = progress_text(status)
        plan = status.get("plan")
        if status.get("status") not in FINISHED:
            return text, False, False, no_update, no_update, no_update, no_update, no_update
        if not plan:
            return text, True, True, no_update, no_update, no_update, no_update, no_update
        order_ids = {s["order_id"] for r in plan.get("routes", []) for s in r.get("stops", [])}
        order_ids |= {u["order_id"] for u in plan.get("unplanned", [])}
        places = locate(sorted(order_ids))
        bounds = route_bounds(plan, places)
        viewport = {"bounds": bounds} if bounds else no_update
        return (text, True, True, kpi_tiles(plan_kpis(plan)), route_layers(plan, places), viewport,
                gantt_figure(plan), unplanned_list(plan, places))  # fmt: skip
