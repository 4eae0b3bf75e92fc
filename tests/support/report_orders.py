"""Orders of every shape for the report tests, with their check-ins and ratings, drawn from one seeded random.

A test says how each order's window, creation, status and people are drawn (`Draw`); the rest (when it ended,
its type, check-ins with verdicts, a rating now and then) is drawn the same way for every test, in one order,
so the same seed gives the same rows.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from data.tables import CheckinRow, SiteRow, SurveyAnswerRow, WorkerRow, WorkOrderRow

VERDICTS = ("verified", "verified", "verified", "outside_geofence", "late")
TYPES = ("repair", "visit", "inspection")


@dataclass(frozen=True)
class Drawn:
    """One order as far as the test draws it: its window start (the window lasts 2 h), when it was created,
    its status, its worker (None: unassigned), when it was assigned and when the worker got on site."""

    start: datetime
    created: datetime
    status: str
    worker: int | None
    assigned: datetime | None
    on_site: datetime | None


Draw = Callable[[random.Random, int], Drawn]
"""Draws order number `i` (from 1) from the shared random."""


def seed_orders(session: Session, *, seed: int, orders: int, draw: Draw) -> None:
    """A site, three workers (W1, W2 of team North, W3 of South) and `orders` orders drawn by `draw`: those done or
    failed end 5-90 min after getting on site; each on-site one has one or two check-ins (and a check-out once
    ended) with a random verdict; half of the ended ones have a rating of 1-5."""
    rng = random.Random(seed)
    session.add(SiteRow(id=1, name="Port", address="", latitude=43.73, longitude=7.42, geofence_radius_m=50))
    for w in (1, 2, 3):
        session.add(WorkerRow(id=w, name=f"W{w}", device_id=f"d{w}", team="North" if w < 3 else "South"))
    session.flush()
    for i in range(1, orders + 1):
        o = draw(rng, i)
        ended = (
            o.on_site + timedelta(minutes=rng.randrange(5, 90))
            if o.on_site and o.status in ("done", "failed")
            else None
        )
        session.add(
            WorkOrderRow(id=i, site_id=1, type=rng.choice(TYPES), priority=3, window_start=o.start,
                         window_end=o.start + timedelta(hours=2), service_duration_s=1800, status=o.status,
                         assigned_worker_id=o.worker, created_at=o.created, assigned_at=o.assigned,
                         on_site_at=o.on_site, ended_at=ended, failed_once=o.status == "failed" or rng.random() < 0.1)
        )  # fmt: skip
        session.flush()
        if o.on_site and o.worker:
            for kind in ["in"] * rng.randrange(1, 3) + (["out"] if ended else []):
                session.add(
                    CheckinRow(order_id=i, worker_id=o.worker, kind=kind, at=o.on_site, verdict=rng.choice(VERDICTS))
                )
        if ended and rng.random() < 0.5:
            session.add(SurveyAnswerRow(order_id=i, worker_id=o.worker, link_id=f"l{i}", rating=rng.randrange(1, 6),
                                        answered_at=ended))  # fmt: skip
    session.commit()
