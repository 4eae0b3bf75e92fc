"""Build the OSRM road network (MLD: extract → partition → customize) from an OpenStreetMap extract.

The OSRM tools ship inside the `osrm-bindings` wheel and run as `python -m osrm <tool>`, so a build
needs nothing outside the virtualenv. For Monaco it takes 1–2 seconds.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from routing.travel import NETWORK_NAME, osrm_files_present

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PBF = PACKAGE_ROOT / "data" / "datasets" / "osm" / "monaco.osm.pbf"
"""The OpenStreetMap extract shipped with the repository (© OpenStreetMap contributors, ODbL 1.0)."""


@dataclass(frozen=True, slots=True)
class BuildStep:
    """One OSRM tool run and how long it took."""

    name: str
    seconds: float


@dataclass(frozen=True, slots=True)
class RoadsBuilt:
    """The network is in `out_dir` as `<name>.osrm.*`. `steps` is empty when it was already there."""

    out_dir: Path
    name: str
    steps: tuple[BuildStep, ...]

    @property
    def seconds(self) -> float:
        return sum(step.seconds for step in self.steps)


@dataclass(frozen=True, slots=True)
class RoadsBuildFailed:
    """The build stopped at `step` (e.g. "extract", or "input" for a missing extract) because of `reason`."""

    step: str
    reason: str


def car_profile() -> Path:
    """The car profile shipped inside the osrm-bindings wheel."""
    import osrm

    return Path(osrm.__file__).resolve().parent / "share" / "profiles" / "car.lua"


BUILD_THREADS = ("--threads", "1")
"""Every OSRM build step runs on one thread. With OSRM's default of two, builds of the same extract running six
at a time gave 4 networks in 144 whose route from Fontvieille to the Pharmacie des Anglais is 23.7 km in 387 s
(61 m/s) instead of 3.5 km in 310 s; on one thread, 0 in 144 (a /tmp script building and asking each network).
That was the failure "seen twice in full runs" of tests/routing/test_travel.py (see `routing.travel`'s
`_with_plausible_distance`). Monaco's extract builds in about 1.5 s either way."""


def build_roads(
    pbf: Path,
    out_dir: Path,
    *,
    name: str = NETWORK_NAME,
    if_missing: bool = False,
    profile: Path | None = None,
    python: str = sys.executable,
    timer: Callable[[], float] = time.perf_counter,
) -> RoadsBuilt | RoadsBuildFailed:
    """Build `<out_dir>/<name>.osrm.*` from the OpenStreetMap extract `pbf`.

    The tools run in a scratch folder inside `out_dir` and their outputs are moved in only when all
    three steps succeeded, so a failed or interrupted build never leaves a half-built network that
    `make_travel_times` would try to load. With `if_missing`, a network already present is kept.
    Expected failures (missing extract, profile or tool error) come back as `RoadsBuildFailed`.
    """
    out_dir = Path(out_dir)
    if if_missing and osrm_files_present(out_dir, name):
        return RoadsBuilt(out_dir=out_dir, name=name, steps=())
    pbf = Path(pbf)
    if not pbf.is_file():
        return RoadsBuildFailed("input", f"OpenStreetMap extract {pbf} does not exist")
    try:
        profile = profile or car_profile()
    except ImportError as e:
        return RoadsBuildFailed("input", f"the osrm module is not installed ({e}); pip install osrm-bindings")
    if not profile.is_file():
        return RoadsBuildFailed("input", f"OSRM profile {profile} does not exist")

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".building-", dir=out_dir) as scratch_name:
        scratch = Path(scratch_name)
        shutil.copyfile(pbf, scratch / f"{name}.osm.pbf")
        base = f"{name}.osrm"
        commands = [
            ("extract", ["extract", "-p", str(profile), f"{name}.osm.pbf", *BUILD_THREADS]),
            ("partition", ["partition", base, *BUILD_THREADS]),
            ("customize", ["customize", base, *BUILD_THREADS]),
        ]
        steps: list[BuildStep] = []
        for step, args in commands:
            started = timer()
            done = subprocess.run(
                [python, "-m", "osrm", *args], cwd=scratch, capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                return RoadsBuildFailed(step, f"osrm {step} exited with {done.returncode}: {_tail(done)}")
            steps.append(BuildStep(step, timer() - started))
        outputs = sorted(scratch.glob(f"{base}.*"), key=_move_last_written_last)
        if not outputs:
            return RoadsBuildFailed("customize", f"OSRM wrote no {base}.* files")
        for path in outputs:
            path.replace(out_dir / path.name)
    return RoadsBuilt(out_dir=out_dir, name=name, steps=tuple(steps))


def _move_last_written_last(path: Path) -> tuple[bool, str]:
    # make_travel_times treats .mldgr and .cell_metrics as "complete", so they arrive last.
    return (path.name.endswith((".mldgr", ".cell_metrics")), path.name)


def _tail(done: subprocess.CompletedProcess[str], lines: int = 8) -> str:
    text = "\n".join(part for part in (done.stdout, done.stderr) if part).strip()
    return "\n".join(text.splitlines()[-lines:]) or "(no output)"
