"""Plan routes: `solve(problem, stop=..., seed=...) -> Plan` and `replan(...) -> Replan`.

OR-Tools is the routing library and the only engine here that expresses every side constraint
(breaks, several windows per visit, pinned stops, change penalties, balancing). PyVRP is used behind
the same interface where it measurably does better (bench/README.md, "Routing"):
* a problem PyVRP expresses exactly (time windows, skills, capacity, shifts; see
  `routing.pyvrp_engine.unsupported`) is solved by PyVRP: on Solomon it reaches a far smaller gap at
  the same budget;
* a first plan with breaks or second windows is searched by PyVRP on a relaxation that its routes
  keep (`relax_for_pyvrp`, first window only: when every worker's break may start at one moment, the
  day on the clock of a worker who rests then, so windows after the break keep their length
  (`relax_on_break_clock`); otherwise shifts, working time and late windows shortened by the breaks);
  the breaks are put in by `warm_routes` (routes trimmed where something no longer
  fits, the rest inserted most cheaply) into the solution PyVRP starts from, which is the first
  feasible plan ("pyvrp+repair"), and again into its best, and
  OR-Tools improves it with every constraint for the rest of the budget ("pyvrp+ortools") when
  that leaves it time to search (`ORTOOLS_S_PER_VISIT`) and the day is not large (`LARGE_DAY_VISITS`);
* re-plans (pins, announced visits) run OR-Tools from the previous plan.
Whichever engine runs, the plan comes back as the same `Plan` value, and the checker holds it to
every rule. This is the only module importing ortools.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from time import perf_counter
from typing import Any, Literal

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from routing.pins import Happened, UnderWay, after_work_under_way, pins_as_happened
from routing.plan import (
    Plan,
    Progress,
    Replan,
    Route,
    Unplanned,
    UnplannedReason,
    diff_plans,
    earliest_route,
    priced,
    schedule_route,
    unplanned_reason,
    unservable_reasons,
)
from routing.portfolio import solve_on_cores
from routing.problem import DAY_S, Announced, Problem, StopRule, Visit, Window, Worker, required_penalty
from routing.pyvrp_engine import PLAIN, SearchSettings, solve_pyvrp, unsupported

__all__ = [
    "Engine",
    "Progress",
    "Replan",
    "StopRule",
    "break_moment",
    "choose_engine",
    "field_history_length",
    "handover_share",
    "relax_for_pyvrp",
    "relax_on_break_clock",
    "replan",
    "replan_problem",
    "routes_plan",
    "solve",
]

Engine = Literal["auto", "ortools", "pyvrp"]

IDLE_CHECKS = 200_000
"""A count-only OR-Tools search also ends after this many search-limit checks without a new solution
(about half a second of fruitless search on a small problem), so it cannot run on forever."""


SEED_SHARE = 0.5
"""Share of a timed budget PyVRP spends on the relaxation before OR-Tools takes over (see `_solve_hybrid`)."""
ORTOOLS_S_PER_VISIT = 0.01
"""OR-Tools only takes over when its share of a timed budget gives it this many seconds per visit:
building its model of a 1,000-visit day with breaks took 6 s on the loaded 2-CPU bench machine
(1.5-2 s quiet), so with less it would spend its share building and not searching. Otherwise
PyVRP keeps the budget and its repaired plan is the answer ("pyvrp+repair")."""
REPAIR_SHARE = 0.1
"""Share of a timed budget kept for putting the breaks into PyVRP's routes when OR-Tools does not take over, until
the repair of the solution PyVRP starts from has been timed (see `repair_reserve_s`)."""
REPAIR_MIN_SHARE = 0.02
REPAIR_MARGIN = 2.0
"""Once that first repair is timed, PyVRP searches until `REPAIR_MARGIN` times its duration, but at least
`REPAIR_MIN_SHARE` of the budget, is left. On the 1,000-visit city day a repair (breaks put in, plan timed) took
0.05-0.2 CPU s, and with a tenth of a 10-second budget kept the plan came back after 9.3-9.4 CPU s: 0.6 s of the
budget went unused; now 9.9 s, with 2-10 % more PyVRP iterations (bench/README.md, "Routing", tenth session,
branch `route11`)."""
WINDOW_CUT_SHARE = 1.0
"""Share of the break by which `relax_for_pyvrp` ends late windows earlier (1: every route keeps its
breaks, 0: the day without breaks). 0.5 with penalties scaled to the day gave shorter plans with
1,000-2,000 PyVRP iterations before OR-Tools (bench/routing_phases.py) and the best city repair, but
not shorter timed 10-second plans of three Monaco days (bench/README.md, "Routing", sixth session)."""
BREAK_CLOCK = True
"""Whether `relax_for_pyvrp` puts a day whose breaks may all start at one moment on that moment's clock
(`relax_on_break_clock`) instead of cutting every late window by the break. Every window after the break keeps
its length there (cut, it lost the break's 30 minutes of two hours), and PyVRP's routes still keep their breaks.
One process: on the 1,000-visit city day the 10 s plans came out 3.8 % shorter (four seeds), the 120 s plan 3.4 %;
on the Monaco day the 60 s plans 0.8-1.6 % (six seeds, twice), the 10 s plans the same (eighteen seeds: OR-Tools,
which places the breaks freely, takes back at 10 s what the clock gains) (bench/README.md, "Routing", sixteenth
session)."""
KEEP_BEFORE_BREAKS = False
"""Whether `relax_for_pyvrp` keeps whole the windows of visits over before their workers' breaks must start (days
under `LARGE_DAY_VISITS`). Sound (routes keep their breaks) and PyVRP's relaxed Monaco plans were 2.2 % shorter
with it at 10 CPU s, but OR-Tools won back less from them: the 10 s plans were 0.8 % shorter (nine day-runs, within
what seeds move) and the 60 s plans 1.7 % longer (days 0-2, one run each), so it is off (bench/README.md,
"Routing", ninth session, branch `monaco4`)."""
LARGE_DAY_VISITS = 600
"""From this many visits on, a day's relaxation is searched with `LARGE_DAY_SEARCH` (see `field_history_length`),
and PyVRP keeps the whole budget but what the repair needs (`repair_reserve_s`): OR-Tools' half of a 120-second budget never improved the
city day's repaired plan (4 runs of 4) and overran the budget by 40-50 CPU s; without it the plans of two days
were 1.9 % and 1.1 % shorter (bench/README.md, "Routing", eighth session, branch `routecity3`)."""
LARGE_DAY_HISTORY = 20
"""PyVRP's late-acceptance history on a large day (PyVRP's default: 300). Measured on the 1,000-visit city
day (bench/routing_city.py; bench/README.md, "Routing", seventh session)."""
LARGE_DAY_SEARCH = SearchSettings(
    history_length=LARGE_DAY_HISTORY, skills_as_loads=True, exhaustive_on_best=False, insertion_start=True
)
"""PyVRP's search on a large day's relaxation: the short history, skills as load dimensions (one routing
profile instead of one per skill set: the city day's 14 profiles are 14 pairs of 1,003 x 1,003 matrices, and
an iteration ran 1.7 times as fast with one) and no exhaustive search of each new best (a quarter of the CPU
of a 2,000-iteration search with the short history, which finds a new best every few dozen iterations, for
no shorter plan at equal iterations). Together about 2.5 times as many iterations per CPU second
(bench/README.md, "Routing", eighth session, branch `routecity3`). It starts from cheapest insertion
(`routing.construct`, 0.15 CPU s on the city day) instead of a random solution: 79-84 routes instead of 94-96; on
four city days the 10-second plans came out 2.4 % shorter, the 120-second ones 1.1 % (twelfth session, `route13`)."""

FIELD_SEARCH = SearchSettings(history_length=50)
"""PyVRP's search on a field day's break relaxation: plain PyVRP's but for a late-acceptance history of
50 iterations instead of 300. A 10-second plan gives PyVRP 2,000-4,000 iterations there, and with a
history of 300 the search still accepts what it had 300 iterations ago, so it converges too slowly:
on the Monaco days 0-2 (relaxation, 8 CPU s) 50 gave 9.02 h against plain's 9.68 h (mean; 4,000
iterations: 8.98 h against 9.54 h; bench/README.md, "Routing", seventh session)."""
FIELD_SEED_SHARE = 0.7
"""With `FIELD_SEARCH`, the share of a timed budget PyVRP spends on the relaxation before OR-Tools takes over
(instead of `SEED_SHARE`): the shorter history makes PyVRP's extra seconds worth more than OR-Tools'."""
LONG_FIELD_SEED_SHARE = 0.85
"""On a field day with a longer budget than `FIELD_SEARCH_MAX_SECONDS` (plain PyVRP's search: the 60-second
plan), the share PyVRP spends on the relaxation before OR-Tools takes over (instead of `SEED_SHARE`): with its
start accepted, OR-Tools' last improvement came 9-12 s into its 30 s on the Monaco days 0 and 1, and the 60 s
plan of day 0 was 7.48 h with 0.85 against 7.64 h with 0.5 (bench/README.md, "Routing", eighth session)."""
FIELD_SEARCH_MAX_VISITS = 500
"""Days up to this many visits get `FIELD_SEARCH` (measured on 300-visit Monaco days; not on the city day)."""
FIELD_SEARCH_MAX_SECONDS = 30.0
FIELD_SEARCH_MAX_ITERATIONS = 10_000
"""... and only budgets up to these: a history of 50 stalls in long searches. PyVRP on the Monaco days'
relaxation, mean of days 0-2: 8.87 h against plain's 9.59 h at 10 CPU s, 8.69 h against 9.05 h at 20,
but 8.63 h against 8.57 h at 40 (about 18,000 iterations), so a 60-second plan keeps plain PyVRP's search."""


def choose_engine(problem: Problem, engine: Engine = "auto") -> Literal["ortools", "pyvrp"]:
    """The engine that enforces the constraints: PyVRP for what it expresses exactly, else OR-Tools.

    (On "auto", an OR-Tools first plan may still start from a PyVRP seed; see the module docstring.)

    Raises ValueError when PyVRP is asked for a problem it cannot express, naming what is missing.
    """
    if engine == "ortools":
        return "ortools"
    missing = unsupported(problem)
    if engine == "pyvrp":
        if missing:
            raise ValueError(f"engine='pyvrp' cannot express {', '.join(missing)}; use 'ortools' or 'auto'")
        return "pyvrp"
    if engine != "auto":
        raise ValueError(f"engine {engine!r} not understood (auto, ortools or pyvrp)")
    return "ortools" if missing else "pyvrp"


def solve(
    problem: Problem,
    *,
    stop: StopRule,
    seed: int = 0,
    engine: Engine = "auto",
    initial: Plan | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    processes: int = 1,
    started_s: float | None = None,
) -> Plan:
    """The best plan found before `stop` (or `should_stop()` returning True).

    Visits that no plan could include (no qualified worker, demand too large, no route, window out
    of reach) are left out up front with that reason; the rest are left out only at their penalty
    and come back as `Unplanned` with the reason "no qualified worker has time" or, for optional
    visits, "cheaper to leave out than to serve". `initial` (e.g. the previous plan) warm-starts the
    search where it still fits. `on_progress` is called with each new best cost of a plan that keeps
    every constraint (in a "pyvrp+ortools" run, from the second half of the budget on). The same
    problem, seed and a solution-count stop give the same plan. With `processes` above 1, as many searches run at
    once, with this seed and the next ones, each in its own process, and the best plan is kept
    (`routing.portfolio`): the same budget, the cores of the machine. A timed budget counts from `started_s` (a
    `time.perf_counter` reading; default: this call). With `problem.now_s` set no break is placed before it
    (`Problem.from_now`).
    """
    if problem.now_s is not None:
        problem = problem.from_now(problem.now_s)
    if processes > 1:
        return solve_on_cores(
            problem,
            stop=stop,
            seed=seed,
            engine=engine,
            initial=initial,
            on_progress=on_progress,
            should_stop=should_stop,
            processes=processes,
        )
    entered = perf_counter() if started_s is None else started_s
    chosen = choose_engine(problem, engine)
    pinned = {p.visit_id for p in problem.pins}
    leave_out = unservable_reasons(problem, (v for v in problem.visits if v.id not in pinned))
    report = _best_only(on_progress)
    if chosen == "pyvrp":
        plan = solve_pyvrp(
            problem,
            stop=stop,
            seed=seed,
            leave_out=leave_out,
            initial=initial,
            on_progress=report,
            should_stop=should_stop,
            started_s=entered,
        )
        if plan is not None:
            return plan
        # PyVRP ended without a feasible plan (it can leave any visit out, so this is rare: a budget
        # gone before its first complete plan, e.g. 1 s for 1,000 customers on a busy machine): OR-Tools
        # in what is left of the budget, which always returns a plan (its first routes if nothing more).
        if stop.max_seconds is not None:
            stop = StopRule(stop.max_solutions, max(0.001, stop.max_seconds - (perf_counter() - entered)))
    elif engine == "auto" and initial is None and (relaxed := _relaxation(problem)) is not None:
        return _solve_hybrid(
            problem,
            relaxed,
            stop=stop,
            seed=seed,
            leave_out=leave_out,
            report=report,
            should_stop=should_stop,
            started_s=started_s,
        )
    return _solve_ortools(
        problem,
        stop=stop,
        leave_out=leave_out,
        initial=initial,
        on_progress=report,
        should_stop=should_stop,
        started=entered,
    )


def _best_only(on_progress: Callable[[Progress], None] | None) -> Callable[[Progress], None] | None:
    """Pass on only reports that beat every earlier one (a hybrid run has two engines reporting)."""
    if on_progress is None:
        return None
    best: list[int] = []

    def report(progress: Progress) -> None:
        if not best or progress.objective < best[0]:
            best[:] = [progress.objective]
            on_progress(progress)

    return report


def relax_for_pyvrp(
    problem: Problem,
    window_cut_share: float | None = None,
    *,
    keep_before_breaks: bool | None = None,
    break_clock: bool | None = None,
) -> Problem:
    """What PyVRP can express of `problem`, tightened so that its routes keep their breaks.

    When every worker's one break may start at a common moment (`break_moment`), the day is put on the clock of
    a worker who rests then (`relax_on_break_clock`), unless `break_clock` (default `BREAK_CLOCK`) is False or
    the cut relaxation below is asked for by its own parameters, `window_cut_share` or `keep_before_breaks`.

    The cut relaxation: each worker's shift and working time are shortened by their breaks, and every visit whose
    window closes after the earliest break could open has its window's end moved earlier by
    `window_cut_share` (default `WINDOW_CUT_SHARE`) of the longest rest. With the whole rest
    (share 1) every route keeps its breaks as it stands (take each break as soon as it may start;
    the later visits move by no more than the break lasts), but no visit may be served in the last
    half hour of its window although most breaks fit into waiting time; a smaller share lets the
    repair (`warm_routes`, then OR-Tools with every rule) fix the routes it breaks (bench/README.md,
    "Routing", sixth session). With `keep_before_breaks` (default `KEEP_BEFORE_BREAKS`, days under
    `LARGE_DAY_VISITS` only) a visit that is over before every worker who may serve it must start a break
    (window end plus service by the earliest latest start of their breaks) keeps its window whole: it never
    follows a break (take the break after the last such visit, then as before), so routes still keep their
    breaks; on the Monaco days a third of the cut windows. Visits keep their first window only and balancing is
    left out.
    """
    on_clock = BREAK_CLOCK if break_clock is None else break_clock
    if on_clock and window_cut_share is None and keep_before_breaks is None:
        moment = break_moment(problem)
        if moment is not None:
            return relax_on_break_clock(problem, moment)
    share = WINDOW_CUT_SHARE if window_cut_share is None else window_cut_share
    workers = []
    for w in problem.workers:
        rest = sum(b.duration_s for b in w.breaks)
        workers.append(
            dataclasses.replace(
                w,
                breaks=(),
                shift_end_s=max(w.shift_start_s, w.shift_end_s - rest),
                max_work_s=None if w.max_work_s is None else max(1, w.max_work_s - rest),
            )
        )
    breaks = [b for w in problem.workers for b in w.breaks]
    opens = min((b.earliest_start_s for b in breaks), default=None)
    cut = round(share * max((sum(b.duration_s for b in w.breaks) for w in problem.workers), default=0))
    keep = (
        KEEP_BEFORE_BREAKS and len(problem.visits) < LARGE_DAY_VISITS
        if keep_before_breaks is None
        else keep_before_breaks
    )
    deadlines = _break_deadlines(problem) if keep else {}
    visits = []
    for v in problem.visits:
        windows = v.windows[:1]
        if windows and opens is not None and windows[0].end_s >= opens:
            first = windows[0]
            # Served before the first break must start (by every worker who may serve it), the visit never
            # moves: the break is taken after it. Otherwise it may follow a break and move by the rest.
            deadline = deadlines.get(v.skills, problem.horizon_s) if keep else -1
            if first.end_s + v.service_s > deadline:
                windows = (Window(first.start_s, max(first.start_s, first.end_s - cut)),)
        visits.append(dataclasses.replace(v, windows=windows))
    objective = dataclasses.replace(problem.objective, balance_per_s=0.0)
    return problem.replace(workers=tuple(workers), visits=tuple(visits), objective=objective)


def break_moment(problem: Problem) -> int | None:
    """The moment at which every worker's break may start, if the day can be relaxed on that clock; else None.

    It needs: some worker with a break, no worker with more than one, a moment inside every break's window (the
    middle of the span they share) that is not before the plan's `now_s`, and every visit servable on the clock
    (`_clock_window`), where a service running across the moment can take a break before it or after it with
    every qualified worker who has a break (the moment at least the service after the break's earliest start,
    or before its latest). Lunch breaks of two hours or more and visits of at most an hour always do.
    """
    resting = [w for w in problem.workers if w.breaks]
    if not resting or any(len(w.breaks) > 1 for w in resting):
        return None
    opens = max(w.breaks[0].earliest_start_s for w in resting)
    closes = min(w.breaks[0].latest_start_s for w in resting)
    if opens > closes:
        return None
    moment = (opens + closes) // 2
    if problem.now_s is not None and problem.now_s > moment:
        return None
    rest = max(w.breaks[0].duration_s for w in resting)
    for visit in problem.visits:
        either_side = all(
            moment - w.breaks[0].earliest_start_s >= visit.service_s
            or w.breaks[0].latest_start_s - moment >= visit.service_s
            for w in resting
            if w.qualified_for(visit)
        )
        if not either_side or (
            visit.windows and _clock_window(visit.windows[0], visit.service_s, moment, rest) is None
        ):
            return None
    return moment


def relax_on_break_clock(problem: Problem, moment: int) -> Problem:
    """`problem` on the clock of a worker who rests from `moment` (see `break_moment`) for the longest break.

    Before the moment the clock is the day's; from then on it runs that break behind. So a worker's shift
    and working time end a break earlier, a window wholly after the break moves a break earlier and stays as
    long, a window over before a service could reach the moment stays as it is, and one around the moment
    keeps what can be served before, across or after it (`_clock_window`). A route planned on this clock keeps
    every break as it stands: take it at the moment (between two visits, waiting, or interrupting a drive), or,
    where a service runs across the moment, just before or just after that service; every later visit then
    starts at most a break later than its time on the clock, which its window allows. The break's time is
    placed, only not where it is best: that is left to the repair and to OR-Tools with every rule. Visits keep
    their first window only and balancing is left out.
    """
    rest = max((b.duration_s for w in problem.workers for b in w.breaks), default=0)
    workers = tuple(
        dataclasses.replace(
            w,
            breaks=(),
            shift_end_s=max(w.shift_start_s, w.shift_end_s - rest),
            max_work_s=None if w.max_work_s is None else max(1, w.max_work_s - rest),
        )
        for w in problem.workers
    )
    visits = []
    for v in problem.visits:
        window = _clock_window(v.windows[0], v.service_s, moment, rest) if v.windows else None
        visits.append(dataclasses.replace(v, windows=() if window is None else (window,)))
    objective = dataclasses.replace(problem.objective, balance_per_s=0.0)
    return problem.replace(workers=workers, visits=tuple(visits), objective=objective)


def _clock_window(window: Window, service_s: int, moment: int, rest: int) -> Window | None:
    """When a visit with `window` and `service_s` may start on the clock that runs `rest` behind from `moment`.

    Before the break it starts in its window and ends by the moment; across the moment it starts within the
    `service_s` before it and by the window's end less the break (the break taken before it moves it by as much at
    most); after the break it starts a break earlier on the clock than in the window. These pieces touch, so their
    union is one window; None when none is open (a short window about the moment).
    """
    start, end = window.start_s, window.end_s
    pieces = [
        (start, min(end, moment - service_s)),
        (max(start, moment - service_s), min(moment, end - rest)),
        (max(moment, start - rest), end - rest),
    ]
    open_pieces = [(lo, hi) for lo, hi in pieces if lo <= hi]
    if not open_pieces:
        return None
    return Window(min(lo for lo, _ in open_pieces), max(hi for _, hi in open_pieces))


def _break_deadlines(problem: Problem) -> dict[frozenset[str], int]:
    """For each set of skills a visit needs: the latest moment by which every worker holding them has to start
    their first break (no entry: no such worker has a break)."""
    deadlines: dict[frozenset[str], int] = {}
    for skills in {v.skills for v in problem.visits}:
        starts = [b.latest_start_s for w in problem.workers if skills <= w.skills for b in w.breaks]
        if starts:
            deadlines[skills] = min(starts)
    return deadlines


def field_history_length(problem: Problem) -> int | None:
    """PyVRP's late-acceptance history for searching `problem`'s relaxation (None: PyVRP's 300).

    A 10-second budget gives PyVRP 2,000-3,000 iterations on a 1,000-visit day, far fewer per visit
    than on a smaller one; with PyVRP's history of 300 its search then hardly gets below where it
    started (28.6 h after 2,000 iterations on the city day, 24.7 h after 16,000), with 20 it does
    (26.0 h; bench/README.md, "Routing", seventh session). Smaller days keep PyVRP's search here:
    the 300-visit Monaco day is tuned on its own (its budget ends with OR-Tools), although a first
    count there also favoured 20 (7.10 h against 8.19 h after 2,000 iterations, straight lines).
    """
    return LARGE_DAY_HISTORY if len(problem.visits) >= LARGE_DAY_VISITS else None


def relaxation_settings(problem: Problem, stop: StopRule) -> SearchSettings:
    """PyVRP's search parameters for the break relaxation of `problem` within `stop` (see `_solve_hybrid`).

    A field day PyVRP does not express exactly (breaks, second windows) of up to `FIELD_SEARCH_MAX_VISITS`
    visits, given a short budget (`FIELD_SEARCH_MAX_SECONDS`, `FIELD_SEARCH_MAX_ITERATIONS`), gets
    `FIELD_SEARCH`; a longer budget, a larger day (the 1,000-visit city day, measured separately) and
    every problem PyVRP expresses exactly (Solomon, Gehring & Homberger) keep plain PyVRP's search,
    but a large day (`LARGE_DAY_VISITS` on) gets `LARGE_DAY_SEARCH` at any budget.
    """
    if not unsupported(problem):
        return PLAIN
    if field_history_length(problem) is not None:
        return LARGE_DAY_SEARCH
    short = (stop.max_seconds is not None and stop.max_seconds <= FIELD_SEARCH_MAX_SECONDS) or (
        stop.max_seconds is None
        and stop.max_solutions is not None
        and stop.max_solutions <= FIELD_SEARCH_MAX_ITERATIONS
    )
    return FIELD_SEARCH if short and len(problem.visits) <= FIELD_SEARCH_MAX_VISITS else PLAIN


def handover_share(problem: Problem, stop: StopRule, settings: SearchSettings) -> float:
    """The share of a timed budget PyVRP searches the relaxation of `problem` with `settings` before OR-Tools.

    `FIELD_SEED_SHARE` with `FIELD_SEARCH` (a short budget), `LONG_FIELD_SEED_SHARE` for a field day of up to
    `FIELD_SEARCH_MAX_VISITS` visits with a longer budget, else `SEED_SHARE` (a large day is tuned on its own).
    """
    if settings == FIELD_SEARCH:
        return FIELD_SEED_SHARE
    field_day = bool(unsupported(problem)) and len(problem.visits) <= FIELD_SEARCH_MAX_VISITS
    small = field_history_length(problem) is None
    if field_day and small and stop.max_seconds is not None and stop.max_seconds > FIELD_SEARCH_MAX_SECONDS:
        return LONG_FIELD_SEED_SHARE
    return SEED_SHARE


def repair_reserve_s(budget_s: float, start_repair_s: float | None) -> float:
    """The seconds of a `budget_s` budget PyVRP leaves for putting the breaks into its best routes (when OR-Tools
    does not take over): `REPAIR_SHARE` of it while the repair's cost is unknown (`start_repair_s` None), then
    `REPAIR_MARGIN` times what repairing the solution PyVRP started from took, but at least `REPAIR_MIN_SHARE`."""
    if start_repair_s is None:
        return REPAIR_SHARE * budget_s
    return max(REPAIR_MIN_SHARE * budget_s, REPAIR_MARGIN * start_repair_s)


def _relaxation(problem: Problem) -> Problem | None:
    """The relaxation PyVRP searches for a seed (`relax_for_pyvrp`), made once per plan; None when a seed makes no
    sense: a re-plan (pins or announcements), or a relaxation PyVRP still cannot express."""
    if problem.pins or problem.announced:
        return None
    relaxed = relax_for_pyvrp(problem)
    return None if unsupported(relaxed) else relaxed


def _solve_hybrid(
    problem: Problem,
    relaxed: Problem,
    *,
    stop: StopRule,
    seed: int,
    leave_out: Mapping[str, UnplannedReason],
    report: Callable[[Progress], None] | None,
    should_stop: Callable[[], bool] | None,
    started_s: float | None = None,
) -> Plan:
    """PyVRP on `relaxed` (`_relaxation` of `problem`) for its share of the budget (`handover_share`), then OR-Tools
    with every rule from its routes.

    The seed's routes are trimmed where a break or a second window no longer lets a visit fit, the
    rest is inserted where it fits most cheaply (`warm_routes`): that plan keeps every constraint,
    is reported at once (first from the solution PyVRP starts from, then from its best), and is returned
    should OR-Tools end without a better one. GLS improves from there, with the breaks in waiting time where the relaxation
    could not put them (`relax_for_pyvrp`); see bench/README.md, "Routing", for what each step gains.
    """
    started = perf_counter() if started_s is None else started_s
    relaxed_out = dict(leave_out)
    relaxed_out.update(unservable_reasons(relaxed, (v for v in relaxed.visits if v.id not in leave_out)))
    settings = relaxation_settings(problem, stop)
    handover = handover_share(problem, stop, settings)
    finish = stop.max_seconds is None or stop.max_seconds * (1 - handover) >= ORTOOLS_S_PER_VISIT * len(problem.visits)
    if len(problem.visits) >= LARGE_DAY_VISITS:
        finish = False  # OR-Tools never improved a large day's repaired plan (see `LARGE_DAY_VISITS`)
    # With OR-Tools to follow, PyVRP stops after its share of the budget; without, it stops once what the repair
    # needs is left of the budget (`repair_reserve_s`, counted from here), known once the start has been repaired.
    share = StopRule(
        max_solutions=stop.max_solutions,
        max_seconds=None if stop.max_seconds is None else stop.max_seconds * (handover if finish else 1),
    )
    search_ends_s = [
        None if finish or stop.max_seconds is None else stop.max_seconds - repair_reserve_s(stop.max_seconds, None)
    ]
    early: list[Plan] = []

    def first_plan(plan: Plan) -> None:
        # The solution PyVRP's search starts from, with the breaks put in, is the first feasible plan
        # (0.2 s into the Monaco day, where the end of PyVRP's share came at half the budget).
        begun = perf_counter()
        early.append(routes_plan(problem, warm_routes(problem, problem.visits, plan), leave_out))
        if search_ends_s[0] is not None and stop.max_seconds is not None:
            search_ends_s[0] = stop.max_seconds - repair_reserve_s(stop.max_seconds, perf_counter() - begun)
        if report is not None:
            report(Progress(early[0].objective, perf_counter() - started, 1, "pyvrp+repair"))

    def search_should_stop() -> bool:
        ends = search_ends_s[0]
        return (should_stop is not None and should_stop()) or (ends is not None and perf_counter() - started >= ends)

    seed_plan = solve_pyvrp(
        relaxed,
        stop=share,
        seed=seed,
        leave_out=relaxed_out,
        on_progress=None,
        should_stop=search_should_stop if search_ends_s[0] is not None else should_stop,
        on_start=first_plan,
        settings=settings,
        started_s=started_s,
    )
    repaired = early[0] if early else None
    if seed_plan is not None:
        later = routes_plan(problem, warm_routes(problem, problem.visits, seed_plan), leave_out)
        if report is not None:
            report(Progress(later.objective, perf_counter() - started, 1, "pyvrp+repair"))
        if repaired is None or later.objective < repaired.objective:
            repaired = later
    rest = stop
    if stop.max_seconds is not None:
        rest = StopRule(stop.max_solutions, max(0.001, stop.max_seconds - (perf_counter() - started)))
    if repaired is not None and (not finish or (should_stop is not None and should_stop())):
        return dataclasses.replace(repaired, engine="pyvrp+repair")
    if should_stop is not None and should_stop():
        rest = StopRule(max_solutions=1)
    plan = _solve_ortools(
        problem,
        stop=rest,
        leave_out=leave_out,
        initial=repaired or seed_plan,
        on_progress=report,
        should_stop=should_stop,
        started=started,
        fallback=repaired,
    )
    if repaired is not None and repaired.objective < plan.objective:
        plan = repaired
    return dataclasses.replace(plan, engine="pyvrp+ortools")


def routes_plan(
    problem: Problem, routes: Mapping[str, Sequence[str]], leave_out: Mapping[str, UnplannedReason]
) -> Plan:
    """A plan of `routes` (worker id -> visit ids, each keeping every rule) timed by `earliest_route`.

    Visits on no route are unplanned: with their `leave_out` reason, or else the reason found now.
    Its objective is priced like OR-Tools': each leg's arc cost, the penalties of the visits left
    out and, with balancing, the largest workload. Raises ValueError if a route breaks a rule.
    """
    order = {w.id: k for k, w in enumerate(problem.workers)}
    built = []
    for worker_id, ids in sorted(routes.items(), key=lambda item: order[item[0]]):
        route = earliest_route(problem, problem.worker(worker_id), ids) if ids else None
        if ids and route is None:
            raise ValueError(f"the route of {worker_id!r} breaks a rule")
        if route is not None:
            built.append(route)
    placed = {vid for ids in routes.values() for vid in ids}
    unplanned = [
        Unplanned(v.id, leave_out.get(v.id) or unplanned_reason(problem, built, v))
        for v in problem.visits
        if v.id not in placed
    ]
    cost = priced(problem, built, unplanned)
    return Plan(routes=tuple(built), unplanned=tuple(unplanned), engine="ortools", objective=cost)


def replan(
    problem: Problem,
    previous: Plan,
    *,
    pinned: Mapping[str, str],
    now_s: int,
    change_penalty: int,
    stop: StopRule,
    seed: int = 0,
    retime_penalty_per_s: int = 1,
    engine: Engine = "auto",
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    happened: Mapping[str, Happened] | None = None,
    under_way: Sequence[UnderWay] = (),
) -> Replan:
    """Re-optimise the rest of the day after a change, disturbing announced visits as little as it pays.

    `problem` is the day as it now stands: a new urgent order added (`Problem.with_visit`), a
    cancelled one taken out (`without_visits`), a worker off sick taken out (`without_workers`, their
    done visits too). `pinned` maps each visit done or in progress to its worker; those stay first on
    their worker's route, where `happened` records them (`routing.pins`), else at their time in `previous`. No other visit, and no break, starts before `now_s` (`Problem.from_now`:
    a break `previous` had begun before then counts as taken). Every other visit of
    `previous` counts as announced: giving it to another worker costs `change_penalty`, and moving
    its start by more than the objective's `retime_tolerance_s` costs `retime_penalty_per_s` per
    second. Returns the plan and what changes for whom.
    """
    current = replan_problem(
        problem,
        previous,
        pinned=pinned,
        now_s=now_s,
        change_penalty=change_penalty,
        retime_penalty_per_s=retime_penalty_per_s,
        happened=happened,
        under_way=under_way,
    )
    plan = solve(
        current,
        stop=stop,
        seed=seed,
        engine=engine,
        initial=previous,
        on_progress=on_progress,
        should_stop=should_stop,
    )
    return Replan(plan=plan, changes=tuple(diff_plans(previous, plan, facts=pinned.keys())))


def replan_problem(
    problem: Problem,
    previous: Plan,
    *,
    pinned: Mapping[str, str],
    now_s: int,
    change_penalty: int,
    retime_penalty_per_s: int = 1,
    happened: Mapping[str, Happened] | None = None,
    under_way: Sequence[UnderWay] = (),
) -> Problem:
    """The problem `replan` solves: `problem` with pins, announced visits, `now_s` and change costs.

    `under_way` are visits under way that `previous` does not have (it was made while they were): a worker with no
    pin and one of those starts where and when it ends (`routing.pins.after_work_under_way`), and it is left out.
    Check a re-plan against this problem (it knows the pins). Raises ValueError when a pinned visit
    is not on its worker's route in `previous`, or is missing from `problem`.
    """
    before = previous.assignment()
    ahead = pins_as_happened(problem, previous, pinned, happened or {}, now_s)
    if under_way:
        ahead = after_work_under_way(ahead, [u for u in under_way if not ahead.pins_of(u.worker_id)])
    announced = [
        Announced(visit_id, worker_id, stop_.start_s)
        for route in previous.routes
        for stop_ in route.stops
        if (visit_id := stop_.visit_id) not in pinned
        and ahead.has_visit(visit_id)
        and ahead.has_worker(worker_id := before[visit_id])
    ]
    objective = dataclasses.replace(
        problem.objective, change_penalty=change_penalty, retime_penalty_per_s=retime_penalty_per_s
    )
    return ahead.replace(announced=tuple(announced), objective=objective)


# --- OR-Tools ------------------------------------------------------------------------------------


@dataclass
class _Model:
    manager: Any
    routing: Any
    time: Any
    visits: list[Visit]
    index_of_visit: dict[str, int]
    breaks: dict[int, list[Any]]


def _solve_ortools(
    problem: Problem,
    *,
    stop: StopRule,
    leave_out: Mapping[str, UnplannedReason],
    initial: Plan | None,
    on_progress: Callable[[Progress], None] | None,
    should_stop: Callable[[], bool] | None,
    started: float | None = None,
    fallback: Plan | None = None,
) -> Plan:
    """OR-Tools with every constraint; progress times count from `started` (default: now).

    `fallback` (a plan keeping every rule; default: the warm-start routes, when nothing is pinned)
    is returned should OR-Tools end without a solution or the budget be gone once the model is built.
    """
    left_out = [Unplanned(vid, reason) for vid, reason in leave_out.items()]
    penalties = {p: required_penalty(problem, p) for p in range(1, 6)}
    left_out_cost = sum(
        penalties[v.priority] if v.required else (v.penalty or 0) for v in (problem.visit(u.visit_id) for u in left_out)
    )
    if not problem.workers:
        everything = [Unplanned(v.id, UnplannedReason.NO_QUALIFIED_WORKER) for v in problem.visits]
        return Plan(routes=(), unplanned=tuple(everything), engine="ortools", objective=left_out_cost)
    clock_start = perf_counter()
    origin = clock_start if started is None else started
    model = _build(problem, leave_out, penalties)
    routing = model.routing
    solver = routing.solver()

    params = pywrapcp.DefaultRoutingSearchParameters()
    # The first routes come from `warm_routes` (cheapest feasible insertion in Python: 0.7 s for
    # the 300-visit Monaco day, where OR-Tools' own insertion heuristics took 4-6 s with breaks).
    # LOCAL_CHEAPEST_INSERTION is the fallback should OR-Tools reject those routes; PATH_CHEAPEST_ARC
    # found no plan at all there. GLS then improves: it matched SA and beat tabu search there.
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.LOCAL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    # The model is closed with these limits, and ReadAssignmentFromRoutes (the warm start) searches
    # with them: without a solution limit of 1 it runs until the time limit (measured: 3 s).
    params.solution_limit = 1
    params.time_limit.FromSeconds(DAY_S)

    best: list[int] = []
    count = [0]
    idle = [0]
    shielded = [False]  # no stopping while restoring the warm start or taking the fallback solution

    def at_solution() -> None:
        count[0] += 1
        idle[0] = 0
        cost = int(routing.CostVar().Value()) + left_out_cost
        if not best or cost < best[0]:
            best[:] = [cost]
            if on_progress is not None:
                on_progress(Progress(cost, perf_counter() - origin, count[0], "ortools"))

    def limit() -> bool:
        if shielded[0]:
            return False
        idle[0] += 1
        # GLS can search on without ever finding another solution (e.g. one visit, two windows); a
        # count-only stop would then never fire. Counting checks keeps that guard deterministic.
        if stop.max_seconds is None and idle[0] > IDLE_CHECKS:
            return True
        return should_stop is not None and idle[0] % 64 == 0 and should_stop()

    routing.AddAtSolutionCallback(at_solution)
    routing.AddSearchMonitor(solver.CustomLimit(limit))
    routing.CloseModelWithParameters(params)
    shielded[0] = True
    start, routes = _initial_assignment(problem, model, initial)
    shielded[0] = False
    if fallback is None and not problem.pins:
        fallback = routes_plan(problem, routes, leave_out)
    if fallback is not None and stop.max_seconds is not None and perf_counter() - clock_start >= stop.max_seconds:
        # Building the model took the whole budget (a large day on a busy machine): the routes
        # already keep every rule, so they are the plan rather than an overrun.
        return fallback
    params.solution_limit = stop.max_solutions if stop.max_solutions is not None else 2**63 - 1
    if stop.max_seconds is not None:
        # The budget covers building the model and the first routes, not only OR-Tools' search.
        remaining = stop.max_seconds - (perf_counter() - clock_start)
        params.time_limit.FromMilliseconds(max(1, round(remaining * 1000)))
        # OR-Tools completes the warm start, and each neighbour of its local search, by a sub-search
        # (placing the breaks, timing the visits) cut off after `lns_time_limit`, by default 100 ms of
        # wall-clock time. With 30 workers' breaks that took longer on a busy machine, so OR-Tools
        # rejected the warm start (ROUTING_FAIL in 0.05 s: 2 of 2 Monaco days at load 15), built its own
        # first plan (16 h) in the rest of the budget and returned the repaired one: its whole share was
        # lost. The sub-searches now share the budget's limit (bench/README.md, "Routing", eighth session).
        params.lns_time_limit.FromMilliseconds(max(1, round(remaining * 1000)))
    else:
        # Count-only: keep the day as a formal time limit (GLS never stops by itself), and give LNS
        # sub-searches no wall-clock cut-off either (default 100 ms), or how far each one gets,
        # and so the plan, would depend on the machine's speed and load.
        params.lns_time_limit.FromSeconds(DAY_S)
    solution = _search(routing, start, params)
    if solution is None and start is not None and stop.max_seconds is not None:
        # Should OR-Tools still reject the warm start (status ROUTING_FAIL; before `lns_time_limit` was
        # set above, often, on the Monaco day): build its own first solution in the time that is left.
        remaining = stop.max_seconds - (perf_counter() - clock_start)
        if remaining > 0:
            params.time_limit.FromMilliseconds(max(1, round(remaining * 1000)))
            solution = _search(routing, None, params)
    if solution is not None and fallback is not None and solution.ObjectiveValue() + left_out_cost > fallback.objective:
        solution = None
    if solution is None and fallback is not None:
        return fallback
    if solution is None:
        # The budget ran out before OR-Tools recorded a solution (building the model and the first
        # routes can take most of a short budget): take the first solution, however long it takes.
        params.solution_limit = 1
        params.time_limit.FromSeconds(DAY_S)
        shielded[0] = True
        solution = _search(routing, start, params)
    if solution is None:
        # Only pins that contradict each other (or the shift) make the model infeasible.
        raise ValueError("no plan satisfies the pinned visits; check their workers, order and start times")
    return _plan_from(problem, model, solution, left_out, left_out_cost)


def _search(routing: Any, start: Any, params: Any) -> Any:
    if start is not None:
        return routing.SolveFromAssignmentWithParameters(start, params)
    return routing.SolveWithParameters(params)


def _build(problem: Problem, leave_out: Mapping[str, UnplannedReason], penalties: Mapping[int, int]) -> _Model:
    visits = [v for v in problem.visits if v.id not in leave_out]
    workers = problem.workers
    depots = sorted({w.start_location for w in workers} | {w.end_location for w in workers})
    # Node k < len(visits) is visit k; depot nodes follow, one per distinct start/end location.
    location = [v.location for v in visits] + depots
    depot_node = {loc: len(visits) + k for k, loc in enumerate(depots)}
    manager = pywrapcp.RoutingIndexManager(
        len(location),
        len(workers),
        [depot_node[w.start_location] for w in workers],
        [depot_node[w.end_location] for w in workers],
    )
    routing = pywrapcp.RoutingModel(manager)
    solver = routing.solver()
    horizon = problem.horizon_s
    service = [v.service_s for v in visits] + [0] * len(depots)
    n = len(location)

    travel = [[problem.duration_s[location[i]][location[j]] for j in range(n)] for i in range(n)]
    metres = [[problem.distance_m[location[i]][location[j]] for j in range(n)] for i in range(n)]
    # An arc with no route is removed from the search below; its transit only has to be a number.
    time_matrix = [
        [0 if i == j else (horizon + 1 if travel[i][j] is None else service[i] + (travel[i][j] or 0)) for j in range(n)]
        for i in range(n)
    ]
    # A worker whose visit under way (pinned) ended before now leaves it for a visit not under way no earlier than now
    # (`routing.plan.leaves_at`): they have not already driven toward it. Their return leg keeps its time.
    pins = {p.visit_id: p for p in problem.pins}
    now = problem.now_s
    if now is not None:
        free_at = {k: pins[v.id].start_s + service[k] for k, v in enumerate(visits) if v.id in pins}
        for k, end in free_at.items():
            if end < now:
                for j in range(len(visits)):
                    if j != k and j not in free_at and travel[k][j] is not None:
                        time_matrix[k][j] += now - end
    time_cb = routing.RegisterTransitMatrix(time_matrix)

    objective = problem.objective
    cost_cbs: dict[tuple[float, float], int] = {}
    for v, w in enumerate(workers):
        key = (w.cost_per_hour, w.cost_per_km)
        if key not in cost_cbs:
            cost_cbs[key] = routing.RegisterTransitMatrix(
                [
                    [
                        0 if d is None or m is None else objective.arc_cost(w, d, m)
                        for d, m in zip(travel[i], metres[i], strict=True)
                    ]
                    for i in range(n)
                ]
            )
        routing.SetArcCostEvaluatorOfVehicle(cost_cbs[key], v)

    routing.AddDimension(time_cb, horizon, horizon, False, "time")
    time = routing.GetDimensionOrDie("time")

    index_of_visit = {v.id: manager.NodeToIndex(k) for k, v in enumerate(visits)}
    _forbid_missing_arcs(routing, manager, travel, workers)

    worker_index = {w.id: k for k, w in enumerate(workers)}
    for visit in visits:
        index = index_of_visit[visit.id]
        cumul = time.CumulVar(index)
        pin = pins.get(visit.id)
        if pin is not None:
            # The worker is fixed by the chain from their start (_pin_order), the time by the pin.
            cumul.SetRange(pin.start_s, pin.start_s)
            continue
        earliest = max(problem.now_s or 0, visit.windows[0].start_s if visit.windows else 0)
        latest = visit.windows[-1].end_s if visit.windows else horizon
        cumul.SetRange(earliest, latest)
        for a, b in zip(visit.windows, visit.windows[1:], strict=False):
            cumul.RemoveInterval(a.end_s + 1, b.start_s - 1)
        penalty = penalties[visit.priority] if visit.required else (visit.penalty or 0)
        routing.AddDisjunction([index], penalty)
        # Serve each visit as early as its route allows (finalizers run in the order added).
        routing.AddVariableMinimizedByFinalizer(cumul)

    breaks: dict[int, list[Any]] = {}
    visit_transits = [max(1, service[manager.IndexToNode(i)]) if i < len(visits) else 0 for i in range(routing.Size())]
    for v, w in enumerate(workers):
        start, end = routing.Start(v), routing.End(v)
        earliest = max(w.shift_start_s, problem.now_s or 0)
        first_pin = problem.pins_of(w.id)[:1]
        if first_pin:
            # Facts win: a worker who started early left early enough to be at the first pin in time.
            there = problem.duration_s[w.start_location][problem.visit(first_pin[0].visit_id).location] or 0
            earliest = max(0, min(w.shift_start_s, first_pin[0].start_s - there))
        time.CumulVar(start).SetRange(min(earliest, w.shift_end_s), w.shift_end_s)
        time.CumulVar(end).SetRange(w.shift_start_s, w.shift_end_s)
        if w.max_work_s is not None and w.max_work_s < w.shift_end_s - w.shift_start_s:
            # Only when it binds: a span bound makes OR-Tools time routes with an LP, which halves
            # the local search's speed (measured on the Monaco day).
            time.SetSpanUpperBoundForVehicle(w.max_work_s, v)
        if w.breaks:
            intervals = [
                solver.FixedDurationIntervalVar(
                    b.earliest_start_s, b.latest_start_s, b.duration_s, False, f"break:{v}:{k}"
                )
                for k, b in enumerate(w.breaks)
            ]
            time.SetBreakIntervalsOfVehicle(intervals, v, visit_transits)
            breaks[v] = intervals
        # Then leave as late and come back as early as those service times allow.
        routing.AddVariableMaximizedByFinalizer(time.CumulVar(start))
        routing.AddVariableMinimizedByFinalizer(time.CumulVar(end))
    _pin_order(problem, routing, manager, index_of_visit, worker_index)

    if any(v.demand for v in visits) or any(w.capacity is not None for w in workers):
        demand_cb = routing.RegisterUnaryTransitVector([v.demand for v in visits] + [0] * len(depots))
        unlimited = sum(v.demand for v in visits)
        routing.AddDimensionWithVehicleCapacity(
            demand_cb, 0, [unlimited if w.capacity is None else w.capacity for w in workers], True, "load"
        )
    _skills(routing, visits, workers, len(depots))
    if objective.balance_per_s > 0:
        # Balance the workload (service + driving): a slack-free dimension starting at 0, so its
        # global span is the largest workload. The same coefficient on the time dimension made
        # OR-Tools schedule with an LP at every move (minutes instead of milliseconds).
        routing.AddDimension(time_cb, 0, horizon * max(1, len(visits)), True, "work")
        routing.GetDimensionOrDie("work").SetGlobalSpanCostCoefficient(max(1, round(objective.balance_per_s)))
    _announced_costs(problem, routing, time, visits, index_of_visit, worker_index)
    return _Model(manager, routing, time, visits, index_of_visit, breaks)


def _skills(routing: Any, visits: list[Visit], workers: Sequence[Worker], n_depots: int) -> None:
    """Skills as capacities: one dimension per skill, capacity 0 for workers without it.

    (`SetAllowedVehiclesForIndex` would be the direct way, but its Python binding in OR-Tools 9.15
    rejects every argument; a capacity is also checked cheaply by the local-search filters.)
    """
    needed = sorted({s for v in visits for s in v.skills})
    for skill in needed:
        holders = [skill in w.skills for w in workers]
        if all(holders):
            continue
        needs = [1 if skill in v.skills else 0 for v in visits] + [0] * n_depots
        callback = routing.RegisterUnaryTransitVector(needs)
        routing.AddDimensionWithVehicleCapacity(
            callback, 0, [sum(needs) if has else 0 for has in holders], True, f"skill:{skill}"
        )


def _forbid_missing_arcs(routing: Any, manager: Any, travel: list[list[int | None]], workers: Any) -> None:
    """Remove every arc without a route from the search, so it is never used (not merely expensive)."""
    size = routing.Size()
    n_visits = size - len(workers)
    node = [manager.IndexToNode(i) for i in range(size)]
    for i in range(size):
        row = travel[node[i]]
        for j in range(n_visits):
            if i != j and row[node[j]] is None:
                routing.NextVar(i).RemoveValue(j)
    for v in range(len(workers)):
        end = routing.End(v)
        end_node = manager.IndexToNode(end)
        for i in range(n_visits):
            if travel[node[i]][end_node] is None:
                routing.NextVar(i).RemoveValue(end)


def _pin_order(
    problem: Problem, routing: Any, manager: Any, index_of_visit: Mapping[str, int], worker_index: Mapping[str, int]
) -> None:
    """A worker's pinned visits are the first stops of their route, in order."""
    solver = routing.solver()
    for worker_id, v in worker_index.items():
        previous = routing.Start(v)
        for pin in problem.pins_of(worker_id):
            index = index_of_visit[pin.visit_id]
            solver.Add(routing.NextVar(previous) == index)
            previous = index


def _announced_costs(
    problem: Problem,
    routing: Any,
    time: Any,
    visits: list[Visit],
    index_of_visit: Mapping[str, int],
    worker_index: Mapping[str, int],
) -> None:
    """Cost for moving an announced visit to another worker, and for retiming it beyond the tolerance."""
    objective = problem.objective
    pinned = {p.visit_id for p in problem.pins}
    announced = [a for a in problem.announced if a.visit_id in index_of_visit and a.visit_id not in pinned]
    if not announced:
        return
    if objective.change_penalty > 0:
        owner = {a.visit_id: worker_index[a.worker_id] for a in announced}
        n_nodes = routing.nodes()
        evaluators = []
        for v in range(len(worker_index)):
            costs = [0] * n_nodes
            for k, visit in enumerate(visits):
                if visit.id in owner and owner[visit.id] != v:
                    costs[k] = objective.change_penalty
            evaluators.append(routing.RegisterUnaryTransitVector(costs))
        # Every visited node is left exactly once, so the from-node cost counts each moved visit once.
        total = objective.change_penalty * len(announced)
        routing.AddDimensionWithVehicleTransits(evaluators, 0, total, True, "changes")
        routing.GetDimensionOrDie("changes").SetSpanCostCoefficientForAllVehicles(1)
    if objective.retime_penalty_per_s > 0:
        tolerance = objective.retime_tolerance_s
        for a in announced:
            index = index_of_visit[a.visit_id]
            time.SetCumulVarSoftUpperBound(index, a.start_s + tolerance, objective.retime_penalty_per_s)
            time.SetCumulVarSoftLowerBound(index, max(0, a.start_s - tolerance), objective.retime_penalty_per_s)


def _initial_assignment(problem: Problem, model: _Model, initial: Plan | None) -> tuple[Any, dict[str, list[str]]]:
    """A starting assignment: `initial` trimmed to what still fits, with every other visit inserted
    where it fits most cheaply (None: let OR-Tools build the first solution), and those routes.
    """
    routes = warm_routes(problem, model.visits, initial)
    worker_index = {w.id: k for k, w in enumerate(problem.workers)}
    indices: list[list[int]] = [[] for _ in problem.workers]
    for worker_id, ids in routes.items():
        indices[worker_index[worker_id]] = [model.index_of_visit[vid] for vid in ids]
    return model.routing.ReadAssignmentFromRoutes(indices, True), routes


def warm_routes(problem: Problem, visits: Sequence[Visit], initial: Plan | None) -> dict[str, list[str]]:
    """Routes to start the search from: `initial`'s, trimmed to what still fits, plus cheapest insertions.

    A re-plan starts from the previous plan, so an urgent order is placed at once (where it fits
    most cheaply) and the local search only has to improve; a first plan starts from insertions
    alone. Visits are inserted most urgent first, then tightest window first. Each trial placement
    is timed by `earliest_route`, which keeps every rule the solver keeps.
    """
    in_model = {v.id for v in visits}
    routes: dict[str, list[str]] = {}
    for worker in problem.workers:
        pinned = [p.visit_id for p in problem.pins_of(worker.id)]
        previous = initial.route_of(worker.id) if initial is not None else None
        wanted = [vid for vid in (previous.visit_ids if previous else ()) if vid in in_model and vid not in pinned]
        ids = pinned + wanted
        if wanted and earliest_route(problem, worker, ids) is None:
            ids = list(pinned)
            for vid in wanted:
                if earliest_route(problem, worker, [*ids, vid]) is not None:
                    ids.append(vid)
        if ids:
            routes[worker.id] = ids
    placed = {vid for ids in routes.values() for vid in ids}
    missing = [v for v in visits if v.id not in placed]
    missing.sort(key=lambda v: (not v.required, v.priority, _window_width(v)))
    for visit in missing:
        _insert_cheapest(problem, routes, visit)
    return routes


def _window_width(visit: Visit) -> int:
    return sum(w.end_s - w.start_s for w in visit.windows) if visit.windows else 10**9


def _insert_cheapest(problem: Problem, routes: dict[str, list[str]], visit: Visit) -> bool:
    """Put `visit` where it adds the least cost and still fits; False when it fits nowhere."""
    objective = problem.objective
    candidates: list[tuple[int, str, int]] = []
    for worker in problem.workers:
        if not worker.qualified_for(visit):
            continue
        ids = routes.get(worker.id, [])
        path = [worker.start_location, *(problem.visit(vid).location for vid in ids), worker.end_location]
        for pos in range(len(problem.pins_of(worker.id)), len(ids) + 1):
            a, b = path[pos], path[pos + 1]
            legs = [(a, visit.location), (visit.location, b), (a, b)]
            if any(problem.duration_s[i][j] is None for i, j in legs):
                continue
            there, back, direct = (
                objective.arc_cost(worker, problem.duration_s[i][j] or 0, problem.distance_m[i][j] or 0)
                for i, j in legs
            )
            candidates.append((there + back - direct, worker.id, pos))
    candidates.sort()
    for detour, worker_id, pos in candidates:
        if visit.penalty is not None and detour > visit.penalty:
            return False
        ids = routes.get(worker_id, [])
        trial = [*ids[:pos], visit.id, *ids[pos:]]
        if earliest_route(problem, problem.worker(worker_id), trial) is not None:
            routes[worker_id] = trial
            return True
    return False


def _plan_from(problem: Problem, model: _Model, solution: Any, left_out: list[Unplanned], left_out_cost: int) -> Plan:
    routing, manager, time = model.routing, model.manager, model.time
    break_starts: dict[str, list[int]] = {}
    intervals = solution.IntervalVarContainer()
    for k in range(intervals.Size()):
        element = intervals.Element(k)
        name = element.Var().Name()
        if name.startswith("break:") and element.PerformedValue():
            v = int(name.split(":")[1])
            break_starts.setdefault(problem.workers[v].id, []).append(int(element.StartValue()))
    routes: list[Route] = []
    for v, worker in enumerate(problem.workers):
        index = first = solution.Value(routing.NextVar(routing.Start(v)))
        ids, starts = [], []
        while not routing.IsEnd(index):
            ids.append(model.visits[manager.IndexToNode(index)].id)
            starts.append(int(solution.Value(time.CumulVar(index))))
            index = solution.Value(routing.NextVar(index))
        if ids:
            depart = int(solution.Value(time.CumulVar(routing.Start(v))))
            # A solution OR-Tools did not finalize (e.g. a warm start returned as is) may leave at
            # the earliest moment and wait at the first stop: leave just in time instead.
            there = problem.duration_s[worker.start_location][model.visits[manager.IndexToNode(first)].location] or 0
            if not any(b < starts[0] for b in break_starts.get(worker.id, ())):
                depart = max(depart, starts[0] - there)
            routes.append(
                schedule_route(
                    problem,
                    worker,
                    ids,
                    depart_s=depart,
                    service_starts_s=starts,
                    break_starts_s=break_starts.get(worker.id, ()),
                )
            )
    unplanned = list(left_out)
    for visit in model.visits:
        index = model.index_of_visit[visit.id]
        if solution.Value(routing.NextVar(index)) == index:
            unplanned.append(Unplanned(visit.id, unplanned_reason(problem, routes, visit)))
    return Plan(
        routes=tuple(routes),
        unplanned=tuple(unplanned),
        engine="ortools",
        objective=int(solution.ObjectiveValue()) + left_out_cost,
    )
