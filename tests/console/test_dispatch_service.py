"""The dispatch service's travel-time batching: an order's candidates cost one travel query, not one per worker."""

from __future__ import annotations

from collections.abc import Sequence

from dispatch.geo import LatLon
from routing.travel import StraightLine
from services.dispatch_service import ToOneSite

SITE = LatLon(43.7394, 7.4276)
FIXES = [LatLon(43.7300, 7.4200), LatLon(43.7350, 7.4250), LatLon(43.7300, 7.4200)]


class CountingRoads(StraightLine):
    """Straight-line times that count how often they are asked, pair by pair and all at once."""

    pairs: int = 0
    batches: int = 0

    def duration_s(self, a: LatLon, b: LatLon) -> float:
        object.__setattr__(self, "pairs", self.pairs + 1)
        return super().duration_s(a, b)

    def durations_to(self, origins: Sequence[LatLon], destination: LatLon) -> list[float | None]:
        object.__setattr__(self, "batches", self.batches + 1)
        return [StraightLine.duration_s(self, a, destination) for a in origins]


def test_etas_to_the_site_come_from_one_query_and_equal_the_pairwise_ones() -> None:
    """Tests that ranking workers for an order asks the road network once for every worker's ETA to the site,
    with the same ETAs as asking pair by pair; any other pair is still asked as usual."""
    roads = CountingRoads()
    to_site = ToOneSite(roads, FIXES, SITE)
    assert [to_site.duration_s(a, SITE) for a in FIXES] == [StraightLine().duration_s(a, SITE) for a in FIXES]
    assert (roads.batches, roads.pairs) == (1, 0)
    assert to_site.duration_s(SITE, FIXES[0]) == StraightLine().duration_s(SITE, FIXES[0])
    assert roads.pairs == 1


def test_a_provider_without_batch_queries_is_asked_pair_by_pair() -> None:
    """Tests that a travel-time provider without `durations_to` still ranks workers, asked one pair at a time."""

    class PairsOnly:
        def duration_s(self, a: LatLon, b: LatLon) -> float:
            return 60.0

        def table(self, points: Sequence[LatLon]) -> list[list[float | None]]:
            return [[60.0] * len(points) for _ in points]

        def route(self, a: LatLon, b: LatLon) -> None:
            return None

    assert ToOneSite(PairsOnly(), FIXES, SITE).duration_s(FIXES[0], SITE) == 60.0  # type: ignore[arg-type]
