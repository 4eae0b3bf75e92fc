"""Report sums kept per month (migration 0018): the same answers as summing every order, also after changes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pandas as pd
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from data.reports_repo import order_sums
from data.tables import (
    CheckinRow,
    ReportMonthRow,
    ReportMonthSumsRow,
    SurveyAnswerRow,
    WorkerRow,
    WorkOrderRow,
)
from dispatch.reports import SUM_FIELDS, SUM_KEYS, Period
from tests.support.report_months import seed_months

PERIOD = Period(date(2026, 1, 5), date(2026, 4, 10))  # whole months: February and March
NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


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
    seed_months(session)
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
    seed_months(session)
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
    seed_months(session)
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
