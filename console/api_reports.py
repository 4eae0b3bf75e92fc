"""Order history and managers' reports over HTTP.

- `GET /api/v1/reports`: the report names with descriptions (managers, admins).
- `GET /api/v1/reports/{name}?from=&to=&group=worker|team|organisation|type&format=json|csv|xlsx`.
- `GET /api/v1/reports/orders?from=&to=&group=&key=&figure=&wrong=1`: the orders behind one figure.
- `GET /api/v1/orders/history?from=&to=&worker_id=&team=&site_id=&customer=&status=&type=&q=&page=&per_page=&format=`
  (the office: admins, dispatchers, managers).
- `GET /api/v1/orders/{id}/record`: the whole record of an order, the visit's track read through the audit.

`from`/`to` are ISO dates (both included, at most 366 days); a bad value gets 400 naming the field.
"""

from __future__ import annotations

from datetime import date

import flask

from console.auth import Auth, deny
from data.reports_repo import MAX_PER_PAGE, HistoryFilter
from dispatch.access import Action
from dispatch.fields import outside_calendar
from dispatch.orders import OrderStatus, OrderType
from dispatch.reports import FIGURES, REPORTS, Group, Period
from services.reports_service import (
    MAX_REPORT_PER_PAGE,
    REPORT_PER_PAGE,
    Export,
    ReportsService,
    export,
    report_json,
)

FORMATS = ("json", "csv", "xlsx")


def create_blueprint(*, auth: Auth, reports: ReportsService) -> flask.Blueprint:
    bp = flask.Blueprint("api_reports", __name__)

    @bp.get("/api/v1/reports")
    def index() -> flask.Response:
        auth.require(Action.VIEW_REPORTS)
        return flask.jsonify([{"name": r.name, "description": r.description, "figures": list(r.figures)}
                              for r in REPORTS.values()])  # fmt: skip

    @bp.get("/api/v1/reports/orders")
    def drill_down() -> flask.Response:
        actor = auth.require(Action.VIEW_REPORTS)
        period, group = period_arg(), group_arg()
        figure = flask.request.args.get("figure", "")
        if figure not in FIGURES:
            deny(400, f"figure: {figure[:40]!r} is not one of {', '.join(FIGURES)}", "figure")
        key = flask.request.args.get("key", "all")
        wrong = flask.request.args.get("wrong", "0") in ("1", "true")
        rows = reports.drill_down(actor=actor, period=period, group=group, key=key, figure=figure, wrong_only=wrong)
        return flask.jsonify({"figure": figure, "key": key, "wrong_only": wrong, "orders": rows})

    @bp.get("/api/v1/reports/<name>")
    def show(name: str) -> flask.Response:
        actor = auth.require(Action.VIEW_REPORTS)
        if name not in REPORTS:
            deny(404, f"no report named {name[:40]!r}; see GET /api/v1/reports", "name")
        period, group, fmt = period_arg(), group_arg(), format_arg()
        page = whole_arg("page", 1, 1, 1_000_000)
        per_page = whole_arg("per_page", REPORT_PER_PAGE, 1, MAX_REPORT_PER_PAGE)
        table = reports.report(actor=actor, name=name, period=period, group=group)
        if fmt == "json":
            return flask.jsonify(report_json(name, period, group, table, page=page, per_page=per_page))
        return download(export(table, fmt=fmt, basename=f"{name}-{group.value}-{period.start}-{period.end}"))

    @bp.get("/api/v1/orders/history")
    def history() -> flask.Response:
        actor = auth.require(Action.VIEW_ORDERS)
        filters, fmt = history_filter(), format_arg()
        page, per_page = whole_arg("page", 1, 1, 1_000_000), whole_arg("per_page", 50, 1, MAX_PER_PAGE)
        found = reports.history(actor=actor, filters=filters, page=page, per_page=per_page)
        if fmt == "json":
            return flask.jsonify({"total": found.total, "page": found.page, "per_page": found.per_page,
                                  "orders": found.rows})  # fmt: skip
        import pandas as pd

        table = pd.DataFrame(found.rows, columns=list(found.rows[0]) if found.rows else ["id"])
        return download(export(table, fmt=fmt, basename=f"orders-{filters.period.start}-{filters.period.end}"))

    @bp.get("/api/v1/orders/<int:order_id>/record")
    def record(order_id: int) -> flask.Response:
        actor = auth.require_order(Action.VIEW_ORDERS, order_id)
        found = reports.record(actor=actor, order_id=order_id)
        if found is None:
            deny(404, f"no order with id {order_id}", "order_id")
        return flask.jsonify(found)

    @bp.get("/api/v1/work-orders/<int:order_id>/signature")
    def signature(order_id: int) -> flask.Response:
        actor = auth.require_order(Action.VIEW_ORDERS, order_id)
        path = reports.signature_file(actor=actor, order_id=order_id)
        if path is None:
            deny(404, f"order {order_id} has no signature", "order_id")
        return flask.send_file(path, mimetype="image/png")

    return bp


def download(file: Export) -> flask.Response:
    response = flask.Response(file.body, mimetype=file.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    return response


def date_arg(name: str) -> date:
    raw = flask.request.args.get(name, "")
    if not raw:
        deny(400, f"{name}: required, an ISO date such as 2026-03-02", name)
    try:
        found = date.fromisoformat(raw)
    except ValueError:
        deny(400, f"{name}: {raw[:40]!r} is not an ISO date such as 2026-03-02", name)
    if (why := outside_calendar(found)) is not None:
        deny(400, f"{name}: {why}", name)
    return found


def period_arg() -> Period:
    start, end = date_arg("from"), date_arg("to")
    try:
        return Period(start, end)
    except ValueError as exc:
        deny(400, str(exc), "to")


def group_arg() -> Group:
    raw = flask.request.args.get("group", "team")
    try:
        return Group(raw)
    except ValueError:
        deny(400, f"group: {raw[:40]!r} is not one of {', '.join(g.value for g in Group)}", "group")


def format_arg() -> str:
    raw = flask.request.args.get("format", "json")
    if raw not in FORMATS:
        deny(400, f"format: {raw[:40]!r} is not one of {', '.join(FORMATS)}", "format")
    return raw


def whole_arg(name: str, default: int, low: int, high: int) -> int:
    raw = flask.request.args.get(name, "")
    if raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        deny(400, f"{name}: {raw[:40]!r} is not a whole number within {low}..{high}", name)
    return int(raw)


def listed(name: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    raw = flask.request.args.get(name, "")
    values = tuple(v.strip() for v in raw.split(",") if v.strip())
    bad = [v for v in values if v not in allowed]
    if bad:
        deny(400, f"{name}: {bad[0][:40]!r} is not one of {', '.join(allowed)}", name)
    return values


def history_filter() -> HistoryFilter:
    args = flask.request.args
    worker = whole_arg("worker_id", 0, 1, 2**31 - 1) if args.get("worker_id") else None
    site = whole_arg("site_id", 0, 1, 2**31 - 1) if args.get("site_id") else None
    return HistoryFilter(
        period=period_arg(),
        worker_id=worker,
        team=args.get("team") or None,
        site_id=site,
        customer=(args.get("customer") or "")[:200] or None,
        statuses=listed("status", tuple(s.value for s in OrderStatus)),
        types=listed("type", tuple(t.value for t in OrderType)),
        q=(args.get("q") or "")[:200] or None,
    )
