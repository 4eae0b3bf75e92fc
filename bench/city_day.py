"""The synthetic city day of issue #15: 1,000 visits at 700 sites over 6 km x 6 km, 100 workers, breaks.

The Monaco day's rules (bench/monaco_day.py: skills, windows, priorities, optional visits, three
bases, 30-minute breaks, part-timers) on seeded random sites around Paris, straight-line travel.
`bench/routing.py --suites city` and `bench/routing_city.py` plan it; `seed` fixes the day.
"""

from __future__ import annotations

import random

import monaco_day

from dispatch.geo import LatLon
from routing.problem import Problem
from routing.travel import StraightLine

LABEL = "city day (1,000 visits at 700 sites over 6 km x 6 km, 100 workers, breaks), straight-line travel"


def city_problem(seed: int) -> tuple[Problem, str]:
    """1,000 visits at 700 sites spread over 6 km x 6 km, 100 workers from 3 bases, the Monaco day's rules."""
    rng = random.Random(seed)
    centre = LatLon(48.8566, 2.3522)
    sites = [
        LatLon(centre.lat + rng.uniform(-0.027, 0.027), centre.lon + rng.uniform(-0.041, 0.041)) for _ in range(700)
    ]
    problem = monaco_day.scenario(rng, sites, StraightLine(), visits=1000, workers=100)
    return problem, LABEL
