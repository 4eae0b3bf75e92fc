"""Batch assignment: optimal, respecting skills and capacity, checked against solvers that share no code with it."""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.geo import LatLon
from dispatch.orders import OrderType, TimeWindow, WorkOrder
from dispatch.sites import Site
from dispatch.workers import Shift, Worker
from routing.assignment import BatchWorker, assign_batch, batch_costs
from routing.travel import StraightLine

Costs = Sequence[Sequence[float | None]]


def brute_force(capacities: Sequence[int], costs: Costs) -> tuple[int, float]:
    """(most orders assignable, least total cost for that many) by trying every order → worker-or-nobody."""
    best = (0, 0.0)
    options = [[None, *[j for j, c in enumerate(row) if c is not None]] for row in costs]
    for choice in itertools.product(*options):
        used = Counter(j for j in choice if j is not None)
        if any(used[j] > capacities[j] for j in used):
            continue
        count = sum(j is not None for j in choice)
        total = sum(costs[i][j] for i, j in enumerate(choice) if j is not None)
        if count > best[0] or (count == best[0] and total < best[1]):
            best = (count, total)
    return best


def successive_shortest_paths(capacities: Sequence[int], costs: Costs) -> tuple[int, float]:
    """(max flow, its min cost) by the textbook algorithm: augment one unit at a time along a cheapest residual path
    (Bellman-Ford), which keeps the flow cheapest for its size; stop when no path is left. Pure Python, exact."""
    n, m = len(costs), len(capacities)
    source, sink = n + m, n + m + 1
    graph: list[list[list[float]]] = [[] for _ in range(n + m + 2)]  # edge: [to, capacity, cost, reverse index]

    def add(u: int, v: int, cap: int, cost: float) -> None:
        graph[u].append([v, cap, cost, len(graph[v])])
        graph[v].append([u, 0, -cost, len(graph[u]) - 1])

    for i in range(n):
        add(source, i, 1, 0.0)
        for j, c in enumerate(costs[i]):
            if c is not None:
                add(i, n + j, 1, c)
    for j, cap in enumerate(capacities):
        add(n + j, sink, cap, 0.0)
    flow, total = 0, 0.0
    while True:
        dist = [math.inf] * len(graph)
        back: list[tuple[int, int] | None] = [None] * len(graph)
        dist[source] = 0.0
        for _ in range(len(graph)):
            changed = False
            for u, edges in enumerate(graph):
                if dist[u] == math.inf:
                    continue
                for k, (v, cap, cost, _) in enumerate(edges):
                    if cap > 0 and dist[u] + cost < dist[int(v)] - 1e-9:
                        dist[int(v)] = dist[u] + cost
                        back[int(v)] = (u, k)
                        changed = True
            if not changed:
                break
        if dist[sink] == math.inf:
            return flow, total
        v = sink
        while v != source:
            step = back[v]
            assert step is not None
            u, k = step
            edge = graph[u][k]
            edge[1] -= 1
            graph[int(edge[0])][int(edge[3])][1] += 1
            v = u
        flow += 1
        total += dist[sink]


def check(result, order_ids, workers, costs):
    """The invariants every answer keeps: allowed pairs only, capacities, each order once, totals add up."""
    column = {w.worker_id: j for j, w in enumerate(workers)}
    row = {o: i for i, o in enumerate(order_ids)}
    for pair in result.pairs:
        assert costs[row[pair.order_id]][column[pair.worker_id]] == pair.cost_s
    load = Counter(p.worker_id for p in result.pairs)
    assert all(load[w.worker_id] <= w.capacity for w in workers)
    assigned = [p.order_id for p in result.pairs]
    assert sorted(assigned + [u.order_id for u in result.unassigned]) == sorted(order_ids)
    assert len(set(assigned)) == len(assigned)
    assert result.total_cost_s == pytest.approx(math.fsum(p.cost_s for p in result.pairs))


def test_the_cheaper_crossing_is_chosen():
    """Tests that two orders and two workers are paired for the least total travel, not greedily."""
    workers = [BatchWorker(1, 1), BatchWorker(2, 1)]
    result = assign_batch([10, 11], workers, [[100.0, 120.0], [90.0, 300.0]])
    assert [(p.order_id, p.worker_id) for p in result.pairs] == [(10, 2), (11, 1)]
    assert result.total_cost_s == 210.0 and result.unassigned == ()


def test_a_worker_takes_up_to_their_capacity():
    """Tests that a worker with room for two takes both nearby orders and a third goes to the next worker."""
    workers = [BatchWorker(1, 2), BatchWorker(2, 5)]
    result = assign_batch([1, 2, 3], workers, [[10.0, 50.0], [10.0, 50.0], [10.0, 50.0]])
    assert Counter(p.worker_id for p in result.pairs) == {1: 2, 2: 1}
    assert result.total_cost_s == 70.0


def test_as_many_orders_as_possible_are_assigned_before_saving_travel():
    """Tests that an order is sent to a farther worker when that frees the only qualified worker for another order."""
    workers = [BatchWorker(1, 1), BatchWorker(2, 1)]
    result = assign_batch([1, 2], workers, [[10.0, 500.0], [20.0, None]])
    assert [(p.order_id, p.worker_id) for p in result.pairs] == [(1, 2), (2, 1)]
    assert result.total_cost_s == 520.0


def test_unassigned_orders_say_why():
    """Tests the three reasons: nobody may take it, those who may are full, their room went to other orders."""
    workers = [BatchWorker(1, 1), BatchWorker(2, 0)]
    result = assign_batch([1, 2, 3, 4], workers, [[None, None], [None, 5.0], [10.0, None], [20.0, None]])
    assert [(p.order_id, p.worker_id) for p in result.pairs] == [(3, 1)]
    assert [(u.order_id, u.reason) for u in result.unassigned] == [
        (1, "no worker may take it (missing skill or no route)"),
        (2, "all 1 workers who may take it have no room left today"),
        (4, "the room of the 1 workers who may take it went to other orders"),
    ]


CAPACITIES = st.lists(st.integers(0, 3), min_size=1, max_size=3)


@given(CAPACITIES, st.data())
def test_the_optimum_matches_brute_force_on_tiny_cases(capacities, data):
    """Tests against trying every possible assignment: same number of orders assigned and the same least cost,
    never a forbidden pair, never over capacity."""
    n = data.draw(st.integers(0, 6))
    cell = st.one_of(st.none(), st.integers(0, 50).map(float))
    costs = data.draw(
        st.lists(st.lists(cell, min_size=len(capacities), max_size=len(capacities)), min_size=n, max_size=n)
    )
    workers = [BatchWorker(100 + j, cap) for j, cap in enumerate(capacities)]
    order_ids = list(range(n))
    result = assign_batch(order_ids, workers, costs)
    check(result, order_ids, workers, costs)
    assert (len(result.pairs), result.total_cost_s) == brute_force(capacities, costs)


@pytest.mark.parametrize("seed", range(6))
def test_the_optimum_matches_successive_shortest_paths_on_larger_cases(seed: int):
    """Tests 40 orders × 15 workers with fractional costs, a third of the pairs forbidden and tight capacities
    against a pure-Python min-cost max-flow: same count, same cost to within the solver's millisecond rounding."""
    rng = random.Random(seed)
    n, m = 40, 15
    capacities = [rng.randint(0, 4) for _ in range(m)]
    costs: list[list[float | None]] = [
        [None if rng.random() < 0.33 else rng.uniform(30, 3600) for _ in range(m)] for _ in range(n)
    ]
    workers = [BatchWorker(j, cap) for j, cap in enumerate(capacities)]
    result = assign_batch(list(range(n)), workers, costs)
    check(result, list(range(n)), workers, costs)
    flow, total = successive_shortest_paths(capacities, costs)
    assert len(result.pairs) == flow
    assert result.total_cost_s == pytest.approx(total, abs=flow * 0.0005 + 1e-6)


def test_numpy_costs_with_nan_and_infinity_mean_forbidden():
    """Tests that a float array works as input, NaN and infinity marking pairs not allowed."""
    costs = np.array([[np.nan, 5.0], [np.inf, 7.0]])
    result = assign_batch([1, 2], [BatchWorker(1, 5), BatchWorker(2, 1)], costs)
    assert [(p.order_id, p.worker_id) for p in result.pairs] == [(1, 2)]
    assert [u.order_id for u in result.unassigned] == [2]


def test_the_same_input_gives_the_same_answer():
    """Tests that solving twice gives identical pairs (ties settled the same way)."""
    costs = [[10.0] * 4 for _ in range(6)]
    workers = [BatchWorker(j, 2) for j in range(4)]
    assert assign_batch(range(6), workers, costs) == assign_batch(range(6), workers, costs)


def test_bad_input_is_refused_naming_the_field():
    """Tests that a wrong shape, duplicate ids, negative costs and negative capacity raise ValueError."""
    workers = [BatchWorker(1, 1)]
    with pytest.raises(ValueError, match="cost_s must have 2 rows"):
        assign_batch([1, 2], workers, [[1.0]])
    with pytest.raises(ValueError, match="shape"):
        assign_batch([1, 2], workers, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="order_ids: duplicate"):
        assign_batch([1, 1], workers, [[1.0], [1.0]])
    with pytest.raises(ValueError, match="workers: duplicate"):
        assign_batch([1], [BatchWorker(1, 1), BatchWorker(1, 2)], [[1.0, 1.0]])
    with pytest.raises(ValueError, match="costs must be >= 0"):
        assign_batch([1], workers, [[-1.0]])
    with pytest.raises(ValueError, match="capacity"):
        BatchWorker(1, -1)


def test_no_orders_or_no_workers():
    """Tests the empty cases: nothing to do, or every order unassigned for want of workers."""
    assert assign_batch([], [BatchWorker(1, 1)], []).pairs == ()
    result = assign_batch([1, 2], [], [[], []])
    assert [u.reason for u in result.unassigned] == ["no worker may take it (missing skill or no route)"] * 2


T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
ALL_DAY = Shift(weekdays=tuple(range(7)), start=time(7), end=time(19))


def test_costs_from_domain_values_forbid_the_unqualified():
    """Tests that the cost matrix has travel seconds for qualified pairs and None for a missing skill, an inactive
    worker or one with no known origin, and that the batch then never pairs them."""
    site = Site(id=1, name="Port", address="", location=LatLon(43.735, 7.423))
    orders = [
        WorkOrder(1, 1, OrderType.REPAIR, 3, frozenset({"gas"}), TimeWindow(T0, T0 + timedelta(hours=2)), 1800),
        WorkOrder(2, 1, OrderType.VISIT, 3, frozenset(), TimeWindow(T0, T0 + timedelta(hours=2)), 1800),
    ]
    workers = [
        Worker(1, "gas", "d1", frozenset({"gas"}), (ALL_DAY,)),
        Worker(2, "plumber", "d2", frozenset({"water"}), (ALL_DAY,)),
        Worker(3, "away", "d3", frozenset({"gas"}), (ALL_DAY,), active=False),
        Worker(4, "lost", "d4", frozenset({"gas"}), (ALL_DAY,)),
    ]
    origins = {1: LatLon(43.74, 7.42), 2: LatLon(43.735, 7.424), 3: LatLon(43.735, 7.423)}
    travel = StraightLine()
    costs = batch_costs(orders, {1: site}, workers, origins, travel)
    assert costs[0] == [travel.duration_s(origins[1], site.location), None, None, None]
    assert costs[1] == [
        travel.duration_s(origins[1], site.location),
        travel.duration_s(origins[2], site.location),
        None,
        None,
    ]
    result = assign_batch([1, 2], [BatchWorker(w.id, 1) for w in workers], costs)
    assert result.worker_of() == {1: 1, 2: 2}
