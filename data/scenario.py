"""The demo scenario: Monaco's real points of interest as sites, 30 workers, ~120 orders on one day.

Everything random comes from one `random.Random(seed)` drawn in a fixed order, so the same seed
and day give the same workers and orders on any machine. Seeding twice updates in place (sites by
external_ref, workers by device id, orders by reference) rather than duplicating; demo users that
already exist are left as they are. The demo simulator has a user of its own (`SIMULATOR_USER`).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data import attendance_repo, audit_repo, customer_repo
from data.field_repo import actor_for_worker, add_checkin
from data.orders_repo import list_orders, save_change, upsert_order_by_reference
from data.plans_repo import create_plan, publish_plan, update_plan
from data.positions_repo import insert_positions
from data.privacy_repo import consent_states, give_consent
from data.sites_repo import list_sites, upsert_site_by_ref
from data.tables import SiteRow, UserRow, WorkerRow, WorkOrderRow
from data.users_repo import actor_by_name, add_user, set_scope
from data.workers_repo import list_workers, upsert_worker_by_device
from dispatch.access import Role, TeamScope
from dispatch.attendance import clock_place
from dispatch.checkin import CheckinVerdict, verify_checkin
from dispatch.day_progress import (
    FIELD_REALISM,
    DayAtNow,
    DayOrder,
    DayWorker,
    FieldRealism,
    RouteStop,
    RouteToWork,
    Trip,
    clock_marks,
    could_serve,
    customer_rating,
    day_at,
    day_track,
    worked_as_planned,
)
from dispatch.geo import LatLon
from dispatch.lifecycle import Refused, transition
from dispatch.localtime import NotALocalTime, day_bounds, local_day, local_to_utc
from dispatch.orders import FINAL_STATUSES, OrderStatus, OrderType, TimeWindow, WorkOrder
from dispatch.positions import Position
from dispatch.privacy import ConsentSource, ConsentState
from dispatch.road_path import RoadRoute
from dispatch.sites import Site
from dispatch.traffic import DEMO_RUSH_HOURS, Traffic
from dispatch.workers import END_OF_DAY, Shift, Worker
from routing.day import DayProblem, datetime_of
from routing.plan import Plan
from routing.travel import TravelTimes

MONACO_POIS = Path(__file__).resolve().parent / "datasets" / "scenario" / "monaco_pois_osm.csv"
SITE_GEOFENCE_M = 50.0
WORKER_COUNT = 30
ORDER_COUNT = 120
SKILLS = ("electrical", "plumbing", "gas", "hvac", "it", "inspection", "delivery")
TEAMS = ("North", "Centre", "South")
ROTA: tuple[tuple[str, Shift], ...] = (
    ("early", Shift(weekdays=tuple(range(7)), start=time(7, 30), end=time(16, 0))),
    ("day", Shift(weekdays=tuple(range(7)), start=time(8, 0), end=time(17, 0))),
    ("late", Shift(weekdays=tuple(range(7)), start=time(12, 0), end=time(20, 0))),
    ("evening", Shift(weekdays=tuple(range(7)), start=time(14, 0), end=time(22, 0))),
)
"""The demo's seven-day rota, wall-clock times of the office's zone (each demo worker is stored with it): 3 in 10 workers
work early, 3 the day shift, 2 late and 2 the evening; each takes a 30-minute break (the route planner
puts it in the middle third of the shift, `routing.day`; the day in progress takes it past half-time)."""
ROTA_OF_TEN = (0, 0, 0, 1, 1, 1, 2, 2, 3, 3)
ALL_DAY_SHIFT = Shift(weekdays=tuple(range(7)), start=time(0, 0), end=END_OF_DAY)
"""`seed-demo --all-day`: every worker on shift round the clock, for benchmarks and tests that must run
at any hour (location is kept only on shift, `dispatch.workers.keeps_location`)."""
ROUND_THE_CLOCK: tuple[tuple[str, Shift], ...] = (
    ("night", Shift(weekdays=tuple(range(7)), start=time(0, 0), end=time(8, 0))),
    ("morning", Shift(weekdays=tuple(range(7)), start=time(8, 0), end=time(16, 0))),
    ("afternoon", Shift(weekdays=tuple(range(7)), start=time(16, 0), end=END_OF_DAY)),
)
"""The live demo's rota outside the day rota's hours: the three shifts of a 24/7 service (none crosses midnight), each
with its 30-minute break as the rota's; worker i works shift i % 3, so a third of the staff is on shift at any hour."""
ROUND_THE_CLOCK_NAME = "round-the-clock rota (night 00:00-08:00, morning 08:00-16:00, afternoon 16:00-24:00)"
REACH_SITE = timedelta(minutes=15)
"""Round the clock, an order's skills are held by someone whose shift lets them reach it (from home at the shift's
start, within this) in its window and finish before the shift ends: Monaco is crossed in about ten minutes."""
ORDER_REDRAWS = 20
"""Round the clock, an order's window and service time are drawn again (up to this many times) while nobody could serve
it: a one-hour window at a change of shift with 90 minutes of service fits neither shift."""
ORDERS_FROM, ORDERS_UNTIL = time(7, 30), time(21, 30)
"""The demo's orders are the rota's work: every window lies within these hours of the office's day."""
ROTA_LIVE_FOR = timedelta(hours=3)
"""`choose_demo` keeps the rota while at least this much of its day is left (07:30-19:00 in the office's zone): a
demo started later would see the evening shift's last workers go home within the hour."""
LIVE_SPAN = timedelta(hours=12)
"""Outside the rota's hours the demo's orders lie in the 12 hours after now: it stays live for half a day."""
LIVE_ENOUGH = 10
"""`keep_or_top_up`: a demo database with someone on shift and at least this many open orders still ahead is kept."""
DEMO_LOGINS: tuple[tuple[str, str, Role], ...] = (
    ("admin", "admin-demo", Role.ADMIN),
    ("dispatcher", "dispatcher-demo", Role.DISPATCHER),
    ("manager", "manager-demo", Role.MANAGER),
    ("north-dispatcher", "north-demo", Role.DISPATCHER),
)
SCOPED_LOGINS = {"north-dispatcher": ("North",)}
"""The demo's team-scoped users: who sees only which teams' workers and orders."""
DEMO_DEVICE_PREFIX = "demo-"
"""The demo workers' device ids: `demo-01`, `demo-02`, ... (the simulator drives these)."""
SIMULATOR_USER = "simulator"
"""The demo simulator's own user (a dispatcher without a password, so it cannot log in to the console):
it issues the simulated workers' push links through the office API, audited under this name."""

_FIRST_NAMES = (
    "Amélie", "Bruno", "Chiara", "Daniel", "Elena", "Fabien", "Giulia", "Hugo", "Inès", "Jules",
    "Karim", "Laura", "Marco", "Nadia", "Olivier", "Paola", "Quentin", "Rosa", "Sami", "Théo",
    "Ugo", "Valérie", "Wassim", "Yasmine", "Zoé", "Luca", "Sofia", "Matteo", "Camille", "Léa",
)  # fmt: skip
_LAST_NAMES = (
    "Bianchi", "Rossi", "Martin", "Bernard", "Ferrari", "Dubois", "Moreau", "Russo", "Laurent",
    "Gallo", "Lefèvre", "Conti", "Fontaine", "Costa", "Mercier", "Ricci", "Garnier", "Marino",
    "Chevalier", "Greco", "Robin", "Bruno", "Gauthier", "Romano", "Girard", "Colombo",
)  # fmt: skip
# How often each kind of job comes in, and the skill it usually needs (None: any of the worker's).
_ORDER_TYPES: tuple[tuple[OrderType, int, str | None], ...] = (
    (OrderType.REPAIR, 35, None),
    (OrderType.VISIT, 25, None),
    (OrderType.INSPECTION, 20, "inspection"),
    (OrderType.DELIVERY, 15, "delivery"),
    (OrderType.EMERGENCY, 5, None),
)


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What `seed_demo` stored: counts, the day the orders are on, and the demo logins (name, password)."""

    day: date
    sites: int
    workers: int
    orders: int
    logins: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class DemoChoice:
    """Which demo to seed at a moment (`choose_demo`): the day, whether the staff work the day `ROTA` or the
    `ROUND_THE_CLOCK` rota, the span `[orders_from, orders_until)` (UTC) every order's window lies in, and one line
    saying which and why."""

    day: date
    round_the_clock: bool
    orders_from: datetime
    orders_until: datetime
    reason: str

    @property
    def reference_prefix(self) -> str:
        """The orders' references start with this: `DEMO-<day>` for the rota's day, with the first hour (office
        clock) for a live seed, so a later live seed of the same day adds orders instead of moving these."""
        if not self.round_the_clock:
            return f"DEMO-{self.day.isoformat()}"
        return f"DEMO-{self.day.isoformat()}-{self.orders_from:%H%M}Z"


@dataclass(frozen=True, slots=True)
class Poi:
    """One row of the Monaco POI file."""

    external_ref: str
    name: str
    address: str
    category: str
    location: LatLon


def monaco_pois(path: Path = MONACO_POIS) -> list[Poi]:
    """The 286 OpenStreetMap points of interest shipped with the demo, in file order."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [_poi(row) for row in csv.DictReader(handle)]


def sites_on_roads(pois: Sequence[Poi], travel: TravelTimes) -> frozenset[str]:
    """The references of the POIs `travel`'s roads connect: a route to and from most of the others. The extract's
    network does not reach every named place in its box (Peillon's post office, over the border, has no road to
    Monaco in it), and an order there could never be planned; with straight lines every POI is reached."""
    table = travel.table([p.location for p in pois])
    most = len(pois) // 2
    return frozenset(
        p.external_ref
        for i, p in enumerate(pois)
        if sum(table[i][j] is not None for j in range(len(pois))) > most
        and sum(table[j][i] is not None for j in range(len(pois))) > most
    )


def _poi(row: dict[str, str]) -> Poi:
    street = " ".join(p for p in (row["housenumber"].strip(), row["street"].strip()) if p)
    town = " ".join(p for p in (row["postcode"].strip(), row["city"].strip()) if p)
    return Poi(
        external_ref=f"osm:{row['osm_type']}:{row['osm_id']}",
        name=row["name"].strip(),
        address=", ".join(p for p in (street, town) if p),
        category=row["category"].strip(),
        location=LatLon(float(row["lat"]), float(row["lon"])),
    )


def is_empty(session: Session) -> bool:
    """Whether the database holds no sites, workers, orders or users yet (what `seed-demo --if-empty` checks)."""
    return all(
        session.scalar(select(func.count()).select_from(t)) == 0 for t in (SiteRow, WorkerRow, WorkOrderRow, UserRow)
    )


def seed_demo(
    session: Session,
    *,
    seed: int,
    day: date,
    zone: ZoneInfo,
    workers: int = WORKER_COUNT,
    orders: int = ORDER_COUNT,
    now: datetime | None = None,
    all_day: bool = False,
    round_the_clock: bool = False,
    consent_text_version: str = "1",
    orders_span: tuple[datetime, datetime] | None = None,
    reference_prefix: str | None = None,
    assign_ahead: bool = False,
    first_window_min: int = 30,
    route_of: Callable[[LatLon, LatLon], RoadRoute] | None = None,
    consent_at: datetime | None = None,
    orders_salt: str | None = None,
    reached: Collection[str] | None = None,
) -> DemoSummary:
    """Store the demo scenario for `day`: all Monaco sites, 30 workers, 120 orders and the demo users.

    `day` is a local calendar day of `zone` (the office's, `OUTFIELD_TIMEZONE`): the workers are stored in
    that zone, so their shifts are its wall-clock times (08:00-17:00 in Monaco is 07:00-16:00 UTC in
    winter), and the orders' windows are that day's local hours.

    `workers` and `orders` scale it (the console's benchmark seeds 500 workers and 2,000 orders);
    the defaults store the demo itself, the same for the same seed.

    Workers follow the `ROTA` (early, day, late and evening shifts; `round_the_clock` the `ROUND_THE_CLOCK` rota's
    night, morning and afternoon shifts; `all_day` puts everyone on shift 00:00-24:00 instead). Orders are the rota's
    work, their windows within 07:30-21:30 (within
    `orders_span`, UTC instants, when given; the first windows open `first_window_min` after its start; references
    `<reference_prefix>-NNN`, `DEMO-<day>` by default). Every
    order's required skills are held by at least one worker; round the clock, by one whose shift lets them serve it
    in its window (`dispatch.day_progress.could_serve`), and the first 21 workers hold each skill once per shift. With `now` (the caller's clock) the day
    is worked up to that moment (`dispatch.day_progress`): orders whose work is over are done, some
    workers are on site or on their way, later orders are assigned (all but a share of them with
    `assign_ahead`, the dispatcher having handed out the rest of the day at `now`) or still new, each step recorded
    through the lifecycle with who and when. Orders that already existed keep their status. Every worker
    with no consent on record consented to tracking on paper (`consent_text_version`), recorded by the demo's
    admin and audited, so the simulated phones are tracked; a consent withdrawn meanwhile stays withdrawn.
    With `route_of` (road routes between two points) the worked day also leaves its phones' fixes, along the roads
    (`dispatch.day_progress.day_track`): the trajectories of the morning, or of a past day (`seed_history`).
    `consent_at` is when the paper consents were recorded (default `now`); `orders_salt` draws the orders from a
    generator of their own (the same workers, another day's orders). `reached` (references) are the sites the roads
    reach (`sites_on_roads`; default every site): workers live and orders go only there; every site is stored.
    The caller commits.
    """
    if all_day and round_the_clock:
        raise ValueError("all_day and round_the_clock: one rota at a time")
    rng = random.Random(seed)
    pois = monaco_pois()
    site_ids: dict[str, int] = {}
    for poi in pois:
        site, _ = upsert_site_by_ref(
            session,
            external_ref=poi.external_ref,
            name=poi.name,
            address=poi.address,
            location=poi.location,
            geofence_radius_m=SITE_GEOFENCE_M,
            category=poi.category,
        )
        site_ids[poi.external_ref] = site.id

    places = pois if reached is None else [p for p in pois if p.external_ref in reached]
    roster = _store_workers(session, rng, places, workers, all_day=all_day, round_the_clock=round_the_clock, zone=zone)
    span = orders_span or (_at(day, ORDERS_FROM, zone), _at(day, ORDERS_UNTIL, zone))
    # When the office set the demo up: 06:00 of the rota's day; before any order's first step for a live seed.
    made_at = _at(day, time(6, 0), zone) if orders_span is None else _orders_made_at(day, span, zone)
    prefix = reference_prefix or f"DEMO-{day.isoformat()}"
    order_rng = rng if orders_salt is None else random.Random(f"{seed}:{orders_salt}")
    created = _store_orders(
        session, order_rng, places, site_ids, roster, span, prefix, orders, made_at, first_window_min,
        per_shift=round_the_clock,
    )  # fmt: skip
    for name, password, role in DEMO_LOGINS:
        # An existing user keeps their password: seeding must never reset a real admin's login.
        if actor_by_name(session, name) is None:
            user = add_user(session, name=name, role=role, password=password)
            if name in SCOPED_LOGINS:
                set_scope(session, user_id=user.id, scope=TeamScope.of(SCOPED_LOGINS[name]))
    if actor_by_name(session, SIMULATOR_USER) is None:
        # No token until one is made for the simulator (`python -m data create-token --name simulator`).
        add_user(session, name=SIMULATOR_USER, role=Role.DISPATCHER)
    consented = consent_at or now or _at(day, time(6, 0), zone)
    _record_paper_consents(session, roster, text_version=consent_text_version, at=consented)
    if now is not None and created:
        progress = _work_the_day(
            session, day=day, now=now, seed=seed, roster=roster, orders=created, assign_ahead=assign_ahead
        )
        if route_of is not None:
            _track_the_day(session, day=day, now=now, seed=seed, roster=roster, trips=progress.trips,
                           route_of=route_of)  # fmt: skip
    return DemoSummary(
        day=day,
        sites=len(pois),
        workers=len(roster),
        orders=orders,
        logins=tuple((name, password) for name, password, _ in DEMO_LOGINS),
    )


def choose_demo(now: datetime, zone: ZoneInfo) -> DemoChoice:
    """The demo to seed at `now` (aware) so that it is live at once and for hours, on the office's (`zone`) clock.

    Within the rota's hours (from its first shift's start until `ROTA_LIVE_FOR` before its last one ends,
    07:30-19:00) the real rota on today's orders (07:30-21:30). Outside them few or none would be on shift, so the
    staff work the `ROUND_THE_CLOCK` rota (night, morning and afternoon shifts, a third of them on each) and the
    orders' windows lie in the `LIVE_SPAN` after now (from the next quarter hour, running past midnight late in the
    evening): never in the past, a third of the staff on shift now and more coming on at the next change of shift.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    today = local_day(now, zone)
    first = min(s.start for _, s in ROTA)
    last = max(s.end for _, s in ROTA)
    clock = now.astimezone(zone)
    label = f"{clock:%H:%M} {zone.key}"
    hours = f"{first:%H:%M}-{(datetime.combine(today, last) - ROTA_LIVE_FOR):%H:%M}"
    if _at(today, first, zone) <= now <= _at(today, last, zone) - ROTA_LIVE_FOR:
        return DemoChoice(
            day=today, round_the_clock=False, orders_from=_at(today, ORDERS_FROM, zone),
            orders_until=_at(today, ORDERS_UNTIL, zone),
            reason=f"the real rota (early, day, late and evening shifts) on today's orders, as it is {label}, "
            f"within the rota's hours ({hours})",
        )  # fmt: skip
    utc = now.astimezone(UTC)
    start = utc.replace(minute=0, second=0, microsecond=0) + timedelta(minutes=15 * -(-utc.minute // 15))
    if start < utc:  # a moment past a quarter hour's first minute
        start += timedelta(minutes=15)
    until = start + LIVE_SPAN
    return DemoChoice(
        day=today, round_the_clock=True, orders_from=start, orders_until=until,
        reason=f"a {ROUND_THE_CLOCK_NAME}, a third of the staff on each, and orders from "
        f"{start.astimezone(zone):%H:%M} to {until.astimezone(zone):%H:%M}, as it is {label}, outside the day "
        f"rota's hours ({hours}) when it would have few or none on shift",
    )  # fmt: skip


def seed_chosen_demo(
    session: Session,
    *,
    seed: int,
    choice: DemoChoice,
    zone: ZoneInfo,
    now: datetime,
    workers: int = WORKER_COUNT,
    orders: int = ORDER_COUNT,
    consent_text_version: str = "1",
    route_of: Callable[[LatLon, LatLon], RoadRoute] | None = None,
    reached: Collection[str] | None = None,
) -> DemoSummary:
    """`seed_demo` as `choose_demo` chose it at `now`, the day worked up to `now` and the rest of it assigned ahead
    (but a share left new for the dispatcher), so the simulated staff have work until the orders' windows end.
    A live seed's first windows open at the span's start (the next quarter hour), so its staff set off at once."""
    return seed_demo(
        session, seed=seed, day=choice.day, zone=zone, workers=workers, orders=orders, now=now,
        round_the_clock=choice.round_the_clock, consent_text_version=consent_text_version,
        orders_span=(choice.orders_from, choice.orders_until), reference_prefix=choice.reference_prefix,
        assign_ahead=True, first_window_min=0 if choice.round_the_clock else 30, route_of=route_of,
        reached=reached,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class DemoState:
    """How live a stored demo is at a moment: its workers, how many are on shift, its orders still open ahead, and its
    rota (`ROTA`, `ROUND_THE_CLOCK` or `ALL_DAY_SHIFT`: `rota` names it)."""

    workers: int
    on_shift: int
    open_ahead: int
    rota: str

    @property
    def live(self) -> bool:
        return self.on_shift > 0 and self.open_ahead >= LIVE_ENOUGH

    def describe(self) -> str:
        rota = self.rota
        return f"{rota}: {self.on_shift} of {self.workers} workers on shift now, {self.open_ahead} open orders ahead"


def demo_state(session: Session, now: datetime) -> DemoState | None:
    """The stored demo's state at `now`, or None when the database holds no demo workers (not a demo database)."""
    staff = [w for w in list_workers(session) if w.device_id.startswith(DEMO_DEVICE_PREFIX)]
    if not staff:
        return None
    closed = (OrderStatus.DONE, OrderStatus.CANCELLED)
    ahead = sum(1 for o in list_orders(session) if o.status not in closed and o.window.end > now)
    return DemoState(
        workers=len(staff),
        on_shift=sum(1 for w in staff if w.on_shift(now)),
        open_ahead=ahead,
        rota=_rota_name([s for w in staff for s in w.shifts]),
    )


def _rota_name(shifts: list[Shift]) -> str:
    """Which of the demo's rotas these shifts (its workers') are, as `DemoState.describe` says it."""
    if all(s == replace(ALL_DAY_SHIFT, zone=s.zone) for s in shifts):
        return "all day (everyone on shift 00:00-24:00)"
    round_the_clock = {s for _, s in ROUND_THE_CLOCK}
    if all(replace(s, zone=UTC) in round_the_clock for s in shifts):
        return ROUND_THE_CLOCK_NAME
    return "rota (early, day, late, evening)"


def demo_day(now: datetime, zone: ZoneInfo, *, until: time = time(21, 0)) -> date:
    """The day to seed the demo on when none is given: the office's (`zone`) today until `until` on its clock
    (an hour before the rota's last shift ends), so the demo opens on the day in progress; after it,
    tomorrow (a day still to dispatch and to plan, nobody on shift yet)."""
    today = local_day(now, zone)
    return today if now.astimezone(zone).time() <= until else today + timedelta(days=1)


def rota_shift(index: int) -> Shift:
    """The shift of the demo's `index`-th worker (from 0) in the rota."""
    return ROTA[ROTA_OF_TEN[index % len(ROTA_OF_TEN)]][1]


def round_the_clock_shift(index: int) -> Shift:
    """The shift of the demo's `index`-th worker (from 0) in the round-the-clock rota: night, morning, afternoon, ..."""
    return ROUND_THE_CLOCK[index % len(ROUND_THE_CLOCK)][1]


def _at(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of `at` on the office's `day` (the demo's times are never in the hour the clocks skip)."""
    instant = local_to_utc(day, at, zone)
    if isinstance(instant, NotALocalTime):
        raise ValueError(instant.reason)
    return instant


def _store_workers(
    session: Session,
    rng: random.Random,
    pois: list[Poi],
    count: int,
    *,
    all_day: bool,
    round_the_clock: bool,
    zone: ZoneInfo,
) -> list[Worker]:
    # Teams cover bands of the city from north to south; a worker's home base lies in their band.
    by_lat = sorted(pois, key=lambda p: -p.location.lat)
    band = -(-len(by_lat) // len(TEAMS))
    bands = [by_lat[i * band : (i + 1) * band] for i in range(len(TEAMS))]
    every_name = [f"{f} {last}" for f in _FIRST_NAMES for last in _LAST_NAMES]
    names = rng.sample(every_name, min(count, len(every_name)))
    roster: list[Worker] = []
    for i in range(count):
        held = rng.randint(1, 3)
        # The first seven workers hold one skill each, so every skill is held by someone; round the clock the first
        # 21 (seven on each shift), so every skill is held on every shift.
        first = i // len(ROUND_THE_CLOCK) if round_the_clock else i
        if first < len(SKILLS):
            others = [s for s in SKILLS if s != SKILLS[first]]
            skills = {SKILLS[first], *rng.sample(others, held - 1)}
        else:
            skills = set(rng.sample(SKILLS, held))
        team_index = i % len(TEAMS)
        home = rng.choice(bands[team_index]).location
        worker, _ = upsert_worker_by_device(
            session,
            name=names[i % len(names)] + (f" {i // len(names) + 1}" if i >= len(names) else ""),
            device_id=f"{DEMO_DEVICE_PREFIX}{i + 1:02d}",
            skills=sorted(skills),
            shifts=(ALL_DAY_SHIFT if all_day else round_the_clock_shift(i) if round_the_clock else rota_shift(i),),
            home_base=home,
            team=TEAMS[team_index],
            timezone=zone.key,
        )
        roster.append(worker)
    return roster


def _record_paper_consents(session: Session, roster: list[Worker], *, text_version: str, at: datetime) -> None:
    """Consent given on paper for each worker without one on record, as an admin records it (`POST
    /api/v1/workers/{id}/consent`): by the demo's admin, audited with the text's version and the source."""
    admin = actor_by_name(session, DEMO_LOGINS[0][0])
    by = admin.id if admin is not None else None
    states = consent_states(session)
    for worker in roster:
        if states.get(worker.id, ConsentState.NONE) is not ConsentState.NONE:
            continue
        give_consent(session, worker_id=worker.id, text_version=text_version, at=at, source=ConsentSource.PAPER, by=by)
        audit_repo.record(
            session, actor_id=by, action="give-consent", subject_type="worker", subject_id=worker.id, at=at,
            details={"text_version": text_version, "source": ConsentSource.PAPER.value},
        )  # fmt: skip


def _store_orders(
    session: Session,
    rng: random.Random,
    pois: list[Poi],
    site_ids: dict[str, int],
    roster: list[Worker],
    span: tuple[datetime, datetime],
    prefix: str,
    count: int,
    made_at: datetime,
    first_window_min: int,
    *,
    per_shift: bool = False,
) -> list[tuple[WorkOrder, LatLon]]:
    """Store the day's orders; returns those created now (not those a re-seed updated) with their site's place.

    Each order's skills are a subset of one worker's, drawn among all the workers; `per_shift`, among those whose
    shift lets them serve it in its window (its window drawn first), when any does."""
    types = [t for t, _, _ in _ORDER_TYPES]
    weights = [w for _, w, _ in _ORDER_TYPES]
    preferred = {t: s for t, _, s in _ORDER_TYPES}
    sites = rng.sample(pois, min(count, len(pois)))
    created: list[tuple[WorkOrder, LatLon]] = []
    day_minutes = int((span[1] - span[0]).total_seconds() // 60)
    for n in range(count):
        order_type = rng.choices(types, weights)[0]
        skill = preferred[order_type]
        staff = roster
        if per_shift:  # drawn again (a few times at most) while nobody could serve it: a window at a change of shift
            for _ in range(ORDER_REDRAWS):
                priority, window, service_min = _order_timing(rng, order_type, span, day_minutes, first_window_min)
                serving = [w for w in roster if could_serve(w.shifts[0], window, service_min * 60, travel=REACH_SITE)]
                staff = [w for w in serving if skill is None or skill in w.skills]
                if staff:
                    break
            staff = staff or roster
        holders = [w.skills for w in staff if skill is None or skill in w.skills]
        holder = sorted(rng.choice(holders))
        required = {skill} if skill is not None else {rng.choice(holder)}
        if len(holder) > 1 and rng.random() < 0.25:
            required.add(rng.choice(holder))  # still a subset of one worker's skills
        if not per_shift:
            priority, window, service_min = _order_timing(rng, order_type, span, day_minutes, first_window_min)
        order, new = upsert_order_by_reference(
            session,
            reference=f"{prefix}-{n + 1:03d}",
            site_id=site_ids[sites[n % len(sites)].external_ref],
            type=order_type,
            priority=priority,
            required_skills=sorted(required),
            window=window,
            service_duration_s=service_min * 60,
            notes=f"{order_type.value.capitalize()} at {sites[n % len(sites)].name}",
            created_at=made_at,
        )
        if new:
            created.append((order, sites[n % len(sites)].location))
    return created


def _order_timing(
    rng: random.Random, order_type: OrderType, span: tuple[datetime, datetime], span_min: int, first_window_min: int
) -> tuple[int, TimeWindow, int]:
    """An order's priority, window and service minutes, drawn from `rng` in that order."""
    if order_type is OrderType.EMERGENCY:
        priority, length_min = 1, rng.choice((60, 90, 120))
    else:
        priority, length_min = rng.choice((2, 3, 3, 4, 4, 5)), rng.choice((60, 120, 180, 240))
    service_min = rng.choice((15, 20, 30, 45, 60, 90))
    # Windows start on a quarter hour, late enough that the whole window ends with the span.
    latest_start = span_min - length_min
    start_min = first_window_min + 15 * rng.randint(0, max(0, (latest_start - first_window_min) // 15))
    start = span[0] + timedelta(minutes=start_min)  # a UTC instant: elapsed minutes
    return priority, TimeWindow(start, start + timedelta(minutes=length_min)), service_min


def _work_the_day(
    session: Session,
    *,
    day: date,
    now: datetime,
    seed: int,
    roster: list[Worker],
    orders: list[tuple[WorkOrder, LatLon]],
    assign_ahead: bool = False,
) -> DayAtNow:
    """Record the day up to `now` (`dispatch.day_progress`): the dispatcher assigns, the workers do the rest."""
    progress = day_at(
        day,
        [DayOrder(o.id, site, o.required_skills, o.window, o.service_duration_s) for o, site in orders],
        [DayWorker(w.id, w.skills, w.shifts[0], w.home_base) for w in roster if w.home_base is not None],
        now=now,
        rng=random.Random(f"{seed}:day-in-progress"),
        assign_ahead=assign_ahead,
    )
    _clock_the_day(session, day=day, now=now, seed=seed, roster=roster)
    _record_progress(session, progress, orders)
    return progress


def _record_progress(session: Session, progress: DayAtNow, orders: Sequence[tuple[WorkOrder, LatLon]]) -> None:
    """Each order's steps of `progress` through the lifecycle (the office's by the dispatcher, the rest by the worker),
    with the check-in and check-out a phone on site leaves."""
    dispatcher = actor_by_name(session, "dispatcher")
    by_id = {o.id: o for o, _ in orders}
    sites = {o.id: site for o, site in orders}
    for p in progress.orders:
        order = by_id[p.order_id]
        for step in p.steps:
            office = step.status is OrderStatus.ASSIGNED
            actor = dispatcher if office else actor_for_worker(session, worker_id=p.worker_id or 0)
            moved = transition(order, step.status, actor=actor, at=step.at, worker_id=p.worker_id if office else None,
                               reason=step.reason)  # fmt: skip
            if isinstance(moved, Refused):  # a bug in day_progress, not a user's input
                raise RuntimeError(f"demo day: order {order.id}: {moved.reason}")
            save_change(session, moved.change)
            order = moved.order
            if step.status in CHECKS and p.worker_id is not None:
                _check(session, order, p.worker_id, CHECKS[step.status], step.at, sites[order.id])


CHECKS = {OrderStatus.ON_SITE: "in", OrderStatus.DONE: "out"}
"""The field record a worked step leaves: on site is the phone's check-in, done its check-out (a visit given up on
site, FAILED, has none: the phone reports the failure instead)."""


def _check(session: Session, order: WorkOrder, worker_id: int, kind: str, at: datetime, site: LatLon) -> None:
    """The GPS-verified check-in or -out a phone at the site would have sent (its fix at the site itself)."""
    place = Site(id=order.site_id, name="site", address="", location=site, geofence_radius_m=SITE_GEOFENCE_M)
    verdict = _verified_at(place, worker_id, at, window=order.window if kind == "in" else None)
    add_checkin(
        session, order_id=order.id, worker_id=worker_id, kind=kind, at=at, location=site, accuracy_m=8.0,
        verdict=verdict, client_action_id=f"demo-check-{kind}-{order.id}",
    )  # fmt: skip


def _verified_at(place: Site, worker_id: int, at: datetime, *, window: TimeWindow | None = None) -> CheckinVerdict:
    """The verdict on a phone standing at `place` itself at `at` (an 8 m fix), as the field API judges one."""
    fix = Position(worker_id=worker_id, device_id="push-link", fix_time=at, device_time=at, server_time=at,
                   latitude=place.location.lat, longitude=place.location.lon, accuracy_m=8.0)  # fmt: skip
    return verify_checkin(place, fix, at=at, window=window)


def _clock_the_day(
    session: Session, *, day: date, now: datetime, seed: int, roster: list[Worker], trips: Sequence[Trip] = ()
) -> None:
    """The clock-ins and -outs of the day up to `now` (`dispatch.day_progress.clock_marks`), each at the worker's home
    base and verified there as the field page's would be; a worker with clock events that day already keeps theirs
    (a later seed of the same day adds orders, not a second clock-in)."""
    homes = {w.id: w.home_base for w in roster if w.home_base is not None}
    start, end = day_bounds(day, next((w.shifts[0].zone for w in roster if w.shifts), UTC))
    clocked = {w for w in homes if attendance_repo.clock_events(session, worker_id=w, start=start, end=end)}
    marks = clock_marks(
        day,
        [DayWorker(w.id, w.skills, w.shifts[0], home) for w in roster if (home := homes.get(w.id)) is not None],
        now=now,
        rng=random.Random(f"{seed}:clock"),
        trips=trips,
    )
    for mark in marks:
        if mark.worker_id in clocked:
            continue
        home = homes[mark.worker_id]
        place = clock_place(home, None)
        assert place is not None  # a home base is a place
        verdict = _verified_at(place, mark.worker_id, mark.at)
        attendance_repo.add_clock_event(
            session, client_action_id=f"demo-clock-{mark.worker_id}-{mark.kind}-{mark.at:%Y%m%dT%H%M%S}",
            worker_id=mark.worker_id, kind=mark.kind, at=mark.at, location=home, accuracy_m=8.0,
            verdict=verdict.kind.value, verdict_reason=verdict.reason, created_at=mark.at,
        )  # fmt: skip


def _track_the_day(
    session: Session,
    *,
    day: date,
    now: datetime,
    seed: int,
    roster: list[Worker],
    trips: Sequence[Trip],
    route_of: Callable[[LatLon, LatLon], RoadRoute],
) -> None:
    """The phones' fixes of the day worked up to `now` (`day_track`, along `route_of`'s roads), within each worker's
    shift on `day`. A fix a phone already sent (the same worker and time) is not stored twice."""
    rng = random.Random(f"{seed}:track:{day.isoformat()}")
    fixes: list[Position] = []
    for w in roster:
        if w.home_base is None or not w.shifts or day.weekday() not in w.shifts[0].weekdays:
            continue
        start, end = w.shifts[0].span_on(day)
        if start >= now:
            continue
        mine = [t for t in trips if t.worker_id == w.id and start <= t.depart < end]
        worker = DayWorker(w.id, w.skills, w.shifts[0], w.home_base)
        for f in day_track(worker, mine, (start, min(end, now)), route_of, rng=rng):
            fixes.append(
                Position(
                    worker_id=w.id,
                    device_id=w.device_id,
                    fix_time=f.at,
                    device_time=f.at,
                    server_time=f.at,
                    latitude=round(f.point.lat, 6),
                    longitude=round(f.point.lon, 6),
                    accuracy_m=8.0,
                    speed_mps=round(f.speed_mps, 2),
                    bearing_deg=round(f.bearing_deg, 1),
                )  # fmt: skip
            )
    for chunk in range(0, len(fixes), 5000):
        insert_positions(session, fixes[chunk : chunk + 5000])


HISTORY_DAYS = 6
"""How many days before today `./run demo` seeds as worked (`seed-demo --history-days`): a manager's week to look back
on (reports, timesheets, trajectories, history) from the first minute."""


HISTORY_PLAN_ITERATIONS = 50
"""The search each past day's plan got (`routing.solve` stopped by count: the same plan on any machine)."""


def seed_history(
    session: Session,
    *,
    seed: int,
    today: date,
    zone: ZoneInfo,
    days: int,
    round_the_clock: bool = False,
    travel: TravelTimes | None = None,
    route_of: Callable[[LatLon, LatLon], RoadRoute] | None = None,
    workers: int = WORKER_COUNT,
    orders: int = ORDER_COUNT,
    consent_text_version: str = "1",
    iterations: int = HISTORY_PLAN_ITERATIONS,
    realism: FieldRealism = FIELD_REALISM,
    reached: Collection[str] | None = None,
    rush_hours: tuple[float, ...] | None = DEMO_RUSH_HOURS,
) -> list[date]:
    """Store the `days` days before `today` as worked to their end, oldest first. Each day's orders (drawn for that
    day, references `DEMO-<day>-past-NNN`) were planned by the office (`routing.solve` over `travel`'s times, straight
    lines by default, stopped after `iterations`) and the plan published before the first shift, which assigned them;
    the field then worked the routes as the field does (`dispatch.day_progress.worked_as_planned` with `realism`):
    some drives and visits longer than planned, some visits late, a few given up on site, a route now and then run
    into overtime. Each day is clocked in and out, each visit checked in and out at its site, and, with `route_of`,
    the phones' fixes follow the roads. An order not done by the day's end (unplanned, given up, or left) is cancelled
    then by the dispatcher. A day already stored is left as it is. The workers are `seed_demo`'s, on the rota
    `round_the_clock` says (the one today's demo uses), their paper consent recorded before the first day. Returns
    the days stored. `reached` is `seed_demo`'s. The drives also take the `rush_hours` slowdown of the hour they set
    off in on the office's clock (`dispatch.traffic`; the plans do not know it), unless `realism` has its own traffic
    or `rush_hours` is None: `python -m console learn-travel` finds them in the phones' tracks.
    """
    if rush_hours is not None and realism.traffic is None:
        realism = replace(realism, traffic=Traffic(rush_hours, zone=zone))
    stored: list[date] = []
    first = today - timedelta(days=days)
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        prefix = f"DEMO-{day.isoformat()}-past"
        if session.scalar(select(func.count()).where(WorkOrderRow.reference.like(f"{prefix}-%"))):
            continue
        end = _at(day + timedelta(days=1), time(0), zone)
        span = (_at(day, ORDERS_FROM, zone), _at(day, ORDERS_UNTIL, zone))
        if round_the_clock:
            span = (_at(day, time(0, 30), zone), _at(day, time(23, 0), zone))
        seed_demo(
            session, seed=seed, day=day, zone=zone, workers=workers, orders=orders,
            round_the_clock=round_the_clock, consent_text_version=consent_text_version, orders_span=span,
            reference_prefix=prefix, consent_at=_at(first, time(6, 0), zone), orders_salt=day.isoformat(),
            reached=reached,
        )  # fmt: skip
        published = _orders_made_at(day, span, zone) + PUBLISHED_AFTER
        staff, sites = list_workers(session), {s.id: s for s in list_sites(session)}
        mine = sorted((o for o in list_orders(session) if o.reference.startswith(f"{prefix}-")), key=lambda o: o.id)
        plan, whole = _publish_the_plan(session, day=day, zone=zone, orders=mine, workers=staff, sites=sites,
                                        travel=travel or _straight_line(), seed=seed, iterations=iterations,
                                        at=published)  # fmt: skip
        roster = [w for w in staff if w.home_base is not None and w.shifts]
        day_orders = [(o, sites[o.site_id].location) for o in mine]
        worked = worked_as_planned(
            _routes_to_work(plan, whole, roster, day_orders), assigned_at=published,
            rng=random.Random(f"{seed}:worked:{day.isoformat()}"), realism=realism,
        )  # fmt: skip
        _clock_the_day(session, day=day, now=end, seed=seed, roster=roster, trips=worked.trips)
        _record_progress(session, worked, day_orders)
        _rate_the_visits(session, worked, day_orders, rng=random.Random(f"{seed}:ratings:{day.isoformat()}"))
        if route_of is not None:
            _track_the_day(session, day=day, now=end, seed=seed, roster=roster, trips=worked.trips, route_of=route_of)
        _cancel_unserved(session, prefix=prefix, at=end)
        stored.append(day)
    return stored


def _rate_the_visits(
    session: Session, worked: DayAtNow, orders: Sequence[tuple[WorkOrder, LatLon]], *, rng: random.Random
) -> None:
    """The customers' answers to the visits done (`dispatch.day_progress.customer_rating`), each through the link the
    dispatcher sent them when the worker set off, within a few hours of the visit."""
    dispatcher = actor_by_name(session, "dispatcher")
    windows = {o.id: o.window for o, _ in orders}
    for p in worked.orders:
        steps = {s.status: s.at for s in p.steps}
        if p.status is not OrderStatus.DONE or p.worker_id is None:
            continue
        window = windows[p.order_id]
        rating = customer_rating((steps[OrderStatus.ON_SITE] - window.end).total_seconds(), rng)
        if rating is None:
            continue
        link_id = f"{rng.getrandbits(128):032x}"
        customer_repo.add_link(session, link_id=link_id, order_id=p.order_id, issued_by=dispatcher.id if dispatcher else None,
                               issued_at=steps[OrderStatus.EN_ROUTE], expires_at=window.end + timedelta(days=7))  # fmt: skip
        comment = RATING_COMMENTS.get(rating, "") if rating <= 2 or rng.random() < 0.3 else ""
        customer_repo.add_answer(session, order_id=p.order_id, worker_id=p.worker_id, link_id=link_id, rating=rating,
                                 comment=comment, at=steps[OrderStatus.DONE] + timedelta(minutes=rng.randint(5, 240)))  # fmt: skip


RATING_COMMENTS = {5: "Quick and tidy, thank you.", 2: "We waited a long time.", 1: "Nobody told us they were late."}
"""What the demo's customers wrote with some ratings (text typed by a customer: shown as text)."""


PUBLISHED_AFTER = timedelta(minutes=30)
"""A past day's plan was published this long after its orders were in (before the first shift began)."""


def _straight_line() -> TravelTimes:
    from routing.travel import StraightLine

    return StraightLine()


def _orders_made_at(day: date, span: tuple[datetime, datetime], zone: ZoneInfo) -> datetime:
    """When the office entered a seeded day's orders: 06:00 of the day, or three hours before the first window
    opens when that is earlier."""
    return min(_at(day, time(6, 0), zone), span[0] - timedelta(hours=3))


def _publish_the_plan(
    session: Session,
    *,
    day: date,
    zone: ZoneInfo,
    orders: Sequence[WorkOrder],
    workers: Sequence[Worker],
    sites: Mapping[int, Site],
    travel: TravelTimes,
    seed: int,
    iterations: int,
    at: datetime,
) -> tuple[Plan, DayProblem]:
    """Plan a seeded day's `orders` over every worker on shift, as a manager's plan job would, and publish it at `at`
    by the dispatcher: the plan row (job done, checked), its stops, and the audit entries. The orders' assignments
    are the plan's steps of `worked_as_planned`. Returns the plan and the problem it answers."""
    # The solver's engines (PyVRP, OR-Tools) are slow to import; only the demo's history needs them here.
    from routing.day import checked, day_problem, objective_for, plan_json
    from routing.problem import StopRule
    from routing.solve import solve

    whole = day_problem(day, orders, sites, workers, {}, travel, objective_for("time"), tz=zone)
    plan = solve(whole.problem, stop=StopRule(max_solutions=iterations), seed=seed)
    verdict = checked(whole.problem, plan, at.isoformat())
    if verdict["violations"]:  # a bug in the planner, not a user's input
        raise RuntimeError(f"demo history: the plan of {day} breaks a rule: {verdict['violations'][0]['message']}")
    # The job a manager's plan of the day would have stored (`services.plan_jobs`), with the console's default budget
    # of 10 s; this search was stopped by count instead, so its plan is the same on any machine.
    job = {"kind": "start", "day": day.isoformat(), "worker_ids": [w.id for w in workers],
           "order_ids": [o.id for o in orders], "seconds": 10.0, "minimise": "time", "balance_workload": False,
           "state": "done", "queued_at": at.isoformat(), "started_at": at.isoformat(), "runner": "demo history",
           "iterations": iterations}  # fmt: skip
    names = {w.id: w.name for w in workers}
    plan_id = create_plan(session, day=day, created_at=at, payload={"job": job})
    update_plan(session, plan_id=plan_id, payload={"job": job, "plan": plan_json(plan, day, names, problem=whole),
                **verdict}, objective=float(plan.objective), cost=float(plan.travel_s))  # fmt: skip
    stops = [
        (int(route.worker_id), int(stop.visit_id), seq, datetime_of(day, stop.arrival_s, zone),
         datetime_of(day, stop.start_s, zone), datetime_of(day, stop.end_s, zone))
        for route in plan.routes for seq, stop in enumerate(route.stops)
    ]  # fmt: skip
    publish_plan(session, plan_id=plan_id, stops=stops)
    manager = actor_by_name(session, "manager")
    dispatcher = actor_by_name(session, "dispatcher")
    for actor, action, details in (
        (manager, "start-plan", {"kind": "start", "day": day.isoformat(), "orders": len(orders)}),
        (dispatcher, "publish-plan", {"assigned": len(stops), "kept": 0}),
    ):
        audit_repo.record(session, actor_id=actor.id if actor else None, action=action, subject_type="plan",
                          subject_id=plan_id, at=at, details=details)  # fmt: skip
    return plan, whole


def _routes_to_work(
    plan: Plan, whole: DayProblem, roster: Sequence[Worker], orders: Sequence[tuple[WorkOrder, LatLon]]
) -> list[RouteToWork]:
    """The published plan's routes as the field works them (`dispatch.day_progress.RouteToWork`)."""
    day, zone = whole.day, whole.zone
    by_order = {o.id: (o, site) for o, site in orders}
    by_worker = {w.id: w for w in roster}
    routes: list[RouteToWork] = []
    for route in plan.routes:
        worker = by_worker.get(int(route.worker_id))
        if worker is None or worker.home_base is None or not route.stops:
            continue
        shift = next((s for s in worker.shifts if day.weekday() in s.weekdays), worker.shifts[0])
        stops = []
        for stop in route.stops:
            order, site = by_order[int(stop.visit_id)]
            stops.append(
                RouteStop(
                    order.id,
                    site,
                    order.window,
                    timedelta(seconds=stop.travel_s),
                    timedelta(seconds=order.service_duration_s),
                    datetime_of(day, stop.arrival_s, zone),
                )  # fmt: skip
            )
        lunch = route.breaks[0] if route.breaks else None
        routes.append(
            RouteToWork(
                worker.id,
                worker.home_base,
                datetime_of(day, route.start_s, zone),
                shift.span_on(day)[1],
                tuple(stops),
                lunch.after_stops if lunch else None,
                datetime_of(day, lunch.start_s, zone) if lunch else None,
            )  # fmt: skip
        )
    return routes


def _cancel_unserved(session: Session, *, prefix: str, at: datetime) -> None:
    """Cancel the orders of a past day (references starting with `prefix`) still open at its end, as the dispatcher."""
    dispatcher = actor_by_name(session, "dispatcher")
    for order in list_orders(session):
        if not order.reference.startswith(f"{prefix}-") or order.status in FINAL_STATUSES:
            continue
        moved = transition(
            order, OrderStatus.CANCELLED, actor=dispatcher, at=at, reason="nobody could serve it that day"
        )
        if isinstance(moved, Refused):
            raise RuntimeError(f"demo history: order {order.id}: {moved.reason}")
        save_change(session, moved.change)
