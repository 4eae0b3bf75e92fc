"""Report sums kept per month (migration 0018): the same answers as summing every order, also after changes."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from data.reports_repo import order_sums
from data.tables import (
    CheckinRow,
    ReportMonthRow,
    ReportMonthSumsRow,
    SiteRow,
    SurveyAnswerRow,
    WorkerRow,
    WorkOrderRow,
)
from dispatch.reports import SUM_FIELDS, SUM_KEYS, Period

T0 = datetime(2026, 1, 10, 6, 0, tzinfo=UTC)
PERIOD = Period(date(2026, 1, 5), date(2026, 4, 10))  # whole months: February and March
NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
STATUSES = ("assigned", "on_site", "done", "done", "done", "failed", "cancelled")
VERDICTS = ("verified", "verified", "verified", "outside_geofence", "late")
TYPES = ("repair", "visit", "inspection")


def _seed(session: Session) -> None:
    """Orders from January into April: unassigned, unfinished, failed, with and without check-ins and ratings."""
    rng = random.Random(11)
    session.add(SiteRow(id=1, name="Port", address="", latitude=43.73, longitude=7.42, geofence_radius_m=50))
    for w in (1, 2, 3):
        session.add(WorkerRow(id=w, name=f"W{w}", device_id=f"d{w}", team="North" if w < 3 else "South"))
    session.flush()
    for i in range(1, 241):
        start = T0 + timedelta(minutes=rng.randrange(0, 100 * 24 * 60))
        created = start - timedelta(hours=rng.randrange(1, 48))
        status = rng.choice(STATUSES)
        worker = None if rng.random() < 0.1 else rng.choice((1, 2, 3))
        status = "new" if worker is None else status
        assigned = created + timedelta(seconds=rng.randrange(10, 3000)) if worker else None
        on_site = start + timedelta(minutes=rng.randrange(0, 180)) if worker and status != "assigned" else None
        ended = on_site + timedelta(minutes=rng.randrange(5, 90)) if on_site and status in ("done", "failed") else None
        session.add(
            WorkOrderRow(id=i, site_id=1, type=rng.choice(TYPES), priority=3, window_start=start,
                         window_end=start + timedelta(hours=2), service_duration_s=1800, status=status,
                         assigned_worker_id=worker, created_at=created, assigned_at=assigned, on_site_at=on_site,
                         ended_at=ended, failed_once=status == "failed" or rng.random() < 0.1)
        )  # fmt: skip
        session.flush()
        if on_site and worker:
            for kind in ["in"] * rng.randrange(1, 3) + (["out"] if ended else []):
                session.add(
                    CheckinRow(order_id=i, worker_id=worker, kind=kind, at=on_site, verdict=rng.choice(VERDICTS))
                )
        if ended and rng.random() < 0.5:
            session.add(SurveyAnswerRow(order_id=i, worker_id=worker, link_id=f"l{i}", rating=rng.randrange(1, 6),
                                        answered_at=ended))  # fmt: skip
    session.commit()


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.assign(worker_id=frame["worker_id"].astype("Int64").fillna(-1).astype(int))
    out = out.astype({f: float for f in SUM_FIELDS})[list(SUM_KEYS) + list(SUM_FIELDS)]
    return out.sort_values(list(SUM_KEYS)).reset_index(drop=True)


def _same(kept: pd.DataFrame, direct: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(_sorted(kept), _sorted(direct), check_exact=False, rtol=1e-9)


def _kept_months(session: Session) -> dict[str, bool]:
    """Month -> whether its kept sums are valid, for the months with sums kept."""
    months = session.scalars(select(ReportMonthRow).where(ReportMonthRow.kept_generation.is_not(None)))
    return {m.month: m.kept_generation == m.generation for m in months}


def test_whole_months_are_kept_and_give_the_sums_of_every_order(session: Session) -> None:
    """Tests that a report over January 5 to April 10 keeps the sums of February and March (the whole months
    that are over) and answers, the first time and from the kept sums, what summing every order answers, also
    for one team, one worker and one order type."""
    _seed(session)
    direct = order_sums(session, PERIOD)
    assert direct["orders"].sum() > 150
    _same(order_sums(session, PERIOD, now=NOW), direct)
    session.commit()
    if session.get_bind().dialect.name == "sqlite":
        assert _kept_months(session) == {"2026-02": True, "2026-03": True}
        assert session.scalar(select(ReportMonthSumsRow.id).where(ReportMonthSumsRow.month == "2026-01")) is None
    _same(order_sums(session, PERIOD, now=NOW), direct)  # read from what was kept
    for narrowed in ({"team": "North"}, {"worker_id": 3}, {"order_type": "visit"}):
        _same(order_sums(session, PERIOD, now=NOW, **narrowed), order_sums(session, PERIOD, **narrowed))


def test_a_month_not_yet_over_is_summed_from_the_orders(session: Session) -> None:
    """Tests that with `now` in March, only February is kept: March may still change every minute."""
    _seed(session)
    march = datetime(2026, 3, 20, tzinfo=UTC)
    _same(order_sums(session, PERIOD, now=march), order_sums(session, PERIOD))
    session.commit()
    if session.get_bind().dialect.name == "sqlite":
        assert _kept_months(session) == {"2026-02": True}


def _march_order(session: Session, **where: object) -> WorkOrderRow:
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    query = select(WorkOrderRow).where(WorkOrderRow.window_start >= start, WorkOrderRow.window_start < end)
    for name, value in where.items():
        query = query.where(getattr(WorkOrderRow, name) == value)
    return session.scalars(query.order_by(WorkOrderRow.id)).first()


def _fail_a_done_order(session: Session) -> None:
    _march_order(session, status="done").status = "failed"


def _move_an_order_out_of_the_period(session: Session) -> None:
    order = _march_order(session, status="done")
    order.window_start = datetime(2026, 4, 20, 9, tzinfo=UTC)
    order.window_end = datetime(2026, 4, 20, 11, tzinfo=UTC)


def _reject_a_check_in(session: Session) -> None:
    order = _march_order(session, status="done")
    checkin = session.scalars(select(CheckinRow).where(CheckinRow.order_id == order.id)).first()
    checkin.verdict = "outside_geofence" if checkin.verdict == "verified" else "verified"


def _rate_a_visit(session: Session) -> None:
    rated = set(session.scalars(select(SurveyAnswerRow.order_id)))
    order = next(o for o in session.scalars(select(WorkOrderRow).where(WorkOrderRow.status == "done"))
                 if o.id not in rated and o.window_start.month == 3)  # fmt: skip
    session.add(SurveyAnswerRow(order_id=order.id, worker_id=order.assigned_worker_id, link_id="new", rating=1,
                                answered_at=NOW))  # fmt: skip


def _move_a_worker_to_another_team(session: Session) -> None:
    session.execute(update(WorkerRow).where(WorkerRow.id == 1).values(team="South"))


def _delete_an_order(session: Session) -> None:
    session.delete(_march_order(session, status="done"))


@pytest.mark.parametrize(
    "change",
    [_fail_a_done_order, _move_an_order_out_of_the_period, _reject_a_check_in, _rate_a_visit,
     _move_a_worker_to_another_team, _delete_an_order],
)  # fmt: skip
def test_a_change_to_a_kept_month_reaches_the_next_report(session: Session, change: Callable[[Session], None]) -> None:
    """Tests that after the months were kept, a change to an order, a check-in, a rating or a worker's team
    (made through the ORM at the newest schema, as the console makes them) is in the next report."""
    _seed(session)
    before = order_sums(session, PERIOD, now=NOW)
    session.commit()
    change(session)
    session.commit()
    direct = order_sums(session, PERIOD)
    with pytest.raises(AssertionError):
        _same(before, direct)  # the change moved a figure
    _same(order_sums(session, PERIOD, now=NOW), direct)
    session.commit()
    if session.get_bind().dialect.name == "sqlite":
        assert all(_kept_months(session).values())  # kept again, at the new generation
