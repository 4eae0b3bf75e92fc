"""The city day's relaxation searched on two cores (issue #15): measured against one search, not kept in `routing`.

Two ways, compared by bench/routing_city.py --tables split (bench/README.md, "Routing", eighth session):
* `search_portfolio`: two searches with different seeds, the cheaper plan kept;
* `search_in_halves`: the day's first routes cut into two halves (`split_routes`) searched apart, one
  in each process, for `SPLIT_SHARE` of the budget, then joined and searched as a whole for the rest.
Neither won by more than what seeds and the machine's load move, so `routing.solve` searches in one
process. `search_portfolio` runs `solve_pyvrp` with the caller's seed in this process and with the
next seed in a second process (`SecondProcess`: the `spawn` context, so nothing of the caller's
threads, sockets or database connections is copied into it), and keeps the plan that costs less.

Stop rules as in `solve_pyvrp`: a timed budget counts `clock` in each process (the second search is
halted when this one ends), an iteration count is run by both (deterministic for a seed), and
`should_stop()` halts both.
"""

from __future__ import annotations

import multiprocessing
import queue
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from time import perf_counter
from types import TracebackType
from typing import Any

from routing.plan import Plan, UnplannedReason
from routing.problem import Problem, StopRule, Visit, Worker
from routing.pyvrp_engine import solve_pyvrp

__all__ = ["SecondProcess", "search_in_halves", "search_portfolio", "split_routes"]

ANSWER_WAIT_S = 60.0
"""How long to wait for the second process's answer once this process's search has ended."""


class SecondProcess:
    """A process of its own (spawned) that runs one `solve_pyvrp` it is sent and sends back the plan.

    Started on entering (so it imports while the caller builds its own search); on leaving it is
    halted, joined, and ended if it does not end by itself within 5 seconds.
    """

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._tasks: Any = context.Queue()
        self._answers: Any = context.Queue()
        self._halt = context.Event()
        self._process = context.Process(
            target=_serve, args=(self._tasks, self._answers, self._halt), name="outfield-plan-search", daemon=True
        )

    def __enter__(self) -> SecondProcess:
        self._process.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._halt.set()
        self._tasks.put(None)
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()

    def send(
        self,
        problem: Problem,
        *,
        stop: StopRule,
        seed: int,
        leave_out: Mapping[str, UnplannedReason],
        initial: Plan | None = None,
        history_length: int | None = None,
        clock: Callable[[], float] = perf_counter,
    ) -> None:
        """Start `solve_pyvrp` of `problem` there (`clock`: a picklable function, counted in that process)."""
        self._tasks.put((problem, dict(leave_out), stop, seed, initial, history_length, clock))

    def halt(self) -> None:
        """Make the search there stop at its next iteration (it still answers with its best plan)."""
        self._halt.set()

    def answer(self, wait_s: float = ANSWER_WAIT_S) -> Plan | None:
        """The plan found there (None: none feasible, the search failed, or no answer within `wait_s`)."""
        waited, ended = perf_counter(), False
        while perf_counter() - waited < wait_s:
            try:
                kind, payload = self._answers.get(timeout=0.2)
            except queue.Empty:
                if ended:
                    return None
                # The answer may still be in the pipe of a process that has just ended: one more look.
                ended = not self._process.is_alive()
                continue
            return payload if kind == "plan" else None
        return None


def _serve(tasks: Any, answers: Any, halt: Any) -> None:
    """The second process: run the search it is sent (if any), answer ("plan", plan or None) or ("error", text)."""
    task = tasks.get()
    if task is None:
        return
    problem, leave_out, stop, seed, initial, history_length, clock = task
    try:
        plan = solve_pyvrp(
            problem,
            stop=stop,
            seed=seed,
            leave_out=leave_out,
            initial=initial,
            should_stop=halt.is_set,
            history_length=history_length,
            clock=clock,
        )
        answers.put(("plan", plan))
    except Exception:  # noqa: BLE001 - the caller keeps its own plan; the text says why there is no other
        answers.put(("error", traceback.format_exc()))


def search_portfolio(
    problem: Problem,
    *,
    stop: StopRule,
    seed: int,
    leave_out: Mapping[str, UnplannedReason],
    should_stop: Callable[[], bool] | None = None,
    on_start: Callable[[Plan], None] | None = None,
    history_length: int | None = None,
    clock: Callable[[], float] = perf_counter,
) -> Plan | None:
    """The cheaper of `solve_pyvrp`'s plans with `seed` here and `seed + 1` in a second process (None: neither).

    `on_start` sees this process's first solution, as with one search. `clock` is what a timed
    budget counts in each process (a picklable function such as `time.perf_counter`).
    """
    with SecondProcess() as second:
        second.send(problem, stop=stop, seed=seed + 1, leave_out=leave_out, history_length=history_length, clock=clock)
        own = solve_pyvrp(
            problem,
            stop=stop,
            seed=seed,
            leave_out=leave_out,
            should_stop=should_stop,
            on_start=on_start,
            history_length=history_length,
            clock=clock,
        )
        if stop.max_seconds is not None or (should_stop is not None and should_stop()):
            second.halt()
        other = second.answer()
    if own is None or (other is not None and other.objective < own.objective):
        return other
    return own


# The halves. The cut reads only the problem's travel matrix, skills and workers. The day's two poles are the two
# visit sites farthest apart by travel time; a site's side is how much nearer it is to the first pole
# than to the second. `split_routes` sorts a plan's routes by the mean side of their stops and cuts
# them where half the planned visits lie on either side: each half keeps its routes (its workers and
# their visits), the idle workers are dealt out alternately (in the order of base, skills and shift),
# and each visit on no route goes to the side of its site (to the other half if no worker of its own
# is qualified for it). `join_plans` puts the halves' routes back into one plan of the whole day.

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
