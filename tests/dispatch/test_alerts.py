"""Tests of the alert rules and the auto-arrival decision (dispatch/alerts.py)."""

from __future__ import annotations

from datetime import timedelta
from types import MappingProxyType

import pytest

from dispatch.alerts import (
    AlertKind,
    AlertSettings,
    Clear,
    NextVisit,
    Raise,
    WorkerWatch,
    auto_arrival,
    break_begun,
    break_taken,
    distance_to_route_m,
    fix_alerts,
    left_site,
    long_stop_s,
    may_be_on_break,
    open_key,
    open_key_workers,
    out_on_route,
    periodic_alerts,
)
from dispatch.geo import LatLon, haversine_m
from dispatch.geofences import FenceEventType, GeofenceEvent
from dispatch.lifecycle import Refused, Transitioned
from dispatch.orders import OrderStatus, OrderType, TimeWindow, WorkOrder
from tests.factories import at, make_position

SETTINGS = AlertSettings()
T0 = at("2025-03-03T08:00:00Z")


def _raised(decisions: list[Raise | Clear]) -> dict[AlertKind, Raise]:
    return {d.kind: d for d in decisions if isinstance(d, Raise)}


def _cleared(decisions: list[Raise | Clear]) -> set[AlertKind]:
    return {d.kind for d in decisions if isinstance(d, Clear)}


def _order(
    order_id: int = 7, *, status: OrderStatus = OrderStatus.EN_ROUTE, site_id: int = 3, **kw: object
) -> WorkOrder:
    values: dict[str, object] = {
        "id": order_id,
        "site_id": site_id,
        "type": OrderType.REPAIR,
        "priority": 3,
        "required_skills": frozenset(),
        "window": TimeWindow(T0, T0 + timedelta(hours=2)),
        "service_duration_s": 1800,
        "status": status,
        "assigned_worker_id": 1,
    }
    values.update(kw)
    return WorkOrder(**values)  # type: ignore[arg-type]


def _event(kind: FenceEventType, site_id: int = 3) -> GeofenceEvent:
    return GeofenceEvent(kind, 1, site_id, T0, T0 + timedelta(seconds=60))


def test_a_phone_sos_alarm_raises_an_sos_alert_at_the_fix_time():
    """Tests that a fix carrying alarm=sos raises an SOS alert stamped with the fix time, not the receive time."""
    fix = make_position(
        "2025-03-03T08:00:05Z", server_time="2025-03-03T08:03:00Z", attributes=MappingProxyType({"alarm": "sos"})
    )
    raised = _raised(fix_alerts(None, fix, SETTINGS))
    assert raised[AlertKind.SOS].at == T0 + timedelta(seconds=5)
    assert raised[AlertKind.SOS].reason == "the phone sent an SOS alarm"
    assert AlertKind.SOS not in _raised(fix_alerts(None, make_position(), SETTINGS))


def test_a_mock_location_raises_its_alert():
    """Tests that a fix Traccar Client marks mock=true raises a mock_location alert; a real one does not."""
    assert AlertKind.MOCK_LOCATION in _raised(fix_alerts(None, make_position(mock=True), SETTINGS))
    assert AlertKind.MOCK_LOCATION not in _raised(fix_alerts(None, make_position(), SETTINGS))


def test_a_jump_no_vehicle_could_make_is_raised_with_the_speed():
    """Tests that 11 km in 20 s raises impossible_jump naming distance, time and speed; a drive does not."""
    before = make_position("2025-03-03T08:00:00Z", lat=43.7394, lon=7.4276)
    teleported = make_position("2025-03-03T08:00:20Z", lat=43.8394, lon=7.4276)
    raised = _raised(fix_alerts(before, teleported, SETTINGS))
    assert raised[AlertKind.IMPOSSIBLE_JUMP].reason == ("moved 11.1 km in 20 s (2002 km/h; limit 252 km/h)")
    driven = make_position("2025-03-03T08:10:00Z", lat=43.8394, lon=7.4276)  # 11 km in 10 min
    assert AlertKind.IMPOSSIBLE_JUMP not in _raised(fix_alerts(before, driven, SETTINGS))


def test_low_battery_is_raised_below_the_threshold_and_cleared_when_charging_or_charged():
    """Tests that 10 % raises low_battery, 20 % neither raises nor clears (hysteresis), charging and 30 % clear it."""
    assert (
        "battery at 10 %"
        in _raised(fix_alerts(None, make_position(battery_pct=10.0), SETTINGS))[AlertKind.LOW_BATTERY].reason
    )
    between = fix_alerts(None, make_position(battery_pct=20.0), SETTINGS)
    assert AlertKind.LOW_BATTERY not in _raised(between) and AlertKind.LOW_BATTERY not in _cleared(between)
    assert AlertKind.LOW_BATTERY in _cleared(fix_alerts(None, make_position(battery_pct=10.0, charging=True), SETTINGS))
    assert AlertKind.LOW_BATTERY in _cleared(fix_alerts(None, make_position(battery_pct=30.0), SETTINGS))


def test_offline_is_raised_after_the_silence_on_shift_and_cleared_by_a_fix_or_the_shift_end():
    """Tests that 11 min without a fix on shift raises offline, 9 min does not, off shift and a new fix clear it."""
    last = make_position("2025-03-03T08:00:00Z")
    watch = WorkerWatch(worker_id=1, on_shift=True, last_fix=last)
    late = periodic_alerts(T0 + timedelta(minutes=11), [watch], SETTINGS)
    assert _raised(late)[AlertKind.OFFLINE].reason == "no fix for 11 min on shift (alert after 10 min)"
    assert AlertKind.OFFLINE not in _raised(periodic_alerts(T0 + timedelta(minutes=9), [watch], SETTINGS))
    off = WorkerWatch(worker_id=1, on_shift=False, last_fix=last)
    assert AlertKind.OFFLINE in _cleared(periodic_alerts(T0 + timedelta(hours=3), [off], SETTINGS))
    assert AlertKind.OFFLINE in _cleared(fix_alerts(last, make_position("2025-03-03T08:12:00Z"), SETTINGS))


def test_only_the_silence_on_shift_counts_toward_offline():
    """Tests that a phone last heard of at 17:00 yesterday is not offline 5 min into today's 08:00 shift (before,
    every worker raised "no fix for 905 min" as their shift began), and is at 11 min, counted from the shift's start."""
    yesterday = make_position("2025-03-02T17:00:00Z")
    morning = WorkerWatch(worker_id=1, on_shift=True, last_fix=yesterday, shift_start=T0)
    assert AlertKind.OFFLINE not in _raised(periodic_alerts(T0 + timedelta(minutes=5), [morning], SETTINGS))
    late = _raised(periodic_alerts(T0 + timedelta(minutes=11), [morning], SETTINGS))[AlertKind.OFFLINE]
    assert late.reason == "no fix for 11 min on shift (alert after 10 min)"


def test_late_risk_is_raised_when_the_eta_passes_the_window_and_cleared_when_reachable():
    """Tests that 30 min away with 20 min of window left raises late_risk for that order; 10 min away clears it."""
    now = T0 + timedelta(minutes=100)  # the window ends at 10:00; it is 09:40
    far = WorkerWatch(
        1, True, make_position("2025-03-03T09:39:00Z"), next_visit=NextVisit(7, T0 + timedelta(hours=2), 1800)
    )
    raised = _raised(periodic_alerts(now, [far], SETTINGS))[AlertKind.LATE_RISK]
    assert (raised.order_id, raised.reason) == (7, "arrives about 10 min after the window ends (30 min away)")
    near = WorkerWatch(
        1, True, make_position("2025-03-03T09:39:00Z"), next_visit=NextVisit(7, T0 + timedelta(hours=2), 600)
    )
    assert AlertKind.LATE_RISK in _cleared(periodic_alerts(now, [near], SETTINGS))


ROUTE = (LatLon(43.7300, 7.4200), LatLon(43.7300, 7.4300))


def _fixes(lat: float, lon: float, minutes: int) -> tuple:
    return tuple(make_position(f"2025-03-03T08:{m:02d}:00Z", lat=lat, lon=lon) for m in range(minutes + 1))


def test_off_route_is_raised_after_the_minutes_away_from_the_plan_and_cleared_back_on_it():
    """Tests that 6 min 1.1 km off the planned route raises off_route, 3 min does not, a fix on the route clears it."""
    away = _fixes(43.7400, 7.4250, 6)
    watch = WorkerWatch(1, True, away[-1], recent=away, route=ROUTE, on_route=True)
    assert (
        "1.1 km from the planned route"
        in _raised(periodic_alerts(T0 + timedelta(minutes=6), [watch], SETTINGS))[AlertKind.OFF_ROUTE].reason
    )
    short = WorkerWatch(1, True, away[3], recent=away[:4], route=ROUTE, on_route=True)
    assert AlertKind.OFF_ROUTE not in _raised(periodic_alerts(T0 + timedelta(minutes=3), [short], SETTINGS))
    back = make_position("2025-03-03T08:07:00Z", lat=43.7301, lon=7.4250)
    home = WorkerWatch(1, True, back, recent=(*away, back), route=ROUTE, on_route=True)
    assert AlertKind.OFF_ROUTE in _cleared(periodic_alerts(T0 + timedelta(minutes=7), [home], SETTINGS))


def test_a_worker_not_out_on_the_route_is_not_off_it():
    """Tests that the same 6 minutes 1.1 km away raise nothing for a worker who has not set off for any visit of the
    route yet, or has finished them all (they may be anywhere, or on their way home), and clear an open off_route;
    21 minutes still there raise no long_stop either (out on the route they do);
    the route counts as begun once a visit is en route, on site, done or failed, until all are done, failed or
    cancelled."""
    away = _fixes(43.7400, 7.4250, 6)
    idle = WorkerWatch(1, True, away[-1], recent=away, route=ROUTE, on_route=False)
    decisions = periodic_alerts(T0 + timedelta(minutes=6), [idle], SETTINGS)
    assert AlertKind.OFF_ROUTE not in _raised(decisions) and AlertKind.OFF_ROUTE in _cleared(decisions)
    # Nor a long stop: waiting at home for a first visit later on is no exception (without a route: all shift long).
    still = _fixes(43.7400, 7.4250, 21)
    at_home = WorkerWatch(1, True, still[-1], recent=still, route=ROUTE, on_route=False)
    decisions = periodic_alerts(T0 + timedelta(minutes=21), [at_home], SETTINGS)
    assert AlertKind.LONG_STOP not in _raised(decisions) and AlertKind.LONG_STOP in _cleared(decisions)
    out = WorkerWatch(1, True, still[-1], recent=still, route=ROUTE, on_route=True)
    assert AlertKind.LONG_STOP in _raised(periodic_alerts(T0 + timedelta(minutes=21), [out], SETTINGS))
    S = OrderStatus
    assert not out_on_route([S.ASSIGNED, S.ACCEPTED])  # before setting off
    assert out_on_route([S.EN_ROUTE, S.ASSIGNED]) and out_on_route([S.DONE, S.ACCEPTED])  # out, between visits too
    assert not out_on_route([S.DONE, S.FAILED, S.CANCELLED])  # through with it
    assert not out_on_route([])


def test_distance_to_the_route_is_measured_to_the_nearest_leg():
    """Tests that a point 0.01° north of the middle of an east-west leg is about 1.1 km from the route."""
    assert distance_to_route_m(LatLon(43.7400, 7.4250), ROUTE) == pytest.approx(1112, abs=2)


def test_long_stop_is_raised_away_from_sites_only_and_cleared_when_moving():
    """Tests that 21 min still away from any site raises long_stop, the same stop at a site does not, moving clears it."""
    still = _fixes(43.7400, 7.4250, 21)
    now = T0 + timedelta(minutes=21)
    watch = WorkerWatch(1, True, still[-1], recent=still)
    assert _raised(periodic_alerts(now, [watch], SETTINGS))[AlertKind.LONG_STOP].reason == (
        "stopped away from any site or home for over 20 min"
    )
    at_site = WorkerWatch(1, True, still[-1], recent=still, at_site=True)
    assert AlertKind.LONG_STOP not in _raised(periodic_alerts(now, [at_site], SETTINGS))
    moved = make_position("2025-03-03T08:22:00Z", lat=43.7450, lon=7.4250)
    going = WorkerWatch(1, True, moved, recent=(*still, moved))
    assert AlertKind.LONG_STOP in _cleared(periodic_alerts(now + timedelta(minutes=1), [going], SETTINGS))


def test_a_stop_at_home_is_no_long_stop():
    """Tests that 21 min still within 150 m of their home base raise no long_stop for a worker (at base before the
    first visit, or back after the last) and clear an open one, while 21 min still 200 m from it raise it."""
    still = _fixes(43.7400, 7.4250, 21)
    now = T0 + timedelta(minutes=21)
    near = WorkerWatch(1, True, still[-1], recent=still, home=LatLon(43.7410, 7.4250))  # 111 m north
    decisions = periodic_alerts(now, [near], SETTINGS)
    assert AlertKind.LONG_STOP not in _raised(decisions)
    assert [d.reason for d in decisions if d.kind is AlertKind.LONG_STOP] == ["at their home base"]
    away = WorkerWatch(1, True, still[-1], recent=still, home=LatLon(43.7418, 7.4250))  # 200 m north
    assert AlertKind.LONG_STOP in _raised(periodic_alerts(now, [away], SETTINGS))


def test_a_stop_in_the_break_window_is_a_break_until_it_outlasts_it():
    """Tests that in their break window a worker still away from sites for 21 min raises no long_stop (nor clears an
    open one), that 51 min raise it naming the break allowed, and that outside the window 21 min still raise it."""
    lunch = (T0, T0 + timedelta(hours=4))  # a 07:00-19:00 shift's break may start from 11:00 to 15:00
    still = _fixes(43.7400, 7.4250, 21)
    resting = WorkerWatch(1, True, still[-1], recent=still, break_window=lunch)
    decisions = periodic_alerts(T0 + timedelta(minutes=21), [resting], SETTINGS)
    assert AlertKind.LONG_STOP not in _raised(decisions) | {d.kind: d for d in decisions if isinstance(d, Clear)}
    longer = _fixes(43.7400, 7.4250, 51)
    overdue = WorkerWatch(1, True, longer[-1], recent=longer, break_window=lunch)
    assert _raised(periodic_alerts(T0 + timedelta(minutes=51), [overdue], SETTINGS))[AlertKind.LONG_STOP].reason == (
        "stopped away from any site or home for over 50 min (in the break window: 30 min of break allowed)"
    )
    later = WorkerWatch(
        1, True, still[-1], recent=still, break_window=(T0 + timedelta(hours=1), T0 + timedelta(hours=5))
    )
    assert AlertKind.LONG_STOP in _raised(periodic_alerts(T0 + timedelta(minutes=21), [later], SETTINGS))
    # Moving still clears it in the window.
    moved = make_position("2025-03-03T08:22:00Z", lat=43.7450, lon=7.4250)
    going = WorkerWatch(1, True, moved, recent=(*still, moved), break_window=lunch)
    assert AlertKind.LONG_STOP in _cleared(periodic_alerts(T0 + timedelta(minutes=22), [going], SETTINGS))


def _still(start_min: int, minutes: int, lat: float, lon: float = 7.4250) -> tuple:
    """A fix a minute, `minutes` long from `start_min` minutes after T0, standing at one place."""
    return tuple(_fix(start_min + m, lat, lon) for m in range(minutes + 1))


def _fix(minute: int, lat: float, lon: float = 7.4250):
    return make_position((T0 + timedelta(minutes=minute)).isoformat(), lat=lat, lon=lon)


def test_a_break_already_taken_in_the_window_leaves_the_next_stop_no_allowance():
    """Tests that a worker who stood still away from sites for 25 minutes in their break window (their break) and
    then drove on, raises long_stop after 21 minutes still again in the window, as at any other hour, where one who
    had no break yet is allowed the break; the stop that is the break itself keeps its allowance."""
    lunch = (T0, T0 + timedelta(hours=4))
    rest = _still(0, 25, 43.7400)
    drive = tuple(_fix(26 + m, 43.7410 + 0.002 * m) for m in range(4))
    again = _still(40, 21, 43.7500)
    now = T0 + timedelta(minutes=61)
    rested_until = break_taken((*rest, *drive, *again), SETTINGS, on_site=lambda _p: False)
    assert rested_until == T0 + timedelta(minutes=25)
    watch = WorkerWatch(1, True, again[-1], recent=again, break_window=lunch)
    assert may_be_on_break(now, watch, SETTINGS)
    assert AlertKind.LONG_STOP not in _raised(periodic_alerts(now, [watch], SETTINGS))
    rested = WorkerWatch(1, True, again[-1], recent=again, break_window=lunch, rested_until=rested_until)
    assert _raised(periodic_alerts(now, [rested], SETTINGS))[AlertKind.LONG_STOP].reason == (
        "stopped away from any site or home for over 20 min"
    )
    # The break itself: 25 minutes still and going on, nothing before it: no break taken before it.
    assert break_taken(rest, SETTINGS, on_site=lambda _p: False) is None


def test_only_a_long_enough_stop_away_from_sites_counts_as_the_break():
    """Tests that 25 minutes at a site (a visit) or 15 minutes in the street (shorter than a long stop) before the
    current stop are no break taken, and that the break is looked up only for a worker still away from sites and home
    for 20 minutes in the window."""
    lunch = (T0, T0 + timedelta(hours=4))
    visit, short = _still(0, 25, 43.7400), _still(0, 15, 43.7400)
    then = _still(40, 21, 43.7500)
    site = visit[0].point
    assert break_taken((*visit, *then), SETTINGS, on_site=lambda p: haversine_m(p, site) < 50) is None
    assert break_taken((*short, *then), SETTINGS, on_site=lambda _p: False) is None
    now = T0 + timedelta(minutes=61)
    assert not may_be_on_break(now, WorkerWatch(1, True, then[-1], recent=then[5:], break_window=lunch), SETTINGS)
    assert not may_be_on_break(now, WorkerWatch(1, True, then[-1], recent=then, at_site=True, break_window=lunch),
                               SETTINGS)  # fmt: skip
    assert not may_be_on_break(now, WorkerWatch(1, True, then[-1], recent=then, home=then[-1].point,
                                                break_window=lunch), SETTINGS)  # fmt: skip
    outside = (T0 + timedelta(hours=2), T0 + timedelta(hours=4))
    assert not may_be_on_break(now, WorkerWatch(1, True, then[-1], recent=then, break_window=outside), SETTINGS)


def test_the_break_begun_is_the_first_rest_and_one_going_on_lasts_the_break():
    """Tests that a rest over (25 min, then driving) is the break from its first to its last fix, that a rest going on
    for 22 min so far counts as a 30-min break from its start, and that a track with no rest has none."""
    away = {"on_site": lambda _p: False}
    rest = _still(0, 25, 43.7400)
    drive = tuple(_fix(26 + m, 43.7410 + 0.002 * m) for m in range(4))
    assert break_begun((*rest, *drive), SETTINGS, **away) == (T0, T0 + timedelta(minutes=25))
    assert break_begun(_still(0, 22, 43.7400), SETTINGS, **away) == (T0, T0 + timedelta(minutes=30))
    assert break_begun(drive, SETTINGS, **away) is None


def test_a_phone_reporting_every_five_seconds_shows_the_same_break():
    """Tests that with a fix every 5 s (looked at every 30 s) a 25-min rest then a drive is the break from its first to
    its last fix, and a rest going on for 22 min so far (its last fix kept) counts as the 30-min break."""
    away = {"on_site": lambda _p: False}

    def every_5_s(from_s: int, to_s: int, lat_at) -> tuple:
        return tuple(make_position((T0 + timedelta(seconds=t)).isoformat(), lat=lat_at(t), lon=7.4250)
                     for t in range(from_s, to_s + 1, 5))  # fmt: skip

    rest = every_5_s(0, 25 * 60, lambda _t: 43.7400)
    drive = every_5_s(25 * 60 + 5, 29 * 60, lambda t: 43.7410 + 0.00005 * (t - 25 * 60))
    assert break_begun((*rest, *drive), SETTINGS, **away) == (T0, T0 + timedelta(minutes=25))
    going_on = every_5_s(0, 22 * 60 + 5, lambda _t: 43.7400)
    assert break_begun(going_on, SETTINGS, **away) == (T0, T0 + timedelta(minutes=30))
    assert break_taken(going_on, SETTINGS, **away) is None


def test_the_break_allowance_runs_from_the_window_opening_until_a_latest_break_would_be_a_long_stop():
    """Tests that the allowance starts when the window opens (11:00) and ends 50 min after its latest start (15:50)."""
    opens, latest = at("2025-03-03T11:00:00Z"), at("2025-03-03T15:00:00Z")
    minute = timedelta(minutes=1)
    assert long_stop_s(opens - minute, (opens, latest), SETTINGS) == 1200
    assert long_stop_s(opens, (opens, latest), SETTINGS) == 3000
    assert long_stop_s(latest + 50 * minute, (opens, latest), SETTINGS) == 3000
    assert long_stop_s(latest + 51 * minute, (opens, latest), SETTINGS) == 1200
    assert long_stop_s(opens, None, SETTINGS) == 1200


def test_a_silent_or_off_shift_phone_is_neither_a_long_stop_nor_off_route():
    """Tests that a worker whose last fix is 21 min old (offline) or who is off shift gets no long_stop or off_route."""
    still = _fixes(43.7400, 7.4250, 1)
    now = T0 + timedelta(minutes=22)
    silent = WorkerWatch(1, True, still[-1], recent=still, route=ROUTE)
    kinds = {d.kind for d in periodic_alerts(now, [silent], SETTINGS) if isinstance(d, Raise)}
    assert kinds == {AlertKind.OFFLINE}
    off = WorkerWatch(1, False, still[-1], recent=still, route=ROUTE)
    assert _raised(periodic_alerts(now, [off], SETTINGS)) == {}
    assert {AlertKind.LONG_STOP, AlertKind.OFF_ROUTE} <= _cleared(periodic_alerts(now, [off], SETTINGS))


def test_entering_the_site_of_an_en_route_order_makes_it_on_site_with_source_geofence():
    """Tests that an enter event at the site of the worker's en-route order moves it on site at the crossing's fix time."""
    moved = auto_arrival(_event(FenceEventType.ENTER), [_order()], frozenset(OrderType))
    assert isinstance(moved, Transitioned)
    assert moved.order.status is OrderStatus.ON_SITE
    assert (moved.change.source, moved.change.at, moved.change.actor_id) == ("geofence", T0, None)


@pytest.mark.parametrize("status", [OrderStatus.ASSIGNED, OrderStatus.ACCEPTED])
def test_an_assigned_or_accepted_order_arrives_too(status):
    """Tests that a worker who never tapped "on my way" still arrives by the geofence."""
    moved = auto_arrival(_event(FenceEventType.ENTER), [_order(status=status)], frozenset(OrderType))
    assert isinstance(moved, Transitioned) and moved.change.from_status is status


def test_an_order_not_set_off_for_arrives_only_from_an_hour_before_its_window():
    """Tests that a worker entering the site of an assigned order whose window opens in 3 hours (passing by, or
    waiting next door) does not arrive, one whose window opens within the hour does, and one en route arrives
    whatever its window (they said they were going there)."""
    later = {"window": TimeWindow(T0 + timedelta(hours=3), T0 + timedelta(hours=5))}
    soon = {"window": TimeWindow(T0 + timedelta(minutes=50), T0 + timedelta(hours=3))}
    enter = _event(FenceEventType.ENTER)
    assert auto_arrival(enter, [_order(status=OrderStatus.ASSIGNED, **later)], frozenset(OrderType)) is None
    assert isinstance(
        auto_arrival(enter, [_order(status=OrderStatus.ACCEPTED, **soon)], frozenset(OrderType)), Transitioned
    )
    assert isinstance(
        auto_arrival(enter, [_order(status=OrderStatus.EN_ROUTE, **later)], frozenset(OrderType)), Transitioned
    )


def test_no_arrival_for_another_site_a_type_left_out_a_done_order_or_an_exit():
    """Tests that auto-arrival ignores other sites, order types not configured, finished orders and exit events."""
    types = frozenset({OrderType.REPAIR})
    assert auto_arrival(_event(FenceEventType.ENTER, site_id=4), [_order()], types) is None
    assert auto_arrival(_event(FenceEventType.ENTER), [_order(type=OrderType.DELIVERY)], types) is None
    assert auto_arrival(_event(FenceEventType.ENTER), [_order(status=OrderStatus.DONE)], types) is None
    assert auto_arrival(_event(FenceEventType.EXIT), [_order()], types) is None


def test_no_arrival_while_the_worker_is_on_site_elsewhere():
    """Tests that a worker still on site at order 9 does not arrive at order 7, and the reason names order 9."""
    orders = [_order(), _order(9, status=OrderStatus.ON_SITE, site_id=5)]
    refused = auto_arrival(_event(FenceEventType.ENTER), orders, frozenset(OrderType))
    assert isinstance(refused, Refused) and "order 9" in refused.reason


def test_leaving_a_site_while_on_site_raises_left_site_without_check_out_for_that_order():
    """Tests that an exit from the site of an on-site order raises one alert naming it; an exit elsewhere none."""
    orders = [_order(status=OrderStatus.ON_SITE)]
    raised = left_site(_event(FenceEventType.EXIT), orders)
    assert [(r.kind, r.order_id, r.at) for r in raised] == [(AlertKind.LEFT_SITE_WITHOUT_CHECK_OUT, 7, T0)]
    assert left_site(_event(FenceEventType.EXIT, site_id=4), orders) == []
    assert left_site(_event(FenceEventType.ENTER), orders) == []


def test_thresholds_are_refused_when_negative_naming_the_setting():
    """Tests that a negative threshold is refused with its name."""
    with pytest.raises(ValueError, match="offline_after_s"):
        AlertSettings(offline_after_s=-1)


def test_without_clears_a_fix_still_raises_and_builds_nothing_else():
    """Tests that `clears=False` (the evaluator knows the worker has nothing open) keeps every raise of a fix and
    leaves out only the clears: an everyday fix then decides nothing at all."""
    low = make_position(battery_pct=10.0, mock=True)
    assert fix_alerts(None, low, SETTINGS, clears=False) == [
        d for d in fix_alerts(None, low, SETTINGS) if isinstance(d, Raise)
    ]
    assert _raised(fix_alerts(None, low, SETTINGS, clears=False)).keys() == {
        AlertKind.LOW_BATTERY,
        AlertKind.MOCK_LOCATION,
    }
    assert fix_alerts(None, make_position(battery_pct=80.0), SETTINGS, clears=False) == []


def test_the_workers_of_open_alert_keys_are_the_ids_the_keys_were_made_of():
    """Tests that the workers named by open alerts' keys are read back as the ids `open_key` formatted (a worker
    with two open alerts once, an alert without a worker as 0), and that a key naming no worker id is left out."""
    keys = {
        open_key(AlertKind.SOS, 7, None),
        open_key(AlertKind.LATE_RISK, 7, 12),
        open_key(AlertKind.OFFLINE, 31, None),
        open_key(AlertKind.LOW_BATTERY, None, None),
        "sos:not-an-id:0",
        "garbled",
    }
    assert open_key_workers(keys) == {7, 31, 0}
