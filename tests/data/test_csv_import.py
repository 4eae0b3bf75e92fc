"""CSV import of workers, sites and orders: every error by line and field, good rows kept, no duplicates."""

from __future__ import annotations

import io
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.csv_import import ImportReport, RowError, import_orders, import_sites, import_workers
from data.orders_repo import list_orders, order_history
from data.sites_repo import list_sites, site_by_ref
from data.tables import WorkerShiftRow
from data.workers_repo import list_workers, worker_by_device
from dispatch.geo import LatLon
from dispatch.orders import OrderStatus, OrderType, TimeWindow
from dispatch.workers import Shift

NOW = datetime(2025, 3, 2, 18, 0, tzinfo=UTC)

WORKERS_CSV = """\
name,device_id,skills,team,home_lat,home_lon,shift_days,shift_start,shift_end
Ana Costa,phone-a,gas;Plumbing,North,43.74,7.42,Mon-Fri,07:00,15:30
Bruno Rossi,phone-b,"it, hvac",South,,,Sat,09:00,13:00
,phone-c,gas,,95,7.4,Mon-Fri,07:00,15:00
Dora,phone-d,,,43.7,,Funday,25:00,19:00

Eli,phone-a,gas,,,,,,
Finn,phone-f,delivery,Centre,43.73,7.41,Fri-Mon,19:00,07:00
Gus,phone-g,,,abc,7.4,,,
"""


def test_workers_import_keeps_good_rows_and_reports_every_bad_field_by_line(session: Session) -> None:
    """Tests that each bad field is reported with its file line (header = 1) and only the good rows are stored."""
    report = import_workers(session, io.StringIO(WORKERS_CSV))
    assert report == ImportReport(
        imported=2,
        updated=0,
        errors=[
            RowError(4, "name", "is required"),
            RowError(4, "home_lat", "95.0 is not within -90..90"),
            RowError(5, "home_lon", "is required when home_lat is given"),
            RowError(5, "shift_start", "'25:00' is not a time HH:MM"),
            RowError(5, "shift_days", "'Funday' is not a list of weekdays such as Mon-Fri or Mon,Wed,Fri"),
            RowError(7, "device_id", "'phone-a' repeats line 2"),
            RowError(8, "shift_end", "07:00 is not after shift_start 19:00 (24:00 ends at midnight)"),
            RowError(9, "home_lat", "'abc' is not a number"),
        ],
    )
    assert str(report.errors[1]) == "line 4: home_lat: 95.0 is not within -90..90"
    ana, bruno = list_workers(session)
    assert (ana.name, ana.device_id, ana.skills, ana.team, ana.home_base) == (
        "Ana Costa",
        "phone-a",
        frozenset({"gas", "plumbing"}),
        "North",
        LatLon(43.74, 7.42),
    )
    assert ana.shifts == (Shift(weekdays=(0, 1, 2, 3, 4), start=time(7, 0), end=time(15, 30)),)
    assert (bruno.skills, bruno.home_base, bruno.shifts) == (
        frozenset({"it", "hvac"}),
        None,
        (Shift(weekdays=(5,), start=time(9, 0), end=time(13, 0)),),
    )


def test_reimporting_the_same_workers_file_updates_and_creates_no_duplicates(session: Session, tmp_path: Path) -> None:
    """Tests that a second import of the same file (from a path) matches on device_id and leaves one row each."""
    path = tmp_path / "workers.csv"
    path.write_text(WORKERS_CSV, encoding="utf-8")
    first = import_workers(session, path)
    before = list_workers(session)
    second = import_workers(session, str(path))
    assert (first.imported, first.updated, second.imported, second.updated) == (2, 0, 0, 2)
    assert second.errors == first.errors
    assert list_workers(session) == before
    assert session.scalar(select(func.count()).select_from(WorkerShiftRow)) == 2


def test_wrapping_shift_days_and_comma_lists_are_understood(session: Session) -> None:
    """Tests that `Fri-Mon` wraps over the weekend and `Mon,Wed,Fri` picks single days."""
    csv_text = (
        'name,device_id,shift_days,shift_start,shift_end\nA,a,Fri-Mon,08:00,12:00\nB,b,"Mon,Wed,Fri",08:00,12:00\n'
    )
    report = import_workers(session, io.StringIO(csv_text))
    assert report.errors == []
    assert worker_by_device(session, "a").shifts[0].weekdays == (0, 4, 5, 6)
    assert worker_by_device(session, "b").shifts[0].weekdays == (0, 2, 4)


def test_a_shift_end_of_24_00_is_imported_as_the_end_of_the_day(session: Session) -> None:
    """Tests that a CSV shift ending `24:00` is imported as running to midnight (on shift at 23:59:59), that 00:00
    as an end is still refused as not after the start, and that 24:00 is no start."""
    csv_text = (
        "name,device_id,shift_days,shift_start,shift_end\n"
        "A,a,Mon-Sun,00:00,24:00\nB,b,Mon,22:00,00:00\nC,c,Mon,24:00,24:00\n"
    )
    report = import_workers(session, io.StringIO(csv_text))
    assert report.errors == [
        RowError(3, "shift_end", "00:00 is not after shift_start 22:00 (24:00 ends at midnight)"),
        RowError(4, "shift_start", "'24:00' is not a time HH:MM"),
    ]
    [shift] = worker_by_device(session, "a").shifts
    assert (shift.weekdays, shift.start, shift.ends_at_midnight) == (tuple(range(7)), time(0), True)
    assert shift.covers(datetime(2025, 3, 2, 23, 59, 59, tzinfo=UTC))
    assert worker_by_device(session, "b") is None


SITES_CSV = """\
external_ref,name,address,latitude,longitude,geofence_radius_m,category
osm:node:1,Casino,"Place du Casino
98000 Monaco",43.7396,7.4286,80,amenity=casino
osm:node:2,Port,,43.735,7.421,,amenity=ferry_terminal
osm:node:3,Nowhere,,95.0,7.4,50,
,No ref,,43.7,200,-5,
osm:node:5,Too many,,43.7,7.4,50,x,extra
osm:node:1,Casino again,,43.7,7.4,50,
"""


def test_sites_import_reports_lines_correctly_after_a_multiline_field(session: Session) -> None:
    """Tests that line numbers count the physical lines of a quoted two-line address, and good sites are stored."""
    report = import_sites(session, io.StringIO(SITES_CSV))
    assert report.errors == [
        RowError(5, "latitude", "95.0 is not within -90..90"),
        RowError(6, "external_ref", "is required"),
        RowError(6, "longitude", "200.0 is not within -180..180"),
        RowError(6, "geofence_radius_m", "-5.0 must be > 0"),
        RowError(7, "", "has 8 fields, the header has 7"),
        RowError(8, "external_ref", "'osm:node:1' repeats line 2"),
    ]
    assert (report.imported, report.updated) == (2, 0)
    casino = site_by_ref(session, "osm:node:1")
    assert (casino.name, casino.address, casino.location, casino.geofence_radius_m, casino.category) == (
        "Casino",
        "Place du Casino\n98000 Monaco",
        LatLon(43.7396, 7.4286),
        80.0,
        "amenity=casino",
    )
    assert site_by_ref(session, "osm:node:2").geofence_radius_m == 50.0


def test_reimporting_sites_updates_by_external_ref(session: Session) -> None:
    """Tests that the same sites file imported twice leaves the same two sites, counted as updates."""
    import_sites(session, io.StringIO(SITES_CSV))
    before = list_sites(session)
    report = import_sites(session, io.StringIO(SITES_CSV))
    assert (report.imported, report.updated) == (0, 2)
    assert list_sites(session) == before


def test_a_missing_required_column_is_reported_on_the_header_line(session: Session) -> None:
    """Tests that a file without a required column reports it on line 1 and stores nothing."""
    report = import_sites(session, io.StringIO("external_ref,name,latitude\nr,A,43.7\n"))
    assert report == ImportReport(0, 0, [RowError(1, "longitude", "column is missing from the header")])
    assert list_sites(session) == []


def test_an_empty_file_is_reported_not_crashed_on(session: Session) -> None:
    """Tests that an empty upload gives one error on line 1."""
    assert import_workers(session, io.StringIO("")).errors == [
        RowError(1, "", "the file is empty: expected a header line")
    ]


def test_a_file_that_is_not_utf8_text_or_holds_a_huge_field_names_its_line_and_stores_nothing(session: Session) -> None:
    """Tests that a byte that is not UTF-8, a NUL character and a field over the csv module's 128 KiB limit are each
    reported on their line (the last two were a traceback, and a NUL reached the database), and nothing is stored."""
    header = b"name,device_id\n"
    cases = [
        (header + b"Ana,a-1\nBo\xff,b-1\n", "is not UTF-8 text (byte 0xff); save the file as UTF-8"),
        (header + b"Ana,a-1\nBo,b\x00-1\n", "holds a NUL character: not a text file"),
        (
            header + b"Ana,a-1\n" + b"x" * 200_000 + b",b-1\n",
            "is not valid CSV: field larger than field limit (131072)",
        ),
    ]
    for content, reason in cases:
        assert import_workers(session, io.BytesIO(content)).errors == [RowError(3, "", reason)]
    assert list_workers(session) == []


ORDERS_CSV = """\
reference,site_ref,type,priority,required_skills,window_start,window_end,service_minutes,notes
WO-1,osm:node:1,repair,2,gas;plumbing,2025-03-03T09:00:00+01:00,2025-03-03T11:00:00+01:00,45,"Boiler, basement"
WO-2,osm:node:2,Visit,,,2025-03-03T12:00:00Z,2025-03-03T13:00:00Z,30,
WO-3,X,foo,7,,2025-03-03 08:00,2025-03-03T07:00:00Z,-3,
WO-4,osm:node:1,inspection,high,,tomorrow,2025-03-03T10:00:00Z,abc,
WO-5,osm:node:1,delivery,3,,2025-03-03T12:00:00Z,2025-03-03T11:00:00Z,10,
"""


def test_orders_import_validates_every_field_and_resolves_sites_by_ref(session: Session) -> None:
    """Tests the order field messages (site_ref, type, priority, windows, minutes) and the stored good orders."""
    import_sites(session, io.StringIO(SITES_CSV))
    report = import_orders(session, io.StringIO(ORDERS_CSV), now=NOW)
    assert report.errors == [
        RowError(4, "site_ref", "no site with external_ref 'X'"),
        RowError(4, "type", "'foo' is not one of visit, repair, inspection, delivery, emergency"),
        RowError(4, "priority", "7 is not within 1..5 (1 = most urgent)"),
        RowError(4, "window_start", "'2025-03-03 08:00' has no time zone (add Z or an offset such as +01:00)"),
        RowError(4, "service_minutes", "-3.0 must be >= 0"),
        RowError(5, "priority", "'high' is not a whole number"),
        RowError(5, "window_start", "'tomorrow' is not an ISO 8601 date-time such as 2025-03-03T08:00:00+01:00"),
        RowError(5, "service_minutes", "'abc' is not a number"),
        RowError(6, "window_end", "2025-03-03T11:00:00+00:00 is before window_start 2025-03-03T12:00:00+00:00"),
    ]
    assert (report.imported, report.updated) == (2, 0)
    wo1, wo2 = list_orders(session)
    casino, port = site_by_ref(session, "osm:node:1"), site_by_ref(session, "osm:node:2")
    assert (
        wo1.reference,
        wo1.site_id,
        wo1.type,
        wo1.priority,
        wo1.required_skills,
        wo1.service_duration_s,
        wo1.notes,
    ) == (
        "WO-1",
        casino.id,
        OrderType.REPAIR,
        2,
        frozenset({"gas", "plumbing"}),
        2700,
        "Boiler, basement",
    )
    assert wo1.window == TimeWindow(datetime(2025, 3, 3, 8, tzinfo=UTC), datetime(2025, 3, 3, 10, tzinfo=UTC))
    assert wo1.window.start.tzinfo is UTC
    assert (wo2.site_id, wo2.type, wo2.priority, wo2.status) == (port.id, OrderType.VISIT, 3, OrderStatus.NEW)
    assert [h.at for h in order_history(session, order_id=wo1.id)] == [NOW]


def test_reimporting_orders_updates_by_reference_and_keeps_dispatch_state(session: Session) -> None:
    """Tests that re-importing orders matches on reference: no duplicates, one history entry each."""
    import_sites(session, io.StringIO(SITES_CSV))
    import_orders(session, io.StringIO(ORDERS_CSV), now=NOW)
    before = list_orders(session)
    report = import_orders(session, io.StringIO(ORDERS_CSV), now=NOW + timedelta(days=1))
    assert (report.imported, report.updated, len(report.errors)) == (0, 2, 9)
    assert list_orders(session) == before
    assert all(len(order_history(session, order_id=o.id)) == 1 for o in before)


def test_a_row_failing_in_the_database_is_rolled_back_alone(session: Session, monkeypatch) -> None:
    """Tests that when storing one row fails midway, that row leaves nothing behind and the others are kept."""
    import data.csv_import as csv_import
    from data.workers_repo import upsert_worker_by_device as real_upsert

    def flaky(session: Session, **kw):
        worker = real_upsert(session, **kw)  # the row is written (with its shift) ...
        if kw["device_id"] == "b":
            raise ValueError("device_id: the device registry refused 'b'")  # ... then the store fails
        return worker

    monkeypatch.setattr(csv_import, "upsert_worker_by_device", flaky)
    csv_text = "name,device_id,shift_days,shift_start,shift_end\nA,a,Mon,08:00,09:00\nB,b,Mon,08:00,09:00\nC,c,Mon,08:00,09:00\n"
    report = import_workers(session, io.StringIO(csv_text))
    session.commit()
    assert report == ImportReport(2, 0, [RowError(3, "device_id", "the device registry refused 'b'")])
    assert [w.device_id for w in list_workers(session)] == ["a", "c"]
    assert session.scalar(select(func.count()).select_from(WorkerShiftRow)) == 2


def test_sites_import_reads_an_outline_as_wkt_or_geojson_and_reports_a_bad_one(session: Session) -> None:
    """Tests that a `polygon` column holding WKT or GeoJSON gives the site that outline (an empty cell none), a
    polygon with a hole is reported by line and field, and re-importing without the column keeps the outlines."""
    wkt = "POLYGON ((7.428 43.739, 7.429 43.739, 7.429 43.7398, 7.428 43.739))"
    geojson = '{""type"": ""Polygon"", ""coordinates"": [[[7.428, 43.739], [7.429, 43.739], [7.429, 43.7398]]]}'
    holed = "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (1 1, 2 1, 2 2, 1 1))"
    text = (
        "external_ref,name,latitude,longitude,polygon\n"
        f'w,By WKT,43.739,7.428,"{wkt}"\n'
        f'g,By GeoJSON,43.739,7.428,"{geojson}"\n'
        "c,Circle,43.739,7.428,\n"
        f'h,Holed,43.739,7.428,"{holed}"\n'
    )
    report = import_sites(session, io.StringIO(text))
    assert report.errors == [RowError(5, "polygon", "holes are not supported (give the outer ring only)")]
    triangle = (LatLon(43.739, 7.428), LatLon(43.739, 7.429), LatLon(43.7398, 7.429))
    assert site_by_ref(session, "w").geofence_polygon == triangle
    assert site_by_ref(session, "g").geofence_polygon == triangle
    assert site_by_ref(session, "c").geofence_polygon is None
    assert site_by_ref(session, "h") is None
    import_sites(session, io.StringIO("external_ref,name,latitude,longitude\nw,Renamed,43.739,7.428\n"))
    assert (site_by_ref(session, "w").name, site_by_ref(session, "w").geofence_polygon) == ("Renamed", triangle)
