"""The Solomon reader, the exact-arithmetic evaluation and the `python -m routing solomon` contract."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from routing.__main__ import main
from routing.solomon import (
    SolomonFormatError,
    evaluate,
    parse_instance,
    read_best_known,
    read_instance,
    read_solution,
    to_problem,
)

REPO = Path(__file__).resolve().parents[2]
SOLOMON = REPO / "data" / "datasets" / "solomon"
GH = REPO / "data" / "datasets" / "gh"
HEADER = "X1\n\nVEHICLE\nNUMBER     CAPACITY\n  2         50\n\nCUSTOMER\nCUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME\n \n"
DEPOT = "    0      0          0          0          0        100          0\n"


def bks() -> dict[str, dict[str, str]]:
    with (SOLOMON / "bks.csv").open(newline="") as f:
        return {row["instance"]: row for row in csv.DictReader(f)}


def test_c101_is_read_field_by_field() -> None:
    """Tests the fleet, capacity, depot and first customer of C101 as printed in the file (CRLF line ends)."""
    instance = read_instance(SOLOMON / "C101.txt")
    assert (instance.name, instance.vehicles, instance.capacity, len(instance.customers)) == ("C101", 25, 200, 101)
    depot, first = instance.customers[0], instance.customers[1]
    assert (depot.x, depot.y, depot.due) == (40, 50, 1236)
    assert (first.number, first.x, first.y, first.demand, first.ready, first.due, first.service) == (
        1, 45, 68, 10, 912, 967, 90,
    )  # fmt: skip


@pytest.mark.parametrize("name", sorted(bks()))
def test_the_best_known_routes_score_as_in_bks_csv(name: str) -> None:
    """Tests that each CVRPLIB solution re-evaluated exactly gives bks.csv's distance and feasibility verdict."""
    row = bks()[name]
    result = evaluate(read_instance(SOLOMON / f"{name}.txt"), read_solution(SOLOMON / f"{name}.dimacs.sol"))
    assert result.distance == pytest.approx(float(row["dimacs_routes_exact"]), abs=0.005)
    assert result.feasible is (row["dimacs_routes_exact_feasible"] == "true")


@pytest.mark.parametrize("name", sorted(read_best_known(GH / "bks.csv")))
def test_gehring_homberger_instances_read_and_their_best_routes_score_as_in_bks_csv(name: str) -> None:
    """Tests that each G&H instance (Solomon format, 400 or 1,000 customers) reads with its fleet and that
    its CVRPLIB routes, re-evaluated exactly, visit every customer and give bks.csv's distance and verdict."""
    row = {r["instance"]: r for r in csv.DictReader((GH / "bks.csv").open(newline=""))}[name]
    instance = read_instance(GH / f"{name}.txt")
    size = len(instance.customers) - 1
    assert (size, instance.vehicles) in {(400, 100), (1000, 250)}
    result = evaluate(instance, read_solution(GH / f"{name}.dimacs.sol"))
    assert not [v for v in result.violations if "visited" in v]
    assert result.distance == pytest.approx(float(row["dimacs_routes_exact"]), abs=0.005)
    assert result.feasible is (row["dimacs_routes_exact_feasible"] == "true")
    best = read_best_known(GH / "bks.csv")[name]
    assert (best.distance, best.vehicles) == (float(row["dist_distance"]), int(row["dist_vehicles"]))


def test_late_service_is_caught_in_exact_arithmetic() -> None:
    """Tests that R105's one-decimal-truncated best routes are late at customer 83 (64.10 > 64) in exact arithmetic."""
    result = evaluate(read_instance(SOLOMON / "R105.txt"), read_solution(SOLOMON / "R105.dimacs.sol"))
    assert any("customer 83" in v and "due date 64" in v for v in result.violations)


def test_evaluation_reports_missing_and_repeated_customers_and_overloads() -> None:
    """Tests that routes visiting a customer twice, skipping others or overloading a vehicle are infeasible."""
    instance = read_instance(SOLOMON / "C101.txt")
    result = evaluate(instance, [[5, 5], list(range(1, 101))])
    assert not result.feasible
    assert any("customer 5 is visited 3 times" in v for v in result.violations)
    assert any("exceeds the capacity 200" in v for v in result.violations)


def test_scaled_travel_times_are_never_shorter_than_exact_ones() -> None:
    """Tests that the integer problem rounds travel times up, so on time there means on time in exact arithmetic."""
    instance = read_instance(SOLOMON / "R101.txt")
    problem = to_problem(instance, scale=1000)
    for a in range(0, 101, 7):
        for b in range(0, 101, 11):
            exact = instance.distance(a, b) * 1000
            assert exact <= (problem.duration_s[a][b] or 0) < exact + 1
            assert abs((problem.distance_m[a][b] or 0) - exact) <= 0.5
    assert problem.visit("1").windows[0].start_s == instance.customers[1].ready * 1000
    assert len(problem.workers) == 25 and problem.workers[0].capacity == 200


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("", 1, "empty"),
        ("X1\n\nFLEET\n", 3, "VEHICLE"),
        (HEADER.replace("  2         50", "  two       50"), 5, "NUMBER CAPACITY"),
        (HEADER + DEPOT + "    1      1          1\n", 11, "7 columns"),
        (HEADER + DEPOT + "    1      1          1          5          0        10          x\n", 11, "integers"),
        (HEADER + DEPOT + "    2      1          1          5          0        10          0\n", 11, "expected 1"),
        (HEADER + DEPOT + "    1      1          1          5         20        10          0\n", 11, "due date"),
        (HEADER + DEPOT, 11, "at least one customer"),
    ],
)
def test_invalid_input_names_the_line(text: str, line: int, words: str) -> None:
    """Tests that each kind of malformed instance is refused with the line number and what was expected."""
    with pytest.raises(SolomonFormatError, match=rf"line {line}:.*{words}"):
        parse_instance(text)


def test_a_minimal_instance_parses() -> None:
    """Tests that the smallest valid instance (depot + one customer, decimal coordinates) is read."""
    instance = parse_instance(HEADER + DEPOT + "    1      3.5        4          5          0        10          2\n")
    assert instance.vehicles == 2 and instance.distance(0, 1) == pytest.approx(math.hypot(3.5, 4))


def test_the_cli_prints_routes_vehicles_and_exact_distance(capsys: pytest.CaptureFixture[str]) -> None:
    """Tests the JSON contract on C101: every customer once, depot left out, distance exact and unrounded."""
    status = main(["solomon", str(SOLOMON / "C101.txt"), "--seconds", "30", "--max-solutions", "200"])
    out = json.loads(capsys.readouterr().out)
    assert status == 0 and set(out) == {"routes", "vehicles", "distance"}
    assert sorted(c for route in out["routes"] for c in route) == list(range(1, 101))
    assert out["vehicles"] == len(out["routes"]) == 10
    instance = read_instance(SOLOMON / "C101.txt")
    assert out["distance"] == evaluate(instance, out["routes"]).distance
    assert out["distance"] == pytest.approx(828.94, abs=0.005) and out["distance"] != round(out["distance"], 2)


def test_the_cli_refuses_invalid_input_naming_the_line(tmp_path: Path) -> None:
    """Tests, through `python -m routing`, that a bad row exits non-zero with a message naming its line."""
    bad = tmp_path / "bad.txt"
    bad.write_text(HEADER + DEPOT + "    1      1          1          5          0        10          x\n")
    done = subprocess.run(
        [sys.executable, "-m", "routing", "solomon", str(bad), "--seconds", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and done.stdout == ""
    assert "line 11" in done.stderr


def test_the_cli_refuses_a_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Tests that a file that does not exist exits non-zero with a message naming it."""
    assert main(["solomon", str(tmp_path / "nope.txt"), "--seconds", "1"]) != 0
    assert "nope.txt" in capsys.readouterr().err
