"""Plain factories with fixed defaults and keyword overrides (no Faker, no fuzz)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from dispatch.geo import LatLon
from dispatch.positions import Position
from dispatch.workers import Shift, Worker

MONACO_CASINO = LatLon(43.7394, 7.4276)
EVERY_DAY_7_TO_19 = Shift(weekdays=(0, 1, 2, 3, 4, 5, 6), start=time(7), end=time(19))
"""The default shift of test workers: it covers every fixed clock time the tests use (08:00 by default)."""
ALL_DAY_CSV = "Mon-Sun,00:00,24:00"
"""shift_days,shift_start,shift_end of a worker CSV row for tests that run on the wall clock: with the
15-minute grace on locations, such a worker's positions are kept at any hour the test runs."""


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)


def make_worker(**overrides: Any) -> Worker:
    values: dict[str, Any] = {
        "id": 1,
        "name": "Ana Rossi",
        "device_id": "dev-1",
        "skills": frozenset({"gas"}),
        "shifts": (EVERY_DAY_7_TO_19,),
        "home_base": MONACO_CASINO,
        "team": "Centre",
    }
    values.update(overrides)
    return Worker(**values)


def make_position(
    fix_time: str = "2025-03-03T08:00:00Z", lat: float = 43.7394, lon: float = 7.4276, **kw: Any
) -> Position:
    values: dict[str, Any] = {
        "worker_id": 1,
        "device_id": "dev-1",
        "fix_time": at(fix_time),
        "device_time": at(fix_time),
        "server_time": at(kw.pop("server_time", fix_time)),
        "latitude": lat,
        "longitude": lon,
    }
    values.update(kw)
    return Position(**values)
