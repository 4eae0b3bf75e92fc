"""How many processes a route plan searches on (OUTFIELD_PLAN_PROCESSES)."""

from __future__ import annotations

import os

import pytest

from data.settings import Settings


def settings(tmp_path, **env: str) -> Settings:
    return Settings.from_env({"OUTFIELD_VAR": str(tmp_path), "SECRET_KEY": "test", **env})


def test_a_plan_searches_on_two_cores_where_there_are_two_and_the_variable_changes_it(tmp_path):
    """Tests that the planner uses two processes on a machine with two cores or more (one on one core)."""
    assert settings(tmp_path).plan_processes == min(2, os.cpu_count() or 1)
    assert settings(tmp_path, OUTFIELD_PLAN_PROCESSES="1").plan_processes == 1
    assert settings(tmp_path, OUTFIELD_PLAN_PROCESSES="4").plan_processes == 4


@pytest.mark.parametrize("raw", ["two", "0", "65"])
def test_a_process_count_outside_1_to_64_stops_start_up_naming_the_variable(tmp_path, raw):
    """Tests that a non-number, zero or a count beyond 64 is refused, naming the variable."""
    with pytest.raises(ValueError, match="OUTFIELD_PLAN_PROCESSES"):
        settings(tmp_path, OUTFIELD_PLAN_PROCESSES=raw)
