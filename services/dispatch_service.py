"""The dispatcher's actions: create orders, explain candidates, assign or override, move orders on.

Every call takes the acting `Actor`, reads what it needs, asks the pure domain (`dispatch.assign`,
`dispatch.lifecycle`) for the decision, stores it in one transaction, and only then publishes the
change so every console (and the worker's phone) updates within the relay's batch window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.orm import Session, sessionmaker

from data import audit_repo, orders_repo, positions_repo, privacy_repo, sites_repo, workers_repo
from data.db import session_scope
from dispatch.access import Actor, sees_order, sees_worker
from dispatch.assign import (
    AssignParams,
    AutoDispatched,
    AutoDispatchPolicy,
    Candidate,
    Leave,
    ManualDispatch,
    Nearby,
    NoCandidate,
    Ranking,
    WorkerIndex,
    Workload,
    auto_dispatch,
    evaluate,
    origin_of,
    rank_candidates,
    who_is_near,
)
from dispatch.clock import Clock
from dispatch.errors import AppError
from dispatch.fields import Conflict
from dispatch.geo import LatLon
from dispatch.lifecycle import Refused, transition
from dispatch.localtime import local_day
from dispatch.orders import OrderStatus, WorkOrder
from dispatch.positions import Position
from dispatch.privacy import consent_refusal
from dispatch.sites import Site
from dispatch.workers import Worker
from realtime.bus import ORDERS, Bus
from routing.assignment import BatchAssignment, BatchWorker, assign_batch
from routing.travel import TravelTimes
from services import geojson
from services.order_input import NewOrder

BUSY = (OrderStatus.ASSIGNED, OrderStatus.ACCEPTED, OrderStatus.EN_ROUTE, OrderStatus.ON_SITE)


class NotFound(AppError, LookupError):
    """An order, worker or site the caller named does not exist (404)."""

    def __init__(self, reason: str) -> None:
        super().__init__(404, reason)


@dataclass(frozen=True, slots=True)
class Created:
    order: WorkOrder
    dispatch: AutoDispatched | ManualDispatch | NoCandidate


@dataclass(frozen=True, slots=True)
class Explained:
    order: WorkOrder
    ranking: Ranking
    names: Mapping[int, str]


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What an optimal batch assignment did: (order, worker, ETA) pairs, and the orders left with why."""

    assigned: list[tuple[int, int, float]]
    unassigned: list[tuple[int, str]]
    total_cost_s: float


@dataclass(frozen=True, slots=True)
class _Fleet:
    workers: dict[int, Worker]
    positions: dict[int, Position]
    workloads: dict[int, Workload]
    leaves: dict[int, list[Leave]]


@runtime_checkable
class _ManyToOne(Protocol):
    def durations_to(self, origins: Sequence[LatLon], destination: LatLon) -> list[float | None]: ...


class ToOneSite:
    """Travel times to one site, asked of the provider once for all `origins` (its `durations_to`, when it has
    one); any other pair goes to the provider as usual. Answers exactly what `travel.duration_s` would."""

    def __init__(self, travel: TravelTimes, origins: Sequence[LatLon], site: LatLon) -> None:
        self._travel, self._site = travel, site
        self._known: dict[LatLon, float | None] = {}
        if isinstance(travel, _ManyToOne) and origins:
            unique = list(dict.fromkeys(origins))
            self._known = dict(zip(unique, travel.durations_to(unique, site), strict=True))

    def duration_s(self, a: LatLon, b: LatLon) -> float | None:
        if b == self._site and a in self._known:
            return self._known[a]
        return self._travel.duration_s(a, b)


class DispatchService:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        clock: Clock,
        bus: Bus,
        travel: TravelTimes,
        params: AssignParams,
        policy: AutoDispatchPolicy,
        zone: tzinfo = UTC,
        consent_required: bool = True,
    ) -> None:
        self._sessions = sessions
        self._zone = zone  # the office's: leaves are whole local days
        # OUTFIELD_CONSENT_REQUIRED: a worker not tracked (no consent, or withdrawn) starts from home, never from a
        # fix stored before they withdrew
        self._consent_required = consent_required
        self._clock = clock
        self._bus = bus
        self._travel = travel
        self._params = params
        self._policy = policy

    def create_order(self, *, actor: Actor, new: NewOrder) -> Created:
        """Store a new order; orders of an auto-dispatched type go to the nearest qualified worker at once."""
        now = self._clock.now()
        with session_scope(self._sessions) as session:
            site = sites_repo.get_site(session, new.site_id)
            if site is None:
                raise NotFound(f"site_id: no site with id {new.site_id}")
            try:
                order = orders_repo.add_order(
                    session,
                    site_id=new.site_id,
                    type=new.type,
                    priority=new.priority,
                    window=new.window,
                    service_duration_s=new.service_duration_s,
                    required_skills=new.required_skills,
                    notes=new.notes,
                    reference=new.reference,
                    created_at=now,
                    actor_id=actor.id,
                )
            except orders_repo.DuplicateReference as exc:
                raise Conflict("reference", f"an order {exc.reference!r} already exists") from None
            fleet = self._fleet(session, actor, day=self._day_of(order))
            index = WorkerIndex.build(fleet.workers.values(), fleet.positions)
            decision = auto_dispatch(
                order, site, fleet.workers, policy=self._policy, now=now, index=index,
                workloads=fleet.workloads, leaves=fleet.leaves, travel=self._travel, params=self._params,
            )  # fmt: skip
            if isinstance(decision, AutoDispatched):
                order = orders_repo.save_change(session, decision.change)
        self._publish(order, site)
        return Created(order, decision)

    def candidates(self, *, actor: Actor, order_id: int) -> Explained:
        """Every worker ranked for the order, or excluded with a reason."""
        now = self._clock.now()
        with session_scope(self._sessions) as session:
            order, site = self._order_and_site(session, order_id, actor)
            fleet = self._fleet(session, actor, day=self._day_of(order))
            ranking = self._rank(order, site, fleet, now)
        return Explained(order, ranking, {w.id: w.name for w in fleet.workers.values()})

    def assign(self, *, actor: Actor, order_id: int, worker_id: int, reason: str = "") -> WorkOrder | Refused:
        """Assign (or reassign) the order; choosing someone other than the top candidate is an override, logged with its reason."""
        now = self._clock.now()
        with session_scope(self._sessions) as session:
            order, site = self._order_and_site(session, order_id, actor)
            fleet = self._fleet(session, actor, day=self._day_of(order))
            if worker_id not in fleet.workers:
                raise NotFound(f"worker_id: no worker with id {worker_id}")
            ranking = self._rank(order, site, fleet, now)
            moved = transition(order, OrderStatus.ASSIGNED, actor=actor, at=now, reason=reason, worker_id=worker_id)
            if isinstance(moved, Refused):
                return moved
            excluded = {e.worker_id: e.reason for e in ranking.excluded}
            best = ranking.best
            if best is None or best.worker_id != worker_id:
                if not reason.strip():
                    return Refused("reason: an override of the proposed worker needs a reason")
                audit_repo.record(
                    session, actor_id=actor.id, action="override-assignment", subject_type="order",
                    subject_id=order_id, at=now,
                    details={"chosen": worker_id, "proposed": best.worker_id if best else None,
                             "reason": reason.strip(), "chosen_excluded_because": excluded.get(worker_id)},
                )  # fmt: skip
            order = orders_repo.save_change(session, moved.change)
        self._publish(order, site)
        return order

    def move(
        self,
        *,
        actor: Actor,
        order_id: int,
        to: OrderStatus,
        reason: str = "",
        location: LatLon | None = None,
    ) -> WorkOrder | Refused:
        """Any other lifecycle move (cancel, accept, decline, en route, on site, done, failed)."""
        now = self._clock.now()
        with session_scope(self._sessions) as session:
            order, site = self._order_and_site(session, order_id, actor)
            busy = (
                orders_repo.orders_of_worker(session, worker_id=order.assigned_worker_id)
                if to is OrderStatus.ON_SITE and order.assigned_worker_id is not None
                else []
            )
            moved = transition(order, to, actor=actor, at=now, location=location, reason=reason, worker_orders=busy)
            if isinstance(moved, Refused):
                return moved
            order = orders_repo.save_change(session, moved.change)
        self._publish(order, site, previous_worker_id=moved.change.previous_worker_id)
        return order

    def batch_assign(self, *, actor: Actor, order_ids: list[int] | None = None) -> BatchResult:
        """Assign many new orders at once, optimally (least total travel, as many as possible).

        Every pair is checked by the same rules as one-at-a-time assignment (`dispatch.assign.evaluate`:
        skills, shift for the whole window including travel, leave, room in the day); each worker's
        capacity is the room left in their day. The solver is OR-Tools min-cost flow
        (`routing.assignment.assign_batch`).
        """
        now = self._clock.now()
        changed: list[tuple[WorkOrder, Site]] = []
        with session_scope(self._sessions) as session:
            new = [
                o
                for o in orders_repo.list_orders(session, status=OrderStatus.NEW)
                if order_ids is None or o.id in order_ids
            ]
            if order_ids is not None:
                missing = sorted(set(order_ids) - {o.id for o in new})
                if missing:
                    raise NotFound(f"order_ids: not new or unknown: {', '.join(map(str, missing))}")
            sites = {s.id: s for s in sites_repo.list_sites(session)}
            by_day: dict[date, list[WorkOrder]] = {}
            for order in new:
                by_day.setdefault(self._day_of(order), []).append(order)
            results = [
                self._assign_day(orders, self._fleet(session, actor, day=day), sites, now)
                for day, orders in sorted(by_day.items())
            ]
            pairs = [pair for result in results for pair in result.pairs]
            by_id = {o.id: o for o in new}
            for pair in pairs:
                moved = transition(by_id[pair.order_id], OrderStatus.ASSIGNED, actor=actor, at=now,
                                   reason="batch assignment", worker_id=pair.worker_id)  # fmt: skip
                if isinstance(moved, Refused):  # cannot happen for a NEW order and an office actor
                    raise RuntimeError(moved.reason)
                changed.append((orders_repo.save_change(session, moved.change), sites[by_id[pair.order_id].site_id]))
            total_s = sum(result.total_cost_s for result in results)
            audit_repo.record(
                session, actor_id=actor.id, action="batch-assign", subject_type="orders", subject_id=None, at=now,
                details={"orders": len(new), "assigned": len(pairs), "total_cost_s": round(total_s, 1)},
            )  # fmt: skip
        for order, site in changed:
            self._publish(order, site)
        return BatchResult(
            assigned=[(p.order_id, p.worker_id, p.cost_s) for p in pairs],
            unassigned=[(u.order_id, u.reason) for result in results for u in result.unassigned],
            total_cost_s=total_s,
        )

    def _assign_day(
        self, orders: Sequence[WorkOrder], fleet: _Fleet, sites: Mapping[int, Site], now: datetime
    ) -> BatchAssignment:
        """One day's new orders to `fleet` (its workloads and leaves are that day's), each worker up to the room left
        in that day."""
        workers = [w for w in fleet.workers.values() if w.active]
        costs: list[list[float | None]] = []
        for order in orders:
            row: list[float | None] = []
            for worker in workers:
                verdict = evaluate(
                    order, sites[order.site_id], worker, origin_of(worker, fleet.positions), now=now,
                    workload=fleet.workloads.get(worker.id, Workload()), leaves=fleet.leaves.get(worker.id, ()),
                    travel=self._travel, params=self._params,
                )  # fmt: skip
                row.append(verdict.eta_s if isinstance(verdict, Candidate) else None)
            costs.append(row)
        capacity = [
            BatchWorker(
                w.id, max(0, self._params.max_orders_per_day - fleet.workloads.get(w.id, Workload()).orders_today)
            )
            for w in workers
        ]
        return assign_batch([o.id for o in orders], capacity, costs)

    def apply_plan(self, *, actor: Actor, assignments: list[tuple[int, int]]) -> dict[str, list[Any]]:
        """Assign each planned order to its planned worker (new, or reassigned when it moved).

        Orders already under way (en route, on site) or finished keep their worker; they are reported
        as kept. Everything goes through the lifecycle, is recorded, and is pushed to the consoles
        and to the workers' open pages.
        """
        now = self._clock.now()
        changed: list[tuple[WorkOrder, Site, int | None]] = []
        report: dict[str, list[Any]] = {"assigned": [], "kept": []}
        with session_scope(self._sessions) as session:
            for order_id, worker_id in assignments:
                order, site = self._order_and_site(session, order_id, actor)
                if order.assigned_worker_id == worker_id and order.status is not OrderStatus.NEW:
                    continue
                # The plan assigns, not a person at the desk: the lifecycle's automatic dispatcher (actor
                # None), with the publishing user named in the reason and in the plan's audit entry.
                moved = transition(
                    order,
                    OrderStatus.ASSIGNED,
                    actor=None,
                    at=now,
                    reason=f"published plan, by {actor.name}",
                    worker_id=worker_id,
                )
                if isinstance(moved, Refused):
                    report["kept"].append({"order_id": order_id, "reason": moved.reason})
                    continue
                changed.append((orders_repo.save_change(session, moved.change), site, moved.change.previous_worker_id))
                report["assigned"].append({"order_id": order_id, "worker_id": worker_id})
        for order, site, previous in changed:
            self._publish(order, site, previous_worker_id=previous)
        return report

    def who_is_near(self, *, actor: Actor, point: LatLon, n: int, skills: frozenset[str]) -> list[tuple[Nearby, str]]:
        """The `n` available workers (on shift, not on leave, with the skills) nearest to `point` by travel time."""
        now = self._clock.now()
        with session_scope(self._sessions) as session:
            fleet = self._fleet(session, actor, day=local_day(now, self._zone))
            audit_repo.record(
                session, actor_id=actor.id, action="who-is-near", subject_type="fleet", subject_id=None, at=now,
                details={"n": n, "skills": sorted(skills)},
            )  # fmt: skip
        index = WorkerIndex.build(fleet.workers.values(), fleet.positions)
        found = who_is_near(
            point, fleet.workers, now=now, index=index, travel=self._travel, n=n, skills=skills,
            leaves=fleet.leaves, params=self._params,
        )  # fmt: skip
        return [(near, fleet.workers[near.worker_id].name) for near in found]

    def history(self, *, order_id: int) -> list[Any]:
        with session_scope(self._sessions) as session:
            if orders_repo.get_order(session, order_id) is None:
                raise NotFound(f"no order with id {order_id}")
            return orders_repo.order_history(session, order_id=order_id)

    def _rank(self, order: WorkOrder, site: Site, fleet: _Fleet, now: datetime) -> Ranking:
        # Every qualified worker's travel time to the site in one query, not one query per worker.
        origins = [
            origin[0]
            for w in fleet.workers.values()
            if w.active and order.required_skills <= w.skills and (origin := origin_of(w, fleet.positions))
        ]
        travel = ToOneSite(self._travel, origins, site.location)
        return rank_candidates(
            order, site, fleet.workers.values(), now=now, positions=fleet.positions,
            workloads=fleet.workloads, leaves=fleet.leaves, travel=travel, params=self._params,
        )  # fmt: skip

    def _order_and_site(self, session: Session, order_id: int, actor: Actor) -> tuple[WorkOrder, Site]:
        """The order and its site; NotFound for a missing order and for one outside a team-scoped actor's teams."""
        order = orders_repo.get_order(session, order_id)
        worker = (
            workers_repo.get_worker(session, order.assigned_worker_id) if order and order.assigned_worker_id else None
        )
        if order is None or not sees_order(actor, worker.team if worker is not None else None):
            raise NotFound(f"no order with id {order_id}")
        site = sites_repo.get_site(session, order.site_id)
        if site is None:
            raise NotFound(f"order {order_id} has no site")
        return order, site

    def _day_of(self, order: WorkOrder) -> date:
        """The office's day an order is booked on: the one its window starts on."""
        return local_day(order.window.start, self._zone)

    def _fleet(self, session: Session, actor: Actor, *, day: date) -> _Fleet:
        """The workers `actor` may dispatch (their teams' only, for a team-scoped user), with their state, and with
        their workload and leaves on `day` (the office's day of the order being dispatched): eight orders booked
        for today do not fill tomorrow, and a leave tomorrow counts for tomorrow's orders."""
        workers = {w.id: w for w in workers_repo.list_workers(session) if sees_worker(actor, w.team)}
        busy: dict[int, Workload] = {}
        for o in orders_repo.list_orders(session, status=BUSY):
            if o.assigned_worker_id is None or self._day_of(o) != day:
                continue
            w = busy.get(o.assigned_worker_id, Workload())
            busy[o.assigned_worker_id] = Workload(w.orders_today + 1, w.booked_s + o.service_duration_s)
        untracked = {
            w for w, state in privacy_repo.consent_states(session).items()
            if consent_refusal(state, required=self._consent_required) is not None
        }  # fmt: skip
        return _Fleet(
            workers=workers,
            positions={w: p for w, p in positions_repo.latest_positions(session).items() if w not in untracked},
            workloads=busy,
            leaves=workers_repo.leaves_overlapping(session, start=day, end=day + timedelta(days=1), zone=self._zone),
        )

    def _publish(self, order: WorkOrder, site: Site, *, previous_worker_id: int | None = None) -> None:
        feature = geojson.order_feature(order, site)
        lon, lat = feature["geometry"]["coordinates"]
        self._bus.publish(
            ORDERS,
            {"order": {**feature["properties"], "lat": lat, "lon": lon}, "previous_worker_id": previous_worker_id},
        )


def explained_json(explained: Explained) -> dict[str, Any]:
    """The candidates API body: ranked candidates with ETA and score, excluded workers with reasons."""
    names = explained.names
    return {
        "order_id": explained.order.id,
        "status": explained.order.status.value,
        "candidates": [
            {
                "rank": i + 1,
                "worker_id": c.worker_id,
                "name": names.get(c.worker_id, ""),
                "eta_s": round(c.eta_s, 1),
                "score_s": round(c.score_s, 1),
                "distance_m": round(c.distance_m, 1),
                "origin": c.origin_kind.value,
                "arrive_at": c.arrive_at.isoformat(),
                "late_s": round(c.late_s, 1),
            }
            for i, c in enumerate(explained.ranking.candidates)
        ],
        "excluded": [
            {"worker_id": e.worker_id, "name": names.get(e.worker_id, ""), "kind": e.kind.value, "reason": e.reason}
            for e in explained.ranking.excluded
        ],
    }


def order_json(order: WorkOrder) -> dict[str, Any]:
    return {
        "id": order.id,
        "reference": order.reference,
        "site_id": order.site_id,
        "type": order.type.value,
        "priority": order.priority,
        "required_skills": sorted(order.required_skills),
        "window_start": order.window.start.isoformat(),
        "window_end": order.window.end.isoformat(),
        "service_duration_s": order.service_duration_s,
        "status": order.status.value,
        "assigned_worker_id": order.assigned_worker_id,
        "notes": order.notes,
    }
