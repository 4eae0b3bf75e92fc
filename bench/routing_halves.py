"""The city day searched in two halves on two cores, then whole (issue #15): measured, not kept in `routing`.

`search_in_halves` starts the search of the whole day as `solve_pyvrp` does (random start, first
local search), cuts its routes in two (`split_routes`), searches each half from its routes, one in
this process and one in a second (`routing.parallel.SecondProcess`), for `SPLIT_SHARE` of the budget,
then searches the joined routes as a whole for the rest. bench/routing_city.py --tables split
compares it with one search and with two seeds (bench/README.md, "Routing", eighth session).

The cut reads only the problem's travel matrix, skills and workers. The day's two poles are the two
visit sites farthest apart by travel time; a site's side is how much nearer it is to the first pole
than to the second. `split_routes` sorts a plan's routes by the mean side of their stops and cuts
them where half the planned visits lie on either side: each half keeps its routes (its workers and
their visits), the idle workers are dealt out alternately (in the order of base, skills and shift),
and each visit on no route goes to the side of its site (to the other half if no worker of its own
is qualified for it). `join_plans` puts the halves' routes back into one plan of the whole day.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from time import perf_counter

from routing.parallel import SecondProcess
from routing.plan import Plan, UnplannedReason
from routing.problem import Problem, StopRule, Visit, Worker
from routing.pyvrp_engine import solve_pyvrp

SPLIT_SHARE = 2 / 3
"""Share of the budget (time and iterations) the halves are searched apart (0.5 and 0.85 were worse on city 0)."""

UNREACHABLE_S = 10**9
"""What a missing route counts as when measuring which pole a site is nearer to."""


@dataclass(frozen=True, slots=True)
class Halves:
    """Two halves of a day, each the same problem with part of its visits and workers, and each one's routes."""

    first: Problem
    second: Problem
    first_plan: Plan
    second_plan: Plan


def split_routes(problem: Problem, plan: Plan) -> Halves | None:
    """`plan`'s routes cut into two halves of about equal planned visits (None: fewer than two routes)."""
    routes = [r for r in plan.routes if r.stops]
    if len(routes) < 2:
        return None
    side = _sides(problem)

    def route_side(route_stops: tuple[str, ...]) -> float:
        return sum(side[problem.visit(vid).location] for vid in route_stops) / len(route_stops)

    routes.sort(key=lambda r: (route_side(r.visit_ids), r.worker_id))
    total = sum(len(r.stops) for r in routes)
    cut, count = 0, 0
    while cut < len(routes) - 1 and (count + len(routes[cut].stops)) * 2 <= total:
        count += len(routes[cut].stops)
        cut += 1
    cut = max(1, cut)
    groups = (routes[:cut], routes[cut:])
    crews: tuple[set[str], set[str]] = ({r.worker_id for r in groups[0]}, {r.worker_id for r in groups[1]})
    idle = sorted((w for w in problem.workers if w.id not in crews[0] | crews[1]), key=_worker_key)
    for k, worker in enumerate(idle):
        crews[k % 2].add(worker.id)
    border = route_side(groups[1][0].visit_ids)
    sides: tuple[list[Visit], list[Visit]] = ([], [])
    owner = {vid: k for k in (0, 1) for r in groups[k] for vid in r.visit_ids}
    workers = (
        [w for w in problem.workers if w.id in crews[0]],
        [w for w in problem.workers if w.id in crews[1]],
    )
    for visit in problem.visits:
        if visit.id in owner:
            sides[owner[visit.id]].append(visit)
            continue
        k = 0 if side[visit.location] < border else 1
        if not any(w.qualified_for(visit) for w in workers[k]) and any(w.qualified_for(visit) for w in workers[1 - k]):
            k = 1 - k
        sides[k].append(visit)
    halves = [problem.replace(visits=tuple(sides[k]), workers=tuple(workers[k])) for k in (0, 1)]
    plans = [Plan(routes=tuple(groups[k]), engine=plan.engine) for k in (0, 1)]
    order = {w.id: n for n, w in enumerate(problem.workers)}
    plans = [Plan(routes=tuple(sorted(p.routes, key=lambda r: order[r.worker_id])), engine=p.engine) for p in plans]
    return Halves(halves[0], halves[1], plans[0], plans[1])


def _sides(problem: Problem) -> dict[int, int]:
    """Each visit site's travel time to the first pole less its travel time to the second (both ways)."""
    matrix = problem.duration_s

    def travel_s(a: int, b: int) -> int:
        there, back = matrix[a][b], matrix[b][a]
        return (UNREACHABLE_S if there is None else there) + (UNREACHABLE_S if back is None else back)

    locations = sorted({v.location for v in problem.visits})
    pole_a = max(locations, key=lambda loc: (travel_s(locations[0], loc), -loc))
    pole_b = max(locations, key=lambda loc: (travel_s(pole_a, loc), -loc))
    return {loc: travel_s(pole_a, loc) - travel_s(pole_b, loc) for loc in locations}


def _worker_key(worker: Worker) -> tuple[int, tuple[str, ...], int, int, str]:
    return (worker.start_location, tuple(sorted(worker.skills)), worker.shift_start_s, worker.shift_end_s, worker.id)


def join_plans(first: Plan, second: Plan) -> Plan:
    """One plan holding both halves' routes (for a search of the whole day to start from)."""
    return Plan(
        routes=first.routes + second.routes,
        unplanned=first.unplanned + second.unplanned,
        engine=first.engine,
        objective=first.objective + second.objective,
    )


def search_in_halves(
    problem: Problem,
    *,
    stop: StopRule,
    seed: int,
    leave_out: Mapping[str, UnplannedReason],
    history_length: int | None = None,
    clock: Callable[[], float] = perf_counter,
) -> Plan | None:
    """PyVRP's best plan of `problem` (a relaxation): whole (first solution), in halves on two cores, then whole."""
    started = clock()
    with SecondProcess() as second:
        first = solve_pyvrp(
            problem,
            stop=StopRule(max_solutions=1),
            seed=seed,
            leave_out=leave_out,
            history_length=history_length,
            clock=clock,
        )
        halves = None if first is None else split_routes(problem, first)
        if halves is None:
            return first
        split = None if stop.max_solutions is None else 1 + round((stop.max_solutions - 1) * SPLIT_SHARE)
        part = StopRule(
            max_solutions=None if split is None else max(1, split - 1),
            max_seconds=None
            if stop.max_seconds is None
            else max(0.001, started + stop.max_seconds * SPLIT_SHARE - clock()),
        )

        def out(half: Problem) -> dict[str, UnplannedReason]:
            return {v.id: leave_out[v.id] for v in half.visits if v.id in leave_out}

        second.send(
            halves.second,
            stop=part,
            seed=seed + 1,
            leave_out=out(halves.second),
            initial=halves.second_plan,
            history_length=history_length,
            clock=clock,
        )
        own = solve_pyvrp(
            halves.first,
            stop=part,
            seed=seed,
            leave_out=out(halves.first),
            initial=halves.first_plan,
            history_length=history_length,
            clock=clock,
        )
        if stop.max_seconds is not None:
            second.halt()
        other = second.answer()
    joined = join_plans(own or halves.first_plan, other or halves.second_plan)
    rest = StopRule(
        max_solutions=None if stop.max_solutions is None or split is None else max(1, stop.max_solutions - split),
        max_seconds=None if stop.max_seconds is None else max(0.001, stop.max_seconds - (clock() - started)),
    )
    return solve_pyvrp(
        problem,
        stop=rest,
        seed=seed,
        leave_out=leave_out,
        initial=joined,
        history_length=history_length,
        clock=clock,
    )
