"""The report sums computed in SQL agree with the rules applied in pandas, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from data.reports_repo import order_facts, order_sums
from data.tables import SiteRow, WorkerRow, WorkOrderRow
from dispatch.reports import SUM_FIELDS, SUM_KEYS, Group, Period, summarise, summarise_sums, workers_frame
from dispatch.reports import order_sums as pandas_sums
from tests.support.report_orders import TYPES, Drawn, seed_orders

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))
STATUSES = ("new", "assigned", "on_site", "done", "done", "done", "failed", "cancelled")


def _draw(rng: random.Random, i: int) -> Drawn:
    """Created anywhere in the week, the window an hour later (the 120th: the day before the week, outside it);
    unassigned when new and a tenth of the others; on site 5-180 min after being assigned."""
    created = T0 + timedelta(minutes=rng.randrange(0, 6 * 24 * 60))
    start = created + timedelta(hours=1) if i != 120 else T0 - timedelta(days=1)  # the last: outside
    status = rng.choice(STATUSES)
    worker = None if status == "new" or rng.random() < 0.1 else rng.choice((1, 2, 3))
    assigned = created + timedelta(seconds=rng.randrange(10, 3000)) if worker else None
    on_site = assigned + timedelta(minutes=rng.randrange(5, 180)) if assigned and status != "assigned" else None
    return Drawn(start, created, status, worker, assigned, on_site)


def _seed(session: Session, *, seed: int) -> None:
    """Orders of every shape: unassigned, unfinished, failed once, with and without check-ins and ratings,
    one just outside the period."""
    seed_orders(session, seed=seed, orders=120, draw=_draw)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.assign(worker_id=frame["worker_id"].astype("Int64").fillna(-1).astype(int))
    out = out.astype({f: float for f in SUM_FIELDS})
    return out.sort_values(list(SUM_KEYS)).reset_index(drop=True)


def test_sql_sums_equal_the_rules_applied_to_each_order(session: Session) -> None:
    """Tests that the counts and sums SQL computes per (worker, team, type) are those of the pandas rules,
    and so every report row (per worker, team, type and organisation) is the same either way."""
    _seed(session, seed=7)
    facts = order_facts(session, WEEK)
    assert len(facts) == 119  # the order outside the period is not read
    sql, rules = _sorted(order_sums(session, WEEK)), _sorted(pandas_sums(facts))
    assert sql[list(SUM_KEYS)].equals(rules[list(SUM_KEYS)])
    pd.testing.assert_frame_equal(sql, rules, check_exact=False, atol=1e-3, rtol=0)
    assert rules["checked_in"].sum() > 0 and rules["anomalous"].sum() > 0 and rules["rating_n"].sum() > 0

    staff = workers_frame([(1, "W1", "North", 8 * 3600.0, 12.0), (2, "W2", "North", 8 * 3600.0, 3.0),
                           (3, "W3", "South", 4 * 3600.0, 0.0)])  # fmt: skip
    for group in Group:
        assert summarise_sums(order_sums(session, WEEK), staff, group) == summarise(facts, staff, group), group


def test_sums_of_one_team_worker_or_type(session: Session) -> None:
    """Tests that narrowing the sums to a team, a worker or an order type keeps exactly their orders."""
    _seed(session, seed=3)
    everything = order_sums(session, WEEK)
    for kw, column, value in (({"team": "South"}, "team", "South"), ({"worker_id": 2}, "worker_id", 2),
                              ({"order_type": "visit"}, "type", "visit")):  # fmt: skip
        narrowed = order_sums(session, WEEK, **kw)
        expected = everything[everything[column] == value]
        assert int(narrowed["orders"].sum()) == int(expected["orders"].sum()) > 0, kw


@pytest.mark.parametrize("group", list(Group))
def test_type_rows_carry_ratings_but_no_kilometres(session: Session, group: Group) -> None:
    """Tests that per order type the rows count orders and ratings, and leave kilometres and utilisation
    empty (they belong to people); other groupings keep them."""
    _seed(session, seed=11)
    staff = workers_frame([(1, "W1", "North", 8 * 3600.0, 12.0)])
    rows = summarise_sums(order_sums(session, WEEK), staff, group)
    if group is Group.TYPE:
        assert {r.key for r in rows} == set(TYPES)
        assert all(r.km is None and r.utilisation is None for r in rows)
        assert any(r.ratings is not None for r in rows)
    else:
        assert all(r.km is not None for r in rows)


def test_visits_gone_wrong_picked_in_sql_are_those_the_rules_pick(session: Session) -> None:
    """Tests that the visits-gone-wrong list read by SQL (only the orders that went wrong) has the same rows,
    reasons and times as the rules applied to every order, for everyone and for one team."""
    from data.reports_repo import visits_gone_wrong
    from dispatch.reports import gone_wrong

    _seed(session, seed=5)
    facts = order_facts(session, WEEK)
    expected = gone_wrong(facts)
    assert 10 < len(expected) < len(facts)
    assert expected["reasons"].str.contains(", ").any()  # some went wrong for more than one reason
    pd.testing.assert_frame_equal(visits_gone_wrong(session, WEEK), expected)
    north = gone_wrong(facts[facts["team"] == "North"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(visits_gone_wrong(session, WEEK, team="North"), north)


def test_a_reports_days_are_the_offices_local_days(session: Session) -> None:
    """Tests that an order whose window starts at 00:30 in Monaco on 2 March (23:30 UTC on 1 March) counts on
    2 March for a Monaco office, in the sums, the visits gone wrong and the history, and on 1 March in UTC."""
    from zoneinfo import ZoneInfo

    from data.reports_repo import HistoryFilter, search_history, visits_gone_wrong

    session.add(SiteRow(id=1, name="Port", address="", latitude=43.73, longitude=7.42, geofence_radius_m=50))
    session.add(WorkerRow(id=1, name="W1", device_id="d1", team="North"))
    session.flush()
    start = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    session.add(
        WorkOrderRow(id=1, site_id=1, type="repair", priority=3, window_start=start, window_end=start + timedelta(hours=1),
                     service_duration_s=1800, status="failed", assigned_worker_id=1, created_at=start - timedelta(hours=5),
                     failed_once=True)
    )  # fmt: skip
    session.commit()
    monaco = ZoneInfo("Europe/Monaco")
    first, second = date(2026, 3, 1), date(2026, 3, 2)
    for day, zone, counted in ((second, monaco, 1), (first, monaco, 0), (first, UTC, 1), (second, UTC, 0)):
        period = Period(day, day, zone)
        assert order_sums(session, period)["orders"].sum() == counted, (day, zone)
        assert len(visits_gone_wrong(session, period)) == counted, (day, zone)
        assert search_history(session, HistoryFilter(period), page=1, per_page=10).total == counted, (day, zone)
