"""Managers' reports: the rules behind each figure, applied over columns of a period's orders.

A report is computed from two tables of plain values (pandas frames, no database, no clock):

- `orders`: one row per work order of the period (`ORDER_COLUMNS`, built from `OrderFacts` in tests
  and by `data/reports_repo.py` from SQL): its worker and team, its window, when it was created,
  first assigned, first on site and finished, whether it ever failed, its check-in verdict and how
  many of its check-ins/-outs were not verified;
- `workers`: one row per worker (`WORKER_COLUMNS`): name, team, the seconds on shift in the period
  and the kilometres driven.

The rules (one place, applied to whole columns so a year of a 500-worker organisation stays fast):

- a visit is *done* when the order's status is done;
- a check-in is *verified* when its verdict is `verified`; an order is *anomalous* when any of its
  check-ins or check-outs got another verdict (outside the geofence, poor accuracy, early, late...);
- an order is *on time* when the worker was first on site no later than the end of its window;
- *first-time fix*: of the orders finished (done) or given up (failed), the share done without ever
  having failed;
- response: `assign_s` created → first assigned, `response_s` created → first on site;
  `handling_s` first on site → finished (done or failed);
- *utilisation*: seconds on site (first on site → finished) over the seconds on shift.

Shares are 0..1 and None when nothing was there to count (no check-ins: no compliance figure).
Customer ratings: `ratings` is the mean survey rating (1–5) of the group's orders that were rated
(None when none was); a drill-down's "went wrong" lists the orders rated 2 or lower.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from dispatch.hours import planned_intervals
from dispatch.localtime import local_day_bounds
from dispatch.workers import Shift

MAX_PERIOD_DAYS = 366


class Group(StrEnum):
    WORKER = "worker"
    TEAM = "team"
    ORGANISATION = "organisation"
    TYPE = "type"
    """Per order type: the order figures and customer ratings (shift and kilometres belong to people, not types)."""


class Schedule(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    label: str
    unit: str
    wrong: str
    """What "went wrong" means for this figure: the orders a drill-down lists as its exceptions."""


FIGURES: dict[str, Figure] = {
    f.name: f
    for f in (
        Figure("orders", "orders", "count", "cancelled"),
        Figure("visits_done", "visits done", "count", "not done"),
        Figure("verified_share", "check-ins verified", "share", "check-in not verified"),
        Figure("anomaly_rate", "anomaly rate", "share", "a check-in or check-out not verified"),
        Figure("assign_s", "created → assigned", "s", "never assigned"),
        Figure("response_s", "created → on site", "s", "never on site"),
        Figure("handling_s", "handling time", "s", "not finished"),
        Figure("on_time_share", "on time", "share", "on site after the window closed"),
        Figure("km", "kilometres driven", "km", ""),
        Figure("utilisation", "utilisation (on site / on shift)", "share", ""),
        Figure("first_time_fix_rate", "first-time fix", "share", "failed at least once"),
        Figure("ratings", "customer rating", "1-5", "rated 2 or lower"),
    )
}


@dataclass(frozen=True, slots=True)
class ReportKind:
    name: str
    description: str
    figures: tuple[str, ...]


REPORTS: dict[str, ReportKind] = {
    r.name: r
    for r in (
        ReportKind(
            "overview",
            "every figure per group: visits, compliance, response, on time, km, utilisation, first-time fix",
            tuple(FIGURES),
        ),
        ReportKind(
            "check-in-compliance",
            "share of verified check-ins and the anomaly rate",
            ("orders", "verified_share", "anomaly_rate"),
        ),
        ReportKind(
            "response-times",
            "created → assigned → on site, handling time and on-time share",
            ("orders", "assign_s", "response_s", "handling_s", "on_time_share"),
        ),
        ReportKind(
            "productivity",
            "visits done, kilometres driven, utilisation and first-time fix rate",
            ("visits_done", "km", "utilisation", "first_time_fix_rate"),
        ),
        ReportKind(
            "visits-gone-wrong",
            "one row per order that went wrong: failed, late, not verified or not fixed the first time",
            (),
        ),
    )
}


@dataclass(frozen=True, slots=True)
class Period:
    """Whole local calendar days `start`..`end`, both included, in `zone` (the office's: a day there may
    last 23 or 25 hours)."""

    start: date
    end: date
    zone: tzinfo = UTC

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("to: the period ends before it starts")
        if (self.end - self.start).days + 1 > MAX_PERIOD_DAYS:
            raise ValueError(f"to: a period is at most {MAX_PERIOD_DAYS} days")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[datetime, datetime]:
        """`[first day's local midnight, the midnight after the last day)` as UTC instants."""
        return local_day_bounds(self.start, self.zone)[0], local_day_bounds(self.end, self.zone)[1]

    def with_zone(self, zone: tzinfo) -> Period:
        return Period(self.start, self.end, zone)


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """One order of the period, as the rules see it (times aware UTC; None when it never happened)."""

    order_id: int
    worker_id: int | None
    team: str
    site_id: int
    type: str
    status: str
    created_at: datetime
    window_start: datetime
    window_end: datetime
    assigned_at: datetime | None = None
    on_site_at: datetime | None = None
    ended_at: datetime | None = None
    failed: bool = False
    checkin_verdict: str | None = None
    anomalies: int = 0
    rating: int | None = None


ORDER_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(OrderFacts))
WORKER_COLUMNS: tuple[str, ...] = ("worker_id", "name", "team", "shift_s", "km")
_TIMES = ("created_at", "window_start", "window_end", "assigned_at", "on_site_at", "ended_at")


def orders_frame(facts: Sequence[OrderFacts]) -> pd.DataFrame:
    """The `orders` table from values (the repository builds the same columns straight from SQL)."""
    frame = pd.DataFrame([{name: getattr(f, name) for name in ORDER_COLUMNS} for f in facts], columns=ORDER_COLUMNS)
    return normalise_orders(frame)


def normalise_orders(frame: pd.DataFrame) -> pd.DataFrame:
    """Give every column its type: UTC datetimes, nullable worker ids, booleans and counts."""
    out = frame.copy()
    for name in _TIMES:
        column = out[name]
        if pd.api.types.is_numeric_dtype(column):  # seconds since 1970, as the repository reads them
            out[name] = pd.to_datetime((column * 1000).round(), unit="ms", utc=True)
        else:
            out[name] = pd.to_datetime(column, utc=True, format="ISO8601")
    out["worker_id"] = out["worker_id"].astype("Int64")
    out["team"] = out["team"].fillna("").astype(str)
    out["failed"] = out["failed"].fillna(False).astype(bool)
    out["anomalies"] = out["anomalies"].fillna(0).astype(int)
    out["rating"] = pd.to_numeric(out["rating"], errors="coerce").astype(float)
    return out


def attach_checkins(orders: pd.DataFrame, checkins: pd.DataFrame) -> pd.DataFrame:
    """Add each order's check-in verdict and anomaly count from its check-ins (`order_id`, `kind`, `verdict`).

    The verdict is `verified` only when every check-in was; otherwise the (alphabetically last) other
    verdict. Anomalies count the check-ins and check-outs not verified.
    """
    c = checkins.assign(bad=checkins["verdict"] != "verified")
    ins = c[c["kind"] == "in"]
    verdict = ins.sort_values(["bad", "verdict"]).groupby("order_id")["verdict"].last()
    anomalies = c.groupby("order_id")["bad"].sum()
    out = orders.copy()
    out["checkin_verdict"] = out["order_id"].map(verdict).astype(object)
    out["checkin_verdict"] = out["checkin_verdict"].where(out["checkin_verdict"].notna(), None)
    out["anomalies"] = out["order_id"].map(anomalies).fillna(0).astype(int)
    return out


def workers_frame(rows: Sequence[tuple[int, str, str, float, float]]) -> pd.DataFrame:
    """The `workers` table: (worker_id, name, team, shift_s, km) per worker."""
    return pd.DataFrame(list(rows), columns=WORKER_COLUMNS).astype({"shift_s": float, "km": float})


def shift_seconds(shifts: Sequence[Shift], period: Period) -> float:
    """Seconds on shift in the period: each of its days' planned intervals (`dispatch.hours.planned_intervals`,
    each shift read in its own zone) as elapsed time, so a 00:00-06:00 shift lasts 5 hours on the day the
    clocks go forward and 7 on the day they go back."""
    per_weekday = [0] * 7
    for offset in range(min(period.days, 7)):
        per_weekday[(period.start + timedelta(days=offset)).weekday()] = (period.days - offset + 6) // 7
    total = 0.0
    for shift in shifts:
        wall_s = shift.wall_length_s
        total += wall_s * sum(per_weekday[d] for d in set(shift.weekdays))
        # Only on a 23- or 25-hour day does a shift last other than its wall-clock length.
        for day in _change_days(shift.zone, period.start, period.days):
            if day.weekday() in shift.weekdays:
                total += sum((b - a).total_seconds() for a, b in planned_intervals([shift], day)) - wall_s
    return total


@functools.lru_cache(maxsize=64)
def _change_days(zone: tzinfo, first: date, days: int) -> tuple[date, ...]:
    """The days from `first` on which `zone`'s clocks change (not 24 hours long); cached, as every worker asks."""
    found = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        start, end = local_day_bounds(day, zone)
        if end - start != timedelta(days=1):
            found.append(day)
    return tuple(found)


def apply_rules(orders: pd.DataFrame) -> pd.DataFrame:
    """The orders with one column per rule (booleans and durations in seconds)."""
    o = orders.copy()
    o["done"] = o["status"] == "done"
    o["checked_in"] = o["checkin_verdict"].notna()
    o["verified"] = o["checkin_verdict"] == "verified"
    o["anomalous"] = o["checked_in"] & (o["anomalies"] > 0)
    o["on_site"] = o["on_site_at"].notna()
    o["on_time"] = o["on_site"] & (o["on_site_at"] <= o["window_end"])
    o["finished"] = o["done"] | (o["status"] == "failed")
    o["first_time_fix"] = o["done"] & ~o["failed"]
    o["attempted"] = o["finished"] | o["failed"]
    o["assign_s"] = (o["assigned_at"] - o["created_at"]).dt.total_seconds()
    o["response_s"] = (o["on_site_at"] - o["created_at"]).dt.total_seconds()
    o["handling_s"] = (o["ended_at"] - o["on_site_at"]).dt.total_seconds()
    o["on_site_s"] = o["handling_s"].where(o["finished"], np.nan)
    return o


@dataclass(frozen=True, slots=True)
class ReportRow:
    """The figures of one worker, team or the organisation over the period."""

    group: str
    key: str
    label: str
    orders: int
    visits_done: int
    verified_share: float | None
    anomaly_rate: float | None
    assign_s: float | None
    response_s: float | None
    handling_s: float | None
    on_time_share: float | None
    km: float | None
    """None per order type: kilometres are driven by people."""
    utilisation: float | None
    first_time_fix_rate: float | None
    ratings: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _key_column(group: Group) -> str:
    return {Group.WORKER: "worker_id", Group.TEAM: "team", Group.ORGANISATION: "_all", Group.TYPE: "type"}[group]


def _keyed(frame: pd.DataFrame, group: Group) -> pd.DataFrame:
    out = frame.assign(_all="all")
    if group is Group.WORKER:
        out = out[out["worker_id"].notna()]
        out = out.assign(worker_id=out["worker_id"].astype("int64").astype(str))
    return out


SUM_KEYS: tuple[str, ...] = ("worker_id", "team", "type")
SUM_FIELDS: tuple[str, ...] = (
    "orders", "visits_done", "checked_in", "verified", "anomalous", "on_site", "on_time", "attempted",
    "first_time_fix", "assign_sum_s", "assign_n", "response_sum_s", "response_n", "handling_sum_s", "handling_n",
    "on_site_s", "rating_sum", "rating_n",
)  # fmt: skip
SUM_COLUMNS: tuple[str, ...] = SUM_KEYS + SUM_FIELDS
"""The additive figures of the orders of one (worker, team, order type): counts and sums from which every
figure of a report row follows (a mean is a sum over a count). The repository computes the same columns in
SQL (`data/reports_repo.order_sums`), so a year's report reads a few thousand rows instead of every order."""


def order_sums(orders: pd.DataFrame) -> pd.DataFrame:
    """`SUM_COLUMNS` from the orders frame, applying the rules (`apply_rules`) once per order."""
    o = apply_rules(orders)
    o = o.assign(
        orders=1,
        assign_n=o["assign_s"].notna(),
        response_n=o["response_s"].notna(),
        handling_n=o["handling_s"].notna(),
        rating_n=o["rating"].notna(),
        assign_sum_s=o["assign_s"].fillna(0.0),
        response_sum_s=o["response_s"].fillna(0.0),
        handling_sum_s=o["handling_s"].fillna(0.0),
        on_site_s=o["on_site_s"].fillna(0.0),
        rating_sum=o["rating"].fillna(0.0),
        visits_done=o["done"],
    )
    if o.empty:
        return pd.DataFrame(columns=SUM_COLUMNS)
    sums = o.groupby(list(SUM_KEYS), dropna=False)[list(SUM_FIELDS)].sum().reset_index()
    return sums[list(SUM_COLUMNS)]


def summarise(orders: pd.DataFrame, workers: pd.DataFrame, group: Group) -> list[ReportRow]:
    """One row per worker / team / order type / the organisation, sorted by label; orders without a worker
    count for the team "" and the organisation only."""
    return summarise_sums(order_sums(orders), workers, group)


def summarise_sums(sums: pd.DataFrame, workers: pd.DataFrame, group: Group) -> list[ReportRow]:
    """`summarise` from the orders' sums (`SUM_COLUMNS`, as `order_sums` or the repository computes them)."""
    key = _key_column(group)
    counted = _keyed(sums.astype({f: float for f in SUM_FIELDS}), group)
    table = counted.groupby(key)[list(SUM_FIELDS)].sum()
    names: dict[Any, Any] = {}
    if group is not Group.TYPE and not workers.empty:
        staff = _keyed(workers.assign(worker_id=workers["worker_id"].astype("Int64")), group)
        shifts = staff.groupby(key).agg(shift_s=("shift_s", "sum"), km=("km", "sum"))
        names = dict(zip(staff[key], staff["name"] if group is Group.WORKER else staff[key], strict=False))
        table = table.join(shifts, how="outer")
    else:
        table = table.assign(shift_s=np.nan, km=np.nan)
    rows = []
    for k, r in table.iterrows():
        if group is Group.ORGANISATION:
            label = "organisation"
        elif group is Group.WORKER:
            label = str(names.get(k, k))
        elif group is Group.TYPE:
            label = str(k)
        else:
            label = str(k) or "no team"
        rows.append(
            ReportRow(
                group=group.value,
                key=str(k),
                label=label,
                orders=_int(r["orders"]),
                visits_done=_int(r["visits_done"]),
                verified_share=_share(r["verified"], r["checked_in"]),
                anomaly_rate=_share(r["anomalous"], r["checked_in"]),
                assign_s=_mean(r["assign_sum_s"], r["assign_n"]),
                response_s=_mean(r["response_sum_s"], r["response_n"]),
                handling_s=_mean(r["handling_sum_s"], r["handling_n"]),
                on_time_share=_share(r["on_time"], r["on_site"]),
                km=None if group is Group.TYPE else round(_num(r["km"]) or 0.0, 1),
                utilisation=_share(r["on_site_s"], r["shift_s"]),
                first_time_fix_rate=_share(r["first_time_fix"], r["attempted"]),
                ratings=None if not _num(r["rating_n"]) else round(float(r["rating_sum"]) / float(r["rating_n"]), 2),
            )
        )
    return sorted(rows, key=lambda row: (row.label, row.key))


def orders_behind(orders: pd.DataFrame, group: Group, key: str, figure: str, *, wrong_only: bool) -> list[int]:
    """The ids of the orders a figure of one row counts (or only those that went wrong for it)."""
    if figure not in FIGURES:
        raise ValueError(f"figure: {figure!r} is not one of {', '.join(FIGURES)}")
    ruled = _keyed(apply_rules(orders), group)
    ruled = ruled[ruled[_key_column(group)] == key]
    base, wrong = _figure_base(ruled, figure)
    chosen = ruled[base & wrong] if wrong_only else ruled[base]
    return sorted(int(i) for i in chosen["order_id"])


def _figure_base(o: pd.DataFrame, figure: str) -> tuple[pd.Series, pd.Series]:
    """(the orders a figure counts, those of them that went wrong for it)."""
    everything = pd.Series(True, index=o.index)
    match figure:
        case "visits_done":
            return everything, ~o["done"]
        case "verified_share":
            return o["checked_in"], ~o["verified"]
        case "anomaly_rate":
            return o["checked_in"], o["anomalous"]
        case "assign_s":
            return everything, o["assigned_at"].isna()
        case "response_s":
            return everything, ~o["on_site"]
        case "handling_s" | "utilisation":
            return o["on_site"], ~o["finished"]
        case "on_time_share":
            return o["on_site"], ~o["on_time"]
        case "first_time_fix_rate":
            return o["attempted"], ~o["first_time_fix"]
        case "ratings":
            return o["rating"].notna(), o["rating"] <= 2
        case _:  # orders, km
            return everything, o["status"] == "cancelled"


WRONG_REASONS: tuple[str, ...] = ("failed", "late", "check-in not verified", "check-in/-out anomaly")
"""Why a visit went wrong, in the order the list names them."""
WRONG_COLUMNS: tuple[str, ...] = (
    "order_id", "worker_id", "team", "site_id", "type", "status", "window_start", "on_site_at",
)  # fmt: skip


def gone_wrong(orders: pd.DataFrame) -> pd.DataFrame:
    """One row per order that went wrong, with the reasons: failed, late, not verified, not first-time fixed."""
    o = apply_rules(orders)
    flags = pd.concat(
        [o["failed"], o["on_site"] & ~o["on_time"], o["checked_in"] & ~o["verified"], o["anomalous"]], axis=1
    )
    flags.columns = list(WRONG_REASONS)
    return wrong_rows(o[list(WRONG_COLUMNS)], flags)


def wrong_rows(orders: pd.DataFrame, flags: pd.DataFrame) -> pd.DataFrame:
    """The list of visits gone wrong from `WRONG_COLUMNS` and one boolean column per `WRONG_REASONS`
    (as `gone_wrong` applies the rules, or as the repository reads them from SQL): the rows with any
    reason, the reasons named in words, sorted by window start."""
    hit = flags[list(WRONG_REASONS)].fillna(False).astype(bool)
    picked = hit.any(axis=1).to_numpy()
    out = orders.loc[picked, list(WRONG_COLUMNS)].copy()
    words = pd.Series("", index=out.index, dtype=object)
    for reason in WRONG_REASONS:
        has = hit.loc[picked, reason]
        words = words.where(~has, words.where(words == "", words + ", ") + reason)
    out["reasons"] = words.astype(str)
    return out.sort_values(["window_start", "order_id"]).reset_index(drop=True)


def report_table(name: str, orders: pd.DataFrame, workers: pd.DataFrame, group: Group) -> pd.DataFrame:
    """The rows of report `name`: its figures per group, or one row per order for visits-gone-wrong."""
    kind = REPORTS[name]
    if not kind.figures:
        return gone_wrong(orders)
    return figures_table(name, order_sums(orders), workers, group)


def figures_table(name: str, sums: pd.DataFrame, workers: pd.DataFrame, group: Group) -> pd.DataFrame:
    """The rows of a figures report (not visits-gone-wrong) from the orders' sums."""
    columns = ["group", "key", "label", *REPORTS[name].figures]
    rows = [r.as_dict() for r in summarise_sums(sums, workers, group)]
    return pd.DataFrame(rows, columns=[f.name for f in fields(ReportRow)])[columns]


def table_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: timestamps as ISO text, missing values as null."""
    plain = plain_table(table)
    names = list(plain.columns)
    columns = [plain[name].tolist() for name in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)] if names else []


def plain_table(table: pd.DataFrame) -> pd.DataFrame:
    """The table with timestamps as ISO text (`datetime.isoformat`'s) and missing values as None: what its JSON,
    CSV and XLSX say. Column by column (a year's visits gone wrong are 170,000 rows)."""
    out = table.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = _iso_text(out[column])
    return out.astype(object).where(out.notna(), None)


def _iso_text(column: pd.Series) -> pd.Series:
    """`Timestamp.isoformat()` of each value (None where missing), vectorised for UTC without nanoseconds."""
    values = column.dropna()
    if str(column.dt.tz) != "UTC" or (values.dt.nanosecond != 0).any():
        return column.map(lambda v: v.isoformat() if not pd.isna(v) else None)
    naive = column.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    missing = np.isnat(naive)
    whole = (naive.astype("int64") % 1_000_000 == 0) & ~missing
    fraction = ~whole & ~missing
    out = np.full(len(naive), None, dtype=object)
    out[whole] = np.char.add(np.datetime_as_string(naive[whole], unit="s"), "+00:00")
    out[fraction] = np.char.add(np.datetime_as_string(naive[fraction], unit="us"), "+00:00")
    return pd.Series(out, index=column.index, dtype=object)


EARTH_RADIUS_M = 6_371_008.8
MAX_HOP_S = 600.0
"""A gap longer than this between two fixes is not counted as driving (the phone was off or parked)."""
MAX_HOP_MPS = 70.0
"""A hop faster than this (252 km/h) is a GPS jump, not driving."""


def km_driven(track: pd.DataFrame) -> dict[int, float]:
    """Kilometres per worker from fixes (`worker_id`, `fix_time`, `latitude`, `longitude`), a cheap sum
    of great-circle hops between consecutive fixes, leaving out long gaps and GPS jumps."""
    if track.empty:
        return {}
    t = track.sort_values(["worker_id", "fix_time"], kind="stable")
    lat = np.radians(t["latitude"].to_numpy(float))
    lon = np.radians(t["longitude"].to_numpy(float))
    times = pd.to_datetime(t["fix_time"], utc=True, format="ISO8601")
    seconds = (times - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
    same = t["worker_id"].to_numpy()[1:] == t["worker_id"].to_numpy()[:-1]
    a = np.sin(np.diff(lat) / 2) ** 2 + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(np.diff(lon) / 2) ** 2
    hop_m = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    dt = np.diff(seconds)
    counted = same & (dt > 0) & (dt <= MAX_HOP_S) & (hop_m <= MAX_HOP_MPS * np.maximum(dt, 1e-9))
    per_worker = pd.Series(np.where(counted, hop_m, 0.0)).groupby(t["worker_id"].to_numpy()[1:]).sum()
    return {int(w): round(float(m) / 1000.0, 3) for w, m in per_worker.items()}


def due_period(now: datetime, schedule: Schedule, zone: tzinfo = UTC) -> Period:
    """The last whole period before `now` in `zone`: yesterday, or last week Monday..Sunday."""
    today = now.astimezone(zone).date()
    if schedule is Schedule.DAILY:
        day = today - timedelta(days=1)
        return Period(day, day, zone)
    monday = today - timedelta(days=today.weekday() + 7)
    return Period(monday, monday + timedelta(days=6), zone)


def _share(part: Any, whole: Any) -> float | None:
    whole_f = _num(whole)
    if not whole_f:
        return None
    return round(float(part or 0) / whole_f, 4)


def _num(value: Any) -> float | None:
    if value is None or pd.isna(value):
        return None
    return round(float(value), 1)


def _mean(total: Any, count: Any) -> float | None:
    n = _num(count)
    return None if not n else round(float(total) / n, 1)


def _int(value: Any) -> int:
    return 0 if value is None or pd.isna(value) else int(value)
