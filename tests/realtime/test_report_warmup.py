"""The worker keeps reports ready: closed months' sums and past days' kilometres, only what is missing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from data import positions_repo, reports_repo
from data.db import make_engine, make_sessionmaker, session_scope
from data.tables import WorkOrderRow
from dispatch.positions import Position
from dispatch.reports import Period
from realtime.report_warmup import warm_reports
from tests.support.report_months import seed_months

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def test_warming_keeps_closed_months_and_past_kilometres_then_only_what_changed(db_url: str) -> None:
    """Tests that a round keeps January to April (and the empty months before) and the kilometres of a day
    with fixes, the next round finds nothing to do, and after a March order changes only March is summed
    again, while a year's report gives what summing every order gives."""
    sessions = make_sessionmaker(make_engine(db_url))
    with session_scope(sessions) as session:
        seed_months(session)
        drive = datetime(2026, 4, 20, 9, 0, tzinfo=UTC)
        for minute in range(30):  # 30 minutes north at ~100 m a minute
            t = drive + timedelta(minutes=minute)
            positions_repo.add_position(
                session,
                Position(worker_id=1, device_id="d1", fix_time=t, device_time=t, server_time=t,
                         latitude=43.72 + minute * 0.0009, longitude=7.42),
            )  # fmt: skip
    sqlite = db_url.startswith("sqlite")
    first = warm_reports(sessions, now=NOW, km_days_back=20)
    assert first.km_days == 19  # April 11 to 29: up to the day before yesterday
    with session_scope(sessions) as session:
        km = reports_repo.km_per_worker(session, Period(date(2026, 4, 20), date(2026, 4, 20)), now=NOW)
    assert 2.5 < km[1] < 3.5
    if not sqlite:  # PostgreSQL sums reports directly and keeps no months
        assert first.months == []
        return
    assert {"2026-01", "2026-02", "2026-03", "2026-04"} <= set(first.months)
    assert "2026-05" not in first.months  # not over yet
    assert warm_reports(sessions, now=NOW, km_days_back=20) == type(first)(months=[], km_days=0)
    with session_scope(sessions) as session:
        order = session.scalars(
            select(WorkOrderRow).where(WorkOrderRow.status == "done", WorkOrderRow.window_start >= datetime(2026, 3, 1, tzinfo=UTC),
                                       WorkOrderRow.window_start < datetime(2026, 4, 1, tzinfo=UTC))
        ).first()  # fmt: skip
        order.status = "failed"
    assert warm_reports(sessions, now=NOW, km_days_back=20).months == ["2026-03"]
    year = Period(date(2025, 5, 1), date(2026, 4, 30))
    with session_scope(sessions) as session:
        kept = reports_repo.order_sums(session, year, now=NOW)
        direct = reports_repo.order_sums(session, year)
    key = ["worker_id", "team", "type"]
    assert (
        kept.sort_values(key)
        .reset_index(drop=True)[["orders", "visits_done", "attempted"]]
        .astype(float)
        .equals(direct.sort_values(key).reset_index(drop=True)[["orders", "visits_done", "attempted"]].astype(float))
    )
