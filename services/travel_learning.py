"""Learn travel times from the fleet's own trips, and use them when enough trips were seen.

`learn` reads the stored fixes of a period, cuts each worker's days into trips
(`dispatch.trajectory.detect_trips`), fits the time-of-day factors on three days in four and
measures the ETA error of road times alone and of road times × factors on the fourth (held out).
The factors it keeps are then fitted on every trip. `python -m console learn-travel` runs it and
writes `var/learned-travel.json`; the console and the plan worker read that file at start
(`travel_times`) and, without it or with too few trips, use the road times unchanged.
Positions never leave this module: only trips' end points, times and the factors do.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from data import positions_repo, workers_repo
from data.db import session_scope
from dispatch.trajectory import detect_trips
from routing.learned import (
    EtaError,
    LearnedTravel,
    TimeOfDayFactors,
    TripObservation,
    eta_errors,
    fit_factors,
    learned_estimate,
    observations,
    road_estimate,
)
from routing.travel import TravelTimes

log = logging.getLogger(__name__)

LEARNED_FILE = "learned-travel.json"
HOLD_OUT_EVERY = 4
"""Every fourth day's trips are held out of the fit to measure the ETA error on."""


@dataclass(frozen=True, slots=True)
class LearningReport:
    """What was learned and how much it helps on trips it was not fitted on (None: not enough trips)."""

    trips: int
    held_out: int
    before: EtaError
    after: EtaError | None
    factors: TimeOfDayFactors | None

    def to_json(self) -> dict[str, Any]:
        return {
            "trips": self.trips,
            "held_out": self.held_out,
            "eta_error_road_times": asdict(self.before),
            "eta_error_learned": asdict(self.after) if self.after is not None else None,
            "factors_by_hour": [round(f, 3) for f in self.factors.by_hour] if self.factors else None,
            "trips_by_hour": list(self.factors.trips_by_hour) if self.factors else None,
            "timezone": self.factors.timezone if self.factors else None,
            "learned": self.factors is not None,
        }


def trips_of_period(
    sessions: sessionmaker[Session], *, first: date, last: date, timezone: str = "UTC"
) -> list[TripObservation]:
    """Every worker's trips between `first` and `last` (local days), in time order."""
    zone = ZoneInfo(timezone)
    found: list[TripObservation] = []
    with session_scope(sessions) as session:
        worker_ids = [w.id for w in workers_repo.list_workers(session)]
        day = first
        while day <= last:
            start = datetime.combine(day, time(0), zone)
            end = start + timedelta(days=1)
            for worker_id in worker_ids:
                fixes = positions_repo.positions_between(session, worker_id=worker_id, start=start, end=end)
                found.extend(observations(detect_trips(fixes)))
            day += timedelta(days=1)
    return sorted(found, key=lambda t: t.departed_at)


def evaluate(trips: list[TripObservation], base: TravelTimes, *, timezone: str = "UTC") -> LearningReport:
    """Fit on the trips of three days in four, measure on the fourth day's, keep the factors fitted on all.

    Whole days are held out, not single trips: a day's trips share its traffic, so a held-out trip of a
    day fitted on would flatter the factors."""
    zone = ZoneInfo(timezone)

    def held(t: TripObservation) -> bool:
        return t.departed_at.astimezone(zone).date().toordinal() % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1

    held_out = [t for t in trips if held(t)]
    training = [t for t in trips if not held(t)]
    before = eta_errors(held_out, road_estimate(base))
    trained = fit_factors(training, base, timezone=timezone)
    after = eta_errors(held_out, learned_estimate(base, trained)) if trained is not None else None
    return LearningReport(len(trips), len(held_out), before, after, fit_factors(trips, base, timezone=timezone))


def save(factors: TimeOfDayFactors, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(factors)))
    tmp.replace(path)


def load(path: Path) -> TimeOfDayFactors | None:
    """The saved factors, or None when there are none (or the file is unreadable: logged)."""
    if not path.exists():
        return None
    try:
        raw = json.loads(path.read_text())
        return TimeOfDayFactors(tuple(raw["by_hour"]), tuple(raw["trips_by_hour"]), raw.get("timezone", "UTC"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("learned travel times in %s are unreadable (%s): road times are used", path, exc)
        return None


def travel_times(base: TravelTimes, var_dir: Path, now: Callable[[], datetime]) -> TravelTimes:
    """The road times × the learned factors when `var_dir` holds them, else the road times unchanged."""
    factors = load(var_dir / LEARNED_FILE)
    if factors is None:
        return base
    log.info("travel times: road times x the factors learned from %d trips", factors.trips)
    return LearnedTravel(base, factors, now)
