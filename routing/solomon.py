"""Solomon (1987) VRPTW instances: read them, turn them into a `Problem`, and score routes exactly.

Gehring & Homberger's 200-1,000-customer instances use the same text format and conventions, so
this module reads them too (data/datasets/gh/); `read_best_known` reads either folder's bks.csv.

Conventions (data/datasets/solomon/SOURCES.md): Euclidean distance in double precision, travel time
equal to distance, a due date bounds the *start* of service (waiting is allowed), vehicles return by
the depot's due date, the fleet is the instance's. Customer 0 is the depot.

The solvers work in integers, so `to_problem` scales every time and distance by `scale` (1000 by
default). Travel *times* are rounded up, so a route that is on time in the scaled problem is on time
in exact arithmetic as well; travel *costs* are rounded to nearest. `evaluate` then recomputes the
distance and lateness of the final routes in exact double arithmetic, which is what gets reported.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from routing.plan import Plan
from routing.problem import Objective, Problem, Visit, Window, Worker

SCALE = 1000
FEASIBILITY_TOLERANCE = 1e-6
"""Slack allowed on a due date in exact arithmetic (float noise only)."""

_COLUMNS = ("CUST NO.", "XCOORD.", "YCOORD.", "DEMAND", "READY TIME", "DUE DATE", "SERVICE TIME")


class SolomonFormatError(ValueError):
    """The file is not a valid Solomon instance; the message names the line."""


@dataclass(frozen=True, slots=True)
class Customer:
    """One row of the CUSTOMER table (number 0 is the depot)."""

    number: int
    x: float
    y: float
    demand: int
    ready: int
    due: int
    service: int


@dataclass(frozen=True, slots=True)
class Instance:
    """A Solomon instance: fleet size, capacity and customers (customers[0] is the depot)."""

    name: str
    vehicles: int
    capacity: int
    customers: tuple[Customer, ...]

    @property
    def depot(self) -> Customer:
        return self.customers[0]

    def distance(self, a: int, b: int) -> float:
        """Exact Euclidean distance between customer numbers a and b."""
        ca, cb = self.customers[a], self.customers[b]
        return math.hypot(ca.x - cb.x, ca.y - cb.y)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Routes measured in exact arithmetic: total distance and every broken rule (empty = feasible)."""

    distance: float
    vehicles: int
    violations: tuple[str, ...]

    @property
    def feasible(self) -> bool:
        return not self.violations


def read_instance(path: Path | str) -> Instance:
    """Read a Solomon text file. Raises SolomonFormatError naming the offending line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii")
    except UnicodeDecodeError as e:
        raise SolomonFormatError(f"{path}: not a text file ({e.reason} at byte {e.start})") from e
    return parse_instance(text, source=str(path))


def parse_instance(text: str, *, source: str = "<text>") -> Instance:
    """Parse the Solomon text format (see `read_instance`)."""
    lines = text.splitlines()

    def fail(number: int, message: str) -> SolomonFormatError:
        shown = lines[number - 1].strip() if 0 < number <= len(lines) else ""
        return SolomonFormatError(f"{source}: line {number}: {message}" + (f": {shown!r}" if shown else ""))

    numbered = [(k + 1, line.strip()) for k, line in enumerate(lines)]
    content = [(k, line) for k, line in numbered if line]
    if not content:
        raise SolomonFormatError(f"{source}: line 1: empty file, expected the instance name")
    name = content[0][1]
    pos = 1

    def expect(keyword: str) -> int:
        nonlocal pos
        if pos >= len(content):
            raise fail(len(lines) + 1, f"unexpected end of file, expected {keyword!r}")
        number, line = content[pos]
        if not line.upper().startswith(keyword):
            raise fail(number, f"expected {keyword!r}")
        pos += 1
        return number

    expect("VEHICLE")
    expect("NUMBER")
    if pos >= len(content):
        raise fail(len(lines) + 1, "unexpected end of file, expected the vehicle number and capacity")
    number, line = content[pos]
    fleet = _ints(line)
    if fleet is None or len(fleet) != 2 or fleet[0] <= 0 or fleet[1] < 0:
        raise fail(number, "expected two integers NUMBER CAPACITY (number > 0, capacity >= 0)")
    pos += 1
    expect("CUSTOMER")
    expect("CUST")
    customers: list[Customer] = []
    for number, line in content[pos:]:
        fields = line.split()
        if len(fields) != 7:
            raise fail(number, f"expected 7 columns ({', '.join(_COLUMNS)}), got {len(fields)}")
        try:
            no, demand, ready, due, service = (int(fields[k]) for k in (0, 3, 4, 5, 6))
            x, y = float(fields[1]), float(fields[2])
        except ValueError:
            raise fail(number, "expected integers (coordinates may be decimals)") from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise fail(number, "coordinates must be finite")
        if no != len(customers):
            raise fail(number, f"customer number {no}, expected {len(customers)} (numbers run 0, 1, 2, …)")
        if demand < 0 or service < 0 or ready < 0:
            raise fail(number, "demand, ready time and service time must be >= 0")
        if due < ready:
            raise fail(number, f"due date {due} is before the ready time {ready}")
        customers.append(Customer(no, x, y, demand, ready, due, service))
    if len(customers) < 2:
        raise fail(len(lines) + 1, "unexpected end of file, expected the depot (customer 0) and at least one customer")
    return Instance(name=name, vehicles=fleet[0], capacity=fleet[1], customers=tuple(customers))


def _ints(line: str) -> list[int] | None:
    try:
        return [int(f) for f in line.split()]
    except ValueError:
        return None


def read_solution(path: Path | str) -> tuple[tuple[int, ...], ...]:
    """Routes from a `Route #k: a b c …` solution file (CVRPLIB/DIMACS style), depot left out."""
    routes = []
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        match = re.match(r"\s*Route\s*#\d+\s*:(.*)$", line)
        if match:
            try:
                routes.append(tuple(int(x) for x in match.group(1).split()))
            except ValueError:
                raise SolomonFormatError(f"{path}: line {number}: route must list customer numbers") from None
    return tuple(routes)


@dataclass(frozen=True, slots=True)
class BestKnown:
    """One row of a bks.csv: the pure-distance best known (`distance`, exact Euclidean) and its vehicles."""

    instance: str
    distance: float
    vehicles: int


def read_best_known(path: Path | str) -> dict[str, BestKnown]:
    """The `dist_distance`/`dist_vehicles` columns of a bks.csv (see data/datasets/*/SOURCES.md), by instance."""
    with Path(path).open(newline="", encoding="utf-8") as f:
        return {
            row["instance"]: BestKnown(row["instance"], float(row["dist_distance"]), int(row["dist_vehicles"]))
            for row in csv.DictReader(f)
        }


def to_problem(instance: Instance, *, scale: int = SCALE) -> Problem:
    """The instance as a `Problem`: times and distances × `scale`, distance as the objective.

    Visit ids are the customer numbers as strings; worker ids are "v1" … "vN".
    """
    n = len(instance.customers)
    exact = [[instance.distance(a, b) for b in range(n)] for a in range(n)]
    durations = tuple(tuple(math.ceil(d * scale) for d in row) for row in exact)
    distances = tuple(tuple(round(d * scale) for d in row) for row in exact)
    visits = tuple(
        Visit(
            id=str(c.number),
            location=c.number,
            service_s=c.service * scale,
            windows=(Window(c.ready * scale, c.due * scale),),
            demand=c.demand,
        )
        for c in instance.customers[1:]
    )
    depot = instance.depot
    workers = tuple(
        Worker(
            id=f"v{k + 1}",
            start_location=0,
            end_location=0,
            shift_start_s=depot.ready * scale,
            shift_end_s=depot.due * scale,
            capacity=instance.capacity,
        )
        for k in range(instance.vehicles)
    )
    return Problem(
        visits=visits,
        workers=workers,
        duration_s=durations,
        distance_m=distances,
        objective=Objective(per_travel_s=0.0, per_distance_m=1.0),
    )


def routes_of(plan: Plan) -> tuple[tuple[int, ...], ...]:
    """The plan's routes as customer numbers, one tuple per used vehicle."""
    return tuple(tuple(int(s.visit_id) for s in r.stops) for r in plan.routes if r.stops)


def evaluate(instance: Instance, routes: Sequence[Sequence[int]]) -> Evaluation:
    """Distance and violations of `routes` in exact double arithmetic.

    Checks that every customer is visited exactly once, the fleet and capacity suffice, service
    starts by each due date (waiting allowed) and every vehicle is back by the depot's due date.
    """
    violations: list[str] = []
    n = len(instance.customers)
    seen: dict[int, int] = {}
    total = 0.0
    used = [r for r in routes if r]
    if len(used) > instance.vehicles:
        violations.append(f"{len(used)} routes, but the fleet has {instance.vehicles} vehicles")
    depot = instance.depot
    for k, route in enumerate(used, start=1):
        t = float(depot.ready)
        load = 0
        here = 0
        for c in route:
            if not 1 <= c < n:
                violations.append(f"route {k}: customer {c} does not exist")
                continue
            seen[c] = seen.get(c, 0) + 1
            cust = instance.customers[c]
            leg = instance.distance(here, c)
            total += leg
            t = max(t + leg, float(cust.ready))
            if t > cust.due + FEASIBILITY_TOLERANCE:
                violations.append(f"route {k}: customer {c} starts at {t:.4f}, after its due date {cust.due}")
            t += cust.service
            load += cust.demand
            here = c
        leg = instance.distance(here, 0)
        total += leg
        t += leg
        if t > depot.due + FEASIBILITY_TOLERANCE:
            violations.append(f"route {k}: back at the depot at {t:.4f}, after {depot.due}")
        if load > instance.capacity:
            violations.append(f"route {k}: load {load} exceeds the capacity {instance.capacity}")
    for c in range(1, n):
        if seen.get(c, 0) != 1:
            violations.append(f"customer {c} is visited {seen.get(c, 0)} times")
    return Evaluation(distance=total, vehicles=len(used), violations=tuple(violations))
