"""Order history and managers' reports: one call per user action, audited, plus CSV/XLSX export."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from datetime import UTC, timedelta, tzinfo
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from data import audit_repo, reports_repo
from data.db import session_scope
from dispatch.access import Actor, effective_scope, sees_order
from dispatch.clock import Clock
from dispatch.reports import (
    FIGURES,
    REPORTS,
    Group,
    Period,
    figures_table,
    orders_behind,
    plain_table,
    table_records,
)
from services.field_service import FieldService
from services.live_service import audited_positions

CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TRACK_MARGIN = timedelta(minutes=30)
"""How long before the worker set off (or arrived) and after they finished the visit's track reaches."""


@dataclass(frozen=True, slots=True)
class Export:
    body: bytes
    content_type: str
    filename: str


class ReportsService:
    def __init__(
        self, *, sessions: sessionmaker[Session], clock: Clock, field: FieldService, zone: tzinfo = UTC
    ) -> None:
        """`zone` is the office's: a report's days and the history's date range are its local days."""
        self.sessions = sessions
        self.clock = clock
        self.field = field
        self.zone = zone

    def report(self, *, actor: Actor, name: str, period: Period, group: Group, team: str | None = None) -> pd.DataFrame:
        """The rows of report `name` over the period (KeyError for an unknown name). Audited."""
        kind = REPORTS[name]
        period = period.with_zone(self.zone)
        with session_scope(self.sessions) as session:
            if kind.figures:  # sums per worker, team and type from SQL: a year reads thousands of rows, not orders
                sums = in_scope(actor, reports_repo.order_sums(session, period, team=team, now=self.clock.now()))
                workers = in_scope(actor, reports_repo.worker_figures(session, period, now=self.clock.now(), team=team))
            else:
                wrong = in_scope(actor, reports_repo.visits_gone_wrong(session, period, team=team))
            self._audit(session, actor, "view-report", {"report": name, "from": str(period.start),
                                                        "to": str(period.end), "group": group.value})  # fmt: skip
        if kind.figures:
            return figures_table(name, sums, workers, group)
        return wrong.reset_index(drop=True)

    def drill_down(
        self, *, actor: Actor, period: Period, group: Group, key: str, figure: str, wrong_only: bool
    ) -> list[dict[str, Any]]:
        """The orders behind one figure of one row (ValueError naming `figure` for an unknown one)."""
        period = period.with_zone(self.zone)
        with session_scope(self.sessions) as session:
            facts = in_scope(actor, reports_repo.order_facts(session, period, **_narrowed(group, key)))
            ids = orders_behind(facts, group, key, figure, wrong_only=wrong_only)
            rows = [reports_repo.order_summary(session, i) for i in ids[: reports_repo.MAX_PER_PAGE * 5]]
            self._audit(session, actor, "view-report-orders", {"figure": figure, "group": group.value, "key": key})
        return [r for r in rows if r is not None]

    def history(
        self, *, actor: Actor, filters: reports_repo.HistoryFilter, page: int, per_page: int
    ) -> reports_repo.HistoryPage:
        scope = effective_scope(actor)
        filters = replace(filters, period=filters.period.with_zone(self.zone))
        if not scope.all_teams:
            filters = replace(filters, scope_teams=scope.teams)
        with session_scope(self.sessions) as session:
            return reports_repo.search_history(session, filters, page=page, per_page=per_page)

    def record(self, *, actor: Actor, order_id: int) -> dict[str, Any] | None:
        """An order's whole record: the order, its timeline, what the field sent and the visit's track."""
        with session_scope(self.sessions) as session:
            summary = reports_repo.order_summary(session, order_id)
            if summary is None or not sees_order(actor, summary["team"] if summary["worker_id"] is not None else None):
                return None  # outside a team-scoped reader's teams: as unknown as a missing order
            timeline = reports_repo.timeline(session, order_id)
        field = self.field.field_record(actor=actor, order_id=order_id)
        report = field.get("report")
        if report is not None:
            report = {**report, "signature_url": f"/api/v1/work-orders/{order_id}/signature"
                      if report.get("has_signature") else None}  # fmt: skip
        return {
            "order": summary,
            "timeline": timeline,
            "checkins": field["checkins"],
            "photos": [{**p, "url": f"/api/v1/photos/{p['photo_id']}/original"} for p in field["photos"]],
            "report": report,
            "track": self._visit_track(actor, summary, timeline),
        }

    def signature_file(self, *, actor: Actor, order_id: int) -> str | None:
        """The stored PNG of the customer's signature on the order's latest report, if any."""
        with session_scope(self.sessions) as session:
            path = reports_repo.signature_path(session, order_id)
            if path is not None:
                audit_repo.record(
                    session, actor_id=actor.id, action="view-signature", subject_type="order", subject_id=order_id,
                    at=self.clock.now(),
                )  # fmt: skip
        return path if path is not None and Path(path).is_file() else None

    def _visit_track(self, actor: Actor, order: dict[str, Any], timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The worker's fixes from setting off (or arriving) to finishing the visit, read through the audit."""
        worker_id = order["worker_id"]
        started = [t["at"] for t in timeline if t["to"] in ("en_route", "on_site")]
        ended = [t["at"] for t in timeline if t["to"] in ("done", "failed")]
        if worker_id is None or not started:
            return []
        start = pd.Timestamp(started[0]).to_pydatetime() - TRACK_MARGIN
        end = pd.Timestamp(ended[-1] if ended else started[-1]).to_pydatetime() + TRACK_MARGIN
        fixes = audited_positions(
            self.sessions, self.clock, actor=actor, worker_id=worker_id, start=start, end=end, view="visit-track"
        )
        return [{"at": p.fix_time.isoformat(), "latitude": p.latitude, "longitude": p.longitude}
                for p in fixes or []]  # fmt: skip

    def _audit(self, session: Session, actor: Actor, action: str, details: dict[str, Any]) -> None:
        audit_repo.record(
            session, actor_id=actor.id, action=action, subject_type="report", subject_id=None, at=self.clock.now(),
            details=details,
        )  # fmt: skip


def in_scope(actor: Actor, table: pd.DataFrame) -> pd.DataFrame:
    """The rows of an order or worker table a team-scoped reader may see: their teams' (and unassigned orders)."""
    scope = effective_scope(actor)
    if scope.all_teams or table.empty:
        return table
    # Unassigned orders (no worker) are every office user's; worker tables have no such rows.
    keep = table["team"].isin(sorted(scope.teams)) | table["worker_id"].isna()
    return table[keep]


REPORT_PER_PAGE = 1000
"""Rows of a report's JSON answer per page by default (a year's visits gone wrong can be 170,000: the CSV and XLSX
exports hold every row)."""
MAX_REPORT_PER_PAGE = 10_000


def report_json(
    name: str, period: Period, group: Group, table: pd.DataFrame, *, page: int = 1, per_page: int = REPORT_PER_PAGE
) -> dict[str, Any]:
    """The report as JSON: its rows `per_page` at a time (page 1 first), with how many there are in all."""
    kind = REPORTS[name]
    first = (page - 1) * per_page
    return {
        "report": name,
        "description": kind.description,
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "group": group.value,
        "figures": {f: {"label": FIGURES[f].label, "unit": FIGURES[f].unit} for f in kind.figures},
        "total": len(table),
        "page": page,
        "per_page": per_page,
        "rows": table_records(table.iloc[first : first + per_page]),
    }


def export(table: pd.DataFrame, *, fmt: str, basename: str) -> Export:
    """The table as CSV or XLSX, timestamps as ISO text, with a download file name."""
    plain = plain_table(table)
    if fmt == "csv":
        return Export(plain.to_csv(index=False).encode(), CSV, f"{basename}.csv")
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        plain.to_excel(writer, index=False, sheet_name=basename[:31])
    return Export(buffer.getvalue(), XLSX, f"{basename}.xlsx")


def _narrowed(group: Group, key: str) -> dict[str, Any]:
    """The SQL filter that reads only one row's orders (the rules then pick the figure's)."""
    if group is Group.WORKER:
        return {"worker_id": int(key)} if key.isdigit() else {"worker_id": -1}
    if group is Group.TEAM:
        return {"team": key}
    if group is Group.TYPE:
        return {"order_type": key}
    return {}
