"""A working day as it stands at a moment: the demo's day in progress, decided without storage or a wall clock."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from dispatch.day_progress import (
    DayOrder,
    DayWorker,
    FieldRealism,
    RouteStop,
    RouteToWork,
    could_serve,
    customer_rating,
    day_at,
    day_track,
    worked_as_planned,
)
from dispatch.geo import LatLon, haversine_m
from dispatch.orders import OrderStatus, TimeWindow
from dispatch.road_path import RoadRoute
from dispatch.traffic import Traffic
from dispatch.workers import END_OF_DAY, Shift

DAY = date(2025, 3, 3)
HOME = LatLon(43.7300, 7.4200)
SITE_A, SITE_B, SITE_C = LatLon(43.7310, 7.4200), LatLon(43.7400, 7.4200), LatLon(43.7500, 7.4200)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(DAY, time(hour, minute), tzinfo=UTC)


def order(order_id: int, site: LatLon, start: int, end: int, skills: frozenset[str] = frozenset({"gas"})) -> DayOrder:
    return DayOrder(order_id, site, skills, TimeWindow(at(start), at(end)), 30 * 60)


WORKER = DayWorker(1, frozenset({"gas"}), Shift(tuple(range(7)), time(8), time(17)), HOME)
ORDERS = [
    order(1, SITE_A, 8, 9),
    order(2, SITE_B, 10, 12),
    order(3, SITE_C, 15, 16),
    order(4, SITE_C, 9, 10, frozenset({"it"})),
]


def test_the_morning_is_done_the_worker_is_on_site_now_and_the_afternoon_is_later() -> None:
    """Tests that at 10:10 the 08:00 order is done, the worker is on site at the 10:00 one (and placed there), the
    15:00 one waits, and the one nobody is qualified for stays new."""
    day = day_at(DAY, ORDERS, [WORKER], now=at(10, 10), rng=random.Random(0), unassigned_later=0.0)
    status = {p.order_id: (p.status, p.worker_id) for p in day.orders}
    assert status == {1: (OrderStatus.DONE, 1), 2: (OrderStatus.ON_SITE, 1), 4: (OrderStatus.NEW, None),
                      3: (OrderStatus.NEW, None)}  # fmt: skip
    done = next(p for p in day.orders if p.order_id == 1)
    assert [s.status for s in done.steps] == [OrderStatus.ASSIGNED, OrderStatus.ACCEPTED, OrderStatus.EN_ROUTE,
                                              OrderStatus.ON_SITE, OrderStatus.DONE]  # fmt: skip
    assert done.steps[0].at == at(7, 40)  # handed out 20 minutes before the shift
    assert at(8) <= done.steps[3].at <= at(9) and done.steps[4].at == done.steps[3].at + timedelta(minutes=30)
    assert day.places[1] == SITE_B


def test_on_the_way_the_worker_is_between_the_last_site_and_the_next() -> None:
    """Tests that a worker who set off and has not arrived is en route, placed part way along the trip."""
    late = [order(1, SITE_A, 8, 9), order(2, SITE_C, 9, 12)]
    arrive = next(s.at for s in day_at(DAY, late, [WORKER], now=at(12), rng=random.Random(0)).orders[1].steps
                  if s.status is OrderStatus.ON_SITE)  # fmt: skip
    day = day_at(DAY, late, [WORKER], now=arrive - timedelta(seconds=30), rng=random.Random(0))
    assert day.orders[1].status is OrderStatus.EN_ROUTE
    assert SITE_A.lat < day.places[1].lat < SITE_C.lat


def test_nothing_has_happened_before_the_dispatcher_plans_the_day() -> None:
    """Tests that at 07:00, before anyone is assigned, every order is new and the worker is at home."""
    day = day_at(DAY, ORDERS, [WORKER], now=at(7), rng=random.Random(0))
    assert {p.status for p in day.orders} == {OrderStatus.NEW} and day.places == {1: HOME}


def test_orders_past_midnight_go_to_the_next_days_night_shift_and_a_window_at_a_change_of_shift_to_whoever_can_serve_it() -> (
    None
):
    """Tests that at 22:00, with `assign_ahead`, an order at 01:00 the next day goes to the night shift (00:00-08:00) of
    the next day, not left new, and one at 23:00 to the afternoon shift (16:00-24:00) on shift now;
    `could_serve` says a one-hour window 07:00-08:00 with 90 minutes' service fits neither night nor morning shift."""
    H = timedelta(hours=1)
    night = DayWorker(1, frozenset({"gas"}), Shift(tuple(range(7)), time(0), time(8)), HOME)
    afternoon = DayWorker(2, frozenset({"gas"}), Shift(tuple(range(7)), time(16), END_OF_DAY), HOME)
    next_day = at(0) + timedelta(days=1)
    late = DayOrder(1, SITE_A, frozenset({"gas"}), TimeWindow(at(23), next_day), 30 * 60)
    after_midnight = DayOrder(2, SITE_B, frozenset({"gas"}), TimeWindow(next_day + H, next_day + 2 * H), 30 * 60)
    day = day_at(DAY, [late, after_midnight], [night, afternoon], now=at(22), rng=random.Random(0), assign_ahead=True)
    assert {p.order_id: p.worker_id for p in day.orders} == {1: 2, 2: 1}
    assert day.orders[1].status is OrderStatus.ASSIGNED  # handed out at 22:00, for the night shift starting at 00:00
    change = TimeWindow(at(7), at(8))
    quarter = timedelta(minutes=15)
    assert not could_serve(night.shift, change, 90 * 60, travel=quarter)
    assert not could_serve(Shift(tuple(range(7)), time(8), time(16)), change, 90 * 60, travel=quarter)
    assert could_serve(night.shift, change, 45 * 60, travel=quarter)


def straight(a: LatLon, b: LatLon) -> RoadRoute:
    metres = haversine_m(a, b)
    return RoadRoute(points=(a, b), duration_s=metres / 10.0, distance_m=metres, on_roads=False)


def test_a_worked_day_leaves_the_phones_track_home_drive_site_drive_home() -> None:
    """Tests that the phone's fixes of the worked day start at home at the shift's start, drive to each site (moving,
    closer at every fix) arriving when the trip says, stand at the site until the next drive, go home after the last
    visit, and stop at the shift's end: every fix within the shift, in time order."""
    day = day_at(DAY, ORDERS[:3], [WORKER], now=at(23), rng=random.Random(0), unassigned_later=0.0)
    trips = [t for t in day.trips if t.worker_id == 1]
    assert [t.site for t in trips] == [SITE_A, SITE_B, SITE_C]
    fixes = day_track(WORKER, trips, (at(8), at(17)), straight, rng=random.Random(1))
    times = [f.at for f in fixes]
    assert times == sorted(times) and times[0] == at(8) and times[-1] < at(17)
    assert haversine_m(fixes[0].point, HOME) < 10 and haversine_m(fixes[-1].point, HOME) < 10
    to_b = [f for f in fixes if trips[1].depart <= f.at < trips[1].arrive]
    assert to_b and all(f.speed_mps > 0 for f in to_b)
    gaps = [haversine_m(f.point, SITE_B) for f in to_b]
    assert gaps == sorted(gaps, reverse=True)
    at_b = [f for f in fixes if trips[1].arrive <= f.at < trips[2].depart]
    assert at_b and all(f.speed_mps == 0 and haversine_m(f.point, SITE_B) < 10 for f in at_b)
    cut = day_track(WORKER, trips, (at(8), trips[1].depart), straight, rng=random.Random(1))
    assert cut and max(f.at for f in cut) < trips[1].depart  # a day worked up to now stops there


def stop(order_id: int, site: LatLon, window: tuple[int, int], arrive: datetime, drive_min: int = 10) -> RouteStop:
    return RouteStop(order_id, site, TimeWindow(at(window[0]), at(window[1])), timedelta(minutes=drive_min),
                     timedelta(minutes=30), arrive)  # fmt: skip


PLANNED = RouteToWork(
    1, HOME, at(8), at(17),
    (stop(1, SITE_A, (8, 9), at(8, 10)), stop(2, SITE_B, (10, 12), at(10)), stop(3, SITE_C, (15, 16), at(15))),
    break_after=2, break_at=at(12, 30),
)  # fmt: skip
EXACT = FieldRealism(drive_bias=0.0, drive_spread=0.0, service_spread=0.0, late_start_share=0.0, fail_share=0.0)


def test_a_day_worked_exactly_as_planned_keeps_the_plans_times_order_and_break() -> None:
    """Tests that with no straying each visit is assigned at publishing, accepted 5 minutes later, left for when the
    plan has the worker set off (not before), reached at the planned arrival and done after its service; the
    break after the second visit keeps the third where the plan has it."""
    day = worked_as_planned([PLANNED], assigned_at=at(6), rng=random.Random(0), realism=EXACT)
    steps = {p.order_id: [(s.status, s.at) for s in p.steps] for p in day.orders}
    S = OrderStatus
    assert steps[2] == [(S.ASSIGNED, at(6)), (S.ACCEPTED, at(6, 5)), (S.EN_ROUTE, at(9, 50)), (S.ON_SITE, at(10)),
                        (S.DONE, at(10, 30))]  # fmt: skip
    assert [(t.depart, t.arrive, t.done) for t in day.trips] == [
        (at(8), at(8, 10), at(8, 40)), (at(9, 50), at(10), at(10, 30)), (at(14, 50), at(15), at(15, 30)),
    ]  # fmt: skip
    assert [t.origin for t in day.trips] == [HOME, SITE_A, SITE_B] and day.places[1] == SITE_C


def test_in_the_towns_rush_hour_a_drive_takes_longer_than_the_plan_said() -> None:
    """Tests that with traffic 1.5 times slower from 9:00 to 9:59 (the plan's times are free flow), the drive set off
    at 9:50 takes 15 minutes, not 10, so the visit begins at 10:05, while the drives of 8:00 and 14:50 keep theirs."""
    rush = Traffic(tuple(1.5 if h == 9 else 1.0 for h in range(24)), zone=UTC)
    day = worked_as_planned([PLANNED], assigned_at=at(6), rng=random.Random(0), realism=replace(EXACT, traffic=rush))
    assert [(t.depart, t.arrive) for t in day.trips] == [
        (at(8), at(8, 10)), (at(9, 50), at(10, 5)), (at(14, 50), at(15)),
    ]  # fmt: skip


def test_a_break_taken_when_free_delays_a_visit_planned_right_after_it() -> None:
    """Tests that a worker free at 11:00 takes the break planned for 12:30 no earlier than 12:15, and so leaves for a
    visit planned at 12:40 only after the break (12:45)."""
    route = RouteToWork(1, HOME, at(8), at(17), (stop(1, SITE_A, (8, 9), at(8, 10)),
                        stop(2, SITE_B, (12, 14), at(12, 40))), break_after=1, break_at=at(12, 30))  # fmt: skip
    day = worked_as_planned([route], assigned_at=at(6), rng=random.Random(0), realism=EXACT)
    assert day.trips[1].depart == at(12, 45) and day.trips[1].arrive == at(12, 55)


def test_the_field_strays_from_the_plan_late_visits_failures_and_overtime_left_undone() -> None:
    """Tests that on a realistic day (seeded) drives and services differ from the plan, so a share of the visits
    begin after their planned time, a few are given up on site with a reason (FAILED, never DONE), and visits that
    could not be reached before the shift's end plus the overtime stay assigned and undone; the same seed gives the
    same day."""
    sites = [LatLon(43.73 + 0.002 * i, 7.42) for i in range(12)]
    routes = [
        RouteToWork(
            w,
            HOME,
            at(8),
            at(12),
            tuple(stop(100 * w + i, sites[i], (8, 12), at(8) + timedelta(minutes=15 + 45 * i), 15) for i in range(9)),
        )  # fmt: skip
        for w in range(1, 21)
    ]
    realism = FieldRealism(fail_share=0.05)
    day = worked_as_planned(routes, assigned_at=at(6), rng=random.Random(3), realism=realism)
    assert day == worked_as_planned(routes, assigned_at=at(6), rng=random.Random(3), realism=realism)
    planned = {s.order_id: s.arrive for r in routes for s in r.stops}
    arrived = {p.order_id: s.at for p in day.orders for s in p.steps if s.status is OrderStatus.ON_SITE}
    late = [o for o, a in arrived.items() if a > planned[o] + timedelta(minutes=5)]
    assert 0.1 * len(arrived) < len(late) < len(arrived)
    failed = [p for p in day.orders if p.status is OrderStatus.FAILED]
    assert failed and all(p.steps[-1].reason in realism.fail_reasons for p in failed)
    assert all(OrderStatus.DONE not in {s.status for s in p.steps} for p in failed)
    undone = [p for p in day.orders if p.status is OrderStatus.ACCEPTED]
    assert undone, "9 visits of 15 + 30 minutes from 08:00 do not all fit before 12:30"
    for p in undone:  # never set off, and nobody reached it after the overtime
        assert p.order_id not in arrived
    assert max(arrived.values()) <= at(12, 30)
    assert len(day.orders) == 9 * 20


def test_a_worker_there_before_the_window_opens_checks_in_when_it_opens() -> None:
    """Tests that a worker who arrives at 08:10 for a window opening at 09:00 is on site (checked in) at 09:00 and
    done half an hour later, while their trip says when they got there."""
    route = RouteToWork(1, HOME, at(8), at(17), (stop(1, SITE_A, (9, 10), at(8, 10)),))
    day = worked_as_planned([route], assigned_at=at(6), rng=random.Random(0), realism=EXACT)
    steps = {s.status: s.at for s in day.orders[0].steps}
    assert steps[OrderStatus.ON_SITE] == at(9) and steps[OrderStatus.DONE] == at(9, 30)
    assert day.trips[0].arrive == at(8, 10)


def test_customers_rate_a_share_of_the_visits_and_late_ones_lower() -> None:
    """Tests that about a third of the customers answer, and that visits begun after their window closed are rated
    lower on average than those on time."""
    rng = random.Random(5)
    on_time = [customer_rating(0, rng) for _ in range(2000)]
    late = [customer_rating(1800, rng) for _ in range(2000)]
    answered = [r for r in on_time if r is not None]
    assert 0.25 < len(answered) / len(on_time) < 0.45 and set(answered) <= {1, 2, 3, 4, 5}
    rated_late = [r for r in late if r is not None]
    assert sum(rated_late) / len(rated_late) + 0.7 < sum(answered) / len(answered)
