"""The managers' page (/reports/): order history and reports, each on its own tab.

- History: filters (period, text, customer, team, status), a paged table, CSV/XLSX links, and an
  order's record (timeline, check-ins, report, photos, the visit's track on a small offline map).
- Reports: period, report and grouping; a plotly bar chart of the chosen figure per row, the table of
  rows, CSV/XLSX links; clicking a bar lists the orders behind it (by default those that went wrong).

Its own Dash app, like /plans/. Everything a user typed reaches the page as text (Dash children).
Presenters are pure functions of the service's values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import dash_leaflet as dl
import plotly.graph_objects as go
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from console import i18n
from console.auth import ApiError, Auth
from console.i18n import N_, _
from console.pages import inputs
from console.pages.plans import BASEMAP_URL, MONACO_CENTRE
from data.reports_repo import HistoryFilter
from dispatch.access import Action
from dispatch.orders import OrderStatus
from dispatch.reports import FIGURES, REPORTS, Group, Period, table_records
from services.reports_service import ReportsService

PATH = "/reports/"
PER_PAGE = 25

TABS = "rep-tabs"
H_FROM, H_TO, H_Q, H_CUSTOMER, H_TEAM, H_STATUS = (
    "hist-from",
    "hist-to",
    "hist-q",
    "hist-customer",
    "hist-team",
    "hist-status",
)
H_SEARCH, H_PREV, H_NEXT, H_PAGE = "hist-search", "hist-prev", "hist-next", "hist-page"
H_TABLE, H_COUNT, H_EXPORT, H_MESSAGE = "hist-table", "hist-count", "hist-export", "hist-message"
H_OPEN, H_RECORD, H_TRACK = "hist-open", "hist-record", "hist-track"
R_FROM, R_TO, R_NAME, R_GROUP, R_FIGURE, R_SHOW = (
    "rep-from",
    "rep-to",
    "rep-name",
    "rep-group",
    "rep-figure",
    "rep-show",
)
R_WRONG, R_CHART, R_TABLE, R_EXPORT, R_MESSAGE, R_DRILL, R_DATA = (
    "rep-wrong", "rep-chart", "rep-table", "rep-export", "rep-message", "rep-drill", "rep-data",
)  # fmt: skip


def default_period(today: date) -> tuple[date, date]:
    """The last seven days, today included: what happened lately, today's orders too (the last whole week, Monday to
    Sunday, opened empty on a day's orders until the dates were changed)."""
    return today - timedelta(days=6), today


WORDS = {
    "id": N_("id"), "reference": N_("reference"), "window_start": N_("window start"), "status": N_("status"),
    "type": N_("type"), "worker": N_("worker"), "team": N_("team"), "site": N_("site"), "customer": N_("customer"),
    "label": N_("name"), "key": N_("key"), "organisation": N_("organisation"),
    "overview": N_("overview"), "check-in-compliance": N_("check-in compliance"), "response-times": N_("response times"),
    "productivity": N_("productivity"), "customer-ratings": N_("customer ratings"),
    "visits-gone-wrong": N_("visits gone wrong"),
    "orders": N_("orders"), "visits_done": N_("visits done"), "verified_share": N_("check-ins verified"),
    "anomaly_rate": N_("anomaly rate"), "assign_s": N_("created → assigned"), "response_s": N_("created → on site"),
    "handling_s": N_("handling time"), "on_time_share": N_("on time"), "km": N_("kilometres driven"),
    "utilisation": N_("utilisation (on site / on shift)"), "first_time_fix_rate": N_("first-time fix"),
    "ratings": N_("customer rating"), "count": N_("count"), "share": N_("share"), "s": N_("s"),
    "new": N_("new"), "assigned": N_("assigned"), "accepted": N_("accepted"), "en_route": N_("en route"),
    "on_site": N_("on site"), "done": N_("done"), "failed": N_("failed"), "declined": N_("declined"),
    "cancelled": N_("cancelled"), "in": N_("check-in"), "out": N_("check-out"), "verified": N_("verified"),
    "early": N_("early"), "late": N_("late"), "outside_geofence": N_("outside the geofence"),
    "poor_accuracy": N_("poor GPS accuracy"), "no_location": N_("no location"),
}  # fmt: skip
"""Column names, report names, figures and statuses as a person reads them (the API keeps its own names)."""


def word(name: str) -> str:
    """`name` (a column, report, group, figure or status as the API names it) in the page's language; in English
    as the API names it (the page's columns are the CSV's)."""
    return _(WORDS[name]) if name in WORDS and i18n.current_language() != "en" else name


def _options(values: Sequence[str]) -> list[dict[str, str]]:
    return [{"label": word(v), "value": v} for v in values]


def _date_input(id_: str, value: date, label: str) -> html.Label:
    return html.Label(
        [label, dcc.Input(id=id_, type="text", value=value.isoformat(), size="10", debounce=True, className="rep-date")]
    )


def layout(*, actor_name: str, today: date, may_report: bool) -> html.Div:
    start, end = default_period(today)
    history = html.Div(
        className="rep-pane",
        children=[
            html.Div(
                className="plans-controls",
                children=[
                    _date_input(H_FROM, start, _("From")),
                    _date_input(H_TO, end, _("To")),
                    html.Label(
                        [
                            _("Search"),
                            dcc.Input(
                                id=H_Q,
                                type="text",
                                placeholder=_("reference, notes, site"),
                                debounce=True,
                                className="rep-search",
                            ),
                        ]
                    ),
                    html.Label(
                        [_("Customer"), dcc.Input(id=H_CUSTOMER, type="text", debounce=True, className="rep-text")]
                    ),
                    html.Label([_("Team"), dcc.Input(id=H_TEAM, type="text", debounce=True, className="rep-text")]),
                    html.Label(
                        [
                            _("Status"),
                            dcc.Dropdown(
                                id=H_STATUS,
                                multi=True,
                                className="hist-status",
                                options=_options([s.value for s in OrderStatus]),
                            ),
                        ]
                    ),  # fmt: skip
                    html.Button(_("Search"), id=H_SEARCH, className="plans-button"),
                ],
            ),
            html.Div(id=H_MESSAGE, className="plans-message"),
            html.Div(
                [
                    html.Button(_("‹ Prev"), id=H_PREV, className="rep-pager"),
                    html.Span(id=H_COUNT, className="hist-count"),
                    html.Button(_("Next ›"), id=H_NEXT, className="rep-pager"),
                    html.Span(id=H_EXPORT, className="rep-export"),
                ],
                className="rep-pages",
            ),  # fmt: skip
            dcc.Store(id=H_PAGE, data=1),
            html.Div(id=H_TABLE, className="rep-table"),
            html.Div(
                className="rep-record-wrap",
                children=[
                    html.Div(id=H_RECORD, className="rep-record"),
                    dl.Map(
                        center=MONACO_CENTRE,
                        zoom=14,
                        className="rep-map",
                        style={"height": "320px", "width": "100%"},
                        children=[
                            dl.GeoJSON(url=BASEMAP_URL, style={"color": "#334155", "weight": 2}, interactive=False),
                            dl.LayerGroup(id=H_TRACK),
                        ],
                    ),
                ],
            ),
        ],
    )
    reports: Any = html.P(_("Your role may not view reports (managers and admins)."), className="rep-refused")
    if may_report:
        reports = html.Div(
            className="rep-pane",
            children=[
                html.Div(
                    className="plans-controls",
                    children=[
                        _date_input(R_FROM, start, _("From")),
                        _date_input(R_TO, end, _("To")),
                        html.Label(
                            [
                                _("Report"),
                                dcc.Dropdown(
                                    id=R_NAME,
                                    options=_options(list(REPORTS)),
                                    value="overview",
                                    clearable=False,
                                    className="rep-name",
                                ),
                            ]
                        ),  # fmt: skip
                        html.Label(
                            [
                                _("Per"),
                                dcc.Dropdown(
                                    id=R_GROUP,
                                    options=_options([g.value for g in Group]),
                                    value="team",
                                    clearable=False,
                                    className="rep-group",
                                ),
                            ]
                        ),  # fmt: skip
                        html.Label(
                            [
                                _("Chart"),
                                dcc.Dropdown(
                                    id=R_FIGURE,
                                    value="visits_done",
                                    clearable=False,
                                    className="rep-figure",
                                    options=[{"label": _label(f.name), "value": f.name} for f in FIGURES.values()],
                                ),
                            ]
                        ),  # fmt: skip
                        dcc.Checklist(
                            id=R_WRONG,
                            options=[{"label": _("only what went wrong"), "value": "wrong"}],
                            value=["wrong"],
                        ),  # fmt: skip
                        html.Button(_("Show"), id=R_SHOW, className="plans-button"),
                    ],
                ),
                html.Div(id=R_MESSAGE, className="plans-message"),
                html.Span(id=R_EXPORT, className="rep-export"),
                dcc.Store(id=R_DATA),
                dcc.Graph(id=R_CHART, config={"displayModeBar": False}, figure=empty_chart()),
                html.Div(id=R_DRILL, className="rep-drill"),
                html.Div(id=R_TABLE, className="rep-table"),
            ],
        )
    return html.Div(
        className="plans-page rep-page",
        children=[
            html.Header(
                className="plans-head",
                children=[
                    html.H1(_("Outfield · history and reports")),
                    html.Span(actor_name, className="plans-actor"),
                    # As on the day page: both links and the switch together at the right (two links each pushed
                    # right by `margin-left: auto` split the header, the live map's link left in its middle).
                    html.A(_("Route plans"), href="/plans/", className="plans-link"),
                    html.A(_("Live map"), href="/", className="day-link"),
                    i18n.language_switch("/reports/"),
                ],
            ),
            dcc.Tabs(
                id=TABS,
                value="history",
                children=[
                    dcc.Tab(label=_("History"), value="history", children=history),
                    dcc.Tab(label=_("Reports"), value="reports", children=reports),
                ],
            ),
        ],
    )


# --- presenters (pure) -----------------------------------------------------------------


def empty_chart(message: str = "") -> go.Figure:
    fig = go.Figure(layout={"template": "plotly_dark", "paper_bgcolor": "#111827", "plot_bgcolor": "#0b1120",
                            "height": 320})  # fmt: skip
    if message:
        fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    return fig


def chart(rows: Sequence[Mapping[str, Any]], figure: str) -> go.Figure:
    """A bar per row (worker, team or the organisation) of the chosen figure; the bar's customdata is its key."""
    if not rows or figure not in FIGURES or figure not in rows[0]:
        return empty_chart(_("nothing to chart for this report"))
    f = FIGURES[figure]
    values = [r.get(figure) for r in rows]
    fig = empty_chart()
    fig.add_bar(
        x=[str(r.get("label")) for r in rows],
        y=[v if isinstance(v, int | float) and not isinstance(v, bool) else 0 for v in values],  # None: no value
        customdata=[str(r.get("key")) for r in rows],
        marker_color="#38bdf8",
        name=_label(figure),
        hovertemplate="%{x}: %{y}<extra></extra>",
    )
    fig.update_layout(title=f"{_label(figure)} ({word(f.unit)})", yaxis={"rangemode": "tozero"}, clickmode="event")
    return fig


def table(records: Sequence[Mapping[str, Any]], *, columns: Sequence[str] | None = None, open_button: bool = False
          ) -> html.Table | html.P:  # fmt: skip
    if not records:
        return html.P(_("No rows."), className="rep-empty")
    names = list(columns or records[0].keys())
    head = html.Tr([html.Th(word(n)) for n in names] + ([html.Th("")] if open_button else []))
    body = []
    for r in records:
        cells = [html.Td(_cell(n, r.get(n))) for n in names]
        if open_button:
            cells.append(html.Td(html.Button(_("Open"), id={"type": H_OPEN, "id": r["id"]}, className="hist-open")))
        body.append(html.Tr(cells, className="rep-row"))
    return html.Table([html.Thead(head), html.Tbody(body)], className="rep-grid")


def _cell(name: str, value: Any) -> str:
    """A table cell as a person reads it: a time on the office's clock, named ('Sun 06 Dec 23:45 CET'; the export
    keeps ISO 8601), anything else as it is."""
    if value is None:
        return ""
    if name in TIME_COLUMNS and isinstance(value, str):
        try:
            return i18n.date_time(datetime.fromisoformat(value))
        except ValueError:
            return value
    return str(value)


TIME_COLUMNS = frozenset({"window_start", "window_end", "created_at", "done_at", "at"})

LIST_ROWS = 200
"""Rows of a list report the page draws (a year's visits gone wrong can be 170,000)."""

HISTORY_COLUMNS = ("id", "reference", "window_start", "status", "type", "worker", "team", "site", "customer")


def _label(figure: str) -> str:
    """A figure's label in the page's language (the figure's own English label when the page has no word for it)."""
    return _(WORDS[figure]) if figure in WORDS and i18n.current_language() != "en" else FIGURES[figure].label


def record_view(record: Mapping[str, Any]) -> list[Any]:
    """The order's record as text: header, timeline with who/when/where, check-ins, report, photos."""
    order = record["order"]
    out: list[Any] = [
        html.H3(_("Order {id}").format(id=order["id"]) + f" · {order['reference']} · {word(order['status'])}"),
        html.P(_place(order) + " · " + (order["worker"] or _("unassigned"))),
        html.H4(_("Timeline")),
        html.Ol([html.Li(_step(t), className="rep-step") for t in record["timeline"]], className="rep-timeline"),
        html.H4(_("Check-ins")),
        html.Ul([html.Li(f"{word(c['kind'])}: {word(c['verdict'] or '')}" + (f" ({c['distance_m']:.0f} m)" if c["distance_m"]
                 is not None else "")) for c in record["checkins"]] or [html.Li(_("none"))]),
    ]  # fmt: skip
    report = record.get("report")
    out.append(html.H4(_("Service report")))
    if report:
        out.append(html.P(report.get("text") or _("(no text)"), className="rep-report-text"))
        if report.get("parts"):
            out.append(html.P(_("Parts: ") + ", ".join(str(p) for p in report["parts"])))
        if report.get("signature_url"):
            out.append(
                html.A(
                    _("Signature ({name})").format(name=report.get("signed_by") or _("customer")),
                    href=report["signature_url"],
                )
            )
    else:
        out.append(html.P(_("none")))
    if record.get("photos"):
        out.append(html.H4(_("Photos")))
        out.append(
            html.Div(
                [
                    html.A(_("photo {id}").format(id=p["photo_id"]), href=p["url"], target="_blank")
                    for p in record["photos"]
                ]
            )
        )
    out.append(html.P(_("Track: {n} fixes").format(n=len(record["track"])), className="rep-track-count"))
    return out


def _place(order: Mapping[str, Any]) -> str:
    """'repair at Casino (Harbour Ltd)', without the brackets when the site names no customer."""
    kind = i18n.reason(str(order["type"]))
    if order.get("customer"):
        return _("{type} at {site} ({customer})").format(type=kind, site=order["site"], customer=order["customer"])
    return _("{type} at {site}").format(type=kind, site=order["site"])


def _step(t: Mapping[str, Any]) -> str:
    where = (
        _(" at {lat}, {lon}").format(lat=f"{t['latitude']:.5f}", lon=f"{t['longitude']:.5f}")
        if t.get("latitude") is not None
        else ""
    )
    who = _(" by {name}").format(name=t["by"]) if t.get("by") else ""
    reason = f" — {t['reason']}" if t.get("reason") else ""
    return f"{_cell('at', t['at'])} {word(t['from']) if t['from'] else '·'} → {word(t['to'])}{who}{where}{reason}"


def track_layer(record: Mapping[str, Any]) -> list[Any]:
    points = [(p["latitude"], p["longitude"]) for p in record["track"]]
    if not points:
        return []
    return [dl.Polyline(positions=points, color="#f59e0b", weight=4), dl.CircleMarker(center=points[-1], radius=6)]


@dataclass(frozen=True, slots=True)
class Shown:
    """The report the page shows, as its store holds it (`show` writes it; a forged call may write anything)."""

    rows: list[Mapping[str, Any]]
    period: Period
    group: Group


def _shown(data: object) -> Shown | None:
    """The store's report, or None when it holds none or not in the shape `show` writes."""
    if not isinstance(data, Mapping):
        return None
    rows, group = data.get("rows"), data.get("group")
    if (
        not isinstance(rows, list)
        or not all(isinstance(r, Mapping) for r in rows)
        or group not in [g.value for g in Group]
    ):
        return None
    try:
        return Shown(rows, _period(data.get("from"), data.get("to")), Group(group))
    except ValueError:
        return None


def _period(start: Any, end: Any) -> Period:
    try:
        first, last = date.fromisoformat(str(start)), date.fromisoformat(str(end))
    except ValueError:
        raise ValueError(_("from/to: use ISO dates such as 2026-03-02")) from None
    return Period(first, last)


def _links(path: str, query: Mapping[str, Any]) -> list[Any]:
    clean = {k: v for k, v in query.items() if v not in (None, "", [])}
    return [html.A(fmt.upper(), href=f"{path}?{urlencode({**clean, 'format': fmt})}", className=f"rep-{fmt}",
                   download="") for fmt in ("csv", "xlsx")]  # fmt: skip


def register(app: Dash, *, reports: ReportsService, auth: Auth) -> None:
    def actor_for(action: Action) -> Any:
        try:
            return auth.require(action)
        except ApiError as exc:
            return _("Refused: {reason}").format(reason=i18n.reason(exc.reason))

    @app.callback(
        Output(H_TABLE, "children"),
        Output(H_COUNT, "children"),
        Output(H_EXPORT, "children"),
        Output(H_MESSAGE, "children"),
        Output(H_PAGE, "data"),
        Input(H_SEARCH, "n_clicks"),
        Input(H_PREV, "n_clicks"),
        Input(H_NEXT, "n_clicks"),
        State(H_PAGE, "data"),
        State(H_FROM, "value"),
        State(H_TO, "value"),
        State(H_Q, "value"),
        State(H_CUSTOMER, "value"),
        State(H_TEAM, "value"),
        State(H_STATUS, "value"),
    )
    def search(_s: Any, _p: Any, _n: Any, page: int | None, start: Any, end: Any, q: Any, customer: Any,
               team: Any, statuses: Any) -> tuple[Any, ...]:  # fmt: skip
        actor = actor_for(Action.VIEW_ORDERS)
        if isinstance(actor, str):
            return no_update, "", no_update, actor, no_update
        shown_page = inputs.count(page) or 1
        page = {H_PREV: max(1, shown_page - 1), H_NEXT: shown_page + 1}.get(str(ctx.triggered_id), 1)
        q, customer, team = ((inputs.text(v) or "").strip() for v in (q, customer, team))
        try:
            filters = HistoryFilter(period=_period(start, end), q=q[:200] or None, customer=customer[:200] or None,
                                    team=team or None, statuses=inputs.texts(statuses))  # fmt: skip
        except ValueError as exc:
            return no_update, "", no_update, str(exc), no_update
        found = reports.history(actor=actor, filters=filters, page=page, per_page=PER_PAGE)
        if not found.rows and page > 1:
            raise PreventUpdate
        pages = max(1, -(-found.total // PER_PAGE))
        query = {"from": start, "to": end, "q": filters.q, "customer": filters.customer, "team": filters.team,
                 "status": ",".join(filters.statuses), "page": page, "per_page": PER_PAGE}  # fmt: skip
        return (
            table(found.rows, columns=HISTORY_COLUMNS, open_button=True),
            (
                _(" page {page} of {pages} · 1 order ")
                if found.total == 1
                else _(" page {page} of {pages} · {total} orders ")
            ).format(page=page, pages=pages, total=found.total),
            [_("Export: "), *_links("/api/v1/orders/history", query)],
            "",
            page,
        )

    @app.callback(
        Output(H_RECORD, "children"),
        Output(H_TRACK, "children"),
        Input({"type": H_OPEN, "id": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def open_record(clicks: list[int | None]) -> tuple[Any, Any]:
        if not isinstance(clicks, list) or not any(inputs.count(c) for c in clicks):
            raise PreventUpdate
        order_id = inputs.picked_id(ctx.triggered_id.get("id")) if isinstance(ctx.triggered_id, Mapping) else None
        if order_id is None:
            raise PreventUpdate
        actor = actor_for(Action.VIEW_ORDERS)
        if isinstance(actor, str):
            return html.P(actor), []
        record = reports.record(actor=actor, order_id=order_id)
        if record is None:
            return html.P(_("That order no longer exists.")), []
        return record_view(record), track_layer(record)

    @app.callback(
        Output(R_DATA, "data"),
        Output(R_TABLE, "children"),
        Output(R_EXPORT, "children"),
        Output(R_MESSAGE, "children"),
        Output(R_DRILL, "children", allow_duplicate=True),
        Input(R_SHOW, "n_clicks"),
        State(R_FROM, "value"),
        State(R_TO, "value"),
        State(R_NAME, "value"),
        State(R_GROUP, "value"),
        prevent_initial_call=True,
    )
    def show(_n: Any, start: Any, end: Any, name: Any, group: Any) -> tuple[Any, ...]:
        actor = actor_for(Action.VIEW_REPORTS)
        if isinstance(actor, str):
            return no_update, no_update, no_update, actor, no_update
        try:
            period = _period(start, end)
        except ValueError as exc:
            return no_update, no_update, no_update, str(exc), no_update
        if not isinstance(name, str) or name not in REPORTS:
            return no_update, no_update, no_update, _("Choose a report."), no_update
        chosen = Group(group) if group in [g.value for g in Group] else Group.TEAM
        found = reports.report(actor=actor, name=name, period=period, group=chosen)
        # A list report (visits gone wrong) shows its first rows; the downloads hold them all.
        listed = not REPORTS[name].figures and len(found) > LIST_ROWS
        rows = table_records(found.iloc[:LIST_ROWS] if listed else found)
        query = {"from": period.start.isoformat(), "to": period.end.isoformat(), "group": chosen.value}
        data = {"rows": rows, "from": query["from"], "to": query["to"], "group": chosen.value}
        shown: list[Any] = [table(rows)]
        if listed:
            note = _("The first {shown} of {total} rows: the downloads hold them all.")
            shown.insert(0, html.P(note.format(shown=LIST_ROWS, total=f"{len(found):,}"), className="rep-more"))
        return data, shown, [_("Download: "), *_links(f"/api/v1/reports/{name}", query)], "", ""

    @app.callback(Output(R_CHART, "figure"), Input(R_DATA, "data"), Input(R_FIGURE, "value"))
    def draw(data: Any, figure: Any) -> go.Figure:
        shown = _shown(data)
        if shown is None:
            return empty_chart(_("choose a period and press Show"))
        return chart(shown.rows, figure if isinstance(figure, str) else "")

    @app.callback(
        Output(R_DRILL, "children"),
        Input(R_CHART, "clickData"),
        State(R_DATA, "data"),
        State(R_FIGURE, "value"),
        State(R_WRONG, "value"),
        prevent_initial_call=True,
    )
    def drill(click: Any, data: Any, figure: Any, wrong: Any) -> Any:
        points = click.get("points") if isinstance(click, Mapping) else None
        shown = _shown(data)
        if not isinstance(points, list) or not points or not isinstance(points[0], Mapping) or shown is None:
            raise PreventUpdate
        if figure not in FIGURES:
            raise PreventUpdate
        actor = actor_for(Action.VIEW_REPORTS)
        if isinstance(actor, str):
            return html.P(actor)
        point = points[0]
        key = str(point.get("customdata"))
        rows = reports.drill_down(actor=actor, period=shown.period, group=shown.group, key=key, figure=figure,
                                  wrong_only=bool(wrong))  # fmt: skip
        what = _("{n} orders that went wrong for {figure}") if wrong else _("{n} orders behind {figure}")
        return [html.H4(f"{point.get('x')}: " + what.format(n=len(rows), figure=_label(figure))),
                table(rows, columns=HISTORY_COLUMNS)]  # fmt: skip


__all__ = ["PATH", "layout", "register"]
