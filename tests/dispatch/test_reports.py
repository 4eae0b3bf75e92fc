"""The report rules over a hand-made week of three workers in two teams."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from dispatch.reports import (
    Group,
    OrderFacts,
    Period,
    Schedule,
    due_period,
    gone_wrong,
    km_driven,
    orders_behind,
    orders_frame,
    shift_seconds,
    summarise,
    workers_frame,
)
from dispatch.workers import Shift

WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))  # Monday .. Sunday
WEEKDAYS_9_TO_5 = Shift(weekdays=(0, 1, 2, 3, 4), start=time(9), end=time(17))
SHIFT_S = shift_seconds([WEEKDAYS_9_TO_5], WEEK)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


WEEK_ORDERS = [
    # Ana (north): on time and verified; then late, with a "late" check-in.
    OrderFacts(1, 1, "north", 10, "repair", "done", at(2, 7), at(2, 8), at(2, 10), at(2, 7, 30), at(2, 9),
               at(2, 10), False, "verified", 0),
    OrderFacts(2, 1, "north", 11, "visit", "done", at(2, 7), at(2, 10), at(2, 12), at(2, 8), at(2, 12, 30),
               at(2, 13), False, "late", 1),
    # Ben (north): fails on Monday, the next order is done on Tuesday after an earlier failure.
    OrderFacts(3, 2, "north", 12, "repair", "failed", at(2, 6), at(2, 9), at(2, 11), at(2, 7), at(2, 10),
               at(2, 10, 30), True, "verified", 0),
    OrderFacts(4, 2, "north", 12, "repair", "done", at(2, 6), at(3, 8), at(3, 12), at(2, 7), at(3, 9),
               at(3, 10), True, "verified", 0),
    # Cy (south): a cancelled order; and one nobody was given.
    OrderFacts(5, 3, "south", 13, "visit", "cancelled", at(4, 6), at(4, 8), at(4, 9)),
    OrderFacts(6, None, "", 14, "visit", "new", at(5, 6), at(5, 8), at(5, 9)),
]  # fmt: skip
WORKERS = workers_frame([(1, "Ana", "north", SHIFT_S, 42.5), (2, "Ben", "north", SHIFT_S, 10.0),
                         (3, "Cy", "south", SHIFT_S, 0.0)])  # fmt: skip


def test_team_rows_count_visits_compliance_on_time_and_first_time_fix() -> None:
    """Tests that the north team's week reads 3 visits done of 4, 3 of 4 check-ins verified, one anomaly,
    3 of 4 on site in time and half the attempted orders fixed the first time."""
    rows = {r.key: r for r in summarise(orders_frame(WEEK_ORDERS), WORKERS, Group.TEAM)}
    north = rows["north"]
    assert (north.orders, north.visits_done) == (4, 3)
    assert (north.verified_share, north.anomaly_rate, north.on_time_share) == (0.75, 0.25, 0.75)
    assert north.first_time_fix_rate == 0.5
    assert north.km == 52.5
    assert north.ratings is None
    assert rows["south"].verified_share is None  # no check-in: no compliance figure, not 0 %
    assert rows[""].label == "no team"


def test_worker_rows_give_response_handling_and_utilisation() -> None:
    """Tests that Ana's response (created → on site), handling time and utilisation over a 40-hour week
    come from her two visits."""
    rows = {r.label: r for r in summarise(orders_frame(WEEK_ORDERS), WORKERS, Group.WORKER)}
    ana = rows["Ana"]
    assert ana.assign_s == (1800 + 3600) / 2
    assert ana.response_s == (2 * 3600 + 5.5 * 3600) / 2
    assert ana.handling_s == (3600 + 1800) / 2
    assert ana.utilisation == round(5400 / (40 * 3600), 4)
    assert set(rows) == {"Ana", "Ben", "Cy"}


def test_organisation_row_counts_every_order_including_unassigned() -> None:
    """Tests that the organisation's row counts all six orders, the unassigned one too."""
    (org,) = summarise(orders_frame(WEEK_ORDERS), WORKERS, Group.ORGANISATION)
    assert (org.label, org.orders, org.visits_done, org.km) == ("organisation", 6, 3, 52.5)


def test_drill_down_lists_the_orders_behind_a_figure_and_those_that_went_wrong() -> None:
    """Tests that opening the north team's on-time and first-time-fix figures lists the late order and
    the two that failed."""
    frame = orders_frame(WEEK_ORDERS)
    assert orders_behind(frame, Group.TEAM, "north", "on_time_share", wrong_only=False) == [1, 2, 3, 4]
    assert orders_behind(frame, Group.TEAM, "north", "on_time_share", wrong_only=True) == [2]
    assert orders_behind(frame, Group.TEAM, "north", "first_time_fix_rate", wrong_only=True) == [3, 4]
    assert orders_behind(frame, Group.WORKER, "1", "visits_done", wrong_only=False) == [1, 2]
    with pytest.raises(ValueError, match="figure"):
        orders_behind(frame, Group.TEAM, "north", "happiness", wrong_only=False)


def test_gone_wrong_lists_each_bad_visit_with_its_reasons() -> None:
    """Tests that the visits-gone-wrong list names the late, unverified visit and the two failed ones."""
    wrong = gone_wrong(orders_frame(WEEK_ORDERS))
    reasons = dict(zip(wrong["order_id"], wrong["reasons"], strict=True))
    assert reasons == {
        2: "late, check-in not verified, check-in/-out anomaly",
        3: "failed",
        4: "failed",
    }


def test_shift_seconds_count_each_weekday_of_the_period() -> None:
    """Tests that a Mon-Fri 8-hour shift gives 40 hours a week and 64 hours over ten days from a Monday."""
    assert SHIFT_S == 40 * 3600
    ten_days = Period(date(2026, 3, 2), date(2026, 3, 11))
    assert shift_seconds([WEEKDAYS_9_TO_5], ten_days) == 8 * 8 * 3600


def test_shift_seconds_count_the_short_and_long_days_of_a_night_shift_across_the_clock_change() -> None:
    """Tests that a Sunday 00:00-06:00 night shift in Monaco is planned for 5 hours on 29 March 2026 (the
    clocks go forward at 02:00) and 7 on 25 October (back at 03:00), 6 on any other Sunday, as elapsed time."""
    monaco = ZoneInfo("Europe/Monaco")
    night = Shift(weekdays=(6,), start=time(0), end=time(6), zone=monaco)
    march = Period(date(2026, 3, 23), date(2026, 4, 5), monaco)  # two Sundays: 29 March and 5 April
    october = Period(date(2026, 10, 25), date(2026, 10, 25), monaco)
    assert shift_seconds([night], march) == (5 + 6) * 3600
    assert shift_seconds([night], october) == 7 * 3600


def test_period_is_bounded_and_ordered() -> None:
    """Tests that a period ending before its start, or longer than 366 days, is refused naming `to`."""
    with pytest.raises(ValueError, match="^to:"):
        Period(date(2026, 3, 2), date(2026, 3, 1))
    with pytest.raises(ValueError, match="366"):
        Period(date(2025, 1, 1), date(2026, 1, 2))


def test_due_period_is_yesterday_or_last_whole_week() -> None:
    """Tests that a daily schedule reports yesterday and a weekly one last Monday..Sunday."""
    now = datetime(2026, 3, 11, 6, 0, tzinfo=UTC)  # a Wednesday
    assert due_period(now, Schedule.DAILY) == Period(date(2026, 3, 10), date(2026, 3, 10))
    assert due_period(now, Schedule.WEEKLY) == Period(date(2026, 3, 2), date(2026, 3, 8))


def test_km_driven_sums_hops_but_not_gps_jumps_or_long_gaps() -> None:
    """Tests that three 0.01° hops north a minute apart count (~3.3 km), while a jump to another city in
    a minute and a hop after two hours parked do not."""
    import pandas as pd

    t0 = at(2, 8)
    fixes = [(1, t0, 43.70, 7.40), (1, at(2, 8, 1), 43.71, 7.40), (1, at(2, 8, 2), 43.72, 7.40),
             (1, at(2, 8, 3), 43.73, 7.40), (1, at(2, 8, 4), 48.85, 2.35), (1, at(2, 10, 4), 48.86, 2.35),
             (2, t0, 43.70, 7.40)]  # fmt: skip
    km = km_driven(pd.DataFrame(fixes, columns=["worker_id", "fix_time", "latitude", "longitude"]))
    assert km[1] == pytest.approx(3.336, abs=0.01)
    assert km.get(2, 0.0) == 0.0


def test_each_named_report_has_its_own_columns() -> None:
    """Tests that the compliance report per team has just the compliance columns, the overview carries
    the ratings column (empty: no survey answered), and visits-gone-wrong lists orders."""
    from dispatch.reports import report_table

    frame = orders_frame(WEEK_ORDERS)
    compliance = report_table("check-in-compliance", frame, WORKERS, Group.TEAM)
    assert list(compliance.columns) == ["group", "key", "label", "orders", "verified_share", "anomaly_rate"]
    assert list(compliance["key"]) == ["", "north", "south"]  # by label: "no team", "north", "south"
    overview = report_table("overview", frame, WORKERS, Group.ORGANISATION)
    assert overview["ratings"].isna().all()
    assert list(report_table("visits-gone-wrong", frame, WORKERS, Group.TEAM)["order_id"]) == [3, 2, 4]


def test_customer_ratings_average_per_group_and_the_low_ones_are_what_went_wrong() -> None:
    """Tests that north's rating is the mean of its rated orders (5 and 2: 3.5), an unrated team has none,
    and the ratings drill-down's exceptions are the orders rated 2 or lower."""
    from dataclasses import replace

    rated = [replace(o, rating={1: 5, 2: 2}.get(o.order_id)) for o in WEEK_ORDERS]
    rows = {r.key: r for r in summarise(orders_frame(rated), WORKERS, Group.TEAM)}
    assert rows["north"].ratings == 3.5
    assert rows["south"].ratings is None
    frame = orders_frame(rated)
    assert orders_behind(frame, Group.TEAM, "north", "ratings", wrong_only=False) == [1, 2]
    assert orders_behind(frame, Group.TEAM, "north", "ratings", wrong_only=True) == [2]


def test_check_ins_fold_into_a_verdict_and_an_anomaly_count_per_order() -> None:
    """Tests that an order reads verified only when every check-in was, and counts each check-in or check-out
    that was not verified as an anomaly."""
    import pandas as pd

    from dispatch.reports import attach_checkins

    orders = pd.DataFrame({"order_id": [1, 2, 3]})
    checkins = pd.DataFrame(
        [(1, "in", "verified"), (1, "out", "poor_accuracy"), (2, "in", "verified"), (2, "in", "outside_geofence")],
        columns=["order_id", "kind", "verdict"],
    )
    out = attach_checkins(orders, checkins)
    assert list(out["checkin_verdict"]) == ["verified", "outside_geofence", None]
    assert list(out["anomalies"]) == [1, 1, 0]


def test_table_records_write_times_as_isoformat_does_column_by_column() -> None:
    """Tests that the vectorised ISO text of UTC times (whole seconds, microseconds, missing) and of another zone's
    is exactly `datetime.isoformat`'s, and missing values are None, as the reports' JSON and CSV give them."""
    import random

    import pandas as pd

    from dispatch.reports import table_records

    rng = random.Random(3)
    base = pd.Timestamp("2026-03-29T00:30:00", tz="UTC")
    moments = [base + pd.Timedelta(seconds=rng.randrange(0, 86400 * 400)) for _ in range(50)]
    moments += [m + pd.Timedelta(microseconds=rng.randrange(1, 1_000_000)) for m in moments[:20]]
    frame = pd.DataFrame({"at": pd.Series(moments + [pd.NaT], dtype="datetime64[us, UTC]"),
                          "n": [1.5] * len(moments) + [float("nan")]})  # fmt: skip
    frame["paris"] = frame["at"].dt.tz_convert("Europe/Paris")
    records = table_records(frame)
    assert [r["at"] for r in records] == [m.isoformat() for m in moments] + [None]
    assert [r["paris"] for r in records[:-1]] == [m.tz_convert("Europe/Paris").isoformat() for m in moments]
    assert records[-1] == {"at": None, "n": None, "paris": None}
