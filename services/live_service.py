"""Small facades the HTTP views and Dash callbacks call: one call per user action.

Each takes the actor it acts for; reading someone's location is written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from data import audit_repo, field_repo, orders_repo, positions_repo, privacy_repo, sites_repo, workers_repo
from data.db import session_scope
from dispatch.access import Actor, sees_worker
from dispatch.clock import Clock
from dispatch.orders import OrderStatus
from dispatch.positions import Position
from dispatch.privacy import ConsentState, consent_state
from services import geojson

OPEN_STATUSES = (
    OrderStatus.NEW,
    OrderStatus.ASSIGNED,
    OrderStatus.ACCEPTED,
    OrderStatus.EN_ROUTE,
    OrderStatus.ON_SITE,
)
MAX_HISTORY = timedelta(days=31)
LIVE_VIEW_SPAN = timedelta(minutes=1)
"""Reads of the live map by one user within this span are one viewing, audited once: the page's load and its
socket's first read a second later are not two entries. A read a minute or more after the last audited one is."""


@dataclass(frozen=True, slots=True)
class LiveSnapshot:
    workers: dict[str, Any]
    orders: dict[str, Any]


class Services:
    def __init__(self, *, sessions: sessionmaker[Session], clock: Clock, consent_required: bool = True) -> None:
        self.sessions = sessions
        self.clock = clock
        self.consent_required = consent_required  # OUTFIELD_CONSENT_REQUIRED: who the live map says is not tracked

    def live_snapshot(self, *, actor: Actor) -> LiveSnapshot:
        """Every worker at their last known place and today's open orders, as map layers.

        An order with an open suspicious check-in alert carries its flag, so a reloaded map still shows it. A worker
        whose fixes are not kept (no consent, or withdrawn) is shown at their home base, saying why, never at a fix.
        """
        now = self.clock.now()
        with session_scope(self.sessions) as session:
            workers = [w for w in workers_repo.list_workers(session) if w.active and sees_worker(actor, w.team)]
            seen = {w.id for w in workers}  # a deactivated worker leaves the map; a scoped user sees their teams
            latest = {wid: p for wid, p in positions_repo.latest_positions(session).items() if wid in seen}
            orders = [
                o
                for o in orders_repo.list_orders(session, status=OPEN_STATUSES)
                if o.assigned_worker_id is None or o.assigned_worker_id in seen
            ]
            sites = {s.id: s for s in sites_repo.list_sites(session)}
            flags = field_repo.checkin_flags(session, [o.id for o in orders])
            consents = privacy_repo.consent_states(session)
            if not audit_repo.recorded_since(
                session, actor_id=actor.id, action="view-live-map", since=now - LIVE_VIEW_SPAN
            ):
                audit_repo.record(
                    session, actor_id=actor.id, action="view-live-map", subject_type="fleet", subject_id=None, at=now
                )
        return LiveSnapshot(
            workers=geojson.workers_to_geojson(
                workers, latest, now, geojson.active_orders(orders), untracked=self._untracked(consents)
            ),
            orders=geojson.orders_to_geojson(orders, sites, flags),
        )

    def _untracked(self, consents: dict[int, ConsentState]) -> dict[int, str]:
        reasons = {w: geojson.untracked_reason(c, required=self.consent_required) for w, c in consents.items()}
        return {w: why for w, why in reasons.items() if why is not None}

    def worker_card(self, *, actor: Actor, worker_id: int) -> dict[str, Any] | None:
        """What the dispatcher sees on clicking a worker; None for an unknown worker."""
        now = self.clock.now()
        with session_scope(self.sessions) as session:
            worker = workers_repo.get_worker(session, worker_id)
            if worker is None or not sees_worker(actor, worker.team):
                return None
            last = positions_repo.last_position(session, worker_id=worker_id)
            current = next(
                (
                    o
                    for o in orders_repo.list_orders(session)
                    if o.assigned_worker_id == worker_id and o.status in OPEN_STATUSES[1:]
                ),
                None,
            )
            site = sites_repo.get_site(session, current.site_id) if current else None
            consent = consent_state(privacy_repo.latest_consent(session, worker_id))
            audit_repo.record(
                session, actor_id=actor.id, action="view-worker", subject_type="worker", subject_id=worker_id, at=now
            )
        return {
            "worker_id": worker.id,
            "name": worker.name,
            "team": worker.team,
            "skills": sorted(worker.skills),
            "on_shift": worker.on_shift(now),
            "last_fix_time": last.fix_time if last else None,
            "battery_pct": last.battery_pct if last else None,
            "speed_mps": last.speed_mps if last else None,
            "consent": consent.value,  # the page words these in the reader's language
            "current_order": (
                {"type": current.type.value, "site": site.name if site else "?", "status": current.status.value}
                if current
                else None
            ),
        }

    def positions_between(self, *, actor: Actor, worker_id: int, start: datetime, end: datetime) -> list[Any] | None:
        """A worker's stored positions in [start, end]; None for an unknown worker. Audited."""
        return audited_positions(
            self.sessions, self.clock, actor=actor, worker_id=worker_id, start=start, end=end, view="positions"
        )

    def list_workers(self) -> list[Any]:
        with session_scope(self.sessions) as session:
            return workers_repo.list_workers(session)


def audited_positions(
    sessions: sessionmaker[Session],
    clock: Clock,
    *,
    actor: Actor,
    worker_id: int,
    start: datetime,
    end: datetime,
    view: str,
) -> list[Position] | None:
    """Every stored fix of the worker in [start, end], oldest first; None for an unknown worker.

    Audited as `view-{view}` (view-positions, view-stops, ...) with the range and how many fixes were read.
    """
    with session_scope(sessions) as session:
        worker = workers_repo.get_worker(session, worker_id)
        if worker is None or not sees_worker(actor, worker.team):
            return None  # a worker outside a team-scoped actor's teams is as unknown as a missing one
        positions = positions_repo.positions_between(session, worker_id=worker_id, start=start, end=end)
        audit_repo.record(
            session,
            actor_id=actor.id,
            action=f"view-{view}",
            subject_type="worker",
            subject_id=worker_id,
            at=clock.now(),
            details={"from": start.isoformat(), "to": end.isoformat(), "count": len(positions)},
        )
    return positions
