"""A worker's stops, trips and raw track over a time range: read, derived (dispatch.trajectory), audited.

Stops and trips reveal where someone was just as positions do, so each read is written to the
audit log like a positions read, under its own action.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from dispatch.access import Actor
from dispatch.clock import Clock
from dispatch.positions import Position
from dispatch.trajectory import Stop, StopParams, Trip, detect_stops, detect_trips
from services.live_service import audited_positions


class TrackService:
    def __init__(self, *, sessions: sessionmaker[Session], clock: Clock, params: StopParams | None = None) -> None:
        self.sessions = sessions
        self.clock = clock
        self.params = params or StopParams()

    def fixes(
        self, *, actor: Actor, worker_id: int, start: datetime, end: datetime, view: str
    ) -> list[Position] | None:
        """Every stored fix of the worker in [start, end], oldest first; None for an unknown worker. Audited."""
        return audited_positions(
            self.sessions, self.clock, actor=actor, worker_id=worker_id, start=start, end=end, view=view
        )

    def stops(self, *, actor: Actor, worker_id: int, start: datetime, end: datetime) -> list[Stop] | None:
        fixes = self.fixes(actor=actor, worker_id=worker_id, start=start, end=end, view="stops")
        return None if fixes is None else detect_stops(fixes, self.params)

    def trips(self, *, actor: Actor, worker_id: int, start: datetime, end: datetime) -> list[Trip] | None:
        fixes = self.fixes(actor=actor, worker_id=worker_id, start=start, end=end, view="trips")
        return None if fixes is None else detect_trips(fixes, self.params)

    def track(self, *, actor: Actor, worker_id: int, start: datetime, end: datetime) -> list[Position] | None:
        return self.fixes(actor=actor, worker_id=worker_id, start=start, end=end, view="track")
