"""The demo scenario: deterministic from its seed, built on all 286 Monaco POIs."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.attendance_repo import clock_events
from data.audit_repo import list_audit
from data.customer_repo import ratings_between
from data.db import make_engine, make_sessionmaker, session_scope
from data.field_repo import checkin_records
from data.orders_repo import list_orders, order_history
from data.plans_repo import published_plan_id, published_stops
from data.positions_repo import positions_between
from data.privacy_repo import consent_states, latest_consent, withdraw_consent
from data.scenario import (
    DEMO_LOGINS,
    ROTA,
    SKILLS,
    choose_demo,
    is_empty,
    monaco_pois,
    seed_chosen_demo,
    seed_demo,
    seed_history,
    sites_on_roads,
)
from data.sites_repo import list_sites, site_by_ref
from data.tables import ApiTokenRow, UserRow
from data.users_repo import actor_by_name, check_password, create_user
from data.workers_repo import list_workers
from dispatch.access import Role
from dispatch.day_progress import could_serve
from dispatch.geo import haversine_m
from dispatch.localtime import day_bounds
from dispatch.orders import OrderStatus, OrderType, WorkOrder
from dispatch.privacy import ConsentSource, ConsentState
from dispatch.road_path import RoadRoute
from dispatch.workers import END_OF_DAY, Worker, keeps_location
from routing.travel import StraightLine

DAY = date(2025, 3, 3)
MONACO = ZoneInfo("Europe/Monaco")


pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
def seeded(session: Session):
    summary = seed_demo(session, seed=0, day=DAY, zone=MONACO)
    session.commit()
    return summary


def test_demo_workers_work_a_rota_of_real_shifts_and_all_day_only_when_asked(session: Session, seeded) -> None:
    """Tests that the demo's workers work early, day, late and evening shifts (3:3:2:2), not 00:00-24:00, and
    that `all_day` (benchmarks, tests at any hour) keeps everyone's location at any hour instead."""
    workers = list_workers(session)
    hours = Counter((w.shifts[0].start, w.shifts[0].end) for w in workers)
    assert hours == {
        (time(7, 30), time(16)): 9, (time(8), time(17)): 9, (time(12), time(20)): 6, (time(14), time(22)): 6,
    }  # fmt: skip
    assert all(len(w.shifts) == 1 and w.shifts[0].weekdays == tuple(range(7)) for w in workers)
    at_night = datetime(2025, 3, 3, 3, 0, tzinfo=UTC)
    assert not any(keeps_location(w, at_night) for w in workers)

    seed_demo(session, seed=0, day=DAY, zone=MONACO, all_day=True)
    times = [datetime(2025, 3, 3, hour, minute, 30, tzinfo=UTC) for hour in range(24) for minute in (0, 59)]
    assert [t for t in times if not all(keeps_location(w, t) for w in list_workers(session))] == []


def test_the_demo_opens_on_a_day_in_progress(session: Session) -> None:
    """Tests that seeding with the clock at 10:40 gives a day in progress: the morning's orders done, workers on
    site or on their way now (one order each at most, each on shift), the rest later; every step in the history
    with who and when."""
    now = datetime(2025, 3, 3, 10, 40, tzinfo=UTC)
    seed_demo(session, seed=0, day=DAY, zone=MONACO, now=now)
    session.commit()
    orders = list_orders(session)
    by_status = Counter(o.status for o in orders)
    assert by_status[OrderStatus.DONE] >= 10
    assert by_status[OrderStatus.ON_SITE] + by_status[OrderStatus.EN_ROUTE] >= 5
    assert by_status[OrderStatus.NEW] + by_status[OrderStatus.ASSIGNED] + by_status[OrderStatus.ACCEPTED] >= 40
    active = [o for o in orders if o.status in (OrderStatus.ON_SITE, OrderStatus.EN_ROUTE)]
    assert len({o.assigned_worker_id for o in active}) == len(active)
    workers = {w.id: w for w in list_workers(session)}
    assert all(workers[o.assigned_worker_id].on_shift(now) for o in active)
    for o in orders:
        if o.status is OrderStatus.NEW:
            continue
        history = order_history(session, order_id=o.id)
        assert [h.to_status for h in history][-1] is o.status
        assert all(h.at <= now and h.actor_id is not None for h in history[1:])
        if o.status is OrderStatus.DONE:
            assert [h.to_status.value for h in history] == [
                "new",
                "assigned",
                "accepted",
                "en_route",
                "on_site",
                "done",
            ]
            on_site = next(h.at for h in history if h.to_status is OrderStatus.ON_SITE)
            assert o.window.start <= on_site <= o.window.end
        if o.window.start > now + timedelta(hours=5):
            assert o.status in (OrderStatus.NEW, OrderStatus.ASSIGNED, OrderStatus.ACCEPTED)


def test_the_day_in_progress_has_its_staff_clocked_in_at_home_and_seeding_again_adds_no_second_clock_in(
    session: Session,
) -> None:
    """Tests that seeding at 10:40 Monaco (09:40 UTC) gives each worker whose shift has begun (the early and day shifts,
    07:30 and 08:00) one clock-in within 5 minutes of its start, verified at their home base, and nobody
    else one (before, the field page reminded every worker to clock in and the timesheets were empty); a second seed
    of the day adds none."""
    now = datetime(2025, 3, 3, 9, 40, tzinfo=UTC)
    seed_demo(session, seed=0, day=DAY, zone=MONACO, now=now)
    seed_demo(session, seed=0, day=DAY, zone=MONACO, now=now, reference_prefix="DEMO-again")
    session.commit()
    start, end = day_bounds(DAY, MONACO)
    for worker in list_workers(session):
        clocks = clock_events(session, worker_id=worker.id, start=start, end=end)
        begun = worker.shifts[0].span_on(DAY)[0]
        if begun > now:
            assert clocks == [], worker.name
            continue
        (clock,) = clocks
        assert (clock.kind, clock.verdict) == ("in", "verified"), worker.name
        assert begun <= clock.at <= begun + timedelta(minutes=5) and clock.at <= now


def _straight(a, b):
    metres = haversine_m(a, b)
    return RoadRoute(points=(a, b), duration_s=metres / 8.0, distance_m=metres, on_roads=False)


def test_the_demos_history_is_the_days_before_worked_to_their_end_with_the_phones_tracks(session: Session) -> None:
    """Tests that two days of history before 5 March hold each day's orders closed (done, or cancelled by the
    dispatcher when nobody could serve them) with the done ones' verified check-ins and -outs, a clock-in and -out for each worker who worked, and the phones' fixes
    within each worker's shift only; that today's morning has its fixes up to now; and that seeding the history again
    stores nothing more."""
    today = date(2025, 3, 5)
    small = {"workers": 10, "orders": 40}
    past = seed_history(session, seed=0, today=today, zone=MONACO, days=2, route_of=_straight, **small)
    now = datetime(2025, 3, 5, 9, 40, tzinfo=UTC)
    seed_demo(session, seed=0, day=today, zone=MONACO, now=now, route_of=_straight, **small)
    session.commit()
    assert past == [date(2025, 3, 3), date(2025, 3, 4)]
    orders = list_orders(session)
    for day in past:
        mine = [o for o in orders if o.reference.startswith(f"DEMO-{day.isoformat()}-past-")]
        assert len(mine) == 40 and {o.status for o in mine} <= {OrderStatus.DONE, OrderStatus.CANCELLED}
        assert sum(o.status is OrderStatus.DONE for o in mine) >= 30
        planned = published_stops(session, day=day)  # published before the first shift, by the dispatcher
        assert planned and published_plan_id(session, day=day) is not None
        by_order = {order_id: (worker_id, arrival) for (worker_id, order_id), (arrival, _, _) in planned.items()}
        late = 0
        for o in mine:  # the phone's GPS-verified check-in and -out, as the field page leaves them
            checks = [(c.kind, c.verdict) for c in checkin_records(session, order_id=o.id)]
            steps = order_history(session, order_id=o.id)
            statuses = [h.to_status for h in steps]
            if o.status is OrderStatus.DONE:  # on time, or late by the window (a check-in judged "late")
                assert checks in ([("in", "verified"), ("out", "verified")], [("in", "late"), ("out", "verified")])
            else:  # given up on site (checked in, no check-out), or never reached: cancelled at the day's end
                assert checks == ([("in", "verified")] if OrderStatus.FAILED in statuses else [])
            if OrderStatus.ASSIGNED not in statuses:  # left out of the plan: never assigned
                assert o.id not in by_order
                continue
            assigned = next(h.at for h in steps if h.to_status is OrderStatus.ASSIGNED)
            assert assigned < min(a for a, _, _ in planned.values())
            if o.status is OrderStatus.DONE:
                assert o.assigned_worker_id == by_order[o.id][0]
            arrived = next((h.at for h in steps if h.to_status is OrderStatus.ON_SITE), None)
            late += arrived is not None and arrived > by_order[o.id][1] + timedelta(minutes=5)
        assert 0 < late < 30  # the field strays from the plan: some visits begin later than planned
        rated = {r.order_id: r for r in ratings_between(session, *day_bounds(day, MONACO)) if r.order_id in by_order}
        done = {o.id: o for o in mine if o.status is OrderStatus.DONE}
        assert 0 < len(rated) < len(done) and set(rated) <= set(done)  # some customers answered, for visits done
        assert all(r.worker_id == done[r.order_id].assigned_worker_id for r in rated.values())
    workers = list_workers(session)
    fixes = 0
    for day in (*past, today):
        start, end = day_bounds(day, MONACO)
        for worker in workers:
            shift = worker.shifts[0].span_on(day)
            track = positions_between(session, worker_id=worker.id, start=start, end=end)
            assert all(shift[0] <= p.fix_time < shift[1] and (day != today or p.fix_time <= now) for p in track)
            fixes += len(track)
            kinds = [c.kind for c in clock_events(session, worker_id=worker.id, start=start, end=end)]
            assert kinds == (["in", "out"] if day in past else ["in"] if shift[0] <= now else [])
    assert fixes > 5_000
    assert seed_history(session, seed=0, today=today, zone=MONACO, days=2, route_of=_straight, **small) == []
    session.commit()
    again = sum(
        len(positions_between(session, worker_id=w.id, start=day_bounds(past[0], MONACO)[0], end=now)) for w in workers
    )
    assert again == fixes


def test_the_demos_past_days_drive_slower_in_the_towns_rush_hours(session: Session) -> None:
    """Tests that a past day seeded with drives three times slower from noon on the office's clock (rush hours the
    plan does not know) has a far larger share of its afternoon visits begun late against the plan than of its
    morning ones: the slowdown reaches the worked day."""
    afternoon_rush = (1.0,) * 12 + (3.0,) * 12
    (day,) = seed_history(session, seed=0, today=date(2025, 3, 5), zone=MONACO, days=1, workers=10, orders=40,
                          rush_hours=afternoon_rush)  # fmt: skip
    session.commit()
    planned = {order_id: arrival for (_, order_id), (arrival, _, _) in published_stops(session, day=day).items()}
    late: dict[bool, list[bool]] = {True: [], False: []}  # afternoon? -> late or not, per visit reached
    for order_id, arrival in planned.items():
        arrived = next((h.at for h in order_history(session, order_id=order_id) if h.to_status is OrderStatus.ON_SITE),
                       None)  # fmt: skip
        if arrived is not None:
            late[arrival.astimezone(MONACO).hour >= 13].append(arrived > arrival + timedelta(minutes=5))
    share = {k: sum(v) / len(v) for k, v in late.items() if v}
    assert share[True] > share[False] + 0.4, share  # 0.89 against 0.36; 0.58 against 0.36 without the slowdown


def test_workers_live_and_orders_go_only_where_the_roads_reach_though_every_site_is_stored(session: Session) -> None:
    """Tests that with the sites the roads reach given (`sites_on_roads`), no worker lives and no order, today's or a
    past day's, goes to any other site, while every site is still stored."""
    pois = monaco_pois()
    away = {p.external_ref for p in pois[::3]}  # a third of the sites left unreached, the north of the city among them
    reached = {p.external_ref for p in pois} - away
    seed_history(session, seed=0, today=date(2025, 3, 5), zone=MONACO, days=1, workers=10, orders=40, reached=reached)
    seed_demo(session, seed=0, day=date(2025, 3, 5), zone=MONACO, reached=reached)
    session.commit()
    sites = {s.id: s for s in list_sites(session)}
    assert len(sites) == len(pois)
    unreached = {s.location for s in sites.values() if s.external_ref in away}
    orders = list_orders(session)
    assert len(orders) == 40 + 120
    assert [o.reference for o in orders if sites[o.site_id].external_ref in away] == []
    assert [w.name for w in list_workers(session) if w.home_base in unreached] == []


def test_sites_on_roads_leaves_out_a_place_no_road_reaches() -> None:
    """Tests that a POI with no route to or from the others is not on the roads, one with routes is, and that with
    straight lines every POI is."""
    pois = monaco_pois()[:5]
    cut = pois[2].location

    class Roads:
        def table(self, points):
            return [[None if cut in (a, b) and a != b else 1.0 for b in points] for a in points]

    assert sites_on_roads(pois, Roads()) == {p.external_ref for p in pois} - {pois[2].external_ref}  # type: ignore[arg-type]
    assert sites_on_roads(pois, StraightLine()) == {p.external_ref for p in pois}


def test_the_seeded_demo_holds_no_working_api_token(session: Session) -> None:
    """Tests that seeding a day in progress leaves no API token that works: the demo's logins sign in with their
    passwords, the field workers' users (made for the history's "who") and the simulator have none until someone
    asks for one (`python -m data create-token`), so no credential exists that nobody holds."""
    seed_demo(session, seed=0, day=DAY, zone=MONACO, now=datetime(2025, 3, 3, 10, 40, tzinfo=UTC))
    session.commit()
    users = session.scalars(select(UserRow)).all()
    assert {Role.ADMIN.value, Role.DISPATCHER.value, Role.MANAGER.value, Role.FIELD_WORKER.value} <= {
        u.role for u in users
    }
    assert sum(u.role == Role.FIELD_WORKER.value for u in users) >= 10  # the morning's work made them
    assert session.scalar(select(func.count()).select_from(ApiTokenRow).where(ApiTokenRow.revoked_at.is_(None))) == 0
    assert session.scalar(select(func.count()).select_from(ApiTokenRow)) == 0


def test_the_monaco_poi_file_has_286_sites_with_unique_refs() -> None:
    """Tests that the shipped POI file yields 286 sites, each with its own osm:<type>:<id> reference."""
    pois = monaco_pois()
    assert len(pois) == 286
    assert len({p.external_ref for p in pois}) == 286
    assert all(p.external_ref.startswith(("osm:node:", "osm:way:")) for p in pois)
    assert pois[3].address == "6 Quai Antoine 1er, 98000 Monaco"


def test_seed_demo_stores_all_sites_workers_orders_and_logins(session: Session, seeded) -> None:
    """Tests the demo's contents: 286 sites, 30 workers on the rota, 120 orders within its hours, logins."""
    assert (seeded.sites, seeded.workers, seeded.orders) == (286, 30, 120)
    sites = list_sites(session)
    assert len(sites) == 286 and all(s.geofence_radius_m == 50.0 for s in sites)
    assert site_by_ref(session, "osm:node:267901435").name == "Stars n Bars"

    workers = list_workers(session)
    assert [w.device_id for w in workers] == [f"demo-{i:02d}" for i in range(1, 31)]
    assert len({w.name for w in workers}) == 30
    assert all(1 <= len(w.skills) <= 3 and w.skills <= set(SKILLS) for w in workers)
    assert set().union(*(w.skills for w in workers)) == set(SKILLS)
    assert Counter(w.team for w in workers) == {"North": 10, "Centre": 10, "South": 10}
    assert all(replace(w.shifts[0], zone=UTC) in [shift for _, shift in ROTA] and w.zone == MONACO for w in workers)
    homes = {(s.location.lat, s.location.lon) for s in sites}
    assert all(w.home_base is not None and (w.home_base.lat, w.home_base.lon) in homes for w in workers)

    orders = list_orders(session)
    assert [o.reference for o in orders] == [f"DEMO-2025-03-03-{n:03d}" for n in range(1, 121)]
    assert {o.type for o in orders} == set(OrderType)
    assert all(o.status is OrderStatus.NEW for o in orders)
    start, end = datetime(2025, 3, 3, 7, 30, tzinfo=MONACO), datetime(2025, 3, 3, 21, 30, tzinfo=MONACO)
    assert all(start <= o.window.start < o.window.end <= end for o in orders)
    assert all(any(o.required_skills <= w.skills for w in workers) for o in orders)
    assert all(o.required_skills for o in orders)

    assert seeded.logins == (("admin", "admin-demo"), ("dispatcher", "dispatcher-demo"), ("manager", "manager-demo"),
                             ("north-dispatcher", "north-demo"))  # fmt: skip
    north = check_password(session, name="north-dispatcher", password="north-demo")
    assert north is not None and sorted(north.scope.teams) == ["North"] and not north.scope.all_teams
    for name, password, role in DEMO_LOGINS:
        actor = check_password(session, name=name, password=password)
        assert actor is not None and actor.role is role
    assert {r.value for _, _, r in DEMO_LOGINS} == {Role.ADMIN, Role.DISPATCHER, Role.MANAGER}
    assert not is_empty(session)


def _seed(url: str, seed: int, day: date = DAY):
    engine = make_engine(url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            seed_demo(session, seed=seed, day=day, zone=MONACO)
        with session_scope(make_sessionmaker(engine)) as session:
            return list_workers(session), list_orders(session)
    finally:
        engine.dispose()


def test_the_same_seed_gives_the_same_workers_and_orders(tmp_path, _migrated_sqlite_template) -> None:
    """Tests that seeding two fresh databases with seed 7 gives identical workers and orders, and seed 8 does not."""
    import shutil

    urls = []
    for name in ("a", "b", "c"):
        shutil.copyfile(_migrated_sqlite_template, tmp_path / f"{name}.db")
        urls.append(f"sqlite:///{tmp_path / name}.db")
    first, second, other = _seed(urls[0], 7), _seed(urls[1], 7), _seed(urls[2], 8)
    assert first == second
    assert first[0] != other[0] and first[1] != other[1]


def test_seeding_again_updates_in_place_and_another_day_adds_only_that_days_orders(session: Session, seeded) -> None:
    """Tests that re-seeding the same day duplicates nothing and the next day adds 120 orders, same roster."""
    sites, workers, orders = list_sites(session), list_workers(session), list_orders(session)
    seed_demo(session, seed=0, day=DAY, zone=MONACO)
    session.commit()
    assert (list_sites(session), list_workers(session), list_orders(session)) == (sites, workers, orders)
    seed_demo(session, seed=0, day=date(2025, 3, 4), zone=MONACO)
    assert list_workers(session) == workers
    next_day = [o for o in list_orders(session) if o.reference.startswith("DEMO-2025-03-04-")]
    assert len(next_day) == 120 and len(list_orders(session)) == 240


def test_the_demo_workers_consented_on_paper_recorded_by_the_admin_and_a_withdrawal_survives_reseeding(
    session: Session, seeded
) -> None:
    """Tests that every demo worker has consent to tracking on record (so the simulated phones are tracked with
    consent required), given on paper under text version 1, recorded by the demo admin and audited; and that
    seeding again gives no second consent and leaves a withdrawn one withdrawn."""
    workers = list_workers(session)
    assert set(consent_states(session).values()) == {ConsentState.GIVEN}
    audited = [e for e in list_audit(session, subject_type="worker") if e.action == "give-consent"]
    admin = actor_by_name(session, "admin")
    first = latest_consent(session, workers[0].id)
    assert first is not None and (first.source, first.text_version) == (ConsentSource.PAPER, "1")
    assert admin is not None and first.given_by == admin.id and {e.actor_id for e in audited} == {admin.id}
    assert sorted(e.subject_id for e in audited) == sorted(w.id for w in workers)
    assert {e.details["text_version"] for e in audited} == {"1"} and {e.details["source"] for e in audited} == {"paper"}
    withdraw_consent(session, worker_id=workers[0].id, at=datetime(2025, 3, 3, 9, tzinfo=UTC), by=None)
    seed_demo(session, seed=0, day=DAY, zone=MONACO)
    assert consent_states(session)[workers[0].id] is ConsentState.WITHDRAWN
    assert len([e for e in list_audit(session, subject_type="worker") if e.action == "give-consent"]) == len(workers)


def test_seeding_keeps_the_password_of_an_existing_demo_user(session: Session) -> None:
    """Tests that seed_demo never resets the password of a user called `admin` that already exists."""
    create_user(session, name="admin", role=Role.ADMIN, password="real-secret")
    seed_demo(session, seed=0, day=DAY, zone=MONACO)
    assert check_password(session, name="admin", password="admin-demo") is None
    assert check_password(session, name="admin", password="real-secret") is not None


def test_a_demo_started_late_in_the_evening_is_seeded_for_tomorrow():
    """Tests that the default demo day is the office's today until 21:00 on its clock (the evening shift still
    on), then tomorrow: in Monaco (UTC+1 in March) 20:00 UTC is 21:00 and 20:01 UTC already tomorrow's demo,
    and 23:30 UTC on 2 March is 3 March there."""
    from data.scenario import demo_day

    assert demo_day(datetime(2025, 3, 3, 6, 0, tzinfo=UTC), MONACO) == date(2025, 3, 3)
    assert demo_day(datetime(2025, 3, 3, 20, 0, tzinfo=UTC), MONACO) == date(2025, 3, 3)
    assert demo_day(datetime(2025, 3, 3, 20, 1, tzinfo=UTC), MONACO) == date(2025, 3, 4)
    assert demo_day(datetime(2025, 3, 2, 23, 30, tzinfo=UTC), MONACO) == date(2025, 3, 3)
    assert demo_day(datetime(2025, 3, 3, 21, 0, tzinfo=UTC), ZoneInfo("UTC")) == date(2025, 3, 3)


def test_the_demo_day_and_its_shifts_are_the_offices_local_day_and_clock(session: Session) -> None:
    """Tests that a Monaco summer demo (UTC+2) has every order window within 07:30-21:30 of Monaco's day and the
    day shift on 08:00-17:00 Monaco time (06:00-15:00 UTC), and the day in progress reads shifts there too:
    at 06:30 UTC (08:30 in Monaco) only early and day-shift workers are on site or on their way."""
    summer = date(2025, 7, 1)
    now = datetime(2025, 7, 1, 6, 30, tzinfo=UTC)
    seed_demo(session, seed=0, day=summer, zone=MONACO, now=now)
    session.commit()
    orders = list_orders(session)
    starts = [o.window.start.astimezone(MONACO) for o in orders]
    ends = [o.window.end.astimezone(MONACO) for o in orders]
    assert {t.date() for t in starts + ends} == {summer}
    assert min(t.time() for t in starts) >= time(7, 30) and max(t.time() for t in ends) <= time(21, 30)
    day_shift = [w for w in list_workers(session) if (w.shifts[0].start, w.shifts[0].end) == (time(8), time(17))]
    assert day_shift and all(w.zone == MONACO for w in day_shift)
    assert all(w.on_shift(datetime(2025, 7, 1, 6, 0, tzinfo=UTC)) for w in day_shift)
    assert not any(w.on_shift(datetime(2025, 7, 1, 15, 0, tzinfo=UTC)) for w in day_shift)
    workers = {w.id: w for w in list_workers(session)}
    moving = [o for o in orders if o.status in (OrderStatus.ON_SITE, OrderStatus.EN_ROUTE)]
    assert moving and all(workers[o.assigned_worker_id].shifts[0].start <= time(8) for o in moving)
    assert all(workers[o.assigned_worker_id].on_shift(now) for o in moving)


def test_seed_demo_scales_to_a_bigger_fleet_with_distinct_names_and_reachable_orders(session: Session) -> None:
    """Tests that the demo scales (as the console benchmark seeds it): 800 workers with distinct names and
    1,000 orders, each order's skills held by some worker."""
    summary = seed_demo(session, seed=0, day=DAY, zone=MONACO, workers=800, orders=1000)
    session.commit()
    assert (summary.workers, summary.orders) == (800, 1000)
    workers = list_workers(session)
    assert len(workers) == 800 and len({w.name for w in workers}) == 800
    orders = list_orders(session)
    assert len(orders) == 1000 and len({o.reference for o in orders}) == 1000
    assert all(any(o.required_skills <= w.skills for w in workers) for o in orders)


@pytest.mark.parametrize(
    ("clock", "round_the_clock", "first_window"),
    [("04:46", True, "05:00"), ("12:00", False, "07:30"), ("21:30", True, "21:30"), ("23:30", True, "23:30")],
)
def test_the_demo_chosen_at_any_hour_is_the_rota_by_day_and_a_round_the_clock_rota_otherwise(
    clock: str, round_the_clock: bool, first_window: str
) -> None:
    """Tests that `seed-demo` without a day picks the real rota at 12:00 in Monaco, and at 04:46, 21:30 and 23:30
    (outside the rota's 07:30-19:00, when few or none would be on shift) a round-the-clock rota of night, morning and
    afternoon shifts and orders from the next quarter hour for 12 hours, never in the past; the line it prints says
    which and why."""
    now = datetime.fromisoformat(f"2025-03-03T{clock}:00").replace(tzinfo=MONACO)
    choice = choose_demo(now, MONACO)
    assert (choice.day, choice.round_the_clock) == (DAY, round_the_clock)
    assert f"{choice.orders_from.astimezone(MONACO):%H:%M}" == first_window
    assert f"as it is {clock} Europe/Monaco" in choice.reason
    assert "00:00-24:00" not in choice.reason
    if round_the_clock:
        assert choice.orders_from >= now and choice.orders_until - choice.orders_from == timedelta(hours=12)
        assert choice.reason.startswith(
            "a round-the-clock rota (night 00:00-08:00, morning 08:00-16:00, afternoon 16:00-24:00), a third of the "
            "staff on each,"
        )
        assert "outside the day rota's hours (07:30-19:00)" in choice.reason
    else:
        assert f"{choice.orders_until.astimezone(MONACO):%H:%M}" == "21:30"
        assert "the real rota" in choice.reason


def _could_serve(worker: Worker, order: WorkOrder) -> bool:
    """Whether the worker holds the order's skills and their shift lets them reach it (within 15 minutes of setting off
    at its start) in its window and finish before it ends."""
    return order.required_skills <= worker.skills and could_serve(
        worker.shifts[0], order.window, order.service_duration_s, travel=timedelta(minutes=15)
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the choice, not the storage: SQLite is enough
@pytest.mark.parametrize("clock", ["04:46", "12:00", "21:30", "23:30"])
def test_the_demo_seeded_at_any_hour_has_staff_on_shift_now_and_work_ahead_for_hours(
    session: Session, clock: str
) -> None:
    """Tests that the demo seeded at 04:46, 12:00, 21:30 or 23:30 in Monaco is live on real shifts: none is
    00:00-24:00; outside the day rota's hours a third of the staff works each of night 00:00-08:00, morning 08:00-16:00
    and afternoon 16:00-24:00. Workers on shift now with open work of their own, every order still to do lies after
    now within the span chosen; round the clock every order's skills are held by someone whose shift lets them serve
    it in its window (night staff for a window before 08:00, the next night's past midnight) and each order handed out
    went to such a worker; work is handed out for at least the next 4 hours, some left new for the dispatcher. Round
    the clock, the first windows open at the next quarter hour, so staff set off at once."""
    now = datetime.fromisoformat(f"2025-03-03T{clock}:00").replace(tzinfo=MONACO)
    choice = choose_demo(now, MONACO)
    seed_chosen_demo(session, seed=0, choice=choice, zone=MONACO, now=now)
    session.commit()
    workers = {w.id: w for w in list_workers(session)}
    orders = list_orders(session)
    shifts = Counter((w.shifts[0].start, w.shifts[0].end) for w in workers.values())
    assert (time(0), END_OF_DAY) not in shifts
    if choice.round_the_clock:
        assert shifts == {(time(0), time(8)): 10, (time(8), time(16)): 10, (time(16), END_OF_DAY): 10}
    on_shift = {i for i, w in workers.items() if w.on_shift(now)}
    assert len(on_shift) >= (10 if choice.round_the_clock else 15)
    assert all(choice.orders_from <= o.window.start and o.window.end <= choice.orders_until for o in orders)
    to_do = [o for o in orders if o.status is not OrderStatus.DONE]
    assert all(o.window.end > now for o in to_do)
    assert any(o.assigned_worker_id in on_shift for o in to_do)  # at 23:30 the afternoon shift has half an hour left
    if choice.round_the_clock:  # a day starting now: nothing done yet, every window after now, the first ones at once
        assert len(to_do) == 120 and all(o.window.start >= now for o in orders)
        soon = [o for o in to_do if o.assigned_worker_id and o.window.start < choice.orders_from + timedelta(hours=1)]
        assert min(o.window.start for o in orders) == choice.orders_from and len(soon) >= 5
        assert [o.reference for o in orders if not any(_could_serve(w, o) for w in workers.values())] == []
    given = [o for o in to_do if o.assigned_worker_id is not None]
    for o in given if choice.round_the_clock else ():
        assert _could_serve(workers[o.assigned_worker_id or 0], o), o.reference
    ahead = [o for o in given if o.window.start >= now + timedelta(hours=4)]
    assert len(ahead) >= 10
    assert 10 <= sum(o.status is OrderStatus.NEW for o in to_do) <= 60
    assert all(o.reference.startswith(choice.reference_prefix + "-") for o in orders)
