"""The demo's day in progress on a running console, for the wall screen's tests and screenshots.

`seed-demo` works the day up to a fixed moment (yesterday 10:40 UTC: always in the past, so every
fix is accepted, and inside the rota's morning); then each worker on shift reports one fix from
where that day put them: on site at their order, part way to it, or at home. The moment is the
injected clock: the same seed gives the same day, order by order, at any hour the tests run.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import requests

from data.db import make_engine, make_sessionmaker, session_scope
from data.orders_repo import list_orders
from data.scenario import demo_day
from data.sites_repo import list_sites
from data.workers_repo import list_workers
from dispatch.day_progress import DayOrder, DayWorker, day_at
from dispatch.orders import OrderStatus

ACTIVE = (OrderStatus.NEW, OrderStatus.ASSIGNED, OrderStatus.ACCEPTED, OrderStatus.EN_ROUTE, OrderStatus.ON_SITE)


def demo_moment(today: datetime | None = None) -> datetime:
    """Yesterday (UTC) at 10:40: in the past whatever the time now, within the positions' retention."""
    day = (today or datetime.now(UTC)).date() - timedelta(days=1)
    return datetime.combine(day, time(10, 40), tzinfo=UTC)


def seed_day_in_progress(
    env: dict[str, str], now: datetime, *, workers: int = 30, orders: int = 120, all_day: bool = False
) -> None:
    """`python -m data seed-demo` for `now`'s day, worked up to `now`, on the server's database (whose office
    zone is UTC, `tests.support.servers`). `all_day` puts every worker on shift round the clock (`--all-day`): a
    page read at any hour then shows the fixes sent for `now` (a worker off shift when the page is read is drawn
    at home, location not kept)."""
    from tests.support.servers import run_cli

    assert demo_day(now, ZoneInfo("UTC")) == now.date()
    run_cli("data", "seed-demo", "--day", now.date().isoformat(), "--now", now.isoformat(),
            "--workers", str(workers), "--orders", str(orders), *(["--all-day"] if all_day else []), env=env)  # fmt: skip


def report_fleet(
    url: str, token: str, database_url: str, now: datetime, *, seed: int = 0, silent_every: int = 0
) -> int:
    """Every worker on shift at `now` sends one fix from where the day put them, but every `silent_every`-th of them
    (by id; 0: none), whose phone stays silent; returns how many did."""
    engine = make_engine(database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            workers = list_workers(session)
            sites = {s.id: s.location for s in list_sites(session)}
            orders = list_orders(session)
    finally:
        engine.dispose()
    # Where each worker is: recomputed from the stored day (the same orders, the same moment).
    progress = day_at(
        now.date(),
        [DayOrder(o.id, sites[o.site_id], o.required_skills, o.window, o.service_duration_s) for o in orders
         if o.window.start.date() == now.date()],
        [DayWorker(w.id, w.skills, w.shifts[0], w.home_base) for w in workers if w.home_base is not None and w.shifts],
        now=now,
        rng=random.Random(f"{seed}:day-in-progress"),
    )  # fmt: skip
    on_shift = [w for w in workers if w.on_shift(now) and w.id in progress.places]
    if silent_every:
        on_shift = [w for i, w in enumerate(sorted(on_shift, key=lambda w: w.id)) if (i + 1) % silent_every]
    batch = [
        {"id": w.device_id, "lat": round(progress.places[w.id].lat, 6), "lon": round(progress.places[w.id].lon, 6),
         "timestamp": now.isoformat(), "speed": 0, "batt": 80}
        for w in on_shift
    ]  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    for start in range(0, len(batch), 50):
        answer = requests.post(f"{url}/api/v1/positions", json=batch[start : start + 50], headers=headers, timeout=30)
        answer.raise_for_status()
    return len(batch)
