"""What reports read from the database: order milestones kept with the history, and cached kilometres."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import bindparam, delete, text
from sqlalchemy.orm import Session

from data import positions_repo
from data.orders_repo import add_order, get_order, save_change
from data.positions_repo import add_position, insert_positions, purge_positions
from data.reports_repo import km_per_worker, order_facts
from data.sites_repo import add_site
from data.tables import UTCDateTime, WorkerRow
from data.users_repo import create_user
from data.workers_repo import add_worker
from dispatch.access import Role
from dispatch.geo import LatLon
from dispatch.lifecycle import Transitioned, transition
from dispatch.orders import OrderStatus, TimeWindow
from dispatch.positions import NetworkReport, Position
from dispatch.reports import Period, km_driven

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
DAY = Period(date(2026, 3, 2), date(2026, 3, 2))


def test_facts_carry_first_assigned_first_on_site_finish_and_a_failure(session: Session) -> None:
    """Tests that an order failed on its first visit and done on its second reads: assigned at the first
    assignment, on site at the first arrival, finished at the last, and failed once."""
    site = add_site(session, name="Port", location=LatLon(43.735, 7.421)).id
    office = create_user(session, name="disp", role=Role.DISPATCHER, now=T0)[0]
    worker = add_worker(session, name="W", device_id="d")
    order = add_order(session, site_id=site, type="repair", priority=2, service_duration_s=60, created_at=T0,
                      window=TimeWindow(T0 + timedelta(hours=1), T0 + timedelta(hours=3)))  # fmt: skip
    steps = [(OrderStatus.ASSIGNED, 5), (OrderStatus.ACCEPTED, 10), (OrderStatus.EN_ROUTE, 20),
             (OrderStatus.ON_SITE, 40), (OrderStatus.FAILED, 50), (OrderStatus.ASSIGNED, 60),
             (OrderStatus.ACCEPTED, 61), (OrderStatus.EN_ROUTE, 62), (OrderStatus.ON_SITE, 80),
             (OrderStatus.DONE, 100)]  # fmt: skip
    for to, minute in steps:
        current = get_order(session, order.id)
        assert current is not None
        result = transition(current, to, actor=office, at=T0 + timedelta(minutes=minute),
                            worker_id=worker.id if to is OrderStatus.ASSIGNED else None,
                            reason="no part" if to is OrderStatus.FAILED else "")  # fmt: skip
        assert isinstance(result, Transitioned), result
        save_change(session, result.change)
    session.commit()
    [facts] = order_facts(session, DAY).to_dict(orient="records")
    assert facts["assigned_at"] == T0 + timedelta(minutes=5)
    assert facts["on_site_at"] == T0 + timedelta(minutes=40)
    assert facts["ended_at"] == T0 + timedelta(minutes=100)
    assert (facts["failed"], facts["status"], facts["team"]) == (True, "done", "")


def test_kilometres_of_a_finished_day_are_kept_after_its_fixes_are_purged(session: Session) -> None:
    """Tests that a day's kilometres are summed from the fixes once the day is over and still reported after
    retention purged those fixes, while today's are read live."""
    worker = add_worker(session, name="W", device_id="d").id
    for minute in range(11):  # 0.001° north a minute: about 1.1 km
        at = T0 + timedelta(minutes=minute)
        add_position(session, Position(worker, "d", at, at, at, 43.70 + 0.001 * minute, 7.40))
    session.commit()
    today = km_per_worker(session, DAY, now=T0 + timedelta(hours=2))
    assert today[worker] == pytest.approx(1.112, abs=0.01)
    next_day = T0 + timedelta(days=1)
    assert km_per_worker(session, DAY, now=next_day) == today
    session.commit()
    purge_positions(session, before=next_day)
    session.commit()
    assert km_per_worker(session, DAY, now=next_day + timedelta(days=1)) == today


def test_a_days_kilometres_count_every_workers_fixes_of_that_day_exactly_as_one_scan_of_the_table(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests that today's kilometres, read per worker through the (worker, fix time) index, count a fix at the
    day's first instant and none at the next day's, leave out reports without coordinates and invalid fixes, name
    no worker without fixes nor one deleted with their fixes, and equal km_driven over every row of the day read
    in one scan, however many workers a statement names."""
    day_start = datetime(2026, 3, 2, tzinfo=UTC)

    def fix(worker: int, minute: float, lat: float, lon: float = 7.40, *, valid: bool = True) -> Position:
        at = day_start + timedelta(minutes=minute)
        return Position(worker, f"d{worker}", at, at, at, lat, lon, valid=valid)

    start_edge, end_edge, invalid, idle, gone = (
        add_worker(session, name=n, device_id=f"d-{n}").id for n in ("start", "end", "invalid", "idle", "gone")
    )
    insert_positions(session, [
        fix(start_edge, -1, 43.69), fix(start_edge, 0, 43.70), fix(start_edge, 1, 43.701),  # the hop into the day: not
        NetworkReport(start_edge, "d", day_start + timedelta(seconds=30), day_start),  # no coordinates: left out
        fix(end_edge, 24 * 60 - 2, 43.70), fix(end_edge, 24 * 60 - 1, 43.701), fix(end_edge, 24 * 60, 43.702),
        fix(invalid, 600, 43.70), fix(invalid, 601, 43.7005, 7.41, valid=False), fix(invalid, 602, 43.701),
        fix(gone, 60, 43.70), fix(gone, 61, 43.71),
    ])  # fmt: skip
    session.execute(delete(WorkerRow).where(WorkerRow.id == gone))  # the schema takes their fixes with them
    session.commit()
    one_scan = text(  # the statement of the fix-time index's days (migration 0020 dropped it)
        "SELECT worker_id, fix_time, latitude, longitude FROM positions "
        "WHERE fix_time >= :start AND fix_time < :end AND latitude IS NOT NULL AND valid"
    ).bindparams(bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime()))
    rows = session.execute(one_scan, {"start": day_start, "end": day_start + timedelta(days=1)}).all()
    reference = km_driven(pd.DataFrame.from_records(rows, columns=["worker_id", "fix_time", "latitude", "longitude"]))
    one_hop = pytest.approx(0.111, abs=0.001)  # 0.001° of latitude
    now = day_start + timedelta(hours=23, minutes=59, seconds=30)
    assert km_per_worker(session, DAY, now=now) == {start_edge: one_hop, end_edge: one_hop, invalid: one_hop}
    assert km_per_worker(session, DAY, now=now) == reference
    monkeypatch.setattr(positions_repo, "WORKERS_PER_STATEMENT", 2)  # two statements for the three with fixes
    assert km_per_worker(session, DAY, now=now) == reference
    assert idle not in reference and gone not in reference
