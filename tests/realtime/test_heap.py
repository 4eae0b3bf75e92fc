"""A console worker's heap once its app is built (`realtime/heap.py::settle_heap`): frozen, young collections rarer,
and garbage cycles still reclaimed without anyone asking."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from realtime.heap import YOUNG_COLLECTION_AFTER, settle_heap


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


@pytest.fixture
def settled() -> Iterator[None]:
    threshold = gc.get_threshold()
    was_enabled = gc.isenabled()
    gc.enable()
    settle_heap()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
        if not was_enabled:
            gc.disable()


def _cycle() -> weakref.ref[_Node]:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    ref = weakref.ref(a)
    del a, b  # only the cycle holds them now: freed by a collection, never by their counts
    assert ref() is not None
    return ref


def test_a_settled_heap_is_frozen_and_collects_the_young_generation_less_often(settled: None) -> None:
    """Tests that what lived before is out of the collector's sight and the young generation is collected after
    `YOUNG_COLLECTION_AFTER` new objects (CPython's default is 700), the older generations as CPython sets them."""
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[0] == YOUNG_COLLECTION_AFTER > 700


def test_garbage_cycles_made_after_settling_are_still_reclaimed_by_the_collector_alone(settled: None) -> None:
    """Tests that a cycle of garbage made by a request is freed by the automatic collections, without `gc.collect`:
    a worker's memory does not grow with the cycles its requests leave."""
    cycle = _cycle()
    # New container objects, as requests make them (the cycle is not looked at meanwhile: a reference to it held at
    # the moment a collection runs would keep it).
    kept = [[0] for _ in range(3 * YOUNG_COLLECTION_AFTER)]
    assert len(kept) == 3 * YOUNG_COLLECTION_AFTER
    assert cycle() is None
