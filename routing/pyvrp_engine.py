"""PyVRP behind the routing interface, for the problems it can express exactly.

PyVRP's iterated local search beats plain OR-Tools by a wide margin on time-windowed routing
(measured in bench/solomon.py), but it has no breaks, one window per client and no pinned stops.
`unsupported` lists what a problem needs beyond that; `routing.solve` only sends a problem here
when the list is empty, so no constraint is ever dropped silently. The only module importing pyvrp.
(0.14.1, the latest release, still has no breaks: PyVRP issue #352; `routing.solve.relax_for_pyvrp`
is how a day with breaks still gets searched here.)

How the problem maps: a visit some worker may not serve gets its own PyVRP location (so skills can be
enforced per visit even when two visits share a site), the others share one per site; every worker
start/end location becomes a depot, workers with
equal limits share a vehicle type. Skills and per-worker costs become routing profiles: a profile's
"distance" matrix holds the objective's arc costs, and arcs into a visit the profile may not serve
cost and take so much that using them is never feasible.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyvrp
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.IteratedLocalSearch import IteratedLocalSearchCallbacks
from pyvrp.search import LocalSearch, NeighbourhoodParams, PerturbationManager, PerturbationParams, compute_neighbours
from pyvrp.stop import StoppingCriterion

from routing.construct import insertion_routes
from routing.plan import Plan, Progress, Route, Unplanned, UnplannedReason, schedule_route, unplanned_reason
from routing.problem import Problem, StopRule, Worker, required_penalty, visit_penalty

GIVE_UP_SHARE = 0.2
"""Share of the budget (time and solution count) the search keeps required visits required for
before it lets them be left out, when it has not found a plan that serves them all ..."""
GIVE_UP_ITERATIONS = 50
"""... and it has run at least this many iterations (a 1,000-visit day's first one alone can take a
fifth of a 10-second budget on a busy machine)."""
SCALED_PENALTY_UPDATES = 100
"""With `scaled_penalties`, the penalties adapt every this many iterations (PyVRP: every 500)."""
START_BROKEN_ROUTES = 3
"""`solve_pyvrp`'s `on_start` also sees a first solution with up to this many routes that break a rule: repairing
them (trim, re-insert their visits) costs little, while a day too full for its workers breaks dozens, whose
visits then fit nowhere and would take seconds to try everywhere (a 1,000-visit day with 50 workers: 10 CPU s)."""
SHARED_LOCATIONS = True
"""Whether visits at one site share a PyVRP location where that leaves the search unchanged (see `_build`): the
same plans at equal iterations, and on the 1,000-visit city day (533 locations instead of 1,003, skills as loads)
about a tenth fewer CPU seconds per iteration (bench/README.md, "Routing", tenth session, branch `route11`)."""
_NO_FEASIBLE = int(np.iinfo(np.int64).max)
"""The best cost PyVRP reports to its stopping criterion while it has no feasible solution."""


@dataclass(frozen=True, slots=True)
class SearchSettings:
    """The parameters of PyVRP's iterated local search; the defaults are plain PyVRP's (`pyvrp.SolveParams()`).

    `history_length`: late-acceptance history (a candidate is accepted when it beats the current
    solution or the one this many iterations ago); `no_improvement_restart`: iterations without a
    new best before the search restarts from its best; `max_perturbations`: most clients moved by
    one perturbation; `num_neighbours`: size of each client's granular neighbourhood;
    `scaled_penalties`: start the penalties at what a second of driving costs (see `_search`);
    `skills_as_loads`: a skill is a load dimension (a visit needing it loads 1, a worker without it has
    capacity 0) instead of a routing profile per skill set (see `_build`); `exhaustive_on_best`: search
    every new best solution exhaustively (all clients, not only the perturbed ones) before going on;
    `insertion_start`: start from cheapest insertion (`routing.construct.insertion_routes`) instead of a random
    solution, either then searched exhaustively once before the iterations begin.
    """

    history_length: int = 300
    no_improvement_restart: int = 150_000
    min_perturbations: int = 1
    max_perturbations: int = 25
    num_neighbours: int = 50
    scaled_penalties: bool = False
    skills_as_loads: bool = False
    exhaustive_on_best: bool = True
    insertion_start: bool = False


PLAIN = SearchSettings()


def unsupported(problem: Problem) -> list[str]:
    """What `problem` needs that PyVRP cannot express (empty: PyVRP solves it exactly)."""
    reasons = []
    if any(len(v.windows) > 1 for v in problem.visits):
        reasons.append("a visit with more than one time window")
    if any(w.breaks for w in problem.workers):
        reasons.append("breaks")
    if problem.pins:
        reasons.append("pinned visits")
    objective = problem.objective
    if problem.announced and (objective.change_penalty or objective.retime_penalty_per_s):
        reasons.append("penalties for changing announced visits")
    if objective.balance_per_s:
        reasons.append("workload balancing")
    return reasons


@dataclass
class _Model:
    data: pyvrp.ProblemData
    visit_ids: list[str]
    workers_of_type: list[list[Worker]]
    type_of_worker: dict[str, int] = field(default_factory=dict)
    cost_per_s: float = 1.0  # what a second of driving costs (the dearest worker, over all arcs), at least 1


def solve_pyvrp(
    problem: Problem,
    *,
    stop: StopRule,
    seed: int,
    leave_out: Mapping[str, UnplannedReason],
    initial: Plan | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    scaled_penalties: bool = False,
    on_start: Callable[[Plan], None] | None = None,
    settings: SearchSettings = PLAIN,
    history_length: int | None = None,
    clock: Callable[[], float] | None = None,
    started_s: float | None = None,
    on_best: Callable[[Callable[[], Plan]], None] | None = None,
) -> Plan | None:
    """Solve with PyVRP; None when it ends without a feasible plan (the caller falls back to OR-Tools).

    `leave_out` are visits known to be unservable, with their reasons; they stay out of the model.
    `scaled_penalties` starts the search with penalties on the scale of the problem's costs (see
    `_search`); without it the search is plain PyVRP's, parameters and all. `on_start` is given the
    solution the search starts from (PyVRP's first local search of a random solution, or `initial`) as a
    plan when it is feasible or at most `START_BROKEN_ROUTES` of its routes break a rule (a visit late, or on a
    worker without its skill when skills are loads: routes for the caller to repair, as `routing.solve` does);
    the search is not changed by it. `history_length` replaces PyVRP's
    late-acceptance history (300 solutions, or `settings`') when given (see `_search`). `clock`
    (default `time.perf_counter`) is what a timed budget counts, from `started_s` (a reading of that clock,
    e.g. when the caller's own checks began; default: this call). `on_best` is told of each new best solution
    of the search with a function that makes it a plan (so a caller that wants the best so far, as the pipeline of
    `routing.solve` does, pays for that plan only when it asks); the search is not changed by it.
    """
    if history_length is not None:
        settings = dataclasses.replace(settings, history_length=history_length)
    problems = unsupported(problem)
    if problems:
        raise ValueError(f"PyVRP cannot express {', '.join(problems)}; use engine='ortools'")
    unplanned = [Unplanned(vid, reason) for vid, reason in leave_out.items()]
    if all(v.id in leave_out for v in problem.visits):
        return Plan(routes=(), unplanned=tuple(unplanned), engine="pyvrp", objective=_left_out_cost(problem, unplanned))
    # First with required visits required, as plain PyVRP: its search runs 2-3 times as many
    # iterations per second as with optional clients and finds better plans (bench/README.md,
    # "Routing"). Only when that finds no complete plan within a fifth of the budget (some required
    # visit does not fit) does it go on with them optional, from the best routes found so far.
    # The budget counts from `started_s` (`routing.solve`'s entry) or here, building the model included.
    criterion = _Stop(
        stop, on_progress, should_stop, offset=_left_out_cost(problem, unplanned), clock=clock, started_s=started_s
    )
    model = _build(problem, leave_out, skills_as_loads=settings.skills_as_loads)
    penalty = model.cost_per_s if scaled_penalties or settings.scaled_penalties else None

    def started(solution: pyvrp.Solution) -> None:
        # Feasible or nearly: on the city day of seed 2 the first solution had one visit on a worker without its
        # skill, and waiting for the search's first feasible best put the first plan at the end of a 10 s budget.
        if on_start is not None and _broken_routes(solution) <= START_BROKEN_ROUTES:
            on_start(_plan(problem, model, solution, leave_out))

    first = _initial(model, initial)
    constructed = None
    if first is None and settings.insertion_start:
        constructed = _constructed(model, insertion_routes(problem, leave_out))
    with warnings.catch_warnings():
        # A day whose required visits do not all fit drives PyVRP's penalties to their bound here, and PyVRP warns
        # (ten lines in the planner's log per plan, telling to check the instance) when this search expected
        # it and goes on below with those visits optional.
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = _search(
            model.data,
            criterion.phase(GIVE_UP_SHARE),
            seed,
            first,
            penalty,
            started,
            settings,
            constructed,
            _Bests(problem, model, leave_out, on_best),
        )
    if not result.best.is_feasible() and not criterion.done:
        model = _optional(model, problem)
        start = _solution(
            model, [(r.vehicle_type(), [a.idx for a in r.schedule() if a.is_client()]) for r in result.best.routes()]
        )
        bests = _Bests(problem, model, leave_out, on_best)
        result = _search(model.data, criterion.phase(1.0), seed, start, penalty, None, settings, None, bests)
    if not result.best.is_feasible():
        return None
    return _plan(problem, model, result.best, leave_out)


def _plan(problem: Problem, model: _Model, best: pyvrp.Solution, leave_out: Mapping[str, UnplannedReason]) -> Plan:
    """The plan of a PyVRP solution of `model`, its objective priced as the search prices it.

    (An infeasible solution, as `solve_pyvrp`'s `on_start` may see, gives its routes as they are, priced
    without the penalties for lateness or load: a plan that breaks rules, for a repair to start from.)
    """
    unplanned = [Unplanned(vid, reason) for vid, reason in leave_out.items()]
    routes: list[Route] = []
    free = {k: list(ws) for k, ws in enumerate(model.workers_of_type)}
    for r in best.routes():
        worker = free[r.vehicle_type()].pop(0)
        ids = []
        starts = []
        for activity in r.schedule():
            if activity.is_client():
                ids.append(model.visit_ids[activity.idx])
                starts.append(int(activity.start_time))
        if ids:
            routes.append(schedule_route(problem, worker, ids, depart_s=int(r.start_time()), service_starts_s=starts))
    for missing in best.unplanned():
        if missing.is_client():
            vid = model.visit_ids[missing.idx]
            unplanned.append(Unplanned(vid, unplanned_reason(problem, routes, problem.visit(vid))))
    order = {w.id: k for k, w in enumerate(problem.workers)}
    routes.sort(key=lambda route: order[route.worker_id])
    priced = pyvrp.CostEvaluator([0] * len(best.excess_load()), 0, 0)
    search_cost = priced.cost(best) if best.is_feasible() else priced.penalised_cost(best)
    cost = int(search_cost) + _left_out_cost(problem, [u for u in unplanned if u.visit_id in leave_out])
    return Plan(routes=tuple(routes), unplanned=tuple(unplanned), engine="pyvrp", objective=cost)


def _search(
    data: pyvrp.ProblemData,
    stop: StoppingCriterion,
    seed: int,
    initial: pyvrp.Solution | None,
    penalty: float | None,
    on_start: Callable[[pyvrp.Solution], None] | None,
    settings: SearchSettings = PLAIN,
    constructed: pyvrp.Solution | None = None,
    callbacks: IteratedLocalSearchCallbacks | None = None,
) -> pyvrp.Result:
    """PyVRP's search, step for step as `pyvrp.solve` runs it, its initial penalties set to `penalty`
    when given; `on_start` sees the solution it starts from: `initial` as it is, else `constructed` (or a random
    solution) after an exhaustive local search.

    PyVRP starts every penalty (per second of time warp, per unit of excess load) midway between
    0.1 and 100,000 and lowers it by a tenth every 500 iterations at most, so on the Monaco day,
    where a second of driving costs 1, a second late still costs about 20,000 after the 4,000
    iterations of a 10-second search: it hardly ever accepts a route that is late somewhere on the
    way to a better one. Starting at what a second of driving costs and adapting every
    `SCALED_PENALTY_UPDATES` iterations, the same search gains 2-5 % at 1,000-3,000 iterations
    on the relaxation there, but the whole plan after OR-Tools did not gain in timed 10-second runs
    (bench/README.md, "Routing", sixth session), so no caller asks for it now.

    PyVRP accepts a candidate that beats the current solution or the one `history_length` (300)
    accepted solutions ago (late-acceptance hill climbing). On the 1,000-visit city day, whose
    10-second budget gives 2,000-3,000 iterations, a history that long keeps the search wandering
    well above its best; `settings.history_length` shortens it (see `routing.solve.relaxation_settings`).
    """
    params = pyvrp.SolveParams()
    if settings != PLAIN:
        params = pyvrp.SolveParams(
            ils=pyvrp.IteratedLocalSearchParams(
                num_iters_no_improvement=settings.no_improvement_restart,
                history_length=settings.history_length,
                exhaustive_on_best=settings.exhaustive_on_best,
            ),
            neighbourhood=NeighbourhoodParams(num_neighbours=settings.num_neighbours),
            perturbation=PerturbationParams(settings.min_perturbations, settings.max_perturbations),
        )
    rng = pyvrp.RandomNumberGenerator(seed=seed)
    search = LocalSearch(
        data, rng, compute_neighbours(data, params.neighbourhood), PerturbationManager(params.perturbation)
    )
    for operator in params.operators:
        if operator.supports(data):
            search.add_operator(operator(data))
    if penalty is None:
        penalties = pyvrp.PenaltyManager(params.penalty.midpoint_penalties(data), params.penalty)
    else:
        penalties = pyvrp.PenaltyManager(
            ([penalty] * data.num_load_dimensions, penalty, penalty),
            pyvrp.PenaltyParams(solutions_between_updates=SCALED_PENALTY_UPDATES),
        )
    if initial is None:
        begin = constructed if constructed is not None else pyvrp.Solution.make_random(data, rng)
        initial = search(begin, penalties.max_cost_evaluator(), exhaustive=True)
    if on_start is not None:
        on_start(initial)
    ils = params.ils if callbacks is None else dataclasses.replace(params.ils, callbacks=callbacks)
    return pyvrp.IteratedLocalSearch(data, penalties, search, initial, ils).run(stop, collect_stats=False)


class _Bests(IteratedLocalSearchCallbacks):
    """Tells `on_best` of each new best solution of PyVRP's search, as a function making it a plan of `problem`."""

    def __init__(
        self,
        problem: Problem,
        model: _Model,
        leave_out: Mapping[str, UnplannedReason],
        on_best: Callable[[Callable[[], Plan]], None] | None,
    ) -> None:
        self._problem, self._model, self._leave_out, self._on_best = problem, model, leave_out, on_best

    def on_best(self, best: pyvrp.Solution) -> None:
        if self._on_best is not None:
            problem, model, leave_out = self._problem, self._model, self._leave_out
            self._on_best(lambda: _plan(problem, model, best, leave_out))


def _broken_routes(solution: pyvrp.Solution) -> int:
    """How many routes of `solution` break a rule (late somewhere, or loaded beyond a capacity)."""
    return 0 if solution.is_feasible() else sum(1 for r in solution.routes() if not r.is_feasible())


def _left_out_cost(problem: Problem, unplanned: list[Unplanned]) -> int:
    if not unplanned:
        return 0
    base = {p: required_penalty(problem, p) for p in range(1, 6)}
    return sum(visit_penalty(problem, problem.visit(u.visit_id), required_base=base) for u in unplanned)


def _build(problem: Problem, leave_out: Mapping[str, UnplannedReason], *, skills_as_loads: bool = False) -> _Model:
    visits = [v for v in problem.visits if v.id not in leave_out]
    depots = sorted({w.start_location for w in problem.workers} | {w.end_location for w in problem.workers})
    depot_index = {loc: k for k, loc in enumerate(depots)}
    # PyVRP location k: depots first, then one per site for the visits every worker may serve (every visit with
    # skills as loads), and one per visit for the others: a routing profile forbids the column of a visit its
    # workers may not serve, and a column shared with another visit at the site would make the arc between them
    # free (PyVRP's diagonals are zero), changing the search. Clients at one location share its rows and columns,
    # so the matrices PyVRP reads at every move are as small as the day's sites allow (`SHARED_LOCATIONS`).
    anyone: dict[frozenset[str], bool] = {}
    location_of: dict[int, int] = {}
    client_location: list[int] = []
    where = list(depots)
    for k, v in enumerate(visits):
        if v.skills not in anyone:
            anyone[v.skills] = skills_as_loads or all(w.qualified_for(v) for w in problem.workers)
        site = v.location if SHARED_LOCATIONS and anyone[v.skills] else -1 - k
        if site not in location_of:
            location_of[site] = len(where)
            where.append(v.location)
        client_location.append(location_of[site])
    points = problem.points
    locations = [
        pyvrp.Location(x=points[loc].lon if points else 0.0, y=points[loc].lat if points else 0.0) for loc in where
    ]
    index = np.array(where)
    # An arc that must not be used takes longer than any shift, so it is never on time.
    horizon_s = problem.horizon_s
    forbidden_s = 10 * horizon_s
    # The problem's matrices as arrays (-1: no route), read once when it was made: converting the
    # lists here took 70 ms of a 1,000-customer model's 120 ms (bench/routing_overhead.py).
    dur_sub = problem.duration_array_s[np.ix_(index, index)]
    dist_sub = problem.distance_array_m[np.ix_(index, index)]
    missing = dist_sub < 0
    dur_sub[missing] = forbidden_s
    driven = dur_sub[~missing].sum()

    objective = problem.objective
    profiles: dict[tuple[frozenset[int], float, float], int] = {}
    distance_matrices: list[Any] = []
    duration_matrices: list[Any] = []
    profile_of: dict[str, int] = {}
    arc_cost = 0.0
    # The visits each set of skills may not serve, worked out once per set (not once per worker: 250,000
    # checks for a 1,000-customer Gehring & Homberger fleet, half of its model's 65 ms).
    forbidden_for: dict[frozenset[str], frozenset[int]] = {}
    for w in problem.workers:
        if skills_as_loads:
            forbidden: frozenset[int] = frozenset()
        elif w.skills in forbidden_for:
            forbidden = forbidden_for[w.skills]
        else:
            forbidden = forbidden_for[w.skills] = frozenset(k for k, v in enumerate(visits) if not w.qualified_for(v))
        key = (forbidden, w.cost_per_hour, w.cost_per_km)
        if key not in profiles:
            per_s = objective.per_travel_s + w.cost_per_hour / 3600
            per_m = objective.per_distance_m + w.cost_per_km / 1000
            cost = np.rint(per_s * dur_sub + per_m * np.where(missing, 0, dist_sub)).astype(np.int64)
            arc_cost = max(arc_cost, float(cost[~missing].sum()))
            durations = dur_sub.copy()
            columns = sorted({client_location[k] for k in forbidden})
            worst = int(cost.max(initial=0)) + 1
            forbidden_cost = worst * (len(depots) + len(visits) + 1)  # dearer than any route, locations shared or not
            cost[missing] = forbidden_cost
            cost[:, columns] = forbidden_cost
            durations[:, columns] = forbidden_s
            np.fill_diagonal(cost, 0)
            np.fill_diagonal(durations, 0)
            profiles[key] = len(distance_matrices)
            distance_matrices.append(cost)
            duration_matrices.append(durations)
        profile_of[w.id] = profiles[key]

    # Required visits are required here; `_optional` makes them optional at the required-visit
    # penalty when no complete plan turns up: PyVRP then always ends with a plan (leaving out what
    # cannot fit, least urgent first), but searches more slowly (on Gehring & Homberger r1_4_2,
    # 3,000 iterations took 2-3 times as long and ended 0.3 % worse).
    loaded = any(v.demand for v in visits) or any(w.capacity is not None for w in problem.workers)
    total_demand = sum(v.demand for v in visits)
    # With `skills_as_loads`, one load dimension per skill some visit needs and some worker lacks.
    skills = (
        sorted({s for v in visits for s in v.skills if not all(s in w.skills for w in problem.workers)})
        if skills_as_loads
        else []
    )
    needing = {s: sum(1 for v in visits if s in v.skills) for s in skills}
    now = problem.now_s or 0
    clients = []
    for k, v in enumerate(visits):
        window = v.windows[0] if v.windows else None
        clients.append(
            pyvrp.Client(
                location=client_location[k],
                delivery=([v.demand] if loaded else []) + [1 if s in v.skills else 0 for s in skills],
                service_duration=v.service_s,
                tw_early=max(now, window.start_s if window else 0),
                tw_late=window.end_s if window else horizon_s,
                prize=0 if v.required else (v.penalty or 0),
                required=v.required,
                name=v.id,
            )
        )
    type_keys: dict[tuple[object, ...], int] = {}
    workers_of_type: list[list[Worker]] = []
    vehicle_types: list[pyvrp.VehicleType] = []
    type_of_worker: dict[str, int] = {}
    for w in problem.workers:
        type_key = (
            w.start_location,
            w.end_location,
            w.shift_start_s,
            w.shift_end_s,
            w.max_work_s,
            w.capacity,
            profile_of[w.id],
            tuple(s in w.skills for s in skills),
        )
        if type_key not in type_keys:
            type_keys[type_key] = len(workers_of_type)
            workers_of_type.append([])
        workers_of_type[type_keys[type_key]].append(w)
        type_of_worker[w.id] = type_keys[type_key]
    for group in workers_of_type:
        w = group[0]
        capacity = w.capacity if w.capacity is not None else total_demand
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=len(group),
                capacity=([capacity] if loaded else []) + [needing[s] if s in w.skills else 0 for s in skills],
                start_depot=depot_index[w.start_location],
                end_depot=depot_index[w.end_location],
                # A worker whose shift ends before now (on the break relaxation, whose shifts end a break earlier,
                # this happens to a worker with less than a break left, e.g. at 14:34 with a shift to 15:00) may
                # leave only at its end: no visit fits, as every visit starts at now or later.
                tw_early=min(max(w.shift_start_s, now), w.shift_end_s),
                tw_late=w.shift_end_s,
                shift_duration=w.max_work_s if w.max_work_s is not None else np.iinfo(np.int64).max,
                unit_distance_cost=1,
                unit_duration_cost=0,
                profile=profile_of[w.id],
                name=w.id,
            )
        )
    data = pyvrp.ProblemData(
        locations=locations,
        clients=clients,
        depots=[pyvrp.Depot(location=k) for k in range(len(depots))],
        vehicle_types=vehicle_types,
        distance_matrices=distance_matrices,
        duration_matrices=duration_matrices,
    )
    cost_per_s = max(1.0, arc_cost / driven) if driven > 0 else 1.0
    return _Model(data, [v.id for v in visits], workers_of_type, type_of_worker, cost_per_s)


def _optional(model: _Model, problem: Problem) -> _Model:
    """`model` with every visit optional, a required one at the required-visit penalty of its priority."""
    penalties = {p: required_penalty(problem, p) for p in range(1, 6)}
    clients = []
    for client, vid in zip(model.data.clients(), model.visit_ids, strict=True):
        visit = problem.visit(vid)
        clients.append(
            pyvrp.Client(
                location=client.location,
                delivery=list(client.delivery),
                service_duration=client.service_duration,
                tw_early=client.tw_early,
                tw_late=client.tw_late,
                prize=penalties[visit.priority] if visit.required else (visit.penalty or 0),
                required=False,
                name=vid,
            )
        )
    return dataclasses.replace(model, data=model.data.replace(clients=clients))


def _initial(model: _Model, plan: Plan | None) -> pyvrp.Solution | None:
    """The previous plan as a PyVRP solution to start from (None when it does not fit this model)."""
    if plan is None:
        return None
    client = {vid: k for k, vid in enumerate(model.visit_ids)}
    routes = []
    for route in plan.routes:
        vt = model.type_of_worker.get(route.worker_id)
        visits = [client[s.visit_id] for s in route.stops if s.visit_id in client]
        if vt is not None and visits:
            routes.append((vt, visits))
    return _solution(model, routes)


def _constructed(model: _Model, routes: Mapping[str, Sequence[str]]) -> pyvrp.Solution | None:
    """`routes` (worker id -> visit ids) as a PyVRP solution of `model` (None when they do not fit it)."""
    client = {vid: k for k, vid in enumerate(model.visit_ids)}
    return _solution(
        model, [(model.type_of_worker[w], [client[vid] for vid in ids if vid in client]) for w, ids in routes.items()]
    )


def _solution(model: _Model, routes: Sequence[tuple[int, Sequence[int]]]) -> pyvrp.Solution | None:
    """A PyVRP solution of `model` from (vehicle type, client indices) routes; None when they do not fit it."""
    try:
        return pyvrp.Solution(
            model.data, [pyvrp.Route(model.data, list(visits), vt) for vt, visits in routes if visits]
        )
    except (ValueError, IndexError, RuntimeError):
        return None


class _Stop(StoppingCriterion):
    """The StopRule as a PyVRP stopping criterion that also reports progress and honours should_stop.

    Like PyVRP's MaxRuntime, this is the one place in the engine that reads the clock.
    """

    def __init__(
        self,
        rule: StopRule,
        on_progress: Callable[[Progress], None] | None,
        should_stop: Callable[[], bool] | None,
        *,
        offset: int = 0,
        clock: Callable[[], float] | None = None,
        started_s: float | None = None,
    ) -> None:
        self._rule = rule
        self._offset = offset  # the cost of visits left out before the search, as OR-Tools reports it
        self._on_progress = on_progress
        self._should_stop = should_stop
        # Started here, before PyVRP builds its first solution, so progress times count from the call.
        self._clock = clock or time.perf_counter
        self._started = self._clock() if started_s is None else started_s
        self._iterations = 0
        self._best: int | None = None
        self._done = False

    @property
    def done(self) -> bool:
        """Whether the rule (or should_stop) has ended the search."""
        return self._done

    def phase(self, share: float) -> StoppingCriterion:
        """This criterion, also ending once `share` of the budget has gone without a feasible plan."""

        def stop(best_cost: int) -> bool:
            if self(best_cost):
                return True
            if share >= 1 or self._best is not None or self._iterations < GIVE_UP_ITERATIONS:
                return False
            rule = self._rule
            if rule.max_solutions is not None and self._iterations > share * rule.max_solutions:
                return True
            return rule.max_seconds is not None and self._clock() - self._started >= share * rule.max_seconds

        return stop

    def __call__(self, best_cost: float) -> bool:
        elapsed = self._clock() - self._started
        cost = int(best_cost) if best_cost < _NO_FEASIBLE else None
        if cost is not None and (self._best is None or cost < self._best):
            self._best = cost
            if self._on_progress is not None:
                self._on_progress(Progress(cost + self._offset, elapsed, self._iterations, "pyvrp"))
        self._iterations += 1
        rule = self._rule
        self._done = (
            (rule.max_solutions is not None and self._iterations > rule.max_solutions)
            or (rule.max_seconds is not None and elapsed >= rule.max_seconds)
            or (self._should_stop is not None and self._should_stop())
        )
        return self._done
