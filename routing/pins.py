"""Visits under way pinned where the field says they happened, not where the plan had them.

A re-plan keeps the visits done, on site or en route with their worker (`Pin`). Pinned at the plan's times, a
worker who finished a visit two hours early still "waits" for it in the re-plan, and one who is running late is
planned as if on time. `pins_as_happened` pins them at the recorded times instead:

* a visit with a recorded start (on site) starts then; one done also ends when it was recorded done, so its
  service is what it took (`Visit.service_s` is replaced for the re-plan);
* a visit en route (no start recorded yet) starts when the worker can be there: after their previous visit
  under way and the drive, no earlier than now (they have not arrived) and in its window when one is still open;
* each start is no earlier than the previous visit's end plus the drive (the times must chain: the plan's
  timing rules and the checker hold every leg to the road times);
* a break the previous plan had begun during a visit the worker was on is not counted as taken (they were working),
  and a break whose window closes while the worker is still busy with a visit under way may start when they are
  free (it could not be taken in time; it is not dropped).

Facts may contradict the day's rules (a worker on site past the end of their shift, records that cannot
chain): a worker whose recorded visits do not fit into a route that keeps the rules (`earliest_route`) keeps the
plan's times, as before. Pure functions; the times are seconds of the plan's day.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from routing.plan import Plan, earliest_route
from routing.problem import Break, Pin, Problem, Visit, Worker

__all__ = ["Happened", "UnderWay", "after_work_under_way", "pins_as_happened"]


@dataclass(frozen=True, slots=True)
class Happened:
    """What the field recorded of a visit under way: service began (`started_s`, on site) and ended (`ended_s`,
    done), in seconds of the plan's day; None when not recorded."""

    started_s: int | None = None
    ended_s: int | None = None


def pins_as_happened(
    problem: Problem,
    previous: Plan,
    pinned: Mapping[str, str],
    happened: Mapping[str, Happened],
    now_s: int,
) -> Problem:
    """`problem` seen from `now_s` with the visits in `pinned` (visit id → worker id) pinned as they happened.

    `problem` has no `now_s` or pins yet; the result has both, with each worker's breaks as `Problem.from_now`
    leaves them given the breaks `previous` had begun (see the module docstring for what the records change).
    Raises ValueError when a pinned visit is not on its worker's route in `previous` or not in `problem`.
    """
    planned: dict[str, list[Pin]] = {}
    for visit_id, worker_id in pinned.items():
        found = previous.stop_of(visit_id)
        if found is None or found[0] != worker_id:
            raise ValueError(f"pinned visit {visit_id!r} is not on {worker_id!r}'s route in the previous plan")
        if not problem.has_visit(visit_id) or not problem.has_worker(worker_id):
            raise ValueError(f"pinned visit {visit_id!r} or its worker {worker_id!r} is not in the problem")
        planned.setdefault(worker_id, []).append(Pin(visit_id, worker_id, found[1].start_s))
    begun = previous.breaks_begun(now_s)
    plain = problem.from_now(now_s, begun)
    recorded: dict[str, list[Pin]] = {}
    services: dict[str, int] = {}
    workers: dict[str, Worker] = {}
    for worker_id, at_plan in planned.items():
        chain = _chain(problem, at_plan, happened, now_s)
        if chain is not None:
            recorded[worker_id], service = chain
            services |= service
            workers[worker_id] = _rested(
                problem.worker(worker_id), begun.get(worker_id, ()), recorded[worker_id], service, problem, now_s
            )
    if not recorded:
        return plain.replace(pins=tuple(p for pins in planned.values() for p in pins))

    def with_records(keep: set[str]) -> Problem:
        return plain.replace(
            visits=tuple(
                dataclasses.replace(v, service_s=services[v.id]) if v.id in services and pinned[v.id] in keep else v
                for v in plain.visits
            ),
            workers=tuple(workers[w.id] if w.id in keep else w for w in plain.workers),
            pins=tuple(p for w, pins in planned.items() for p in (recorded[w] if w in keep else pins)),
        )

    # The workers' routes are independent: one problem with every worker's records tells whose records fit.
    trial = with_records(set(recorded))
    fit = {w for w, pins in recorded.items() if earliest_route(trial, trial.worker(w), [p.visit_id for p in pins])}
    return trial if fit == set(recorded) else with_records(fit)


def _chain(
    problem: Problem, at_plan: Sequence[Pin], happened: Mapping[str, Happened], now_s: int
) -> tuple[list[Pin], dict[str, int]] | None:
    """The worker's pins at their recorded times, in the order they happened, and the done visits' services; None
    when nothing is recorded (the plan's times stand)."""
    records = {p.visit_id: happened[p.visit_id] for p in at_plan if p.visit_id in happened}
    if not any(r.started_s is not None or r.ended_s is not None for r in records.values()):
        return None

    def began(pin: Pin) -> int | None:
        r = records.get(pin.visit_id, Happened())
        if r.started_s is not None:
            return r.started_s
        if r.ended_s is not None:
            return r.ended_s - problem.visit(pin.visit_id).service_s
        return None

    # Visits with a recorded start first, in the order they began; the one en route (none recorded) after them.
    order = sorted(at_plan, key=lambda p: (0, t, p.start_s) if (t := began(p)) is not None else (1, p.start_s, 0))
    pins: list[Pin] = []
    service: dict[str, int] = {}
    free: tuple[Visit, int] | None = None  # the previous pinned visit and when it ended
    for pin in order:
        visit = problem.visit(pin.visit_id)
        ready = None
        if free is not None:
            drive = problem.duration_s[free[0].location][visit.location]
            if drive is None:
                return None
            ready = free[1] + drive
        start = began(pin)
        if start is None:  # en route: not there yet
            base = max(pin.start_s if ready is None else ready, now_s)
            opens = visit.earliest_start(base)
            start = base if opens is None else opens  # a window closed: they are late, as a fact
        elif ready is not None:
            start = max(start, ready)
        if start < 0:
            return None
        ended = records.get(pin.visit_id, Happened()).ended_s
        took = visit.service_s if ended is None else max(0, ended - start)
        if took != visit.service_s:
            service[visit.id] = took
        pins.append(Pin(pin.visit_id, pin.worker_id, start))
        free = (visit, start + took)
    return pins, service


def _rested(
    worker: Worker,
    begun: Sequence[tuple[int, int]],
    pins: Sequence[Pin],
    service: Mapping[str, int],
    problem: Problem,
    now_s: int,
) -> Worker:
    """The worker's breaks from `now_s` given their visits under way as they happened.

    A break begun during one of those visits was not taken; a break whose window closes before the worker is
    free of them may start until then.
    """
    busy = [(p.start_s, p.start_s + service.get(p.visit_id, problem.visit(p.visit_id).service_s)) for p in pins]
    taken = [(a, b) for a, b in begun if not any(a < end and start < b for start, end in busy)]
    free_s = busy[-1][1] if busy else now_s
    rules = worker.from_now(now_s, taken).breaks
    if free_s > now_s:
        rules = tuple(
            Break(b.earliest_start_s, free_s, b.duration_s) if b.latest_start_s < free_s else b for b in rules
        )
    return dataclasses.replace(worker, breaks=rules)


@dataclass(frozen=True, slots=True)
class UnderWay:
    """A worker's visit under way when a new plan of today is made: on site since `started_s` (None: not recorded),
    or en route (`on_site` False)."""

    visit_id: str
    worker_id: str
    on_site: bool
    started_s: int | None = None


def after_work_under_way(problem: Problem, under_way: Sequence[UnderWay]) -> Problem:
    """A new plan of today (`problem.now_s` set) seen after the visits under way: each worker busy with one starts
    at its site when it will end, and those visits are taken out (they are not the plan's to place).

    An on-site visit ends its service after its recorded start (now, when overrunning or not recorded); one en route
    after the drive there from where the worker is now (their start location) and its service, in its window. Their
    breaks come after it (a rest cannot be taken on site; one whose window closes before may start then), and a
    worker busy until the end of their shift is left out. A plan made so knows who is not free yet, where it made
    them start from their latest fix at once (a plan of today does not pin: pins would take the search off PyVRP).
    """
    now = problem.now_s or 0
    mine: dict[str, UnderWay] = {}
    for u in sorted(under_way, key=lambda u: not u.on_site):  # the one on site first: that is where they are
        if problem.has_visit(u.visit_id) and problem.has_worker(u.worker_id):
            mine.setdefault(u.worker_id, u)
    workers: list[Worker] = []
    for worker in problem.workers:
        busy = mine.get(worker.id)
        if busy is None:
            workers.append(worker)
            continue
        visit = problem.visit(busy.visit_id)
        if busy.on_site:
            end = max(now, (now if busy.started_s is None else busy.started_s) + visit.service_s)
        else:
            arrive = now + (problem.duration_s[worker.start_location][visit.location] or 0)
            opens = visit.earliest_start(arrive)
            end = (arrive if opens is None else opens) + visit.service_s
        if end >= worker.shift_end_s:
            continue  # busy until the shift ends: no route to plan
        breaks = tuple(
            Break(max(b.earliest_start_s, end), max(b.latest_start_s, end), b.duration_s)
            for b in worker.breaks
            if max(b.latest_start_s, end) + b.duration_s <= worker.shift_end_s
        )
        shift_start = max(worker.shift_start_s, end)
        workers.append(
            dataclasses.replace(worker, start_location=visit.location, shift_start_s=shift_start, breaks=breaks)
        )
    gone = {u.visit_id for u in under_way}
    return problem.replace(workers=tuple(workers), visits=tuple(v for v in problem.visits if v.id not in gone))
