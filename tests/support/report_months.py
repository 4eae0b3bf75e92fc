"""Three months and a half of orders (January 10 to April 20, 2026) for the report sums kept per month."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from tests.support.report_orders import Drawn, seed_orders

T0 = datetime(2026, 1, 10, 6, 0, tzinfo=UTC)
STATUSES = ("assigned", "on_site", "done", "done", "done", "failed", "cancelled")


def _draw(rng: random.Random, i: int) -> Drawn:
    """Windows anywhere in 100 days from T0, created 1-48 h before; a tenth unassigned (and so new); on site up to
    3 h after the window opens."""
    start = T0 + timedelta(minutes=rng.randrange(0, 100 * 24 * 60))
    created = start - timedelta(hours=rng.randrange(1, 48))
    status = rng.choice(STATUSES)
    worker = None if rng.random() < 0.1 else rng.choice((1, 2, 3))
    status = "new" if worker is None else status
    assigned = created + timedelta(seconds=rng.randrange(10, 3000)) if worker else None
    on_site = start + timedelta(minutes=rng.randrange(0, 180)) if worker and status != "assigned" else None
    return Drawn(start, created, status, worker, assigned, on_site)


def seed_months(session: Session) -> None:
    """Orders from January into April: unassigned, unfinished, failed, with and without check-ins and ratings."""
    seed_orders(session, seed=11, orders=240, draw=_draw)
