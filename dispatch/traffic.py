"""Traffic: how much longer than the road network's free-flow time a drive takes, by the local hour it sets off in.

Pure values. The demo's simulated phones drive with it (`realtime.simulator`), and so do the past days the demo seeds
(`dispatch.day_progress.worked_as_planned`): the fleet's stored trips then carry rush hours for `routing.learned`
to learn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

DEMO_RUSH_HOURS = (
    1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,  # 00-06 h: free flow
    1.2, 1.45, 1.2,  # 07-09 h: the morning rush, worst from 8 to 9
    1.0, 1.0, 1.1, 1.1,  # 10-13 h: lunch
    1.0, 1.0, 1.0,  # 14-16 h
    1.25, 1.35, 1.15,  # 17-19 h: the evening rush
    1.0, 1.0, 1.0, 1.0,  # 20-23 h
)  # fmt: skip
"""The demo town's traffic: how much longer than the road network's free-flow time a drive takes, by the local hour
it sets off in. Made up for the demo (no traffic data of Monaco ships), so that the fleet's trips carry a rush hour
for `routing.learned` to learn; bench/learned_travel.py compares what it learns with these."""


@dataclass(frozen=True, slots=True)
class Traffic:
    """How much longer than the road route's time a drive takes, by the hour (0-23, in `zone`) it sets off in."""

    slowdown_by_hour: tuple[float, ...]
    zone: tzinfo = UTC

    def __post_init__(self) -> None:
        if len(self.slowdown_by_hour) != 24:
            raise ValueError(f"slowdown_by_hour needs 24 values, one per hour, not {len(self.slowdown_by_hour)}")
        if not all(math.isfinite(f) and 0.2 <= f <= 5.0 for f in self.slowdown_by_hour):
            raise ValueError("every slowdown must be a number from 0.2 to 5")

    def slowdown_at(self, at: datetime) -> float:
        """The slowdown of a drive that sets off at `at` (aware)."""
        return self.slowdown_by_hour[at.astimezone(self.zone).hour]
