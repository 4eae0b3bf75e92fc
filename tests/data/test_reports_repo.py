"""What reports read from the database: order milestones kept with the history, and cached kilometres."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from data.orders_repo import add_order, get_order, save_change
from data.positions_repo import add_position, purge_positions
from data.reports_repo import km_per_worker, order_facts
from data.sites_repo import add_site
from data.users_repo import create_user
from data.workers_repo import add_worker
from dispatch.access import Role
from dispatch.geo import LatLon
from dispatch.lifecycle import Transitioned, transition
from dispatch.orders import OrderStatus, TimeWindow
from dispatch.positions import Position
from dispatch.reports import Period

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
