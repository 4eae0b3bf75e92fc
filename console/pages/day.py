"""A worker's day on the map (/day/): the filtered track, stops, trips, the planned route beside it, a
playback of the day, and the plan-versus-actual table.

Its own Dash app mounted at /day/ on the console's server, as /plans/ is (see `console.app`). Pick a
worker and a day (a local day: the worker's own zone, else the office's), or open
`/day/?worker=ID&date=YYYY-MM-DD` (the wall map's worker card links here). One server call per choice draws everything; the playback then runs in the browser
(`assets/day.js`): the slider is seconds into the track, each tick moves it by the elapsed time times
the speed (×1…×60) and the marker goes to where the track was at that fix time, so no frame asks
the server anything. Every text on the map (tooltips: site names, times) is a text child, never HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

import dash_leaflet as dl
from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html, no_update

from console import i18n
from console.api_day import plan_vs_actual_json
from console.auth import ApiError, Auth
from console.i18n import N_, _
from dispatch.access import Action, Actor
from services.day_service import WorkerDay

PATH = "/day/"
MONACO_CENTRE = (43.7384, 7.4246)
BASEMAP_URL = "/assets/basemap/monaco_roads.geojson"

WORKER = "day-worker"
ADDRESS = "day-address"  # the ?worker=&date= the page's address was last set to (day.js, keep)
DATE = "day-date"
MAP = "day-map"
LAYERS = "day-layers"
MARKER = "day-marker"
TRACK = "day-track"
SLIDER = "day-slider"
SPEED = "day-speed"
PLAY = "day-play"
TICK = "day-tick"
CLOCK = "day-clock"
TABLE = "day-table"
SUMMARY = "day-summary"
DOWNLOADS = "day-downloads"
MESSAGE = "day-message"
URL = "day-url"

SPEEDS = (1, 2, 5, 10, 20, 30, 60)
TRACK_COLOUR = "#38bdf8"
TRIP_COLOUR = "#0ea5e9"
PLAN_COLOUR = "#f59e0b"
STOP_COLOUR = "#4ade80"
UNPLANNED_COLOUR = "#f43f5e"
# The playback marker; hidden (opacity 0) until there is a track to play (day.js shows it).
MARKER_STYLE = {"color": "#0b1120", "weight": 3, "fill": True, "fillColor": "#facc15"}
STATUS_TEXT = {"on_time": N_("on time"), "late": N_("late"), "missed": N_("missed"), "pending": N_("not yet")}

LoadDay = Callable[[Actor, int, date], WorkerDay | None]


def _hm(value: str | datetime | None) -> str:
    if value is None:
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return f"{moment.astimezone(i18n.office_zone()):%H:%M}"


def _minutes(seconds: float) -> str:
    """'-1 h 05 min', '14 min' in the page's language (the figure's units through the catalogue)."""
    sign = "-" if seconds < 0 else ""
    total = round(abs(seconds) / 60)
    return sign + i18n.reason(f"{total // 60} h {total % 60:02d} min" if total >= 60 else f"{total} min")


def _km(metres: float | None) -> str:
    return "—" if metres is None else i18n.reason(f"{metres / 1000:.1f} km")


SOURCES = {
    "check-in": N_("check-in"), "check-out": N_("check-out"), "geofence": N_("geofence"),
    "late entry: check-in": N_("late entry: check-in"), "late entry: check-out": N_("late entry: check-out"),
}  # fmt: skip
"""What an arrival or a departure was read from (`dispatch.plan_actual.Source`), as the table words it."""


def _source(source: str) -> str:
    return _(SOURCES[source]) if source in SOURCES else source


def track_data(day: WorkerDay) -> dict[str, Any]:
    """The filtered track for the playback: fix times (ms since the epoch) and [lat, lon] pairs."""
    return {
        "t": [round(p.fix_time.timestamp() * 1000) for p in day.track],
        "ll": [[p.latitude, p.longitude] for p in day.track],
    }


def map_layers(day: WorkerDay) -> list[Any]:
    """The planned route (dashed, numbered sites), the track, its trips with distances and its stops with durations."""
    layers: list[Any] = []
    pva = plan_vs_actual_json(day)
    if len(day.route) >= 2:
        layers.append(
            dl.Polyline(
                positions=[[p.lat, p.lon] for p in day.route], color=PLAN_COLOUR, weight=4, opacity=0.8,
                dashArray="10 8", className="day-plan", children=dl.Tooltip(_("planned route")),
            )
        )  # fmt: skip
    for n, visit in enumerate(pva["visits"], 1):
        site = day.sites[visit["site_id"]]
        layers.append(
            dl.CircleMarker(
                center=[site.location.lat, site.location.lon], radius=9, color=PLAN_COLOUR, fill=True,
                fillColor="#0b1120", fillOpacity=1, className=f"day-site day-site-{visit['status']}",
                children=dl.Tooltip(
                    f"#{n} · " + _("order {id}").format(id=visit["order_id"]) + f" · {visit['site_name']} · " + _("planned ")
                    + f"{_hm(visit['planned_start'])}–{_hm(visit['planned_departure'])} · "
                    f"{_(STATUS_TEXT[visit['status']])}"
                ),
            )
        )  # fmt: skip
    if len(day.track) >= 2:
        layers.append(
            dl.Polyline(
                positions=[[p.latitude, p.longitude] for p in day.track], color=TRACK_COLOUR, weight=3, opacity=0.6,
                className="day-track",
            )
        )  # fmt: skip
    for trip in day.trips:
        along = [[p.latitude, p.longitude] for p in day.track if trip.start <= p.fix_time <= trip.end]
        if len(along) >= 2:
            layers.append(
                dl.Polyline(
                    positions=along, color=TRIP_COLOUR, weight=6, opacity=0.9, className="day-trip",
                    children=dl.Tooltip(
                        _("trip ") + f"{_hm(trip.start)}–{_hm(trip.end)} · {_km(trip.distance_m)} · {_minutes(trip.duration_s)}"
                    ),
                )
            )  # fmt: skip
    unplanned = {(s["start"], s["end"]) for s in pva["unplanned_stops"]}
    for stop in day.stops:
        off_plan = (stop.start.isoformat(), stop.end.isoformat()) in unplanned
        layers.append(
            dl.CircleMarker(
                center=[stop.location.lat, stop.location.lon], radius=7, weight=2, fill=True, fillOpacity=0.8,
                color=UNPLANNED_COLOUR if off_plan else STOP_COLOUR,
                className="day-stop day-stop-unplanned" if off_plan else "day-stop",
                children=dl.Tooltip(
                    (_("unplanned stop") if off_plan else _("stop")) + f" {_hm(stop.start)}–{_hm(stop.end)} · "
                    f"{_minutes(stop.duration_s)}"
                ),
            )
        )  # fmt: skip
    return layers


def bounds(day: WorkerDay) -> list[list[float]] | None:
    points = [(p.latitude, p.longitude) for p in day.track] + [(p.lat, p.lon) for p in day.route]
    if not points:
        return None
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    return [[min(lats), min(lons)], [max(lats), max(lons)]]


def viewport(day: WorkerDay) -> dict[str, Any] | Any:
    """The map's view fitted to the day's track and planned route. A map's `bounds` is read once, when it is made
    (react-leaflet); `viewport` moves a map already drawn, so each worker and day picked is brought into view."""
    fitted = bounds(day)
    if fitted is None:
        return no_update
    return {"bounds": fitted, "transition": "fitBounds", "options": {"padding": [24, 24]}}


def comparison_table(pva: dict[str, Any]) -> Any:
    """The plan-versus-actual table, one row per planned visit (texts only)."""
    if not pva["has_plan"]:
        return html.P(
            _("No published route for this worker on this day: only what happened is shown."), className="day-noplan"
        )
    head = html.Tr(
        [html.Th(h) for h in ("#", _("Site"), _("Window"), _("Planned"), _("Arrived"), _("Left"), _("Verdict"))]
    )
    rows = []
    for n, v in enumerate(pva["visits"], 1):
        verdict = _(STATUS_TEXT[v["status"]])
        if v["status"] == "late":
            parts = []
            if v["late_by_window_s"]:
                parts.append(_("{time} after the window").format(time=_minutes(v["late_by_window_s"])))
            parts.append(_("{time} behind plan").format(time=_minutes(v["vs_plan_s"])))
            verdict = _("late: {parts}").format(parts=_(", ").join(parts))
        elif v["status"] == "on_time" and v["vs_plan_s"] is not None:
            verdict = _("on time ({time} vs plan)").format(time=_minutes(v["vs_plan_s"]))
        rows.append(
            html.Tr(
                className=f"pva-row pva-{v['status']}",
                children=[
                    html.Td(str(n)),
                    html.Td(_("{site} (order {id})").format(site=v["site_name"], id=v["order_id"])),
                    html.Td(f"{_hm(v['window_start'])}–{_hm(v['window_end'])}"),
                    html.Td(f"{_hm(v['planned_start'])}–{_hm(v['planned_departure'])}"),
                    html.Td(
                        f"{_hm(v['actual_arrival'])} ({_source(v['arrival_source'])})" if v["actual_arrival"] else "—"
                    ),
                    html.Td(
                        f"{_hm(v['actual_departure'])} ({_source(v['departure_source'])})"
                        if v["actual_departure"]
                        else "—"
                    ),
                    html.Td(verdict, className="pva-verdict"),
                ],
            )
        )
    return html.Table([html.Thead(head), html.Tbody(rows)], className="pva-table")


def summary(pva: dict[str, Any]) -> Any:
    unplanned = pva["unplanned_stops"]
    items = [
        (
            _("Visits"),
            _("{planned} planned · {late} late · {missed} missed").format(
                planned=len(pva["visits"]), late=len(pva["late"]), missed=len(pva["missed"])
            ),
        ),
        (
            _("Distance"),
            _("{planned} planned · {driven} driven").format(
                planned=_km(pva["planned_distance_m"]), driven=_km(pva["actual_distance_m"])
            ),
        ),
        (
            _("Unplanned stops"),
            "; ".join(f"{_hm(s['start'])}–{_hm(s['end'])} ({_minutes(s['duration_s'])})" for s in unplanned)
            or _("none"),
        ),
    ]
    return html.Dl(
        [part for label, value in items for part in (html.Dt(label), html.Dd(value))], className="pva-summary"
    )


def address_choice(search: object) -> tuple[int | None, date | None]:
    """The worker and day an address's query (`?worker=12&date=2025-03-03`) names; None for what it does not."""
    query = parse_qs(search.lstrip("?") if isinstance(search, str) else "")
    raw_worker, raw_day = query.get("worker", [""])[0], query.get("date", [""])[0]
    worker_id = int(raw_worker) if raw_worker.isdigit() and len(raw_worker) < 19 else None
    try:
        day = date.fromisoformat(raw_day) if len(raw_day) == 10 else None
    except ValueError:
        day = None
    return worker_id, day


def downloads(worker_id: int, day: date, start: datetime, end: datetime) -> list[Any]:
    """The day's downloads: its track from `start` to `end` (the local day's bounds), and plan versus actual."""
    query = urlencode({"from": start.isoformat(), "to": end.isoformat()})
    base = f"/api/v1/workers/{worker_id}"
    return [
        html.A(_("GPX"), href=f"{base}/track.gpx?{query}", className="day-download day-gpx", download=""),
        html.A(_("GeoJSON"), href=f"{base}/track.geojson?{query}", className="day-download day-geojson", download=""),
        html.A(
            _("Plan vs actual (JSON)"),
            href=f"{base}/plan-vs-actual?{urlencode({'date': day.isoformat()})}",
            className="day-download day-json",
        ),
    ]


def layout(*, tile_url: str | None, actor_name: str, workers: Sequence[tuple[int, str]], day: date) -> html.Div:
    """The page for one load; `day` is the date picked until the address (`?worker=&date=`) says otherwise."""
    layers: list[Any] = []
    if tile_url:
        layers.append(dl.TileLayer(url=tile_url, attribution="© OpenStreetMap contributors"))
    layers += [
        dl.GeoJSON(url=BASEMAP_URL, style={"color": "#334155", "weight": 2}, interactive=False),
        dl.LayerGroup(id=LAYERS),
        dl.CircleMarker(
            id=MARKER, center=MONACO_CENTRE, radius=10, className="day-marker",
            pathOptions={**MARKER_STYLE, "opacity": 0, "fillOpacity": 0},
        ),
        dl.ScaleControl(position="bottomright"),
    ]  # fmt: skip
    return html.Div(
        className="plans-page day-page",
        **{
            "data-timezone": i18n.office_zone().key,  # day.js shows the playback clock on the office's clock
            "data-play": _("Play"),  # and words its button in the page's language
            "data-pause": _("Pause"),
        },
        children=[
            dcc.Location(id=URL),
            dcc.Store(id=ADDRESS),
            dcc.Store(id=TRACK, data={"t": [], "ll": []}),
            dcc.Interval(id=TICK, interval=200, disabled=True),
            html.Header(
                className="plans-head",
                children=[
                    html.H1(_("Outfield · a worker's day")),
                    html.Span(actor_name, className="plans-actor"),
                    html.A(_("Route plans"), href="/plans/", className="plans-link"),
                    html.A(_("Live map"), href="/", className="day-link"),
                    i18n.language_switch("/day/"),
                ],
            ),
            html.Div(
                className="plans-controls",
                children=[
                    html.Label(
                        [
                            _("Worker"),
                            dcc.Dropdown(
                                id=WORKER,
                                options=[{"label": name, "value": wid} for wid, name in workers],
                                value=None,
                                clearable=False,
                                placeholder=_("Pick a worker"),
                                className="day-worker",
                            ),
                        ]
                    ),  # fmt: skip
                    html.Label(
                        [
                            _("Day"),
                            dcc.DatePickerSingle(id=DATE, date=day.isoformat(), display_format="YYYY-MM-DD"),
                        ]
                    ),
                    html.Span(id=DOWNLOADS, className="day-downloads"),
                    html.Span(id=MESSAGE, className="plans-message"),
                ],
            ),
            html.Div(
                className="plans-body day-body",
                children=[
                    html.Div(
                        dl.Map(
                            id=MAP,
                            center=MONACO_CENTRE,
                            zoom=14,
                            children=layers,
                            style={"height": "100%", "width": "100%"},
                        ),
                        className="plans-map",
                    ),  # fmt: skip
                    html.Div(
                        className="plans-side day-side",
                        children=[
                            html.H2(_("Plan versus actual")),
                            html.Div(id=SUMMARY),
                            html.Div(id=TABLE, className="day-table"),
                        ],
                    ),
                ],
            ),
            html.Div(
                className="day-playback",
                children=[
                    html.Button(_("Play"), id=PLAY, className="plans-button day-play"),
                    html.Span("--:--:--", id=CLOCK, className="day-clock"),
                    html.Div(
                        dcc.Slider(
                            id=SLIDER,
                            min=0,
                            max=1,
                            step=1,
                            value=0,
                            marks=None,
                            updatemode="drag",
                            allow_direct_input=False,
                        ),
                        className="day-slider",
                    ),
                    html.Label(
                        [
                            _("Speed"),
                            dcc.Dropdown(
                                id=SPEED,
                                options=[{"label": f"×{s}", "value": s} for s in SPEEDS],
                                value=10,
                                clearable=False,
                                searchable=False,
                                className="day-speed",
                            ),
                        ]
                    ),  # fmt: skip
                ],
            ),
        ],
    )


def register(dash_app: Dash, *, auth: Auth, load_day: LoadDay) -> None:
    """`load_day(actor, worker_id, day)` reads the day for `actor` (audited); None for an unknown worker."""

    @dash_app.callback(
        Output(WORKER, "value"),
        Output(DATE, "date"),
        Input(URL, "search"),
        State(DATE, "date"),
    )
    def from_address(search: str | None, picked: str | None) -> tuple[Any, Any]:
        worker_id, day = address_choice(search)
        return worker_id, (day.isoformat() if day is not None else picked)

    @dash_app.callback(
        Output(LAYERS, "children"),
        Output(TRACK, "data"),
        Output(SLIDER, "max"),
        Output(SLIDER, "value"),
        Output(SUMMARY, "children"),
        Output(TABLE, "children"),
        Output(DOWNLOADS, "children"),
        Output(MESSAGE, "children"),
        Output(MAP, "viewport"),
        Input(WORKER, "value"),
        Input(DATE, "date"),
    )
    def show(worker_id: Any, day: Any) -> tuple[Any, ...]:
        empty: tuple[Any, ...] = ([], {"t": [], "ll": []}, 1, 0, None, None, None)
        if worker_id is None:
            return (*empty, _("Pick a worker."), no_update)
        try:
            when = date.fromisoformat(str(day)[:10])
            wid = int(worker_id)
        except (TypeError, ValueError):
            return (*empty, _("Pick a worker and a day."), no_update)
        try:
            actor = auth.require(Action.VIEW_POSITIONS, worker_id=wid)
            found = load_day(actor, wid, when)
        except ApiError as exc:
            return (*empty, _("Refused: {reason}").format(reason=i18n.reason(exc.reason)), no_update)
        if found is None:
            return (*empty, _("No worker with id {id}.").format(id=wid), no_update)
        pva = plan_vs_actual_json(found)
        data = track_data(found)
        span_s = max(1, (data["t"][-1] - data["t"][0]) // 1000) if data["t"] else 1
        note = "" if data["t"] else _("No fixes on this day.")
        return (
            map_layers(found),
            data,
            span_s,
            0,
            summary(pva),
            comparison_table(pva),
            downloads(wid, when, found.start, found.end),
            note,
            viewport(found),
        )

    # The address follows the worker and day picked, so a reload or the language switch comes back to them.
    dash_app.clientside_callback(
        ClientsideFunction(namespace="day", function_name="keep"),
        Output(ADDRESS, "data"),
        Input(WORKER, "value"),
        Input(DATE, "date"),
    )
    dash_app.clientside_callback(
        ClientsideFunction(namespace="day", function_name="play"),
        Output(TICK, "disabled"),
        Output(PLAY, "children"),
        Input(PLAY, "n_clicks"),
        State(TICK, "disabled"),
        State(SLIDER, "value"),
        State(SLIDER, "max"),
        prevent_initial_call=True,
    )
    dash_app.clientside_callback(
        ClientsideFunction(namespace="day", function_name="tick"),
        Output(SLIDER, "value", allow_duplicate=True),
        Output(TICK, "disabled", allow_duplicate=True),
        Output(PLAY, "children", allow_duplicate=True),
        Input(TICK, "n_intervals"),
        State(SLIDER, "value"),
        State(SLIDER, "max"),
        State(SPEED, "value"),
        prevent_initial_call=True,
    )
    dash_app.clientside_callback(
        ClientsideFunction(namespace="day", function_name="place"),
        Output(MARKER, "center"),
        Output(MARKER, "pathOptions"),
        Output(CLOCK, "children"),
        Input(SLIDER, "value"),
        Input(TRACK, "data"),
        State(MARKER, "pathOptions"),
    )
