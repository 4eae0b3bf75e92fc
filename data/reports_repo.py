"""SQL for order history and reports: a period's orders as columns, history search, an order's timeline.

Reports read one aggregated row per order (status history and check-ins folded in SQL) straight into
a pandas frame; no ORM object is built per order, so a year of a 500-worker organisation stays fast.
Positions are read only as columns for the kilometres driven and never leave this module as rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Integer, Select, and_, bindparam, delete, func, insert, or_, select, text
from sqlalchemy.orm import Session

from data import positions_repo, workers_repo
from data.tables import (
    ORDER_SEARCH_TABLE,
    CustomerRow,
    KmDayRow,
    OrderStatusHistoryRow,
    ReportDeliveryRow,
    ReportMonthRow,
    ReportMonthSumsRow,
    ServiceReportRow,
    SiteRow,
    UserRow,
    UTCDateTime,
    WorkerDayKmRow,
    WorkerRow,
    WorkOrderRow,
)
from dispatch.reports import (
    ORDER_COLUMNS,
    SUM_COLUMNS,
    SUM_FIELDS,
    SUM_KEYS,
    WRONG_COLUMNS,
    WRONG_REASONS,
    Period,
    attach_checkins,
    km_driven,
    normalise_orders,
    shift_seconds,
    workers_frame,
    wrong_rows,
)

MAX_PER_PAGE = 200


def period_bounds(period: Period) -> tuple[datetime, datetime]:
    """[start, end) in UTC for the whole local days of the period (in its zone)."""
    return period.bounds()


def _epoch(session: Session, column: str) -> str:
    """SQL for a timestamp column as seconds since 1970 (a number pandas reads fast)."""
    if session.get_bind().dialect.name == "sqlite":
        return f"(julianday({column}) - 2440587.5) * 86400.0"
    return f"EXTRACT(EPOCH FROM {column})"


def _facts_sql(session: Session, team: bool) -> str:
    t = {c: _epoch(session, f"o.{c}") for c in ("created_at", "window_start", "window_end", "assigned_at",
                                                 "on_site_at", "ended_at")}  # fmt: skip
    return f"""
SELECT o.id, o.assigned_worker_id, COALESCE(w.team, ''), o.site_id, o.type, o.status, {t["created_at"]},
       {t["window_start"]}, {t["window_end"]}, {t["assigned_at"]}, {t["on_site_at"]}, {t["ended_at"]}, o.failed_once, s.rating
FROM work_orders o
LEFT JOIN workers w ON w.id = o.assigned_worker_id
LEFT JOIN survey_answers s ON s.order_id = o.id
WHERE o.window_start >= :start AND o.window_start < :end{" AND COALESCE(w.team, '') = :team" if team else ""}
"""


_CHECKINS_SQL = """
SELECT c.order_id, c.kind, c.verdict FROM checkins c JOIN work_orders o ON o.id = c.order_id
WHERE o.window_start >= :start AND o.window_start < :end
"""
_TIME_COLUMNS = ("created_at", "window_start", "window_end", "assigned_at", "on_site_at", "ended_at")


def _columns(rows: Sequence[Any], names: Sequence[str]) -> pd.DataFrame:
    """A frame from result rows, built column by column (much faster than row by row)."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    return pd.DataFrame({name: list(values) for name, values in zip(names, columns, strict=True)})


def order_facts(
    session: Session,
    period: Period,
    *,
    team: str | None = None,
    worker_id: int | None = None,
    order_type: str | None = None,
) -> pd.DataFrame:
    """The period's orders (by window start) as `dispatch.reports.ORDER_COLUMNS`; only one team's, worker's or
    order type's when given."""
    start, end = period_bounds(period)
    bounds = (bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime()))
    params: dict[str, Any] = {"start": start, "end": end}
    if team is not None:
        params["team"] = team
    if worker_id is not None:
        params["worker_id"] = worker_id
    if order_type is not None:
        params["order_type"] = order_type
    sql = _facts_sql(session, team is not None)
    sql += " AND o.assigned_worker_id = :worker_id" if worker_id is not None else ""
    sql += " AND o.type = :order_type" if order_type is not None else ""
    connection = session.connection()
    orders = _columns(
        connection.execute(text(sql).bindparams(*bounds), params).fetchall(),
        [c for c in ORDER_COLUMNS if c not in ("checkin_verdict", "anomalies")],
    )
    for column in _TIME_COLUMNS:
        orders[column] = pd.to_numeric(orders[column], errors="coerce").astype(float)  # seconds since 1970
    checkins = _columns(
        connection.execute(text(_CHECKINS_SQL).bindparams(*bounds), {"start": start, "end": end}).fetchall(),
        ["order_id", "kind", "verdict"],
    )
    return normalise_orders(attach_checkins(orders, checkins))


def visits_gone_wrong(session: Session, period: Period, *, team: str | None = None) -> pd.DataFrame:
    """The period's visits that went wrong (`dispatch.reports.wrong_rows`), picked by SQL with the rules of
    `dispatch.reports.gone_wrong` (a test holds both to the same rows): only those orders are read."""
    start, end = period_bounds(period)
    t = {c: _epoch(session, f"o.{c}") for c in ("window_start", "on_site_at")}
    # Only check-ins not verified are grouped (a few of them); whether an order with a bad check-out only
    # was checked in at all is asked for those orders alone.
    flags = {
        "failed": "o.failed_once",
        "late": "o.on_site_at IS NOT NULL AND o.on_site_at > o.window_end",
        "check-in not verified": "b.in_bad > 0",
        "check-in/-out anomaly": "b.n_bad > 0 AND (b.in_bad > 0 OR EXISTS "
        "(SELECT 1 FROM checkins i WHERE i.order_id = o.id AND i.kind = 'in'))",
    }
    cases = ", ".join(f"CASE WHEN {flags[r]} THEN 1 ELSE 0 END" for r in WRONG_REASONS)
    where = "o.window_start >= :start AND o.window_start < :end"
    where += " AND COALESCE(w.team, '') = :team" if team is not None else ""
    sql = f"""
WITH b AS (
    SELECT order_id, SUM(CASE WHEN kind = 'in' THEN 1 ELSE 0 END) AS in_bad, COUNT(*) AS n_bad
    FROM checkins WHERE COALESCE(verdict, '') <> 'verified' GROUP BY order_id
)
SELECT o.id, o.assigned_worker_id, COALESCE(w.team, ''), o.site_id, o.type, o.status, {t["window_start"]},
       {t["on_site_at"]}, {cases}
FROM work_orders o
LEFT JOIN workers w ON w.id = o.assigned_worker_id
LEFT JOIN b ON b.order_id = o.id
WHERE {where} AND ({flags["failed"]} OR ({flags["late"]}) OR b.order_id IS NOT NULL)
"""
    params: dict[str, Any] = {"start": start, "end": end}
    if team is not None:
        params["team"] = team
    stmt = text(sql).bindparams(bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime()))
    rows = _columns(session.connection().execute(stmt, params).fetchall(), [*WRONG_COLUMNS, *WRONG_REASONS])
    for column in ("window_start", "on_site_at"):
        seconds = pd.to_numeric(rows[column], errors="coerce").astype(float)
        rows[column] = pd.to_datetime((seconds * 1000).round(), unit="ms", utc=True)
    rows["worker_id"] = rows["worker_id"].astype("Int64")
    rows["team"] = rows["team"].astype(str)
    return wrong_rows(rows[list(WRONG_COLUMNS)], rows[list(WRONG_REASONS)].astype(bool))


_CHECKIN_COUNTS_SQL = """
    SELECT ci.order_id,
           SUM(CASE WHEN ci.kind = 'in' THEN 1 ELSE 0 END) AS n_in,
           SUM(CASE WHEN ci.kind = 'in' AND COALESCE(ci.verdict, '') <> 'verified' THEN 1 ELSE 0 END) AS in_bad,
           SUM(CASE WHEN COALESCE(ci.verdict, '') <> 'verified' THEN 1 ELSE 0 END) AS bad
    FROM checkins ci JOIN work_orders o ON o.id = ci.order_id
    WHERE o.window_start >= :start AND o.window_start < :end
    GROUP BY ci.order_id
"""
"""Per order of the period: its check-ins, those not verified, and its check-ins and check-outs not verified."""


def _sums_sql(session: Session, *, team: bool, worker: bool, order_type: bool) -> str:
    """`dispatch.reports.SUM_COLUMNS` per (worker, team, order type) in one pass over the period's orders.

    The same rules as `dispatch.reports.apply_rules`, written as SQL sums (a test holds both to the same
    answers): a check-in verdict is verified when every check-in is, anomalies count the check-ins and
    check-outs not verified, on time is first on site no later than the window's end.
    """
    # Whole milliseconds, as `order_facts` reads times, so both ways subtract the same exact numbers.
    e = {
        c: f"ROUND({_epoch(session, f'o.{c}')} * 1000)" for c in ("created_at", "assigned_at", "on_site_at", "ended_at")
    }
    where = "o.window_start >= :start AND o.window_start < :end"
    where += " AND COALESCE(w.team, '') = :team" if team else ""
    where += " AND o.assigned_worker_id = :worker_id" if worker else ""
    where += " AND o.type = :order_type" if order_type else ""
    one = "CASE WHEN {} THEN 1 ELSE 0 END".format
    both = "o.{} IS NOT NULL AND o.{} IS NOT NULL".format
    finished = "o.status IN ('done', 'failed')"
    checked_in = "COALESCE(c.n_in, 0) > 0"
    return f"""
WITH c AS ({_CHECKIN_COUNTS_SQL})
SELECT o.assigned_worker_id, COALESCE(w.team, ''), o.type,
       COUNT(*),
       SUM({one("o.status = 'done'")}),
       SUM({one(checked_in)}),
       SUM({one(checked_in + " AND c.in_bad = 0")}),
       SUM({one(checked_in + " AND c.bad > 0")}),
       SUM({one("o.on_site_at IS NOT NULL")}),
       SUM({one("o.on_site_at IS NOT NULL AND o.on_site_at <= o.window_end")}),
       SUM({one(finished + " OR o.failed_once")}),
       SUM({one("o.status = 'done' AND NOT o.failed_once")}),
       COALESCE(SUM({e["assigned_at"]} - {e["created_at"]}), 0) / 1000.0, SUM({one(both("assigned_at", "created_at"))}),
       COALESCE(SUM({e["on_site_at"]} - {e["created_at"]}), 0) / 1000.0, SUM({one(both("on_site_at", "created_at"))}),
       COALESCE(SUM({e["ended_at"]} - {e["on_site_at"]}), 0) / 1000.0, SUM({one(both("ended_at", "on_site_at"))}),
       COALESCE(SUM(CASE WHEN {finished} THEN {e["ended_at"]} - {e["on_site_at"]} END), 0) / 1000.0,
       COALESCE(SUM(s.rating), 0), COUNT(s.rating)
FROM work_orders o
LEFT JOIN workers w ON w.id = o.assigned_worker_id
LEFT JOIN survey_answers s ON s.order_id = o.id
LEFT JOIN c ON c.order_id = o.id
WHERE {where}
GROUP BY o.assigned_worker_id, COALESCE(w.team, ''), o.type
"""


def order_sums(
    session: Session,
    period: Period,
    *,
    team: str | None = None,
    worker_id: int | None = None,
    order_type: str | None = None,
    now: datetime | None = None,
) -> pd.DataFrame:
    """The period's orders (by window start) summed per (worker, team, order type) as
    `dispatch.reports.SUM_COLUMNS`: what every figures report needs, without reading each order.

    Given `now`, on SQLite, the whole UTC months of the period that ended before `now` come from the sums
    kept per month (`report_month_sums`, computed the first time a report asks and valid until a trigger
    sees a change to the month: migration 0018); the days before the first and after the last whole month
    are summed from the orders. The answer is the same either way (`tests/data/test_report_months.py`).
    """
    start, end = period_bounds(period)
    filters = {"team": team, "worker_id": worker_id, "order_type": order_type}
    months = _whole_months(start, end, before=now) if now is not None and _is_sqlite(session) else []
    if not months:
        return _sums_between(session, start, end, **filters)
    pieces = [_sums_between(session, start, months[0], **filters)]
    pieces.append(_filtered(_kept_month_sums(session, months, now=now), **filters))
    pieces.append(_sums_between(session, _next_month(months[-1]), end, **filters))
    return _added([p for p in pieces if not p.empty])


def keep_month_sums(session: Session, period: Period, *, now: datetime) -> list[str]:
    """Sum and keep every whole UTC month of the period that ended by `now` whose kept sums are missing or
    out of date (SQLite; nothing on PostgreSQL); the months summed ("2026-03"). What the worker process
    runs ahead of the managers' reports, so that a year's report reads kept months only."""
    if not _is_sqlite(session):
        return []
    months = _whole_months(*period_bounds(period), before=now)
    keys = [m.strftime("%Y-%m") for m in months]
    valid = {
        row.month
        for row in session.scalars(select(ReportMonthRow).where(ReportMonthRow.month.in_(keys)))
        if row.kept_generation == row.generation
    }
    stale = [m for m, k in zip(months, keys, strict=True) if k not in valid]
    if stale:
        _kept_month_sums(session, stale, now=now)
    return [m.strftime("%Y-%m") for m in stale]


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _next_month(first: datetime) -> datetime:
    return first.replace(year=first.year + first.month // 12, month=first.month % 12 + 1)


def _whole_months(start: datetime, end: datetime, *, before: datetime | None) -> list[datetime]:
    """The first instants of the UTC months wholly inside [start, end) that ended by `before`."""
    month = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if month < start:
        month = _next_month(month)
    out = []
    while _next_month(month) <= end and (before is None or _next_month(month) <= before):
        out.append(month)
        month = _next_month(month)
    return out


def _sums_between(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    team: str | None = None,
    worker_id: int | None = None,
    order_type: str | None = None,
) -> pd.DataFrame:
    """SUM_COLUMNS of the orders whose window starts in [start, end), summed by SQL."""
    params: dict[str, Any] = {"start": start, "end": end, "team": team, "worker_id": worker_id,
                              "order_type": order_type}  # fmt: skip
    sql = _sums_sql(session, team=team is not None, worker=worker_id is not None, order_type=order_type is not None)
    stmt = text(sql).bindparams(bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime()))
    used = {k: v for k, v in params.items() if f":{k}" in sql}
    sums = _columns(session.connection().execute(stmt, used).fetchall(), SUM_COLUMNS)
    sums["worker_id"] = sums["worker_id"].astype("Int64")
    return sums


def _kept_month_sums(session: Session, months: list[datetime], *, now: datetime) -> pd.DataFrame:
    """Every (worker, team, type)'s sums over the given whole months: kept ones where still valid, the
    others summed now and kept (tagged with the generation read before summing, so a change committed
    meanwhile leaves them invalid)."""
    keys = [m.strftime("%Y-%m") for m in months]
    state = {
        row.month: (row.generation, row.kept_generation)
        for row in session.scalars(select(ReportMonthRow).where(ReportMonthRow.month.in_(keys)))
    }
    valid = [k for k in keys if k in state and state[k][1] == state[k][0]]
    fields = [getattr(ReportMonthSumsRow, c) for c in SUM_COLUMNS]
    kept = _columns(
        session.execute(select(*fields).where(ReportMonthSumsRow.month.in_(valid))).fetchall() if valid else [],
        SUM_COLUMNS,
    )
    fresh: dict[str, tuple[int, pd.DataFrame]] = {}
    for month, key in zip(months, keys, strict=True):
        if key not in valid:
            fresh[key] = (state.get(key, (0, None))[0], _sums_between(session, month, _next_month(month)))
    for key, (generation, sums) in fresh.items():  # written last: the write lock is held only for this
        session.execute(delete(ReportMonthSumsRow).where(ReportMonthSumsRow.month == key))
        records = sums.astype(object).where(sums.notna(), None).to_dict(orient="records")
        if records:
            session.execute(insert(ReportMonthSumsRow), [{"month": key, **r} for r in records])
        _upsert_month(session, key, kept_generation=generation)
    pieces = [kept, *(sums for _, sums in fresh.values())]
    return _added([p for p in pieces if not p.empty])


def _upsert_month(session: Session, month: str, *, kept_generation: int) -> None:
    """Mark the month's sums as kept at `kept_generation`, leaving its generation as the triggers left it."""
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    stmt = sqlite_insert(ReportMonthRow).values(month=month, generation=0, kept_generation=kept_generation)
    session.execute(stmt.on_conflict_do_update(index_elements=["month"], set_={"kept_generation": kept_generation}))


def _filtered(
    sums: pd.DataFrame, *, team: str | None = None, worker_id: int | None = None, order_type: str | None = None
) -> pd.DataFrame:
    keep = pd.Series(True, index=sums.index)
    if team is not None:
        keep &= sums["team"] == team
    if worker_id is not None:
        keep &= (sums["worker_id"] == worker_id).fillna(False)  # an unassigned order is no worker's
    if order_type is not None:
        keep &= sums["type"] == order_type
    return sums[keep]


def _added(pieces: list[pd.DataFrame]) -> pd.DataFrame:
    """SUM_COLUMNS frames added up per (worker, team, type)."""
    if not pieces:
        empty = _columns([], SUM_COLUMNS)
        empty["worker_id"] = empty["worker_id"].astype("Int64")
        return empty
    both = pd.concat(pieces, ignore_index=True)
    both["worker_id"] = both["worker_id"].astype("Int64")
    summed = both.groupby(list(SUM_KEYS), dropna=False, sort=False)[list(SUM_FIELDS)].sum().reset_index()
    return summed[list(SUM_COLUMNS)]


def worker_figures(session: Session, period: Period, *, now: datetime, team: str | None = None) -> pd.DataFrame:
    """Every worker (of the team) with the seconds on shift in the period and the kilometres driven."""
    workers = [w for w in workers_repo.list_workers(session) if team is None or w.team == team]
    km = km_per_worker(session, period, now=now)
    return workers_frame(
        [
            (
                w.id,
                w.name,
                w.team,
                shift_seconds(w.shifts, period),
                km.get(w.id, 0.0),
            )
            for w in workers
        ]
    )


def km_per_worker(session: Session, period: Period, *, now: datetime) -> dict[int, float]:
    """Kilometres per worker over the period: whole days from `worker_day_km` (summed from the fixes the
    first time a report asks for a day that is over), today's straight from the fixes."""
    today = now.astimezone(period.zone).date()
    days = [period.start + timedelta(days=i) for i in range(period.days)]
    known = set(session.scalars(select(KmDayRow.day).where(KmDayRow.day >= period.start, KmDayRow.day <= period.end)))
    for day in (d for d in days if d < today and d not in known):
        per_worker = _km_between(session, *period_bounds(Period(day, day, period.zone)))
        values = [{"worker_id": w, "day": day, "km": km} for w, km in per_worker.items() if km > 0]
        _insert_ignoring_duplicates(session, WorkerDayKmRow, values)
        _insert_ignoring_duplicates(session, KmDayRow, [{"day": day, "computed_at": now}])
    totals: dict[int, float] = {}
    for worker_id, km in session.execute(
        select(WorkerDayKmRow.worker_id, func.sum(WorkerDayKmRow.km))
        .where(WorkerDayKmRow.day >= period.start, WorkerDayKmRow.day <= period.end)
        .group_by(WorkerDayKmRow.worker_id)
    ):
        totals[worker_id] = float(km)
    if period.start <= today <= period.end:
        for worker_id, km in _km_between(session, *period_bounds(Period(today, today, period.zone))).items():
            totals[worker_id] = totals.get(worker_id, 0.0) + km
    return {w: round(km, 3) for w, km in totals.items()}


def km_days_known(session: Session) -> int:
    """How many days have their kilometres summed (`worker_day_km`)."""
    return int(session.scalar(select(func.count()).select_from(KmDayRow)) or 0)


# Per worker, a range of the unique (worker_id, fix_time) index each (there is no index on fix_time alone), which
# holds the row ids: the rows are then read in id order, i.e. in the order they were stored, each table page once
# (read worker by worker, a page holding 30 workers' fixes was read 30 times: 1.9 s against 1.1 s of SQLite's CPU
# for 1,000 workers' day of 500,000 fixes, bench/position_queries.py).
_FIXES_BETWEEN = text(
    "SELECT worker_id, fix_time, latitude, longitude FROM positions WHERE id IN ("
    " SELECT id FROM positions WHERE worker_id IN :worker_ids AND fix_time >= :start AND fix_time < :end"
    ") AND latitude IS NOT NULL AND valid"
).bindparams(
    bindparam("worker_ids", expanding=True),
    bindparam("start", type_=UTCDateTime()),
    bindparam("end", type_=UTCDateTime()),
)


def _km_between(session: Session, start: datetime, end: datetime) -> dict[int, float]:
    connection = session.connection()
    rows: list[Any] = []
    for worker_ids in positions_repo.worker_id_chunks(connection):
        rows += connection.execute(_FIXES_BETWEEN, {"worker_ids": worker_ids, "start": start, "end": end}).fetchall()
    return km_driven(pd.DataFrame.from_records(rows, columns=["worker_id", "fix_time", "latitude", "longitude"]))


def _insert_ignoring_duplicates(session: Session, table: Any, values: list[dict[str, Any]]) -> None:
    """Insert rows; a row another request stored meanwhile is left as it is."""
    if not values:
        return
    if session.get_bind().dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(table).on_conflict_do_nothing(), values)
    else:
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(table).on_conflict_do_nothing(), values)


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    period: Period
    worker_id: int | None = None
    team: str | None = None
    site_id: int | None = None
    customer: str | None = None
    statuses: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    q: str | None = None
    # A team-scoped reader's teams: only their orders and the unassigned ones (None: every order).
    scope_teams: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class HistoryPage:
    total: int
    page: int
    per_page: int
    rows: list[dict[str, Any]]


def _history_query(f: HistoryFilter, *, indexed: bool = False) -> Select[Any]:
    start, end = period_bounds(f.period)
    conditions: list[Any] = [WorkOrderRow.window_start >= start, WorkOrderRow.window_start < end]
    if f.worker_id is not None:
        conditions.append(WorkOrderRow.assigned_worker_id == f.worker_id)
    if f.team is not None:
        conditions.append(WorkerRow.team == f.team)
    if f.scope_teams is not None:
        conditions.append(or_(WorkOrderRow.assigned_worker_id.is_(None), WorkerRow.team.in_(sorted(f.scope_teams))))
    if f.site_id is not None:
        conditions.append(WorkOrderRow.site_id == f.site_id)
    if f.customer:
        conditions.append(func.lower(CustomerRow.name).contains(f.customer.lower(), autoescape=True))
    if f.statuses:
        conditions.append(WorkOrderRow.status.in_(f.statuses))
    if f.types:
        conditions.append(WorkOrderRow.type.in_(f.types))
    if f.q:
        conditions.append(_text_matches(f.q, indexed=indexed))
    return _history_base().where(and_(*conditions))


TRIGRAM_MIN_CHARS = 3
"""The trigram index finds substrings of at least three characters; shorter ones are searched row by row."""


def _text_matches(q: str, *, indexed: bool) -> Any:
    """Orders whose reference or notes, or whose site's name or address, contain `q` (any case).

    With the SQLite trigram index (migration 0017) the orders come from the index; the sites are few and
    searched directly, so neither side reads every order of the period."""
    needle = q.lower()
    sites = select(SiteRow.id).where(
        or_(
            func.lower(SiteRow.name).contains(needle, autoescape=True),
            func.lower(SiteRow.address).contains(needle, autoescape=True),
        )
    )
    if indexed and len(q) >= TRIGRAM_MIN_CHARS:
        phrase = '"' + q.replace('"', '""') + '"'  # one FTS5 string: every character is literal
        found = text(f"SELECT rowid FROM {ORDER_SEARCH_TABLE} WHERE {ORDER_SEARCH_TABLE} MATCH :phrase")
        in_orders = WorkOrderRow.id.in_(found.bindparams(phrase=phrase).columns(rowid=Integer))
    else:
        in_orders = or_(
            func.lower(WorkOrderRow.reference).contains(needle, autoescape=True),
            func.lower(WorkOrderRow.notes).contains(needle, autoescape=True),
        )
    return or_(in_orders, WorkOrderRow.site_id.in_(sites))


def _history_base() -> Select[Any]:
    return (
        select(
            WorkOrderRow.id,
            WorkOrderRow.reference,
            WorkOrderRow.type,
            WorkOrderRow.status,
            WorkOrderRow.priority,
            WorkOrderRow.window_start,
            WorkOrderRow.window_end,
            WorkOrderRow.created_at,
            WorkOrderRow.assigned_worker_id,
            WorkerRow.name.label("worker"),
            WorkerRow.team,
            WorkOrderRow.site_id,
            SiteRow.name.label("site"),
            CustomerRow.name.label("customer"),
        )
        .join(SiteRow, SiteRow.id == WorkOrderRow.site_id)
        .outerjoin(CustomerRow, CustomerRow.id == SiteRow.customer_id)
        .outerjoin(WorkerRow, WorkerRow.id == WorkOrderRow.assigned_worker_id)
    )


def search_history(session: Session, f: HistoryFilter, *, page: int, per_page: int) -> HistoryPage:
    """One page of the orders matching `f`, latest window first, with the total count."""
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(f"per_page: must be within 1..{MAX_PER_PAGE}")
    query = _history_query(f, indexed=session.get_bind().dialect.name == "sqlite")
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(WorkOrderRow.window_start.desc(), WorkOrderRow.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return HistoryPage(total=total, page=page, per_page=per_page, rows=[_history_row(r) for r in rows])


def _history_row(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "reference": r.reference or "",
        "type": r.type,
        "status": r.status,
        "priority": r.priority,
        "window_start": r.window_start.isoformat(),
        "window_end": r.window_end.isoformat(),
        "created_at": r.created_at.isoformat(),
        "worker_id": r.assigned_worker_id,
        "worker": r.worker or "",
        "team": r.team or "",
        "site_id": r.site_id,
        "site": r.site,
        "customer": r.customer or "",
    }


def order_summary(session: Session, order_id: int) -> dict[str, Any] | None:
    """The order's row as the history shows it, or None for an unknown order."""
    row = session.execute(_history_base().where(WorkOrderRow.id == order_id)).first()
    return _history_row(row) if row is not None else None


def timeline(session: Session, order_id: int) -> list[dict[str, Any]]:
    """Every status change of the order, oldest first: from, to, when, who (user name) and where."""
    rows = session.execute(
        select(OrderStatusHistoryRow, UserRow.name)
        .outerjoin(UserRow, UserRow.id == OrderStatusHistoryRow.actor_id)
        .where(OrderStatusHistoryRow.order_id == order_id)
        .order_by(OrderStatusHistoryRow.at, OrderStatusHistoryRow.id)
    ).all()
    return [
        {
            "from": h.from_status,
            "to": h.to_status,
            "at": h.at.isoformat(),
            "by": name or "",
            "actor_id": h.actor_id,
            "latitude": h.latitude,
            "longitude": h.longitude,
            "reason": h.reason,
        }
        for h, name in rows
    ]


def signature_path(session: Session, order_id: int) -> str | None:
    """Where the signature of the order's latest service report is stored, or None."""
    return session.scalar(
        select(ServiceReportRow.signature_path)
        .where(ServiceReportRow.order_id == order_id)
        .order_by(ServiceReportRow.id.desc())
        .limit(1)
    )


def delivered(session: Session, *, schedule: str, team: str, period: Period) -> bool:
    """Whether the scheduled report was already delivered for this period."""
    row = session.scalar(
        select(ReportDeliveryRow.id).where(
            ReportDeliveryRow.schedule == schedule,
            ReportDeliveryRow.team == team,
            ReportDeliveryRow.period_start == period.start,
        )
    )
    return row is not None


def record_delivery(session: Session, *, schedule: str, team: str, period: Period, at: datetime) -> None:
    session.add(
        ReportDeliveryRow(schedule=schedule, team=team, period_start=period.start, period_end=period.end, sent_at=at)
    )
    session.flush()
