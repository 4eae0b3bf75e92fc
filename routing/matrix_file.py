"""Read a TSPLIB/CVRPLIB `.vrp` file with real coordinates and, optionally, an explicit travel matrix.

Written for the OptaPlanner Belgium files in data/datasets/scenario/: `belgium-road-time-n50-k10.vrp`
(a full asymmetric road travel-time matrix in seconds, computed with GraphHopper on OpenStreetMap)
and `belgium-tw-n50-k10.vrp` (the same 50 places with time windows). Their NODE_COORD_SECTION rows
are `id lat lon NAME` with non-contiguous ids (0, 55, 110, …); matrix rows follow the order of
that section. Read by hand rather than with vrplib, which keeps the coordinates as strings (the
name column) and drops the ids.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dispatch.geo import LatLon, haversine_m
from routing.problem import Objective, Problem, Visit, Window, Worker


class VrpFormatError(ValueError):
    """The file is not a `.vrp` file this reader understands; the message names the line."""


@dataclass(frozen=True, slots=True)
class VrpFile:
    """One `.vrp` file. Row k of `matrix` and entry k of every tuple is the k-th node of the file.

    `matrix` is None without an EDGE_WEIGHT_SECTION; its unit is `unit` ("sec" for road times).
    `windows` holds (ready, due, service) per node when DEMAND_SECTION has five columns.
    """

    name: str
    node_ids: tuple[int, ...]
    names: tuple[str, ...]
    points: tuple[LatLon, ...]
    matrix: tuple[tuple[float, ...], ...] | None
    unit: str
    capacity: int | None
    demands: tuple[int, ...]
    windows: tuple[tuple[int, int, int], ...] | None
    depot: int

    @property
    def size(self) -> int:
        return len(self.node_ids)


def read_vrp(path: Path | str) -> VrpFile:
    """Read a `.vrp` file (see the module docstring). Raises VrpFormatError naming the line."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()

    def fail(number: int, message: str) -> VrpFormatError:
        return VrpFormatError(f"{path}: line {number}: {message}")

    header: dict[str, str] = {}
    sections: dict[str, list[tuple[int, str]]] = {}
    current: str | None = None
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line == "EOF":
            continue
        if line.endswith("_SECTION"):
            current = line
            sections[current] = []
        elif current is None or (":" in line and line.split(":", 1)[0].strip().isupper()):
            if ":" not in line:
                raise fail(number, f"expected 'KEY: value', got {line!r}")
            key, value = line.split(":", 1)
            header[key.strip()] = value.strip()
            current = None
        else:
            sections[current].append((number, line))

    try:
        dimension = int(header["DIMENSION"])
    except (KeyError, ValueError):
        raise fail(1, "DIMENSION: n is missing or not an integer") from None
    coords = sections.get("NODE_COORD_SECTION")
    if coords is None or len(coords) != dimension:
        raise fail(len(lines), f"NODE_COORD_SECTION must have {dimension} rows")
    ids, names, points = [], [], []
    for number, line in coords:
        fields = line.split()
        try:
            ids.append(int(fields[0]))
            points.append(LatLon(float(fields[1]), float(fields[2])))
        except (IndexError, ValueError) as e:
            raise fail(number, f"expected 'id lat lon [NAME]' ({e})") from None
        names.append(" ".join(fields[3:]))
    row_of = {node: k for k, node in enumerate(ids)}
    if len(row_of) != dimension:
        raise fail(coords[0][0], "node ids must be unique")

    matrix = None
    if "EDGE_WEIGHT_SECTION" in sections:
        if header.get("EDGE_WEIGHT_FORMAT", "FULL_MATRIX") != "FULL_MATRIX":
            raise fail(1, f"EDGE_WEIGHT_FORMAT {header['EDGE_WEIGHT_FORMAT']} not supported (FULL_MATRIX only)")
        values: list[float] = []
        for number, line in sections["EDGE_WEIGHT_SECTION"]:
            try:
                values += [float(x) for x in line.split()]
            except ValueError:
                raise fail(number, "edge weights must be numbers") from None
        if len(values) != dimension * dimension:
            first = sections["EDGE_WEIGHT_SECTION"][0][0] if sections["EDGE_WEIGHT_SECTION"] else len(lines)
            raise fail(first, f"EDGE_WEIGHT_SECTION has {len(values)} values, expected {dimension * dimension}")
        matrix = tuple(tuple(values[i * dimension : (i + 1) * dimension]) for i in range(dimension))

    demands = [0] * dimension
    windows: list[tuple[int, int, int]] | None = None
    for number, line in sections.get("DEMAND_SECTION", []):
        fields = line.split()
        try:
            row = row_of[int(fields[0])]
            demands[row] = int(fields[1])
            if len(fields) == 5:
                windows = windows or [(0, 0, 0)] * dimension
                windows[row] = (int(fields[2]), int(fields[3]), int(fields[4]))
            elif len(fields) != 2:
                raise ValueError("2 or 5 columns")
        except (KeyError, IndexError, ValueError) as e:
            raise fail(number, f"expected 'id demand [ready due service]' of a known node ({e})") from None
    depot_rows = [n for _, line in sections.get("DEPOT_SECTION", []) if (n := int(line.split()[0])) >= 0]
    depot = row_of.get(depot_rows[0], 0) if depot_rows else 0
    capacity = int(header["CAPACITY"]) if "CAPACITY" in header else None
    return VrpFile(
        name=header.get("NAME", path.stem),
        node_ids=tuple(ids),
        names=tuple(names),
        points=tuple(points),
        matrix=matrix,
        unit=header.get("EDGE_WEIGHT_UNIT_OF_MEASUREMENT", ""),
        capacity=capacity,
        demands=tuple(demands),
        windows=tuple(windows) if windows is not None else None,
        depot=depot,
    )


def to_problem(
    vrp: VrpFile,
    *,
    vehicles: int,
    durations_s: Sequence[Sequence[float | None]] | None = None,
    windows_from: VrpFile | None = None,
    detour_factor: float = 1.3,
) -> Problem:
    """A `Problem` with one visit per non-depot node and `vehicles` workers based at the depot.

    Travel times are `durations_s` when given, else the file's matrix (which must be in seconds).
    The files carry no road distances, so metres are the great-circle distance × `detour_factor`
    (reported, not optimised: the objective is travel time). Windows and service times come from
    `windows_from` (or the file itself) when present; otherwise the day is 00:00–24:00.
    """
    if durations_s is None:
        if vrp.matrix is None or vrp.unit != "sec":
            raise ValueError(f"{vrp.name}: no travel-time matrix in seconds; pass durations_s")
        durations_s = vrp.matrix
    n = vrp.size
    distances = [[haversine_m(a, b) * detour_factor for b in vrp.points] for a in vrp.points]
    timed = windows_from if windows_from is not None else vrp
    windows = timed.windows
    if windows_from is not None and windows_from.node_ids != vrp.node_ids:
        raise ValueError("windows_from must list the same nodes in the same order")
    day = windows[vrp.depot][:2] if windows else (0, 86_400)
    visits = []
    for k in range(n):
        if k == vrp.depot:
            continue
        ready, due, service = windows[k] if windows else (0, 86_400, 0)
        visits.append(
            Visit(
                id=str(vrp.node_ids[k]),
                location=k,
                service_s=service,
                windows=(Window(ready, due),) if windows else (),
                demand=vrp.demands[k],
            )
        )
    workers = [
        Worker(
            id=f"v{k + 1}",
            start_location=vrp.depot,
            end_location=vrp.depot,
            shift_start_s=day[0],
            shift_end_s=day[1],
            capacity=vrp.capacity,
        )
        for k in range(vehicles)
    ]
    rounded = [[None if d is None or not math.isfinite(d) else d for d in row] for row in durations_s]
    return Problem.from_matrices(
        rounded, distances, visits=visits, workers=workers, objective=Objective(), points=vrp.points
    )
