"""PyVRP's iterations per CPU second: the PyPI wheel against PyVRP 0.14.1 built here with other compiler flags (issue #15).

Two commands:
* build NAME [--flags "-march=x86-64-v3"] [--pgo-train CASE ...]: downloads PyVRP's sdist (the version the
  project pins) with pip, builds it in place under --root/NAME with meson and ninja from a throwaway venv
  (--root/build-venv), never the project's .venv. Release build (-O3, LTO: PyVRP's own defaults, as the wheel),
  `--flags` added to compiling and linking; with `--pgo-train` GCC's profile-guided optimisation: a
  `-Db_pgo=generate` build, those cases run on it (their iterations), then the `-Db_pgo=use` build.
  Offline from GitHub, so two changes to the sdist: spdlog is Debian's (libspdlog-dev 1.10, linked
  shared; PyVRP's logging below INFO is compiled out of a release build) instead of the wrap's 1.17, and
  Measure.h's `std::formatter` (used by debug logging only) is skipped where the compiler has no <format>
  (GCC 12; the wheel is built with GCC 14). PyVRP's own tests pass on such a build.
* measure --builds NAME=DIR ... --cases CASE ... --rounds R: each round runs every build once, in a child
  process with DIR first on PYTHONPATH (`wheel=-`: the .venv's PyPI wheel), the order rotated from round to
  round, so the builds share the machine's load alike. A child times each case with `time.process_time` around
  the search only (data and model built before), at equal seeds and iteration counts, so the builds run the same
  search: the costs must be equal, and the table says so. Prints the median CPU seconds per build and case,
  iterations per CPU second and the ratio to the first build.
Cases: `solomon:NAME` / `gh:NAME` (plain PyVRP, `pyvrp.solve` with default parameters, seed 0), `monaco:SEED` /
`city:SEED` (Outfield: `routing.pyvrp_engine.solve_pyvrp` on the day's break relaxation, with the search
`routing.solve.relaxation_settings` gives a 10 s plan of it, seed = the day's seed).

    .venv/bin/python bench/routing_build.py build v3 --flags=-march=x86-64-v3
    .venv/bin/python bench/routing_build.py build pgo --pgo-train solomon:RC101 solomon:R101
    .venv/bin/python bench/routing_build.py measure --builds wheel=- v3=/tmp/pyvrp-builds/v3 \
        --cases solomon:RC105 gh:r1_4_2 monaco:0 city:0 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
ITERATIONS = {"solomon": 12_000, "gh": 5_000, "monaco": 4_000, "city": 3_000}
"""Per case kind: about 3-6 CPU s of the wheel's search on this host."""

GCC12_PATCH = (
    (
        "#include <format>\n",
        "#if __has_include(<format>)\n#include <format>\n#else  // GCC 12: no <format>; the headers it brought in\n"
        + "".join(
            f"#include <{h}>\n"
            for h in ("algorithm", "array", "memory", "optional", "string", "string_view", "utility", "variant")
        )
        + "#include <vector>\n#endif\n",
    ),
    (
        "template <pyvrp::MeasureType Type, pyvrp::NumberType Value>\nstruct std::formatter",
        "#if __has_include(<format>)\ntemplate <pyvrp::MeasureType Type, pyvrp::NumberType Value>\nstruct std::formatter",
    ),
    ("    }\n};\n\n#endif  // PYVRP_MEASURE_H", "    }\n};\n#endif\n\n#endif  // PYVRP_MEASURE_H"),
)


# --- build -----------------------------------------------------------------------------------------------------


def pinned_pyvrp() -> str:
    for line in (REPO / "requirements.txt").read_text().splitlines():
        if line.lower().startswith("pyvrp=="):
            return line.split("==", 1)[1].strip()
    raise SystemExit("requirements.txt pins no pyvrp")


def build_venv(root: Path) -> Path:
    venv = root / "build-venv"
    if not (venv / "bin" / "meson").exists():
        subprocess.run([str(VENV_PYTHON), "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "meson==1.12.1", "ninja==1.13.2", "pybind11==3.0.0", "docblock==0.1.8"], check=True)
    return venv


def unpack_sdist(root: Path, version: str, into: Path) -> None:
    sdist = root / f"pyvrp-{version}.tar.gz"
    if not sdist.exists():
        subprocess.run(
            [str(VENV_PYTHON), "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:"]
            + [f"pyvrp=={version}", "-d", str(root)],
            check=True,
        )
    shutil.rmtree(into, ignore_errors=True)
    with tarfile.open(sdist) as tar:
        tar.extractall(root / "unpacked", filter="data")
    shutil.move(root / "unpacked" / f"pyvrp-{version}", into)
    measure_h = into / "pyvrp" / "cpp" / "Measure.h"
    text = measure_h.read_text()
    for old, new in GCC12_PATCH:
        assert old in text, f"Measure.h: {old!r} not found"
        text = text.replace(old, new, 1)
    measure_h.write_text(text)
    meson = into / "meson.build"
    meson.write_text(meson.read_text().replace("    static: true,", "    static: false,", 1))


def meson(venv: Path, src: Path, *args: str) -> None:
    env = dict(os.environ, PATH=f"{venv / 'bin'}:{os.environ['PATH']}")
    subprocess.run([str(venv / "bin" / "meson"), *args], cwd=src, env=env, check=True, stdout=subprocess.DEVNULL)


def build(root: Path, name: str, flags: str, pgo_train: Sequence[str]) -> None:
    if not Path("/usr/include/spdlog/spdlog.h").exists():
        raise SystemExit("the build takes Debian's spdlog: apt-get install libspdlog-dev")
    root.mkdir(parents=True, exist_ok=True)
    venv = build_venv(root)
    src = root / name
    unpack_sdist(root, pinned_pyvrp(), src)
    setup = ["--buildtype", "release", f"-Dpython.platlibdir={src}", "-Dstrip=true", "-Db_coverage=false"]
    setup += ["-Dwerror=false", "--wrap-mode=nodownload"]
    if flags:
        setup += [f"-Dcpp_args={flags}", f"-Dcpp_link_args={flags}"]
    started = time.perf_counter()
    cpu_started = os.times()
    meson(venv, src, "setup", "build", *setup, *(["-Db_pgo=generate"] if pgo_train else []))
    meson(venv, src, "compile", "-C", "build")
    meson(venv, src, "install", "-C", "build", "--skip-subprojects")
    if pgo_train:
        for case in pgo_train:
            run_child(str(src), [case])
        meson(venv, src, "configure", "build", "-Db_pgo=use")
        meson(venv, src, "compile", "-C", "build")
        meson(venv, src, "install", "-C", "build", "--skip-subprojects")
    spent = os.times()
    cpu_s = (spent.children_user + spent.children_system) - (cpu_started.children_user + cpu_started.children_system)
    print(
        f"built {src} ({flags or 'no extra flags'}{', PGO' if pgo_train else ''}): "
        f"{time.perf_counter() - started:.0f} s wall, {cpu_s:.0f} CPU s, load {os.getloadavg()[0]:.1f}"
    )


# --- measure ---------------------------------------------------------------------------------------------------


def run_child(path: str, cases: Sequence[str]) -> list[dict[str, object]]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if path != "-":
        env["PYTHONPATH"] = path
    out = subprocess.run(
        [str(VENV_PYTHON), __file__, "child", "--cases", *cases],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def child(cases: Sequence[str]) -> None:
    import pyvrp

    for case in cases:
        kind, arg = case.split(":", 1)
        iterations = ITERATIONS[kind]
        if kind in ("solomon", "gh"):
            cpu_s, cost = plain_case(kind, arg, iterations)
        else:
            cpu_s, cost = field_case(kind, int(arg), iterations)
        row = {"case": case, "iterations": iterations, "cpu_s": cpu_s, "cost": cost, "pyvrp": pyvrp.__file__}
        print(json.dumps(row), flush=True)


def plain_case(suite: str, name: str, iterations: int) -> tuple[float, int]:
    sys.path.insert(0, str(REPO / "bench"))
    sys.path.insert(0, str(REPO))
    import pyvrp
    from pyvrp.stop import MaxIterations
    from solomon import plain_pyvrp_data

    from routing.solomon import read_instance

    data = plain_pyvrp_data(read_instance(REPO / "data" / "datasets" / suite / f"{name}.txt"))
    started = time.process_time()
    result = pyvrp.solve(data, stop=MaxIterations(iterations), seed=0, collect_stats=False)
    return time.process_time() - started, int(result.cost()) if result.is_feasible() else -1


def field_case(kind: str, seed: int, iterations: int) -> tuple[float, int]:
    sys.path.insert(0, str(REPO / "bench"))
    sys.path.insert(0, str(REPO))
    import monaco_day
    from city_day import city_problem

    from routing.plan import unservable_reason
    from routing.problem import StopRule
    from routing.pyvrp_engine import solve_pyvrp
    from routing.solve import relax_for_pyvrp, relaxation_settings

    if kind == "city":
        problem = city_problem(seed)[0]
    else:
        travel, _label, _tmp = monaco_day.make_travel(False)
        problem = monaco_day.scenario(random.Random(seed), monaco_day.load_sites(), travel)
    relaxed = relax_for_pyvrp(problem)
    out = {v.id: r for v in relaxed.visits if (r := unservable_reason(relaxed, v)) is not None}
    settings = relaxation_settings(problem, StopRule(max_seconds=10.0))
    started = time.process_time()
    plan = solve_pyvrp(relaxed, stop=StopRule(max_solutions=iterations), seed=seed, leave_out=out, settings=settings)
    spent = time.process_time() - started
    return spent, plan.travel_s if plan is not None else -1


def measure(builds: Sequence[str], cases: Sequence[str], rounds: int) -> None:
    named = [b.split("=", 1) for b in builds]
    cpu: dict[tuple[str, str], list[float]] = {}
    costs: dict[tuple[str, str], set[object]] = {}
    loads: list[float] = []
    for r in range(rounds):
        shift = r % len(named)
        for name, path in named[shift:] + named[:shift]:
            loads.append(os.getloadavg()[0])
            for row in run_child(path, cases):
                key = (name, str(row["case"]))
                cpu.setdefault(key, []).append(float(row["cpu_s"]))  # type: ignore[arg-type]
                costs.setdefault(key, set()).add(row["cost"])
                print(f"round {r} {name}: {row['case']} {row['cpu_s']:.2f} CPU s, cost {row['cost']}", flush=True)
    print(f"\n{rounds} rounds, load average {min(loads):.1f}-{max(loads):.1f}\n")
    print("| case | iterations | " + " | ".join(f"{n}: CPU s (it / CPU s)" for n, _ in named) + " | same cost |")
    print("| --- | ---: | " + " | ".join("---:" for _ in named) + " | --- |")
    for case in cases:
        iterations = ITERATIONS[case.split(":", 1)[0]]
        base = statistics.median(cpu[(named[0][0], case)])
        cells = []
        for name, _ in named:
            m = statistics.median(cpu[(name, case)])
            change = "" if name == named[0][0] else f", {100 * (base / m - 1):+.1f} %"
            cells.append(f"{m:.2f} ({iterations / m:,.0f}{change})")
        same = len(set().union(*(costs[(n, case)] for n, _ in named))) == 1
        print(f"| {case} | {iterations:,} | " + " | ".join(cells) + f" | {'yes' if same else 'NO'} |")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("name")
    b.add_argument("--flags", default="")
    b.add_argument("--pgo-train", nargs="*", default=[])
    b.add_argument("--root", type=Path, default=Path("/tmp/pyvrp-builds"))
    m = sub.add_parser("measure")
    m.add_argument("--builds", nargs="+", required=True, help="NAME=DIR (DIR - : the .venv's wheel)")
    m.add_argument("--cases", nargs="+", default=["solomon:RC105", "gh:r1_4_2", "monaco:0", "city:0"])
    m.add_argument("--rounds", type=int, default=3)
    c = sub.add_parser("child")
    c.add_argument("--cases", nargs="+", required=True)
    args = parser.parse_args(argv)
    if args.command == "build":
        build(args.root, args.name, args.flags, args.pgo_train)
    elif args.command == "measure":
        measure(args.builds, args.cases, args.rounds)
    else:
        child(args.cases)
    return 0


if __name__ == "__main__":
    sys.exit(main())
