"""Batch assignment: many open orders against many workers at once, solved exactly with OR-Tools.

Each worker can take up to `capacity` more orders; a pair the caller marks forbidden (missing skill,
no route) is never used. The answer assigns as many orders as possible and, among all ways to
assign that many, has the least total cost (travel seconds from each worker's origin to the order's
site). It is a min-cost max-flow:

    source ─1─▶ order ─1, cost─▶ worker ─capacity─▶ sink

OR-Tools' `SimpleMinCostFlow.solve_max_flow_with_min_cost` solves it exactly in integers; costs are
rounded to milliseconds on the way in, so the total is optimal to within 0.5 ms per pair. (Linear
sum assignment needs a perfect matching of equal sides; padding it with capacity copies of each
worker and dummy "unassigned" columns was slower on 1,000 × 500 and no more exact.)

This is an assignment, not a route plan: a worker given three orders is costed from the same
origin for each. `routing.solve` sequences a worker's day.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from ortools.graph.python import min_cost_flow

from dispatch.geo import LatLon
from dispatch.orders import WorkOrder
from dispatch.sites import Site
from dispatch.workers import Worker
from routing.travel import TravelTimes

COST_SCALE = 1000
"""Costs go to the solver in integer milliseconds."""

CostMatrix = Sequence[Sequence[float | None]] | npt.NDArray[np.float64]
"""`cost_s[i][j]`: seconds for worker j to take order i; None, NaN or infinity = not allowed."""


@dataclass(frozen=True, slots=True)
class BatchWorker:
    """A worker in a batch and how many more orders they can take today."""

    worker_id: int
    capacity: int

    def __post_init__(self) -> None:
        if self.capacity < 0:
            raise ValueError(f"capacity {self.capacity} of worker {self.worker_id} must be >= 0")


@dataclass(frozen=True, slots=True)
class Pair:
    order_id: int
    worker_id: int
    cost_s: float


@dataclass(frozen=True, slots=True)
class Unassigned:
    order_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class BatchAssignment:
    """The optimal assignment: pairs by order id, their total cost, and each order left out with why."""

    pairs: tuple[Pair, ...]
    total_cost_s: float
    unassigned: tuple[Unassigned, ...]

    def worker_of(self) -> dict[int, int]:
        """Order id → worker id, for the assigned orders."""
        return {p.order_id: p.worker_id for p in self.pairs}


def assign_batch(order_ids: Sequence[int], workers: Sequence[BatchWorker], cost_s: CostMatrix) -> BatchAssignment:
    """Assign orders to workers: the most orders possible, then the least total cost.

    `cost_s` has one row per order and one column per worker, costs in seconds (>= 0). Raises
    ValueError for mismatched shapes, duplicate ids or negative costs. Ties between equally good
    answers are settled by the solver, the same way for the same input.
    """
    n, m = len(order_ids), len(workers)
    if len(set(order_ids)) != n:
        raise ValueError("order_ids: duplicate ids")
    if len({w.worker_id for w in workers}) != m:
        raise ValueError("workers: duplicate worker ids")
    costs = _as_array(cost_s, n, m)
    allowed = np.isfinite(costs)
    if np.any(costs[allowed] < 0):
        raise ValueError("cost_s: costs must be >= 0")
    if n == 0:
        return BatchAssignment((), 0.0, ())

    rows, cols = np.nonzero(allowed)
    capacity = np.array([w.capacity for w in workers], dtype=np.int64)
    source, sink = 0, n + m + 1
    tails = np.concatenate([np.full(n, source), rows + 1, np.arange(m) + n + 1]).astype(np.int32)
    heads = np.concatenate([np.arange(n) + 1, cols + n + 1, np.full(m, sink)]).astype(np.int32)
    capacities = np.concatenate([np.ones(n + len(rows), dtype=np.int64), capacity])
    unit_costs = np.concatenate(
        [
            np.zeros(n, dtype=np.int64),
            np.rint(costs[rows, cols] * COST_SCALE).astype(np.int64),
            np.zeros(m, dtype=np.int64),
        ]
    )
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, capacities, unit_costs)
    flow.set_node_supply(source, n)
    flow.set_node_supply(sink, -n)
    status = flow.solve_max_flow_with_min_cost()
    if status != min_cost_flow.SimpleMinCostFlow.OPTIMAL:
        raise RuntimeError(f"min-cost flow ended with status {status!r}")  # a bug: this model is always solvable

    used = flow.flows(arcs[n : n + len(rows)]) > 0
    pairs = tuple(
        sorted(
            (
                Pair(order_ids[int(i)], workers[int(j)].worker_id, float(costs[i, j]))
                for i, j in zip(rows[used], cols[used], strict=True)
            ),
            key=lambda p: p.order_id,
        )
    )
    assigned = {p.order_id for p in pairs}
    unassigned = tuple(
        Unassigned(order_id, _why_unassigned(allowed[i], capacity))
        for i, order_id in sorted(enumerate(order_ids), key=lambda e: e[1])
        if order_id not in assigned
    )
    return BatchAssignment(pairs, math.fsum(p.cost_s for p in pairs), unassigned)


def _as_array(cost_s: CostMatrix, n: int, m: int) -> npt.NDArray[np.float64]:
    if isinstance(cost_s, np.ndarray):
        costs = np.asarray(cost_s, dtype=np.float64)
    else:
        if len(cost_s) != n or any(len(row) != m for row in cost_s):
            raise ValueError(f"cost_s must have {n} rows of {m} costs (one row per order, one column per worker)")
        costs = np.array([[math.nan if c is None else c for c in row] for row in cost_s], dtype=np.float64)
        costs = costs.reshape(n, m)
    if costs.shape != (n, m):
        raise ValueError(
            f"cost_s has shape {costs.shape}; expected ({n}, {m}): one row per order, one column per worker"
        )
    return costs


def _why_unassigned(allowed_row: npt.NDArray[np.bool_], capacity: npt.NDArray[np.int64]) -> str:
    able = int(allowed_row.sum())
    if able == 0:
        return "no worker may take it (missing skill or no route)"
    if int(capacity[allowed_row].sum()) == 0:
        return f"all {able} workers who may take it have no room left today"
    return f"the room of the {able} workers who may take it went to other orders"


def batch_costs(
    orders: Sequence[WorkOrder],
    sites: Mapping[int, Site],
    workers: Sequence[Worker],
    origins: Mapping[int, LatLon],
    travel: TravelTimes,
) -> list[list[float | None]]:
    """The cost matrix for `assign_batch` from domain values: travel seconds, None where not allowed.

    A pair is not allowed when the worker is inactive, lacks a required skill, has no origin in
    `origins` (their freshest fix or home base), or there is no route. Shifts, leave and workload
    are the caller's filter (pass only the workers available today, with their room as capacity).
    """
    rows: list[list[float | None]] = []
    for order in orders:
        target = sites[order.site_id].location
        row: list[float | None] = []
        for worker in workers:
            origin = origins.get(worker.id)
            if not worker.active or origin is None or not order.required_skills <= worker.skills:
                row.append(None)
            else:
                row.append(travel.duration_s(origin, target))
        rows.append(row)
    return rows
