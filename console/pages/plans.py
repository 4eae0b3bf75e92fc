"""The managers' route-plan review page (/plans/): optimise a day, watch it, review, edit, compare, publish.

The page is its own Dash app mounted at /plans/ on the console's server (see `console.app`), so its
figures never weigh on the wall screen's store and it needs no guessing which page asked for a layout.
Optimisation runs as a background job (`services.plan_jobs.PlanJobs`); its progress arrives pushed over
Socket.IO ("plan-progress" to the room of users who may plan). A manager picks a plan of the day,
reviews KPIs, routes, the Gantt timeline and the unplanned orders, compares it with the day's
published plan, moves a visit to another worker (a new draft, re-timed, with the rules it breaks),
publishes, and re-plans the published day mid-day.

The presenters below are pure functions of the plan JSON, so they are unit-tested without a server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import dash_leaflet as dl
import plotly.graph_objects as go
from dash import Dash, Input, Output, State, dcc, html, no_update
from dash.exceptions import PreventUpdate
from dash_socketio import DashSocketIO

from console import i18n
from console.auth import ApiError, Auth
from console.i18n import N_, _
from dispatch import localtime
from dispatch.access import Action
from dispatch.geo import LatLon
from routing.paths import RoutePath
from services.plan_jobs import PlanInputError, PlanJobs, PlanRefused

PATH = "/plans/"
MONACO_CENTRE = (43.7384, 7.4246)
BASEMAP_URL = "/assets/basemap/monaco_roads.geojson"
FINISHED = ("done", "stopped", "failed", "interrupted")
EVENT_PROGRESS = "plan-progress"

# Component ids (kebab-case, prefixed).
DATE = "plan-date"
SECONDS = "plan-seconds"
MINIMISE = "plan-minimise"
BALANCE = "plan-balance"
START = "plan-start"
STOP = "plan-stop"
RUNNING = "plan-running"
VERSION = "plan-version"
SOCKET = "plan-socket"
PROGRESS = "plan-progress"
MESSAGE = "plan-message"
PICKER = "plan-picker"
BADGE = "plan-badge"
PUBLISH = "plan-publish"
REPLAN = "plan-replan"
KPIS = "plan-kpis"
MAP = "plan-map"
ROUTES = "plan-routes"
GANTT = "plan-gantt"
UNPLANNED = "plan-unplanned"
COMPARE = "plan-compare"
VIOLATIONS = "plan-violations"
MOVE_ORDER = "plan-move-order"
MOVE_WORKER = "plan-move-worker"
MOVE = "plan-move"
ROADS_NOTE = "plan-roads-note"

WORKER_COLOURS = ("#38bdf8", "#f59e0b", "#a78bfa", "#4ade80", "#f43f5e", "#2dd4bf", "#facc15", "#fb923c", "#e879f9")
SEGMENT_COLOURS = {"travel": "#38bdf8", "service": "#4ade80", "waiting": "#64748b", "break": "#f59e0b"}
VIOLATION_COLOUR = "#ef4444"

# order_id -> (lat, lon, site name); supplied by the composition root.
Places = Mapping[int, tuple[float, float, str]]
LocatePlaces = Callable[[Iterable[int]], Places]
# The review of one plan's status against the day's published plan (`services.plan_review.compare_with_published`).
CompareWithPublished = Callable[[Mapping[str, Any]], Mapping[str, Any] | None]
ApplyPlan = Callable[..., dict[str, Any]]


def default_day(now: datetime, open_order_days: Iterable[date], tz: tzinfo = UTC) -> date:
    """The day the page opens on: the first local day (in `tz`, the office's) from today with open orders to
    plan, else tomorrow."""
    today = localtime.local_day(now, tz)
    ahead = sorted(d for d in open_order_days if d >= today)
    return ahead[0] if ahead else today + timedelta(days=1)


def worker_colour(index: int) -> str:
    return WORKER_COLOURS[index % len(WORKER_COLOURS)]


def _t(value: str) -> datetime:
    """A plan's time on the office's clock (what the page shows; durations are the same either way)."""
    return datetime.fromisoformat(value).astimezone(i18n.office_zone())


def _seconds(start: str, end: str) -> float:
    return max(0.0, (_t(end) - _t(start)).total_seconds())


# --- presenters (pure) ---------------------------------------------------------------------------


def violated_orders(violations: Sequence[Mapping[str, Any]]) -> dict[int, list[str]]:
    """Order id -> the kinds of rule its stop breaks (window, skill, …)."""
    out: dict[int, list[str]] = {}
    for v in violations:
        if v.get("order_id") is not None:
            out.setdefault(int(v["order_id"]), []).append(str(v.get("kind", "rule")))
    return out


def plan_kpis(plan: Mapping[str, Any], violations: Sequence[Mapping[str, Any]] = ()) -> dict[str, str]:
    """Visits planned, unplanned, total travel (h), utilisation and on-time share, formatted for display.

    Utilisation is service plus travel over the workers' shifts (the route's span when the plan
    carries no shift times); a stop whose window a manual edit breaks counts as late.
    """
    routes = plan.get("routes", [])
    stops = [s for r in routes for s in r.get("stops", [])]
    service_s = sum(_seconds(s["start"], s["end"]) for s in stops)
    travel_s = sum(float(r.get("travel_s", 0)) for r in routes)
    span_s = sum(
        _seconds(r.get("shift_start") or r["start"], r.get("shift_end") or r["end"]) for r in routes if r.get("stops")
    )
    late = {order_id for order_id, kinds in violated_orders(violations).items() if "window" in kinds}
    on_time = sum(1 for s in stops if not s.get("late", False) and s["order_id"] not in late)
    return {
        "planned": str(plan.get("planned", len(stops))),
        "unplanned": str(len(plan.get("unplanned", []))),
        "travel": f"{travel_s / 3600:.1f} h",
        "utilisation": f"{(service_s + travel_s) / span_s:.0%}" if span_s > 0 else "–",
        "on_time": f"{on_time / len(stops):.0%}" if stops else "–",
    }


KPI_LABELS = {
    "planned": N_("Visits planned"),
    "unplanned": N_("Unplanned"),
    "travel": N_("Total travel"),
    "utilisation": N_("Utilisation"),
    "on_time": N_("On time"),
}
STATE_WORDS = {
    "queued": N_("Queued"), "running": N_("Running"), "done": N_("Done"), "stopped": N_("Stopped"),
    "failed": N_("Failed"), "interrupted": N_("Interrupted"),
}  # fmt: skip
SEGMENT_WORDS = {"travel": N_("travel"), "waiting": N_("waiting"), "service": N_("service"), "break": N_("break")}


def _state(state: str) -> str:
    """A plan job's state as a person reads it ('Running')."""
    return _(STATE_WORDS[state]) if state in STATE_WORDS else state.capitalize()


def kpi_tiles(kpis: Mapping[str, str]) -> list[html.Div]:
    return [
        html.Div(
            [html.Span(kpis[key], className="kpi-value"), html.Span(_(label), className="kpi-label")],
            className=f"kpi kpi-{key}",
        )
        for key, label in KPI_LABELS.items()
    ]


def progress_text(status: Mapping[str, Any]) -> str:
    """One line describing a job: its state, best cost so far and elapsed time."""
    state = status.get("status") or "queued"
    progress = status.get("progress") or {}
    parts = [_state(state)]
    if progress.get("best_cost") is not None:
        parts.append(_("best cost {cost}").format(cost=f"{float(progress['best_cost']):,.0f}"))
    if progress.get("elapsed_s") is not None:
        parts.append(_("{seconds} s elapsed").format(seconds=f"{float(progress['elapsed_s']):.1f}"))
    if progress.get("solutions") is not None:
        parts.append(_("{n} solutions").format(n=progress["solutions"]))
    if status.get("error"):
        parts.append(i18n.reason(str(status["error"])))
    return " · ".join(parts)


def _location(value: Any) -> tuple[float, float] | None:
    if isinstance(value, Mapping) and "lat" in value and "lon" in value:
        return float(value["lat"]), float(value["lon"])
    return None


PathOf = Callable[[Sequence[LatLon]], RoutePath]
"""The line to draw through a route's points (`routing.paths.LegPaths.path`: along the roads when built)."""


def _route_points(route: Mapping[str, Any], places: Places) -> list[tuple[float, float]]:
    """The route's start, its stops in order and its end, as (lat, lon)."""
    points = [(p[0], p[1]) for s in route.get("stops", []) if s["order_id"] in places for p in [places[s["order_id"]]]]
    start, end = _location(route.get("start_location")), _location(route.get("end_location"))
    return ([start] if start is not None and points else []) + points + ([end] if end is not None and points else [])


def route_paths(plan: Mapping[str, Any], places: Places, path_of: PathOf) -> dict[Any, RoutePath]:
    """Each route's line (by worker id) as `path_of` draws it, e.g. along the roads."""
    return {
        route["worker_id"]: path_of([LatLon(lat, lon) for lat, lon in points])
        for route in plan.get("routes", [])
        if (points := _route_points(route, places))
    }


def roads_note(paths: Mapping[Any, RoutePath]) -> str:
    """What the map says when some route is not drawn along the roads ("" when every one is)."""
    notes = sorted({p.note for p in paths.values() if p.note})
    return "; ".join(notes).capitalize() + "." if notes else ""


def route_layers(
    plan: Mapping[str, Any],
    places: Places,
    violations: Sequence[Mapping[str, Any]] = (),
    paths: Mapping[Any, RoutePath] | None = None,
) -> list[Any]:
    """A polyline per route (along `paths` where given, else straight between the stops), numbered stops."""
    broken = violated_orders(violations)
    layers: list[Any] = []
    for index, route in enumerate(plan.get("routes", [])):
        colour = worker_colour(index)
        points = [
            (n, s, places[s["order_id"]]) for n, s in enumerate(route.get("stops", []), 1) if s["order_id"] in places
        ]
        if not points:
            continue
        start = _location(route.get("start_location"))
        if start is not None:
            layers.append(
                dl.CircleMarker(
                    center=[start[0], start[1]], radius=7, color=colour, fill=True, fillColor="#0b1120", fillOpacity=1,
                    className=f"plan-base plan-base-{route['worker_id']}",
                    children=dl.Tooltip(_("{name} starts here").format(name=route.get("name"))),
                )
            )  # fmt: skip
        path = (paths or {}).get(route["worker_id"])
        if path is not None:
            positions = [[p.lat, p.lon] for p in path.points]
        else:
            positions = [[lat, lon] for lat, lon in _route_points(route, places)]
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
            kinds = broken.get(stop["order_id"], [])
            ring = f";box-shadow:0 0 0 4px {VIOLATION_COLOUR}" if kinds else ""
            note = " · " + _("breaks: {rules}").format(rules=", ".join(kinds)) if kinds else ""
            layers.append(
                dl.DivMarker(
                    position=[lat, lon],
                    iconOptions={
                        "className": "plan-stop plan-stop-violated" if kinds else "plan-stop",
                        # Markup from our own values only: the stop's number and colours from constants.
                        "html": f'<span style="background:{colour}{ring}">{n}</span>',
                        "iconSize": [26, 26],
                        "iconAnchor": [13, 13],
                    },
                    children=dl.Tooltip(
                        f"{route.get('name')} #{n} · " + _("order {id}").format(id=stop["order_id"]) + f" · {site} · "
                        f"{_t(stop['start']):%H:%M}–{_t(stop['end']):%H:%M}{note}"
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


def gantt_segments(plan: Mapping[str, Any], violations: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
    """Timeline bars per worker: travel (ending at each arrival), waiting, service and breaks."""
    broken = violated_orders(violations)
    segments: list[dict[str, Any]] = []
    for route in plan.get("routes", []):
        worker = str(route.get("name", route["worker_id"]))
        for stop in route.get("stops", []):
            arrival, start, end = _t(stop["arrival"]), _t(stop["start"]), _t(stop["end"])
            label = _("order {id}").format(id=stop["order_id"])
            if stop.get("travel_s", 0) > 0:
                segments.append({"worker": worker, "kind": "travel", "start": arrival - timedelta(seconds=float(stop["travel_s"])),
                                 "end": arrival, "label": label})  # fmt: skip
            if start > arrival:
                segments.append({"worker": worker, "kind": "waiting", "start": arrival, "end": start, "label": label})
            kinds = broken.get(stop["order_id"], [])
            if kinds:
                label = f"{label} · " + _("breaks {rules}").format(rules=", ".join(kinds))
            segments.append({"worker": worker, "kind": "service", "start": start, "end": end, "label": label,
                             "violated": bool(kinds)})  # fmt: skip
        for b in route.get("breaks", []):
            segments.append(
                {"worker": worker, "kind": "break", "start": _t(b["start"]), "end": _t(b["end"]), "label": _("break")}
            )
    return segments


def plotly_text(text: str) -> str:
    """Plotly reads `<b>`, `<a href>`… in labels as markup; escaped, a name typed by a user shows as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def gantt_figure(plan: Mapping[str, Any], violations: Sequence[Mapping[str, Any]] = ()) -> go.Figure:
    segments = gantt_segments(plan, violations)
    fig = go.Figure()
    for kind, colour in SEGMENT_COLOURS.items():
        rows = [s for s in segments if s["kind"] == kind]
        if not rows:
            continue
        fig.add_trace(
            go.Bar(
                name=_(SEGMENT_WORDS[kind]) if kind in SEGMENT_WORDS else kind,
                orientation="h",
                y=[plotly_text(s["worker"]) for s in rows],
                x=[(s["end"] - s["start"]).total_seconds() * 1000 for s in rows],
                base=[s["start"].isoformat() for s in rows],
                marker={
                    "color": colour,
                    "line": {
                        "color": [VIOLATION_COLOUR if s.get("violated") else colour for s in rows],
                        "width": [3 if s.get("violated") else 0 for s in rows],
                    },
                },
                customdata=[[s["label"], f"{s['start']:%H:%M}", f"{s['end']:%H:%M}"] for s in rows],
                hovertemplate="%{y} · "
                + (_(SEGMENT_WORDS[kind]) if kind in SEGMENT_WORDS else kind)
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
        return html.P(_("Every order is planned."), className="plan-empty")
    return html.Ul(
        [
            html.Li(
                [
                    html.Span(_("Order {id}").format(id=u["order_id"]), className="unplanned-order"),
                    html.Span(places[u["order_id"]][2] if u["order_id"] in places else "", className="unplanned-site"),
                    html.Span(i18n.reason(str(u["reason"])), className="unplanned-reason"),
                ],
                className="unplanned-row",
            )
            for u in rows
        ]
    )


def violations_list(violations: Sequence[Mapping[str, Any]]) -> Any:
    """The rules a manually edited draft breaks, each in words; empty when it keeps them all."""
    if not violations:
        return html.P(_("This plan keeps every rule."), className="plan-empty plan-ok")
    return html.Ul(
        [
            html.Li(
                [
                    html.Span(str(v.get("kind", "rule")), className="violation-kind"),
                    html.Span(str(v.get("message", "")), className="violation-message"),
                ],
                className=f"plan-violation violation-{str(v.get('kind', 'rule')).replace(' ', '-')}",
            )  # fmt: skip
            for v in violations
        ],
        className="plan-violations-list",
    )


def compare_panel(diff: Mapping[str, Any] | None, *, published_id: int | None, is_published: bool) -> Any:
    """What changes if this draft is published instead of the day's published plan: moves and who gains/loses."""
    if is_published:
        return html.P(_("This is the day's published plan."), className="plan-empty")
    if published_id is None or diff is None:
        return html.P(
            _("Nothing is published for this day yet: publishing assigns every planned visit."), className="plan-empty"
        )
    summary = i18n.reason(str(diff.get("summary"))) if diff.get("summary") else _("no changes")
    rows: list[Any] = [html.P(_("Against published plan {id}: {summary}").format(id=published_id, summary=summary),
                              className="compare-summary")]  # fmt: skip
    for m in diff.get("moved", []):
        rows.append(
            html.Li(
                _("Order {id}").format(id=m["order_id"]) + f": {m.get('from_name') or m.get('from_worker_id')} → "
                f"{m.get('to_name') or m.get('to_worker_id')}{_times(m)}",
                className="compare-moved",
            )
        )
    for m in diff.get("retimed", []):
        rows.append(html.Li(_("Order {id} re-timed").format(id=m["order_id"]) + _times(m), className="compare-retimed"))
    for m in diff.get("added", []):
        rows.append(html.Li(_("Order {id} newly planned").format(id=m["order_id"]), className="compare-added"))
    for m in diff.get("dropped", []):
        reason = f" ({i18n.reason(str(m['reason']))})" if m.get("reason") else ""
        rows.append(html.Li(_("Order {id} dropped").format(id=m["order_id"]) + reason, className="compare-dropped"))
    for w in diff.get("workers", []):
        if not w.get("gained") and not w.get("lost"):
            continue
        delta = int(w.get("delta", 0))
        rows.append(
            html.Li(
                f"{w.get('name') or w['worker_id']}: "
                + (_("{delta} visit") if abs(delta) == 1 else _("{delta} visits")).format(delta=f"{delta:+d}")
                + _(" (gains {gained}; loses {lost})").format(gained=_ids(w.get("gained")), lost=_ids(w.get("lost"))),
                className="compare-worker",
            )
        )
    return html.Ul(rows, className="compare-list")


def _ids(values: Any) -> str:
    return ", ".join(str(v) for v in values) if values else _("none")


def _times(change: Mapping[str, Any]) -> str:
    before, after = change.get("previous_start"), change.get("start")
    if before and after:
        return f", {_t(before):%H:%M} → {_t(after):%H:%M}"
    return ""


def plan_options(summaries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The plan picker's entries: id, state, when, what it came from, and which one is published."""
    options = []
    for s in summaries:
        parts = [_("Plan {id}").format(id=s["id"])]
        if s.get("published"):
            parts.append(_("PUBLISHED"))
        else:
            parts.append(_state(str(s.get("status") or "queued")).lower())
        if s.get("created_at"):
            parts.append(f"{_t(str(s['created_at'])):%H:%M}")
        if s.get("planned") is not None:
            parts.append(
                _("{planned} planned, {unplanned} unplanned").format(
                    planned=s["planned"], unplanned=s.get("unplanned") or 0
                )
            )
        if s.get("edited_from"):
            parts.append(_("edit of {id}").format(id=s["edited_from"]))
        if s.get("replan_of"):
            parts.append(_("re-plan of {id}").format(id=s["replan_of"]))
        options.append({"label": " · ".join(parts), "value": int(s["id"])})
    return options


def default_plan(summaries: Sequence[Mapping[str, Any]]) -> int | None:
    """The plan to show for a day: the published one, else the newest."""
    published = [s for s in summaries if s.get("published")]
    chosen = published[0] if published else (summaries[0] if summaries else None)
    return int(chosen["id"]) if chosen else None


def move_choices(plan: Mapping[str, Any], places: Places) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Options for "move a visit": every order of the plan (with whom it is now) and every worker of the plan."""
    orders: list[dict[str, Any]] = []
    workers: list[dict[str, Any]] = []
    for route in plan.get("routes", []):
        name = str(route.get("name", route["worker_id"]))
        workers.append({"label": name, "value": int(route["worker_id"])})
        for stop in route.get("stops", []):
            site = places[stop["order_id"]][2] if stop["order_id"] in places else ""
            orders.append({"label": _("Order {id}").format(id=stop["order_id"]) + f" · {site} · {name} {_t(stop['start']):%H:%M}",
                           "value": int(stop["order_id"])})  # fmt: skip
    for u in plan.get("unplanned", []):
        orders.append(
            {"label": _("Order {id}").format(id=u["order_id"]) + " · " + _("unplanned"), "value": int(u["order_id"])}
        )
    return orders, workers


def publish_message(plan_id: int, result: Mapping[str, Any], *, planned: int) -> str:
    """What publishing did: assignments sent, visits already with their worker, orders kept (under way)."""
    sent, kept = len(result.get("assigned", [])), len(result.get("kept", []))
    parts = [(_("{n} assignment sent") if sent == 1 else _("{n} assignments sent")).format(n=sent)]
    if planned - sent - kept > 0:
        parts.append(_("{n} already with their worker").format(n=planned - sent - kept))
    if kept:
        parts.append(_("{n} kept as they are (under way or finished)").format(n=kept))
    return _("Plan {id} published: {parts}.").format(id=plan_id, parts=_(", ").join(parts))


def _planned(status: Mapping[str, Any] | None) -> int:
    plan = (status or {}).get("plan") or {}
    return sum(len(r.get("stops", [])) for r in plan.get("routes", []))


def badge(status: Mapping[str, Any]) -> tuple[str, str]:
    """Text and CSS class of the shown plan's state badge."""
    if status.get("published"):
        return _("Published"), "plan-badge badge-published"
    state = str(status.get("status") or "queued")
    if state in ("queued", "running"):
        return _state(state), "plan-badge badge-running"
    if state in ("failed", "interrupted"):
        return _state(state), "plan-badge badge-failed"
    return _("Draft"), "plan-badge badge-draft"


# --- layout and callbacks ------------------------------------------------------------------------


def layout(*, tile_url: str | None, actor_name: str, day: date, summaries: Sequence[Mapping[str, Any]]) -> html.Div:
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
                figure=go.Figure(
                    layout={
                        "template": "plotly_dark",
                        "paper_bgcolor": "#111827",
                        "plot_bgcolor": "#0b1120",
                        "height": 160,
                    }
                ),  # fmt: skip
            ),
        ],
    )


def register(
    dash_app: Dash,
    *,
    jobs: PlanJobs,
    auth: Auth,
    locate: LocatePlaces,
    compare: CompareWithPublished,
    apply_plan: ApplyPlan,
    path_of: PathOf | None = None,
) -> None:
    def picker_for(day: date, select: int | None = None) -> tuple[list[dict[str, Any]], int | None]:
        summaries = jobs.recent(day)
        return plan_options(summaries), select if select is not None else default_plan(summaries)

    def actor_or_refusal() -> Any:
        try:
            return auth.require(Action.PLAN_ROUTES)
        except ApiError as exc:
            return _("Refused: {reason}").format(reason=i18n.reason(exc.reason))

    @dash_app.callback(
        Output(RUNNING, "data"),
        Output(MESSAGE, "children"),
        Output(STOP, "disabled"),
        Output(PROGRESS, "children"),
        Input(START, "n_clicks"),
        State(DATE, "date"),
        State(SECONDS, "value"),
        State(MINIMISE, "value"),
        State(BALANCE, "value"),
        prevent_initial_call=True,
    )
    def start(
        n_clicks: int | None, day: str | None, seconds: Any, minimise: str | None, balance: list[str] | None
    ) -> tuple[Any, ...]:
        if not n_clicks:
            raise PreventUpdate
        actor = actor_or_refusal()
        if isinstance(actor, str):
            return no_update, actor, True, no_update
        try:
            when = date.fromisoformat(str(day)[:10])
        except ValueError:
            return no_update, _("Pick a day."), True, no_update
        try:
            plan_id = jobs.start(actor=actor, day=when, worker_ids=None, order_ids=None, seconds=_budget(seconds),
                                 minimise=minimise or "time", balance_workload="balance" in (balance or []))  # fmt: skip
        except (PlanInputError, ValueError) as exc:
            return no_update, i18n.reason(str(exc)), True, no_update
        return plan_id, _("Plan {id} started.").format(id=plan_id), False, _("Queued")

    @dash_app.callback(
        Output(RUNNING, "data", allow_duplicate=True),
        Output(MESSAGE, "children", allow_duplicate=True),
        Output(STOP, "disabled", allow_duplicate=True),
        Output(PROGRESS, "children", allow_duplicate=True),
        Input(REPLAN, "n_clicks"),
        State(PICKER, "value"),
        State(SECONDS, "value"),
        prevent_initial_call=True,
    )
    def replan(n_clicks: int | None, plan_id: int | None, seconds: Any) -> tuple[Any, ...]:
        if not n_clicks or plan_id is None:
            raise PreventUpdate
        actor = actor_or_refusal()
        if isinstance(actor, str):
            return no_update, actor, True, no_update
        try:
            new_id = jobs.replan(actor=actor, plan_id=int(plan_id), seconds=_budget(seconds))
        except (PlanInputError, LookupError, ValueError) as exc:
            return no_update, i18n.reason(str(exc)), True, no_update
        replanning = _("Re-planning the day from plan {id} as plan {new_id}…").format(id=plan_id, new_id=new_id)
        return new_id, replanning, False, _("Queued")

    @dash_app.callback(
        Output(MESSAGE, "children", allow_duplicate=True),
        Input(STOP, "n_clicks"),
        State(RUNNING, "data"),
        prevent_initial_call=True,
    )
    def stop(n_clicks: int | None, plan_id: int | None) -> str:
        if not n_clicks or plan_id is None:
            raise PreventUpdate
        actor = actor_or_refusal()
        if isinstance(actor, str):
            return actor
        return (
            _("Stopping… keeping the best plan so far.") if jobs.stop(int(plan_id)) else _("The plan is not running.")
        )

    @dash_app.callback(
        Output(PROGRESS, "children", allow_duplicate=True),
        Output(STOP, "disabled", allow_duplicate=True),
        Output(PICKER, "options", allow_duplicate=True),
        Output(PICKER, "value", allow_duplicate=True),
        Input(SOCKET, f"data-{EVENT_PROGRESS}"),
        State(RUNNING, "data"),
        prevent_initial_call=True,
    )
    def progress(event: Mapping[str, Any] | None, running: int | None) -> tuple[Any, ...]:
        """A pushed progress event of the job this page started: show it; when it ends, show its plan."""
        if not event or running is None or int(event.get("id", -1)) != int(running):
            raise PreventUpdate
        text = progress_text(event)
        if event.get("status") not in FINISHED:
            return text, False, no_update, no_update
        status = jobs.status(int(running))
        if status is None:
            return text, True, no_update, no_update
        options, value = picker_for(date.fromisoformat(status["day"]), select=int(running))
        return text, True, options, value

    @dash_app.callback(
        Output(PICKER, "options", allow_duplicate=True),
        Output(PICKER, "value", allow_duplicate=True),
        Input(DATE, "date"),
        prevent_initial_call=True,
    )
    def day_changed(day: str | None) -> tuple[Any, ...]:
        try:
            when = date.fromisoformat(str(day)[:10])
        except ValueError:
            raise PreventUpdate from None
        if isinstance(actor_or_refusal(), str):
            raise PreventUpdate
        return picker_for(when)

    @dash_app.callback(
        Output(PICKER, "options", allow_duplicate=True),
        Output(PICKER, "value", allow_duplicate=True),
        Output(MESSAGE, "children", allow_duplicate=True),
        Input(MOVE, "n_clicks"),
        State(PICKER, "value"),
        State(MOVE_ORDER, "value"),
        State(MOVE_WORKER, "value"),
        prevent_initial_call=True,
    )
    def move(n_clicks: int | None, plan_id: int | None, order_id: int | None, worker_id: int | None) -> tuple[Any, ...]:
        if not n_clicks or plan_id is None:
            raise PreventUpdate
        if order_id is None or worker_id is None:
            return no_update, no_update, _("Pick an order and the worker to move it to.")
        actor = actor_or_refusal()
        if isinstance(actor, str):
            return no_update, no_update, actor
        try:
            result = jobs.move(actor=actor, plan_id=int(plan_id), order_id=int(order_id), worker_id=int(worker_id))
        except (PlanInputError, LookupError, ValueError) as exc:
            return no_update, no_update, i18n.reason(str(exc))
        status = jobs.status(int(result["id"])) or {}
        options, value = picker_for(date.fromisoformat(str(status.get("day"))), select=int(result["id"]))
        broken = len(result.get("violations", []))
        verdict = (
            (_("Draft {id}: order {order_id} moved; the plan breaks {n} rule.") if broken == 1
             else _("Draft {id}: order {order_id} moved; the plan breaks {n} rules."))
            if broken else _("Draft {id}: order {order_id} moved; the plan keeps every rule.")
        )  # fmt: skip
        return options, value, verdict.format(id=result["id"], order_id=order_id, n=broken)

    @dash_app.callback(
        Output(VERSION, "data"),
        Output(MESSAGE, "children", allow_duplicate=True),
        Input(PUBLISH, "n_clicks"),
        State(PICKER, "value"),
        State(VERSION, "data"),
        prevent_initial_call=True,
    )
    def publish(n_clicks: int | None, plan_id: int | None, version: int | None) -> tuple[Any, ...]:
        if not n_clicks or plan_id is None:
            raise PreventUpdate
        actor = actor_or_refusal()
        if isinstance(actor, str):
            return no_update, actor
        try:
            result = jobs.publish(
                actor=actor, plan_id=int(plan_id), apply=lambda pairs: apply_plan(actor=actor, assignments=pairs)
            )
        except (PlanInputError, PlanRefused, LookupError, ValueError) as exc:
            return no_update, i18n.reason(str(exc))
        return (version or 0) + 1, publish_message(int(plan_id), result, planned=_planned(jobs.status(int(plan_id))))

    @dash_app.callback(
        Output(BADGE, "children"),
        Output(BADGE, "className"),
        Output(PUBLISH, "disabled"),
        Output(REPLAN, "disabled"),
        Output(KPIS, "children"),
        Output(ROUTES, "children"),
        Output(MAP, "viewport"),
        Output(GANTT, "figure"),
        Output(UNPLANNED, "children"),
        Output(VIOLATIONS, "children"),
        Output(COMPARE, "children"),
        Output(MOVE_ORDER, "options"),
        Output(MOVE_WORKER, "options"),
        Output(PICKER, "options", allow_duplicate=True),
        Output(ROADS_NOTE, "children"),
        Input(PICKER, "value"),
        Input(VERSION, "data"),
        prevent_initial_call="initial_duplicate",
    )
    def show(plan_id: int | None, _version: int | None) -> tuple[Any, ...]:
        """Everything about the picked plan: state, KPIs, map, timeline, rules, comparison, move choices."""
        empty = ("", "plan-badge", True, True, [], [], no_update, no_update,
                 html.P(_("No plan picked."), className="plan-empty"), "", "", [], [], no_update, "")  # fmt: skip
        if plan_id is None or isinstance(actor_or_refusal(), str):
            return empty
        status = jobs.status(int(plan_id))
        if status is None:
            return empty
        text, css = badge(status)
        finished = status.get("status") in ("done", "stopped")
        plan = status.get("plan")
        options, _unused = picker_for(date.fromisoformat(status["day"]))
        if not plan:
            return (text, css, True, True, [], [], no_update, no_update, progress_text(status), "", "", [], [], options,
                    "")  # fmt: skip
        violations = status.get("violations") or []
        order_ids = {s["order_id"] for r in plan.get("routes", []) for s in r.get("stops", [])}
        order_ids |= {u["order_id"] for u in plan.get("unplanned", [])}
        places = locate(sorted(order_ids))
        bounds = route_bounds(plan, places)
        paths = route_paths(plan, places, path_of) if path_of is not None else {}
        published = bool(status.get("published"))
        comparison = compare(status) if not published else None
        move_orders, move_workers = move_choices(plan, places)
        return (
            text, css, not finished or published, not published,
            kpi_tiles(plan_kpis(plan, violations)), route_layers(plan, places, violations, paths),
            {"bounds": bounds} if bounds else no_update, gantt_figure(plan, violations),
            unplanned_list(plan, places), violations_list(violations),
            compare_panel(comparison, published_id=comparison.get("published_id") if comparison else None,
                          is_published=published),
            move_orders, move_workers, options, roads_note(paths),
        )  # fmt: skip


def _budget(seconds: Any) -> float:
    try:
        return float(seconds or 0)
    except ValueError:
        return -1.0  # refused by the job service with the reason
