"""CSV import of workers, sites and orders, reporting every bad field by line.

Each importer reads the whole file with pandas, validates every row, and stores each good row in
its own savepoint: a row is stored completely or not at all, and a bad row never loses the others.
Rows are matched on their natural key (workers by `device_id`, sites by `external_ref`, orders by
`reference`), so importing the same file twice updates instead of duplicating. The caller commits.

Line numbers are those of the file as a text editor shows them (the header is line 1), also when a
quoted field spans several lines.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import IO, Any

import pandas as pd
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from data.orders_repo import upsert_order_by_reference
from data.sites_repo import KEEP, site_ids_by_ref, upsert_site_by_ref
from data.workers_repo import upsert_worker_by_device
from dispatch.geo import LatLon
from dispatch.geofences import parse_polygon
from dispatch.orders import OrderType, TimeWindow
from dispatch.workers import END_OF_DAY, Shift, is_end_of_day, parse_weekdays

Source = str | os.PathLike[str] | IO[str] | IO[bytes]

WORKER_COLUMNS = (
    "name",
    "device_id",
    "skills",
    "team",
    "home_lat",
    "home_lon",
    "shift_days",
    "shift_start",
    "shift_end",
)
SITE_COLUMNS = (
    "external_ref",
    "name",
    "address",
    "latitude",
    "longitude",
    "geofence_radius_m",
    "category",
    "polygon",
)
ORDER_COLUMNS = (
    "reference",
    "site_ref",
    "type",
    "priority",
    "required_skills",
    "window_start",
    "window_end",
    "service_minutes",
    "notes",
)
_REQUIRED = {
    "workers": ("name", "device_id"),
    "sites": ("external_ref", "name", "latitude", "longitude"),
    "orders": ("reference", "site_ref", "type", "window_start", "window_end", "service_minutes"),
}
DEFAULT_GEOFENCE_RADIUS_M = 50.0
DEFAULT_PRIORITY = 3


@dataclass(frozen=True, slots=True)
class RowError:
    """A problem with one field of one row; `line` is 1-based with the header on line 1."""

    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.reason}" if self.field else f"line {self.line}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ImportReport:
    """How many rows created a record, how many updated an existing one, and every row error."""

    imported: int
    updated: int
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class _Row:
    """One CSV row being validated; field errors accumulate instead of stopping at the first."""

    def __init__(self, line: int, values: Mapping[str, str]) -> None:
        self.line = line
        self.values = values
        self.errors: list[RowError] = []

    def fail(self, name: str, reason: str) -> None:
        self.errors.append(RowError(self.line, name, reason))

    def text(self, name: str, *, required: bool = False) -> str:
        value = self.values.get(name, "").strip()
        if required and not value:
            self.fail(name, "is required")
        return value

    def number(
        self, name: str, *, required: bool = False, low: float | None = None, high: float | None = None
    ) -> float | None:
        raw = self.text(name, required=required)
        if not raw:
            return None
        try:
            value = float(raw)
        except ValueError:
            self.fail(name, f"{raw!r} is not a number")
            return None
        if not math.isfinite(value):
            self.fail(name, f"{raw!r} is not a finite number")
            return None
        if low is not None and high is not None and not low <= value <= high:
            self.fail(name, f"{value!r} is not within {low:g}..{high:g}")
            return None
        return value

    def coordinate(self, lat_name: str, lon_name: str, *, required: bool) -> LatLon | None:
        lat = self.number(lat_name, required=required, low=-90, high=90)
        lon = self.number(lon_name, required=required, low=-180, high=180)
        lat_given, lon_given = bool(self.text(lat_name)), bool(self.text(lon_name))
        if not required and lat_given != lon_given:
            missing, given = (lon_name, lat_name) if lat_given else (lat_name, lon_name)
            self.fail(missing, f"is required when {given} is given")
        if lat is None or lon is None:
            return None
        return LatLon(lat, lon)

    def skills(self, name: str) -> list[str]:
        return sorted({s.strip().lower() for s in re.split(r"[;,]", self.text(name)) if s.strip()})

    def clock_time(self, name: str, *, required: bool, end_of_day: bool = False) -> time | None:
        """HH:MM; with `end_of_day` also `24:00`, read as `dispatch.workers.END_OF_DAY` (a shift's end)."""
        raw = self.text(name, required=required)
        if not raw:
            return None
        if end_of_day and is_end_of_day(raw):
            return END_OF_DAY
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", raw)
        if match is None or int(match[1]) > 23 or int(match[2]) > 59:
            self.fail(name, f"{raw!r} is not a time HH:MM")
            return None
        return time(int(match[1]), int(match[2]))

    def aware_datetime(self, name: str) -> datetime | None:
        raw = self.text(name, required=True)
        if not raw:
            return None
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            self.fail(name, f"{raw!r} is not an ISO 8601 date-time such as 2025-03-03T08:00:00+01:00")
            return None
        if value.tzinfo is None:
            self.fail(name, f"{raw!r} has no time zone (add Z or an offset such as +01:00)")
            return None
        return value


# Reading ---------------------------------------------------------------------------------------


def _read_text(source: Source) -> str | RowError:
    """The file's text, or the error naming the first line that is not UTF-8."""
    content = Path(source).read_bytes() if isinstance(source, str | os.PathLike) else source.read()
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = content[: exc.start].count(b"\n") + 1
            return RowError(line, "", f"is not UTF-8 text (byte {content[exc.start]:#04x}); save the file as UTF-8")
    if "\x00" in content:  # PostgreSQL's text holds no NUL; a spreadsheet never writes one
        return RowError(content[: content.index("\x00")].count("\n") + 1, "", "holds a NUL character: not a text file")
    return content.removeprefix("\ufeff")


def _read_rows(source: Source, kind: str) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    """The file's data rows with their line numbers, or the errors that make the whole file unreadable."""
    text = _read_text(source)
    if isinstance(text, RowError):
        return [], [text]
    # Leading blank lines: skipped by both parsers alike, but counted for the line numbers.
    stripped = text.lstrip("\r\n")
    offset = text[: len(text) - len(stripped)].count("\n")
    if not stripped.strip():
        return [], [RowError(1, "", "the file is empty: expected a header line")]

    # The csv module knows where each record starts; pandas parses the table.
    records: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(stripped, newline=""))
    start = 1
    try:
        for record in reader:
            records.append((start + offset, record))
            start = reader.line_num + 1
    except csv.Error as exc:  # a field over the csv module's limit (128 KiB), a NUL byte
        return [], [RowError(start + offset, "", f"is not valid CSV: {exc}")]
    header_line, header = records[0]
    width = len(header)
    errors: list[RowError] = []
    kept: list[tuple[int, list[str]]] = []
    for line, record in records[1:]:
        if len(record) > width:
            errors.append(RowError(line, "", f"has {len(record)} fields, the header has {width}"))
        else:
            kept.append((line, record))

    try:
        frame = pd.read_csv(
            io.StringIO(stripped),
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            on_bad_lines="skip",
        ).fillna("")
    except (pd.errors.ParserError, ValueError) as exc:
        return [], [*errors, RowError(records[-1][0], "", f"is not valid CSV: {exc}")]
    if len(frame) != len(kept):
        # The two parsers disagree (an exotic quoting case): trust the csv module's records.
        frame = pd.DataFrame([r + [""] * (width - len(r)) for _, r in kept], columns=list(frame.columns)).fillna("")

    columns = [str(c).strip().lower() for c in frame.columns]
    frame.columns = pd.Index(columns)
    missing = [c for c in _REQUIRED[kind] if c not in columns]
    if missing:
        return [], [RowError(header_line, c, "column is missing from the header") for c in missing]

    rows: list[tuple[int, dict[str, str]]] = []
    for (line, _), values in zip(kept, frame.to_dict(orient="records"), strict=True):
        cleaned = {str(k): str(v) for k, v in values.items()}
        if all(not v.strip() for v in cleaned.values()):
            continue  # a blank line
        rows.append((line, cleaned))
    return rows, errors


def _split_repo_error(exc: Exception, default_field: str) -> tuple[str, str]:
    """Repositories raise 'field: reason'; turn that back into (field, reason)."""
    message = str(exc)
    match = re.match(r"([a-z_]+): (.*)", message, re.DOTALL)
    return (match[1], match[2]) if match else (default_field, message)


def _store_rows(
    session: Session,
    rows: list[tuple[int, Any]],
    store: Callable[[Any], bool],
    errors: list[RowError],
    key_field: str,
) -> tuple[int, int]:
    """Store each validated row inside its own savepoint; returns (created, updated)."""
    created = updated = 0
    for line, parsed in rows:
        try:
            with session.begin_nested():
                was_created = store(parsed)
        except (ValueError, SQLAlchemyError) as exc:
            name, reason = _split_repo_error(exc, key_field)
            errors.append(RowError(line, name, reason))
            continue
        if was_created:
            created += 1
        else:
            updated += 1
    return created, updated


def _check_duplicate(row: _Row, key_field: str, key: str, seen: dict[str, int]) -> None:
    if key and key in seen:
        row.fail(key_field, f"{key!r} repeats line {seen[key]}")
    elif key:
        seen[key] = row.line


def _finish(errors: list[RowError], created: int, updated: int) -> ImportReport:
    return ImportReport(imported=created, updated=updated, errors=sorted(errors, key=lambda e: e.line))


# Workers ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _WorkerInput:
    name: str
    device_id: str
    skills: list[str]
    team: str
    home_base: LatLon | None
    shifts: tuple[Shift, ...]


def _parse_worker(row: _Row) -> _WorkerInput:
    name = row.text("name", required=True)
    device_id = row.text("device_id", required=True)
    home_base = row.coordinate("home_lat", "home_lon", required=False)
    shifts: tuple[Shift, ...] = ()
    days_raw = row.text("shift_days")
    start, end = (
        row.clock_time("shift_start", required=False),
        row.clock_time("shift_end", required=False, end_of_day=True),
    )
    any_shift = bool(days_raw or row.text("shift_start") or row.text("shift_end"))
    if any_shift:
        days = parse_weekdays(days_raw) if days_raw else None
        if not days_raw:
            row.fail("shift_days", "is required when a shift time is given")
        elif days is None:
            row.fail("shift_days", f"{days_raw!r} is not a list of weekdays such as Mon-Fri or Mon,Wed,Fri")
        for name_, value in (("shift_start", start), ("shift_end", end)):
            if value is None and not row.text(name_):
                row.fail(name_, "is required when shift_days is given")
        if start is not None and end is not None and end <= start and not is_end_of_day(row.text("shift_end")):
            row.fail("shift_end", f"{end:%H:%M} is not after shift_start {start:%H:%M} (24:00 ends at midnight)")
        elif days and start is not None and end is not None:
            shifts = (Shift(weekdays=days, start=start, end=end),)
    return _WorkerInput(name, device_id, row.skills("skills"), row.text("team"), home_base, shifts)


def import_workers(session: Session, source: Source, *, timezone: str | None = None) -> ImportReport:
    """Import workers (columns: name, device_id, skills, team, home_lat, home_lon, shift_days, shift_start, shift_end).

    `skills` are separated by ';' or ','; `shift_days` is e.g. `Mon-Fri` or `Mon,Wed,Fri`; shift
    times are HH:MM (`shift_end` also 24:00, the end of the day) on the clock of `timezone` (the office's, from the CLI; None: UTC). A worker whose
    device_id exists is updated, including its shift and zone.
    """
    raw_rows, errors = _read_rows(source, "workers")
    good: list[tuple[int, _WorkerInput]] = []
    seen: dict[str, int] = {}
    for line, values in raw_rows:
        row = _Row(line, values)
        parsed = _parse_worker(row)
        _check_duplicate(row, "device_id", parsed.device_id, seen)
        errors.extend(row.errors)
        if not row.errors:
            good.append((line, parsed))

    def store(w: _WorkerInput) -> bool:
        _, created = upsert_worker_by_device(
            session,
            name=w.name,
            device_id=w.device_id,
            skills=w.skills,
            shifts=w.shifts,
            home_base=w.home_base,
            team=w.team,
            timezone=timezone,
        )
        return created

    return _finish(errors, *_store_rows(session, good, store, errors, "device_id"))


# Sites -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _SiteInput:
    external_ref: str
    name: str
    address: str
    location: LatLon
    geofence_radius_m: float
    category: str
    polygon: tuple[LatLon, ...] | None | object  # KEEP when the file has no polygon column


def _parse_site(row: _Row) -> _SiteInput | None:
    ref = row.text("external_ref", required=True)
    name = row.text("name", required=True)
    location = row.coordinate("latitude", "longitude", required=True)
    radius = row.number("geofence_radius_m")
    if radius is not None and radius <= 0:
        row.fail("geofence_radius_m", f"{radius!r} must be > 0")
    polygon: tuple[LatLon, ...] | None | object = KEEP
    if "polygon" in row.values:
        polygon = None
        if raw := row.text("polygon"):
            try:
                polygon = parse_polygon(raw)
            except ValueError as exc:
                row.fail("polygon", str(exc).removeprefix("polygon: "))
    if row.errors or location is None:
        return None
    return _SiteInput(
        ref,
        name,
        row.text("address"),
        location,
        radius if radius is not None else DEFAULT_GEOFENCE_RADIUS_M,
        row.text("category"),
        polygon,
    )


def import_sites(session: Session, source: Source) -> ImportReport:
    """Import sites (columns: external_ref, name, address, latitude, longitude, geofence_radius_m, category,
    polygon).

    The radius defaults to 50 m. `polygon` is the site's outline as WKT (`POLYGON ((lon lat, ...))`) or a
    GeoJSON Polygon; with one, the geofence is the polygon. A site whose external_ref exists is updated
    (its outline only when the file has a `polygon` column; an empty cell removes it).
    """
    raw_rows, errors = _read_rows(source, "sites")
    good: list[tuple[int, _SiteInput]] = []
    seen: dict[str, int] = {}
    for line, values in raw_rows:
        row = _Row(line, values)
        parsed = _parse_site(row)
        _check_duplicate(row, "external_ref", row.text("external_ref"), seen)
        errors.extend(row.errors)
        if parsed is not None and not row.errors:
            good.append((line, parsed))

    def store(s: _SiteInput) -> bool:
        _, created = upsert_site_by_ref(
            session,
            external_ref=s.external_ref,
            name=s.name,
            address=s.address,
            location=s.location,
            geofence_radius_m=s.geofence_radius_m,
            category=s.category,
            geofence_polygon=s.polygon,
        )
        return created

    return _finish(errors, *_store_rows(session, good, store, errors, "external_ref"))


# Orders ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _OrderInput:
    reference: str
    site_id: int
    type: OrderType
    priority: int
    required_skills: list[str]
    window: TimeWindow
    service_duration_s: int
    notes: str


def _parse_order(row: _Row, sites: Mapping[str, int]) -> _OrderInput | None:
    reference = row.text("reference", required=True)
    site_ref = row.text("site_ref", required=True)
    site_id = sites.get(site_ref)
    if site_ref and site_id is None:
        row.fail("site_ref", f"no site with external_ref {site_ref!r}")
    type_raw = row.text("type", required=True)
    order_type = None
    if type_raw:
        try:
            order_type = OrderType(type_raw.lower())
        except ValueError:
            row.fail("type", f"{type_raw!r} is not one of {', '.join(t.value for t in OrderType)}")
    priority_raw = row.text("priority")
    priority = DEFAULT_PRIORITY
    if priority_raw:
        if not re.fullmatch(r"[+-]?\d+", priority_raw):
            row.fail("priority", f"{priority_raw!r} is not a whole number")
        elif not 1 <= int(priority_raw) <= 5:
            row.fail("priority", f"{int(priority_raw)} is not within 1..5 (1 = most urgent)")
        else:
            priority = int(priority_raw)
    start, end = row.aware_datetime("window_start"), row.aware_datetime("window_end")
    if start is not None and end is not None and end < start:
        row.fail("window_end", f"{end.isoformat()} is before window_start {start.isoformat()}")
    minutes = row.number("service_minutes", required=True)
    if minutes is not None and minutes < 0:
        row.fail("service_minutes", f"{minutes!r} must be >= 0")
    if row.errors or site_id is None or order_type is None or start is None or end is None or minutes is None:
        return None
    return _OrderInput(
        reference,
        site_id,
        order_type,
        priority,
        row.skills("required_skills"),
        TimeWindow(start, end),
        round(minutes * 60),
        row.values.get("notes", "").strip(),
    )


def import_orders(session: Session, source: Source, *, now: datetime | None = None) -> ImportReport:
    """Import orders (columns: reference, site_ref, type, priority, required_skills, window_start, window_end,
    service_minutes, notes).

    `site_ref` is a site's external_ref (import sites first); windows are ISO 8601 with a zone;
    priority defaults to 3. New orders start in status NEW, created at `now` (default: system clock);
    an existing order (same reference) gets its details updated but keeps its status and assignment.
    """
    raw_rows, errors = _read_rows(source, "orders")
    sites = site_ids_by_ref(session) if raw_rows else {}
    good: list[tuple[int, _OrderInput]] = []
    seen: dict[str, int] = {}
    for line, values in raw_rows:
        row = _Row(line, values)
        parsed = _parse_order(row, sites)
        _check_duplicate(row, "reference", row.text("reference"), seen)
        errors.extend(row.errors)
        if parsed is not None and not row.errors:
            good.append((line, parsed))

    def store(o: _OrderInput) -> bool:
        _, created = upsert_order_by_reference(
            session,
            reference=o.reference,
            site_id=o.site_id,
            type=o.type,
            priority=o.priority,
            required_skills=o.required_skills,
            window=o.window,
            service_duration_s=o.service_duration_s,
            notes=o.notes,
            created_at=now,
        )
        return created

    return _finish(errors, *_store_rows(session, good, store, errors, "reference"))


IMPORTERS: dict[str, Callable[[Session, Source], ImportReport]] = {
    "workers": import_workers,
    "sites": import_sites,
    "orders": import_orders,
}
