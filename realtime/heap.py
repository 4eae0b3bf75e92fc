"""The heap of a long-lived server process once it is built: frozen, and the young generation collected less often.

`console/serve.py` settles each console worker's heap once its app is built; `bench/alerts.py` settles its own in
the same way after its warm-up, so it measures what a worker pays.
"""

from __future__ import annotations

import gc

YOUNG_COLLECTION_AFTER = 10_000
"""Net new container objects between two young collections (CPython's default: 700)."""


def settle_heap() -> None:
    """Once a worker's app is built: freeze the heap and collect the young generation less often.

    The app's objects live as long as the process: out of the collector's sight (`gc.freeze`), a full collection walks
    only what came later. The fixes the alert evaluator gathers (0.1-0.5 s, thousands on the batch path) outlive
    CPython's young collections, one every 700 new objects: each collection walked them, moved them to the middle
    generation and walked them again there, ~0.4 µs per fix the ingestion paid for evaluation (bench/README.md,
    "Alerts", tenth session). With a young collection every `YOUNG_COLLECTION_AFTER` new objects, most windows are
    evaluated and freed before one comes; a cycle of garbage still goes at the next (each walks at most about that
    many young objects, ~1 ms).
    """
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_AFTER, *gc.get_threshold()[1:])
